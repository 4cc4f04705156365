/*
 * mqtt.c - the SensorThings MQTT extension (OGC 18-088 §14) as an event sink
 * on libmosquitto, MQTT v5 (see events.h and docs/mqtt.md).
 *
 * Outgoing: every committed create/update arrives as an Event; the pure
 * function events_mqtt_messages turns it into (topic, payload) pairs and the
 * sink hands them to libmosquitto with QoS 1, which queues them and sends
 * them from our network thread, so a writer never waits for the broker.
 *
 * Incoming: the network thread receives Observations published by clients
 * on v1.1/Observations and v1.1/+/Observations and runs each through the
 * application's create callback (the HTTP write path) before returning from
 * the message callback.  libmosquitto queues the PUBACK before it calls us,
 * but in threaded mode only this thread writes to the socket, so the broker
 * sees the acknowledgement only after the commit.  A message the broker
 * delivers again because that acknowledgement was lost (broker restart) is
 * recognised by its packet id, topic and payload and stored only once.
 *
 * $select topics (§14.2.4) are published only for the select lists clients
 * have subscribed to; the broker plugin in mosquitto/ tells us which, as a
 * retained message on $klammer/select-topics.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <errno.h>
#include <jansson.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "events/events.h"
#include "events/mqtt_link.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/jsonw.h"
#include "util/log.h"

#define SELECT_MARK "?$select="
#define SELECT_TOPIC "$klammer/select-topics"
#define SELECT_MAX 4096 /* most $select filters we keep track of */
#define RING 1024       /* recently stored messages remembered for redelivery */
#define KEEPALIVE 30    /* seconds */

/* ================================================================ topics */

static const char *skip_ws(const char *p, const char *e)
{
    while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* p at the opening quote; returns the position after the closing one, or NULL. */
static const char *skip_string(const char *p, const char *e)
{
    for (p++; p < e; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return NULL;
}

static const char *skip_value(const char *p, const char *e)
{
    if (p >= e)
        return NULL;
    if (*p == '"')
        return skip_string(p, e);
    if (*p == '{' || *p == '[') {
        int depth = 0;
        while (p < e) {
            if (*p == '"') {
                if (!(p = skip_string(p, e)))
                    return NULL;
                continue;
            }
            if (*p == '{' || *p == '[')
                depth++;
            else if ((*p == '}' || *p == ']') && --depth == 0)
                return p + 1;
            p++;
        }
        return NULL;
    }
    const char *s = p;
    while (p < e && *p != ',' && *p != '}' && *p != ']' && *p != ' ' && *p != '\t' &&
           *p != '\r' && *p != '\n')
        p++;
    return p > s ? p : NULL;
}

bool events_json_member(const char *json, size_t len, const char *key, const char **val,
                        size_t *vlen)
{
    const char *p = json, *e = json + len;
    size_t klen = strlen(key);
    p = skip_ws(p, e);
    if (p == e || *p != '{')
        return false;
    p++;
    for (;;) {
        p = skip_ws(p, e);
        if (p == e || *p != '"')
            return false;
        const char *ks = p + 1;
        if (!(p = skip_string(p, e)))
            return false;
        const char *ke = p - 1;
        p = skip_ws(p, e);
        if (p == e || *p != ':')
            return false;
        p = skip_ws(p + 1, e);
        const char *vs = p;
        if (!(p = skip_value(p, e)))
            return false;
        if ((size_t)(ke - ks) == klen && memcmp(ks, key, klen) == 0) {
            *val = vs;
            *vlen = (size_t)(p - vs);
            return true;
        }
        p = skip_ws(p, e);
        if (p == e || *p != ',')
            return false;
        p++;
    }
}

static void add_msg(MqttMsgs *out, char *topic, Buf *payload)
{
    if (out->n == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 8;
        out->v = xrealloc(out->v, out->cap * sizeof *out->v);
    }
    MqttMsg *m = &out->v[out->n++];
    m->topic = topic;
    m->len = payload->len;
    m->payload = buf_steal(payload, NULL);
}

static bool has_topic(const MqttMsgs *out, size_t from, const char *topic)
{
    for (size_t i = from; i < out->n; i++)
        if (strcmp(out->v[i].topic, topic) == 0)
            return true;
    return false;
}

/* Formats a topic into a fresh malloc'd string (buf_printf into a scratch Buf). */
#define TOPIC(tb, ...) (buf_init(tb), buf_printf(tb, __VA_ARGS__), buf_steal(tb, NULL))

/* {"a":..,"b":..} with the listed properties of the entity, in list order (§14.2.4). */
static void select_payload(const Event *ev, const char *list, Buf *out)
{
    buf_putc(out, '{');
    bool first = true;
    const char *p = list;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *s = p, *e = p + n;
        while (s < e && *s == ' ')
            s++;
        while (e > s && e[-1] == ' ')
            e--;
        char name[128], key[160];
        if (e > s && (size_t)(e - s) < sizeof name) {
            memcpy(name, s, (size_t)(e - s));
            name[e - s] = '\0';
            if (strcmp(name, "id") == 0)
                snprintf(key, sizeof key, "@iot.id");
            else if (model_rel(ev->def, name, strlen(name)))
                snprintf(key, sizeof key, "%s@iot.navigationLink", name);
            else
                snprintf(key, sizeof key, "%s", name);
            const char *v;
            size_t vn;
            if (events_json_member(ev->json, ev->len, key, &v, &vn)) {
                if (!first)
                    buf_putc(out, ',');
                first = false;
                jw_key(out, key);
                buf_append(out, v, vn);
            }
        }
        p += n;
        if (*p == ',')
            p++;
    }
    buf_putc(out, '}');
}

void events_mqtt_messages(const Event *ev, const char *const *selects, size_t nselects,
                          MqttMsgs *out)
{
    const EntityDef *def = ev->def;
    const char *ver = ev->version_path;
    Buf pl, tb;
    buf_init(&pl);
    if (ev->kind == EV_CREATED && ev->json) {
        size_t first = out->n;
        /* §14.2.1: the collection and each navigation path that reaches the entity. */
        buf_append(&pl, ev->json, ev->len);
        add_msg(out, TOPIC(&tb, "%s/%s", ver, def->set), &pl);
        for (int r = 0; r < def->nrels; r++) {
            const Rel *rel = &def->rels[r];
            if (rel->kind != REL_ONE || !ev->parent_ids || ev->parent_ids[r] <= 0)
                continue;
            const Rel *inv = model_rel_inverse(def, rel);
            if (!inv)
                continue;
            buf_append(&pl, ev->json, ev->len);
            add_msg(out,
                    TOPIC(&tb, "%s/%s(%lld)/%s", ver, model_entity(rel->target)->set,
                                 (long long)ev->parent_ids[r], inv->name),
                    &pl);
        }
        /* §14.2.4: $select on those entity sets, for the lists subscribed to. */
        size_t nbase = out->n;
        for (size_t i = 0; i < nselects; i++) {
            const char *mark = strstr(selects[i], SELECT_MARK);
            if (!mark || mark == selects[i] || !mark[strlen(SELECT_MARK)])
                continue;
            char filter[1024];
            size_t fn = (size_t)(mark - selects[i]);
            if (fn >= sizeof filter)
                continue;
            memcpy(filter, selects[i], fn);
            filter[fn] = '\0';
            const char *list = mark + strlen(SELECT_MARK);
            for (size_t k = first; k < nbase; k++) {
                bool match = false;
                if (mosquitto_topic_matches_sub(filter, out->v[k].topic, &match) !=
                        MOSQ_ERR_SUCCESS ||
                    !match)
                    continue;
                char *t = TOPIC(&tb, "%s" SELECT_MARK "%s", out->v[k].topic, list);
                if (has_topic(out, nbase, t)) {
                    free(t);
                    continue;
                }
                select_payload(ev, list, &pl);
                add_msg(out, t, &pl);
            }
        }
    } else if (ev->kind == EV_UPDATED && ev->json) {
        /* §14.2.2: the entity; §14.2.3: each property that changed. */
        buf_append(&pl, ev->json, ev->len);
        add_msg(out, TOPIC(&tb, "%s/%s(%lld)", ver, def->set, (long long)ev->id), &pl);
        for (int i = 0; i < def->nprops && i < 32; i++) {
            if (!(ev->changed & (UINT32_C(1) << i)))
                continue;
            const char *name = def->props[i].name, *v;
            size_t vn;
            buf_putc(&pl, '{');
            jw_key(&pl, name);
            if (events_json_member(ev->json, ev->len, name, &v, &vn))
                buf_append(&pl, v, vn);
            else
                buf_puts(&pl, "null");
            buf_putc(&pl, '}');
            add_msg(out, TOPIC(&tb, "%s/%s(%lld)/%s", ver, def->set, (long long)ev->id, name),
                    &pl);
        }
    }
    buf_fini(&pl);
}

void events_mqtt_msgs_fini(MqttMsgs *out)
{
    for (size_t i = 0; i < out->n; i++) {
        free(out->v[i].topic);
        free(out->v[i].payload);
    }
    free(out->v);
    memset(out, 0, sizeof *out);
}

MqttInKind events_mqtt_classify(const char *topic, const void *payload, size_t len, char *path,
                                size_t pathsz, const char **reason)
{
    /* §14.3: the topic is the resource path of the collection to create in. */
    if (strncmp(topic, "v1.1/", 5) != 0 || strchr(topic, '?')) {
        *reason = "topic is not a SensorThings v1.1 collection path";
        return MQTT_IN_INVALID;
    }
    if ((size_t)snprintf(path, pathsz, "/%s", topic) >= pathsz) {
        *reason = "topic too long";
        return MQTT_IN_INVALID;
    }
    if (len == 0) {
        *reason = "empty payload";
        return MQTT_IN_INVALID;
    }
    if (memchr(payload, '\0', len)) {
        *reason = "payload contains a NUL byte";
        return MQTT_IN_INVALID;
    }
    const char *v;
    size_t vn;
    if (events_json_member(payload, len, "@iot.id", &v, &vn))
        return MQTT_IN_NOTIFICATION;
    return MQTT_IN_CREATE;
}

int events_mqtt_url_parse(const char *url, char *host, size_t hostsz, int *port, bool *tls,
                          Err *err)
{
    const char *p;
    bool t;
    if (strncmp(url, "mqtt://", 7) == 0)
        p = url + 7, t = false;
    else if (strncmp(url, "mqtts://", 8) == 0)
        p = url + 8, t = true;
    else
        return err_set(err, ERR_CONFIG, "mqtt",
                       "broker URL '%s' must start with mqtt:// or mqtts://", url);
    const char *hs = p, *he;
    if (*p == '[') {
        hs = p + 1;
        he = strchr(hs, ']');
        if (!he)
            return err_set(err, ERR_CONFIG, "mqtt", "broker URL '%s': missing ']'", url);
        p = he + 1;
    } else {
        he = p + strcspn(p, ":/");
        p = he;
    }
    if (he == hs)
        return err_set(err, ERR_CONFIG, "mqtt", "broker URL '%s' has no host", url);
    if ((size_t)(he - hs) >= hostsz)
        return err_set(err, ERR_CONFIG, "mqtt", "broker URL '%s': host name too long", url);
    int pt = t ? 8883 : 1883;
    if (*p == ':') {
        char *end;
        errno = 0;
        long x = strtol(p + 1, &end, 10);
        if (end == p + 1 || errno || x < 1 || x > 65535 || (*end && strcmp(end, "/") != 0))
            return err_set(err, ERR_CONFIG, "mqtt",
                           "broker URL '%s': port must be a number from 1 to 65535", url);
        pt = (int)x;
    } else if (*p && strcmp(p, "/") != 0) {
        return err_set(err, ERR_CONFIG, "mqtt",
                       "broker URL '%s': expected mqtt://host:port (no path)", url);
    }
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = pt;
    *tls = t;
    return 0;
}

/* ================================================================== sink */

/* An immutable set of $select filters, shared by reference between threads. */
typedef struct SelectSet {
    atomic_int refs;
    size_t n;
    char **v;
} SelectSet;

struct MqttSink {
    struct mosquitto *mosq;
    char *url, *host, *client_id;
    int port;
    int64_t session_expiry;
    MqttCreateFn create;
    bool create_shared;
    MqttDeadLetterFn dead_letter;
    void *data;

    pthread_t thread;
    bool running;          /* thread started and not yet joined */
    MqttLink link;         /* its mu also guards selects */
    SelectSet *selects;

    atomic_uint_fast64_t connects, published, acknowledged, dropped, received, created,
        dead_lettered, ignored, duplicates;
    atomic_int_fast64_t inflight; /* published and not yet acknowledged */

    /* Network thread only. */
    struct {
        int mid;
        uint64_t hash;
        uint64_t epoch; /* connects count when it was stored */
    } ring[RING];
    unsigned ring_next;
};

static void select_unref(SelectSet *s)
{
    if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    free(s);
}

static SelectSet *select_get(MqttSink *m)
{
    pthread_mutex_lock(&m->link.mu);
    SelectSet *s = m->selects;
    if (s)
        atomic_fetch_add(&s->refs, 1);
    pthread_mutex_unlock(&m->link.mu);
    return s;
}

void events_mqtt_sink(void *data, const Event *ev)
{
    MqttSink *m = data;
    if (ev->kind == EV_DELETED || !ev->json)
        return;
    SelectSet *s = select_get(m);
    MqttMsgs msgs = {0};
    events_mqtt_messages(ev, s ? (const char *const *)s->v : NULL, s ? s->n : 0, &msgs);
    select_unref(s);
    for (size_t i = 0; i < msgs.n; i++) {
        const MqttMsg *msg = &msgs.v[i];
        if (atomic_load(&m->inflight) >= MQTT_QUEUE_MAX) {
            atomic_fetch_add(&m->dropped, 1);
            continue;
        }
        /* QoS 1, not retained (§14.2); libmosquitto copies and queues the
         * message, also while disconnected, and sends it from our thread. */
        int rc = mosquitto_publish_v5(m->mosq, NULL, msg->topic, (int)msg->len, msg->payload, 1,
                                      false, NULL);
        if (rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_NO_CONN) {
            atomic_fetch_add(&m->inflight, 1);
            atomic_fetch_add(&m->published, 1);
        } else {
            atomic_fetch_add(&m->dropped, 1);
            LOG(LOG_WARN, "msg=\"mqtt publish failed\" topic=\"%s\" error=\"%s\"", msg->topic,
                mosquitto_strerror(rc));
        }
    }
    events_mqtt_msgs_fini(&msgs);
}

/* --------------------------------------------------- libmosquitto callbacks */

static void on_connect(struct mosquitto *mosq, void *obj, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)flags;
    (void)props;
    MqttSink *m = obj;
    if (rc != 0) {
        mqtt_link_error(&m->link, "connection refused: %s", mosquitto_reason_string(rc));
        return;
    }
    atomic_fetch_add(&m->connects, 1);
    mqtt_link_connected(&m->link, true);
    LOG(LOG_INFO, "msg=\"mqtt connected\" url=\"%s\" client_id=\"%s\"", m->url, m->client_id);
    /* The session is persistent, but subscribing again is harmless and
     * covers a broker that lost it.  No-local: our own notifications are not
     * create requests; retained messages on these topics are not either. */
    if (m->create) {
        /* Shared: no-local is not allowed there (MQTT 5.0 §3.8.3.1); our
         * own notifications carry @iot.id and are ignored anyway. */
        char *topics[] = {"v1.1/Observations", "v1.1/+/Observations"};
        char *shared[] = {"$share/klammer/v1.1/Observations", "$share/klammer/v1.1/+/Observations"};
        rc = mosquitto_subscribe_multiple(
            mosq, NULL, 2, m->create_shared ? shared : topics, 1,
            (m->create_shared ? 0 : MQTT_SUB_OPT_NO_LOCAL) | MQTT_SUB_OPT_SEND_RETAIN_NEVER, NULL);
        if (rc)
            mqtt_link_error(&m->link, "subscribe failed: %s", mosquitto_strerror(rc));
    }
    rc = mosquitto_subscribe_v5(mosq, NULL, SELECT_TOPIC, 1, 0, NULL);
    if (rc)
        mqtt_link_error(&m->link, "subscribe failed: %s", mosquitto_strerror(rc));
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc,
                          const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    MqttSink *m = obj;
    pthread_mutex_lock(&m->link.mu);
    bool was = m->link.connected;
    m->link.connected = false;
    pthread_mutex_unlock(&m->link.mu);
    if (rc != 0)
        mqtt_link_error(&m->link, "connection lost: %s", mosquitto_strerror(rc));
    else if (was)
        LOG(LOG_INFO, "msg=\"mqtt disconnected\" url=\"%s\"", m->url);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    (void)mosq;
    (void)mid;
    (void)props;
    MqttSink *m = obj;
    for (int i = 0; i < n; i++)
        if (granted[i] >= 0x80)
            mqtt_link_error(&m->link, "the broker refused a subscription (reason %d); with the klammer "
                         "plugin as the only ACL, set plugin_opt_acl allow",
                      granted[i]);
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid, int reason,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)mid;
    (void)props;
    MqttSink *m = obj;
    atomic_fetch_sub(&m->inflight, 1);
    if (reason >= 0x80) {
        atomic_fetch_add(&m->dropped, 1);
        mqtt_link_error(&m->link, "the broker refused a publication: %s", mosquitto_reason_string(reason));
    } else {
        atomic_fetch_add(&m->acknowledged, 1);
    }
}

static void take_selects(MqttSink *m, const struct mosquitto_message *msg)
{
    json_error_t je;
    json_t *root = json_loadb(msg->payload, (size_t)msg->payloadlen, 0, &je);
    json_t *arr = root ? json_object_get(root, "topics") : NULL;
    if (!json_is_array(arr)) {
        LOG(LOG_WARN, "msg=\"mqtt: ignored a malformed " SELECT_TOPIC " message\"");
        json_decref(root);
        return;
    }
    SelectSet *s = xcalloc(1, sizeof *s);
    atomic_init(&s->refs, 1);
    size_t n = json_array_size(arr);
    s->v = xcalloc(n ? n : 1, sizeof *s->v);
    for (size_t i = 0; i < n && s->n < SELECT_MAX; i++) {
        const char *t = json_string_value(json_array_get(arr, i));
        if (t && strstr(t, SELECT_MARK))
            s->v[s->n++] = xstrdup(t);
    }
    json_decref(root);
    pthread_mutex_lock(&m->link.mu);
    SelectSet *old = m->selects;
    m->selects = s;
    pthread_mutex_unlock(&m->link.mu);
    select_unref(old);
    LOG(LOG_DEBUG, "msg=\"mqtt select topics\" count=%zu", s->n);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ s[i]) * UINT64_C(1099511628211);
    return h;
}

/* The error message of an HTTP error body, for the dead-letter reason. */
static void reason_of(int status, const char *body, char *out, size_t outsz)
{
    json_t *root = body ? json_loads(body, 0, NULL) : NULL;
    const char *msg = json_string_value(json_object_get(root, "message"));
    const char *field = json_string_value(json_object_get(root, "field"));
    if (msg && field && *field)
        snprintf(out, outsz, "HTTP %d: %s (field %s)", status, msg, field);
    else if (msg)
        snprintf(out, outsz, "HTTP %d: %s", status, msg);
    else
        snprintf(out, outsz, "HTTP %d", status);
    json_decref(root);
}

static void dead_letter(MqttSink *m, const struct mosquitto_message *msg, const char *reason)
{
    atomic_fetch_add(&m->dead_lettered, 1);
    LOG(LOG_WARN, "msg=\"mqtt message rejected\" topic=\"%s\" bytes=%d reason=\"%s\"", msg->topic,
        msg->payloadlen, reason);
    if (!m->dead_letter)
        return;
    int rc = m->dead_letter(m->data, msg->topic, msg->payload, (size_t)msg->payloadlen, reason);
    if (rc)
        LOG(LOG_ERROR, "msg=\"mqtt: cannot store a dead letter; the message is lost\" "
                       "topic=\"%s\" error=\"%s\"",
            msg->topic, err_name(rc));
}

/* §14.3: a message on a collection topic is a create request. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)mosq;
    (void)props;
    MqttSink *m = obj;
    if (strcmp(msg->topic, SELECT_TOPIC) == 0) {
        take_selects(m, msg);
        return;
    }
    if (!m->create)
        return;
    atomic_fetch_add(&m->received, 1);
    uint64_t h = fnv(UINT64_C(14695981039346656037), msg->topic, strlen(msg->topic) + 1);
    h = fnv(h, msg->payload, (size_t)msg->payloadlen);
    /* A redelivery after a lost acknowledgement has the same packet id; after
     * a reconnect the broker may number it anew, so there the same topic and
     * payload as a message stored during an earlier connection counts.  (A
     * client sending the very same payload twice without a phenomenonTime,
     * once on each side of a broker restart, is the price of that rule.) */
    uint64_t epoch = atomic_load(&m->connects);
    if (msg->qos > 0) {
        for (int i = 0; i < RING; i++)
            if (m->ring[i].hash == h && m->ring[i].epoch != 0 &&
                (m->ring[i].mid == msg->mid || m->ring[i].epoch < epoch)) {
                atomic_fetch_add(&m->duplicates, 1);
                LOG(LOG_INFO, "msg=\"mqtt redelivery ignored\" topic=\"%s\" mid=%d", msg->topic,
                    msg->mid);
                return;
            }
    }
    char path[1024];
    const char *why;
    switch (events_mqtt_classify(msg->topic, msg->payload, (size_t)msg->payloadlen, path,
                                 sizeof path, &why)) {
    case MQTT_IN_NOTIFICATION:
        atomic_fetch_add(&m->ignored, 1);
        return;
    case MQTT_IN_INVALID:
        dead_letter(m, msg, why);
        break;
    case MQTT_IN_CREATE: {
        int status = 0;
        char *resp = NULL;
        int rc = m->create(m->data, path, msg->payload, &status, &resp);
        if (rc) {
            char reason[256];
            snprintf(reason, sizeof reason, "cannot run the request: %s", err_name(rc));
            dead_letter(m, msg, reason);
        } else if (status == 201) {
            atomic_fetch_add(&m->created, 1);
        } else {
            char reason[512];
            reason_of(status, resp, reason, sizeof reason);
            dead_letter(m, msg, reason);
        }
        free(resp);
        break;
    }
    }
    if (msg->qos > 0) {
        m->ring[m->ring_next].mid = msg->mid;
        m->ring[m->ring_next].hash = h;
        m->ring[m->ring_next].epoch = epoch;
        m->ring_next = (m->ring_next + 1) % RING;
    }
}

/* ------------------------------------------------------ the network thread */

/*
 * Our own loop instead of mosquitto_loop_forever: that one gives up for good
 * on a DNS or TLS error and grows its delay quadratically; here the broker
 * going away is normal life, retried with exponential backoff until stop.
 */
static void *run(void *arg)
{
    MqttSink *m = arg;
    mosquitto_property *props = NULL;
    /* MQTT v5: clean_start = false alone ends the session at disconnect;
     * the session expiry interval makes it outlive us (and a broker restart
     * when the broker persists sessions). */
    mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                 (uint32_t)m->session_expiry);
    int rc = mosquitto_connect_bind_v5(m->mosq, m->host, m->port, KEEPALIVE, NULL, props);
    mosquitto_property_free_all(&props);
    bool disconnect_sent = false;
    int grace = 20; /* loop turns (of up to 250 ms) to get the DISCONNECT out */
    for (;;) {
        if (mqtt_link_stopping(&m->link)) {
            if (rc != MOSQ_ERR_SUCCESS || (disconnect_sent && --grace == 0))
                break;
            if (!disconnect_sent) {
                disconnect_sent = true;
                if (mosquitto_disconnect_v5(m->mosq, 0, NULL) != MOSQ_ERR_SUCCESS)
                    break;
            }
        }
        if (rc == MOSQ_ERR_SUCCESS) {
            rc = mosquitto_loop(m->mosq, 250, 1);
            if (rc == MOSQ_ERR_SUCCESS || disconnect_sent)
                continue;
        }
        mqtt_link_connected(&m->link, false);
        if (rc == MOSQ_ERR_ERRNO)
            mqtt_link_error(&m->link, "cannot reach the broker at %s:%d: %s", m->host, m->port,
                      strerror(errno));
        else
            mqtt_link_error(&m->link, "cannot reach the broker at %s:%d: %s", m->host, m->port,
                      mosquitto_strerror(rc));
        mqtt_link_backoff(&m->link);
        if (mqtt_link_stopping(&m->link))
            break;
        rc = mosquitto_reconnect(m->mosq);
    }
    mqtt_link_connected(&m->link, false);
    return NULL;
}

/* ------------------------------------------------------------- lifecycle */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

MqttSink *events_mqtt_new(const MqttConfig *cfg, Err *err)
{
    char host[256];
    int port;
    bool tls;
    if (mqtt_link_target(cfg->url, cfg->client_id, host, sizeof host, &port, &tls, err))
        return NULL;
    pthread_once(&lib_once, lib_init);
    MqttSink *m = xcalloc(1, sizeof *m);
    m->url = xstrdup(cfg->url);
    m->host = xstrdup(host);
    m->port = port;
    m->client_id = xstrdup(cfg->client_id);
    m->session_expiry = cfg->session_expiry;
    m->create = cfg->create;
    m->create_shared = cfg->create_shared;
    m->dead_letter = cfg->dead_letter;
    m->data = cfg->data;
    for (int i = 0; i < RING; i++)
        m->ring[i].mid = -1;
    mqtt_link_init(&m->link, "mqtt", m->url);
    /* clean_start = false and a stable id: the broker keeps our
     * subscriptions and queues messages while we are away (§14.3 ingest
     * must not lose what the broker accepted). */
    m->mosq = mosquitto_new(m->client_id, false, m);
    if (!m->mosq) {
        err_set(err, ERR_CONFIG, "mqtt", "cannot create the MQTT client: %s", strerror(errno));
        goto fail;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_threaded_set(m->mosq, true);
    mosquitto_connect_v5_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(m->mosq, on_disconnect);
    mosquitto_subscribe_v5_callback_set(m->mosq, on_subscribe);
    mosquitto_publish_v5_callback_set(m->mosq, on_publish);
    mosquitto_message_v5_callback_set(m->mosq, on_message);
    const char *user = cfg->username && *cfg->username ? cfg->username : NULL;
    const char *pass = cfg->password && *cfg->password ? cfg->password : NULL;
    if (user && mosquitto_username_pw_set(m->mosq, user, pass) != MOSQ_ERR_SUCCESS) {
        err_set(err, ERR_CONFIG, "mqtt_username", "invalid MQTT username or password");
        goto fail;
    }
    if (tls) {
        const char *ca_file = cfg->ca_file && *cfg->ca_file ? cfg->ca_file : NULL;
        int rc;
        if (ca_file) {
            rc = mosquitto_tls_set(m->mosq, ca_file, NULL, NULL, NULL, NULL);
        } else {
            mosquitto_int_option(m->mosq, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
            rc = MOSQ_ERR_SUCCESS;
        }
        if (rc != MOSQ_ERR_SUCCESS) {
            err_set(err, ERR_CONFIG, "mqtt_ca_file", "cannot use the CA file '%s': %s",
                    ca_file ? ca_file : "", mosquitto_strerror(rc));
            goto fail;
        }
    }
    return m;
fail:
    events_mqtt_free(m);
    return NULL;
}

int events_mqtt_start(MqttSink *m, Err *err)
{
    if (m->running)
        return 0;
    int rc = pthread_create(&m->thread, NULL, run, m);
    if (rc)
        return err_set(err, ERR_IO, "mqtt", "cannot start the MQTT thread: %s", strerror(rc));
    m->running = true;
    return 0;
}

void events_mqtt_stop(MqttSink *m)
{
    if (!m || !m->running)
        return;
    mqtt_link_stop(&m->link);
    pthread_join(m->thread, NULL);
    m->running = false;
    LOG(LOG_INFO, "msg=\"mqtt stopped\" published=%llu acknowledged=%llu created=%llu "
                  "dead_lettered=%llu",
        (unsigned long long)atomic_load(&m->published),
        (unsigned long long)atomic_load(&m->acknowledged),
        (unsigned long long)atomic_load(&m->created),
        (unsigned long long)atomic_load(&m->dead_lettered));
}

void events_mqtt_free(MqttSink *m)
{
    if (!m)
        return;
    events_mqtt_stop(m);
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    select_unref(m->selects);
    mqtt_link_fini(&m->link);
    free(m->url);
    free(m->host);
    free(m->client_id);
    free(m);
}

void events_mqtt_stats(MqttSink *m, MqttStats *out)
{
    mqtt_link_stats(&m->link, out);
    pthread_mutex_lock(&m->link.mu);
    out->select_topics = m->selects ? m->selects->n : 0;
    pthread_mutex_unlock(&m->link.mu);
    out->connects = atomic_load(&m->connects);
    out->published = atomic_load(&m->published);
    out->acknowledged = atomic_load(&m->acknowledged);
    out->dropped = atomic_load(&m->dropped);
    out->received = atomic_load(&m->received);
    out->created = atomic_load(&m->created);
    out->dead_lettered = atomic_load(&m->dead_lettered);
    out->ignored = atomic_load(&m->ignored);
    out->duplicates = atomic_load(&m->duplicates);
}
