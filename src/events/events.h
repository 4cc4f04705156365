/*
 * events.h - the one publish point for every change.
 *
 * The SensorThings handlers publish each created, updated or deleted entity
 * exactly once, after its transaction has committed.  Sinks (the MQTT
 * publisher, server-sent events, rules) register a callback; the publisher
 * calls every sink in turn on the thread that committed the change, so a
 * sink must not block for long (queue, then return).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_EVENTS_H
#define KLAMMER_EVENTS_H

#include <stddef.h>
#include <stdint.h>

#include "model/model.h"

typedef enum { EV_CREATED, EV_UPDATED, EV_DELETED } EventKind;

typedef struct Event {
    EventKind kind;
    const EntityDef *def;     /* entity type */
    int64_t id;               /* entity id */
    const char *json;         /* the entity as a GET would return it (absolute links); NULL for EV_DELETED */
    size_t len;               /* strlen(json) */
    const char *version_path; /* "v1.1": topic prefix of the API version */
    /* to-one relations of the entity at the time of the change, for navigation
     * topics such as v1.1/Datastreams(1)/Observations: parent_ids[i] is the id
     * reached through def->rels[i] (REL_ONE only), 0 when unset */
    const int64_t *parent_ids;
    /* properties that changed (EV_UPDATED): bit i = def->props[i]; all bits for EV_CREATED */
    uint32_t changed;
} Event;

typedef void (*EventSink)(void *data, const Event *ev);

typedef struct Events Events;

/* A publisher with no sinks. */
Events *events_new(void);

/* Frees; accepts NULL.  Sinks must be stopped by their owners first. */
void events_free(Events *e);

/* Adds a sink (at most 8); data is borrowed. Not thread-safe: call before serving. */
int events_add_sink(Events *e, EventSink fn, void *data);

/* True when at least one sink listens (publishers may skip preparing events otherwise). */
bool events_active(const Events *e);

/* Calls every sink with ev.  Accepts e == NULL (no sinks). */
void events_publish(Events *e, const Event *ev);

/* Number of events published since start. */
uint64_t events_count(const Events *e);

/* ============================================================ MQTT sink
 *
 * The SensorThings MQTT extension (OGC 18-088 §14), on libmosquitto with
 * MQTT v5 (mqtt.c; docs/mqtt.md).  The sink publishes every created and
 * updated entity (QoS 1, never retained) to the topics of §14.2, and takes
 * Observations published by clients to v1.1/Observations and
 * v1.1/+/Observations as create requests (§14.3), handing them to the
 * create callback (the application runs them through the HTTP write path).
 *
 * Threads: the sink runs one network thread of its own.  events_mqtt_sink
 * may be called from any thread and never blocks on the network: messages
 * are queued in libmosquitto (bounded: beyond MQTT_QUEUE_MAX unacknowledged
 * publications new ones are dropped and counted).  Received messages are
 * handled on the network thread, one at a time, and acknowledged to the
 * broker only after the create callback (or the dead-letter callback)
 * returned, i.e. after the data is committed.
 */

#include <stdbool.h>

#include "util/err.h"

#define MQTT_QUEUE_MAX 100000 /* unacknowledged publications kept while the broker is away */

typedef struct MqttSink MqttSink;

/*
 * Creates an entity: POST body to path ("/v1.1/Datastreams(1)/Observations")
 * exactly as over HTTP, waiting for the commit.  Writes the HTTP status to
 * *status and a malloc'd NUL-terminated response body to *resp (the caller
 * frees it with free()).  Returns 0, or an ERR_* when the request could not
 * be run at all.
 */
typedef int (*MqttCreateFn)(void *data, const char *path, const char *body, int *status,
                            char **resp);

/*
 * Keeps a message that could not be stored (topic, raw payload[0..len),
 * reason) durably; returns 0 once it is committed, else an ERR_*.
 */
typedef int (*MqttDeadLetterFn)(void *data, const char *topic, const void *payload, size_t len,
                                const char *reason);

/* A message received by the ingest subscriber; borrowed for the call. */
typedef struct MqttInMsg {
    const char *topic;
    const char *payload; /* NUL-terminated */
    size_t len;
} MqttInMsg;

/*
 * Handles msgs[0..n) of the ingest subscriber.  Runs on one of the
 * subscriber's worker threads, several at once; return only once every
 * message is stored or kept elsewhere (dead letters): the broker is
 * acknowledged afterwards.  Returns the number of messages that were
 * neither stored nor kept (they are acknowledged anyway and counted as
 * dropped).
 */
typedef size_t (*MqttBatchFn)(void *data, const MqttInMsg *msgs, size_t n);

typedef struct MqttConfig {
    const char *url;            /* mqtt://host[:port] (1883) or mqtts://host[:port] (8883) */
    const char *username;       /* NULL or "" = none; borrowed for the call */
    const char *password;       /* NULL or "" = none */
    const char *ca_file;        /* PEM file with the CA for mqtts://; NULL = system CAs */
    const char *client_id;      /* stable id: the broker keeps the session under it */
    int64_t session_expiry;     /* seconds the broker keeps the session while we are away */
    MqttCreateFn create;        /* NULL = creating through MQTT is off (no subscription) */
    bool create_shared;         /* subscribe to the create topics as $share/klammer/...: the
                                 * broker gives each message to one of the nodes */
    MqttDeadLetterFn dead_letter; /* where rejected messages go; NULL = only logged */
    void *data;                 /* passed to create and dead_letter; borrowed, must outlive the sink */
} MqttConfig;

/* State and counters of the sink, for the health endpoint and metrics. */
typedef struct MqttStats {
    bool connected;          /* a CONNACK was received and the connection is up */
    char url[256];           /* broker URL as configured */
    char last_error[192];    /* last connection or protocol error, "" = none */
    uint64_t connects;       /* successful connections (1 + reconnects) */
    uint64_t published;      /* messages handed to the broker (QoS 1) */
    uint64_t acknowledged;   /* of those, acknowledged by the broker */
    uint64_t dropped;        /* publications dropped (queue full or rejected) */
    uint64_t received;       /* messages received on the create topics */
    uint64_t created;        /* of those, stored (201) */
    uint64_t dead_lettered;  /* of those, rejected and kept in the dead-letter store */
    uint64_t ignored;        /* notifications (with @iot.id) that are not create requests */
    uint64_t duplicates;     /* redeliveries of a message already stored */
    size_t select_topics;    /* $select subscriptions known from the broker plugin */
} MqttStats;

/*
 * Checks cfg and creates the client (nothing is connected yet; strings of
 * cfg are copied, cfg->data is borrowed).  Errors: ERR_CONFIG (bad URL,
 * unreadable CA file, missing client id).  Returns NULL on error.  The
 * result is freed with events_mqtt_free.
 */
MqttSink *events_mqtt_new(const MqttConfig *cfg, Err *err);

/*
 * Starts the network thread, which connects and reconnects with backoff
 * (1, 2, 4, ... 30 s) in the background: a broker that is down is not an
 * error.  Call once whatever cfg->create needs is running.  Errors: ERR_IO.
 */
int events_mqtt_start(MqttSink *m, Err *err);

/*
 * Stops taking messages: disconnects cleanly (the message being handled is
 * finished and acknowledged first; later ones stay with the broker for the
 * next start) and joins the network thread.  Publications after this are
 * dropped.  Call before the create callback's server goes away.  Accepts
 * NULL; idempotent.
 */
void events_mqtt_stop(MqttSink *m);

/* Stops (if needed) and frees.  Remove the sink from its Events first.  Accepts NULL. */
void events_mqtt_free(MqttSink *m);

/* The EventSink (data = MqttSink*): publishes ev to its §14.2 topics. */
void events_mqtt_sink(void *data, const Event *ev);

/* Copies the current state and counters into *out. */
void events_mqtt_stats(MqttSink *m, MqttStats *out);

/* ------------------------------------- the ingest subscriber (mqtt_in.c) */

/*
 * A subscriber that keeps up to `inflight` QoS 1 messages in flight (the
 * Receive Maximum it gives the broker), stores them in batches on a few
 * worker threads through handle, and acknowledges each only after handle
 * has returned, in the order they arrived.  Persistent session under client_id;
 * reconnects with backoff (1, 2, 4 ... 30 s) whenever the broker goes away.
 */
typedef struct MqttIn MqttIn;

typedef struct MqttInConfig {
    const char *url;          /* mqtt://host[:port] or mqtts://host[:port] */
    const char *username;     /* NULL or "" = none; strings are copied */
    const char *password;
    const char *ca_file;      /* PEM CA for mqtts://; NULL or "" = system CAs */
    const char *client_id;    /* the broker keeps the session under it */
    int64_t session_expiry;   /* seconds the session outlives a disconnect */
    const char *const *topics; /* topic filters subscribed at QoS 1 */
    size_t ntopics;           /* 1..8 */
    int inflight;             /* messages in flight: the Receive Maximum (1..1024) */
    MqttBatchFn handle;       /* stores a batch of messages */
    void *data;               /* passed to handle; must outlive the subscriber */
} MqttInConfig;

/* Checks cfg (URL, client id, topics, CA file); NULL with err on error. */
MqttIn *events_mqtt_in_new(const MqttInConfig *cfg, Err *err);

/* Starts the threads; connecting happens in the background.  Errors: ERR_IO. */
int events_mqtt_in_start(MqttIn *m, Err *err);

/*
 * Stops reading, lets the messages in the ring be stored and acknowledged,
 * disconnects normally (the broker keeps the session and queues what comes
 * next) and joins the threads.  Accepts NULL; idempotent.
 */
void events_mqtt_in_stop(MqttIn *m);

/* Stops (if needed) and frees.  Accepts NULL. */
void events_mqtt_in_free(MqttIn *m);

/* State and counters: connected, url, last_error, connects, received, created
 * (stored or dead-lettered), dropped. */
void events_mqtt_in_stats(MqttIn *m, MqttStats *out);

/* ------------------------------------------- pure parts of the MQTT sink */

/*
 * Parses a broker URL: mqtt://host[:port] or mqtts://host[:port], host
 * possibly an [IPv6] literal.  Writes host (without brackets) into
 * host[0..hostsz), the port (default 1883 / 8883) and whether TLS is used.
 * Errors: ERR_CONFIG naming the problem.
 */
int events_mqtt_url_parse(const char *url, char *host, size_t hostsz, int *port, bool *tls,
                          Err *err);

typedef struct MqttMsg {
    char *topic;   /* malloc'd */
    char *payload; /* malloc'd, NUL-terminated */
    size_t len;    /* payload length */
} MqttMsg;

typedef struct MqttMsgs {
    MqttMsg *v; /* malloc'd array */
    size_t n, cap;
} MqttMsgs;

/*
 * Builds the messages of ev (OGC 18-088 §14.2), appending them to out:
 *   EV_CREATED  the collection topic "v1.1/Observations" and, for each set
 *               to-one parent, the navigation topic
 *               "v1.1/Datastreams(1)/Observations", with the entity JSON;
 *               then, for every $select filter in selects[0..nselects)
 *               ("v1.1/+/Observations?$select=result,phenomenonTime") whose
 *               topic part matches one of those topics, that topic with the
 *               filter's "?$select=..." and a payload with only the selected
 *               properties (each topic once);
 *   EV_UPDATED  the entity topic "v1.1/Things(1)" with the entity JSON and,
 *               for each changed property, "v1.1/Things(1)/name" with
 *               {"name":<value>};
 *   EV_DELETED  nothing.
 * Values are copied byte for byte from ev->json, so every payload is the
 * JSON a GET returns.  Free out with events_mqtt_msgs_fini.
 */
void events_mqtt_messages(const Event *ev, const char *const *selects, size_t nselects,
                          MqttMsgs *out);

/* Frees the messages and the array; leaves out empty.  Accepts an empty set. */
void events_mqtt_msgs_fini(MqttMsgs *out);

/*
 * Finds the top-level member key of the JSON object json[0..len) and writes
 * the span of its raw value text to *val / *vlen.  Returns false when the
 * key is absent or json is not an object.
 */
bool events_json_member(const char *json, size_t len, const char *key, const char **val,
                        size_t *vlen);

typedef enum {
    MQTT_IN_CREATE,       /* a create request: POST the payload to *path */
    MQTT_IN_NOTIFICATION, /* carries @iot.id: someone's notification, not a request */
    MQTT_IN_INVALID,      /* cannot be a request at all; *reason says why */
} MqttInKind;

/*
 * Classifies a message received on topic (§14.3): its path ("/v1.1/...")
 * is written to path[0..pathsz).  payload[0..len) must be a JSON object
 * without a NUL byte; one with a top-level "@iot.id" is a notification.
 * *reason is a static string for MQTT_IN_INVALID.
 */
MqttInKind events_mqtt_classify(const char *topic, const void *payload, size_t len, char *path,
                                size_t pathsz, const char **reason);

#endif
