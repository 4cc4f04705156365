/*
 * routes.c - the top-level HTTP handler (see routes.h): the SensorThings
 * API, the health endpoint and the dead-letter listing.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "app/routes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/isotime.h"
#include "util/jsonw.h"

#define DEAD_LETTERS_TOP 100 /* page size of /api/dead-letters without $top */

bool routes_utf8_valid(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t len;
        unsigned min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            len = 2, min = 0x80, c &= 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            len = 3, min = 0x800, c &= 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            len = 4, min = 0x10000, c &= 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            c = (c << 6) | (s[i + k] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

void routes_base64(Buf *b, const unsigned char *s, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)s[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)s[i + 1] << 8;
        if (i + 2 < n)
            v |= s[i + 2];
        buf_putc(b, tab[(v >> 18) & 63]);
        buf_putc(b, tab[(v >> 12) & 63]);
        buf_putc(b, i + 1 < n ? tab[(v >> 6) & 63] : '=');
        buf_putc(b, i + 2 < n ? tab[v & 63] : '=');
    }
}

/* ================================================================ /health */

static void counter(Buf *b, const char *key, uint64_t v)
{
    buf_putc(b, ',');
    jw_key(b, key);
    jw_int(b, (int64_t)v);
}

static int health(Routes *r, HttpReq *req, HttpResp *resp)
{
    Err err;
    err_init(&err);
    StoreConn *c = NULL;
    int64_t dead = 0;
    bool db_ok = store_read_begin(r->store, &c, &err) == 0 &&
                 store_dead_letters_count(c, &dead, &err) == 0;
    store_read_end(r->store, c);
    MqttStats ms;
    if (r->mqtt)
        events_mqtt_stats(r->mqtt, &ms);
    bool ingest_up = lorawan_ingest_up(r);
    const char *status = !db_ok                                           ? "error"
                         : (r->mqtt && !ms.connected) || !ingest_up ? "degraded"
                                                                          : "ok";
    Buf *b = &resp->body;
    buf_puts(b, "{\"status\":");
    jw_str(b, status);
    buf_puts(b, ",\"database\":");
    jw_str(b, db_ok ? "ok" : "error");
    if (!db_ok) {
        buf_puts(b, ",\"database_error\":");
        jw_str(b, err.msg[0] ? err.msg : err_name(err.code));
    } else {
        counter(b, "dead_letters", (uint64_t)dead);
    }
    buf_puts(b, ",\"mqtt\":{\"state\":");
    if (!r->mqtt) {
        jw_str(b, "off");
    } else {
        jw_str(b, ms.connected ? "connected" : "disconnected");
        buf_puts(b, ",\"url\":");
        jw_str(b, ms.url);
        buf_puts(b, ",\"last_error\":");
        jw_str(b, ms.last_error);
        counter(b, "connects", ms.connects);
        counter(b, "published", ms.published);
        counter(b, "acknowledged", ms.acknowledged);
        counter(b, "dropped", ms.dropped);
        counter(b, "received", ms.received);
        counter(b, "created", ms.created);
        counter(b, "dead_lettered", ms.dead_lettered);
        counter(b, "ignored", ms.ignored);
        counter(b, "duplicates", ms.duplicates);
        counter(b, "select_topics", ms.select_topics);
    }
    buf_putc(b, '}');
    lorawan_health(r, b);
    buf_putc(b, '}');
    resp->status = db_ok ? 200 : 503;
    (void)req;
    return HTTP_DONE;
}

/* ====================================================== /api/dead-letters */

int routes_param_int(const HttpReq *req, const char *key, int64_t def, int64_t *out, Err *err)
{
    *out = def;
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].key, key) != 0)
            continue;
        const char *v = req->params[i].value;
        char *end;
        errno = 0;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || x < 0)
            return err_set(err, ERR_BAD_REQUEST, key,
                           "%s must be a non-negative integer, not '%s'", key, v);
        *out = x;
    }
    return 0;
}

static int dead_letters(Routes *r, HttpReq *req, HttpResp *resp)
{
    Err err;
    err_init(&err);
    int64_t top, skip;
    if (routes_param_int(req, "$top", DEAD_LETTERS_TOP, &top, &err) ||
        routes_param_int(req, "$skip", 0, &skip, &err)) {
        http_reply_error(resp, &err);
        return HTTP_DONE;
    }
    if (top > r->top_max)
        top = r->top_max;
    StoreConn *c = NULL;
    StoreDeadLetter *v = NULL;
    size_t n = 0;
    bool more = false;
    int64_t count = 0;
    int rc = store_read_begin(r->store, &c, &err);
    if (!rc)
        rc = store_dead_letters_count(c, &count, &err);
    if (!rc)
        rc = store_dead_letters_read(c, req->arena, top, skip, &v, &n, &more, &err);
    if (rc) {
        store_read_end(r->store, c);
        http_reply_error(resp, &err);
        return HTTP_DONE;
    }
    Buf *b = &resp->body;
    buf_puts(b, "{\"@iot.count\":");
    jw_int(b, count);
    buf_puts(b, ",\"value\":[");
    for (size_t i = 0; i < n; i++) {
        const StoreDeadLetter *d = &v[i];
        char t[ISOTIME_MAX];
        isotime_format(d->time, t);
        if (i)
            buf_putc(b, ',');
        buf_puts(b, "{\"id\":");
        jw_int(b, d->id);
        buf_puts(b, ",\"time\":");
        jw_str(b, t);
        buf_puts(b, ",\"source\":");
        jw_str(b, d->source ? d->source : "");
        buf_puts(b, ",\"topic\":");
        if (d->topic)
            jw_str(b, d->topic);
        else
            buf_puts(b, "null");
        bool text = routes_utf8_valid(d->payload, d->len);
        buf_puts(b, ",\"encoding\":");
        jw_str(b, text ? "utf-8" : "base64");
        buf_puts(b, ",\"payload\":");
        if (text) {
            jw_strn(b, d->payload, d->len);
        } else {
            buf_putc(b, '"');
            routes_base64(b, d->payload, d->len);
            buf_putc(b, '"');
        }
        buf_puts(b, ",\"reason\":");
        jw_str(b, d->reason ? d->reason : "");
        buf_puts(b, ",\"replayed_at\":");
        if (d->replayed_at) {
            isotime_format(d->replayed_at, t);
            jw_str(b, t);
        } else {
            buf_puts(b, "null");
        }
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
    if (more) {
        buf_puts(b, ",\"@iot.nextLink\":");
        char link[128];
        snprintf(link, sizeof link, "/api/dead-letters?$top=%lld&$skip=%lld", (long long)top,
                 (long long)(skip + (int64_t)n));
        jw_str(b, link);
    }
    buf_putc(b, '}');
    store_read_end(r->store, c);
    resp->status = 200;
    return HTTP_DONE;
}

/* ================================================================ routing */

static bool only_get(HttpReq *req, HttpResp *resp)
{
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
        return true;
    resp->allow = "GET, HEAD";
    http_reply_errorf(resp, ERR_METHOD, NULL, "%s is not allowed on %s", req->method, req->path);
    return false;
}

int routes_handle(void *data, HttpReq *req, HttpResp *resp)
{
    Routes *r = data;
    /* Only the SensorThings handlers suspend, so a resumed request is theirs. */
    if (!req->resumed) {
        if (strcmp(req->path, "/health") == 0)
            return only_get(req, resp) ? health(r, req, resp) : HTTP_DONE;
        if (strcmp(req->path, "/api/dead-letters") == 0)
            return only_get(req, resp) ? dead_letters(r, req, resp) : HTTP_DONE;
        if (strncmp(req->path, "/api/", 5) == 0 && lorawan_route(r, req, resp))
            return HTTP_DONE;
    }
    return sta_handle(r->sta, req, resp);
}
