/*
 * log.h - one line per event, key=value fields, to stderr.
 *
 * LOG() tests the level before its arguments are evaluated.  util, model,
 * query and store never log: they return errors, and the layer that decides
 * what an error means logs it once.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_LOG_H
#define KLAMMER_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_FATAL } LogLevel;

/* The only global besides the shutdown flag: the current minimum level. */
extern volatile int log_level;

/* Writes "time=... level=... " followed by the formatted fields and a newline. */
void log_write(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parses "debug", "info", "warn", "error"; returns the level or -1. */
int log_level_parse(const char *s);

/* Name of a level. */
const char *log_level_name(int level);

#define LOG(level, ...)                                                                  \
    do {                                                                                 \
        if ((level) >= log_level)                                                        \
            log_write((level), __VA_ARGS__);                                             \
    } while (0)

#endif
