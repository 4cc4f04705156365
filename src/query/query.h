/*
 * query.h - SensorThings resource paths and query options (OGC 18-088 §9)
 * parsed into a small AST.  Knows the model, knows no SQL.
 *
 * Everything the parser returns is allocated in the caller's arena; on
 * error nothing is returned and err holds what was expected where.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_QUERY_H
#define KLAMMER_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/model.h"
#include "util/arena.h"
#include "util/err.h"

#define QUERY_MAX_SEGS 8      /* navigation segments in one path */
#define QUERY_MAX_ORDER 8     /* $orderby keys */
#define QUERY_MAX_EXPAND_DEPTH 6

/* ------------------------------------------------------------------ path */

typedef struct PathSeg {
    const EntityDef *def; /* entity type addressed by this segment */
    const Rel *rel;       /* relation followed from the previous segment, NULL for the first */
    int64_t id;           /* valid when has_id */
    bool has_id;          /* "Things(1)" rather than "Things" */
} PathSeg;

typedef enum {
    RES_ROOT,       /* "" or "/": the service root */
    RES_COLLECTION, /* last segment is a to-many set without id */
    RES_ENTITY,     /* last segment names one entity (by id, or a to-one navigation) */
    RES_PROPERTY,   /* entity followed by a property: /Things(1)/name */
    RES_VALUE,      /* .../name/$value */
    RES_REF,        /* collection or entity followed by /$ref */
} ResKind;

typedef struct ResourcePath {
    ResKind kind;
    int nsegs;
    PathSeg segs[QUERY_MAX_SEGS];
    const Prop *prop;   /* RES_PROPERTY, RES_VALUE */
    bool ref_entity;    /* RES_REF: the $ref is on an entity, not a collection */
} ResourcePath;

/*
 * Parses a path below the version prefix, e.g. "/Datastreams(1)/Observations".
 * Errors: ERR_NOT_FOUND for a segment that names no entity set, relation or
 * property (message names it); ERR_BAD_REQUEST for a malformed id.
 */
int query_parse_path(const char *path, ResourcePath *out, Err *err);

/* ------------------------------------------------------------- options */

typedef struct QueryParam {
    const char *key;   /* "$top", borrowed */
    const char *value; /* decoded value, borrowed */
} QueryParam;

typedef struct QueryLimits {
    int64_t top_default; /* $top when none is given */
    int64_t top_max;     /* larger $top values are reduced to this */
} QueryLimits;

typedef struct OrderItem {
    const Prop *prop; /* NULL means @iot.id */
    bool desc;
} OrderItem;

typedef struct QueryOptions QueryOptions;

typedef struct Expand {
    const Rel *rel;      /* relation to expand */
    QueryOptions *opts;  /* options for the expanded entities, arena-owned */
    struct Expand *next; /* next sibling, arena-owned */
    bool opts_given;     /* options were given in parentheses */
} Expand;

struct QueryOptions {
    const EntityDef *def; /* entity type the options apply to */
    int64_t top;          /* page size after defaults and limits */
    bool top_given;       /* $top was in the request */
    int64_t skip;         /* rows to skip */
    bool count;           /* $count=true */
    bool select_given;    /* $select present: only the listed items are written */
    uint32_t select_props; /* bit i = def->props[i] selected */
    uint32_t select_rels;  /* bit i = def->rels[i] selected (navigation link) */
    bool select_id;        /* @iot.id (and @iot.selfLink) selected */
    int norder;
    OrderItem order[QUERY_MAX_ORDER];
    Expand *expand;        /* first expanded relation, or NULL */
    const char *filter;    /* $filter text (not interpreted yet), or NULL */
    const char *result_format; /* $resultFormat, or NULL */
    const QueryParam *params;  /* the options as given (for @iot.nextLink), borrowed */
    size_t nparams;
};

/*
 * Parses the query options of one request for entity type def.
 * params are the decoded query parameters; parameters without '$' are
 * ignored (OData allows custom options).  Unknown or repeated $-options,
 * malformed values, unknown properties in $select/$orderby and unknown
 * relations in $expand give ERR_BAD_REQUEST naming the option.
 */
int query_parse_options(Arena *a, const EntityDef *def, const QueryParam *params, size_t n,
                        const QueryLimits *lim, QueryOptions *out, Err *err);

#endif
