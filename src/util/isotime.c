/*
 * isotime.c - ISO 8601 instants, durations and intervals as int64 microseconds.
 *
 * The parsers are strict, hand-written scanners over a byte range that is not
 * NUL-terminated: they never look at s[len] or beyond.  Every error names the
 * 1-based column and what was expected there.  The calendar arithmetic is our
 * own (proleptic Gregorian, era-based day counting), so nothing here depends
 * on the locale, the TZ variable, timegm() or mktime().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "util/isotime.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define US_PER_SEC INT64_C(1000000)
#define SEC_PER_DAY INT64_C(86400)
#define US_PER_DAY (SEC_PER_DAY * US_PER_SEC)

/*
 * The instants the parser may produce: 0000-01-01T00:00:00Z up to
 * 9999-12-31T23:59:59.999999Z.  Keeping every parsed value inside this range
 * is what lets isotime_format() write it back with a four-digit year.  The
 * unit tests check both constants against isotime_days_from_civil().
 */
#define T_MIN (INT64_C(-719528) * US_PER_DAY)
#define T_MAX (INT64_C(2932897) * US_PER_DAY - 1)

/* Calendar durations longer than this cannot keep any instant in range. */
#define MONTHS_MAX (INT64_C(12) * 10000)

/* ------------------------------------------------------------------------ */
/* Calendar                                                                  */
/* ------------------------------------------------------------------------ */

/* Division rounding towards negative infinity; b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b != 0 && a < 0)
        q--;
    return q;
}

static int is_leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static unsigned days_in_month(int64_t y, unsigned m)
{
    static const unsigned char len[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : len[m - 1];
}

/*
 * The Gregorian calendar repeats every 400 years (an "era" of 146097 days).
 * Counting years from 1 March puts the leap day at the end of the year, so the
 * day within the year follows from the month alone: the month lengths from
 * March on (31 30 31 30 31 31 30 31 30 31 31 28) are reproduced exactly by
 * (153 * mp + 2) / 5 for mp = 0 (March) .. 11 (February).  0000-03-01 is day
 * 0 of era 0 and lies 719468 days before 1970-01-01.
 *
 * Valid for |y| below about 2^40, far beyond what int64 microseconds can hold.
 */
int64_t isotime_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    assert(m >= 1 && m <= 12);
    if (m <= 2)
        y--;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                         /* 0 .. 399 */
    int64_t mp = (int64_t)((m + 9) % 12);                /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + (int64_t)d - 1;   /* 0 .. 365 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* 0 .. 146096 */
    return era * 146097 + doe - 719468;
}

/* The inverse of isotime_days_from_civil(), by the same March-based count. */
static void civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097; /* 0 .. 146096 */
    /* Remove the leap days of the era so far; the 400th year keeps its own. */
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (yoe * 365 + yoe / 4 - yoe / 100); /* 0 .. 365 */
    int64_t mp = (5 * doy + 2) / 153;                      /* 0 .. 11 */
    *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
    *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* ------------------------------------------------------------------------ */
/* Scanner                                                                   */
/* ------------------------------------------------------------------------ */

/* A cursor over s[0..len); base is the column of s[0] minus one. */
typedef struct Scan {
    const char *s; /* borrowed, not NUL-terminated */
    size_t len;    /* bytes in s */
    size_t i;      /* next byte to read */
    long base;     /* columns before s[0] in the caller's input */
    Err *err;      /* borrowed, may be NULL */
} Scan;

static int peek(const Scan *sc)
{
    return sc->i < sc->len ? (unsigned char)sc->s[sc->i] : -1;
}

static long column(const Scan *sc)
{
    return sc->base + (long)sc->i + 1;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int fail(const Scan *sc, const char *what)
{
    long col = column(sc);
    return err_set_at(sc->err, ERR_INVALID, col, "expected %s at column %ld", what, col);
}

/* Reports the byte under the cursor as something that does not belong there. */
static int unexpected(const Scan *sc)
{
    long col = column(sc);
    int c = peek(sc);
    if (c > 0x20 && c < 0x7f)
        return err_set_at(sc->err, ERR_INVALID, col, "unexpected character '%c' at column %ld", c,
                          col);
    return err_set_at(sc->err, ERR_INVALID, col, "unexpected byte 0x%02X at column %ld", c, col);
}

static int expect(Scan *sc, char c)
{
    if (peek(sc) != (unsigned char)c) {
        long col = column(sc);
        return err_set_at(sc->err, ERR_INVALID, col, "expected '%c' at column %ld", c, col);
    }
    sc->i++;
    return 0;
}

/* Reads exactly n digits into *out; what names the field for the message. */
static int fixed_digits(Scan *sc, int n, const char *what, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < n; k++) {
        int c = peek(sc);
        if (!is_digit(c)) {
            long col = column(sc);
            return err_set_at(sc->err, ERR_INVALID, col, "expected %s digit at column %ld", what,
                              col);
        }
        v = v * 10 + (unsigned)(c - '0');
        sc->i++;
    }
    *out = v;
    return 0;
}

/* Two digits that must lie in lo..hi; the error points at the first digit. */
static int ranged(Scan *sc, const char *what, unsigned lo, unsigned hi, unsigned *out)
{
    long col = column(sc);
    unsigned v = 0;
    int rc = fixed_digits(sc, 2, what, &v);
    if (rc < 0)
        return rc;
    if (v < lo || v > hi)
        return err_set_at(sc->err, ERR_INVALID, col, "%s %02u out of range %02u-%02u at column %ld",
                          what, v, lo, hi, col);
    *out = v;
    return 0;
}

/*
 * Reads '.' and 1-9 digits as microseconds.  Digits past the sixth are
 * dropped, not rounded, so that a value never moves into the next second.
 */
static int fraction(Scan *sc, int64_t *out)
{
    int64_t us = 0;
    int n = 0;
    sc->i++; /* the '.' */
    if (!is_digit(peek(sc)))
        return fail(sc, "fraction digit");
    while (is_digit(peek(sc))) {
        if (n == 9) {
            long col = column(sc);
            return err_set_at(sc->err, ERR_INVALID, col,
                              "too many fractional digits (at most 9) at column %ld", col);
        }
        if (n < 6)
            us = us * 10 + (peek(sc) - '0');
        n++;
        sc->i++;
    }
    for (; n < 6; n++)
        us *= 10;
    *out = us;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Instants                                                                  */
/* ------------------------------------------------------------------------ */

/* A parsed instant: local wall-clock time and its offset from UTC. */
typedef struct Instant {
    int64_t local;  /* microseconds, wall clock read as if it were UTC */
    int64_t offset; /* microseconds east of UTC */
} Instant;

/*
 * ISO 8601-1:2019 §5.4.2 extended format, restricted as RFC 3339 §5.6 does:
 * YYYY-MM-DDTHH:MM:SS[.f{1,9}] followed by Z, ±hh:mm, ±hhmm or ±hh.  The
 * designators are upper case only; seconds and the offset are mandatory.
 * Consumes the whole range.  Does not check the UTC range (see check_range).
 */
static int scan_instant(Scan *sc, Instant *out)
{
    unsigned year = 0, mon = 0, day = 0, hh = 0, mm = 0, ss = 0, oh = 0, om = 0;
    int rc;

    if (sc->len == 0)
        return fail(sc, "date-time YYYY-MM-DDTHH:MM:SSZ");
    if ((rc = fixed_digits(sc, 4, "year", &year)) < 0 || (rc = expect(sc, '-')) < 0 ||
        (rc = ranged(sc, "month", 1, 12, &mon)) < 0 || (rc = expect(sc, '-')) < 0)
        return rc;

    long day_col = column(sc);
    if ((rc = fixed_digits(sc, 2, "day", &day)) < 0)
        return rc;
    unsigned dim = days_in_month(year, mon);
    if (day < 1 || day > dim)
        return err_set_at(sc->err, ERR_INVALID, day_col,
                          "day %02u out of range 01-%02u for %04u-%02u at column %ld", day, dim,
                          year, mon, day_col);

    if ((rc = expect(sc, 'T')) < 0 || (rc = ranged(sc, "hour", 0, 23, &hh)) < 0 ||
        (rc = expect(sc, ':')) < 0 || (rc = ranged(sc, "minute", 0, 59, &mm)) < 0 ||
        (rc = expect(sc, ':')) < 0 || (rc = ranged(sc, "second", 0, 59, &ss)) < 0)
        return rc;

    int64_t frac = 0;
    if (peek(sc) == '.' && (rc = fraction(sc, &frac)) < 0)
        return rc;

    int sign = 0;
    int c = peek(sc);
    if (c == 'Z') {
        sc->i++;
    } else if (c == '+' || c == '-') {
        sign = c == '+' ? 1 : -1;
        sc->i++;
        if ((rc = ranged(sc, "offset hour", 0, 23, &oh)) < 0)
            return rc;
        if (peek(sc) == ':') {
            sc->i++;
            if ((rc = ranged(sc, "offset minute", 0, 59, &om)) < 0)
                return rc;
        } else if (peek(sc) != -1) {
            if ((rc = ranged(sc, "offset minute", 0, 59, &om)) < 0)
                return rc;
        }
    } else {
        return fail(sc, "time zone offset (Z or +hh:mm)");
    }
    if (sc->i < sc->len)
        return unexpected(sc);

    int64_t days = isotime_days_from_civil(year, mon, day);
    int64_t secs = days * SEC_PER_DAY + (int64_t)hh * 3600 + (int64_t)mm * 60 + ss;
    out->local = secs * US_PER_SEC + frac;
    out->offset = sign * ((int64_t)oh * 3600 + (int64_t)om * 60) * US_PER_SEC;
    return 0;
}

/*
 * An offset can carry 0000-01-01T00:00:00+01:00 into year -1 of UTC, which
 * has no four-digit form; such instants are rejected so that every parsed
 * value formats and parses back to itself.
 */
static int out_of_range(Err *err, long col)
{
    return err_set_at(err, ERR_INVALID, col,
                      "time is outside the years 0000-9999 in UTC at column %ld", col);
}

static int check_range(int64_t t, Err *err, long col)
{
    return t < T_MIN || t > T_MAX ? out_of_range(err, col) : 0;
}

int isotime_parse(const char *s, size_t len, int64_t *out, Err *err)
{
    Scan sc = {s, len, 0, 0, err};
    Instant in;
    int rc = scan_instant(&sc, &in);
    if (rc < 0)
        return rc;
    int64_t t = in.local - in.offset;
    if ((rc = check_range(t, err, 1)) < 0)
        return rc;
    *out = t;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Durations                                                                 */
/* ------------------------------------------------------------------------ */

/* A duration split into its calendar part and its fixed-length part. */
typedef struct Dur {
    int64_t months; /* years * 12 + months, 0 .. MONTHS_MAX */
    int64_t us;     /* weeks, days, hours, minutes and seconds, >= 0 */
} Dur;

/* Adds v * unit to *acc, failing when the total leaves int64. */
static int add_scaled(Scan *sc, long col, int64_t *acc, int64_t v, int64_t unit, int64_t limit)
{
    if (v > (limit - *acc) / unit)
        return err_set_at(sc->err, ERR_INVALID, col, "duration is too long at column %ld", col);
    *acc += v * unit;
    return 0;
}

/*
 * ISO 8601-1:2019 §5.5.2.4: PnW, or PnYnMnDTnHnMnS with at least one
 * component, in that order, each at most once.  Weeks stand alone.  Only the
 * seconds, which are always the last component, may carry a fraction ('.'
 * and 1-9 digits, truncated to microseconds).  Years and months are accepted
 * only when calendar is set.  Consumes the whole range.
 */
static int scan_duration(Scan *sc, int calendar, Dur *out)
{
    /* Rank of each designator: the date part uses 1-4, the time part 5-7. */
    static const char date_order[] = "YMWD";
    static const char time_order[] = "HMS";
    Dur dur = {0, 0};
    int in_time = 0, last = 0, weeks = 0, count = 0;
    int rc;

    if ((rc = expect(sc, 'P')) < 0)
        return rc;
    if (sc->i == sc->len)
        return fail(sc, "number after 'P'");

    while (sc->i < sc->len) {
        int c = peek(sc);
        if (c == 'T' && !in_time) {
            in_time = 1;
            sc->i++;
            if (!is_digit(peek(sc)))
                return fail(sc, "number after 'T'");
            continue;
        }
        if (!is_digit(c))
            return fail(sc, in_time ? "digit" : "digit or 'T'");

        /* The number: digits, then an optional fraction kept as microseconds. */
        long num_col = column(sc);
        int64_t v = 0, frac = 0;
        while (is_digit(c = peek(sc))) {
            if (v > (INT64_MAX - 9) / 10)
                return err_set_at(sc->err, ERR_INVALID, num_col, "number too large at column %ld",
                                  num_col);
            v = v * 10 + (c - '0');
            sc->i++;
        }
        int has_frac = 0;
        long frac_col = column(sc);
        if (c == '.') {
            has_frac = 1;
            if ((rc = fraction(sc, &frac)) < 0)
                return rc;
            c = peek(sc);
        }

        /* The designator, which must come later in the order than the last one. */
        long des_col = column(sc);
        const char *order = in_time ? time_order : date_order;
        const char *hit = c > 0 ? strchr(order, c) : NULL;
        if (!hit)
            return fail(sc, in_time ? "'H', 'M' or 'S'" : "'Y', 'M', 'W', 'D' or 'T'");
        int rank = (int)(hit - order) + 1 + (in_time ? 4 : 0);
        if (rank <= last)
            return err_set_at(sc->err, ERR_INVALID, des_col,
                              "'%c' out of order or repeated at column %ld "
                              "(the order is PnYnMnDTnHnMnS)",
                              c, des_col);
        if (has_frac && c != 'S')
            return err_set_at(sc->err, ERR_INVALID, frac_col,
                              "only seconds may have a fraction, at column %ld", frac_col);
        if (!in_time && (c == 'Y' || c == 'M') && !calendar)
            return err_set_at(sc->err, ERR_INVALID, des_col,
                              "years and months are not allowed in a duration at column %ld "
                              "(their length depends on the start; use weeks or days)",
                              des_col);
        if ((weeks || c == 'W') && count > 0)
            return err_set_at(sc->err, ERR_INVALID, des_col,
                              "weeks cannot be combined with other components at column %ld",
                              des_col);
        sc->i++;
        last = rank;
        count++;

        switch (rank) {
        case 1: rc = add_scaled(sc, num_col, &dur.months, v, 12, MONTHS_MAX); break;
        case 2: rc = add_scaled(sc, num_col, &dur.months, v, 1, MONTHS_MAX); break;
        case 3:
            weeks = 1;
            rc = add_scaled(sc, num_col, &dur.us, v, 7 * US_PER_DAY, INT64_MAX);
            break;
        case 4: rc = add_scaled(sc, num_col, &dur.us, v, US_PER_DAY, INT64_MAX); break;
        case 5: rc = add_scaled(sc, num_col, &dur.us, v, 3600 * US_PER_SEC, INT64_MAX); break;
        case 6: rc = add_scaled(sc, num_col, &dur.us, v, 60 * US_PER_SEC, INT64_MAX); break;
        default:
            rc = add_scaled(sc, num_col, &dur.us, v, US_PER_SEC, INT64_MAX);
            if (rc == 0)
                rc = add_scaled(sc, num_col, &dur.us, frac, 1, INT64_MAX);
            break;
        }
        if (rc < 0)
            return rc;
        if (rank == 7 && sc->i < sc->len)
            return unexpected(sc);
    }
    *out = dur;
    return 0;
}

int isotime_parse_duration(const char *s, size_t len, int64_t *out, Err *err)
{
    Scan sc = {s, len, 0, 0, err};
    Dur dur;
    int rc = scan_duration(&sc, 0, &dur);
    if (rc < 0)
        return rc;
    *out = dur.us;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Intervals                                                                 */
/* ------------------------------------------------------------------------ */

/*
 * Applies dur to the instant in, forwards (sign 1) or backwards (sign -1).
 * ISO 8601-1:2019 §5.5.4: the calendar part moves the date in the instant's
 * own time scale, so it works on the wall-clock time; a day that does not
 * exist in the target month becomes its last day (01-31 + P1M = 02-28).  The
 * fixed part follows.  Going backwards is adding the negated duration, so the
 * months are taken off first there too.  col is where errors point.
 */
static int apply(const Instant *in, const Dur *dur, int sign, int64_t *out, Err *err, long col)
{
    int64_t t = in->local;
    if (dur->months != 0) {
        int64_t days = floor_div(t, US_PER_DAY);
        int64_t tod = t - days * US_PER_DAY;
        int64_t y;
        unsigned m, d;
        civil_from_days(days, &y, &m, &d);
        int64_t total = y * 12 + (m - 1) + sign * dur->months;
        int64_t ny = floor_div(total, 12);
        unsigned nm = (unsigned)(total - ny * 12) + 1;
        if (ny < 0 || ny > 9999)
            return out_of_range(err, col);
        unsigned dim = days_in_month(ny, nm);
        t = isotime_days_from_civil(ny, nm, d < dim ? d : dim) * US_PER_DAY + tod;
    }
    /* t and the offset are within a few times 10^17, so only dur->us can overflow. */
    t -= in->offset;
    if (sign > 0 ? dur->us > T_MAX - t : dur->us > t - T_MIN)
        return out_of_range(err, col);
    t += sign * dur->us;
    int rc = check_range(t, err, col);
    if (rc < 0)
        return rc;
    *out = t;
    return 0;
}

/* One side of an interval: a duration when it starts with 'P', else an instant. */
typedef struct Side {
    int is_dur; /* 1 when dur is set, 0 when in is set */
    Instant in; /* the instant */
    Dur dur;    /* the duration */
} Side;

static int scan_side(const char *s, size_t len, long base, Side *out, Err *err)
{
    Scan sc = {s, len, 0, base, err};
    out->is_dur = len > 0 && s[0] == 'P';
    if (out->is_dur)
        return scan_duration(&sc, 1, &out->dur);
    int rc = scan_instant(&sc, &out->in);
    if (rc < 0)
        return rc;
    return check_range(out->in.local - out->in.offset, err, base + 1);
}

/* ISO 8601-1:2019 §5.5.4.1: start/end, start/duration and duration/end. */
int isotime_parse_interval(const char *s, size_t len, int64_t *start, int64_t *end, Err *err)
{
    const char *slash = len > 0 ? memchr(s, '/', len) : NULL;
    if (!slash) {
        long col = (long)len + 1;
        return err_set_at(err, ERR_INVALID, col, "expected '/' at column %ld", col);
    }
    size_t n1 = (size_t)(slash - s);
    long col2 = (long)n1 + 2;
    Side a, b;
    int rc;
    if ((rc = scan_side(s, n1, 0, &a, err)) < 0 ||
        (rc = scan_side(slash + 1, len - n1 - 1, col2 - 1, &b, err)) < 0)
        return rc;

    int64_t t0, t1;
    if (a.is_dur && b.is_dur)
        return err_set_at(err, ERR_INVALID, 1,
                          "an interval needs a start or an end instant, not two durations");
    if (a.is_dur) {
        t1 = b.in.local - b.in.offset;
        if ((rc = apply(&b.in, &a.dur, -1, &t0, err, 1)) < 0)
            return rc;
    } else if (b.is_dur) {
        t0 = a.in.local - a.in.offset;
        if ((rc = apply(&a.in, &b.dur, 1, &t1, err, col2)) < 0)
            return rc;
    } else {
        t0 = a.in.local - a.in.offset;
        t1 = b.in.local - b.in.offset;
        if (t0 > t1)
            return err_set_at(err, ERR_INVALID, col2, "interval start is after its end");
    }
    *start = t0;
    *end = t1;
    return 0;
}

int isotime_parse_any(const char *s, size_t len, int64_t *start, int64_t *end, int *is_interval,
                      Err *err)
{
    int64_t t0, t1;
    int rc;
    if (len > 0 && memchr(s, '/', len)) {
        if ((rc = isotime_parse_interval(s, len, &t0, &t1, err)) < 0)
            return rc;
        *is_interval = 1;
    } else {
        if ((rc = isotime_parse(s, len, &t0, err)) < 0)
            return rc;
        t1 = t0;
        *is_interval = 0;
    }
    *start = t0;
    *end = t1;
    return 0;
}

/* ------------------------------------------------------------------------ */
/* Formatting                                                                */
/* ------------------------------------------------------------------------ */

/*
 * Years outside 0000-9999 cannot come from the parser; they are written in
 * the expanded form of ISO 8601-1:2019 §4.3.2 (sign and six digits, enough
 * for the whole int64 range) rather than truncated.
 */
size_t isotime_format(int64_t t, char *out)
{
    /* Split with the remainder so that INT64_MIN does not overflow. */
    int64_t secs = t / US_PER_SEC;
    int64_t us = t % US_PER_SEC;
    if (us < 0) {
        us += US_PER_SEC;
        secs--;
    }
    int64_t days = floor_div(secs, SEC_PER_DAY);
    int64_t sod = secs - days * SEC_PER_DAY;
    int64_t y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);

    if (y >= 0 && y <= 9999) {
        /* The common case without printf: every serialised time comes here. */
        char *p = out;
        int parts[6] = {(int)y, (int)m, (int)d, (int)(sod / 3600), (int)(sod / 60 % 60),
                        (int)(sod % 60)};
        static const char seps[6] = {'-', '-', 'T', ':', ':', '.'};
        p[0] = (char)('0' + parts[0] / 1000);
        p[1] = (char)('0' + parts[0] / 100 % 10);
        p[2] = (char)('0' + parts[0] / 10 % 10);
        p[3] = (char)('0' + parts[0] % 10);
        p[4] = seps[0];
        p += 5;
        for (int i = 1; i < 6; i++) {
            p[0] = (char)('0' + parts[i] / 10);
            p[1] = (char)('0' + parts[i] % 10);
            p[2] = seps[i];
            p += 3;
        }
        int digits = us % 1000 == 0 ? 3 : 6;
        int f = digits == 3 ? (int)(us / 1000) : (int)us;
        for (int i = digits - 1; i >= 0; i--, f /= 10)
            p[i] = (char)('0' + f % 10);
        p += digits;
        *p++ = 'Z';
        *p = '\0';
        return (size_t)(p - out);
    }
    char year[16];
    if (y >= 0 && y <= 9999)
        snprintf(year, sizeof year, "%04d", (int)y);
    else
        snprintf(year, sizeof year, "%+07lld", (long long)y);

    char frac[8];
    if (us % 1000 == 0)
        snprintf(frac, sizeof frac, "%03d", (int)(us / 1000));
    else
        snprintf(frac, sizeof frac, "%06d", (int)us);

    int n = snprintf(out, ISOTIME_MAX, "%s-%02u-%02uT%02d:%02d:%02d.%sZ", year, m, d,
                     (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), frac);
    assert(n > 0 && n < ISOTIME_MAX);
    return (size_t)n;
}

size_t isotime_format_interval(int64_t start, int64_t end, char *out)
{
    size_t n = isotime_format(start, out);
    out[n++] = '/';
    n += isotime_format(end, out + n);
    assert(n < ISOTIME_INTERVAL_MAX);
    return n;
}
