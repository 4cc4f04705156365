/*
 * jsonw.h - writing JSON text into a Buf.
 *
 * The writer does not track structure; callers emit '{', ',' and ':' with
 * jw_raw.  It only guarantees that strings are escaped and numbers are
 * written so that they read back to the same value.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_JSONW_H
#define KLAMMER_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Appends s[0..n) as a JSON string literal, quotes included. */
void jw_strn(Buf *b, const char *s, size_t n);

/* jw_strn with strlen. */
void jw_str(Buf *b, const char *s);

/* Appends "key": (escaped key, colon). */
void jw_key(Buf *b, const char *key);

/* Appends an integer. */
void jw_int(Buf *b, int64_t v);

/*
 * Appends a double with the fewest digits that read back to the same value
 * (15, else 17 significant digits); non-finite values become null.
 */
void jw_real(Buf *b, double v);

/* Appends raw bytes (already JSON). */
void jw_raw(Buf *b, const char *s);

#endif
