/*
 * ingest_int.h - shared by the files of src/ingest only: the value collector
 * the decoders write to, bounds-checked byte readers, and the built-in
 * decoder entry points that decode.c dispatches to.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_INGEST_INT_H
#define KLAMMER_INGEST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/ingest.h"

/*
 * Values collected by a decoder before they are handed to the caller, so that
 * a failing decoder leaves the caller's array untouched.
 */
typedef struct DecOut {
    DecodedValue v[INGEST_VALUES_MAX]; /* collected values */
    size_t n;                          /* used entries of v */
    Err *err;                          /* caller's error detail, may be NULL */
} DecOut;

/*
 * Appends a value.  field and unit must outlive the caller's use of the
 * result (static strings or spec-owned).  Errors: ERR_INVALID when field was
 * already emitted or the payload yields more than INGEST_VALUES_MAX values,
 * or when value is not finite.
 */
int dec_emit(DecOut *o, const char *field, double value, const char *unit);

/* As dec_emit for a boolean: value is (on != 0), unit "1". */
int dec_emit_bool(DecOut *o, const char *field, int on);

/*
 * Checks that bytes [off, off + len) lie inside a payload of n bytes.
 * Errors: ERR_INVALID "byte <off>: <what> needs <len> bytes, payload has <n>".
 */
int dec_need(DecOut *o, size_t n, size_t off, size_t len, const char *what);

/* Checks f_port == want.  Errors: ERR_INVALID "fPort <f_port>, expected <want>". */
int dec_port(DecOut *o, int f_port, int want, const char *device);

/* Byte readers; the caller has checked the bounds with dec_need. */
static inline uint32_t rd_u16be(const uint8_t *p)
{
    return (uint32_t)p[0] << 8 | p[1];
}
static inline uint32_t rd_u16le(const uint8_t *p)
{
    return (uint32_t)p[1] << 8 | p[0];
}
static inline int32_t rd_s16be(const uint8_t *p)
{
    return (int32_t)(int16_t)rd_u16be(p);
}
static inline int32_t rd_s16le(const uint8_t *p)
{
    return (int32_t)(int16_t)rd_u16le(p);
}
static inline uint32_t rd_u32be(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint32_t rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Built-in decoders: fill o from p[0..n) or fail with ERR_INVALID in o->err. */
typedef int (*DecFn)(int f_port, const uint8_t *p, size_t n, DecOut *o);

int dec_decentlab_mbx(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_decentlab_pr26(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_decentlab_tbrg(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_milesight_em310_udl(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_milesight_em500_swl(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_milesight_em500_co2(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_milesight_em300_di(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_milesight_vs133(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_milesight_gs524n(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_dragino_ldds75(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_dragino_lse01(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_elsys(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_bosch_tps110(int f_port, const uint8_t *p, size_t n, DecOut *o);
int dec_parametric_pcr2(int f_port, const uint8_t *p, size_t n, DecOut *o);

/* Copies o's values to the caller's out/max/count.  ERR_TOO_LARGE if they do not fit. */
int dec_finish(const DecOut *o, DecodedValue *out, size_t max, size_t *count);

#endif
