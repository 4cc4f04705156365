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
 * Batches.  ingest_uplinks takes many uplinks at once (the MQTT subscriber
 * hands over what arrived while the last batch was stored): each is parsed,
 * looked up and decoded on its own, then all that are to be stored go into
 * one CreateObservations request - one writer job, one transaction.
 *
 * De-duplication.  An uplink is identified by DevEUI and frame counter.  An
 * uplink about to be stored is claimed in memory, so the same uplink
 * arriving through another connection or the webhook meanwhile waits for
 * the first to finish instead of being stored twice; no lock is held while
 * storing.  The uplinks_seen row is written inside the transaction of the
 * observations (a hook of the write request), so a crash can neither leave
 * observations without their mark (a redelivery would store them again)
 * nor a mark without observations.  Recently stored uplinks are also
 * remembered in memory (a direct-mapped table), so most duplicates are
 * recognised without a query.
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

#define CLAIM_BUCKETS 1024  /* hash buckets of the uplinks being stored */
#define DEV_SLOTS 256       /* registered devices kept parsed in memory */
#define DEV_TTL_US (5 * 1000000LL) /* then read again: another node may have changed it */
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

size_t ingest_append_groups(const IngestDevice *dev, const Uplink *u, const DecodedValue *v,
                            size_t n, Buf *b, bool comma)
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
        if (comma || g)
            buf_putc(b, ',');
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
    buf_fini(&p);
    return g;
}

void ingest_build_request(const IngestDevice *dev, const Uplink *u, const DecodedValue *v,
                          size_t n, Buf *b, size_t *groups)
{
    size_t at = b->len;
    buf_putc(b, '[');
    *groups = ingest_append_groups(dev, u, v, n, b, false);
    if (*groups)
        buf_putc(b, ']');
    else
        b->data[b->len = at] = '\0';
}

/* ============================================================= state */

/*
 * The device cache: a direct-mapped table of parsed registry rows.  An
 * entry is used for DEV_TTL_US (another node may change the registry),
 * and not at all once this node changed the registry (ingest_devices_changed
 * bumps dev_gen).  Entries are shared by the batches using them (refs) and
 * freed by the last user after they left the table.
 */
typedef struct DevEntry {
    char eui[INGEST_EUI_LEN + 1];
    uint64_t gen;     /* dev_gen when it was read */
    int64_t loaded;   /* monotonic µs */
    int refs;         /* the table's and the batches' (under dev_mu) */
    Arena arena;      /* the device's strings */
    IngestDevice dev;
} DevEntry;

typedef struct Seen {
    char eui[INGEST_EUI_LEN + 1];
    uint32_t f_cnt;
    int64_t received;
} Seen;

struct Ingest {
    IngestConfig cfg;
    pthread_mutex_t seen_mu;  /* seen, claims */
    pthread_cond_t claim_cv;  /* a claim was released */
    struct Pending *claims[CLAIM_BUCKETS];
    pthread_mutex_t dev_mu;   /* devs, refs of their entries */
    DevEntry *devs[DEV_SLOTS];
    atomic_uint_fast64_t dev_gen;
    Seen *seen; /* SEEN_SLOTS entries */
    atomic_uint_fast64_t received, stored, observations, skipped_simulated, skipped_no_payload,
        skipped_unmapped, duplicates, dead_lettered, unknown_device, undecodable, out_of_range,
        invalid, store_errors, rejected, failed, replayed;
};

Ingest *ingest_new(const IngestConfig *cfg)
{
    Ingest *ing = xcalloc(1, sizeof *ing);
    ing->cfg = *cfg;
    pthread_mutex_init(&ing->seen_mu, NULL);
    pthread_cond_init(&ing->claim_cv, NULL);
    pthread_mutex_init(&ing->dev_mu, NULL);
    ing->seen = xcalloc(SEEN_SLOTS, sizeof *ing->seen);
    return ing;
}

void ingest_free(Ingest *ing)
{
    if (!ing)
        return;
    pthread_mutex_destroy(&ing->seen_mu);
    pthread_cond_destroy(&ing->claim_cv);
    for (size_t i = 0; i < DEV_SLOTS; i++)
        if (ing->devs[i]) {
            arena_fini(&ing->devs[i]->arena);
            free(ing->devs[i]);
        }
    pthread_mutex_destroy(&ing->dev_mu);
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

/* The receive time of (eui, f_cnt) if remembered in memory; seen_mu held. */
static bool seen_mem(Ingest *ing, const char *eui, uint32_t f_cnt, int64_t *received)
{
    size_t i = seen_slot(eui, f_cnt);
    bool hit = ing->seen[i].f_cnt == f_cnt && strcmp(ing->seen[i].eui, eui) == 0;
    if (hit)
        *received = ing->seen[i].received;
    return hit;
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

/* One uplink on its way through ingest_uplinks. */
typedef enum {
    P_DONE,    /* finished: res is filled */
    P_READY,   /* decoded, waiting for the duplicate check */
    P_CLAIMED, /* claimed, not stored before as far as memory knows */
    P_STORE,   /* not a duplicate: to be stored */
    P_DEAD,  /* to go to the dead letters (after the locks are released) */
} PendingState;

typedef struct Pending {
    const IngestMsg *msg;
    IngestResult *res;
    PendingState state;
    const char *source;
    Arena arena;
    json_t *root;
    Uplink u;
    DevEntry *dev_entry;            /* a reference, released at the end of the batch */
    const IngestDevice *dev;        /* of dev_entry */
    DecodedValue *v;                /* INGEST_VALUES_MAX of them, in arena */
    size_t n;
    const void *batch;              /* the claim's owner */
    struct Pending *claim_next;     /* bucket chain of Ingest.claims */
    bool claimed;
    size_t groups;                  /* rows in the CreateObservations request */
    size_t good;                    /* of those, stored (seen_rows counts them) */
    size_t first_bad;               /* index of the first failed row, if good < groups */
    bool stored_elsewhere;          /* the store had it when its request ran (another node) */
    bool seen;                      /* stored (wholly or partly): remember it */
    atomic_uint_fast64_t *counter;  /* P_DEAD: the reason's counter */
    int rc;
} Pending;

/* Keeps p's raw message as a dead letter (p->res->reason says why); p is done. */
static void pending_dead(Ingest *ing, Pending *p, unsigned flags, atomic_uint_fast64_t *counter)
{
    p->rc = dead(ing, p->source ? p->source : "lorawan", p->msg->topic, p->msg->payload,
                 p->msg->len, flags, counter, p->res);
    p->state = P_DONE;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void device_release(Ingest *ing, DevEntry *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&ing->dev_mu);
    bool last = --e->refs == 0;
    pthread_mutex_unlock(&ing->dev_mu);
    if (last) {
        arena_fini(&e->arena);
        free(e);
    }
}

/*
 * The registered device eui, from the cache or read on *c (begun on first
 * use); *out is a reference for device_release.  ERR_NOT_FOUND when it is
 * not registered (not cached: registering it must work at once).
 */
static int device(Ingest *ing, const char *eui, StoreConn **c, DevEntry **out, Err *err)
{
    size_t slot = fnv(eui, INGEST_EUI_LEN, UINT64_C(14695981039346656037)) % DEV_SLOTS;
    uint64_t gen = atomic_load(&ing->dev_gen);
    int64_t now = mono_us();
    pthread_mutex_lock(&ing->dev_mu);
    DevEntry *e = ing->devs[slot];
    if (e && e->gen == gen && now - e->loaded < DEV_TTL_US && strcmp(e->eui, eui) == 0) {
        e->refs++;
        pthread_mutex_unlock(&ing->dev_mu);
        *out = e;
        return 0;
    }
    pthread_mutex_unlock(&ing->dev_mu);
    e = xcalloc(1, sizeof *e);
    memcpy(e->eui, eui, sizeof e->eui);
    e->gen = gen;
    e->loaded = now;
    e->refs = 1;
    arena_init(&e->arena, ARENA_CAP);
    StoreDevice row;
    int rc = *c ? 0 : store_read_begin(ing->cfg.store, c, err);
    if (!rc)
        rc = store_device_get(*c, &e->arena, eui, &row, err);
    if (!rc)
        rc = ingest_device_load(&e->arena, &row, &e->dev, err);
    if (rc) {
        device_release(ing, e);
        return rc;
    }
    pthread_mutex_lock(&ing->dev_mu);
    DevEntry *old = ing->devs[slot];
    ing->devs[slot] = e;
    e->refs++;
    bool free_old = old && --old->refs == 0;
    pthread_mutex_unlock(&ing->dev_mu);
    if (free_old) {
        arena_fini(&old->arena);
        free(old);
    }
    *out = e;
    return 0;
}

void ingest_devices_changed(Ingest *ing)
{
    if (ing)
        atomic_fetch_add(&ing->dev_gen, 1);
}

/*
 * Everything that needs no lock: JSON, network-server format, skips, the
 * device (read on *c, begun on first use), decoding and the range check.
 */
static void prepare(Ingest *ing, Pending *p, unsigned flags, StoreConn **c)
{
    IngestResult *res = p->res;
    const IngestMsg *m = p->msg;
    Err err;
    err_init(&err);
    atomic_fetch_add(&ing->received, 1);
    p->state = P_DONE;
    p->source = m->source && *m->source ? m->source : NULL;
    if (!p->source) {
        IngestTopic t;
        if (m->topic && ingest_parse_topic(m->topic, &t, &err) == 0) {
            p->source = t.source;
        } else {
            snprintf(res->reason, sizeof res->reason, "not an uplink topic: %s", err.msg);
            pending_dead(ing, p, flags, &ing->invalid);
            return;
        }
    }
    bool tts = strcmp(p->source, "tts") == 0;
    json_error_t je;
    p->root = json_loadb(m->payload, m->len, 0, &je);
    if (!p->root) {
        snprintf(res->reason, sizeof res->reason, "malformed JSON at line %d, column %d: %s",
                 je.line, je.column, je.text);
    } else if ((tts ? ingest_parse_tts : ingest_parse_chirpstack)(&p->arena, p->root, &p->u,
                                                                  &err)) {
        snprintf(res->reason, sizeof res->reason, "not a %s uplink: %s",
                 tts ? "The Things Stack" : "ChirpStack", err.msg);
    }
    if (res->reason[0]) {
        if (flags & INGEST_REJECT_INVALID) {
            atomic_fetch_add(&ing->invalid, 1);
            atomic_fetch_add(&ing->rejected, 1);
            res->outcome = INGEST_REJECTED;
            return;
        }
        pending_dead(ing, p, flags, &ing->invalid);
        return;
    }
    const Uplink *u = &p->u;
    memcpy(res->dev_eui, u->dev_eui, sizeof res->dev_eui);
    res->f_cnt = u->f_cnt;
    if (u->simulated || u->no_payload) {
        atomic_fetch_add(u->simulated ? &ing->skipped_simulated : &ing->skipped_no_payload, 1);
        res->outcome = INGEST_SKIPPED;
        snprintf(res->reason, sizeof res->reason, "%s",
                 u->simulated ? "simulated uplink" : "uplink without application payload");
        return;
    }

    err_init(&err);
    int rc = device(ing, u->dev_eui, c, &p->dev_entry, &err);
    if (!rc)
        p->dev = &p->dev_entry->dev;
    if (rc == ERR_NOT_FOUND) {
        snprintf(res->reason, sizeof res->reason, "unknown device DevEUI %s", u->dev_eui);
        pending_dead(ing, p, flags, &ing->unknown_device);
        return;
    }
    if (rc) {
        snprintf(res->reason, sizeof res->reason, "device look-up failed: %s", err.msg);
        pending_dead(ing, p, flags, &ing->store_errors);
        return;
    }
    err_init(&err);
    p->v = arena_alloc(&p->arena, INGEST_VALUES_MAX * sizeof *p->v);
    if (!p->v) {
        snprintf(res->reason, sizeof res->reason, "uplink too large to decode");
        pending_dead(ing, p, flags, &ing->invalid);
        return;
    }
    if (ingest_device_decode(p->dev, u, p->v, INGEST_VALUES_MAX, &p->n, &err)) {
        snprintf(res->reason, sizeof res->reason, "undecodable payload (decoder %s, fPort %d): %s",
                 p->dev->decoder, u->f_port, err.msg);
        pending_dead(ing, p, flags, &ing->undecodable);
        return;
    }
    err_init(&err);
    if (ingest_check_mapped(p->dev, p->v, p->n, &err)) {
        snprintf(res->reason, sizeof res->reason, "%s", err.msg);
        pending_dead(ing, p, flags, &ing->out_of_range);
        return;
    }
    p->state = P_READY;
}

/*
 * De-duplication without holding a lock while storing: an uplink about to
 * be stored is claimed (DevEUI, fCnt) in a table under seen_mu; the same
 * uplink arriving meanwhile through another batch waits for the claim to
 * go (then it is in the seen table, or its storing failed and this one
 * tries).  A batch waits only while it holds no claim itself, so two
 * batches never wait for each other.
 */
static size_t claim_bucket(const Uplink *u)
{
    return seen_slot(u->dev_eui, u->f_cnt) % CLAIM_BUCKETS;
}

static const Pending *claim_of(Ingest *ing, const Uplink *u)
{
    for (const Pending *q = ing->claims[claim_bucket(u)]; q; q = q->claim_next)
        if (q->u.f_cnt == u->f_cnt && strcmp(q->u.dev_eui, u->dev_eui) == 0)
            return q;
    return NULL;
}

static void duplicate(Ingest *ing, Pending *p)
{
    atomic_fetch_add(&ing->duplicates, 1);
    p->res->outcome = INGEST_DUPLICATE;
    snprintf(p->res->reason, sizeof p->res->reason,
             "duplicate: DevEUI %s fCnt %u is stored already", p->u.dev_eui,
             (unsigned)p->u.f_cnt);
    p->state = P_DONE;
}

/*
 * Claims the READY uplinks of ps[0..n) that nobody else is storing and
 * settles those remembered in memory as duplicates.  Returns how many it
 * claimed; uplinks claimed by another batch (or earlier in this one, after
 * a counter reset) stay READY for the next round.
 */
static size_t claim(Ingest *ing, Pending *ps, size_t n)
{
    size_t claimed = 0;
    pthread_mutex_lock(&ing->seen_mu);
    for (size_t i = 0; i < n; i++) {
        Pending *p = &ps[i];
        if (p->state != P_READY)
            continue;
        const Pending *q;
        while ((q = claim_of(ing, &p->u)) && q->batch != ps && claimed == 0)
            pthread_cond_wait(&ing->claim_cv, &ing->seen_mu);
        int64_t seen_at = 0;
        if (q && q->batch == ps && ingest_is_duplicate(q->u.received, p->u.received)) {
            duplicate(ing, p); /* twice in this batch */
            continue;
        }
        if (q)
            continue;
        if (seen_mem(ing, p->u.dev_eui, p->u.f_cnt, &seen_at) &&
            ingest_is_duplicate(seen_at, p->u.received)) {
            duplicate(ing, p);
            continue;
        }
        size_t b = claim_bucket(&p->u);
        p->batch = ps;
        p->claimed = true;
        p->claim_next = ing->claims[b];
        ing->claims[b] = p;
        p->state = P_CLAIMED;
        claimed++;
    }
    pthread_mutex_unlock(&ing->seen_mu);
    return claimed;
}

/*
 * Asks the store's uplinks_seen (after a restart, memory knows nothing).
 * seen_rows decides in the transaction anyway; asking first keeps a
 * redelivery after a restart (one already stored) from failing its whole
 * batch and splitting it into single requests.
 */
static void check_stored(Ingest *ing, Pending *ps, size_t n)
{
    StoreConn *c = NULL;
    for (size_t i = 0; i < n; i++) {
        Pending *p = &ps[i];
        if (p->state != P_CLAIMED)
            continue;
        Err err;
        err_init(&err);
        int64_t seen_at = 0;
        bool found = false;
        int rc = c ? 0 : store_read_begin(ing->cfg.store, &c, &err);
        if (!rc)
            rc = store_uplink_seen_get(c, p->u.dev_eui, p->u.f_cnt, &found, &seen_at, &err);
        if (rc) {
            snprintf(p->res->reason, sizeof p->res->reason, "duplicate check failed: %s",
                     err.msg);
            p->state = P_DEAD;
            p->counter = &ing->store_errors;
        } else if (found && ingest_is_duplicate(seen_at, p->u.received)) {
            duplicate(ing, p);
        } else {
            p->state = P_STORE;
        }
    }
    store_read_end(ing->cfg.store, c);
}

/* The outcome of p's rows (counted by seen_rows in the transaction). */
static void judge(Ingest *ing, Pending *p)
{
    IngestResult *res = p->res;
    res->observations = p->good;
    if (p->good < p->groups) {
        char bad[256] = "(unknown)";
        for (size_t i = 0, k = 0; i < p->n; i++) {
            const IngestMapEntry *e = mapped(p->dev, p->v[i].field);
            if (e && k++ == p->first_bad) {
                snprintf(bad, sizeof bad, "field %s (Datastream %lld)", e->field,
                         (long long)e->datastream);
                break;
            }
        }
        snprintf(res->reason, sizeof res->reason,
                 "CreateObservations rejected %zu of %zu values, first %s", p->groups - p->good,
                 p->groups, bad);
        /* The other values are stored: remember the uplink as seen. */
        p->seen = p->good > 0;
        p->state = P_DEAD;
        p->counter = &ing->store_errors;
        return;
    }
    p->seen = true;
    p->state = P_DONE;
    res->outcome = INGEST_STORED;
    atomic_fetch_add(&ing->stored, 1);
    atomic_fetch_add(&ing->observations, p->good);
}

/* The uplinks of one CreateObservations request, for seen_rows. */
typedef struct SeenRows {
    Pending **list;
    size_t m;
    bool ran;
} SeenRows;

/*
 * In the transaction of the request: counts each uplink's stored rows and
 * marks the uplinks with at least one stored as seen in uplinks_seen, so
 * that the observations and the mark are committed together (a crash
 * cannot separate them).
 */
static int seen_rows(StoreConn *c, void *data, const int64_t *ids, size_t n, Err *err)
{
    SeenRows *sr = data;
    sr->ran = true;
    size_t k = 0;
    for (size_t i = 0; i < sr->m; i++) {
        Pending *p = sr->list[i];
        if (p->state != P_STORE)
            continue;
        p->good = 0;
        for (size_t j = 0; j < p->groups; j++, k++) {
            if (k < n && ids[k] != 0)
                p->good++;
            else if (p->good == j)
                p->first_bad = j;
        }
        if (p->good == 0)
            continue;
        StoreUplinkSeen row = {p->u.dev_eui, p->u.f_cnt, p->u.received};
        bool fresh;
        int rc = store_uplink_seen_claim(c, &row, INGEST_RESET_US, &fresh, err);
        if (rc)
            return rc;
        if (!fresh) {
            /* Stored meanwhile through another node (one uplink, two
             * ingesting nodes): undo the request; alone, it is a duplicate. */
            p->stored_elsewhere = true;
            return err_set(err, ERR_CONFLICT, NULL, "DevEUI %s fCnt %u is stored already",
                           p->u.dev_eui, (unsigned)p->u.f_cnt);
        }
    }
    return 0;
}

/*
 * Stores the values of list[0..m) with one CreateObservations request (one
 * transaction).  When the request fails as a whole and holds several
 * uplinks, each is tried alone, so one bad uplink cannot take others down.
 */
static void store_group(Ingest *ing, Pending **list, size_t m)
{
    Buf body;
    buf_init(&body);
    buf_putc(&body, '[');
    size_t rows = 0;
    for (size_t i = 0; i < m; i++) {
        Pending *p = list[i];
        p->groups = ingest_append_groups(p->dev, &p->u, p->v, p->n, &body, rows > 0);
        p->stored_elsewhere = false;
        rows += p->groups;
        if (p->groups == 0) {
            p->res->outcome = INGEST_SKIPPED;
            snprintf(p->res->reason, sizeof p->res->reason, "no mapped field in the uplink");
            atomic_fetch_add(&ing->skipped_unmapped, 1);
            p->seen = true;
            p->state = P_DONE;
        }
    }
    buf_putc(&body, ']');
    if (rows == 0) {
        buf_fini(&body);
        return;
    }
    int status = 0;
    char *resp = NULL;
    SeenRows sr = {list, m, false};
    int rc = ing->cfg.create(ing->cfg.data, "/v1.1/CreateObservations", body.data, seen_rows, &sr,
                             &status, &resp);
    buf_fini(&body);
    bool ok = !rc && (status == 201 || status == 200) && sr.ran;
    size_t members = 0;
    for (size_t i = 0; i < m; i++)
        members += list[i]->state == P_STORE;
    if (ok || members == 1) {
        for (size_t i = 0; i < m; i++) {
            Pending *p = list[i];
            if (p->state != P_STORE)
                continue;
            if (ok) {
                judge(ing, p);
                continue;
            }
            if (p->stored_elsewhere) {
                duplicate(ing, p);
                continue;
            }
            if (rc)
                snprintf(p->res->reason, sizeof p->res->reason, "storing failed: %s",
                         err_name(rc));
            else
                create_reason(status, resp, p->res->reason, sizeof p->res->reason);
            p->state = P_DEAD;
            p->counter = &ing->store_errors;
        }
    } else {
        for (size_t i = 0; i < m; i++)
            if (list[i]->state == P_STORE)
                store_group(ing, &list[i], 1);
    }
    free(resp);
}

/* Remembers the stored uplinks in memory; releases the claims of ps[0..n). */
static void mark_seen(Ingest *ing, Pending *ps, size_t n)
{
    pthread_mutex_lock(&ing->seen_mu);
    for (size_t i = 0; i < n; i++) {
        Pending *p = &ps[i];
        const Uplink *u = &p->u;
        if (p->seen) {
            size_t slot = seen_slot(u->dev_eui, u->f_cnt);
            memcpy(ing->seen[slot].eui, u->dev_eui, sizeof ing->seen[slot].eui);
            ing->seen[slot].f_cnt = u->f_cnt;
            ing->seen[slot].received = u->received;
            p->seen = false;
        }
        if (p->claimed) {
            Pending **pp = &ing->claims[claim_bucket(u)];
            while (*pp != p)
                pp = &(*pp)->claim_next;
            *pp = p->claim_next;
            p->claimed = false;
        }
    }
    pthread_cond_broadcast(&ing->claim_cv);
    pthread_mutex_unlock(&ing->seen_mu);
}

int ingest_uplinks(Ingest *ing, const IngestMsg *msgs, size_t n, unsigned flags,
                   IngestResult *res)
{
    Pending *ps = xcalloc(n, sizeof *ps);
    Pending **list = xcalloc(n, sizeof *list);
    StoreConn *c = NULL;
    size_t ready = 0;
    for (size_t i = 0; i < n; i++) {
        memset(&res[i], 0, sizeof res[i]);
        ps[i].msg = &msgs[i];
        ps[i].res = &res[i];
        arena_init(&ps[i].arena, ARENA_CAP);
        prepare(ing, &ps[i], flags, &c);
        ready += ps[i].state == P_READY;
    }
    store_read_end(ing->cfg.store, c);
    /* Rounds: claim what nobody else is storing, ask the store, store in
     * one request, remember and release.  Uplinks claimed elsewhere wait
     * for the next round (claim waits for them when it holds nothing). */
    while (ready) {
        claim(ing, ps, n);
        check_stored(ing, ps, n);
        size_t nlist = 0;
        for (size_t i = 0; i < n; i++)
            if (ps[i].state == P_STORE)
                list[nlist++] = &ps[i];
        if (nlist)
            store_group(ing, list, nlist);
        mark_seen(ing, ps, n);
        ready = 0;
        for (size_t i = 0; i < n; i++) {
            if (ps[i].state == P_DEAD)
                pending_dead(ing, &ps[i], flags, ps[i].counter);
            ready += ps[i].state == P_READY;
        }
    }
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (ps[i].rc && !rc)
            rc = ps[i].rc;
        json_decref(ps[i].root);
        device_release(ing, ps[i].dev_entry);
        arena_fini(&ps[i].arena);
    }
    free(list);
    free(ps);
    return rc;
}

int ingest_uplink(Ingest *ing, const char *source, const char *topic, const void *payload,
                  size_t len, unsigned flags, IngestResult *res)
{
    IngestMsg m = {source, topic, payload, len};
    return ingest_uplinks(ing, &m, 1, flags, res);
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
