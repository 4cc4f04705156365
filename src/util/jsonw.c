/*
 * jsonw.c - JSON text output (see jsonw.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "util/jsonw.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jw_strn(Buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    buf_reserve(b, n + 2);
    buf_putc(b, '"');
    size_t run = 0; /* start of the current run of bytes that need no escape */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        buf_append(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': buf_append(b, "\\\"", 2); break;
        case '\\': buf_append(b, "\\\\", 2); break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        case '\f': buf_append(b, "\\f", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            buf_append(b, u, 6);
        }
        }
    }
    buf_append(b, s + run, n - run);
    buf_putc(b, '"');
}

void jw_str(Buf *b, const char *s)
{
    jw_strn(b, s, strlen(s));
}

void jw_key(Buf *b, const char *key)
{
    jw_str(b, key);
    buf_putc(b, ':');
}

void jw_int(Buf *b, int64_t v)
{
    char tmp[24];
    char *p = tmp + sizeof tmp;
    /* Work on the magnitude as unsigned so that INT64_MIN is fine. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    buf_append(b, p, (size_t)(tmp + sizeof tmp - p));
}

void jw_real(Buf *b, double v)
{
    if (!isfinite(v)) {
        buf_append(b, "null", 4);
        return;
    }
    char tmp[40];
    if (v == floor(v) && fabs(v) < 1e15) {
        /* Whole numbers (most sensor readings, RSSI): as an integer and
         * ".0", without the formatting and read-back below. */
        int n = snprintf(tmp, sizeof tmp, "%lld.0", (long long)v);
        if (v == 0 && signbit(v))
            n = snprintf(tmp, sizeof tmp, "-0.0");
        buf_append(b, tmp, (size_t)n);
        return;
    }
    int n = snprintf(tmp, sizeof tmp, "%.15g", v);
    if (strtod(tmp, NULL) != v)
        n = snprintf(tmp, sizeof tmp, "%.17g", v);
    /* Keep a real recognisable as such: 2.0 must not read back as integer 2. */
    if (!strpbrk(tmp, ".eEn"))
        tmp[n++] = '.', tmp[n++] = '0', tmp[n] = '\0';
    buf_append(b, tmp, (size_t)n);
}

void jw_raw(Buf *b, const char *s)
{
    buf_puts(b, s);
}
