/*
 * sta.h - the SensorThings API v1.1 handlers: service root, reads with all
 * query options, create (deep insert), update, delete; serialisation.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_STA_H
#define KLAMMER_STA_H

#include <stdint.h>

#include "events/events.h"
#include "http/http.h"
#include "store/store.h"

typedef struct StaConfig {
    const char *base_url;  /* public service root without version, or NULL = from request */
    int64_t top_default;   /* $top when none is given */
    int64_t top_max;       /* largest $top served */
    Events *events;        /* where committed changes are published, or NULL; borrowed */
    const char *mqtt;      /* MQTT broker URL clients use (claims the MQTT classes), or NULL */
} StaConfig;

typedef struct Sta Sta;

/* Creates the handler set over store (borrowed; must outlive the Sta). */
Sta *sta_new(Store *store, const StaConfig *cfg);

/* Frees; accepts NULL. */
void sta_free(Sta *sta);

/* The HttpHandler for every request (data = Sta*). */
int sta_handle(void *data, HttpReq *req, HttpResp *resp);

/* ------------------------------------- entities as JSON lines (dump.c) */

/*
 * klammer export and import write and read SensorThings entities as JSON
 * lines, one entity per line (docs/operations.md):
 *   {"type":"Datastream","@iot.id":4,"name":...,"Thing":{"@iot.id":1},...}
 * the entity as the API serialises it, without self and navigation links,
 * with the ids of its to-one links and of its many-to-many links on the
 * side exported later, in sta_dump_order, each type by ascending id.
 */

#define STA_DUMP_MAX_COLS 32

/* The i-th entity type of an export (0 <= i < ENT__COUNT), NULL beyond. */
const EntityDef *sta_dump_order(int i);

/* Takes one line (with its '\n') of len bytes; returns 0 or an ERR_* (detail in err). */
typedef int (*StaDumpSink)(void *data, const char *line, size_t len, Err *err);

/*
 * Writes every entity of def as a line to sink, by ascending id, reading
 * pages of page entities on c (inside one read transaction, so that the
 * export is a consistent snapshot).  Adds the lines written to *n.
 * Errors: those of the store and of sink; ERR_TOO_LARGE for an entity with
 * more than 1,000,000 links of one kind.
 */
int sta_dump_write(StoreConn *c, const EntityDef *def, int64_t page, StaDumpSink sink,
                   void *data, int64_t *n, Err *err);

/* One entity line, parsed. */
typedef struct StaDumpEntity {
    const EntityDef *def;           /* its type */
    int64_t id;                     /* @iot.id */
    StoreValue vals[STA_DUMP_MAX_COLS]; /* columns by slot (properties, foreign keys, id) */
    bool set[STA_DUMP_MAX_COLS];    /* which of vals are given */
    const Rel *link_rel;            /* many-to-many relation of links, or NULL */
    int64_t *links;                 /* ids along link_rel in order; arena-owned */
    size_t nlinks;
} StaDumpEntity;

/*
 * Parses an entity line (obj: the line's JSON object, borrowed; "type"
 * names the entity type) and checks it as a create checks a body: every
 * property, mandatory properties and links, no unknown member.  Text values
 * point into obj or a.  Errors: ERR_INVALID, ERR_MISSING,
 * ERR_UNKNOWN_PROPERTY with Err.field naming the member; ERR_TOO_LARGE.
 */
int sta_dump_parse(Arena *a, const json_t *obj, StaDumpEntity *out, Err *err);

/* What an import has seen so far: ids per type, result types per stream. */
typedef struct StaDumpState StaDumpState;

/* New empty state; free with sta_dump_state_free (accepts NULL). */
StaDumpState *sta_dump_state_new(void);
void sta_dump_state_free(StaDumpState *st);

/*
 * Writes entity e on c (the writer's connection) under its id, with its
 * links, after checking it against st: ids of a type ascend, every
 * referenced entity came before, an Observation's result fits its stream.
 * Errors: ERR_INVALID naming the member, those of the store.
 */
int sta_dump_apply(StoreConn *c, StaDumpState *st, const StaDumpEntity *e, Err *err);

/* True when entity id of type t was applied (not kept for Observations). */
bool sta_dump_known(const StaDumpState *st, EntityType t, int64_t id);

/* Entities of type t applied so far. */
int64_t sta_dump_count(const StaDumpState *st, EntityType t);

#endif
