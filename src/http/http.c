/*
 * http.c - libmicrohttpd glue: body accumulation under a limit, the
 * suspend/resume dance for requests that wait for the writer, one log line
 * per request, graceful stop, and in-process requests for the demo.
 *
 * libmicrohttpd calls the access handler several times per request: first
 * with no body (we only allocate our context: answering here would close
 * keep-alive connections), then once per body chunk, then a last time with
 * no data, where we dispatch.  A suspended request is called again after
 * MHD_resume_connection; req->resumed tells the handler.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/jsonw.h"
#include "util/log.h"

struct HttpServer {
    struct MHD_Daemon *d;
    HttpHandler handler;
    void *data;
    HttpConfig cfg;
    int port;
    atomic_uint_fast64_t next_id;
    atomic_uint_fast64_t served;
    atomic_int active; /* requests handed to the handler and not yet finished */
    atomic_bool stopping; /* refuse new requests on kept-alive connections */
};

typedef struct Conn {
    HttpServer *srv;
    Arena arena;
    HttpReq req;
    HttpResp resp;
    Buf body;
    struct MHD_Connection *mhd;  /* NULL for in-process requests */
    struct timespec start;
    bool too_large;
    bool dispatched;
    bool counted;      /* in HttpServer.active */
    bool suspended;
    /* in-process requests wait here */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool woken;
} Conn;

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) * 1e3 + (double)(t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* ------------------------------------------------------------ errors */

void http_reply_error(HttpResp *resp, const Err *err)
{
    int code = err->code ? err->code : ERR_INTERNAL;
    int status = err->status ? err->status : err_http_status(code);
    buf_clear(&resp->body);
    Buf *b = &resp->body;
    buf_printf(b, "{\"code\":%d,\"type\":\"error\",\"error\":", status);
    jw_str(b, err_name(code));
    buf_puts(b, ",\"message\":");
    jw_str(b, err->msg[0] ? err->msg : err_text(code));
    if (err->field[0]) {
        buf_puts(b, ",\"field\":");
        jw_str(b, err->field);
    }
    if (err->position > 0)
        buf_printf(b, ",\"position\":%ld", err->position);
    buf_putc(b, '}');
    resp->status = status;
    resp->content_type = "application/json";
}

void http_reply_errorf(HttpResp *resp, int code, const char *field, const char *fmt, ...)
{
    Err e;
    err_init(&e);
    e.code = code;
    if (field)
        snprintf(e.field, sizeof e.field, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e.msg, sizeof e.msg, fmt, ap);
    va_end(ap);
    http_reply_error(resp, &e);
}

/* ------------------------------------------------------- connections */

static Conn *conn_new(HttpServer *s)
{
    Conn *c = xcalloc(1, sizeof *c);
    c->srv = s;
    arena_init(&c->arena, s->cfg.arena_cap);
    buf_init(&c->body);
    buf_init(&c->resp.body);
    c->req.arena = &c->arena;
    c->req.conn = c;
    snprintf(c->req.id, sizeof c->req.id, "%llx",
             (unsigned long long)atomic_fetch_add(&s->next_id, 1));
    clock_gettime(CLOCK_MONOTONIC, &c->start);
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return c;
}

static void conn_free(Conn *c)
{
    if (!c)
        return;
    if (c->counted)
        atomic_fetch_sub(&c->srv->active, 1);
    arena_fini(&c->arena);
    buf_fini(&c->body);
    buf_fini(&c->resp.body);
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c);
}

void http_suspend(HttpReq *req)
{
    Conn *c = req->conn;
    c->suspended = true;
    c->woken = false;
    if (c->mhd)
        MHD_suspend_connection(c->mhd);
}

void http_resume(HttpReq *req)
{
    Conn *c = req->conn;
    if (c->mhd) {
        MHD_resume_connection(c->mhd);
        return;
    }
    pthread_mutex_lock(&c->mu);
    c->woken = true;
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

static void log_request(Conn *c)
{
    const char *path = c->req.path ? c->req.path : "-";
    const char *q = strpbrk(path, " \"\\=") ? "\"" : ""; /* quote only when needed */
    LOG(LOG_INFO, "req=%s method=%s path=%s%s%s status=%d dur_ms=%.3f", c->req.id,
        c->req.method ? c->req.method : "-", q, path, q, c->resp.status, ms_since(&c->start));
}

/* ------------------------------------------------------------ MHD side */

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    Conn *c = cls;
    HttpReq *r = &c->req;
    if ((r->nparams & (r->nparams - 1)) == 0) { /* grow at powers of two */
        size_t cap = r->nparams ? r->nparams * 2 : 8;
        HttpParam *np = arena_alloc(&c->arena, cap * sizeof *np);
        if (!np)
            return MHD_NO;
        if (r->nparams)
            memcpy(np, r->params, r->nparams * sizeof *np);
        r->params = np;
    }
    HttpParam *p = &r->params[r->nparams];
    p->key = arena_strdup(&c->arena, key ? key : "");
    p->value = arena_strdup(&c->arena, value ? value : "");
    if (!p->key || !p->value)
        return MHD_NO;
    r->nparams++;
    return MHD_YES;
}

static enum MHD_Result send_response(Conn *c)
{
    HttpResp *rs = &c->resp;
    size_t len;
    char *body = buf_steal(&rs->body, &len);
    struct MHD_Response *m =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!m) {
        free(body);
        return MHD_NO;
    }
    if (len || rs->status != 204)
        MHD_add_response_header(m, "Content-Type",
                                rs->content_type ? rs->content_type : "application/json");
    if (rs->location)
        MHD_add_response_header(m, "Location", rs->location);
    if (rs->allow)
        MHD_add_response_header(m, "Allow", rs->allow);
    if (rs->preference_applied)
        MHD_add_response_header(m, "Preference-Applied", rs->preference_applied);
    /* RFC 9110 §10.2.3: a 503 (database restarting or busy, shutting down)
     * tells the client when to try again. */
    if (rs->status == 503)
        MHD_add_response_header(m, "Retry-After", "1");
    MHD_add_response_header(m, "X-Request-Id", c->req.id);
    enum MHD_Result ret = MHD_queue_response(c->mhd, (unsigned)rs->status, m);
    MHD_destroy_response(m);
    return ret;
}

static void dispatch(Conn *c)
{
    HttpServer *s = c->srv;
    HttpReq *r = &c->req;
    if (!r->resumed) {
        r->body = c->body.len ? c->body.data : NULL;
        r->body_len = c->body.len;
    }
    if (!c->counted) {
        /* From here the request is in flight: a stop waits for it.  A
         * connection still sending its headers or body is not (a client
         * that stalls mid-body cannot hold the stop up). */
        c->counted = true;
        atomic_fetch_add(&s->active, 1);
    }
    c->suspended = false;
    int rc = s->handler(s->data, r, &c->resp);
    if (rc == HTTP_SUSPENDED)
        return;
    c->suspended = false;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *mc, const char *url,
                                 const char *method, const char *version,
                                 const char *upload, size_t *upload_size, void **con_cls)
{
    (void)version;
    HttpServer *s = cls;
    Conn *c = *con_cls;
    if (!c) {
        c = conn_new(s);
        c->mhd = mc;
        *con_cls = c;
        c->req.method = method;
        c->req.path = url;
        c->req.content_type = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Type");
        c->req.host = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Host");
        c->req.fwd_proto = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Forwarded-Proto");
        c->req.fwd_host = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Forwarded-Host");
        c->req.prefer = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Prefer");
        c->req.authorization = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Authorization");
        c->req.webhook_token = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "X-Webhook-Token");
        if (atomic_load(&s->stopping)) {
            /* A request on a kept-alive connection after the stop began: it
             * must not be suspended, libmicrohttpd cannot stop with those. */
            c->dispatched = true;
            http_reply_errorf(&c->resp, ERR_UNAVAILABLE, NULL, "the server is shutting down");
            return send_response(c);
        }
        const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->cfg.body_limit) {
            /* Refuse now rather than read a body we will not use; the
             * connection is closed after this answer. */
            c->too_large = true;
            c->dispatched = true;
            http_reply_errorf(&c->resp, ERR_BODY_TOO_LARGE, NULL,
                              "request body of %s bytes exceeds the limit of %zu bytes", cl,
                              s->cfg.body_limit);
            return send_response(c);
        }
        if (MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect_arg, c) < 0 ||
            (c->req.nparams && !c->req.params))
            c->too_large = true;
        return MHD_YES;
    }
    if (*upload_size) {
        if (!c->too_large && c->body.len + *upload_size <= s->cfg.body_limit)
            buf_append(&c->body, upload, *upload_size);
        else
            c->too_large = true;
        *upload_size = 0;
        return MHD_YES;
    }
    if (c->dispatched && !c->suspended)
        return MHD_YES; /* answered already */
    if (!c->dispatched) {
        c->dispatched = true;
        if (c->too_large) {
            http_reply_errorf(&c->resp, ERR_BODY_TOO_LARGE, NULL,
                              "request body exceeds the limit of %zu bytes",
                              s->cfg.body_limit);
            return send_response(c);
        }
        dispatch(c);
    } else {
        c->req.resumed = true;
        dispatch(c);
    }
    if (c->suspended)
        return MHD_YES;
    return send_response(c);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)mc;
    (void)toe;
    Conn *c = *con_cls;
    if (!c)
        return;
    atomic_fetch_add(&c->srv->served, 1);
    if (c->dispatched)
        log_request(c);
    conn_free(c);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    LOG(LOG_WARN, "msg=\"http: %s\"", msg);
}

/* Parses "host:port", "[v6]:port" or ":port" into a socket address. */
static int parse_listen(const char *spec, struct sockaddr_storage *ss, socklen_t *len,
                        bool *v6, Err *err)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || !colon[1])
        return err_set(err, ERR_CONFIG, "listen", "listen address '%s' needs ':port'", spec);
    size_t hn = (size_t)(colon - spec);
    if (hn >= sizeof host)
        return err_set(err, ERR_CONFIG, "listen", "listen address '%s' is too long", spec);
    memcpy(host, spec, hn);
    host[hn] = '\0';
    if (hn >= 2 && host[0] == '[' && host[hn - 1] == ']') {
        memmove(host, host + 1, hn - 2);
        host[hn - 2] = '\0';
    }
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535)
        return err_set(err, ERR_CONFIG, "listen", "bad port in listen address '%s'", spec);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    int gai = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &res);
    if (gai != 0 || !res)
        return err_set(err, ERR_CONFIG, "listen", "cannot resolve listen address '%s': %s",
                       spec, gai_strerror(gai));
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    *v6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return 0;
}

int http_check_listen(const char *listen, Err *err)
{
    struct sockaddr_storage ss;
    socklen_t len;
    bool v6;
    return parse_listen(listen, &ss, &len, &v6, err);
}

int http_start(const HttpConfig *cfg, HttpHandler h, void *data, HttpServer **out, Err *err)
{
    struct sockaddr_storage ss;
    socklen_t slen = 0;
    bool v6 = false;
    int rc = parse_listen(cfg->listen, &ss, &slen, &v6, err);
    if (rc)
        return rc;
    HttpServer *s = xcalloc(1, sizeof *s);
    s->handler = h;
    s->data = data;
    s->cfg = *cfg;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG;
    if (v6)
        flags |= MHD_USE_IPv6;
    s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_access, s,
                            MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                            MHD_OPTION_THREAD_POOL_SIZE,
                            (unsigned)(cfg->threads > 0 ? cfg->threads : 2),
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)4096,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                            /* Request line and headers must fit in this (the URL with
                             * a 16 KiB $filter does); beyond it libmicrohttpd answers
                             * 414 itself.  Larger costs every request: the pool is
                             * zeroed between requests (256 KiB took a third of the CPU
                             * of a small GET). */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
                            MHD_OPTION_END);
    if (!s->d) {
        free(s);
        return err_set(err, ERR_IO, "listen", "cannot listen on %s: %s", cfg->listen,
                       errno ? strerror(errno) : "address in use?");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    *out = s;
    return 0;
}

int http_port(const HttpServer *s)
{
    return s->port;
}

uint64_t http_requests(const HttpServer *s)
{
    return atomic_load(&s->served);
}

void http_stop(HttpServer *s, int grace_ms)
{
    if (!s)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    atomic_store(&s->stopping, true);
    /* Wait until no request has been in flight for 50 ms running. */
    for (int waited = 0, idle = 0; idle < 50 && waited < grace_ms; waited += 10) {
        idle = atomic_load(&s->active) > 0 ? 0 : idle + 10;
        usleep(10000);
    }
    MHD_stop_daemon(s->d);
    free(s);
}

/* ------------------------------------------------------- in-process */

int http_internal(HttpServer *s, const char *method, const char *path, const char *body,
                  int *status, char **out)
{
    return http_internal_tx(s, method, path, body, NULL, NULL, status, out);
}

int http_internal_tx(HttpServer *s, const char *method, const char *path, const char *body,
                     HttpTxHook hook, void *hook_data, int *status, char **out)
{
    Conn *c = conn_new(s);
    c->req.tx_hook = hook;
    c->req.tx_hook_data = hook_data;
    const char *q = strchr(path, '?');
    c->req.method = method;
    c->req.path = q ? arena_strndup(&c->arena, path, (size_t)(q - path)) : path;
    c->req.host = "localhost";
    c->req.content_type = body ? "application/json" : NULL;
    if (body)
        buf_puts(&c->body, body);
    /* Split the query on '&' and '='; values here are not percent-encoded. */
    if (q) {
        char *copy = arena_strdup(&c->arena, q + 1);
        for (char *save = NULL, *tok = copy ? strtok_r(copy, "&", &save) : NULL; tok;
             tok = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(tok, '=');
            if (eq)
                *eq = '\0';
            collect_arg(c, MHD_GET_ARGUMENT_KIND, tok, eq ? eq + 1 : "");
        }
    }
    c->dispatched = true;
    dispatch(c);
    while (c->suspended) {
        pthread_mutex_lock(&c->mu);
        while (!c->woken)
            pthread_cond_wait(&c->cv, &c->mu);
        pthread_mutex_unlock(&c->mu);
        c->req.resumed = true;
        dispatch(c);
    }
    *status = c->resp.status;
    *out = buf_steal(&c->resp.body, NULL);
    atomic_fetch_add(&s->served, 1);
    if (c->req.path != path)
        c->req.path = path;
    log_request(c);
    conn_free(c);
    return 0;
}
