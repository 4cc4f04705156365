/*
 * fuzz_isotime.c - libFuzzer target for util/isotime.  Feeds the input to
 * every parser and checks the invariants: failures are ERR_INVALID with a
 * column inside the input (or just past it), intervals are ordered, and every
 * parsed instant formats and parses back to the same value.  The first eight
 * bytes also go through the formatter as a raw int64.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

/* A failure must carry its code and a 1-based column no further than len + 1. */
static void check_failure(int rc, const Err *err, size_t len)
{
    check(rc == ERR_INVALID && err->code == ERR_INVALID);
    check(err->position >= 1 && (size_t)err->position <= len + 1);
    check(err->msg[0] != '\0');
}

/* format(t) must fit and parse back to t. */
static void check_roundtrip(int64_t t)
{
    char buf[ISOTIME_MAX];
    size_t n = isotime_format(t, buf);
    check(n > 0 && n < ISOTIME_MAX && strlen(buf) == n);
    int64_t back = 0;
    check(isotime_parse(buf, n, &back, NULL) == 0 && back == t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int has_slash = size > 0 && memchr(s, '/', size) != NULL;
    int64_t t = 0, a = 0, b = 0;
    int iv = -1, rc;
    Err err;

    err_init(&err);
    rc = isotime_parse(s, size, &t, &err);
    if (rc == 0) {
        check(err.code == 0);
        check_roundtrip(t);
    } else {
        check_failure(rc, &err, size);
    }
    int instant_ok = rc == 0;
    int64_t instant = t;

    err_init(&err);
    rc = isotime_parse_duration(s, size, &t, &err);
    if (rc == 0)
        check(err.code == 0 && t >= 0);
    else
        check_failure(rc, &err, size);

    err_init(&err);
    rc = isotime_parse_interval(s, size, &a, &b, &err);
    if (rc == 0) {
        char buf[ISOTIME_INTERVAL_MAX];
        check(err.code == 0 && a <= b);
        check_roundtrip(a);
        check_roundtrip(b);
        size_t n = isotime_format_interval(a, b, buf);
        check(n < ISOTIME_INTERVAL_MAX && strlen(buf) == n);
        int64_t a2 = 0, b2 = 0;
        check(isotime_parse_interval(buf, n, &a2, &b2, NULL) == 0 && a2 == a && b2 == b);
    } else {
        check_failure(rc, &err, size);
    }
    int interval_ok = rc == 0;
    int64_t ia = a, ib = b;

    /* parse_any is parse or parse_interval, chosen by the '/'. */
    err_init(&err);
    rc = isotime_parse_any(s, size, &a, &b, &iv, &err);
    if (has_slash)
        check((rc == 0) == interval_ok && (rc != 0 || (iv == 1 && a == ia && b == ib)));
    else
        check((rc == 0) == instant_ok && (rc != 0 || (iv == 0 && a == instant && b == instant)));
    if (rc != 0)
        check_failure(rc, &err, size);

    /* Any int64 formats within the buffer, however far outside 0000-9999. */
    if (size >= 8) {
        int64_t raw;
        char buf[ISOTIME_MAX];
        memcpy(&raw, data, sizeof raw);
        size_t n = isotime_format(raw, buf);
        check(n > 0 && n < ISOTIME_MAX && strlen(buf) == n && buf[n - 1] == 'Z');
    }
    return 0;
}
