/*
 * isotime.h - ISO 8601 instants, intervals and durations (OGC 18-088 uses them
 * for phenomenonTime, resultTime, validTime and HistoricalLocation time).
 *
 * Times are int64 microseconds since 1970-01-01T00:00:00Z (UTC), so that they
 * compare and index as plain integers.  Parsing accepts the extended format
 * with a mandatory offset (Z, +hh:mm, -hh:mm, +hhmm, +hh) and 0-9 fractional
 * digits (digits beyond microseconds are truncated, not rounded); years
 * 0000-9999.  Formatting always writes UTC with 'Z'.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_ISOTIME_H
#define KLAMMER_ISOTIME_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define ISOTIME_MAX 40           /* buffer size for one formatted instant, NUL included */
#define ISOTIME_INTERVAL_MAX 80  /* buffer size for a formatted interval */

/*
 * Parses one instant such as "2026-03-01T12:00:00.123+01:00" from s[0..len).
 * The whole input must be consumed.  On success writes *out.
 * Errors: ERR_INVALID with a message naming the position and what was expected.
 */
int isotime_parse(const char *s, size_t len, int64_t *out, Err *err);

/*
 * Parses an ISO 8601 duration ("P1DT2H30M", "PT0.5S", "P2W"); years and months
 * are not allowed here (their length depends on the start) -> ERR_INVALID.
 * Writes microseconds to *out.
 */
int isotime_parse_duration(const char *s, size_t len, int64_t *out, Err *err);

/*
 * Parses a time interval "start/end", "start/duration" or "duration/end"
 * (durations may use Y and M here: they are applied to the calendar date).
 * Requires start <= end.  Writes *start and *end.
 */
int isotime_parse_interval(const char *s, size_t len, int64_t *start, int64_t *end, Err *err);

/*
 * Parses either an instant or an interval (an interval contains '/').
 * Writes *start; *end = *start and *is_interval = 0 for an instant.
 */
int isotime_parse_any(const char *s, size_t len, int64_t *start, int64_t *end,
                      int *is_interval, Err *err);

/*
 * Formats t as "YYYY-MM-DDTHH:MM:SS.sssZ"; six fractional digits when t has a
 * sub-millisecond part.  out must hold ISOTIME_MAX bytes.  Returns the length.
 */
size_t isotime_format(int64_t t, char *out);

/* Formats "start/end" into out (ISOTIME_INTERVAL_MAX bytes).  Returns the length. */
size_t isotime_format_interval(int64_t start, int64_t end, char *out);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1-12). */
int64_t isotime_days_from_civil(int64_t y, unsigned m, unsigned d);

#endif
