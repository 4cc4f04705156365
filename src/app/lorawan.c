/*
 * lorawan.c - the HTTP side of LoRaWAN ingest (see routes.h and
 * docs/lorawan.md): the device registry under /api/devices, replay of dead
 * letters, the TTS webhook, and the "ingest" part of /health.
 *
 * The checks of a registration and the pipeline itself live in the ingest
 * module; this file only speaks HTTP.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/routes.h"
#include "ingest/ingest.h"
#include "util/jsonw.h"
#include "util/log.h"

#define DEVICES_TOP 100 /* page size of /api/devices without $top */

static int reply(HttpResp *resp, const Err *err)
{
    http_reply_error(resp, err);
    return HTTP_DONE;
}

static json_t *body_json(HttpReq *req, Err *err)
{
    if (!req->body || req->body_len == 0) {
        err_set(err, ERR_BAD_JSON, NULL, "the request body is empty");
        return NULL;
    }
    json_error_t je;
    json_t *j = json_loadb(req->body, req->body_len, 0, &je);
    if (!j)
        err_set_at(err, ERR_BAD_JSON, je.position > 0 ? je.position : je.column,
                   "malformed JSON at line %d, column %d: %s", je.line, je.column, je.text);
    return j;
}

static void method_not_allowed(HttpReq *req, HttpResp *resp, const char *allow)
{
    resp->allow = allow;
    http_reply_errorf(resp, ERR_METHOD, NULL, "%s is not allowed on %s", req->method, req->path);
}

/* ============================================================ /api/devices */

static int devices_list(Routes *r, HttpReq *req, HttpResp *resp)
{
    Err err;
    err_init(&err);
    int64_t top, skip;
    if (routes_param_int(req, "$top", DEVICES_TOP, &top, &err) ||
        routes_param_int(req, "$skip", 0, &skip, &err))
        return reply(resp, &err);
    if (top > r->top_max)
        top = r->top_max;
    StoreConn *c = NULL;
    StoreDevice *v = NULL;
    size_t n = 0;
    bool more = false;
    int64_t count = 0;
    int rc = store_read_begin(r->store, &c, &err);
    if (!rc)
        rc = store_devices_count(c, &count, &err);
    if (!rc)
        rc = store_devices_read(c, req->arena, top, skip, &v, &n, &more, &err);
    store_read_end(r->store, c);
    if (rc)
        return reply(resp, &err);
    Buf *b = &resp->body;
    buf_puts(b, "{\"@iot.count\":");
    jw_int(b, count);
    buf_puts(b, ",\"value\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(b, ',');
        ingest_device_format(&v[i], b);
    }
    buf_putc(b, ']');
    if (more)
        buf_printf(b, ",\"@iot.nextLink\":\"/api/devices?$top=%lld&$skip=%lld\"", (long long)top,
                   (long long)(skip + (int64_t)n));
    buf_putc(b, '}');
    resp->status = 200;
    return HTTP_DONE;
}

static int devices_post(Routes *r, HttpReq *req, HttpResp *resp)
{
    Err err;
    err_init(&err);
    json_t *j = body_json(req, &err);
    if (!j)
        return reply(resp, &err);
    int rc;
    if (json_is_array(j)) {
        size_t n = 0;
        rc = ingest_devices_import(r->store, req->arena, j, &n, &err);
        if (!rc) {
            resp->status = 201;
            buf_printf(&resp->body, "{\"imported\":%zu}", n);
        }
    } else {
        StoreDevice row;
        bool created = false;
        rc = ingest_device_register(r->store, req->arena, j, NULL, false, &created, &row, &err);
        if (!rc) {
            resp->status = 201;
            resp->location = arena_printf(req->arena, "/api/devices/%s", row.dev_eui);
            ingest_device_format(&row, &resp->body);
            LOG(LOG_INFO, "msg=\"device registered\" dev_eui=%s decoder=%s", row.dev_eui,
                row.decoder);
        }
    }
    json_decref(j);
    ingest_devices_changed(r->ingest);
    return rc ? reply(resp, &err) : HTTP_DONE;
}

static int device_one(Routes *r, HttpReq *req, HttpResp *resp, const char *eui_text)
{
    Err err;
    err_init(&err);
    char eui[INGEST_EUI_LEN + 1];
    if (ingest_eui_parse(eui_text, eui, &err))
        return reply(resp, &err);
    if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0) {
        StoreConn *c = NULL;
        StoreDevice row;
        int rc = store_read_begin(r->store, &c, &err);
        if (!rc)
            rc = store_device_get(c, req->arena, eui, &row, &err);
        store_read_end(r->store, c);
        if (rc)
            return reply(resp, &err);
        ingest_device_format(&row, &resp->body);
        resp->status = 200;
        return HTTP_DONE;
    }
    if (strcmp(req->method, "PUT") == 0) {
        json_t *j = body_json(req, &err);
        if (!j)
            return reply(resp, &err);
        StoreDevice row;
        bool created = false;
        int rc = ingest_device_register(r->store, req->arena, j, eui, true, &created, &row, &err);
        json_decref(j);
        ingest_devices_changed(r->ingest);
        if (rc)
            return reply(resp, &err);
        ingest_device_format(&row, &resp->body);
        resp->status = created ? 201 : 200;
        return HTTP_DONE;
    }
    if (strcmp(req->method, "DELETE") == 0) {
        int rc = store_run(r->store, store_device_delete, eui, &err);
        ingest_devices_changed(r->ingest);
        if (rc)
            return reply(resp, &err);
        resp->status = 204;
        return HTTP_DONE;
    }
    method_not_allowed(req, resp, "GET, HEAD, PUT, DELETE");
    return HTTP_DONE;
}

/* ============================================= replay of dead letters */

static int replay(Routes *r, HttpReq *req, HttpResp *resp, const char *id_text)
{
    Err err;
    err_init(&err);
    char *end;
    errno = 0;
    long long id = strtoll(id_text, &end, 10);
    if (!*id_text || *end || errno || id <= 0) {
        http_reply_errorf(resp, ERR_BAD_REQUEST, "id", "'%s' is not a dead-letter id", id_text);
        return HTTP_DONE;
    }
    StoreConn *c = NULL;
    StoreDeadLetter dl;
    int rc = store_read_begin(r->store, &c, &err);
    if (!rc)
        rc = store_dead_letter_get(c, req->arena, id, &dl, &err);
    store_read_end(r->store, c);
    if (rc)
        return reply(resp, &err);
    if (dl.replayed_at) {
        http_reply_errorf(resp, ERR_CONFLICT, "id", "dead letter %lld was replayed already", id);
        return HTTP_DONE;
    }
    if (!r->ingest || !dl.source ||
        (strcmp(dl.source, "chirpstack") != 0 && strcmp(dl.source, "tts") != 0 &&
         strcmp(dl.source, "lorawan") != 0)) {
        http_reply_errorf(resp, ERR_INVALID, "source",
                          "dead letter %lld (source %s) is not a LoRaWAN uplink; only those "
                          "can be replayed",
                          id, dl.source ? dl.source : "?");
        return HTTP_DONE;
    }
    IngestResult res;
    rc = ingest_uplink(r->ingest, strcmp(dl.source, "lorawan") == 0 ? NULL : dl.source, dl.topic,
                       dl.payload, dl.len, INGEST_NO_DEAD_LETTER, &res);
    if (rc || (res.outcome != INGEST_STORED && res.outcome != INGEST_DUPLICATE &&
               res.outcome != INGEST_SKIPPED)) {
        err_set(&err, rc ? rc : ERR_INVALID, NULL, "replay of dead letter %lld failed: %s", id,
                res.reason);
        err.status = rc ? 0 : 422;
        return reply(resp, &err);
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    dl.replayed_at = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    if (store_run(r->store, store_dead_letter_mark_replayed, &dl, &err))
        return reply(resp, &err);
    ingest_count_replay(r->ingest);
    static const char *const names[] = {"stored", "skipped", "duplicate", "dead", "rejected",
                                        "failed"};
    Buf *b = &resp->body;
    buf_printf(b, "{\"id\":%lld,\"outcome\":\"%s\",\"observations\":%zu,\"devEui\":", id,
               names[res.outcome], res.observations);
    jw_str(b, res.dev_eui);
    buf_printf(b, ",\"fCnt\":%u", (unsigned)res.f_cnt);
    if (res.outcome != INGEST_STORED) {
        buf_puts(b, ",\"reason\":");
        jw_str(b, res.reason);
    }
    buf_putc(b, '}');
    resp->status = 200;
    LOG(LOG_INFO, "msg=\"dead letter replayed\" id=%lld outcome=%s", id, names[res.outcome]);
    return HTTP_DONE;
}

/* =================================================== the TTS webhook */

static bool token_ok(const Routes *r, const HttpReq *req)
{
    const char *want = r->webhook_token;
    if (!want || !*want)
        return true;
    if (req->webhook_token && strcmp(req->webhook_token, want) == 0)
        return true;
    const char *a = req->authorization;
    return a && strncmp(a, "Bearer ", 7) == 0 && strcmp(a + 7, want) == 0;
}

static int webhook(Routes *r, HttpReq *req, HttpResp *resp)
{
    if (strcmp(req->method, "POST") != 0) {
        method_not_allowed(req, resp, "POST");
        return HTTP_DONE;
    }
    if (!token_ok(r, req)) {
        Err err;
        err_init(&err);
        err_set(&err, ERR_BAD_REQUEST, "X-Webhook-Token",
                "missing or wrong webhook token (X-Webhook-Token or Authorization: Bearer)");
        err.status = 401;
        return reply(resp, &err);
    }
    if (!r->ingest) {
        http_reply_errorf(resp, ERR_UNAVAILABLE, NULL, "LoRaWAN ingest is not running");
        return HTTP_DONE;
    }
    IngestResult res;
    int rc = ingest_uplink(r->ingest, "tts", "webhook:/api/ingest/tts", req->body ? req->body : "",
                           req->body ? req->body_len : 0, INGEST_REJECT_INVALID, &res);
    if (res.outcome == INGEST_REJECTED) {
        http_reply_errorf(resp, ERR_INVALID, NULL, "%s", res.reason);
        return HTTP_DONE;
    }
    if (rc) {
        http_reply_errorf(resp, ERR_UNAVAILABLE, NULL, "%s", res.reason);
        return HTTP_DONE;
    }
    static const char *const names[] = {"stored", "skipped", "duplicate", "dead_lettered",
                                        "rejected", "failed"};
    Buf *b = &resp->body;
    buf_printf(b, "{\"outcome\":\"%s\",\"devEui\":", names[res.outcome]);
    jw_str(b, res.dev_eui);
    buf_printf(b, ",\"fCnt\":%u,\"observations\":%zu", (unsigned)res.f_cnt, res.observations);
    if (res.outcome == INGEST_DEAD)
        buf_printf(b, ",\"deadLetter\":%lld", (long long)res.dead_letter);
    if (res.outcome != INGEST_STORED) {
        buf_puts(b, ",\"reason\":");
        jw_str(b, res.reason);
    }
    buf_putc(b, '}');
    resp->status = 200;
    return HTTP_DONE;
}

/* ================================================================ routing */

bool lorawan_route(Routes *r, HttpReq *req, HttpResp *resp)
{
    const char *p = req->path;
    if (strcmp(p, "/api/devices") == 0) {
        if (strcmp(req->method, "GET") == 0 || strcmp(req->method, "HEAD") == 0)
            devices_list(r, req, resp);
        else if (strcmp(req->method, "POST") == 0)
            devices_post(r, req, resp);
        else
            method_not_allowed(req, resp, "GET, HEAD, POST");
        return true;
    }
    if (strncmp(p, "/api/devices/", 13) == 0) {
        device_one(r, req, resp, p + 13);
        return true;
    }
    if (strncmp(p, "/api/dead-letters/", 18) == 0) {
        const char *id = p + 18, *slash = strchr(id, '/');
        if (!slash || strcmp(slash, "/replay") != 0) {
            http_reply_errorf(resp, ERR_NOT_FOUND, NULL, "no resource %s", p);
            return true;
        }
        if (strcmp(req->method, "POST") != 0) {
            method_not_allowed(req, resp, "POST");
            return true;
        }
        char *idt = arena_strndup(req->arena, id, (size_t)(slash - id));
        replay(r, req, resp, idt ? idt : "");
        return true;
    }
    if (strcmp(p, "/api/ingest/tts") == 0) {
        webhook(r, req, resp);
        return true;
    }
    return false;
}

static void counter(Buf *b, const char *key, uint64_t v)
{
    buf_putc(b, ',');
    jw_key(b, key);
    jw_int(b, (int64_t)v);
}

bool lorawan_health(Routes *r, Buf *b)
{
    buf_puts(b, ",\"ingest\":{\"state\":");
    bool all = true;
    if (!r->ingest) {
        jw_str(b, "off");
        buf_putc(b, '}');
        return true;
    }
    size_t up = 0;
    uint64_t connects = 0;
    for (size_t i = 0; i < r->ningest_mqtt; i++) {
        MqttStats ms;
        events_mqtt_in_stats(r->ingest_mqtt[i], &ms);
        up += ms.connected;
        connects += ms.connects;
    }
    all = up == r->ningest_mqtt;
    jw_str(b, r->ningest_mqtt == 0 ? "webhook-only" : all ? "connected"
                                                      : up ? "degraded"
                                                           : "disconnected");
    counter(b, "connections", r->ningest_mqtt);
    counter(b, "connected", up);
    counter(b, "connects", connects);
    counter(b, "reconnects", connects > r->ningest_mqtt ? connects - r->ningest_mqtt : 0);
    buf_puts(b, ",\"clients\":[");
    for (size_t i = 0; i < r->ningest_mqtt; i++) {
        MqttStats ms;
        events_mqtt_in_stats(r->ingest_mqtt[i], &ms);
        if (i)
            buf_putc(b, ',');
        buf_puts(b, "{\"url\":");
        jw_str(b, ms.url);
        buf_puts(b, ms.connected ? ",\"connected\":true" : ",\"connected\":false");
        buf_puts(b, ",\"last_error\":");
        jw_str(b, ms.last_error);
        counter(b, "connects", ms.connects);
        counter(b, "received", ms.received);
        buf_putc(b, '}');
    }
    buf_putc(b, ']');
    IngestStats s;
    ingest_stats(r->ingest, &s);
    counter(b, "received", s.received);
    counter(b, "stored", s.stored);
    counter(b, "observations", s.observations);
    counter(b, "duplicates", s.duplicates);
    counter(b, "skipped_simulated", s.skipped_simulated);
    counter(b, "skipped_no_payload", s.skipped_no_payload);
    counter(b, "skipped_unmapped", s.skipped_unmapped);
    counter(b, "dead_lettered", s.dead_lettered);
    counter(b, "unknown_device", s.unknown_device);
    counter(b, "undecodable", s.undecodable);
    counter(b, "out_of_range", s.out_of_range);
    counter(b, "invalid", s.invalid);
    counter(b, "store_errors", s.store_errors);
    counter(b, "rejected", s.rejected);
    counter(b, "failed", s.failed);
    counter(b, "replayed", s.replayed);
    buf_putc(b, '}');
    return all;
}

bool lorawan_ingest_up(Routes *r)
{
    for (size_t i = 0; i < r->ningest_mqtt; i++) {
        MqttStats ms;
        events_mqtt_in_stats(r->ingest_mqtt[i], &ms);
        if (!ms.connected)
            return false;
    }
    return true;
}
