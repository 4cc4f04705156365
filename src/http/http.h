/*
 * http.h - the HTTP server (libmicrohttpd), request/response structs,
 * limits, request logging and JSON error replies.
 *
 * A handler sees one HttpReq with everything parsed (method, path, decoded
 * query parameters, body) and fills one HttpResp.  A handler that must wait
 * for something (the writer's commit) calls http_suspend(), arranges for
 * http_resume() to be called from any thread, and returns HTTP_SUSPENDED;
 * it is then called again with the same HttpReq, whose state pointer it
 * may use to carry its progress.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_HTTP_H
#define KLAMMER_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"

typedef struct HttpServer HttpServer;

typedef struct HttpParam {
    const char *key;   /* decoded, arena-owned */
    const char *value; /* decoded, arena-owned; "" when the parameter had no '=' */
} HttpParam;

struct StoreConn;

/*
 * Work an in-process caller runs inside the writer job of its write request
 * (http_internal_tx), in the same transaction, after the write itself:
 * c is the writer's connection, ids[0..n) the ids the request created (for
 * CreateObservations one per row, 0 for a row that failed).  A non-zero
 * return (an ERR_* with err set) fails the whole request.
 */
typedef int (*HttpTxHook)(struct StoreConn *c, void *data, const int64_t *ids, size_t n,
                          Err *err);

typedef struct HttpReq {
    Arena *arena;             /* request memory, released after the response is sent */
    const char *method;       /* "GET", ... borrowed */
    const char *path;         /* decoded path without the query, borrowed */
    HttpParam *params;        /* decoded query parameters in request order, arena-owned */
    size_t nparams;
    const char *body;         /* request body (NUL-terminated), or NULL */
    size_t body_len;
    const char *content_type; /* Content-Type header or NULL */
    const char *host;         /* Host header or NULL */
    const char *fwd_proto;    /* X-Forwarded-Proto or NULL */
    const char *fwd_host;     /* X-Forwarded-Host or NULL */
    const char *prefer;       /* Prefer header or NULL */
    const char *authorization; /* Authorization header or NULL */
    const char *webhook_token; /* X-Webhook-Token header or NULL (LoRaWAN webhooks) */
    char id[20];              /* request id for logs */
    void *state;              /* the handler's own continuation, arena-owned */
    bool resumed;             /* true on the call after http_resume() */
    HttpTxHook tx_hook;       /* http_internal_tx only, else NULL */
    void *tx_hook_data;
    void *conn;               /* private to http */
} HttpReq;

typedef struct HttpResp {
    int status;               /* HTTP status */
    Buf body;                 /* response body, owned */
    const char *content_type; /* default "application/json" */
    const char *location;     /* Location header or NULL, arena-owned */
    const char *allow;        /* Allow header (405) or NULL */
    const char *preference_applied; /* Preference-Applied header (RFC 7240) or NULL */
} HttpResp;

enum { HTTP_DONE = 0, HTTP_SUSPENDED = 1 };

/* Returns HTTP_DONE with resp filled, or HTTP_SUSPENDED (see above). */
typedef int (*HttpHandler)(void *data, HttpReq *req, HttpResp *resp);

typedef struct HttpConfig {
    const char *listen;  /* "127.0.0.1:8080", "[::1]:8080", ":8080" */
    int threads;         /* worker threads */
    size_t body_limit;   /* largest accepted request body in bytes */
    size_t arena_cap;    /* per-request memory cap */
} HttpConfig;

/* Starts listening.  Errors: ERR_CONFIG (bad address), ERR_IO (cannot bind). */
int http_start(const HttpConfig *cfg, HttpHandler h, void *data, HttpServer **out, Err *err);

/*
 * Stops accepting connections, lets in-flight requests finish (at most
 * grace_ms), then stops.  Accepts NULL.
 */
void http_stop(HttpServer *s, int grace_ms);

/* Checks a listen address ("host:port"); ERR_CONFIG naming the problem. */
int http_check_listen(const char *listen, Err *err);

/* The port actually bound (useful with port 0). */
int http_port(const HttpServer *s);

/* Must be called by a handler before it returns HTTP_SUSPENDED. */
void http_suspend(HttpReq *req);

/* Wakes a suspended request; callable from any thread, exactly once per suspend. */
void http_resume(HttpReq *req);

/*
 * Fills resp with the JSON error for err:
 * {"code":400,"type":"error","error":"INVALID","message":"...","field":"...","position":17}.
 */
void http_reply_error(HttpResp *resp, const Err *err);

/* Convenience: record an error in a fresh Err and reply with it. */
void http_reply_errorf(HttpResp *resp, int code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Runs a request through the handler without a socket (same code path as
 * HTTP, for the demo and for tools).  path may carry "?query".  On return
 * *status holds the status and *out a malloc'd NUL-terminated body.
 */
int http_internal(HttpServer *s, const char *method, const char *path, const char *body,
                  int *status, char **out);

/* http_internal with hook run inside the write's transaction (see HttpTxHook). */
int http_internal_tx(HttpServer *s, const char *method, const char *path, const char *body,
                     HttpTxHook hook, void *hook_data, int *status, char **out);

/* Number of requests served since start. */
uint64_t http_requests(const HttpServer *s);

#endif
