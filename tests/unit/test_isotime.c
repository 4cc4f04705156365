/*
 * test_isotime.c - unit tests for util/isotime: tables of valid and invalid
 * instants, durations and intervals (with the error column and message), the
 * formatter, and properties checked over many values: format/parse round
 * trips (before 1970 too), every offset spelling, and a day-by-day walk of
 * the calendar from 0000-01-01 to 9999-12-31.
 *
 * Every input is copied into a heap block of exactly its length, without a
 * NUL, so that ASan reports any read past len.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/isotime.h"

#define US INT64_C(1000000)
#define DAY (INT64_C(86400) * US)
#define T_MIN (INT64_C(-62167219200000000)) /* 0000-01-01T00:00:00Z */
#define T_MAX (INT64_C(253402300799999999)) /* 9999-12-31T23:59:59.999999Z */
#define SENTINEL INT64_C(0x5A5A5A5A5A5A5A5A)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A heap copy of s[0..n) with no terminator; free() it. */
static char *exact(const char *s, size_t n)
{
    char *p = malloc(n ? n : 1);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

/* The four parsers behind one signature, so that the tables can share a checker. */
typedef enum { P_INSTANT, P_DURATION, P_INTERVAL, P_ANY } Parser;

static int run(Parser p, const char *in, int64_t *a, int64_t *b, int *is_iv, Err *err)
{
    size_t n = strlen(in);
    char *s = exact(in, n);
    int rc;
    switch (p) {
    case P_INSTANT: rc = isotime_parse(s, n, a, err); break;
    case P_DURATION: rc = isotime_parse_duration(s, n, a, err); break;
    case P_INTERVAL: rc = isotime_parse_interval(s, n, a, b, err); break;
    default: rc = isotime_parse_any(s, n, a, b, is_iv, err); break;
    }
    free(s);
    return rc;
}

typedef struct Good {
    const char *in; /* input */
    int64_t a;      /* instant, duration or interval start */
    int64_t b;      /* interval end (unused otherwise) */
} Good;

typedef struct Bad {
    const char *in;  /* input */
    long col;        /* expected Err.position */
    const char *msg; /* substring of the expected Err.msg */
} Bad;

static int check_good(Parser p, const Good *t, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        Err err;
        err_init(&err);
        int64_t a = SENTINEL, b = SENTINEL;
        int rc = run(p, t[i].in, &a, &b, NULL, &err);
        int ok = rc == 0 && err.code == 0 && a == t[i].a && (p != P_INTERVAL || b == t[i].b);
        if (!ok) {
            print_message("FAIL \"%s\": rc=%d msg=\"%s\" got %lld/%lld want %lld/%lld\n", t[i].in,
                          rc, err.msg, (long long)a, (long long)b, (long long)t[i].a,
                          (long long)t[i].b);
            failures++;
        }
    }
    return failures;
}

static int check_bad(Parser p, const Bad *t, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        Err err;
        err_init(&err);
        int64_t a = SENTINEL, b = SENTINEL;
        int rc = run(p, t[i].in, &a, &b, NULL, &err);
        int ok = rc == ERR_INVALID && err.code == ERR_INVALID && err.position == t[i].col &&
                 strstr(err.msg, t[i].msg) != NULL && a == SENTINEL && b == SENTINEL;
        if (!ok) {
            print_message("FAIL \"%s\": rc=%d col=%ld msg=\"%s\" want col=%ld \"%s\"\n", t[i].in,
                          rc, err.position, err.msg, t[i].col, t[i].msg);
            failures++;
        }
    }
    return failures;
}

/* ------------------------------------------------------------------------ */
/* Instants                                                                  */
/* ------------------------------------------------------------------------ */

static const Good good_instants[] = {
    {"1970-01-01T00:00:00Z", 0, 0},
    {"1970-01-01T00:00:00.000001Z", 1, 0},
    {"1969-12-31T23:59:59.999999Z", -1, 0},
    {"1969-12-31T23:59:59Z", -US, 0},
    {"2000-01-01T00:00:00Z", INT64_C(946684800000000), 0},
    {"2026-03-01T12:00:00.123+01:00", INT64_C(1772362800123000), 0},
    {"2026-03-01T12:00:00.123+0100", INT64_C(1772362800123000), 0},
    {"2026-03-01T12:00:00.123+01", INT64_C(1772362800123000), 0},
    {"2026-03-01T12:00:00-05:30", INT64_C(1772386200000000), 0},
    {"2026-03-01T12:00:00-0530", INT64_C(1772386200000000), 0},
    {"2026-03-01T12:00:00-00:00", INT64_C(1772366400000000), 0},
    {"2026-03-01T12:00:00.1Z", INT64_C(1772366400100000), 0},
    {"2026-03-01T12:00:00.000Z", INT64_C(1772366400000000), 0},
    {"2026-03-01T12:00:00.123456Z", INT64_C(1772366400123456), 0},
    {"2026-03-01T12:00:00.123456789Z", INT64_C(1772366400123456), 0}, /* truncated */
    {"2026-03-01T12:00:00.999999999Z", INT64_C(1772366400999999), 0}, /* not rounded */
    {"2024-02-29T00:00:00Z", INT64_C(1709164800000000), 0},           /* leap year */
    {"2000-02-29T12:00:00Z", INT64_C(951825600000000), 0},            /* 400-year rule */
    {"1600-02-29T00:00:00Z", INT64_C(-11670998400000000), 0},
    {"0000-02-29T00:00:00Z", T_MIN + 59 * DAY, 0}, /* year 0 is leap */
    {"1900-03-01T00:00:00Z", INT64_C(-2203891200000000), 0},
    {"1969-07-20T20:17:40Z", INT64_C(-14182940000000), 0},
    {"1901-12-13T20:45:52Z", INT64_C(-2147483648000000), 0},
    {"2038-01-19T03:14:08Z", INT64_C(2147483648000000), 0},
    {"0000-01-01T00:00:00Z", T_MIN, 0},
    {"0001-01-01T00:00:00Z", INT64_C(-62135596800000000), 0},
    {"9999-12-31T23:59:59.999999Z", T_MAX, 0},
    {"9999-12-31T23:00:00+01:00", INT64_C(253402293600000000), 0},
    {"0000-01-01T00:00:00-01:00", T_MIN + 3600 * US, 0},
    {"2026-12-31T23:59:59+23:59", INT64_C(1798675259000000), 0},
    {"2026-01-01T00:00:00-23:59", INT64_C(1767311940000000), 0},
    {"2026-06-30T23:59:59.5+02:00", INT64_C(1782856799500000), 0},
};

static const Bad bad_instants[] = {
    {"", 1, "expected date-time"},
    {"2026", 5, "expected '-' at column 5"},
    {"2026/03-01T00:00:00Z", 5, "expected '-' at column 5"},
    {"202-03-01T00:00:00Z", 4, "expected year digit at column 4"},
    {"+2026-03-01T00:00:00Z", 1, "expected year digit at column 1"},
    {"2026-3-01T00:00:00Z", 7, "expected month digit at column 7"},
    {"2026-13-01T00:00:00Z", 6, "month 13 out of range 01-12 at column 6"},
    {"2026-00-01T00:00:00Z", 6, "month 00 out of range"},
    {"2026-02-29T00:00:00Z", 9, "day 29 out of range 01-28 for 2026-02 at column 9"},
    {"1900-02-29T00:00:00Z", 9, "day 29 out of range 01-28"},
    {"2026-04-31T00:00:00Z", 9, "day 31 out of range 01-30"},
    {"2026-01-00T00:00:00Z", 9, "day 00 out of range"},
    {"2026-01-32T00:00:00Z", 9, "day 32 out of range 01-31"},
    {"2026-03-01 00:00:00Z", 11, "expected 'T' at column 11"},
    {"2026-03-01t00:00:00Z", 11, "expected 'T' at column 11"},
    {"2026-03-01", 11, "expected 'T' at column 11"},
    {"2026-03-01T1:00:00Z", 13, "expected hour digit at column 13"},
    {"2026-03-01T24:00:00Z", 12, "hour 24 out of range 00-23 at column 12"},
    {"2026-03-01T12:60:00Z", 15, "minute 60 out of range 00-59 at column 15"},
    {"2026-03-01T12:00:60Z", 18, "second 60 out of range 00-59 at column 18"},
    {"2026-03-01T12:00Z", 17, "expected ':' at column 17"},
    {"2026-03-01T12:00:00", 20, "expected time zone offset (Z or +hh:mm) at column 20"},
    {"2026-03-01T12:00:00z", 20, "expected time zone offset (Z or +hh:mm)"},
    {"2026-03-01T12:00:00,5Z", 20, "expected time zone offset"},
    {"2026-03-01T12:00:00.5", 22, "expected time zone offset"},
    {"2026-03-01T12:00:00.Z", 21, "expected fraction digit at column 21"},
    {"2026-03-01T12:00:00.1234567890Z", 30, "too many fractional digits (at most 9) at column 30"},
    {"2026-03-01T12:00:00+24:00", 21, "offset hour 24 out of range 00-23 at column 21"},
    {"2026-03-01T12:00:00+01:60", 24, "offset minute 60 out of range 00-59 at column 24"},
    {"2026-03-01T12:00:00+1", 22, "expected offset hour digit at column 22"},
    {"2026-03-01T12:00:00+01:", 24, "expected offset minute digit at column 24"},
    {"2026-03-01T12:00:00+010", 24, "expected offset minute digit at column 24"},
    {"2026-03-01T12:00:00+01Z", 23, "expected offset minute digit at column 23"},
    {"2026-03-01T12:00:00+01:00:00", 26, "unexpected character ':' at column 26"},
    {"2026-03-01T12:00:00ZZ", 21, "unexpected character 'Z' at column 21"},
    {"2026-03-01T12:00:00Z ", 21, "unexpected byte 0x20 at column 21"},
    {"2026-03-01T12:00:00Z/2026-03-02T00:00:00Z", 21, "unexpected character '/'"},
    {"0000-01-01T00:00:00+00:01", 1, "outside the years 0000-9999"},
    {"9999-12-31T23:59:59-00:01", 1, "outside the years 0000-9999"},
};

static void test_instants_valid(void **state)
{
    (void)state;
    assert_int_equal(check_good(P_INSTANT, good_instants, COUNT(good_instants)), 0);
}

static void test_instants_invalid(void **state)
{
    (void)state;
    assert_int_equal(check_bad(P_INSTANT, bad_instants, COUNT(bad_instants)), 0);
}

/* The parser must stop at len even when a valid continuation follows in memory. */
static void test_instant_respects_len(void **state)
{
    (void)state;
    static const char full[] = "2026-03-01T12:00:00Z";
    Err err;
    int64_t t = SENTINEL;

    err_init(&err);
    assert_int_equal(isotime_parse(full, 19, &t, &err), ERR_INVALID);
    assert_int_equal(err.position, 20);
    assert_int_equal(t, SENTINEL);

    for (size_t n = 0; n < sizeof full - 1; n++) {
        char *s = exact(full, n);
        err_init(&err);
        assert_int_equal(isotime_parse(s, n, &t, &err), ERR_INVALID);
        assert_true(err.position >= 1 && err.position <= (long)n + 1);
        free(s);
    }

    /* An embedded NUL is just another byte that does not belong. */
    static const char nul[] = "2026-03-01T12:00:00Z\0";
    char *s = exact(nul, sizeof nul - 1);
    err_init(&err);
    assert_int_equal(isotime_parse(s, sizeof nul - 1, &t, &err), ERR_INVALID);
    assert_string_equal(err.msg, "unexpected byte 0x00 at column 21");
    free(s);
}

/* Every offset, in each spelling, shifts the same wall-clock time by the same amount. */
static void test_all_offsets(void **state)
{
    (void)state;
    const int64_t base = INT64_C(1772366400000000); /* 2026-03-01T12:00:00Z */
    char buf[64];
    for (int sign = -1; sign <= 1; sign += 2) {
        for (int h = 0; h < 24; h++) {
            for (int m = 0; m < 60; m++) {
                int64_t want = base - sign * (int64_t)(h * 3600 + m * 60) * US;
                char c = sign > 0 ? '+' : '-';
                for (int f = 0; f < 2; f++) {
                    int n =
                        f == 0
                            ? snprintf(buf, sizeof buf, "2026-03-01T12:00:00%c%02d:%02d", c, h, m)
                            : snprintf(buf, sizeof buf, "2026-03-01T12:00:00%c%02d%02d", c, h, m);
                    int64_t t = SENTINEL;
                    assert_int_equal(isotime_parse(buf, (size_t)n, &t, NULL), 0);
                    assert_int_equal(t, want);
                }
                if (m == 0) {
                    int n = snprintf(buf, sizeof buf, "2026-03-01T12:00:00%c%02d", c, h);
                    int64_t t = SENTINEL;
                    assert_int_equal(isotime_parse(buf, (size_t)n, &t, NULL), 0);
                    assert_int_equal(t, want);
                }
            }
        }
    }
}

/* ------------------------------------------------------------------------ */
/* Durations                                                                 */
/* ------------------------------------------------------------------------ */

static const Good good_durations[] = {
    {"PT0S", 0, 0},
    {"P0D", 0, 0},
    {"P1D", DAY, 0},
    {"P2W", 14 * DAY, 0},
    {"PT1H", 3600 * US, 0},
    {"PT1M", 60 * US, 0},
    {"PT1S", US, 0},
    {"PT36H", 36 * 3600 * US, 0},
    {"PT0.5S", US / 2, 0},
    {"PT1.000001S", US + 1, 0},
    {"PT0.0000009S", 0, 0},
    {"PT1.123456789S", 1123456, 0},
    {"P1DT2H30M", DAY + 9000 * US, 0},
    {"P1DT1S", DAY + US, 0},
    {"PT1H0.25S", 3600 * US + 250000, 0},
    {"P1DT2H3M4.5S", DAY + (2 * 3600 + 3 * 60 + 4) * US + 500000, 0},
    {"P365D", 365 * DAY, 0},
    {"P0010D", 10 * DAY, 0},
    {"P106751991D", INT64_C(106751991) * DAY, 0},
};

static const Bad bad_durations[] = {
    {"", 1, "expected 'P' at column 1"},
    {"p1D", 1, "expected 'P' at column 1"},
    {"1D", 1, "expected 'P' at column 1"},
    {"P", 2, "expected number after 'P' at column 2"},
    {"PT", 3, "expected number after 'T' at column 3"},
    {"P1DT", 5, "expected number after 'T' at column 5"},
    {"PT.5S", 3, "expected number after 'T' at column 3"},
    {"P1Y", 3, "years and months are not allowed in a duration at column 3"},
    {"P1M", 3, "years and months are not allowed"},
    {"P1Y2M3D", 3, "years and months are not allowed"},
    {"PD", 2, "expected digit or 'T' at column 2"},
    {"P-1D", 2, "expected digit or 'T' at column 2"},
    {"P1", 3, "expected 'Y', 'M', 'W', 'D' or 'T' at column 3"},
    {"P1d", 3, "expected 'Y', 'M', 'W', 'D' or 'T' at column 3"},
    {"PT1", 4, "expected 'H', 'M' or 'S' at column 4"},
    {"PT1h", 4, "expected 'H', 'M' or 'S' at column 4"},
    {"PT1D", 4, "expected 'H', 'M' or 'S' at column 4"},
    {"P1.5D", 3, "only seconds may have a fraction, at column 3"},
    {"PT1.5M", 4, "only seconds may have a fraction"},
    {"PT1.5M1S", 4, "only seconds may have a fraction"},
    {"PT1.S", 5, "expected fraction digit at column 5"},
    {"PT1.1234567890S", 14, "too many fractional digits (at most 9) at column 14"},
    {"P1W2D", 5, "weeks cannot be combined with other components at column 5"},
    {"P1WT1H", 6, "weeks cannot be combined"},
    {"P1D1D", 5, "'D' out of order or repeated at column 5"},
    {"PT1H1H", 6, "'H' out of order or repeated at column 6"},
    {"PT1M1H", 6, "'H' out of order or repeated"},
    {"PT1S1H", 5, "unexpected character '1' at column 5"},
    {"PT1HT1M", 5, "expected digit at column 5"},
    {"P1DT1H ", 7, "expected digit at column 7"},
    {"P1D ", 4, "expected digit or 'T' at column 4"},
    {"P99999999999999999999D", 2, "number too large at column 2"},
    {"P106751992D", 2, "duration is too long at column 2"},
    {"P106751991DT24H", 13, "duration is too long at column 13"},
};

static void test_durations_valid(void **state)
{
    (void)state;
    assert_int_equal(check_good(P_DURATION, good_durations, COUNT(good_durations)), 0);
}

static void test_durations_invalid(void **state)
{
    (void)state;
    assert_int_equal(check_bad(P_DURATION, bad_durations, COUNT(bad_durations)), 0);
}

/* ------------------------------------------------------------------------ */
/* Intervals                                                                 */
/* ------------------------------------------------------------------------ */

#define JAN01 INT64_C(1767225600000000) /* 2026-01-01T00:00:00Z */
#define JAN02 INT64_C(1767312000000000) /* 2026-01-02T00:00:00Z */

static const Good good_intervals[] = {
    {"2026-01-01T00:00:00Z/2026-01-02T00:00:00Z", JAN01, JAN02},
    {"2026-01-01T00:00:00Z/2026-01-01T00:00:00Z", JAN01, JAN01},
    {"2026-01-01T00:00:00+01:00/2025-12-31T23:00:00Z", JAN01 - 3600 * US, JAN01 - 3600 * US},
    {"2026-01-01T00:00:00Z/P1D", JAN01, JAN02},
    {"2026-01-01T00:00:00Z/PT0S", JAN01, JAN01},
    {"P1D/2026-01-02T00:00:00Z", JAN01, JAN02},
    {"PT24H/2026-01-02T00:00:00Z", JAN01, JAN02},
    {"2026-01-01T00:00:00Z/P2W", JAN01, JAN01 + 14 * DAY},
    /* Months clamp the day to the target month. */
    {"2026-01-31T00:00:00Z/P1M", INT64_C(1769817600000000), INT64_C(1772236800000000)},
    {"2024-01-31T00:00:00Z/P1M", INT64_C(1706659200000000), INT64_C(1709164800000000)},
    {"2024-02-29T00:00:00Z/P1Y", INT64_C(1709164800000000), INT64_C(1740700800000000)},
    {"P1M/2026-03-31T00:00:00Z", INT64_C(1772236800000000), INT64_C(1774915200000000)},
    {"2026-03-01T00:00:00Z/P1MT1H", INT64_C(1772323200000000), INT64_C(1775005200000000)},
    {"2026-03-01T00:00:00.5Z/P12M", INT64_C(1772323200500000), INT64_C(1803859200500000)},
    {"2026-01-01T00:00:00Z/P0Y0M", JAN01, JAN01},
    /* Months go first, then the fixed part; duration/end subtracts both. */
    {"P1Y2M3DT4H5M6.5S/2026-01-01T00:00:00Z", INT64_C(1730145293500000), JAN01},
    /* The calendar moves in the start's own time scale: Jan 31 local -> Feb 28 local. */
    {"2026-01-31T23:30:00-01:00/P1M", INT64_C(1769905800000000), INT64_C(1772325000000000)},
    {"1969-12-31T00:00:00Z/P1M", -DAY, 30 * DAY},
    {"P1D/9999-12-31T23:59:59.999999Z", T_MAX - DAY, T_MAX},
    {"0000-01-01T00:00:00Z/P9999Y11M30DT23H59M59.999999S", T_MIN, T_MAX},
};

static const Bad bad_intervals[] = {
    {"2026-01-02T00:00:00Z/2026-01-01T00:00:00Z", 22, "interval start is after its end"},
    {"2026-01-01T00:00:01Z/2026-01-01T00:00:00.999999Z", 22, "interval start is after its end"},
    {"2026-01-01T00:00:00Z", 21, "expected '/' at column 21"},
    {"", 1, "expected '/' at column 1"},
    {"/2026-01-01T00:00:00Z", 1, "expected date-time"},
    {"2026-01-01T00:00:00Z/", 22, "expected date-time"},
    {"/", 1, "expected date-time"},
    {"P1D/P2D", 1, "not two durations"},
    {"2026-01-01T00:00:00Z/2026-01-02T00:00:00Z/P1D", 42, "unexpected character '/' at column 42"},
    {"2026-01-01T00:00:00Z/2026-13-02T00:00:00Z", 27, "month 13 out of range 01-12 at column 27"},
    {"2026-01-01T00:00:00/P1D", 20, "expected time zone offset (Z or +hh:mm) at column 20"},
    {"2026-01-01T00:00:00Z/P1X", 24, "expected 'Y', 'M', 'W', 'D' or 'T' at column 24"},
    {"2026-01-01T00:00:00Z/P", 23, "expected number after 'P' at column 23"},
    {"2026-01-01T00:00:00Z/PT1.5M", 25, "only seconds may have a fraction"},
    {"9999-12-01T00:00:00Z/P1M", 22, "outside the years 0000-9999"},
    {"9999-12-31T00:00:00Z/P2D", 22, "outside the years 0000-9999"},
    {"2026-01-01T00:00:00Z/P106751991D", 22, "outside the years 0000-9999"},
    {"P1M/0000-01-15T00:00:00Z", 1, "outside the years 0000-9999"},
    {"P1D/0000-01-01T12:00:00Z", 1, "outside the years 0000-9999"},
    {"P1D/0000-01-01T00:00:00+01:00", 5, "outside the years 0000-9999"},
    {"2026-01-01T00:00:00Z/P10001Y", 23, "duration is too long at column 23"},
};

static void test_intervals_valid(void **state)
{
    (void)state;
    assert_int_equal(check_good(P_INTERVAL, good_intervals, COUNT(good_intervals)), 0);
}

static void test_intervals_invalid(void **state)
{
    (void)state;
    assert_int_equal(check_bad(P_INTERVAL, bad_intervals, COUNT(bad_intervals)), 0);
}

/* Month arithmetic over a whole year of month ends, against a table of lengths. */
static void test_month_clamping(void **state)
{
    (void)state;
    static const unsigned len2024[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char buf[64];
    for (unsigned m = 1; m <= 12; m++) {
        for (unsigned k = 1; k <= 13; k++) {
            if (len2024[m - 1] != 31)
                continue; /* not a valid start */
            int n = snprintf(buf, sizeof buf, "2024-%02u-31T06:00:00Z/P%uM", m, k);
            unsigned tm = (m - 1 + k) % 12 + 1;
            int64_t ty = 2024 + (m - 1 + k) / 12;
            unsigned tlen = tm == 2 ? (ty == 2024 ? 29 : 28) : len2024[tm - 1];
            int64_t want = isotime_days_from_civil(ty, tm, tlen) * DAY + 6 * 3600 * US;
            int64_t a = SENTINEL, b = SENTINEL;
            assert_int_equal(isotime_parse_interval(buf, (size_t)n, &a, &b, NULL), 0);
            assert_int_equal(a, isotime_days_from_civil(2024, m, 31) * DAY + 6 * 3600 * US);
            assert_int_equal(b, want);
        }
    }
}

static void test_parse_any(void **state)
{
    (void)state;
    int64_t a = SENTINEL, b = SENTINEL;
    int iv = -1;
    Err err;

    assert_int_equal(run(P_ANY, "2026-01-01T00:00:00Z", &a, &b, &iv, NULL), 0);
    assert_int_equal(a, JAN01);
    assert_int_equal(b, JAN01);
    assert_int_equal(iv, 0);

    assert_int_equal(run(P_ANY, "2026-01-01T00:00:00Z/P1D", &a, &b, &iv, NULL), 0);
    assert_int_equal(a, JAN01);
    assert_int_equal(b, JAN02);
    assert_int_equal(iv, 1);

    a = b = SENTINEL;
    iv = -1;
    err_init(&err);
    assert_int_equal(run(P_ANY, "2026-01-01T00:00:00", &a, &b, &iv, &err), ERR_INVALID);
    assert_string_equal(err.msg, "expected time zone offset (Z or +hh:mm) at column 20");
    assert_true(a == SENTINEL && b == SENTINEL && iv == -1);

    err_init(&err);
    assert_int_equal(run(P_ANY, "2026-01-02T00:00:00Z/2026-01-01T00:00:00Z", &a, &b, &iv, &err),
                     ERR_INVALID);
    assert_string_equal(err.msg, "interval start is after its end");
    assert_true(a == SENTINEL && b == SENTINEL && iv == -1);

    err_init(&err);
    assert_int_equal(run(P_ANY, "", &a, &b, &iv, &err), ERR_INVALID);
    assert_int_equal(err.position, 1);
}

/* The first error sticks; a NULL Err is allowed. */
static void test_err_sticky(void **state)
{
    (void)state;
    Err err;
    int64_t t = SENTINEL;
    err_init(&err);
    err_set_at(&err, ERR_BAD_REQUEST, 7, "earlier problem");
    assert_int_equal(isotime_parse("x", 1, &t, &err), ERR_INVALID);
    assert_int_equal(err.code, ERR_BAD_REQUEST);
    assert_int_equal(err.position, 7);
    assert_string_equal(err.msg, "earlier problem");
    assert_int_equal(isotime_parse_duration("x", 1, &t, NULL), ERR_INVALID);
    assert_int_equal(t, SENTINEL);
}

/* ------------------------------------------------------------------------ */
/* Formatting and round trips                                                */
/* ------------------------------------------------------------------------ */

static const struct {
    int64_t t;
    const char *out;
} formats[] = {
    {0, "1970-01-01T00:00:00.000Z"},
    {1, "1970-01-01T00:00:00.000001Z"},
    {1000, "1970-01-01T00:00:00.001Z"},
    {-1, "1969-12-31T23:59:59.999999Z"},
    {-1000, "1969-12-31T23:59:59.999Z"},
    {-US, "1969-12-31T23:59:59.000Z"},
    {-DAY, "1969-12-31T00:00:00.000Z"},
    {-DAY - 1, "1969-12-30T23:59:59.999999Z"},
    {INT64_C(946684800123000), "2000-01-01T00:00:00.123Z"},
    {INT64_C(1772366400123456), "2026-03-01T12:00:00.123456Z"},
    {INT64_C(1709164800000000), "2024-02-29T00:00:00.000Z"},
    {INT64_C(-14182940000000), "1969-07-20T20:17:40.000Z"},
    {T_MIN, "0000-01-01T00:00:00.000Z"},
    {T_MAX, "9999-12-31T23:59:59.999999Z"},
    /* Outside what the parser produces: expanded years, never truncated. */
    {T_MIN - 1, "-000001-12-31T23:59:59.999999Z"},
    {T_MAX + 1, "+010000-01-01T00:00:00.000Z"},
    {INT64_MAX, "+294247-01-10T04:00:54.775807Z"},
    {INT64_MIN, "-290308-12-21T19:59:05.224192Z"},
};

static void test_format(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(formats); i++) {
        char buf[ISOTIME_MAX];
        size_t n = isotime_format(formats[i].t, buf);
        assert_string_equal(buf, formats[i].out);
        assert_int_equal(n, strlen(formats[i].out));
    }
}

static void test_format_interval(void **state)
{
    (void)state;
    char buf[ISOTIME_INTERVAL_MAX];
    size_t n = isotime_format_interval(JAN01, JAN02 + 1, buf);
    assert_string_equal(buf, "2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000001Z");
    assert_int_equal(n, strlen(buf));

    n = isotime_format_interval(INT64_MIN, INT64_MAX, buf);
    assert_int_equal(n, strlen(buf));
    assert_true(n < ISOTIME_INTERVAL_MAX);

    int64_t a = SENTINEL, b = SENTINEL;
    n = isotime_format_interval(T_MIN, T_MAX, buf);
    assert_int_equal(isotime_parse_interval(buf, n, &a, &b, NULL), 0);
    assert_int_equal(a, T_MIN);
    assert_int_equal(b, T_MAX);
}

/* xorshift64*: a fixed sequence, so failures reproduce. */
static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * UINT64_C(2685821657736338717);
}

static void roundtrip(int64_t t)
{
    char buf[ISOTIME_MAX];
    size_t n = isotime_format(t, buf);
    assert_int_equal(n, strlen(buf));
    int64_t back = SENTINEL;
    char *s = exact(buf, n);
    Err err;
    err_init(&err);
    int rc = isotime_parse(s, n, &back, &err);
    free(s);
    if (rc != 0 || back != t)
        fail_msg("round trip of %lld via \"%s\": rc=%d \"%s\" back=%lld", (long long)t, buf, rc,
                 err.msg, (long long)back);
}

static void test_roundtrip_random(void **state)
{
    (void)state;
    uint64_t seed = UINT64_C(0x9E3779B97F4A7C15);
    const uint64_t span = (uint64_t)(T_MAX - T_MIN) + 1;
    int negative = 0;
    for (int i = 0; i < 200000; i++) {
        int64_t t = T_MIN + (int64_t)(rng_next(&seed) % span);
        switch (i % 4) {
        case 1: t -= t % 1000; break; /* milliseconds */
        case 2: t -= t % US; break;   /* whole seconds */
        case 3: t = t % (200 * 365 * DAY) - (t < 0 ? 0 : 100 * 365 * DAY); break; /* 1870-2170 */
        default: break;
        }
        if (t < T_MIN)
            t = T_MIN;
        negative += t < 0;
        roundtrip(t);
    }
    assert_true(negative > 50000); /* over a quarter are before 1970 */
}

static void test_roundtrip_edges(void **state)
{
    (void)state;
    static const int64_t anchors[] = {
        T_MIN,
        T_MAX,
        0,
        -DAY,
        DAY,
        INT64_C(951782400000000),    /* 2000-02-29 */
        INT64_C(-2203891200000000),  /* 1900-03-01 */
        INT64_C(-11670998400000000), /* 1600-02-29 */
    };
    for (size_t i = 0; i < COUNT(anchors); i++) {
        for (int64_t d = -1001; d <= 1001; d++) {
            int64_t t = anchors[i] + d;
            if (t >= T_MIN && t <= T_MAX)
                roundtrip(t);
        }
    }
}

/* Canonical strings survive parse then format unchanged. */
static void test_format_parse_canonical(void **state)
{
    (void)state;
    static const char *canon[] = {"1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999999Z",
                                  "0000-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999999Z",
                                  "2024-02-29T23:59:59.001Z", "1583-10-15T00:00:00.000100Z"};
    for (size_t i = 0; i < COUNT(canon); i++) {
        int64_t t = SENTINEL;
        char buf[ISOTIME_MAX];
        assert_int_equal(run(P_INSTANT, canon[i], &t, NULL, NULL, NULL), 0);
        isotime_format(t, buf);
        assert_string_equal(buf, canon[i]);
    }
}

/* ------------------------------------------------------------------------ */
/* Calendar                                                                  */
/* ------------------------------------------------------------------------ */

static void test_days_from_civil_anchors(void **state)
{
    (void)state;
    assert_int_equal(isotime_days_from_civil(1970, 1, 1), 0);
    assert_int_equal(isotime_days_from_civil(1969, 12, 31), -1);
    assert_int_equal(isotime_days_from_civil(2000, 3, 1), 11017);
    assert_int_equal(isotime_days_from_civil(0, 1, 1) * DAY, T_MIN);
    assert_int_equal(isotime_days_from_civil(10000, 1, 1) * DAY - 1, T_MAX);
    assert_int_equal(isotime_days_from_civil(-1, 12, 31), -719529);
    assert_int_equal(isotime_days_from_civil(-400, 1, 1), -719528 - 146097);
    assert_int_equal(isotime_days_from_civil(2400, 1, 1) - isotime_days_from_civil(2000, 1, 1),
                     146097);
}

/*
 * Walks every day from 0000-01-01 to 9999-12-31 with a naive calendar and
 * checks the day count, the formatted date, and (for a sample) the parser.
 */
static void test_calendar_walk(void **state)
{
    (void)state;
    static const unsigned len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t day = isotime_days_from_civil(0, 1, 1);
    char want[32], buf[ISOTIME_MAX], in[48];
    for (int y = 0; y <= 9999; y++) {
        int leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
        for (unsigned m = 1; m <= 12; m++) {
            unsigned dim = len[m - 1] + (m == 2 && leap);
            for (unsigned d = 1; d <= dim; d++, day++) {
                if (isotime_days_from_civil(y, m, d) != day)
                    fail_msg("days_from_civil(%d, %u, %u)", y, m, d);
                snprintf(want, sizeof want, "%04d-%02u-%02u", y, m, d);
                isotime_format(day * DAY, buf);
                if (memcmp(buf, want, 10) != 0)
                    fail_msg("format(%lld) = %s, want %s", (long long)day, buf, want);
                if (day % 97 == 0 || (m == 2 && d >= 28)) {
                    int n = snprintf(in, sizeof in, "%sT23:59:59Z", want);
                    int64_t t = SENTINEL;
                    assert_int_equal(isotime_parse(in, (size_t)n, &t, NULL), 0);
                    assert_int_equal(t, day * DAY + DAY - US);
                }
            }
        }
    }
    assert_int_equal(day, isotime_days_from_civil(10000, 1, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_instants_valid),
        cmocka_unit_test(test_instants_invalid),
        cmocka_unit_test(test_instant_respects_len),
        cmocka_unit_test(test_all_offsets),
        cmocka_unit_test(test_durations_valid),
        cmocka_unit_test(test_durations_invalid),
        cmocka_unit_test(test_intervals_valid),
        cmocka_unit_test(test_intervals_invalid),
        cmocka_unit_test(test_month_clamping),
        cmocka_unit_test(test_parse_any),
        cmocka_unit_test(test_err_sticky),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_interval),
        cmocka_unit_test(test_roundtrip_random),
        cmocka_unit_test(test_roundtrip_edges),
        cmocka_unit_test(test_format_parse_canonical),
        cmocka_unit_test(test_days_from_civil_anchors),
        cmocka_unit_test(test_calendar_walk),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
