/*
 * filter.c - the $filter expression of OGC 18-088 §9.3.3.5 (the OData 4.0
 * subset SensorThings uses) parsed into a typed QueryNode tree.
 *
 * A hand-written lexer feeds a recursive-descent parser with one level per
 * precedence class.  Every node gets its static type here, and every
 * operator and function call is type-checked, so that the SQL compiler in
 * store/ never meets an ill-typed tree.  The parser allocates only from the
 * request arena, never reads past the NUL of the text, and bounds its own
 * recursion; the first error sticks in the caller's Err and unwinds.
 *
 * Columns in messages count bytes from 1, as in err.h.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "query/query.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"

/* ============================================================ the parser */

typedef enum {
    T_EOF,
    T_IDENT,    /* name, keyword or path segment */
    T_INT,      /* u: magnitude, at most 2^63 (the magnitude of INT64_MIN) */
    T_REAL,     /* d */
    T_STRING,   /* s, n: unescaped; also time-of-day literals, normalised */
    T_TIME,     /* t0: an instant, or a date at midnight UTC */
    T_INTERVAL, /* t0, t1 */
    T_DURATION, /* t0: microseconds, may be negative */
    T_GEO,      /* s, n: validated WKT */
    T_LPAREN,
    T_RPAREN,
    T_COMMA,
    T_SLASH,
    T_MINUS,
} TokKind;

typedef struct Tok {
    TokKind kind;
    size_t start, end; /* the token is text[start..end) */
    uint64_t u;        /* T_INT */
    double d;          /* T_REAL */
    int64_t t0, t1;    /* T_TIME, T_INTERVAL, T_DURATION */
    const char *s;     /* T_STRING, T_GEO: arena-owned, NUL-terminated */
    size_t n;          /* length of s */
} Tok;

typedef struct Parser {
    Arena *a;             /* where the tree goes, borrowed */
    const EntityDef *def; /* the filtered entity type */
    const char *text;     /* the expression, NUL-terminated at len */
    size_t len;
    size_t i;             /* next byte for the lexer */
    Tok tok;              /* the current token */
    int depth;            /* current recursion depth, see enter() */
    Err *err;             /* borrowed, may be NULL */
    const char *option;   /* "$filter" or "$orderby", for error fields */
} Parser;

/* -------------------------------------------------------------- errors */

/*
 * Records an error at byte offset off of the text.  The message gets
 * " at column N" appended; the field is "$filter" when this call is the one
 * that records the error (the first error sticks, see err.h).
 */
static int fail(Parser *p, int code, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(Parser *p, int code, size_t off, const char *fmt, ...)
{
    if (!p->err || p->err->code != 0)
        return code;
    char msg[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    long col = (long)off + 1;
    err_set_at(p->err, code, col, "%s at column %ld", msg, col);
    snprintf(p->err->field, sizeof p->err->field, "%s", p->option);
    return code;
}

static int too_large(Parser *p, size_t off)
{
    return fail(p, ERR_TOO_LARGE, off, "expression too large");
}

/*
 * Copies at most 32 bytes of s[0..n) into out (64 bytes) for a message:
 * valid UTF-8 sequences are kept, other bytes and controls become '?', so
 * that the message is always valid UTF-8 for the JSON error body.
 */
/*
 * Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF), or 0.
 */
static size_t utf8_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    unsigned char c = u[0];
    size_t k = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
                           : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (k == 0 || k > n)
        return 0;
    for (size_t j = 1; j < k; j++)
        if ((u[j] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && u[1] < 0xA0) || (c == 0xED && u[1] >= 0xA0) ||
        (c == 0xF0 && u[1] < 0x90) || (c == 0xF4 && u[1] >= 0x90))
        return 0;
    return k;
}

static const char *excerpt(const char *s, size_t n, char *out)
{
    size_t o = 0, i = 0;
    while (i < n && o < 32) {
        unsigned char c = (unsigned char)s[i];
        size_t k = utf8_len(s + i, n - i);
        if (k == 0 || c < 0x20 || c == 0x7F) {
            out[o++] = '?';
            i++;
            continue;
        }
        memcpy(out + o, s + i, k);
        o += k;
        i += k;
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* Turns an error of isotime (columns relative to the literal) into ours. */
static int time_error(Parser *p, size_t lit, const Err *e, const char *what)
{
    char msg[ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%s", e->msg[0] ? e->msg : "invalid value");
    char *at = strstr(msg, " at column ");
    if (at)
        *at = '\0';
    size_t off = lit + (e->position > 0 ? (size_t)e->position - 1 : 0);
    if (off > p->len)
        off = p->len;
    return fail(p, ERR_BAD_REQUEST, off, "%s in %s", msg, what);
}

/* ---------------------------------------------------------------- lexer */

static int at(const Parser *p, size_t i)
{
    return i < p->len ? (unsigned char)p->text[i] : 0;
}

static bool is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_ident_start(int c)
{
    return is_alpha(c) || c == '_' || c == '@';
}

static bool is_ident_char(int c)
{
    return is_ident_start(c) || is_digit(c) || c == '.';
}

/* Keys into JSON may also hold '-' and '$' ("properties/serial-no"). */
static bool is_key_char(int c)
{
    return is_ident_char(c) || c == '-' || c == '$';
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool tok_is(const Parser *p, const char *word)
{
    size_t n = strlen(word);
    return p->tok.kind == T_IDENT && p->tok.end - p->tok.start == n &&
           memcmp(p->text + p->tok.start, word, n) == 0;
}

static bool span_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

static const char *const keywords[] = {"and", "or",  "not", "eq",  "ne",  "gt",
                                       "ge",  "lt",  "le",  "add", "sub", "mul",
                                       "div", "mod", "null", "true", "false"};

static bool is_keyword(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (span_is(s, n, keywords[k]))
            return true;
    return false;
}

/* The keyword that s[0..n) spells in another case ("AND"), or NULL. */
static const char *keyword_nocase(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++)
        if (strlen(keywords[k]) == n && strncasecmp(s, keywords[k], n) == 0)
            return keywords[k];
    return NULL;
}

/*
 * Reads a '...' literal whose opening quote is at q; '' stands for one
 * quote.  Stores the unescaped text in t->s and sets t->end.
 */
static int lex_quoted(Parser *p, size_t q, size_t start, Tok *t)
{
    size_t n = 0, j = q + 1;
    for (;;) {
        if (j >= p->len)
            return fail(p, ERR_BAD_REQUEST, start, "unterminated string literal starting");
        if (p->text[j] == '\'') {
            if (at(p, j + 1) != '\'')
                break;
            j++;
        }
        n++;
        j++;
    }
    char *s = arena_alloc(p->a, n + 1);
    if (!s)
        return too_large(p, start);
    size_t o = 0;
    for (size_t k = q + 1; k < j; k++) {
        s[o++] = p->text[k];
        if (p->text[k] == '\'')
            k++;
    }
    s[o] = '\0';
    t->s = s;
    t->n = n;
    t->end = j + 1;
    return 0;
}

/* ----------------------------------------------------------------- WKT */

/* A cursor over the text of a geography'...' literal. */
typedef struct Wkt {
    const char *s;   /* NUL-terminated */
    size_t i;        /* next byte */
    int dim;         /* coordinates per position: 0 until the first, then 2 or 3 */
    const char *why; /* what went wrong, at byte i */
} Wkt;

static void wkt_ws(Wkt *w)
{
    while (is_space((unsigned char)w->s[w->i]))
        w->i++;
}

static int wkt_fail(Wkt *w, const char *why)
{
    w->why = why;
    return -1;
}

static bool wkt_eat(Wkt *w, char c)
{
    wkt_ws(w);
    if (w->s[w->i] != c)
        return false;
    w->i++;
    return true;
}

static int wkt_expect(Wkt *w, char c)
{
    if (wkt_eat(w, c))
        return 0;
    return wkt_fail(w, c == '(' ? "expected '('" : c == ')' ? "expected ')'" : "expected ','");
}

/* A decimal number: [+-] digits [. digits] [e [+-] digits], at least one digit. */
static int wkt_number(Wkt *w, double *out)
{
    wkt_ws(w);
    size_t b = w->i, j = b, digits = 0;
    if (w->s[j] == '+' || w->s[j] == '-')
        j++;
    while (is_digit((unsigned char)w->s[j]))
        j++, digits++;
    if (w->s[j] == '.') {
        j++;
        while (is_digit((unsigned char)w->s[j]))
            j++, digits++;
    }
    if (digits == 0)
        return wkt_fail(w, "expected a number");
    if ((w->s[j] == 'e' || w->s[j] == 'E') &&
        (is_digit((unsigned char)w->s[j + 1]) ||
         ((w->s[j + 1] == '+' || w->s[j + 1] == '-') && is_digit((unsigned char)w->s[j + 2])))) {
        j += 2;
        while (is_digit((unsigned char)w->s[j]))
            j++;
    }
    char *end = NULL;
    double d = strtod(w->s + b, &end);
    if (end != w->s + j || !isfinite(d))
        return wkt_fail(w, "number out of range");
    w->i = j;
    *out = d;
    return 0;
}

/* One position: two or three numbers, the same count throughout the geometry. */
static int wkt_pos(Wkt *w, double xyz[3])
{
    int k = 0;
    xyz[2] = 0;
    for (; k < 3; k++) {
        size_t b = w->i;
        wkt_ws(w);
        int c = (unsigned char)w->s[w->i];
        if (k >= 2 && !(is_digit(c) || c == '-' || c == '+' || c == '.'))
            break;
        if (wkt_number(w, &xyz[k]) < 0)
            return -1;
        if (k > 0 && !is_space((unsigned char)w->s[b])) {
            w->i = b;
            return wkt_fail(w, "expected a space between coordinates");
        }
    }
    if (w->dim == 0)
        w->dim = k;
    else if (w->dim != k)
        return wkt_fail(w, "positions mix 2 and 3 coordinates");
    return 0;
}

/* "(pos, pos, ...)" with at least min positions; a ring must end where it starts. */
static int wkt_poslist(Wkt *w, int min, bool ring)
{
    double first[3], cur[3];
    int n = 0;
    if (wkt_expect(w, '(') < 0)
        return -1;
    do {
        if (wkt_pos(w, n == 0 ? first : cur) < 0)
            return -1;
        n++;
    } while (wkt_eat(w, ','));
    size_t close = w->i;
    if (wkt_expect(w, ')') < 0)
        return -1;
    if (n < min) {
        w->i = close;
        return wkt_fail(w, ring ? "a polygon ring needs at least 4 positions"
                                : "a linestring needs at least 2 positions");
    }
    if (ring && (first[0] != cur[0] || first[1] != cur[1] || first[2] != cur[2])) {
        w->i = close;
        return wkt_fail(w, "polygon ring is not closed");
    }
    return 0;
}

/* "((ring), (ring), ...)" */
static int wkt_polygon(Wkt *w)
{
    if (wkt_expect(w, '(') < 0)
        return -1;
    do {
        if (wkt_poslist(w, 4, true) < 0)
            return -1;
    } while (wkt_eat(w, ','));
    return wkt_expect(w, ')');
}

typedef enum {
    G_POINT, G_LINESTRING, G_POLYGON, G_MULTIPOINT, G_MULTILINESTRING, G_MULTIPOLYGON
} Geom;

static int wkt_geometry(Wkt *w)
{
    static const char *const names[] = {"POINT",      "LINESTRING",      "POLYGON",
                                        "MULTIPOINT", "MULTILINESTRING", "MULTIPOLYGON"};
    wkt_ws(w);
    size_t b = w->i;
    while (is_alpha((unsigned char)w->s[w->i]))
        w->i++;
    size_t n = w->i - b;
    int g = -1;
    for (int k = 0; k < 6; k++)
        if (strlen(names[k]) == n && strncasecmp(w->s + b, names[k], n) == 0)
            g = k;
    if (g < 0) {
        w->i = b;
        return wkt_fail(w, n ? "unsupported geometry type (expected POINT, LINESTRING, POLYGON "
                               "or their MULTI forms)"
                             : "expected a geometry type");
    }
    double xyz[3];
    switch ((Geom)g) {
    case G_POINT:
        if (wkt_expect(w, '(') < 0 || wkt_pos(w, xyz) < 0)
            return -1;
        return wkt_expect(w, ')');
    case G_LINESTRING:
        return wkt_poslist(w, 2, false);
    case G_POLYGON:
        return wkt_polygon(w);
    case G_MULTIPOINT:
        if (wkt_expect(w, '(') < 0)
            return -1;
        do {
            /* Both MULTIPOINT((1 2), (3 4)) and MULTIPOINT(1 2, 3 4) are in use. */
            bool paren = wkt_eat(w, '(');
            if (wkt_pos(w, xyz) < 0 || (paren && wkt_expect(w, ')') < 0))
                return -1;
        } while (wkt_eat(w, ','));
        return wkt_expect(w, ')');
    case G_MULTILINESTRING:
        if (wkt_expect(w, '(') < 0)
            return -1;
        do {
            if (wkt_poslist(w, 2, false) < 0)
                return -1;
        } while (wkt_eat(w, ','));
        return wkt_expect(w, ')');
    case G_MULTIPOLYGON:
        if (wkt_expect(w, '(') < 0)
            return -1;
        do {
            if (wkt_polygon(w) < 0)
                return -1;
        } while (wkt_eat(w, ','));
        return wkt_expect(w, ')');
    }
    return -1;
}

/*
 * Validates the WKT of a geography'...' literal (content already
 * unescaped in t->s, starting at byte off of the text).  An optional
 * "SRID=4326;" prefix, as in the OData ABNF, is accepted and dropped; other
 * SRIDs are refused because locations are WGS 84 (RFC 7946).  t->s becomes
 * the geometry text without the prefix and surrounding blanks.
 */
static int lex_wkt(Parser *p, size_t off, Tok *t)
{
    Wkt w = {t->s, 0, 0, NULL};
    wkt_ws(&w);
    if (strncasecmp(w.s + w.i, "SRID=", 5) == 0) {
        size_t b = w.i + 5, j = b;
        while (is_digit((unsigned char)w.s[j]))
            j++;
        if (!span_is(w.s + b, j - b, "4326") || w.s[j] != ';')
            return fail(p, ERR_BAD_REQUEST, off + w.i,
                        "invalid WKT: only SRID=4326; is supported");
        w.i = j + 1;
    }
    wkt_ws(&w);
    size_t begin = w.i;
    if (wkt_geometry(&w) == 0) {
        wkt_ws(&w);
        if (w.s[w.i] != '\0')
            wkt_fail(&w, "unexpected text after the geometry");
    }
    if (w.why) {
        size_t e = off + w.i;
        return fail(p, ERR_BAD_REQUEST, e > p->len ? p->len : e, "invalid WKT: %s", w.why);
    }
    size_t end = w.i;
    while (end > begin && is_space((unsigned char)w.s[end - 1]))
        end--;
    t->s += begin;
    t->n = end - begin;
    ((char *)t->s)[t->n] = '\0';
    return 0;
}

/* --------------------------------------------------------- time literals */

/*
 * An unquoted ISO 8601 literal: a date ("2026-11-30", midnight UTC), an
 * instant with offset, or an interval "start/end" (either side may be a
 * duration).  The token runs over the characters these can contain.
 */
static int lex_datetime(Parser *p, Tok *t)
{
    size_t b = t->start, j = b;
    bool has_t = false, has_slash = false;
    for (;;) {
        int c = at(p, j);
        if (!(is_digit(c) || is_alpha(c) || c == ':' || c == '.' || c == '+' || c == '-' ||
              c == '/'))
            break;
        has_t |= c == 'T';
        has_slash |= c == '/';
        j++;
    }
    t->end = j;
    Err e;
    err_init(&e);
    int is_interval = 0;
    int rc;
    if (!has_t && !has_slash) {
        char buf[32];
        if (j - b != 10)
            return fail(p, ERR_BAD_REQUEST, b,
                        "expected a date (YYYY-MM-DD) or an instant with 'T' and an offset");
        memcpy(buf, p->text + b, 10);
        memcpy(buf + 10, "T00:00:00Z", 10);
        rc = isotime_parse(buf, 20, &t->t0, &e);
        t->t1 = t->t0;
    } else {
        rc = isotime_parse_any(p->text + b, j - b, &t->t0, &t->t1, &is_interval, &e);
    }
    if (rc < 0)
        return time_error(p, b, &e, "time literal");
    t->kind = is_interval ? T_INTERVAL : T_TIME;
    return 0;
}

/* Reads exactly two digits at j as a value in 0..max. */
static bool two_digits(const Parser *p, size_t j, int max, int *out)
{
    if (!is_digit(at(p, j)) || !is_digit(at(p, j + 1)))
        return false;
    *out = (at(p, j) - '0') * 10 + (at(p, j + 1) - '0');
    return *out <= max;
}

/*
 * A time of day "hh:mm[:ss[.fffffffff]]" (OData timeOfDayValue).  It is
 * what time() is compared with, so it becomes the string time() yields:
 * "hh:mm:ss.ffffff" (see query.h).
 */
static int lex_timeofday(Parser *p, Tok *t)
{
    size_t b = t->start, j = b;
    while (is_digit(at(p, j)) || at(p, j) == ':' || at(p, j) == '.')
        j++;
    t->end = j;
    int hh = 0, mm = 0, ss = 0;
    char frac[7] = "000000";
    size_t k = b;
    bool ok = two_digits(p, k, 23, &hh) && at(p, k + 2) == ':' && two_digits(p, k + 3, 59, &mm);
    k += 5;
    if (ok && k < j) {
        ok = at(p, k) == ':' && two_digits(p, k + 1, 59, &ss);
        k += 3;
        if (ok && k < j) {
            ok = at(p, k) == '.' && is_digit(at(p, k + 1));
            for (int d = 0; ok && ++k < j; d++) {
                ok = is_digit(at(p, k)) && d < 9;
                if (ok && d < 6)
                    frac[d] = (char)at(p, k);
            }
        }
    }
    if (!ok || k < j)
        return fail(p, ERR_BAD_REQUEST, b, "invalid time of day (expected hh:mm:ss[.fff])");
    char *s = arena_printf(p->a, "%02d:%02d:%02d.%s", hh, mm, ss, frac);
    if (!s)
        return too_large(p, b);
    t->kind = T_STRING;
    t->s = s;
    t->n = strlen(s);
    return 0;
}

/*
 * An integer or a real: digits [. digits] [(e|E) [+-] digits].  Integers
 * keep their magnitude so that unary minus can make INT64_MIN.
 */
static int lex_number(Parser *p, Tok *t)
{
    size_t b = t->start, j = b;
    bool real = false;
    while (is_digit(at(p, j)))
        j++;
    if (at(p, j) == '.') {
        if (!is_digit(at(p, j + 1)))
            return fail(p, ERR_BAD_REQUEST, j + 1, "expected a digit after '.'");
        real = true;
        j++;
        while (is_digit(at(p, j)))
            j++;
    }
    if (at(p, j) == 'e' || at(p, j) == 'E') {
        size_t k = j + 1;
        if (at(p, k) == '+' || at(p, k) == '-')
            k++;
        if (!is_digit(at(p, k)))
            return fail(p, ERR_BAD_REQUEST, k, "expected a digit in the exponent");
        real = true;
        j = k;
        while (is_digit(at(p, j)))
            j++;
    }
    t->end = j;
    if (is_ident_char(at(p, j))) {
        char buf[64];
        size_t e = j;
        while (is_ident_char(at(p, e)))
            e++;
        return fail(p, ERR_BAD_REQUEST, b, "malformed number '%s'",
                    excerpt(p->text + b, e - b, buf));
    }
    if (real) {
        char *end = NULL;
        t->d = strtod(p->text + b, &end);
        if (end != p->text + j || !isfinite(t->d))
            return fail(p, ERR_BAD_REQUEST, b, "number out of range");
        t->kind = T_REAL;
        return 0;
    }
    uint64_t u = 0;
    for (size_t k = b; k < j; k++) {
        unsigned dgt = (unsigned)(p->text[k] - '0');
        if (u > ((uint64_t)INT64_MAX + 1 - dgt) / 10)
            return fail(p, ERR_BAD_REQUEST, b, "integer literal out of range");
        u = u * 10 + dgt;
    }
    t->kind = T_INT;
    t->u = u;
    return 0;
}

/* Literals written as prefix'text': duration, geography, geometry. */
static int lex_typed(Parser *p, Tok *t)
{
    const char *name = p->text + t->start;
    size_t n = t->end - t->start;
    int rc = lex_quoted(p, t->end, t->start, t);
    if (rc)
        return rc;
    size_t content = t->start + n + 1;
    if (span_is(name, n, "duration")) {
        Err e;
        err_init(&e);
        bool neg = t->n > 0 && t->s[0] == '-';
        if ((rc = isotime_parse_duration(t->s + neg, t->n - neg, &t->t0, &e)) < 0)
            return time_error(p, content + neg, &e, "duration literal");
        if (neg)
            t->t0 = -t->t0;
        t->kind = T_DURATION;
        return 0;
    }
    if (span_is(name, n, "geography") || span_is(name, n, "geometry")) {
        t->kind = T_GEO;
        return lex_wkt(p, content, t);
    }
    char buf[64];
    return fail(p, ERR_BAD_REQUEST, t->start,
                "unknown literal type '%s' (expected duration, geography or geometry)",
                excerpt(name, n, buf));
}

/*
 * Reads the next token into p->tok.  With key set, a run of key
 * characters is one T_IDENT: the segment after '/' below a JSON-valued
 * property is a key, not a keyword or a literal.
 */
static int lex(Parser *p, bool key)
{
    while (is_space(at(p, p->i)))
        p->i++;
    Tok t;
    memset(&t, 0, sizeof t);
    t.start = p->i;
    t.end = p->i + 1;
    int c = at(p, p->i);
    int rc = 0;
    if (c == 0) {
        t.kind = T_EOF;
        t.end = t.start;
    } else if (key && is_key_char(c)) {
        size_t j = p->i;
        while (is_key_char(at(p, j)))
            j++;
        t.kind = T_IDENT;
        t.end = j;
    } else if (c == '(') {
        t.kind = T_LPAREN;
    } else if (c == ')') {
        t.kind = T_RPAREN;
    } else if (c == ',') {
        t.kind = T_COMMA;
    } else if (c == '/') {
        t.kind = T_SLASH;
    } else if (c == '-') {
        t.kind = T_MINUS;
    } else if (c == '\'') {
        t.kind = T_STRING;
        rc = lex_quoted(p, p->i, p->i, &t);
    } else if (is_digit(c)) {
        size_t i = p->i;
        if (is_digit(at(p, i + 1)) && is_digit(at(p, i + 2)) && is_digit(at(p, i + 3)) &&
            at(p, i + 4) == '-' && is_digit(at(p, i + 5)))
            rc = lex_datetime(p, &t);
        else if (is_digit(at(p, i + 1)) && at(p, i + 2) == ':')
            rc = lex_timeofday(p, &t);
        else
            rc = lex_number(p, &t);
    } else if (is_ident_start(c)) {
        size_t j = p->i;
        while (is_ident_char(at(p, j)))
            j++;
        t.kind = T_IDENT;
        t.end = j;
        if (at(p, j) == '\'' && !is_keyword(p->text + t.start, j - t.start))
            rc = lex_typed(p, &t);
    } else if (c > 0x20 && c < 0x7F) {
        rc = fail(p, ERR_BAD_REQUEST, p->i, "unexpected character '%c'", c);
    } else {
        /* One UTF-8 character (or one byte that is none). */
        char buf[64];
        size_t k = utf8_len(p->text + p->i, p->len - p->i);
        rc = fail(p, ERR_BAD_REQUEST, p->i, "unexpected character '%s'",
                  excerpt(p->text + p->i, k ? k : 1, buf));
    }
    if (rc)
        return rc;
    p->tok = t;
    p->i = t.end;
    return 0;
}

static int next(Parser *p)
{
    return lex(p, false);
}

/* Reports the current token as out of place. */
static int unexpected(Parser *p)
{
    const Tok *t = &p->tok;
    if (t->kind == T_EOF)
        return fail(p, ERR_BAD_REQUEST, t->start, "unexpected end of $filter");
    char buf[64];
    const char *s = p->text + t->start;
    size_t n = t->end - t->start;
    const char *kw = t->kind == T_IDENT ? keyword_nocase(s, n) : NULL;
    if (kw && !span_is(s, n, kw))
        return fail(p, ERR_BAD_REQUEST, t->start,
                    "unexpected '%s' (operators and keywords are lower-case: '%s')",
                    excerpt(s, n, buf), kw);
    return fail(p, ERR_BAD_REQUEST, t->start, "unexpected '%s'", excerpt(s, n, buf));
}

/* --------------------------------------------------------------- types */

static const char *type_name(QueryType t)
{
    switch (t) {
    case QT_NULL:
        return "null";
    case QT_BOOL:
        return "boolean";
    case QT_NUMBER:
        return "number";
    case QT_STRING:
        return "string";
    case QT_TIME:
        return "time";
    case QT_DURATION:
        return "duration";
    case QT_GEO:
        return "geometry";
    case QT_ANY:
        return "any";
    }
    return "?";
}

static bool is_bool(QueryType t)
{
    return t == QT_BOOL || t == QT_ANY;
}

static bool is_num(QueryType t)
{
    return t == QT_NUMBER || t == QT_ANY;
}

static QueryNode *new_node(Parser *p, QueryNodeKind kind, QueryType type, size_t off)
{
    QueryNode *n = arena_zalloc(p->a, sizeof *n);
    if (!n)
        return NULL;
    n->kind = kind;
    n->type = type;
    n->pos = (long)off + 1;
    return n;
}

/* Recursion guard: the whole expression is level 1. */
static int enter(Parser *p)
{
    if (++p->depth > QUERY_FILTER_MAX_DEPTH)
        return fail(p, ERR_BAD_REQUEST, p->tok.start, "expression nested deeper than %d levels",
                    QUERY_FILTER_MAX_DEPTH);
    return 0;
}

/* ----------------------------------------------------------- functions */

typedef struct FuncDef {
    const char *name;
    QueryFunc f;
    int min, max;       /* argument count */
    QueryType arg[3];   /* argument types */
    QueryType ret;      /* result type */
} FuncDef;

#define S QT_STRING
#define N QT_NUMBER
#define T QT_TIME
#define G QT_GEO

/*
 * OGC 18-088 Table 25 and OData 4.0 URL conventions §5.1.1.  date(t) is
 * the instant at 00:00 UTC of t's day (a time); time(t) is t's time of day
 * in UTC as the string "hh:mm:ss.ffffff", which orders correctly and is
 * what time-of-day literals (08:30:00) are normalised to.
 */
static const FuncDef funcs[] = {
    {"substringof", QF_SUBSTRINGOF, 2, 2, {S, S}, QT_BOOL},
    {"endswith", QF_ENDSWITH, 2, 2, {S, S}, QT_BOOL},
    {"startswith", QF_STARTSWITH, 2, 2, {S, S}, QT_BOOL},
    {"length", QF_LENGTH, 1, 1, {S}, N},
    {"indexof", QF_INDEXOF, 2, 2, {S, S}, N},
    {"substring", QF_SUBSTRING, 2, 3, {S, N, N}, S},
    {"tolower", QF_TOLOWER, 1, 1, {S}, S},
    {"toupper", QF_TOUPPER, 1, 1, {S}, S},
    {"trim", QF_TRIM, 1, 1, {S}, S},
    {"concat", QF_CONCAT, 2, 2, {S, S}, S},
    {"year", QF_YEAR, 1, 1, {T}, N},
    {"month", QF_MONTH, 1, 1, {T}, N},
    {"day", QF_DAY, 1, 1, {T}, N},
    {"hour", QF_HOUR, 1, 1, {T}, N},
    {"minute", QF_MINUTE, 1, 1, {T}, N},
    {"second", QF_SECOND, 1, 1, {T}, N},
    {"fractionalseconds", QF_FRACTIONALSECONDS, 1, 1, {T}, N},
    {"date", QF_DATE, 1, 1, {T}, T},
    {"time", QF_TIME, 1, 1, {T}, S},
    {"totaloffsetminutes", QF_TOTALOFFSETMINUTES, 1, 1, {T}, N},
    {"now", QF_NOW, 0, 0, {0}, T},
    {"mindatetime", QF_MINDATETIME, 0, 0, {0}, T},
    {"maxdatetime", QF_MAXDATETIME, 0, 0, {0}, T},
    {"round", QF_ROUND, 1, 1, {N}, N},
    {"floor", QF_FLOOR, 1, 1, {N}, N},
    {"ceiling", QF_CEILING, 1, 1, {N}, N},
    {"geo.distance", QF_GEO_DISTANCE, 2, 2, {G, G}, N},
    {"geo.length", QF_GEO_LENGTH, 1, 1, {G}, N},
    {"geo.intersects", QF_GEO_INTERSECTS, 2, 2, {G, G}, QT_BOOL},
    {"st_equals", QF_ST_EQUALS, 2, 2, {G, G}, QT_BOOL},
    {"st_disjoint", QF_ST_DISJOINT, 2, 2, {G, G}, QT_BOOL},
    {"st_touches", QF_ST_TOUCHES, 2, 2, {G, G}, QT_BOOL},
    {"st_within", QF_ST_WITHIN, 2, 2, {G, G}, QT_BOOL},
    {"st_overlaps", QF_ST_OVERLAPS, 2, 2, {G, G}, QT_BOOL},
    {"st_crosses", QF_ST_CROSSES, 2, 2, {G, G}, QT_BOOL},
    {"st_intersects", QF_ST_INTERSECTS, 2, 2, {G, G}, QT_BOOL},
    {"st_contains", QF_ST_CONTAINS, 2, 2, {G, G}, QT_BOOL},
    {"st_relate", QF_ST_RELATE, 3, 3, {G, G, S}, QT_BOOL},
};

#undef S
#undef N
#undef T
#undef G

static const FuncDef *find_func(const char *s, size_t n, bool nocase)
{
    for (size_t k = 0; k < sizeof funcs / sizeof funcs[0]; k++)
        if (strlen(funcs[k].name) == n &&
            (nocase ? strncasecmp(s, funcs[k].name, n) : memcmp(s, funcs[k].name, n)) == 0)
            return &funcs[k];
    return NULL;
}

/* "(string, number[, number])" */
static const char *signature(const FuncDef *f, char *buf, size_t size)
{
    size_t o = 0;
    buf[o++] = '(';
    for (int k = 0; k < f->max; k++) {
        const char *open = k >= f->min ? "[" : "";
        o += (size_t)snprintf(buf + o, size - o, "%s%s%s", open, k ? ", " : "",
                              type_name(f->arg[k]));
    }
    for (int k = f->min; k < f->max; k++)
        buf[o++] = ']';
    buf[o++] = ')';
    buf[o] = '\0';
    return buf;
}

/* A DE-9IM pattern: nine characters from T F 0 1 2 *. */
static bool de9im(const char *s, size_t n)
{
    if (n != 9)
        return false;
    for (size_t k = 0; k < n; k++)
        if (!strchr("TFtf012*", s[k]) || s[k] == '\0')
            return false;
    return true;
}

static int expr(Parser *p, QueryNode **out);

/* name '(' [expr {',' expr}] ')'; the current token is '('. */
static int call(Parser *p, size_t name_at, size_t name_len, QueryNode **out)
{
    const char *name = p->text + name_at;
    char buf[64], sig[64];
    const FuncDef *f = find_func(name, name_len, false);
    if (!f) {
        const FuncDef *g = find_func(name, name_len, true);
        if (g)
            return fail(p, ERR_BAD_REQUEST, name_at,
                        "unknown function '%s' (function names are lower-case: '%s')",
                        excerpt(name, name_len, buf), g->name);
        return fail(p, ERR_BAD_REQUEST, name_at, "unknown function '%s'",
                    excerpt(name, name_len, buf));
    }
    QueryNode *args[3];
    int n = 0, rc;
    if ((rc = next(p)))
        return rc;
    if (p->tok.kind != T_RPAREN) {
        for (;;) {
            /* After a ',' comes an argument; "f(a,)" is reported at the ')'. */
            QueryNode *arg = NULL;
            if (n == f->max && p->tok.kind != T_RPAREN)
                return fail(p, ERR_BAD_REQUEST, p->tok.start,
                            "%s expects %s, got more arguments", f->name,
                            signature(f, sig, sizeof sig));
            if ((rc = expr(p, &arg)))
                return rc;
            args[n++] = arg;
            if (p->tok.kind != T_COMMA)
                break;
            if ((rc = next(p)))
                return rc;
        }
    }
    if (p->tok.kind != T_RPAREN)
        return fail(p, ERR_BAD_REQUEST, p->tok.start, "expected ',' or ')'");
    if ((rc = next(p)))
        return rc;
    if (n < f->min)
        return fail(p, ERR_BAD_REQUEST, name_at, "%s expects %s, got %d argument%s", f->name,
                    signature(f, sig, sizeof sig), n, n == 1 ? "" : "s");
    for (int k = 0; k < n; k++) {
        QueryType t = args[k]->type;
        if (t != f->arg[k] && t != QT_ANY && t != QT_NULL)
            return fail(p, ERR_BAD_REQUEST, (size_t)args[k]->pos - 1, "%s expects %s, got %s",
                        f->name, signature(f, sig, sizeof sig), type_name(t));
    }
    if (f->f == QF_ST_RELATE && args[2]->kind == QN_STRING && !de9im(args[2]->s, args[2]->n))
        return fail(p, ERR_BAD_REQUEST, (size_t)args[2]->pos - 1,
                    "st_relate needs a DE-9IM pattern of nine characters from T, F, 0, 1, 2, *");
    QueryNode *node = new_node(p, QN_FUNC, f->ret, name_at);
    QueryNode **a = n ? arena_alloc(p->a, (size_t)n * sizeof *a) : NULL;
    if (!node || (n && !a))
        return too_large(p, name_at);
    if (n)
        memcpy(a, args, (size_t)n * sizeof *a);
    node->op = (int)f->f;
    node->args = a;
    node->nargs = n;
    *out = node;
    return 0;
}

/* --------------------------------------------------------------- paths */

static QueryType prop_type(PropType t)
{
    switch (t) {
    case PT_STRING:
        return QT_STRING;
    case PT_INSTANT:
    case PT_TIME:
    case PT_INTERVAL:
        return QT_TIME;
    case PT_GEO:
        return QT_GEO;
    case PT_OBJECT:
    case PT_ANY:
    case PT_RESULT:
    case PT_UOM_ARRAY:
    case PT_TYPE_ARRAY:
        return QT_ANY;
    }
    return QT_ANY;
}

static bool is_json(PropType t)
{
    return t == PT_OBJECT || t == PT_ANY || t == PT_RESULT;
}

/*
 * A property path; the current token is its first segment.  Relations
 * (to-one or to-many) come first, then the id or a property, then keys
 * into a JSON-valued property.
 */
static int path(Parser *p, QueryNode **out)
{
    size_t first = p->tok.start;
    QueryPath *qp = arena_zalloc(p->a, sizeof *qp);
    if (!qp)
        return too_large(p, first);
    const EntityDef *cur = p->def;
    QueryType type = QT_ANY;
    char buf[64];
    int rc;
    for (;;) {
        const char *s = p->text + p->tok.start;
        size_t n = p->tok.end - p->tok.start, seg = p->tok.start, seg_end = p->tok.end;
        const Rel *rel = NULL;
        const Prop *prop = NULL;
        if ((rc = next(p)))
            return rc;
        /* Segments and '/' are written without blanks between them. */
        bool slash = p->tok.kind == T_SLASH && p->tok.start == seg_end;
        size_t slash_end = p->tok.end;
        if (span_is(s, n, "id") || span_is(s, n, "@iot.id")) {
            type = QT_NUMBER;
            if (slash)
                return fail(p, ERR_BAD_REQUEST, p->tok.start, "'%s' has no members",
                            excerpt(s, n, buf));
            break;
        }
        if ((rel = model_rel(cur, s, n))) {
            if (qp->nrels == QUERY_MAX_SEGS)
                return fail(p, ERR_BAD_REQUEST, seg, "path longer than %d relations",
                            QUERY_MAX_SEGS);
            qp->rels[qp->nrels] = rel;
            cur = qp->defs[qp->nrels] = model_entity(rel->target);
            qp->nrels++;
            if (!slash)
                return fail(p, ERR_BAD_REQUEST, seg,
                            "'%s' is a relation; name one of its properties, as in '%s/id'",
                            rel->name, rel->name);
            if ((rc = next(p)))
                return rc;
            if (p->tok.kind != T_IDENT || p->tok.start != slash_end)
                return fail(p, ERR_BAD_REQUEST, slash_end, "expected a property of %s after '/'",
                            cur->name);
            continue;
        }
        if (!(prop = model_prop(cur, s, n)))
            return fail(p, ERR_BAD_REQUEST, seg, "%s has no property '%s'", cur->name,
                        excerpt(s, n, buf));
        qp->prop = prop;
        type = prop_type(prop->type);
        if (slash && !is_json(prop->type))
            return fail(p, ERR_BAD_REQUEST, p->tok.start,
                        "'%s' has no members; only JSON properties such as 'properties' do",
                        prop->name);
        while (slash) {
            if ((rc = lex(p, true)))
                return rc;
            if (p->tok.kind != T_IDENT || p->tok.start != slash_end)
                return fail(p, ERR_BAD_REQUEST, slash_end, "expected a member name after '/'");
            if (qp->njson == QUERY_MAX_JSON_PATH)
                return fail(p, ERR_BAD_REQUEST, p->tok.start, "more than %d keys below '%s'",
                            QUERY_MAX_JSON_PATH, prop->name);
            char *key = arena_strndup(p->a, p->text + p->tok.start, p->tok.end - p->tok.start);
            if (!key)
                return too_large(p, p->tok.start);
            qp->json[qp->njson++] = key;
            seg_end = p->tok.end;
            if ((rc = next(p)))
                return rc;
            slash = p->tok.kind == T_SLASH && p->tok.start == seg_end;
            slash_end = p->tok.end;
        }
        break;
    }
    QueryNode *node = new_node(p, QN_PATH, type, first);
    if (!node)
        return too_large(p, first);
    node->path = qp;
    *out = node;
    return 0;
}

/* "P1DT2H" without duration'...': 'P', then a digit or "T" and a digit, duration letters. */
static bool looks_like_duration(const char *s, size_t n)
{
    if (n < 3 || s[0] != 'P' || !(is_digit((unsigned char)s[1]) ||
                                  (s[1] == 'T' && is_digit((unsigned char)s[2]))))
        return false;
    for (size_t k = 1; k < n; k++)
        if (!is_digit((unsigned char)s[k]) && !strchr(".YMWDTHS", s[k]))
            return false;
    return true;
}

/* ------------------------------------------------------------ grammar */

/*
 * expr    = or
 * or      = and { "or" and }              balanced, see chain()
 * and     = not { "and" not }             balanced
 * not     = "not" not | cmp
 * cmp     = add { ("eq"|"ne"|"gt"|"ge"|"lt"|"le") add }
 * add     = mul { ("add"|"sub") mul }
 * mul     = unary { ("mul"|"div"|"mod") unary }
 * unary   = "-" unary | primary
 * primary = literal | "(" expr ")" | name "(" [expr {"," expr}] ")" | path
 *
 * This is the order OGC 18-088 §9.3.3.5.1 lists the operators in, with
 * 'not' below the comparisons as in SQL ("not a eq b" is "not (a eq b)"),
 * and all comparisons in one class.  Keywords and function names are
 * lower-case only, as in OData.  Binary operators are left-associative.
 */
static int primary(Parser *p, QueryNode **out)
{
    Tok t = p->tok;
    QueryNode *n = NULL;
    int rc;
    switch (t.kind) {
    case T_LPAREN:
        if ((rc = next(p)) || (rc = expr(p, &n)))
            return rc;
        if (p->tok.kind != T_RPAREN)
            return fail(p, ERR_BAD_REQUEST, p->tok.start, "expected ')'");
        if ((rc = next(p)))
            return rc;
        *out = n;
        return 0;
    case T_INT:
        if (t.u > (uint64_t)INT64_MAX)
            return fail(p, ERR_BAD_REQUEST, t.start, "integer literal out of range");
        if ((n = new_node(p, QN_INT, QT_NUMBER, t.start)))
            n->i = (int64_t)t.u;
        break;
    case T_REAL:
        if ((n = new_node(p, QN_REAL, QT_NUMBER, t.start)))
            n->d = t.d;
        break;
    case T_STRING:
    case T_GEO:
        n = new_node(p, t.kind == T_GEO ? QN_GEO : QN_STRING,
                     t.kind == T_GEO ? QT_GEO : QT_STRING, t.start);
        if (n) {
            n->s = t.s;
            n->n = t.n;
        }
        break;
    case T_TIME:
    case T_INTERVAL:
        if ((n = new_node(p, t.kind == T_TIME ? QN_TIME : QN_INTERVAL, QT_TIME, t.start))) {
            n->t0 = t.t0;
            n->t1 = t.t1;
        }
        break;
    case T_DURATION:
        if ((n = new_node(p, QN_DURATION, QT_DURATION, t.start)))
            n->i = t.t0;
        break;
    case T_IDENT: {
        const char *s = p->text + t.start;
        size_t len = t.end - t.start;
        if (span_is(s, len, "null")) {
            n = new_node(p, QN_NULL, QT_NULL, t.start);
            break;
        }
        if (span_is(s, len, "true") || span_is(s, len, "false")) {
            if ((n = new_node(p, QN_BOOL, QT_BOOL, t.start)))
                n->i = s[0] == 't';
            break;
        }
        if (is_keyword(s, len))
            return unexpected(p);
        /* A name followed by '(' is a call; nothing else may be followed by '('. */
        size_t j = t.end;
        while (is_space(at(p, j)))
            j++;
        if (at(p, j) == '(') {
            if ((rc = next(p)))
                return rc;
            return call(p, t.start, len, out);
        }
        if (looks_like_duration(s, len) && !model_prop(p->def, s, len) &&
            !model_rel(p->def, s, len)) {
            Err e;
            err_init(&e);
            if (isotime_parse_duration(s, len, &t.t0, &e) < 0)
                return time_error(p, t.start, &e, "duration literal");
            if ((n = new_node(p, QN_DURATION, QT_DURATION, t.start)))
                n->i = t.t0;
            break;
        }
        return path(p, out);
    }
    case T_EOF:
        return fail(p, ERR_BAD_REQUEST, t.start, "expected an operand");
    default:
        return unexpected(p);
    }
    if (!n)
        return too_large(p, t.start);
    if ((rc = next(p)))
        return rc;
    *out = n;
    return 0;
}

/*
 * unary = '-' unary | primary.  A minus before a number or duration
 * literal is folded into it, which is also how INT64_MIN is written.
 */
static int unary(Parser *p, QueryNode **out)
{
    if (p->tok.kind != T_MINUS)
        return primary(p, out);
    size_t op = p->tok.start;
    int rc;
    QueryNode *a = NULL;
    if ((rc = enter(p)) || (rc = next(p)))
        return rc;
    if (p->tok.kind == T_INT && p->tok.u == (uint64_t)INT64_MAX + 1) {
        if (!(a = new_node(p, QN_INT, QT_NUMBER, op)))
            return too_large(p, op);
        a->i = INT64_MIN;
        if ((rc = next(p)))
            return rc;
        p->depth--;
        *out = a;
        return 0;
    }
    if ((rc = unary(p, &a)))
        return rc;
    p->depth--;
    if (a->kind == QN_INT && a->i != INT64_MIN) {
        a->i = -a->i;
    } else if (a->kind == QN_REAL) {
        a->d = -a->d;
    } else if (a->kind == QN_DURATION && a->i != INT64_MIN) {
        a->i = -a->i;
    } else if (a->kind == QN_INT) {
        return fail(p, ERR_BAD_REQUEST, op, "integer literal out of range");
    } else {
        QueryType t = is_num(a->type) ? QT_NUMBER : a->type == QT_DURATION ? QT_DURATION : QT_NULL;
        if (t == QT_NULL)
            return fail(p, ERR_BAD_REQUEST, op, "unary '-' needs a number or a duration, got %s",
                        type_name(a->type));
        QueryNode *neg = new_node(p, QN_NEG, t, op);
        if (!neg)
            return too_large(p, op);
        neg->a = a;
        a = neg;
        *out = a;
        return 0;
    }
    a->pos = (long)op + 1;
    *out = a;
    return 0;
}

static const struct {
    const char *name;
    QueryOp op;
} binops[] = {
    {"eq", QOP_EQ},   {"ne", QOP_NE},   {"gt", QOP_GT},   {"ge", QOP_GE},   {"lt", QOP_LT},
    {"le", QOP_LE},   {"and", QOP_AND}, {"or", QOP_OR},   {"add", QOP_ADD}, {"sub", QOP_SUB},
    {"mul", QOP_MUL}, {"div", QOP_DIV}, {"mod", QOP_MOD},
};

/* The binary operator under the cursor, or -1. */
static int cur_op(const Parser *p)
{
    if (p->tok.kind != T_IDENT)
        return -1;
    for (size_t k = 0; k < sizeof binops / sizeof binops[0]; k++)
        if (tok_is(p, binops[k].name))
            return (int)binops[k].op;
    return -1;
}

static const char *op_name(int op)
{
    for (size_t k = 0; k < sizeof binops / sizeof binops[0]; k++)
        if ((int)binops[k].op == op)
            return binops[k].name;
    return "?";
}

/*
 * The result type of a op b, or an error at off.  OGC 18-088 §9.3.3.5.1
 * and OData: comparisons need the same type on both sides (null only
 * with eq and ne, booleans only with eq and ne, geometries never: there is
 * st_equals); arithmetic works on numbers, and add/sub also on a time and a
 * duration.  QT_ANY (JSON of unknown type) fits anything; in time
 * arithmetic it stands for a time.
 */
static int binary_type(Parser *p, int op, QueryType a, QueryType b, size_t off, QueryType *out)
{
    const char *name = op_name(op);
    switch ((QueryOp)op) {
    case QOP_AND:
    case QOP_OR:
        if (!is_bool(a) || !is_bool(b))
            return fail(p, ERR_BAD_REQUEST, off, "'%s' needs boolean operands, got %s and %s",
                        name, type_name(a), type_name(b));
        *out = QT_BOOL;
        return 0;
    case QOP_EQ:
    case QOP_NE:
    case QOP_GT:
    case QOP_GE:
    case QOP_LT:
    case QOP_LE: {
        bool order = op != QOP_EQ && op != QOP_NE;
        *out = QT_BOOL;
        if (a == QT_ANY || b == QT_ANY)
            return 0;
        if (a == QT_NULL || b == QT_NULL) {
            if (order)
                return fail(p, ERR_BAD_REQUEST, off,
                            "null can only be compared with 'eq' or 'ne', not '%s'", name);
            return 0;
        }
        if (a == b && a == QT_GEO)
            return fail(p, ERR_BAD_REQUEST, off,
                        "cannot compare geometry with geometry (use st_equals)");
        if (a == b && a == QT_BOOL && order)
            return fail(p, ERR_BAD_REQUEST, off, "booleans can only be compared with 'eq' or "
                                                 "'ne', not '%s'", name);
        if (a == b)
            return 0;
        if ((a == QT_TIME && b == QT_STRING) || (a == QT_STRING && b == QT_TIME))
            return fail(p, ERR_BAD_REQUEST, off,
                        "cannot compare %s with %s (write times without quotes, as in "
                        "2026-01-01T00:00:00Z)", type_name(a), type_name(b));
        return fail(p, ERR_BAD_REQUEST, off, "cannot compare %s with %s", type_name(a),
                    type_name(b));
    }
    case QOP_ADD:
    case QOP_SUB: {
        if (is_num(a) && is_num(b)) {
            *out = QT_NUMBER;
            return 0;
        }
        QueryType x = a, y = b;
        if (x == QT_ANY && (y == QT_TIME || y == QT_DURATION))
            x = QT_TIME;
        if (y == QT_ANY && (x == QT_TIME || x == QT_DURATION))
            y = QT_TIME;
        if (x == QT_TIME && y == QT_DURATION)
            *out = QT_TIME;
        else if (op == QOP_ADD && x == QT_DURATION && y == QT_TIME)
            *out = QT_TIME;
        else if (x == QT_DURATION && y == QT_DURATION)
            *out = QT_DURATION;
        else if (op == QOP_SUB && x == QT_TIME && y == QT_TIME)
            *out = QT_DURATION;
        else
            return fail(p, ERR_BAD_REQUEST, off,
                        "'%s' needs numbers, or a time and a duration; got %s and %s", name,
                        type_name(a), type_name(b));
        return 0;
    }
    case QOP_MUL:
    case QOP_DIV:
    case QOP_MOD:
        if (!is_num(a) || !is_num(b))
            return fail(p, ERR_BAD_REQUEST, off, "'%s' needs numbers, got %s and %s", name,
                        type_name(a), type_name(b));
        *out = QT_NUMBER;
        return 0;
    }
    return fail(p, ERR_INTERNAL, off, "unknown operator");
}

static int make_binary(Parser *p, int op, QueryNode *a, QueryNode *b, size_t off,
                       QueryNode **out)
{
    QueryType t;
    int rc = binary_type(p, op, a->type, b->type, off, &t);
    if (rc)
        return rc;
    QueryNode *n = new_node(p, QN_BINARY, t, off);
    if (!n)
        return too_large(p, off);
    n->op = op;
    n->a = a;
    n->b = b;
    *out = n;
    return 0;
}

/* Precedence classes, lowest first (OGC 18-088 §9.3.3.5.1, OData §5.1.1). */
enum { L_OR, L_AND, L_NOT, L_CMP, L_ADD, L_MUL };

static int level_of(int op)
{
    switch ((QueryOp)op) {
    case QOP_OR:
        return L_OR;
    case QOP_AND:
        return L_AND;
    case QOP_EQ:
    case QOP_NE:
    case QOP_GT:
    case QOP_GE:
    case QOP_LT:
    case QOP_LE:
        return L_CMP;
    case QOP_ADD:
    case QOP_SUB:
        return L_ADD;
    case QOP_MUL:
    case QOP_DIV:
    case QOP_MOD:
        return L_MUL;
    }
    return -1;
}

static int binary(Parser *p, int lvl, QueryNode **out);

/*
 * A chain "a or b or c ..." (or 'and').  Both are associative, also in
 * SQL's three-valued logic, so the chain is built as a balanced tree: a
 * list of a thousand alternatives is eleven levels high, not a thousand,
 * which keeps the compiler's recursion and SQLite's expression depth
 * (SQLITE_MAX_EXPR_DEPTH) small.  Up to three operands the tree is the
 * left-associative one.  The stack works like a binary counter: its
 * entries hold 2^k operands each, strictly fewer towards the top.
 */
static int chain(Parser *p, int lvl, QueryNode **out)
{
    struct {
        QueryNode *n;  /* subtree */
        uint64_t size; /* operands in it */
        size_t op;     /* offset of the operator before its first operand */
    } st[66];
    int top = 0, rc;
    QueryOp op = lvl == L_OR ? QOP_OR : QOP_AND;
    QueryNode *a = NULL;
    if ((rc = binary(p, lvl + 1, &a)))
        return rc;
    st[top].n = a;
    st[top].size = 1;
    st[top++].op = 0;
    for (;;) {
        bool more = tok_is(p, lvl == L_OR ? "or" : "and");
        if (more) {
            size_t off = p->tok.start;
            if ((rc = next(p)) || (rc = binary(p, lvl + 1, &a)))
                return rc;
            st[top].n = a;
            st[top].size = 1;
            st[top++].op = off;
        }
        while (top >= 2 && (!more || st[top - 1].size == st[top - 2].size)) {
            top--;
            if ((rc = make_binary(p, op, st[top - 1].n, st[top].n, st[top].op, &st[top - 1].n)))
                return rc;
            st[top - 1].size += st[top].size;
        }
        if (!more)
            break;
    }
    *out = st[0].n;
    return 0;
}

/*
 * Left-associative binary operators of class lvl and above.  'not' sits
 * between 'and' and the comparisons, so "not a eq b" is "not (a eq b)".
 */
static int binary(Parser *p, int lvl, QueryNode **out)
{
    QueryNode *a = NULL, *b = NULL;
    int rc;
    if (lvl == L_NOT) {
        if (!tok_is(p, "not"))
            return binary(p, L_CMP, out);
        size_t off = p->tok.start;
        if ((rc = enter(p)) || (rc = next(p)) || (rc = binary(p, L_NOT, &a)))
            return rc;
        p->depth--;
        if (!is_bool(a->type))
            return fail(p, ERR_BAD_REQUEST, off, "'not' needs a boolean operand, got %s",
                        type_name(a->type));
        QueryNode *n = new_node(p, QN_NOT, QT_BOOL, off);
        if (!n)
            return too_large(p, off);
        n->a = a;
        *out = n;
        return 0;
    }
    if (lvl == L_OR || lvl == L_AND)
        return chain(p, lvl, out);
    if ((rc = lvl == L_MUL ? unary(p, &a) : binary(p, lvl + 1, &a)))
        return rc;
    for (;;) {
        int op = cur_op(p);
        if (op < 0 || level_of(op) != lvl)
            break;
        size_t off = p->tok.start;
        if ((rc = next(p)) || (rc = lvl == L_MUL ? unary(p, &b) : binary(p, lvl + 1, &b)) ||
            (rc = make_binary(p, op, a, b, off, &a)))
            return rc;
    }
    *out = a;
    return 0;
}

static int expr(Parser *p, QueryNode **out)
{
    int rc;
    if ((rc = enter(p)) || (rc = binary(p, L_OR, out)))
        return rc;
    p->depth--;
    return 0;
}

/*
 * The first node found deeper than QUERY_FILTER_MAX_HEIGHT in the tree, or
 * NULL.  The recursion stops at that depth, so it is bounded too.
 */
static const QueryNode *too_high(const QueryNode *n, int depth)
{
    if (depth > QUERY_FILTER_MAX_HEIGHT)
        return n;
    const QueryNode *r = NULL;
    switch (n->kind) {
    case QN_BINARY:
        if (!(r = too_high(n->a, depth + 1)))
            r = too_high(n->b, depth + 1);
        break;
    case QN_NOT:
    case QN_NEG:
        r = too_high(n->a, depth + 1);
        break;
    case QN_FUNC:
        for (int k = 0; k < n->nargs && !r; k++)
            r = too_high(n->args[k], depth + 1);
        break;
    default:
        break;
    }
    return r;
}

static int parse(Arena *a, const EntityDef *def, const char *text, bool boolean,
                 QueryNode **out, Err *err)
{
    Parser p;
    memset(&p, 0, sizeof p);
    p.a = a;
    p.def = def;
    p.text = text;
    p.err = err;
    p.option = boolean ? "$filter" : "$orderby";
    p.len = strnlen(text, QUERY_FILTER_MAX_LEN + 1);
    if (p.len > QUERY_FILTER_MAX_LEN)
        return fail(&p, ERR_BAD_REQUEST, QUERY_FILTER_MAX_LEN,
                    "$filter is longer than %d characters", QUERY_FILTER_MAX_LEN);
    int rc = next(&p);
    if (rc)
        return rc;
    if (p.tok.kind == T_EOF)
        return fail(&p, ERR_BAD_REQUEST, p.tok.start, "$filter is empty");
    size_t first = p.tok.start;
    QueryNode *root = NULL;
    if ((rc = expr(&p, &root)))
        return rc;
    if (p.tok.kind != T_EOF)
        return unexpected(&p);
    /* Long chains of arithmetic are left-deep; nesting alone cannot bound them. */
    const QueryNode *deep = too_high(root, 1);
    if (deep)
        return fail(&p, ERR_BAD_REQUEST, (size_t)deep->pos - 1,
                    "expression too deep: more than %d levels of operators",
                    QUERY_FILTER_MAX_HEIGHT);
    if (boolean && !is_bool(root->type))
        return fail(&p, ERR_BAD_REQUEST, first, "a $filter must be a boolean expression, got %s",
                    type_name(root->type));
    if (!boolean && root->type == QT_GEO)
        return fail(&p, ERR_BAD_REQUEST, first, "cannot order by a geometry");
    *out = root;
    return 0;
}

int query_parse_filter(Arena *a, const EntityDef *def, const char *text, QueryNode **out,
                       Err *err)
{
    return parse(a, def, text, true, out, err);
}

int query_parse_expr(Arena *a, const EntityDef *def, const char *text, QueryNode **out,
                     Err *err)
{
    return parse(a, def, text, false, out, err);
}
