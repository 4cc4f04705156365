/*
 * sta_int.h - private to sta/: shared by the dispatcher, the serialiser
 * and the writers.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_STA_INT_H
#define KLAMMER_STA_INT_H

#include "query/query.h"
#include "sta/sta.h"
#include "util/buf.h"

#define STA_VERSION "v1.1"

struct Sta {
    Store *store;  /* borrowed */
    StaConfig cfg; /* strings borrowed from the caller's configuration */
};

/* "scheme://host[/base]/v1.1" for this request, arena-owned. */
const char *sta_root_url(const Sta *sta, HttpReq *req);

/* Serialisation context of one response. */
typedef struct StaOut {
    Buf *b;
    const char *root; /* service root URL */
    size_t root_len;  /* strlen(root) */
} StaOut;

/*
 * Writes one entity.  toplevel entities carry all navigation links; expanded
 * ones only those selected.  o may be NULL (defaults).
 */
void sta_write_entity(StaOut *out, const EntityDef *def, const StoreRow *row,
                      const QueryOptions *o, bool toplevel);

/* Writes the members of a row set as a JSON array body (no brackets around keys). */
void sta_write_array(StaOut *out, const StoreRowSet *rs, const QueryOptions *o, bool toplevel);

/* Writes the value of property p of row as JSON. */
void sta_write_prop_value(Buf *b, const EntityDef *def, const Prop *p, const StoreRow *row);

/* True when property p of row is NULL. */
bool sta_prop_is_null(const Prop *p, const StoreRow *row);

/*
 * Appends a link "<base>?<options of o without $top/$skip>&$top=..&$skip=.."
 * for the page after the current one.
 */
void sta_write_next_link(Buf *b, const char *base, const QueryOptions *o);

/*
 * Handles POST, PATCH, PUT and DELETE (may suspend while the writer commits).
 * path NULL: POST /CreateObservations (dataArray, OGC 18-088 §14.3).
 */
int sta_write(Sta *sta, HttpReq *req, HttpResp *resp, const ResourcePath *path);

/* Reads entity id of def and answers with it as a top-level entity (status given). */
void sta_reply_entity(Sta *sta, HttpReq *req, HttpResp *resp, const EntityDef *def,
                      int64_t id, int status);

/* ------------------------------------------------- writes, step by step */

/*
 * sta_write in three steps, so that a batch (batch.c) can run the writes of
 * one change set inside one writer job: sta_write_prepare in the request
 * thread, sta_write_run inside the job (any number of them per job), and
 * after the commit sta_write_answer (or sta_write_release if the job failed).
 */
typedef struct WriteCtx WriteCtx;

/* An entity created by a request of a change set, named by its Content-ID. */
typedef struct StaRef {
    const char *name;     /* Content-ID (JSON batch: request id); arena-owned */
    const EntityDef *def; /* type created */
    int64_t id;           /* id assigned */
} StaRef;

typedef struct StaRefs {
    StaRef *v;            /* arena-owned */
    size_t n, cap;
} StaRefs;

/* The reference named name[0..n), or NULL. */
const StaRef *sta_refs_find(const StaRefs *refs, const char *name, size_t n);

/*
 * Parses a write in the request thread.  method: POST, PATCH, PUT or DELETE
 * (else ERR_METHOD).  path: below /v1.1 ("/Things(1)", "/CreateObservations"),
 * or, when refs is given (a change set), "$<Content-ID>[/...]", resolved
 * against refs when the job runs.  The body (JSON, checked against
 * content_type; NULL = JSON) is parsed here.  On success *out is an
 * arena-owned WriteCtx holding a parsed body: the caller must end it with
 * sta_write_answer or sta_write_release.  refs is borrowed until then.
 * Errors (detail in err): ERR_METHOD, ERR_NOT_FOUND / ERR_BAD_REQUEST (path),
 * ERR_MEDIA_TYPE, ERR_BAD_JSON, ERR_INVALID, ERR_TOO_LARGE.
 */
int sta_write_prepare(Sta *sta, HttpReq *req, const char *method, const char *path,
                      const StaRefs *refs, const char *content_type, const char *body,
                      size_t len, WriteCtx **out, Err *err);

/* Performs the write on the writer's connection (inside a StoreJobFn). */
int sta_write_run(StoreConn *c, WriteCtx *w, Err *err);

/* After sta_write_run succeeded: true and the entity when the write was a create. */
bool sta_write_created(const WriteCtx *w, const EntityDef **def, int64_t *id);

/*
 * After the commit of the job that ran w: publishes its changes and fills
 * resp as the single request would be answered (201 + Location for a create).
 */
void sta_write_answer(Sta *sta, HttpReq *req, WriteCtx *w, HttpResp *resp);

/* Releases the parsed body of w without answering (the job failed).  Accepts NULL. */
void sta_write_release(WriteCtx *w);

/*
 * The property columns of an entity of def from its JSON object, parsed and
 * checked as a create checks them (types, GeoJSON, units, observation
 * types, mandatory properties); read-only properties and keys that are no
 * property of def are skipped (the caller checks the keys).  vals and set
 * have def->ncols entries, indexed by slot; text values point into obj or a.
 * Errors: ERR_INVALID / ERR_MISSING naming the property, ERR_TOO_LARGE.
 */
int sta_entity_values(Arena *a, const EntityDef *def, const json_t *obj, StoreValue *vals,
                      bool *set, Err *err);

/* ------------------------------------------------------------- $batch */

#define STA_BATCH_MAX_REQUESTS 1000 /* requests in one batch, change sets counted inside */
#define STA_BATCH_MAX_HEADERS 8192  /* bytes of one header block (part or embedded request) */
#define STA_BATCH_MAX_LINES 100     /* lines of one header block */

/* One request of a batch, as parsed (nothing of it is checked against the model yet). */
typedef struct StaBatchPart {
    const char *method;       /* upper-cased; arena-owned */
    const char *url;          /* request target as sent; arena-owned */
    const char *id;           /* Content-ID (multipart) or id (JSON), or NULL; arena-owned */
    const char *content_type; /* of the body, or NULL; arena-owned */
    const char *body;         /* body bytes (not NUL-terminated), or NULL; borrowed from
                                 the batch body (multipart) or arena-owned (JSON) */
    size_t body_len;
    int group;                /* change set / atomicity group number, -1 outside any */
    size_t offset;            /* byte offset of the part in the batch body */
} StaBatchPart;

typedef struct StaBatch {
    bool json;                /* JSON format (OData 4.01), else multipart/mixed (OData 4.0) */
    StaBatchPart *parts;      /* arena-owned, in request order; a group's parts are adjacent */
    size_t nparts;
    const char **groups;      /* name per group: JSON atomicityGroup, or NULL (multipart) */
    int ngroups;
} StaBatch;

/*
 * Parses a $batch body of the given Content-Type: "multipart/mixed;
 * boundary=..." (OData 4.0 Part 1 §11.7, change sets as nested
 * multipart/mixed parts) or "application/json" (OData 4.01 JSON batch).
 * Never reads outside body[0..len).  Everything returned is in a.
 * Errors (err names what is wrong and where, position = byte offset + 1):
 * ERR_MEDIA_TYPE (neither format), ERR_BAD_REQUEST (malformed batch,
 * limits above), ERR_BAD_JSON, ERR_TOO_LARGE (arena cap).
 */
int sta_batch_parse(Arena *a, const char *content_type, const char *body, size_t len,
                    StaBatch *out, Err *err);

/* Handles POST /v1.1/$batch (may suspend while change sets commit; else 405). */
int sta_batch(Sta *sta, HttpReq *req, HttpResp *resp);

#endif
