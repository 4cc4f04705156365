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

/* Calls every sink with ev.  Accepts e == NULL (no sinks). */
void events_publish(Events *e, const Event *ev);

/* Number of events published since start. */
uint64_t events_count(const Events *e);

#endif
