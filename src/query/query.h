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

/* -------------------------------------------------------------- $filter */

/*
 * The $filter expression (OGC 18-088 §9.3.3.5) as a tree.  Every node has a
 * static type, checked by the parser, so that the SQL compiler needs no
 * type errors of its own.
 */
typedef enum {
    QT_NULL,     /* the literal null */
    QT_BOOL,
    QT_NUMBER,   /* integer or real */
    QT_STRING,
    QT_TIME,     /* an instant (or, for a path, a time property that may be an interval) */
    QT_DURATION, /* ISO 8601 duration literal */
    QT_GEO,      /* geometry: geography'...' literal or a GeoJSON property */
    QT_ANY,      /* JSON of unknown type: result, paths into properties/parameters */
} QueryType;

typedef enum {
    QN_NULL,     /* null */
    QN_BOOL,     /* i = 0 or 1 */
    QN_INT,      /* i */
    QN_REAL,     /* d */
    QN_STRING,   /* s, n (unescaped: '' -> ') */
    QN_TIME,     /* t0 (an instant literal) */
    QN_INTERVAL, /* t0/t1 (an interval literal) */
    QN_DURATION, /* i = microseconds */
    QN_GEO,      /* s = WKT text as written inside geography'...' (validated) */
    QN_PATH,     /* path */
    QN_BINARY,   /* op(a, b) */
    QN_NOT,      /* not a */
    QN_NEG,      /* -a */
    QN_FUNC,     /* func(args[0..nargs)) */
} QueryNodeKind;

typedef enum {
    QOP_EQ, QOP_NE, QOP_GT, QOP_GE, QOP_LT, QOP_LE,
    QOP_AND, QOP_OR,
    QOP_ADD, QOP_SUB, QOP_MUL, QOP_DIV, QOP_MOD,
} QueryOp;

typedef enum {
    /* string */
    QF_SUBSTRINGOF, QF_ENDSWITH, QF_STARTSWITH, QF_LENGTH, QF_INDEXOF, QF_SUBSTRING,
    QF_TOLOWER, QF_TOUPPER, QF_TRIM, QF_CONCAT,
    /* date and time */
    QF_YEAR, QF_MONTH, QF_DAY, QF_HOUR, QF_MINUTE, QF_SECOND, QF_FRACTIONALSECONDS,
    QF_DATE, QF_TIME, QF_TOTALOFFSETMINUTES, QF_NOW, QF_MINDATETIME, QF_MAXDATETIME,
    /* math */
    QF_ROUND, QF_FLOOR, QF_CEILING,
    /* geospatial */
    QF_GEO_DISTANCE, QF_GEO_LENGTH, QF_GEO_INTERSECTS, QF_ST_EQUALS, QF_ST_DISJOINT,
    QF_ST_TOUCHES, QF_ST_WITHIN, QF_ST_OVERLAPS, QF_ST_CROSSES, QF_ST_INTERSECTS,
    QF_ST_CONTAINS, QF_ST_RELATE,
} QueryFunc;

#define QUERY_MAX_JSON_PATH 8

/*
 * A property path from the filtered entity: zero or more relations, then a
 * property (or the id), then optionally keys into a JSON-valued property
 * ("properties/owner/name", "parameters/rssi").
 */
typedef struct QueryPath {
    int nrels;
    const Rel *rels[QUERY_MAX_SEGS];       /* relations followed, in order */
    const EntityDef *defs[QUERY_MAX_SEGS]; /* defs[i]: entity type reached by rels[i] */
    const Prop *prop;                      /* final property, NULL for @iot.id / id */
    int njson;
    const char *json[QUERY_MAX_JSON_PATH]; /* keys below a JSON-valued prop, arena-owned */
} QueryPath;

typedef struct QueryNode QueryNode;
struct QueryNode {
    QueryNodeKind kind;
    QueryType type;   /* static type of the value */
    long pos;         /* 1-based column of the node in the $filter text */
    int op;           /* QN_BINARY: QueryOp; QN_FUNC: QueryFunc */
    QueryNode *a, *b; /* operands (QN_BINARY, QN_NOT, QN_NEG) */
    QueryNode **args; /* QN_FUNC arguments, arena-owned */
    int nargs;
    int64_t i;        /* QN_BOOL, QN_INT, QN_DURATION */
    double d;         /* QN_REAL */
    const char *s;    /* QN_STRING, QN_GEO; arena-owned, NUL-terminated */
    size_t n;         /* length of s */
    int64_t t0, t1;   /* QN_TIME, QN_INTERVAL: microseconds UTC */
    QueryPath *path;  /* QN_PATH, arena-owned */
};

#define QUERY_FILTER_MAX_LEN 16384  /* longest $filter text */
#define QUERY_FILTER_MAX_DEPTH 64   /* deepest nesting of expressions */
#define QUERY_FILTER_MAX_HEIGHT 256 /* highest tree (root = 1) query_parse_filter returns */

/*
 * Parses a $filter expression for entity type def into *out.
 * Errors (ERR_BAD_REQUEST, field "$filter", position = column) say what was
 * expected where ("expected ')' at column 17"), name unknown properties and
 * functions, wrong argument counts or types, and the limits above.
 */
int query_parse_filter(Arena *a, const EntityDef *def, const char *text, QueryNode **out,
                       Err *err);

/*
 * What the tree of query_parse_filter guarantees to the SQL compiler:
 *
 *   - The root is QT_BOOL or QT_ANY.  Comparisons, 'and', 'or', 'not' and the
 *     boolean functions are QT_BOOL.  'and'/'or'/'not' operands are QT_BOOL
 *     or QT_ANY.
 *   - Comparison operands have the same type, or one is QT_ANY, or (eq/ne
 *     only) one is QT_NULL.  Booleans compare only with eq/ne; geometries
 *     never (st_equals does that).  QT_TIME may be an interval on either side.
 *   - Arithmetic: mul/div/mod on QT_NUMBER/QT_ANY give QT_NUMBER; add/sub
 *     give QT_NUMBER for numbers, QT_TIME for time +- duration and
 *     duration + time, QT_DURATION for duration +- duration and time - time.
 *     A QT_ANY operand next to a time or duration stands for a time.
 *   - QN_NEG: of QT_NUMBER/QT_ANY is QT_NUMBER, of QT_DURATION is QT_DURATION.
 *     A minus before a number or duration literal is folded into it.
 *   - Function arguments have the declared type, QT_ANY or QT_NULL:
 *     substringof endswith startswith (string, string) -> bool;
 *     length (string), indexof (string, string) -> number;
 *     substring (string, number[, number]), tolower toupper trim (string),
 *     concat (string, string) -> string;
 *     year month day hour minute second fractionalseconds totaloffsetminutes
 *     (time) -> number; date (time) -> time: 00:00 UTC of that day;
 *     time (time) -> string: the UTC time of day as "hh:mm:ss.ffffff", the
 *     form time-of-day literals (08:30) are normalised to (a QN_STRING);
 *     now() mindatetime() maxdatetime() -> time;
 *     round floor ceiling (number) -> number;
 *     geo.distance (geo, geo), geo.length (geo) -> number;
 *     geo.intersects and st_* (geo, geo), st_relate (geo, geo, string) -> bool.
 *   - A date literal (2026-11-30) is the QN_TIME of its midnight UTC.
 *   - QN_GEO text is validated WKT (POINT, LINESTRING, POLYGON and MULTI forms,
 *     2 or 3 coordinates, closed rings) without an "SRID=4326;" prefix.
 *   - Chains of 'and' or of 'or' are balanced trees (left-associative up to
 *     three operands); other operators are left-associative.  No tree is
 *     higher than QUERY_FILTER_MAX_HEIGHT, so a recursive compiler is bounded.
 */

/*
 * Parses an expression of any type but geometry, for $orderby keys such as
 * "Datastream/name" or "result mul 2" (errors name "$orderby").
 */
int query_parse_expr(Arena *a, const EntityDef *def, const char *text, QueryNode **out,
                     Err *err);

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
    const Prop *prop;   /* property of the entity itself, NULL for @iot.id or expr */
    QueryNode *expr;    /* any other key: a path across relations, a function, ...; or NULL */
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
    const char *filter;    /* $filter text, or NULL */
    QueryNode *filter_ast; /* parsed $filter, or NULL */
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
