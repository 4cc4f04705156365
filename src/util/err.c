/*
 * err.c - the ERR_MAP table turned into lookups, and the sticky first error.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
    int status;
} table[] = {
#define ERR_ROW(name, status, text) {#name, text, status},
    ERR_MAP(ERR_ROW)
#undef ERR_ROW
};

void err_init(Err *e)
{
    memset(e, 0, sizeof *e);
}

static int index_of(int code)
{
    if (code > 0 || code <= -(int)ERR__COUNT)
        return -1;
    return -code;
}

static int vset(Err *e, int code, const char *field, long position, const char *fmt,
                va_list ap)
{
    if (!e || e->code != 0)
        return code;
    e->code = code;
    e->position = position;
    if (field)
        snprintf(e->field, sizeof e->field, "%s", field);
    if (fmt)
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    return code;
}

int err_set(Err *e, int code, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, field, 0, fmt, ap);
    va_end(ap);
    return code;
}

int err_set_at(Err *e, int code, long position, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset(e, code, NULL, position, fmt, ap);
    va_end(ap);
    return code;
}

const char *err_name(int code)
{
    int i = index_of(code);
    return i < 0 ? "UNKNOWN" : table[i].name;
}

const char *err_text(int code)
{
    int i = index_of(code);
    return i < 0 ? "unknown error" : table[i].text;
}

int err_http_status(int code)
{
    int i = index_of(code);
    return i < 0 ? 500 : table[i].status;
}
