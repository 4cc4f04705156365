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

#endif
