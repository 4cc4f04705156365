/*
 * pipeline.c - one LoRaWAN uplink from raw bytes to Observations (see
 * ingest.h): JSON, network-server format, skip, device, duplicate, decode,
 * range, CreateObservations, mark as seen.  Every failure keeps the raw
 * message in the dead-letter store with its reason.
 *
 * Observations are written through the HTTP write path (the create callback
 * runs POST /v1.1/CreateObservations in-process), so ingested data gets the
 * same validation, FeatureOfInterest generation and MQTT publication as data
 * POSTed by a client.
 *
 * De-duplication.  An uplink is identified by DevEUI and frame counter.
 * Uplinks of one device are serialised by a lock chosen by the DevEUI's
 * hash, held from the duplicate check until the uplink is marked seen, so
 * two connections (or MQTT and the webhook) cannot both store it.  Recently
 * stored uplinks are remembered in memory (a direct-mapped table) and
 * written to uplinks_seen by an asynchronous writer job, which keeps the
 * commit of the observations the only one an uplink waits for; after a
 * restart the table answers.  A crash between the commit of the
 * observations and the commit of the uplinks_seen row can store a later
 * redelivery twice; the opposite order could lose data, which is worse.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/ingest.h"
#include "util/isotime.h"
#include "util/jsonw.h"
#include "util/log.h"

#define STRIPES 64          /* locks by DevEUI hash */
#define SEEN_SLOTS 65536    /* recently stored uplinks kept in memory */
#define ARENA_CAP (1u << 20) /* memory for one uplink */

/* ====================================================== pure steps */

bool ingest_is_duplicate(int64_t seen, int64_t received)
{
    int64_t d = received > seen ? received - seen : seen - received;
    return d < INGEST_RESET_US;
}

static const IngestMapEntry *mapped(const IngestDevice *dev, const char *field)
{
    for (size_t i = 0; i < dev->nmap; i++)
        if (strcmp(dev->map[i].field, field) == 0)
            return &dev->map[i];
    return NULL;
}

/* Values of the network server's decoded object for the mapped fields. */
static int ns_values(const IngestDevice *dev, const json_t *obj, DecodedValue *out, size_t max,
                     size_t *count, Err *err)
{
    size_t n = 0;
    for (size_t i = 0; i < dev->nmap; i++) {
        const IngestMapEntry *e = &dev->map[i];
        const json_t *v = json_object_get(obj, e->field);
        /* TTS formatters often give {"value": 1234, "unit": "mm"}. */
        if (json_is_object(v))
            v = json_object_get(v, "value");
        if (!v || json_is_null(v))
            continue;
        if (n == max)
            return err_set(err, ERR_TOO_LARGE, e->field, "too many values");
        DecodedValue *d = &out[n];
        d->field = e->field;
        d->unit = e->unit ? e->unit : "1";
        d->is_bool = json_is_boolean(v);
        if (json_is_boolean(v))
            d->value = json_is_true(v) ? 1 : 0;
        else if (json_is_number(v))
            d->value = json_number_value(v);
        else
            return err_set(err, ERR_INVALID, e->field,
                           "decoded field %s is not a number or boolean in the network "
                           "server's decoded object",
                           e->field);
        if (!isfinite(d->value))
            return err_set(err, ERR_INVALID, e->field, "decoded field %s is not finite",
                           e->field);
        n++;
    }
    *count = n;
    return 0;
}

int ingest_device_decode(const IngestDevice *dev, const Uplink *u, DecodedValue *out, size_t max,
                         size_t *count, Err *err)
{
    if (dev->use_ns_decoded && json_is_object(u->decoded))
        return ns_values(dev, u->decoded, out, max, count, err);
    if (strcmp(dev->decoder, "none") == 0)
        return err_set(err, ERR_INVALID, "payload",
                       "the uplink has no decoded object from the network server and the "
                       "device has no decoder of its own");
    if (strcmp(dev->decoder, "spec") == 0)
        return ingest_decode_spec(&dev->spec, u->f_port, u->payload, u->payload_len, out, max,
                                  count, err);
    return ingest_decode(dev->decoder, u->f_port, u->payload, u->payload_len, out, max, count,
                         err);
}

int ingest_check_mapped(const IngestDevice *dev, const DecodedValue *v, size_t n, Err *err)
{
    for (size_t i = 0; i < n; i++) {
        if (!mapped(dev, v[i].field) || v[i].is_bool)
            continue;
        Err rerr;
        err_init(&rerr);
        if (ingest_check_range(v[i].field, v[i].unit, v[i].value, &rerr))
            return err_set(err, ERR_INVALID, v[i].field, "value out of range: field %s = %g %s (%s)",
                           v[i].field, v[i].value, v[i].unit, rerr.msg);
    }
    return 0;
}

static void params(const Uplink *u, Buf *b)
{
    buf_puts(b, "{\"devEui\":");
    jw_str(b, u->dev_eui);
    buf_puts(b, ",\"fCnt\":");
    jw_int(b, u->f_cnt);
    buf_puts(b, ",\"fPort\":");
    jw_int(b, u->f_port);
    if (u->gateway_count > 0) {
        buf_puts(b, ",\"rssi\":");
        jw_real(b, u->rssi);
        buf_puts(b, ",\"snr\":");
        jw_real(b, u->snr);
    }
    buf_puts(b, ",\"gateway\":");
    if (u->gateway_id)
        jw_str(b, u->gateway_id);
    else
        buf_puts(b, "null");
    buf_puts(b, ",\"gateways\":");
    jw_int(b, u->gateway_count);
    if (u->spreading_factor) {
        buf_puts(b, ",\"spreadingFactor\":");
        jw_int(b, u->spreading_factor);
    }
    if (u->frequency) {
        buf_puts(b, ",\"frequency\":");
        jw_int(b, (int64_t)u->frequency);
    }
    buf_putc(b, '}');
}

void ingest_build_request(const IngestDevice *dev, const Uplink *u, const DecodedValue *v,
                          size_t n, Buf *b, size_t *groups)
{
    size_t g = 0;
    char t[ISOTIME_MAX];
    isotime_format(u->received, t);
    Buf p;
    buf_init(&p);
    params(u, &p);
    for (size_t i = 0; i < n; i++) {
        const IngestMapEntry *e = mapped(dev, v[i].field);
        if (!e)
            continue;
        buf_puts(b, g ? "," : "[");
        buf_puts(b, "{\"Datastream\":{\"@iot.id\":");
        jw_int(b, e->datastream);
        buf_puts(b, "},\"components\":[\"phenomenonTime\",\"result\",\"parameters\"],"
                    "\"dataArray\":[[");
        jw_str(b, t);
        buf_putc(b, ',');
        if (e->truth)
            buf_puts(b, v[i].value != 0 ? "true" : "false");
        else if (e->count)
            jw_int(b, (int64_t)llround(v[i].value));
        else
            jw_real(b, v[i].value);
        buf_putc(b, ',');
        buf_append(b, p.data, p.len);
        buf_puts(b, "]]}");
        g++;
    }
    if (g)
        buf_putc(b, ']');
    buf_fini(&p);
    *groups = g;
}

/* ============================================================= state */

typedef struct Seen {
    char eui[INGEST_EUI_LEN + 1];
    uint32_t f_cnt;
    int64_t received;
} Seen;

struct Ingest {
    IngestConfig cfg;
    pthread_mutex_t stripes[STRIPES];
    pthread_mutex_t seen_mu;
    Seen *seen; /* SEEN_SLOTS entries */
    atomic_uint_fast64_t received, stored, observations, skipped_simulated, skipped_no_payload,
        skipped_unmapped, duplicates, dead_lettered, unknown_device, undecodable, out_of_range,
        invalid, store_errors, rejected, failed, replayed;
};

Ingest *ingest_new(const IngestConfig *cfg)
{
    Ingest *ing = xcalloc(1, sizeof *ing);
    ing->cfg = *cfg;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_init(&ing->stripes[i], NULL);
    pthread_mutex_init(&ing->seen_mu, NULL);
    ing->seen = xcalloc(SEEN_SLOTS, sizeof *ing->seen);
    return ing;
}

void ingest_free(Ingest *ing)
{
    if (!ing)
        return;
    for (int i = 0; i < STRIPES; i++)
        pthread_mutex_destroy(&ing->stripes[i]);
    pthread_mutex_destroy(&ing->seen_mu);
    free(ing->seen);
    free(ing);
}

void ingest_stats(Ingest *ing, IngestStats *o)
{
#define C(f) o->f = atomic_load(&ing->f)
    C(received), C(stored), C(observations), C(skipped_simulated), C(skipped_no_payload);
    C(skipped_unmapped), C(duplicates), C(dead_lettered), C(unknown_device), C(undecodable);
    C(out_of_range), C(invalid), C(store_errors), C(rejected), C(failed), C(replayed);
#undef C
}

void ingest_count_replay(Ingest *ing)
{
    atomic_fetch_add(&ing->replayed, 1);
}

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * UINT64_C(1099511628211);
    return h;
}

static size_t seen_slot(const char *eui, uint32_t f_cnt)
{
    uint64_t h = fnv(eui, INGEST_EUI_LEN, UINT64_C(14695981039346656037));
    h = fnv(&f_cnt, sizeof f_cnt, h);
    return (size_t)(h % SEEN_SLOTS);
}

/* The receive time of (eui, f_cnt) if remembered in memory. */
static bool seen_mem(Ingest *ing, const char *eui, uint32_t f_cnt, int64_t *received)
{
    size_t i = seen_slot(eui, f_cnt);
    pthread_mutex_lock(&ing->seen_mu);
    bool hit = ing->seen[i].f_cnt == f_cnt && strcmp(ing->seen[i].eui, eui) == 0;
    if (hit)
        *received = ing->seen[i].received;
    pthread_mutex_unlock(&ing->seen_mu);
    return hit;
}

typedef struct SeenJob {
    StoreJob job;
    StoreUplinkSeen row;
    char eui[INGEST_EUI_LEN + 1];
} SeenJob;

static void seen_done(StoreJob *job)
{
    free(job->data);
}

static int seen_run(StoreConn *c, void *data, Err *err)
{
    SeenJob *j = data;
    return store_uplink_seen_put(c, &j->row, err);
}

static void mark_seen(Ingest *ing, const Uplink *u)
{
    size_t i = seen_slot(u->dev_eui, u->f_cnt);
    pthread_mutex_lock(&ing->seen_mu);
    memcpy(ing->seen[i].eui, u->dev_eui, sizeof ing->seen[i].eui);
    ing->seen[i].f_cnt = u->f_cnt;
    ing->seen[i].received = u->received;
    pthread_mutex_unlock(&ing->seen_mu);
    SeenJob *j = xcalloc(1, sizeof *j);
    memcpy(j->eui, u->dev_eui, sizeof j->eui);
    j->row = (StoreUplinkSeen){j->eui, u->f_cnt, u->received};
    j->job.fn = seen_run;
    j->job.done = seen_done;
    j->job.data = j;
    store_submit(ing->cfg.store, &j->job);
}

/* ========================================================= the pipeline */

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Keeps the raw message; fills res.  counter is the reason's own counter. */
static int dead(Ingest *ing, const char *source, const char *topic, const void *payload,
                size_t len, unsigned flags, atomic_uint_fast64_t *counter, IngestResult *res)
{
    atomic_fetch_add(counter, 1);
    if (flags & INGEST_NO_DEAD_LETTER) {
        res->outcome = INGEST_REJECTED;
        atomic_fetch_add(&ing->rejected, 1);
        return 0;
    }
    StoreDeadLetter dl = {0, now_us(), source ? source : "lorawan", topic, payload, len,
                          res->reason, 0};
    Err err;
    err_init(&err);
    int rc = store_run(ing->cfg.store, store_dead_letter_add, &dl, &err);
    if (rc) {
        atomic_fetch_add(&ing->failed, 1);
        res->outcome = INGEST_FAILED;
        LOG(LOG_ERROR, "msg=\"lorawan: cannot store a dead letter; the uplink is lost\" "
                       "topic=\"%s\" reason=\"%s\" error=\"%s\"",
            topic ? topic : "", res->reason, err.msg);
        return rc;
    }
    atomic_fetch_add(&ing->dead_lettered, 1);
    res->outcome = INGEST_DEAD;
    res->dead_letter = dl.id;
    LOG(LOG_WARN, "msg=\"lorawan uplink dead-lettered\" id=%lld dev_eui=%s f_cnt=%u topic=\"%s\" "
                  "reason=\"%s\"",
        (long long)dl.id, res->dev_eui[0] ? res->dev_eui : "-", (unsigned)res->f_cnt,
        topic ? topic : "", res->reason);
    return 0;
}

/* The reason of a failed CreateObservations answer. */
static void create_reason(int status, const char *body, char *out, size_t outsz)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    snprintf(out, outsz, "storing failed: HTTP %d%s%s", status, msg ? ": " : "", msg ? msg : "");
    json_decref(root);
}

/* Runs the decoded values of one device through the write path. */
static int store_values(Ingest *ing, const IngestDevice *dev, const Uplink *u,
                        const DecodedValue *v, size_t n, IngestResult *res, bool *ok)
{
    Buf body;
    buf_init(&body);
    size_t groups = 0;
    ingest_build_request(dev, u, v, n, &body, &groups);
    *ok = false;
    if (groups == 0) {
        buf_fini(&body);
        res->outcome = INGEST_SKIPPED;
        snprintf(res->reason, sizeof res->reason, "no mapped field in the uplink");
        atomic_fetch_add(&ing->skipped_unmapped, 1);
        *ok = true;
        return 0;
    }
    int status = 0;
    char *resp = NULL;
    int rc = ing->cfg.create(ing->cfg.data, "/v1.1/CreateObservations", body.data, &status, &resp);
    buf_fini(&body);
    if (rc) {
        snprintf(res->reason, sizeof res->reason, "storing failed: %s", err_name(rc));
        free(resp);
        return 0;
    }
    if (status != 201 && status != 200) {
        create_reason(status, resp, res->reason, sizeof res->reason);
        free(resp);
        return 0;
    }
    /* The answer is an array with a selfLink or "error" per row, in order. */
    json_t *arr = resp ? json_loads(resp, 0, NULL) : NULL;
    size_t good = 0, k = 0;
    char bad[256] = "";
    for (size_t i = 0; i < n && json_is_array(arr); i++) {
        const IngestMapEntry *e = mapped(dev, v[i].field);
        if (!e)
            continue;
        const char *s = json_string_value(json_array_get(arr, k++));
        if (s && strcmp(s, "error") != 0)
            good++;
        else if (!bad[0])
            snprintf(bad, sizeof bad, "field %s (Datastream %lld)", e->field,
                     (long long)e->datastream);
    }
    json_decref(arr);
    free(resp);
    res->observations = good;
    if (good < groups) {
        snprintf(res->reason, sizeof res->reason,
                 "CreateObservations rejected %zu of %zu values, first %s", groups - good,
                 groups, bad[0] ? bad : "(unknown)");
        /* The other values are stored: remember the uplink as seen. */
        return good ? 1 : 0;
    }
    *ok = true;
    res->outcome = INGEST_STORED;
    return 0;
}

int ingest_uplink(Ingest *ing, const char *source, const char *topic, const void *payload,
                  size_t len, unsigned flags, IngestResult *res)
{
    memset(res, 0, sizeof *res);
    atomic_fetch_add(&ing->received, 1);
    Arena arena;
    arena_init(&arena, ARENA_CAP);
    json_t *root = NULL;
    int rc = 0;
    Err err;
    err_init(&err);
    if (!source || !*source) {
        IngestTopic t;
        if (topic && ingest_parse_topic(topic, &t, &err) == 0) {
            source = t.source;
        } else {
            snprintf(res->reason, sizeof res->reason, "not an uplink topic: %s", err.msg);
            rc = dead(ing, "lorawan", topic, payload, len, flags, &ing->invalid, res);
            goto done;
        }
    }
    bool tts = strcmp(source, "tts") == 0;
    json_error_t je;
    root = json_loadb(payload, len, 0, &je);
    Uplink u;
    if (!root) {
        snprintf(res->reason, sizeof res->reason, "malformed JSON at line %d, column %d: %s",
                 je.line, je.column, je.text);
    } else if ((tts ? ingest_parse_tts : ingest_parse_chirpstack)(&arena, root, &u, &err)) {
        snprintf(res->reason, sizeof res->reason, "not a %s uplink: %s",
                 tts ? "The Things Stack" : "ChirpStack", err.msg);
    }
    if (res->reason[0]) {
        if (flags & INGEST_REJECT_INVALID) {
            atomic_fetch_add(&ing->invalid, 1);
            atomic_fetch_add(&ing->rejected, 1);
            res->outcome = INGEST_REJECTED;
            goto done;
        }
        rc = dead(ing, source, topic, payload, len, flags, &ing->invalid, res);
        goto done;
    }
    memcpy(res->dev_eui, u.dev_eui, sizeof res->dev_eui);
    res->f_cnt = u.f_cnt;
    if (u.simulated || u.no_payload) {
        atomic_fetch_add(u.simulated ? &ing->skipped_simulated : &ing->skipped_no_payload, 1);
        res->outcome = INGEST_SKIPPED;
        snprintf(res->reason, sizeof res->reason, "%s",
                 u.simulated ? "simulated uplink" : "uplink without application payload");
        goto done;
    }

    /* The device. */
    StoreConn *c = NULL;
    StoreDevice row;
    IngestDevice dev;
    err_init(&err);
    rc = store_read_begin(ing->cfg.store, &c, &err);
    if (!rc)
        rc = store_device_get(c, &arena, u.dev_eui, &row, &err);
    if (!rc)
        rc = ingest_device_load(&arena, &row, &dev, &err);
    store_read_end(ing->cfg.store, c);
    if (rc == ERR_NOT_FOUND) {
        snprintf(res->reason, sizeof res->reason, "unknown device DevEUI %s", u.dev_eui);
        rc = dead(ing, source, topic, payload, len, flags, &ing->unknown_device, res);
        goto done;
    }
    if (rc) {
        snprintf(res->reason, sizeof res->reason, "device look-up failed: %s", err.msg);
        rc = dead(ing, source, topic, payload, len, flags, &ing->store_errors, res);
        goto done;
    }

    /* One device at a time from here to mark_seen. */
    pthread_mutex_t *lock =
        &ing->stripes[fnv(u.dev_eui, INGEST_EUI_LEN, UINT64_C(14695981039346656037)) % STRIPES];
    pthread_mutex_lock(lock);
    int64_t seen_at = 0;
    bool found = seen_mem(ing, u.dev_eui, u.f_cnt, &seen_at);
    if (!found) {
        err_init(&err);
        c = NULL;
        rc = store_read_begin(ing->cfg.store, &c, &err);
        if (!rc)
            rc = store_uplink_seen_get(c, u.dev_eui, u.f_cnt, &found, &seen_at, &err);
        store_read_end(ing->cfg.store, c);
        if (rc) {
            pthread_mutex_unlock(lock);
            snprintf(res->reason, sizeof res->reason, "duplicate check failed: %s", err.msg);
            rc = dead(ing, source, topic, payload, len, flags, &ing->store_errors, res);
            goto done;
        }
    }
    if (found && ingest_is_duplicate(seen_at, u.received)) {
        pthread_mutex_unlock(lock);
        atomic_fetch_add(&ing->duplicates, 1);
        res->outcome = INGEST_DUPLICATE;
        snprintf(res->reason, sizeof res->reason, "duplicate: DevEUI %s fCnt %u is stored already",
                 u.dev_eui, (unsigned)u.f_cnt);
        rc = 0;
        goto done;
    }

    DecodedValue v[INGEST_VALUES_MAX];
    size_t n = 0;
    err_init(&err);
    if (ingest_device_decode(&dev, &u, v, INGEST_VALUES_MAX, &n, &err)) {
        pthread_mutex_unlock(lock);
        snprintf(res->reason, sizeof res->reason, "undecodable payload (decoder %s, fPort %d): %s",
                 dev.decoder, u.f_port, err.msg);
        rc = dead(ing, source, topic, payload, len, flags, &ing->undecodable, res);
        goto done;
    }
    err_init(&err);
    if (ingest_check_mapped(&dev, v, n, &err)) {
        pthread_mutex_unlock(lock);
        snprintf(res->reason, sizeof res->reason, "%s", err.msg);
        rc = dead(ing, source, topic, payload, len, flags, &ing->out_of_range, res);
        goto done;
    }
    bool ok;
    int partial = store_values(ing, &dev, &u, v, n, res, &ok);
    if (ok || partial)
        mark_seen(ing, &u);
    pthread_mutex_unlock(lock);
    if (ok) {
        if (res->outcome == INGEST_STORED) {
            atomic_fetch_add(&ing->stored, 1);
            atomic_fetch_add(&ing->observations, res->observations);
        }
        rc = 0;
        goto done;
    }
    rc = dead(ing, source, topic, payload, len, flags, &ing->store_errors, res);
done:
    json_decref(root);
    arena_fini(&arena);
    return rc;
}

/* ====================================================== registration */

int ingest_device_register(Store *s, Arena *a, const json_t *obj, const char *path_eui,
                           bool replace, bool *created, StoreDevice *out, Err *err)
{
    IngestDevice dev;
    int rc = ingest_device_parse(a, obj, path_eui, &dev, err);
    if (rc)
        return rc;
    StoreConn *c = NULL;
    StoreDevice row;
    rc = store_read_begin(s, &c, err);
    if (!rc)
        rc = ingest_device_check(c, a, &dev, &row, err);
    store_read_end(s, c);
    if (rc)
        return rc;
    row.updated = now_us();
    row.replace = replace;
    rc = store_run(s, store_device_put, &row, err);
    if (rc)
        return rc;
    *created = !row.existed;
    *out = row;
    return 0;
}

typedef struct ImportJob {
    StoreDevice *rows;
    size_t n;
} ImportJob;

static int import_run(StoreConn *c, void *data, Err *err)
{
    ImportJob *j = data;
    for (size_t i = 0; i < j->n; i++) {
        int rc = store_device_put(c, &j->rows[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

int ingest_devices_import(Store *s, Arena *a, const json_t *arr, size_t *n, Err *err)
{
    if (!json_is_array(arr))
        return err_set(err, ERR_INVALID, NULL, "a device import is a JSON array of devices");
    size_t cnt = json_array_size(arr);
    StoreDevice *rows = arena_zalloc(a, (cnt ? cnt : 1) * sizeof *rows);
    if (!rows)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    StoreConn *c = NULL;
    int rc = store_read_begin(s, &c, err);
    int64_t now = now_us();
    for (size_t i = 0; !rc && i < cnt; i++) {
        IngestDevice dev;
        Err e;
        err_init(&e);
        rc = ingest_device_parse(a, json_array_get(arr, i), NULL, &dev, &e);
        if (!rc)
            rc = ingest_device_check(c, a, &dev, &rows[i], &e);
        for (size_t k = 0; !rc && k < i; k++)
            if (strcmp(rows[k].dev_eui, rows[i].dev_eui) == 0)
                rc = err_set(&e, ERR_INVALID, "devEui", "devEui %s appears twice (also [%zu])",
                             rows[i].dev_eui, k);
        if (rc) {
            char field[ERR_FIELD_MAX + 32];
            snprintf(field, sizeof field, "[%zu]%s%s", i, e.field[0] ? "." : "", e.field);
            err_set(err, e.code, field, "[%zu]: %s", i, e.msg);
            err->position = e.position;
            break;
        }
        rows[i].updated = now;
        rows[i].replace = true;
    }
    store_read_end(s, c);
    if (rc)
        return rc;
    ImportJob job = {rows, cnt};
    rc = store_run(s, import_run, &job, err);
    if (!rc)
        *n = cnt;
    return rc;
}
