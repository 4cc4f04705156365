/*
 * sta.c - request dispatch for /v1.1: the service root, reads of
 * collections, entities, properties, $value and $ref (OGC 18-088 §9), and
 * hand-over of writes to write.c.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "sta/sta_int.h"
#include "util/jsonw.h"
#include "util/log.h"

#define PREFIX "/" STA_VERSION

Sta *sta_new(Store *store, const StaConfig *cfg)
{
    Sta *s = xcalloc(1, sizeof *s);
    s->store = store;
    s->cfg = *cfg;
    return s;
}

void sta_free(Sta *sta)
{
    free(sta);
}

const char *sta_root_url(const Sta *sta, HttpReq *req)
{
    if (sta->cfg.base_url && sta->cfg.base_url[0]) {
        const char *b = sta->cfg.base_url;
        size_t n = strlen(b);
        while (n && b[n - 1] == '/')
            n--;
        return arena_printf(req->arena, "%.*s" PREFIX, (int)n, b);
    }
    const char *proto = req->fwd_proto && req->fwd_proto[0] ? req->fwd_proto : "http";
    const char *host = req->fwd_host && req->fwd_host[0] ? req->fwd_host
                       : req->host && req->host[0]   ? req->host
                                                     : "localhost";
    /* X-Forwarded-* may list several hops: the first is the client-facing one. */
    size_t pn = strcspn(proto, ", "), hn = strcspn(host, ", ");
    return arena_printf(req->arena, "%.*s://%.*s" PREFIX, (int)pn, proto, (int)hn, host);
}

/* ------------------------------------------------------------ root */

static const char *const conformance[] = {
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-update-delete",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/multi-datastream",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/data-array/data-array",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/batch-request/batch-request",
};

/* OGC 18-088 §14: offered only when a broker is configured. */
static const char *const mqtt_conformance[] = {
    "http://www.opengis.net/spec/iot_sensing/1.1/req/create-observations-via-mqtt/"
    "observations-creation",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/receive-updates-via-mqtt/receive-updates",
};

static void reply_root(const char *root, const char *mqtt, HttpResp *resp)
{
    Buf *b = &resp->body;
    buf_puts(b, "{\"value\":[");
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *d = model_entity((EntityType)t);
        buf_printf(b, "%s{\"name\":\"%s\",\"url\":\"%s/%s\"}", t ? "," : "", d->set, root,
                   d->set);
    }
    buf_puts(b, "],\"serverSettings\":{\"conformance\":[");
    for (size_t i = 0; i < sizeof conformance / sizeof conformance[0]; i++) {
        if (i)
            buf_putc(b, ',');
        jw_str(b, conformance[i]);
    }
    for (size_t i = 0; mqtt && i < 2; i++) {
        buf_putc(b, ',');
        jw_str(b, mqtt_conformance[i]);
    }
    buf_putc(b, ']');
    for (size_t i = 0; mqtt && i < 2; i++) {
        buf_putc(b, ',');
        jw_key(b, mqtt_conformance[i]);
        buf_puts(b, "{\"endpoints\":[");
        jw_str(b, mqtt);
        buf_puts(b, "]}");
    }
    buf_puts(b, "}}");
    resp->status = 200;
}

/* ----------------------------------------------------------- reads */

static int parse_options(Sta *sta, HttpReq *req, const EntityDef *def, QueryOptions *o,
                         Err *err)
{
    QueryLimits lim = {sta->cfg.top_default, sta->cfg.top_max};
    QueryParam *qp = NULL;
    if (req->nparams) {
        qp = arena_alloc(req->arena, sizeof *qp * req->nparams);
        if (!qp)
            return err_set(err, ERR_TOO_LARGE, NULL, "query too large");
        for (size_t i = 0; i < req->nparams; i++)
            qp[i] = (QueryParam){req->params[i].key, req->params[i].value};
    }
    int rc = query_parse_options(req->arena, def, qp, req->nparams, &lim, o, err);
    return rc;
}

/*
 * $resultFormat=dataArray (OGC 18-088 §14.3.1): the observations of the page
 * grouped by their (Multi)Datastream, each group a table of the selected
 * components ("id", "phenomenonTime", "result" unless $select says otherwise).
 */
static void write_dataarray(StaOut *out, const StoreRowSet *rs, const QueryOptions *o)
{
    const EntityDef *def = rs->def;
    const Rel *rds = model_rel(def, "Datastream", 10), *rmd = model_rel(def, "MultiDatastream", 15);
    const Prop *cols[16];
    int nc = 0;
    bool with_id = !o->select_given || o->select_id;
    if (o->select_given) {
        for (int i = 0; i < def->nprops && nc < 16; i++)
            if (o->select_props & (1u << i))
                cols[nc++] = &def->props[i];
    } else {
        /* Every property, in the order other servers use. */
        static const char *const all[] = {"phenomenonTime", "result", "resultTime",
                                          "resultQuality", "validTime", "parameters"};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            cols[nc++] = model_prop(def, all[i], strlen(all[i]));
    }
    Buf *b = out->b;
    bool *done = xcalloc(rs->n ? rs->n : 1, sizeof *done);
    bool first_group = true;
    for (size_t g = 0; g < rs->n; g++) {
        if (done[g])
            continue;
        const StoreRow *lead = &rs->rows[g];
        const Rel *r = lead->cols[rds->fk_slot].type == SV_INT ? rds : rmd;
        int64_t sid = lead->cols[r->fk_slot].i;
        size_t count = 0;
        for (size_t i = g; i < rs->n; i++)
            if (rs->rows[i].cols[r->fk_slot].type == SV_INT && rs->rows[i].cols[r->fk_slot].i == sid)
                count++;
        if (!first_group)
            buf_putc(b, ',');
        first_group = false;
        buf_printf(b, "{\"%s@iot.navigationLink\":\"%s/%s(", r->name, out->root,
                   model_entity(r->target)->set);
        jw_int(b, sid);
        buf_puts(b, ")\",\"components\":[");
        if (with_id)
            buf_puts(b, "\"id\"");
        for (int k = 0; k < nc; k++) {
            if (k || with_id)
                buf_putc(b, ',');
            jw_str(b, cols[k]->name);
        }
        buf_printf(b, "],\"dataArray@iot.count\":%zu,\"dataArray\":[", count);
        bool first_row = true;
        for (size_t i = g; i < rs->n; i++) {
            const StoreRow *row = &rs->rows[i];
            if (row->cols[r->fk_slot].type != SV_INT || row->cols[r->fk_slot].i != sid)
                continue;
            done[i] = true;
            buf_puts(b, first_row ? "[" : ",[");
            first_row = false;
            if (with_id)
                jw_int(b, row->cols[0].i);
            for (int k = 0; k < nc; k++) {
                if (k || with_id)
                    buf_putc(b, ',');
                sta_write_prop_value(b, def, cols[k], row);
            }
            buf_putc(b, ']');
        }
        buf_puts(b, "]}");
    }
    free(done);
}

static void reply_read(Sta *sta, HttpReq *req, HttpResp *resp, const ResourcePath *path)
{
    Err err;
    err_init(&err);
    StoreConn *c = NULL;
    const EntityDef *def = path->segs[path->nsegs - 1].def;
    QueryOptions o;
    StoreScope sc;
    StoreRowSet *rs = NULL;
    const char *root = sta_root_url(sta, req);
    if (!root) {
        err_set(&err, ERR_TOO_LARGE, NULL, "request too large");
        goto fail;
    }
    /* Property paths and $ref read the entity with default options. */
    if (path->kind == RES_PROPERTY || path->kind == RES_VALUE) {
        QueryLimits lim = {sta->cfg.top_default, sta->cfg.top_max};
        query_parse_options(req->arena, def, NULL, 0, &lim, &o, &err);
    } else if (parse_options(sta, req, def, &o, &err)) {
        goto fail;
    }
    if (o.result_format && (strcmp(o.result_format, "dataArray") != 0 ||
                            def->type != ENT_OBSERVATION || path->kind != RES_COLLECTION)) {
        err_set(&err, ERR_BAD_REQUEST, "$resultFormat",
                strcmp(o.result_format, "dataArray") != 0
                    ? "$resultFormat must be dataArray"
                    : "$resultFormat=dataArray applies to collections of Observations");
        goto fail;
    }
    if (store_read_begin(sta->store, &c, &err) ||
        store_resolve_read(c, path, path->nsegs, &sc, &err) ||
        store_read(c, req->arena, &sc, &o, &rs, &err))
        goto fail;
    store_read_end(sta->store, c);
    c = NULL;

    Buf *b = &resp->body;
    StaOut out = {b, root, strlen(root)};
    bool single = sc.id_given || (path->kind != RES_COLLECTION &&
                                  !(path->kind == RES_REF && !path->ref_entity));
    resp->status = 200;
    if (single && rs->n == 0) {
        err_set(&err, ERR_NOT_FOUND, NULL, "not found");
        goto fail;
    }
    switch (path->kind) {
    case RES_PROPERTY: {
        jw_raw(b, "{");
        jw_key(b, path->prop->name);
        sta_write_prop_value(b, def, path->prop, &rs->rows[0]);
        jw_raw(b, "}");
        return;
    }
    case RES_VALUE: {
        const Prop *p = path->prop;
        if (sta_prop_is_null(p, &rs->rows[0])) {
            resp->status = 204;
            return;
        }
        const StoreValue *v = &rs->rows[0].cols[p->slot];
        if (p->type == PT_STRING || (p->type == PT_RESULT && rs->rows[0].cols[p->slot2].i == 2)) {
            buf_append(b, v->s, v->n);
            resp->content_type = "text/plain; charset=utf-8";
        } else {
            sta_write_prop_value(b, def, p, &rs->rows[0]);
            /* A JSON string written raw has no quotes, as $value asks. */
            if (b->len >= 2 && b->data[0] == '"') {
                memmove(b->data, b->data + 1, b->len - 2);
                b->len -= 2;
                b->data[b->len] = '\0';
                resp->content_type = "text/plain; charset=utf-8";
            }
        }
        return;
    }
    case RES_REF:
        if (path->ref_entity) {
            buf_printf(b, "{\"@iot.selfLink\":\"%s/%s(%lld)\"}", root, def->set,
                       (long long)rs->rows[0].cols[0].i);
            return;
        }
        __attribute__((fallthrough)); /* a collection of references */
    case RES_COLLECTION: {
        buf_putc(b, '{');
        if (rs->count >= 0)
            buf_printf(b, "\"@iot.count\":%lld,", (long long)rs->count);
        buf_puts(b, "\"value\":[");
        if (o.result_format) {
            write_dataarray(&out, rs, &o);
        } else if (path->kind == RES_REF) {
            for (size_t i = 0; i < rs->n; i++)
                buf_printf(b, "%s{\"@iot.selfLink\":\"%s/%s(%lld)\"}", i ? "," : "", root,
                           def->set, (long long)rs->rows[i].cols[0].i);
        } else {
            sta_write_array(&out, rs, &o, true);
        }
        buf_putc(b, ']');
        if (rs->more) {
            /* The request's own path, as the client sent it, is the base. */
            const char *base = arena_printf(req->arena, "%.*s%s",
                                            (int)(strlen(root) - strlen(PREFIX)), root,
                                            req->path);
            buf_puts(b, ",\"@iot.nextLink\":");
            Buf link;
            buf_init(&link);
            sta_write_next_link(&link, base ? base : root, &o);
            jw_strn(b, link.data, link.len);
            buf_fini(&link);
        }
        buf_putc(b, '}');
        return;
    }
    case RES_ENTITY:
        sta_write_entity(&out, def, &rs->rows[0], &o, true);
        return;
    case RES_ROOT:
        return;
    }
    return;
fail:
    store_read_end(sta->store, c);
    http_reply_error(resp, &err);
}

void sta_reply_entity(Sta *sta, HttpReq *req, HttpResp *resp, const EntityDef *def, int64_t id,
                      int status)
{
    ResourcePath p;
    memset(&p, 0, sizeof p);
    p.kind = RES_ENTITY;
    p.nsegs = 1;
    p.segs[0].def = def;
    p.segs[0].id = id;
    p.segs[0].has_id = true;
    /* Query options of a write do not apply to the echoed entity. */
    size_t saved = req->nparams;
    req->nparams = 0;
    reply_read(sta, req, resp, &p);
    req->nparams = saved;
    if (resp->status == 200)
        resp->status = status;
}

/* ---------------------------------------------------------- dispatch */

int sta_handle(void *data, HttpReq *req, HttpResp *resp)
{
    Sta *sta = data;
    const char *path = req->path;
    if (strcmp(path, PREFIX "/$batch") == 0)
        return sta_batch(sta, req, resp); /* before the resumed check: it suspends too */
    if (req->resumed)
        return sta_write(sta, req, resp, NULL);
    size_t plen = strlen(PREFIX);
    if (strncmp(path, PREFIX, plen) != 0 || (path[plen] != '\0' && path[plen] != '/')) {
        if (strcmp(path, "/") == 0 || strcmp(path, "") == 0) {
            resp->status = 302;
            resp->location = arena_strdup(req->arena, PREFIX);
            return HTTP_DONE;
        }
        http_reply_errorf(resp, ERR_NOT_FOUND, NULL,
                          "no resource at %s; the SensorThings API is at " PREFIX, path);
        return HTTP_DONE;
    }
    ResourcePath rp;
    Err err;
    err_init(&err);
    if (strcmp(path + plen, "/CreateObservations") == 0) {
        if (strcmp(req->method, "POST") != 0) {
            resp->allow = "POST";
            http_reply_errorf(resp, ERR_METHOD, NULL, "CreateObservations only takes POST");
            return HTTP_DONE;
        }
        return sta_write(sta, req, resp, NULL);
    }
    if (query_parse_path(path + plen, &rp, &err)) {
        http_reply_error(resp, &err);
        return HTTP_DONE;
    }
    const char *m = req->method;
    bool get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
    if (rp.kind == RES_ROOT) {
        if (!get) {
            resp->allow = "GET, HEAD";
            http_reply_errorf(resp, ERR_METHOD, NULL, "%s is not allowed on the service root",
                              m);
            return HTTP_DONE;
        }
        const char *root = sta_root_url(sta, req);
        reply_root(root ? root : "", sta->cfg.mqtt, resp);
        return HTTP_DONE;
    }
    if (get) {
        reply_read(sta, req, resp, &rp);
        return HTTP_DONE;
    }
    bool post = strcmp(m, "POST") == 0;
    bool change = strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
    const char *allow = rp.kind == RES_COLLECTION ? "GET, HEAD, POST"
                        : rp.kind == RES_ENTITY   ? "GET, HEAD, PATCH, PUT, DELETE"
                                                  : "GET, HEAD";
    if ((post && rp.kind != RES_COLLECTION) || (change && rp.kind != RES_ENTITY) ||
        (!post && !change)) {
        resp->allow = allow;
        http_reply_errorf(resp, ERR_METHOD, NULL, "%s is not allowed here; allowed: %s", m,
                          allow);
        return HTTP_DONE;
    }
    return sta_write(sta, req, resp, &rp);
}
