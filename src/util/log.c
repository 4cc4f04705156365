/*
 * log.c - line logger (see log.h).  Each line is written with one write(2)
 * call so that lines from different threads never interleave.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

volatile int log_level = LOG_INFO;

static const char *const names[] = {"debug", "info", "warn", "error", "fatal"};

const char *log_level_name(int level)
{
    return (level >= 0 && level <= LOG_FATAL) ? names[level] : "info";
}

int log_level_parse(const char *s)
{
    for (int i = 0; i < LOG_FATAL; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

void log_write(int level, const char *fmt, ...)
{
    char line[2048];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "time=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_level_name(level));
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0)
        m = 0;
    size_t len = (size_t)n + (size_t)m;
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
