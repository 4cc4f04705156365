/*
 * dec_spec.c - decoders declared in configuration: the parser of the compact
 * text form documented at ingest_decoder_spec_parse() in ingest.h, and the
 * table-driven decoder that applies a parsed DecoderSpec to a payload.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest_int.h"

#define UNIT_MAX 31
#define NUMBER_MAX 48

/* ------------------------------------------------------------------------
 * Parser
 * ---------------------------------------------------------------------- */

/* Parser state: the whole text, for 1-based error columns. */
typedef struct P {
    const char *text; /* NUL-terminated input */
    Arena *a;         /* names and units go here */
    Err *err;         /* caller's */
} P;

static int fail(P *ps, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Records ERR_INVALID at the column of at. */
static int fail(P *ps, const char *at, const char *fmt, ...)
{
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set_at(ps->err, ERR_INVALID, (long)(at - ps->text) + 1, "%s", msg);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_lower(char c)
{
    return c >= 'a' && c <= 'z';
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

/* Copies [b, e) into the arena; ERR_TOO_LARGE over its cap. */
static int copy(P *ps, const char *b, const char *e, const char **out)
{
    char *s = arena_strndup(ps->a, b, (size_t)(e - b));
    if (!s)
        return err_set(ps->err, ERR_TOO_LARGE, "decoder", "decoder spec too large");
    *out = s;
    return 0;
}

/*
 * Reads a decimal integer 0..max at *pp (not beyond e).  Advances *pp.
 * what names the number in the message.
 */
static int integer(P *ps, const char **pp, const char *e, unsigned long max, const char *what,
                   unsigned long *out)
{
    const char *s = *pp;
    unsigned long v = 0;
    if (s >= e || !is_digit(*s))
        return fail(ps, s, "%s: expected a decimal number", what);
    while (s < e && is_digit(*s)) {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > max)
            return fail(ps, *pp, "%s is too large", what);
        s++;
    }
    *pp = s;
    *out = v;
    return 0;
}

/* Reads a mask: decimal or 0x-hex, at most 0xFFFFFFFF. */
static int mask(P *ps, const char **pp, const char *e, uint32_t *out)
{
    const char *s = *pp;
    if (e - s >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        uint64_t v = 0;
        const char *d = s + 2;
        while (d < e && *d && strchr("0123456789abcdefABCDEF", *d)) {
            int x = is_digit(*d) ? *d - '0' : (*d | 0x20) - 'a' + 10;
            v = v * 16 + (uint64_t)x;
            if (v > 0xffffffffu)
                return fail(ps, s, "%s: mask does not fit in 32 bits", "mask");
            d++;
        }
        if (d == s + 2)
            return fail(ps, s, "%s: expected hex digits after 0x", "mask");
        *pp = d;
        *out = (uint32_t)v;
        return 0;
    }
    unsigned long v;
    int rc = integer(ps, pp, e, 0xffffffffu, "mask", &v);
    if (!rc)
        *out = (uint32_t)v;
    return rc;
}

/* Reads a decimal number: digits [. digits] [e [+-] digits].  No sign, no inf/nan. */
static int number(P *ps, const char **pp, const char *e, const char *what, double *out)
{
    const char *s = *pp, *d = s;
    int digits = 0;
    while (d < e && is_digit(*d))
        d++, digits++;
    if (d < e && *d == '.') {
        d++;
        while (d < e && is_digit(*d))
            d++, digits++;
    }
    if (!digits)
        return fail(ps, s, "%s: expected a number", what);
    if (d < e && (*d == 'e' || *d == 'E')) {
        const char *x = d + 1;
        if (x < e && (*x == '+' || *x == '-'))
            x++;
        if (x >= e || !is_digit(*x))
            return fail(ps, d, "%s: exponent without digits", what);
        while (x < e && is_digit(*x))
            x++;
        d = x;
    }
    if (d - s > NUMBER_MAX)
        return fail(ps, s, "%s: number too long", what);
    char buf[NUMBER_MAX + 1];
    memcpy(buf, s, (size_t)(d - s));
    buf[d - s] = '\0';
    double v = strtod(buf, NULL);
    if (!isfinite(v))
        return fail(ps, s, "%s: number out of range", what);
    *pp = d;
    *out = v;
    return 0;
}

static const struct {
    const char *name;
    uint8_t type, width;
    bool big_endian;
} types[] = {
    {"u8", INGEST_SPEC_U8, 1, false},         {"s8", INGEST_SPEC_S8, 1, false},
    {"u16be", INGEST_SPEC_U16, 2, true},      {"u16le", INGEST_SPEC_U16, 2, false},
    {"s16be", INGEST_SPEC_S16, 2, true},      {"s16le", INGEST_SPEC_S16, 2, false},
    {"u32be", INGEST_SPEC_U32, 4, true},      {"u32le", INGEST_SPEC_U32, 4, false},
    {"s32be", INGEST_SPEC_S32, 4, true},      {"s32le", INGEST_SPEC_S32, 4, false},
    {"f32be", INGEST_SPEC_F32, 4, true},      {"f32le", INGEST_SPEC_F32, 4, false},
    {"float32be", INGEST_SPEC_F32, 4, true},  {"float32le", INGEST_SPEC_F32, 4, false},
};

#define NTYPES (sizeof types / sizeof types[0])

/* Parses "<field>:<type>@<offset>..." in [b, e) (trimmed, non-empty) into f. */
static int field(P *ps, const char *b, const char *e, DecoderSpecField *f)
{
    const char *s = b;
    while (s < e && (is_lower(*s) || is_digit(*s) || *s == '_'))
        s++;
    if (s == b || !is_lower(*b))
        return fail(ps, b, "%s: expected name=, port=, length= or a field starting with a-z",
                    "spec");
    if (s - b > INGEST_NAME_MAX)
        return fail(ps, b, "%s: field name longer than 63 characters", "spec");
    if (s >= e || *s != ':')
        return fail(ps, s, "%s: expected ':' after the field name (name:type@offset)", "spec");
    int rc = copy(ps, b, s, &f->name);
    if (rc)
        return rc;

    /* type */
    const char *t = ++s;
    while (s < e && (is_lower(*s) || is_digit(*s)))
        s++;
    size_t tl = (size_t)(s - t);
    bool found = false;
    for (size_t i = 0; i < NTYPES && !found; i++)
        if (strlen(types[i].name) == tl && memcmp(types[i].name, t, tl) == 0) {
            f->type = types[i].type;
            f->width = types[i].width;
            f->big_endian = types[i].big_endian;
            found = true;
        }
    if (!found) {
        char name[16];
        size_t k = tl < sizeof name - 1 ? tl : sizeof name - 1;
        memcpy(name, t, k);
        name[k] = '\0';
        return fail(ps, t, "field '%s': unknown type '%s' (u8 s8 u16be s16le u32be s32le f32be ...)",
                     f->name, name);
    }

    /* offset */
    if (s >= e || *s != '@')
        return fail(ps, s, "field '%s': expected '@offset' after the type", f->name);
    s++;
    unsigned long off;
    if ((rc = integer(ps, &s, e, 255, "offset", &off)))
        return rc;
    if (off + f->width > 255)
        return fail(ps, s, "field '%s': bytes beyond 255, the largest payload", f->name);
    f->offset = (uint16_t)off;

    /* mask and shift, unsigned integers only */
    f->scale = 1;
    if (s < e && *s == '&') {
        if (f->type != INGEST_SPEC_U8 && f->type != INGEST_SPEC_U16 && f->type != INGEST_SPEC_U32)
            return fail(ps, s, "field '%s': a mask needs an unsigned type", f->name);
        s++;
        if ((rc = mask(ps, &s, e, &f->mask)))
            return rc;
        if (f->width < 4 && f->mask >> (8 * f->width))
            return fail(ps, s, "field '%s': mask wider than the type", f->name);
        f->has_mask = true;
    }
    if (e - s >= 2 && s[0] == '>' && s[1] == '>') {
        if (f->type != INGEST_SPEC_U8 && f->type != INGEST_SPEC_U16 && f->type != INGEST_SPEC_U32)
            return fail(ps, s, "field '%s': a shift needs an unsigned type", f->name);
        s += 2;
        unsigned long sh;
        if ((rc = integer(ps, &s, e, 8ul * f->width - 1, "shift", &sh)))
            return rc;
        f->shift = (uint8_t)sh;
    }

    /* scale and offset */
    bool scaled = false, shifted = false;
    if (s < e && (*s == '*' || *s == '/')) {
        f->divide = *s == '/';
        s++;
        if ((rc = number(ps, &s, e, "scale", &f->scale)))
            return rc;
        if (f->scale == 0)
            return fail(ps, s, "field '%s': scale must not be 0", f->name);
        scaled = true;
    }
    if (s < e && (*s == '+' || *s == '-')) {
        bool neg = *s == '-';
        s++;
        if ((rc = number(ps, &s, e, "offset", &f->add)))
            return rc;
        if (neg)
            f->add = -f->add;
        shifted = true;
    }

    /* unit */
    const char *u = s;
    while (s < e && is_blank(*s))
        s++;
    if (s == e) {
        f->unit = "1";
        return 0;
    }
    if (s == u)
        return fail(ps, s, "field '%s': unexpected '%.1s' (expected &mask, >>shift, *k, /k, +c, "
                            "-c or a blank and the unit)", f->name, s);
    u = s;
    while (s < e && *s > ' ' && *s < 0x7f)
        s++;
    if (s != e) {
        while (is_blank(*s))
            s++;
        return fail(ps, s, "field '%s': the unit must be the last word", f->name);
    }
    if (s - u > UNIT_MAX)
        return fail(ps, u, "field '%s': unit longer than 31 characters", f->name);
    if (s - u == 4 && memcmp(u, "bool", 4) == 0) {
        if (scaled || shifted || f->type == INGEST_SPEC_F32)
            return fail(ps, u, "field '%s': a bool field takes no scale, offset or float type",
                        f->name);
        f->is_bool = true;
        f->unit = "1";
        return 0;
    }
    return copy(ps, u, s, &f->unit);
}

/* Parses the value of "key=" in [b, e) as a name. */
static int name_value(P *ps, const char *b, const char *e, const char **out)
{
    if (b == e)
        return fail(ps, b, "%s: empty decoder name", "name");
    if (e - b > INGEST_NAME_MAX)
        return fail(ps, b, "%s: decoder name longer than 63 characters", "name");
    for (const char *s = b; s < e; s++)
        if (!is_lower(*s) && !is_digit(*s) && *s != '.' && *s != '_' && *s != '-')
            return fail(ps, s, "%s: decoder names use a-z 0-9 . _ -", "name");
    return copy(ps, b, e, out);
}

static bool has_key(const char *b, const char *e, const char *key)
{
    size_t k = strlen(key);
    return (size_t)(e - b) >= k && memcmp(b, key, k) == 0;
}

static int item(P *ps, const char *b, const char *e, DecoderSpec *d)
{
    unsigned long v;
    int rc;
    if (has_key(b, e, "name=")) {
        if (d->name)
            return fail(ps, b, "%s= appears twice", "name");
        return name_value(ps, b + 5, e, &d->name);
    }
    if (has_key(b, e, "port=")) {
        const char *s = b + 5;
        if (d->port)
            return fail(ps, b, "%s= appears twice", "port");
        if ((rc = integer(ps, &s, e, 223, "port", &v)))
            return rc;
        if (s != e || v < 1)
            return fail(ps, b + 5, "%s: expected a number 1..223", "port");
        d->port = (int)v;
        return 0;
    }
    if (has_key(b, e, "length=")) {
        const char *s = b + 7;
        if (d->length)
            return fail(ps, b, "%s= appears twice", "length");
        if ((rc = integer(ps, &s, e, 255, "length", &v)))
            return rc;
        if (s != e || v < 1)
            return fail(ps, b + 7, "%s: expected a number 1..255", "length");
        d->length = (int)v;
        return 0;
    }
    if (d->nfields == INGEST_SPEC_FIELDS_MAX)
        return fail(ps, b, "%s: more than 32 fields", "spec");
    DecoderSpecField *f = &d->fields[d->nfields];
    memset(f, 0, sizeof *f);
    if ((rc = field(ps, b, e, f)))
        return rc;
    for (size_t i = 0; i < d->nfields; i++)
        if (strcmp(d->fields[i].name, f->name) == 0)
            return fail(ps, b, "field '%s' appears twice", f->name);
    d->nfields++;
    return 0;
}

int ingest_decoder_spec_parse(Arena *a, const char *text, DecoderSpec *out, Err *err)
{
    P ps = {text, a, err};
    DecoderSpec d;
    memset(&d, 0, sizeof d);
    const char *s = text;
    while (*s) {
        /* One item: up to ';', a newline, '#' or the end. */
        const char *b = s;
        while (*s && *s != ';' && *s != '\n' && *s != '#')
            s++;
        const char *e = s;
        if (*s == '#')
            while (*s && *s != '\n')
                s++;
        if (*s)
            s++;
        while (b < e && (is_blank(*b)))
            b++;
        while (e > b && is_blank(e[-1]))
            e--;
        if (b == e)
            continue;
        int rc = item(&ps, b, e, &d);
        if (rc)
            return rc;
    }
    if (!d.name)
        return err_set_at(err, ERR_INVALID, 1, "name= is missing");
    if (d.nfields == 0)
        return err_set_at(err, ERR_INVALID, 1, "decoder '%s' has no fields", d.name);
    for (size_t i = 0; i < d.nfields; i++)
        if (d.length && d.fields[i].offset + d.fields[i].width > d.length)
            return err_set_at(err, ERR_INVALID, 1, "field '%s' reaches beyond length=%d",
                              d.fields[i].name, d.length);
    *out = d;
    return 0;
}

/* ------------------------------------------------------------------------
 * Decoder
 * ---------------------------------------------------------------------- */

static uint32_t raw(const DecoderSpecField *f, const uint8_t *p)
{
    switch (f->width) {
    case 1: return p[0];
    case 2: return f->big_endian ? rd_u16be(p) : rd_u16le(p);
    default: return f->big_endian ? rd_u32be(p) : rd_u32le(p);
    }
}

int ingest_decode_spec(const DecoderSpec *spec, int f_port, const uint8_t *p, size_t n,
                       DecodedValue *out, size_t max, size_t *count, Err *err)
{
    DecOut o;
    o.n = 0;
    o.err = err;
    if (spec->port && f_port != spec->port)
        return err_set(err, ERR_INVALID, "fPort", "fPort %d, expected %d for %s", f_port,
                       spec->port, spec->name);
    if (f_port < 1 || f_port > 255)
        return err_set(err, ERR_INVALID, "fPort", "fPort %d carries no application payload",
                       f_port);
    if (spec->length && n != (size_t)spec->length)
        return err_set(err, ERR_INVALID, "payload", "payload has %zu bytes, expected %d for %s", n,
                       spec->length, spec->name);
    for (size_t i = 0; i < spec->nfields; i++) {
        const DecoderSpecField *f = &spec->fields[i];
        if (!p || f->offset > n || f->width > n - f->offset)
            return err_set(err, ERR_INVALID, f->name,
                           "field '%s' needs bytes %u..%u, payload has %zu bytes", f->name,
                           (unsigned)f->offset, (unsigned)(f->offset + f->width - 1), n);
        uint32_t r = raw(f, p + f->offset);
        if (f->has_mask)
            r &= f->mask;
        r >>= f->shift;
        double v;
        switch (f->type) {
        case INGEST_SPEC_S8: v = (int8_t)r; break;
        case INGEST_SPEC_S16: v = (int16_t)r; break;
        case INGEST_SPEC_S32: v = (int32_t)r; break;
        case INGEST_SPEC_F32: {
            float x;
            memcpy(&x, &r, sizeof x);
            v = x;
            break;
        }
        default: v = r; break;
        }
        int rc;
        if (f->is_bool) {
            rc = dec_emit_bool(&o, f->name, r != 0);
        } else {
            v = f->divide ? v / f->scale : v * f->scale;
            rc = dec_emit(&o, f->name, v + f->add, f->unit);
        }
        if (rc)
            return rc;
    }
    int rc = dec_finish(&o, out, max, count);
    if (rc)
        return err_set(err, rc, "payload", "payload yields %zu values, room for %zu", o.n, max);
    return 0;
}
