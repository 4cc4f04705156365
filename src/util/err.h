/*
 * err.h - error codes and the caller-owned error detail that travels with them.
 *
 * Every function that can fail returns 0 or a negative ERR_* code.  Detail for
 * the user (which field, which column, what was expected) goes into an Err the
 * caller owns.  The first error recorded sticks: later err_set() calls on the
 * same Err are ignored, so the innermost function that knows the detail wins.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_ERR_H
#define KLAMMER_ERR_H

#include <stddef.h>

/* X(name, http status, text) */
#define ERR_MAP(X)                                                   \
    X(OK, 200, "ok")                                                 \
    X(NOMEM, 503, "out of memory")                                   \
    X(TOO_LARGE, 400, "request too large")                           \
    X(BAD_REQUEST, 400, "bad request")                               \
    X(BAD_JSON, 400, "malformed JSON")                               \
    X(INVALID, 400, "invalid value")                                 \
    X(MISSING, 400, "missing mandatory property")                    \
    X(UNKNOWN_PROPERTY, 400, "unknown property")                     \
    X(NOT_FOUND, 404, "not found")                                   \
    X(METHOD, 405, "method not allowed")                             \
    X(CONFLICT, 409, "conflict")                                     \
    X(BODY_TOO_LARGE, 413, "request body too large")                 \
    X(MEDIA_TYPE, 415, "unsupported media type")                     \
    X(NOT_IMPLEMENTED, 501, "not implemented")                       \
    X(UNAVAILABLE, 503, "service unavailable")                       \
    X(STORAGE, 500, "storage error")                                 \
    X(INTERNAL, 500, "internal error")                               \
    X(IO, 500, "input/output error")                                 \
    X(CONFIG, 400, "configuration error")

typedef enum {
#define ERR_ENUM(name, status, text) ERR_##name##_POS,
    ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
    ERR__COUNT
} ErrPos;

/* The codes are negative so that "return err" reads as failure. */
enum {
#define ERR_ENUM(name, status, text) ERR_##name = -(int)ERR_##name##_POS,
    ERR_MAP(ERR_ENUM)
#undef ERR_ENUM
};

#define ERR_MSG_MAX 256
#define ERR_FIELD_MAX 96

typedef struct Err {
    int code;                  /* first ERR_* recorded, 0 while none */
    int status;                /* HTTP status override, 0 = from code */
    long position;             /* 1-based column in the input, 0 = none */
    char field[ERR_FIELD_MAX]; /* property or parameter at fault, "" = none */
    char msg[ERR_MSG_MAX];     /* human-readable detail, "" = err_text(code) */
} Err;

/* Clears *e to "no error". */
void err_init(Err *e);

/*
 * Records code, field (may be NULL) and a printf-style message in e unless an
 * error is already recorded.  e may be NULL.  Returns code, so that failing
 * is one statement: return err_set(e, ERR_INVALID, "result", "...");
 */
int err_set(Err *e, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As err_set, and records a 1-based input column. */
int err_set_at(Err *e, int code, long position, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Upper-case name of code ("NOT_FOUND"); "UNKNOWN" for codes not in ERR_MAP. */
const char *err_name(int code);

/* Default text of code. */
const char *err_text(int code);

/* HTTP status of code (500 for codes not in ERR_MAP). */
int err_http_status(int code);

#endif
