/*
 * store.h - the storage interface: connections, reads of entity sets with
 * their expansions, the write primitives used inside a transaction, and
 * the single writer that batches concurrent writes into one commit.
 *
 * Reads run on pooled read connections in the caller's thread, inside one
 * read transaction (a consistent snapshot for the main query and all of its
 * expansions).  Writes run only on the writer thread: a caller submits a
 * StoreJob; the writer runs many jobs in one transaction, each inside its
 * own savepoint (a failing job leaves nothing behind and does not disturb
 * the others), commits, and only then reports every job as done.
 *
 * Values, rows and row sets returned by reads live in the caller's arena.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_STORE_H
#define KLAMMER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "query/query.h"
#include "util/arena.h"
#include "util/err.h"

typedef struct Store Store;
typedef struct StoreConn StoreConn;

typedef struct StoreConfig {
    const char *path;     /* SQLite file or PostgreSQL URL, borrowed for the call */
    int read_conns;       /* size of the read-connection pool */
    int batch_max;        /* most jobs in one transaction */
    bool sync_full;       /* PRAGMA synchronous=FULL (else NORMAL) */
} StoreConfig;

/* ------------------------------------------------------------- values */

typedef enum { SV_NULL, SV_INT, SV_REAL, SV_TEXT } StoreValueType;

typedef struct StoreValue {
    StoreValueType type;
    int64_t i;     /* SV_INT */
    double d;      /* SV_REAL */
    const char *s; /* SV_TEXT, NUL-terminated, arena-owned or borrowed */
    size_t n;      /* SV_TEXT length */
} StoreValue;

typedef struct StoreRowSet StoreRowSet;

typedef struct StoreRow {
    StoreValue *cols;        /* def->ncols values by slot */
    StoreRowSet **expanded;  /* one per Expand of the options, in list order */
} StoreRow;

struct StoreRowSet {
    const EntityDef *def;
    StoreRow *rows;
    size_t n;
    int64_t count; /* total matching rows when $count=true, else -1 */
    bool more;     /* rows beyond this page exist */
};

/* ------------------------------------------------------------ open/close */

/*
 * True when db names a database server (a postgresql:// or postgres:// URL)
 * rather than a SQLite file: there is no file to look for.
 */
bool store_db_is_url(const char *db);

/*
 * db for logs and messages: a PostgreSQL URL with its password (user:pw@
 * and ?password=) replaced by "***"; anything else copied.  Returns out.
 */
const char *store_db_redacted(const char *db, char *out, size_t outsz);

/*
 * Opens (creating if needed) the database, applies pending migrations, opens
 * the read pool and starts the writer thread.  Errors: ERR_STORAGE, ERR_IO.
 */
int store_open(const StoreConfig *cfg, Store **out, Err *err);

/* Stops the writer after the queued jobs are done, closes all connections. Accepts NULL. */
void store_close(Store *s);

/* ----------------------------------------------------------------- reads */

/* Borrows a read connection and begins a read transaction. */
int store_read_begin(Store *s, StoreConn **out, Err *err);

/* Ends the read transaction and returns the connection to the pool.  Accepts NULL. */
void store_read_end(Store *s, StoreConn *c);

/*
 * What a resource path addresses: one entity (id_given), or the entities of
 * def reached from parent_id along rel (rel != NULL), or all of def.
 */
typedef struct StoreScope {
    const EntityDef *def;
    bool id_given;
    int64_t id;
    const Rel *rel;       /* relation from the parent, or NULL */
    const EntityDef *parent_def;
    int64_t parent_id;
    bool parent_unchecked; /* store_resolve_read: the parent's existence is checked by
                              store_read, and only when the collection is empty */
} StoreScope;

/*
 * Follows path->segs, checking that each entity exists and belongs to its
 * parent, and fills *out with the scope of the last segment.
 * Errors: ERR_NOT_FOUND naming the missing entity.
 */
int store_resolve(StoreConn *c, const ResourcePath *path, int nsegs, StoreScope *out,
                  Err *err);

/*
 * As store_resolve, for reads: the existence of a collection's parent is left
 * to store_read (one query less when the collection has members).
 */
int store_resolve_read(StoreConn *c, const ResourcePath *path, int nsegs, StoreScope *out,
                       Err *err);

/*
 * Reads the rows of scope with options o (paging, order, $count, $expand,
 * recursively).  For an entity scope, an empty result is ERR_NOT_FOUND.
 */
int store_read(StoreConn *c, Arena *a, const StoreScope *scope, const QueryOptions *o,
               StoreRowSet **out, Err *err);

/* ----------------------------------------------------------------- writes */

/*
 * Inserts a row of def with the columns whose set[slot] is true (slot 0,
 * the id, is assigned by the database).  Writes the new id to *id.
 */
/*
 * store_insert for rows[0..n), all with the same columns set, writing each
 * row's id to ids[i]: STORE_INSERT_ROWS rows per statement (one round trip
 * to PostgreSQL instead of one per row), the rest one by one.  Ids ascend
 * in row order.  Errors as store_insert; on error the rows already
 * inserted stay (the caller's savepoint decides).
 */
#define STORE_INSERT_ROWS 64
int store_insert_many(StoreConn *c, const EntityDef *def, const StoreValue *const *rows,
                      const bool *set, size_t n, int64_t *ids, Err *err);

int store_insert(StoreConn *c, const EntityDef *def, const StoreValue *vals, const bool *set,
                 int64_t *id, Err *err);

/* Updates the columns with set[slot] of entity id.  ERR_NOT_FOUND if it does not exist. */
int store_update(StoreConn *c, const EntityDef *def, int64_t id, const StoreValue *vals,
                 const bool *set, Err *err);

/* Deletes entity id with the cascades of OGC 18-088 §10.4.  ERR_NOT_FOUND if absent. */
int store_delete(StoreConn *c, const EntityDef *def, int64_t id, Err *err);

/* Reads one row of def into the arena.  ERR_NOT_FOUND if absent. */
int store_get(StoreConn *c, Arena *a, const EntityDef *def, int64_t id, StoreRow **out,
              Err *err);

/* True when entity id of def exists. */
int store_exists(StoreConn *c, const EntityDef *def, int64_t id, bool *out, Err *err);

/* Adds a link row of a REL_LINK relation; rank is the position for ordered links. */
int store_link(StoreConn *c, const Rel *rel, int64_t this_id, int64_t other_id, int64_t rank,
               Err *err);

/* Removes every link of this_id along a REL_LINK relation. */
int store_unlink_all(StoreConn *c, const Rel *rel, int64_t this_id, Err *err);

/* Ids related to this_id along rel (any kind), in relation order; arena-owned. */
int store_related_ids(StoreConn *c, Arena *a, const EntityDef *def, const Rel *rel,
                      int64_t this_id, int64_t **ids, size_t *n, Err *err);

/*
 * What creating an Observation in a (Multi)Datastream needs to know, in one
 * query: the stream's observation type(s) and its Thing's first GeoJSON
 * Location with the FeatureOfInterest generated from it (if it still exists).
 */
typedef struct StoreObsContext {
    const char *types;    /* observationType, or the multiObservationDataTypes JSON; arena */
    int64_t thing_id;
    int64_t location_id;  /* 0 when the Thing has no GeoJSON Location */
    int64_t feature_id;   /* generated FeatureOfInterest of that Location, 0 if none */
} StoreObsContext;

/* ERR_NOT_FOUND if the stream does not exist. */
int store_obs_context(StoreConn *c, Arena *a, const EntityDef *stream, int64_t id,
                      StoreObsContext *out, Err *err);

/* Time of the latest HistoricalLocation of a Thing; *found = false if none. */
int store_latest_hl_time(StoreConn *c, int64_t thing_id, int64_t *t, bool *found, Err *err);

/* ------------------------------------------------------------- the writer */

typedef struct StoreJob StoreJob;

/* Runs inside the write transaction; returns 0 or an ERR_* (detail in err). */
typedef int (*StoreJobFn)(StoreConn *c, void *data, Err *err);
/* Called on the writer thread after the commit (or rollback) of the job. */
typedef void (*StoreDoneFn)(StoreJob *job);

struct StoreJob {
    StoreJobFn fn;
    StoreDoneFn done;
    void *data;      /* borrowed, passed to fn */
    int rc;          /* result after done: 0 = committed */
    Err err;         /* detail when rc != 0 */
    StoreJob *next;  /* queue link, owned by the store while queued */
};

/* Queues job; job->done is called exactly once. Caller keeps job alive until then. */
void store_submit(Store *s, StoreJob *job);

/* Submits a job for fn and waits until it is committed; returns its rc. */
int store_run(Store *s, StoreJobFn fn, void *data, Err *err);

/* Rows written by the writer since start, and commits (for logs and metrics). */
void store_writer_stats(Store *s, uint64_t *jobs, uint64_t *commits);

/* ------------------------------------------------------- dead letters */

/*
 * A message that could not be stored (deadletter.c): an invalid entity
 * received over MQTT, an undecodable uplink.  Kept with its reason so that
 * nothing accepted from a broker is lost silently, and listed through the API.
 */
typedef struct StoreDeadLetter {
    int64_t id;          /* assigned by the database (OUT of store_dead_letter_add) */
    int64_t time;        /* microseconds since the epoch (UTC) */
    const char *source;  /* "mqtt", ...; borrowed or arena-owned */
    const char *topic;   /* MQTT topic or other origin, or NULL */
    const void *payload; /* raw bytes, not NUL-terminated; borrowed or arena-owned */
    size_t len;          /* payload length */
    const char *reason;  /* why it was rejected */
    int64_t replayed_at; /* microseconds, 0 = never replayed */
} StoreDeadLetter;

/*
 * A StoreJobFn: inserts the StoreDeadLetter that data points to (borrowed)
 * and writes its new id to its id field.  Run it through the writer:
 *     store_run(store, store_dead_letter_add, &dl, &err);
 * returns once the row is committed.  Errors: ERR_STORAGE.
 */
int store_dead_letter_add(StoreConn *c, void *data, Err *err);

/*
 * Reads up to top dead letters, newest first, after skipping skip of them,
 * on a read connection (store_read_begin).  *out is an arena-owned array of
 * *n entries whose strings and payloads live in a as well; *more is set
 * when further entries exist.  Errors: ERR_STORAGE, ERR_TOO_LARGE (arena cap).
 */
int store_dead_letters_read(StoreConn *c, Arena *a, int64_t top, int64_t skip,
                            StoreDeadLetter **out, size_t *n, bool *more, Err *err);

/* Number of dead letters stored (for health and metrics). */
int store_dead_letters_count(StoreConn *c, int64_t *out, Err *err);

/*
 * One dead letter by id, on a read connection; strings and payload in a (the
 * payload is NUL-terminated beyond len).  Errors: ERR_NOT_FOUND, ERR_STORAGE,
 * ERR_TOO_LARGE.
 */
int store_dead_letter_get(StoreConn *c, Arena *a, int64_t id, StoreDeadLetter *out, Err *err);

/*
 * A StoreJobFn: sets replayed_at of the StoreDeadLetter data points to
 * (fields id and replayed_at) unless it is set already.  Errors: ERR_CONFLICT
 * when the letter was replayed before, ERR_NOT_FOUND, ERR_STORAGE.
 */
int store_dead_letter_mark_replayed(StoreConn *c, void *data, Err *err);

/* ------------------------------------------------ LoRaWAN device registry */

/*
 * A row of the device registry (devices.c, migration 4).  Strings are
 * borrowed (writes) or arena-owned (reads).
 */
typedef struct StoreDevice {
    char dev_eui[17];         /* 16 upper-case hex digits */
    const char *name;         /* display name, "" if none */
    int64_t thing_id;         /* 0 = none */
    const char *decoder;      /* built-in decoder name or "spec" */
    const char *decoder_spec; /* compact DecoderSpec text, NULL unless decoder is "spec" */
    bool use_ns_decoded;      /* take the network server's decoded object */
    const char *mapping;      /* JSON object: field -> {"datastream": id, ...} */
    int64_t created;          /* µs since the epoch; OUT of store_device_put */
    int64_t updated;          /* µs since the epoch */
    bool replace;             /* store_device_put: replace an existing row (PUT) */
    bool existed;             /* OUT of store_device_put: a row was replaced */
} StoreDevice;

/*
 * A StoreJobFn: inserts the StoreDevice data points to, or with replace set
 * replaces the row of that DevEUI (keeping its created time).  Writes
 * created and existed back.  Errors: ERR_CONFLICT when the DevEUI exists and
 * replace is false; ERR_STORAGE.
 */
int store_device_put(StoreConn *c, void *data, Err *err);

/* A StoreJobFn: deletes the device whose DevEUI data points to (char *).  ERR_NOT_FOUND. */
int store_device_delete(StoreConn *c, void *data, Err *err);

/* Reads one device (read connection); strings in a.  Errors: ERR_NOT_FOUND, ERR_STORAGE. */
int store_device_get(StoreConn *c, Arena *a, const char *dev_eui, StoreDevice *out, Err *err);

/*
 * Reads up to top devices ordered by DevEUI after skipping skip; arena-owned
 * array of *n entries, *more when further ones exist.  Errors as above.
 */
int store_devices_read(StoreConn *c, Arena *a, int64_t top, int64_t skip, StoreDevice **out,
                       size_t *n, bool *more, Err *err);

/* Number of registered devices. */
int store_devices_count(StoreConn *c, int64_t *out, Err *err);

/*
 * The unitOfMeasurement (JSON text) and observationType of Datastream id, in
 * a.  Errors: ERR_NOT_FOUND when there is no such Datastream.
 */
int store_datastream_unit(StoreConn *c, Arena *a, int64_t id, const char **uom,
                          const char **obs_type, Err *err);

/* An uplink seen before (de-duplication by DevEUI and frame counter). */
typedef struct StoreUplinkSeen {
    const char *dev_eui; /* 16 upper-case hex digits, borrowed */
    int64_t f_cnt;       /* frame counter */
    int64_t received;    /* µs since the epoch: the uplink's receive time */
} StoreUplinkSeen;

/*
 * Looks up (dev_eui, f_cnt): *found, and the receive time of the stored
 * uplink in *received.  Errors: ERR_STORAGE.
 */
int store_uplink_seen_get(StoreConn *c, const char *dev_eui, int64_t f_cnt, bool *found,
                          int64_t *received, Err *err);

/*
 * Records the uplink *u as stored, in the caller's transaction, unless the
 * store already has it with a receive time less than window µs away (an
 * uplink another node stored, or is storing: on PostgreSQL the insert
 * waits for that transaction).  *fresh tells which: false = a duplicate.
 * A row older than window is a frame-counter reset and is replaced.
 * Errors: ERR_STORAGE, ERR_UNAVAILABLE.
 */
int store_uplink_seen_claim(StoreConn *c, const StoreUplinkSeen *u, int64_t window,
                            bool *fresh, Err *err);

/* ------------------------------------------------ restore (klammer import) */

/*
 * Inserts a row of def under the id vals[0] (set[0] must be true; the id
 * positive), with the other columns whose set[slot] is true, as
 * store_insert does otherwise (restore.c).  Only for restoring an export:
 * the caller guarantees that referenced entities exist.  Errors:
 * ERR_CONFLICT when the id is taken, ERR_INVALID without an id, ERR_STORAGE.
 */
int store_insert_id(StoreConn *c, const EntityDef *def, const StoreValue *vals, const bool *set,
                    Err *err);

/*
 * The id the database would give the next entity of def: above every id it
 * ever gave one (also of entities deleted since), so that an export can
 * carry it and an import keep deleted ids unused.  Errors: ERR_STORAGE.
 */
int store_ids_next(StoreConn *c, const EntityDef *def, int64_t *next, Err *err);

/*
 * After store_insert_id: makes every id the database assigns later larger
 * than every id present in its table, and at least next[t] for entity type
 * t (next has ENT__COUNT entries, 0 = no minimum; NULL = none).  Run it in
 * the same transaction.  Errors: ERR_STORAGE.
 */
int store_ids_sync(StoreConn *c, const int64_t *next, Err *err);

#endif
