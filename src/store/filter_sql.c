/*
 * filter_sql.c - a $filter tree (query.h) compiled to an SQLite expression.
 *
 * Every literal becomes a bound parameter (?10, ?11, ...): no value from the
 * request is ever spliced into SQL text, whatever the literal kind or path.
 * Paths across to-one relations become scalar subqueries on primary keys;
 * a comparison or function over a path that crosses a to-many relation
 * becomes EXISTS(...) ("any member matches", as OGC 18-088 §9.3.3.5 and
 * other servers read it).  Time-valued properties that may be intervals
 * compare as intervals: "gt" means after, "lt" before, "eq" the same
 * interval.  Geometry functions use SpatiaLite.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "store/store_int.h"

#define FIRST_PARAM 10
#define WANT_TEXT 100 /* Fc.want: compared with a string: numbers count as their text */
#define WANT_RANK 101 /* Fc.want, strict dialect: the sort class of a JSON member */
#define WANT_SORTNUM 102 /* Fc.want, strict dialect: the number (or boolean) to sort by */
#define US_PER_DAY 86400000000LL

typedef struct Fc {
    Buf *sql;
    StoreBinds *b;
    Arena *a;
    int next_alias;         /* for subquery aliases f1, f2, ... */
    const QueryPath *exists_path; /* the to-many path compiled as EXISTS's final alias */
    char exists_alias[16];
    const char *root;       /* alias of the filtered entity */
    const EntityDef *def;   /* type of the filtered entity */
    bool spatial;           /* geometry functions are available */
    const StoreDialect *dialect;
    int want;               /* QueryType the context compares with, -1 = any */
    Err *err;
} Fc;

static int compile(Fc *f, const QueryNode *n);
static int compare_typed(Fc *f, const QueryNode *n, const char *const *ops, const QueryNode *a,
                         const QueryNode *b);

/* ------------------------------------------------------------- binds */

static int bind_cast(Fc *f, StoreValue v, const char *cast);

static int bind(Fc *f, StoreValue v)
{
    const StoreDialect *d = f->dialect;
    return bind_cast(f, v, v.type == SV_INT ? d->cast_int : v.type == SV_REAL ? d->cast_real
                                                                             : d->cast_text);
}

/* Appends the next parameter followed by cast ("" or "::type") and records v. */
static int bind_cast(Fc *f, StoreValue v, const char *cast)
{
    StoreBinds *b = f->b;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        StoreValue *nv = arena_alloc(f->a, cap * sizeof *nv);
        if (!nv)
            return err_set(f->err, ERR_TOO_LARGE, "$filter", "expression too large");
        if (b->n)
            memcpy(nv, b->v, b->n * sizeof *nv);
        b->v = nv;
        b->cap = cap;
    }
    b->v[b->n] = v;
    /* PostgreSQL needs the type of a parameter it cannot infer (?10 > ?11). */
    buf_printf(f->sql, "?%d%s", FIRST_PARAM + (int)b->n, cast);
    b->n++;
    return 0;
}

static int bind_int(Fc *f, int64_t i)
{
    return bind(f, (StoreValue){.type = SV_INT, .i = i});
}

static int bind_text(Fc *f, const char *s, size_t n)
{
    return bind(f, (StoreValue){.type = SV_TEXT, .s = s, .n = n});
}

/* true/false: a boolean where the dialect has them, else 1/0. */
static int bind_bool(Fc *f, int64_t i)
{
    return bind_cast(f, (StoreValue){.type = SV_INT, .i = i != 0},
                     f->dialect->strict ? "::boolean" : "");
}

void store_binds_apply(StoreStmt *st, const StoreBinds *b)
{
    for (size_t i = 0; b && i < b->n; i++)
        stmt_bind_value(st, FIRST_PARAM + (int)i, &b->v[i]);
}

/* -------------------------------------------------------------- paths */

static bool has_to_many(const QueryPath *p)
{
    for (int i = 0; i < p->nrels; i++)
        if (p->rels[i]->kind != REL_ONE)
            return true;
    return false;
}

/* The first path below n that crosses a to-many relation, or NULL. */
static const QueryPath *find_many(const QueryNode *n)
{
    if (!n)
        return NULL;
    if (n->kind == QN_PATH)
        return has_to_many(n->path) ? n->path : NULL;
    const QueryPath *p = find_many(n->a);
    if (!p)
        p = find_many(n->b);
    for (int i = 0; !p && i < n->nargs; i++)
        p = find_many(n->args[i]);
    return p;
}

/*
 * Appends " FROM t1 f1, t2 f2 ... WHERE <join conditions>" for the relations
 * of path, starting from alias root; writes the last alias to last.
 */
static void chain(Fc *f, const QueryPath *p, char *last, size_t lastsz)
{
    Buf *s = f->sql;
    char prev[16];
    snprintf(prev, sizeof prev, "%s", f->root);
    buf_puts(s, " FROM ");
    int first = f->next_alias;
    for (int i = 0; i < p->nrels; i++)
        buf_printf(s, "%s%s f%d", i ? ", " : "", p->defs[i]->table, first + i);
    buf_puts(s, " WHERE ");
    const EntityDef *from = f->def;
    for (int i = 0; i < p->nrels; i++) {
        const Rel *r = p->rels[i];
        char cur[16];
        snprintf(cur, sizeof cur, "f%d", first + i);
        if (i)
            buf_puts(s, " AND ");
        switch (r->kind) {
        case REL_ONE:
            buf_printf(s, "%s.id = %s.%s", cur, prev, from->cols[r->fk_slot]);
            break;
        case REL_MANY:
            buf_printf(s, "%s.%s = %s.id", cur, r->fk_col, prev);
            break;
        case REL_LINK:
            buf_printf(s, "%s.id IN (SELECT %s FROM %s WHERE %s = %s.id)", cur, r->link_other,
                       r->link_table, r->link_this, prev);
            break;
        }
        snprintf(prev, sizeof prev, "%s", cur);
        from = p->defs[i];
    }
    f->next_alias += p->nrels;
    snprintf(last, lastsz, "%s", prev);
}

/* The column expression of path's property on alias (start of a time). */
static int column(Fc *f, const QueryPath *p, const char *alias, const EntityDef *def)
{
    if (!p->prop) {
        buf_printf(f->sql, "%s.id", alias);
        return 0;
    }
    const char *col = def->cols[p->prop->slot];
    if (p->prop->type == PT_RESULT) {
        /* A result keeps its JSON type (result_type): a number compares only
         * with numbers, a string with strings, a boolean with booleans, and
         * only an object or array has keys to look into. */
        const char *rt = def->cols[p->prop->slot2];
        if (p->njson == 0) {
            if (f->want == WANT_TEXT) {
                /* Compared with a string literal: numbers as their text, as the
                 * OGC and FROST test suites expect ("result gt '3'"). */
                buf_printf(f->sql, "(CASE WHEN %s.%s IN (1, 2) THEN CAST(%s.%s AS TEXT) END)",
                           alias, rt, alias, col);
                return 0;
            }
            int t = f->want == QT_NUMBER ? 1 : f->want == QT_STRING ? 2 : f->want == QT_BOOL ? 3 : 0;
            if (t && f->dialect->strict) {
                /* Stored as text: the number or boolean it holds. */
                static const char *const pre[] = {"", "CAST(", "", ""};
                static const char *const post[] = {"", " AS DOUBLE PRECISION)", "", " = '1'"};
                buf_printf(f->sql, "(CASE WHEN %s.%s = %d THEN %s%s.%s%s END)", alias, rt, t,
                           pre[t], alias, col, post[t]);
            } else if (t)
                buf_printf(f->sql, "(CASE WHEN %s.%s = %d THEN %s.%s END)", alias, rt, t, alias,
                           col);
            else
                buf_printf(f->sql, "%s.%s", alias, col);
            return 0;
        }
    }
    if (p->njson == 0) {
        if (p->prop->type == PT_GEO && f->dialect->strict) {
            /* klammer_geom (schema_pg.c): NULL for what is no GeoJSON geometry. */
            buf_printf(f->sql, "klammer_geom(%s.%s)", alias, col);
            return 0;
        }
        if (p->prop->type == PT_GEO) {
            /* GeoJSON text to a SpatiaLite geometry; a Feature brings its geometry. */
            buf_printf(f->sql,
                       "SetSRID(GeomFromGeoJSON(CASE WHEN json_extract(%s.%s, '$.type') ="
                       " 'Feature' THEN json_extract(%s.%s, '$.geometry') ELSE %s.%s END),"
                       " 4326)",
                       alias, col, alias, col, alias, col);
            return 0;
        }
        buf_printf(f->sql, "%s.%s", alias, col);
        return 0;
    }
    /* The path: '$."a"."b"' for SQLite's json_extract, the text array
     * '{"a","b"}' for the klammer_json_* functions of schema_pg.c. */
    bool strict = f->dialect->strict;
    Buf jp;
    buf_init(&jp);
    buf_putc(&jp, strict ? '{' : '$');
    for (int i = 0; i < p->njson; i++) {
        buf_puts(&jp, strict ? (i ? ",\"" : "\"") : ".\"");
        for (const char *k = p->json[i]; *k; k++) {
            if (*k == '"' || *k == '\\')
                buf_putc(&jp, '\\');
            buf_putc(&jp, *k);
        }
        buf_putc(&jp, '"');
    }
    if (strict)
        buf_putc(&jp, '}');
    const char *path = arena_strndup(f->a, jp.data, jp.len);
    size_t n = jp.len;
    buf_fini(&jp);
    if (!path)
        return err_set(f->err, ERR_TOO_LARGE, "$filter", "expression too large");
    /* SQLite's json_extract answers the member's own type; PostgreSQL
     * needs one type per expression: the one the context compares with. */
    const char *fn = "json_extract";
    if (strict)
        fn = f->want == QT_NUMBER ? "klammer_json_number"
             : f->want == QT_BOOL ? "klammer_json_bool"
             : f->want == WANT_RANK ? "klammer_json_rank"
             : f->want == WANT_SORTNUM ? "klammer_json_sortnum"
             : f->want == QT_STRING || f->want == WANT_TEXT ? "klammer_json_string"
                                                            : "klammer_json_text";
    if (p->prop->type == PT_RESULT)
        buf_printf(f->sql, "%s(CASE WHEN %s.%s = 4 THEN %s.%s END, ", fn, alias,
                   def->cols[p->prop->slot2], alias, col);
    else
        buf_printf(f->sql, "%s(%s.%s, ", fn, alias, col);
    int rc = bind_cast(f, (StoreValue){.type = SV_TEXT, .s = path, .n = n},
                       strict ? "::text[]" : "");
    buf_putc(f->sql, ')');
    return rc;
}

static const EntityDef *path_def(const Fc *f, const QueryPath *p)
{
    return p->nrels ? p->defs[p->nrels - 1] : f->def;
}

/* Appends the value of a path: a column, or a scalar subquery over to-one relations. */
static int path_value(Fc *f, const QueryPath *p, bool end)
{
    const EntityDef *def = path_def(f, p);
    char alias[16];
    if (f->exists_path == p) {
        snprintf(alias, sizeof alias, "%s", f->exists_alias);
    } else if (p->nrels == 0) {
        snprintf(alias, sizeof alias, "%s", f->root);
    } else {
        /* Only to-one relations here (to-many ones were opened as EXISTS). */
        buf_puts(f->sql, "(SELECT ");
        size_t mark = f->sql->len;
        char last[16];
        /* Write the chain after the column: build the column first into place. */
        int save = f->next_alias;
        f->next_alias += p->nrels; /* reserve aliases */
        snprintf(last, sizeof last, "f%d", save + p->nrels - 1);
        int rc;
        if (end && p->prop && p->prop->slot2 >= 0 && p->prop->type != PT_RESULT)
            buf_printf(f->sql, "coalesce(%s.%s, %s.%s)", last, def->cols[p->prop->slot2], last,
                       def->cols[p->prop->slot]);
        else if ((rc = column(f, p, last, def)))
            return rc;
        (void)mark;
        int after = f->next_alias;
        f->next_alias = save;
        char got[16];
        chain(f, p, got, sizeof got);
        f->next_alias = after;
        buf_putc(f->sql, ')');
        return 0;
    }
    if (end && p->prop && p->prop->slot2 >= 0 && p->prop->type != PT_RESULT && p->njson == 0) {
        buf_printf(f->sql, "coalesce(%s.%s, %s.%s)", alias, def->cols[p->prop->slot2], alias,
                   def->cols[p->prop->slot]);
        return 0;
    }
    return column(f, p, alias, def);
}

/* ------------------------------------------------------------ helpers */

static int emit(Fc *f, const char *s)
{
    buf_puts(f->sql, s);
    return 0;
}

static int call(Fc *f, const char *name, const QueryNode *const *args, int n)
{
    buf_printf(f->sql, "%s(", name);
    for (int i = 0; i < n; i++) {
        if (i)
            buf_putc(f->sql, ',');
        int rc = compile(f, args[i]);
        if (rc)
            return rc;
    }
    buf_putc(f->sql, ')');
    return 0;
}

/* True for a node whose time may be an interval (path to PT_TIME / PT_INTERVAL, or literal). */
static bool interval_like(const QueryNode *n)
{
    if (n->kind == QN_INTERVAL)
        return true;
    return n->kind == QN_PATH && n->path->prop && n->path->njson == 0 &&
           (n->path->prop->type == PT_TIME || n->path->prop->type == PT_INTERVAL);
}

/* Start (end = false) or end of a time operand. */
static int time_bound(Fc *f, const QueryNode *n, bool end)
{
    if (n->kind == QN_INTERVAL)
        return bind_int(f, end ? n->t1 : n->t0);
    if (n->kind == QN_PATH)
        return path_value(f, n->path, end);
    return compile(f, n);
}

static int typed(QueryType t)
{
    return t == QT_NUMBER || t == QT_STRING || t == QT_BOOL ? (int)t : -1;
}

static int compare(Fc *f, const QueryNode *n)
{
    static const char *const ops[] = {"=", "<>", ">", ">=", "<", "<="};
    const QueryNode *a = n->a, *b = n->b;
    int rc;
    int saved = f->want;
    f->want = typed(a->type) >= 0 ? typed(a->type) : typed(b->type);
    if (f->want == QT_STRING)
        f->want = WANT_TEXT;
    rc = compare_typed(f, n, ops, a, b);
    f->want = saved;
    return rc;
}

static int compare_typed(Fc *f, const QueryNode *n, const char *const *ops, const QueryNode *a,
                         const QueryNode *b)
{
    int rc;
    if (a->kind == QN_NULL || b->kind == QN_NULL) {
        const QueryNode *x = a->kind == QN_NULL ? b : a;
        if (n->op != QOP_EQ && n->op != QOP_NE)
            return err_set(f->err, ERR_BAD_REQUEST, "$filter",
                           "only eq and ne compare with null (column %ld)", n->pos);
        if (x->kind == QN_PATH && has_to_many(x->path) && !f->exists_path) {
            /* "Datastreams/id eq null": no member has a value (none at all included). */
            buf_puts(f->sql, n->op == QOP_EQ ? "(NOT EXISTS (SELECT 1" : "(EXISTS (SELECT 1");
            char last[16];
            chain(f, x->path, last, sizeof last);
            buf_puts(f->sql, " AND ");
            const QueryPath *saved_path = f->exists_path;
            char saved_alias[16];
            memcpy(saved_alias, f->exists_alias, sizeof saved_alias);
            f->exists_path = x->path;
            snprintf(f->exists_alias, sizeof f->exists_alias, "%s", last);
            rc = path_value(f, x->path, false);
            f->exists_path = saved_path;
            memcpy(f->exists_alias, saved_alias, sizeof saved_alias);
            buf_puts(f->sql, " IS NOT NULL))");
            return rc;
        }
        buf_putc(f->sql, '(');
        if (x->kind == QN_NULL)
            buf_puts(f->sql, "NULL");
        else if ((rc = compile(f, x)))
            return rc;
        buf_puts(f->sql, n->op == QOP_EQ ? " IS NULL)" : " IS NOT NULL)");
        return 0;
    }
    if ((interval_like(a) || interval_like(b)) &&
        (a->type == QT_TIME || b->type == QT_TIME)) {
        /* Interval semantics: after, before, same interval. */
        buf_putc(f->sql, '(');
        switch (n->op) {
        case QOP_GT:
        case QOP_GE:
            if ((rc = time_bound(f, a, false)))
                return rc;
            buf_puts(f->sql, n->op == QOP_GT ? " > " : " >= ");
            rc = time_bound(f, b, true);
            break;
        case QOP_LT:
        case QOP_LE:
            if (a->kind == QN_PATH) {
                /* start <= end, so this is implied; it lets the index bound the range. */
                if ((rc = time_bound(f, a, false)))
                    return rc;
                buf_puts(f->sql, n->op == QOP_LT ? " < " : " <= ");
                if ((rc = time_bound(f, b, false)))
                    return rc;
                buf_puts(f->sql, " AND ");
            }
            if ((rc = time_bound(f, a, true)))
                return rc;
            buf_puts(f->sql, n->op == QOP_LT ? " < " : " <= ");
            rc = time_bound(f, b, false);
            break;
        default:
            if (n->op == QOP_NE)
                buf_puts(f->sql, "NOT ");
            buf_putc(f->sql, '(');
            if ((rc = time_bound(f, a, false)))
                return rc;
            buf_puts(f->sql, " = ");
            if ((rc = time_bound(f, b, false)))
                return rc;
            buf_puts(f->sql, " AND ");
            if ((rc = time_bound(f, a, true)))
                return rc;
            buf_puts(f->sql, " = ");
            rc = time_bound(f, b, true);
            buf_putc(f->sql, ')');
        }
        if (rc)
            return rc;
        buf_putc(f->sql, ')');
        return 0;
    }
    buf_putc(f->sql, '(');
    if ((rc = compile(f, a)))
        return rc;
    buf_printf(f->sql, " %s ", ops[n->op]);
    if ((rc = compile(f, b)))
        return rc;
    buf_putc(f->sql, ')');
    return 0;
}

/* A field of a time in UTC: fmt for strftime (SQLite), field for extract. */
static int time_part(Fc *f, const char *fmt, const char *field, const QueryNode *arg)
{
    int rc;
    if (f->dialect->strict) {
        buf_printf(f->sql, "CAST(floor(extract(%s FROM TIMESTAMP '1970-01-01' + (", field);
        rc = compile(f, arg);
        buf_puts(f->sql, ") * INTERVAL '1 microsecond')) AS BIGINT)");
        return rc;
    }
    buf_printf(f->sql, "CAST(strftime('%s', (", fmt);
    rc = compile(f, arg);
    buf_puts(f->sql, ") / 1000000.0, 'unixepoch') AS INTEGER)");
    return rc;
}

static int geo2(Fc *f, const char *fn, const QueryNode *n)
{
    if (!f->spatial && f->dialect->strict)
        return err_set(f->err, ERR_NOT_IMPLEMENTED, "$filter",
                       "geospatial functions need PostGIS, which is not installed in this "
                       "database; column %ld", n->pos);
    if (!f->spatial)
        return err_set(f->err, ERR_NOT_IMPLEMENTED, "$filter",
                       "geospatial functions need SpatiaLite, which is not installed on this "
                       "server (Debian package libsqlite3-mod-spatialite); column %ld", n->pos);
    if (n->type != QT_BOOL || f->dialect->strict) /* PostGIS: NULL for no geometry */
        return call(f, fn, (const QueryNode *const *)n->args, n->nargs);
    /* SpatiaLite predicates answer -1 for a missing or invalid geometry (a
     * Location that is not GeoJSON): that is unknown (NULL), not false, so
     * that "not st_disjoint(...)" does not match it either. */
    buf_puts(f->sql, "(CASE ");
    int rc = call(f, fn, (const QueryNode *const *)n->args, n->nargs);
    buf_puts(f->sql, " WHEN 1 THEN 1 WHEN 0 THEN 0 END)");
    return rc;
}

static int function_body(Fc *f, const QueryNode *n);

static int function(Fc *f, const QueryNode *n)
{
    int saved = f->want;
    QueryFunc fn = (QueryFunc)n->op;
    f->want = fn <= QF_CONCAT                           ? QT_STRING
              : (fn >= QF_ROUND && fn <= QF_CEILING)    ? QT_NUMBER
                                                        : -1;
    int rc = function_body(f, n);
    f->want = saved;
    return rc;
}

static int function_body(Fc *f, const QueryNode *n)
{
    const QueryNode *const *x = (const QueryNode *const *)n->args;
    int rc = 0;
    switch ((QueryFunc)n->op) {
    case QF_SUBSTRINGOF: /* substringof(needle, haystack) */
        buf_puts(f->sql, f->dialect->strict ? "(strpos(" : "(instr(");
        if ((rc = compile(f, x[1])))
            return rc;
        buf_putc(f->sql, ',');
        if ((rc = compile(f, x[0])))
            return rc;
        return emit(f, ") > 0)");
    case QF_STARTSWITH:
    case QF_ENDSWITH: {
        bool ends = n->op == QF_ENDSWITH;
        buf_puts(f->sql, "(length(");
        if ((rc = compile(f, x[1])))
            return rc;
        /* Only SQLite's substr counts from the end; PostgreSQL has right(). */
        bool right = ends && f->dialect->strict;
        buf_puts(f->sql, right ? ") = 0 OR right(" : ") = 0 OR substr(");
        if ((rc = compile(f, x[0])))
            return rc;
        buf_puts(f->sql, right ? ", length(" : ends ? ", -length(" : ", 1, length(");
        if ((rc = compile(f, x[1])))
            return rc;
        buf_puts(f->sql, ")) = ");
        if ((rc = compile(f, x[1])))
            return rc;
        return emit(f, ")");
    }
    case QF_LENGTH: return call(f, "length", x, 1);
    case QF_INDEXOF:
        buf_putc(f->sql, '(');
        if ((rc = call(f, f->dialect->strict ? "strpos" : "instr", x, 2)))
            return rc;
        return emit(f, " - 1)");
    case QF_SUBSTRING:
        buf_puts(f->sql, "substr(");
        if ((rc = compile(f, x[0])))
            return rc;
        buf_puts(f->sql, ", CAST((");
        if ((rc = compile(f, x[1])))
            return rc;
        buf_puts(f->sql, ") + 1 AS INTEGER)");
        if (n->nargs > 2) {
            buf_puts(f->sql, ", CAST(");
            if ((rc = compile(f, x[2])))
                return rc;
            buf_puts(f->sql, " AS INTEGER)");
        }
        return emit(f, ")");
    case QF_TOLOWER: return call(f, f->dialect->lower, x, 1);
    case QF_TOUPPER: return call(f, f->dialect->upper, x, 1);
    case QF_TRIM: return call(f, "trim", x, 1);
    case QF_CONCAT:
        buf_putc(f->sql, '(');
        if ((rc = compile(f, x[0])))
            return rc;
        buf_puts(f->sql, " || ");
        if ((rc = compile(f, x[1])))
            return rc;
        return emit(f, ")");
    case QF_YEAR: return time_part(f, "%Y", "YEAR", x[0]);
    case QF_MONTH: return time_part(f, "%m", "MONTH", x[0]);
    case QF_DAY: return time_part(f, "%d", "DAY", x[0]);
    case QF_HOUR: return time_part(f, "%H", "HOUR", x[0]);
    case QF_MINUTE: return time_part(f, "%M", "MINUTE", x[0]);
    case QF_SECOND: return time_part(f, "%S", "SECOND", x[0]);
    case QF_FRACTIONALSECONDS:
        buf_puts(f->sql, "(((");
        if ((rc = compile(f, x[0])))
            return rc;
        return emit(f, ") % 1000000 + 1000000) % 1000000 / 1000000.0)");
    case QF_DATE:
        /* Midnight (UTC) of the day, as a time. */
        buf_puts(f->sql, "((");
        if ((rc = compile(f, x[0])))
            return rc;
        buf_puts(f->sql, ") - (((");
        if ((rc = compile(f, x[0])))
            return rc;
        buf_printf(f->sql, ") %% %lld + %lld) %% %lld))", US_PER_DAY, US_PER_DAY, US_PER_DAY);
        return 0;
    case QF_TIME:
        if (n->type == QT_STRING && f->dialect->strict) {
            buf_puts(f->sql, "to_char(TIMESTAMP '1970-01-01' + (");
            if ((rc = compile(f, x[0])))
                return rc;
            return emit(f, ") * INTERVAL '1 microsecond', 'HH24:MI:SS.US')");
        }
        if (n->type == QT_STRING) {
            /* "hh:mm:ss.ffffff" in UTC, as the parser writes time-of-day literals. */
            buf_puts(f->sql, "(strftime('%H:%M:%S', ((");
            if ((rc = compile(f, x[0])))
                return rc;
            buf_puts(f->sql, ") - (((");
            if ((rc = compile(f, x[0])))
                return rc;
            buf_puts(f->sql, ") % 1000000 + 1000000) % 1000000)) / 1000000, 'unixepoch') ||"
                             " printf('.%06d', ((");
            if ((rc = compile(f, x[0])))
                return rc;
            return emit(f, ") % 1000000 + 1000000) % 1000000))");
        }
        /* Time of day as microseconds since midnight. */
        buf_puts(f->sql, "(((");
        if ((rc = compile(f, x[0])))
            return rc;
        buf_printf(f->sql, ") %% %lld + %lld) %% %lld)", US_PER_DAY, US_PER_DAY, US_PER_DAY);
        return 0;
    case QF_TOTALOFFSETMINUTES:
        /* Times are stored in UTC. */
        buf_puts(f->sql, "(0 * (");
        if ((rc = compile(f, x[0])))
            return rc;
        return emit(f, "))");
    case QF_NOW: {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return bind_int(f, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    }
    case QF_MINDATETIME: return bind_int(f, -62167219200000000LL); /* 0000-01-01 */
    case QF_MAXDATETIME: return bind_int(f, 253402300799999999LL); /* 9999-12-31 */
    case QF_ROUND: /* half away from zero, as SQLite does */
        return call(f, f->dialect->strict ? "klammer_round" : "round", x, 1);
    case QF_FLOOR: return call(f, "floor", x, 1);
    case QF_CEILING: return call(f, "ceil", x, 1);
    case QF_GEO_DISTANCE: return geo2(f, "ST_Distance", n);
    case QF_GEO_LENGTH: return geo2(f, "ST_Length", n);
    case QF_GEO_INTERSECTS:
    case QF_ST_INTERSECTS: return geo2(f, "ST_Intersects", n);
    case QF_ST_EQUALS: return geo2(f, "ST_Equals", n);
    case QF_ST_DISJOINT: return geo2(f, "ST_Disjoint", n);
    case QF_ST_TOUCHES: return geo2(f, "ST_Touches", n);
    case QF_ST_WITHIN: return geo2(f, "ST_Within", n);
    case QF_ST_OVERLAPS: return geo2(f, "ST_Overlaps", n);
    case QF_ST_CROSSES: return geo2(f, "ST_Crosses", n);
    case QF_ST_CONTAINS: return geo2(f, "ST_Contains", n);
    case QF_ST_RELATE: return geo2(f, "ST_Relate", n);
    }
    return err_set(f->err, ERR_NOT_IMPLEMENTED, "$filter", "function not implemented (column %ld)",
                   n->pos);
}

/* A boolean atom over a to-many path: EXISTS over the path's chain. */
static int any_member(Fc *f, const QueryNode *n, const QueryPath *p)
{
    buf_puts(f->sql, "EXISTS (SELECT 1");
    const QueryPath *saved = f->exists_path;
    char saved_alias[16];
    memcpy(saved_alias, f->exists_alias, sizeof saved_alias);
    chain(f, p, f->exists_alias, sizeof f->exists_alias);
    f->exists_path = p;
    buf_puts(f->sql, " AND ");
    int rc = compile(f, n);
    f->exists_path = saved;
    memcpy(f->exists_alias, saved_alias, sizeof saved_alias);
    buf_putc(f->sql, ')');
    return rc;
}

/*
 * Compiles n where a condition is expected.  SQLite takes any value as true
 * or false; PostgreSQL wants a boolean, so a JSON member is read as one.
 */
static int condition(Fc *f, const QueryNode *n)
{
    int saved = f->want;
    if (f->dialect->strict && n->kind == QN_PATH)
        f->want = QT_BOOL;
    int rc = compile(f, n);
    f->want = saved;
    return rc;
}

static bool is_atom(const QueryNode *n)
{
    return (n->kind == QN_BINARY && n->op <= QOP_LE) || (n->kind == QN_FUNC && n->type == QT_BOOL);
}

static int compile(Fc *f, const QueryNode *n)
{
    int rc;
    bool null_test = n->kind == QN_BINARY && n->op <= QOP_LE &&
                     (n->a->kind == QN_NULL || n->b->kind == QN_NULL);
    if (is_atom(n) && !f->exists_path && !null_test) {
        const QueryPath *p = find_many(n);
        if (p)
            return any_member(f, n, p);
    }
    switch (n->kind) {
    case QN_NULL: return emit(f, "NULL");
    case QN_BOOL: return bind_bool(f, n->i);
    case QN_INT: return bind_int(f, n->i);
    case QN_REAL: return bind(f, (StoreValue){.type = SV_REAL, .d = n->d});
    case QN_STRING: return bind_text(f, n->s, n->n);
    case QN_TIME: return bind_int(f, n->t0);
    case QN_INTERVAL: return bind_int(f, n->t0);
    case QN_DURATION: return bind_int(f, n->i);
    case QN_GEO:
        if (!f->spatial)
            return geo2(f, "", n);
        buf_puts(f->sql, f->dialect->strict ? "ST_GeomFromText(" : "GeomFromText(");
        if ((rc = bind_text(f, n->s, n->n)))
            return rc;
        return emit(f, ", 4326)");
    case QN_PATH:
        if (n->path->prop && n->path->prop->type == PT_RESULT && n->path->njson == 0 &&
            n->type == QT_BOOL) {
            /* A boolean result used as a condition. */
            int saved = f->want;
            f->want = QT_BOOL;
            buf_putc(f->sql, '(');
            rc = path_value(f, n->path, false);
            f->want = saved;
            if (rc)
                return rc;
            return emit(f, f->dialect->strict ? ")" : " = 1)");
        }
        return path_value(f, n->path, false);
    case QN_NOT: {
        int saved = f->want;
        f->want = -1;
        buf_puts(f->sql, "(NOT ");
        rc = condition(f, n->a);
        f->want = saved;
        if (rc)
            return rc;
        return emit(f, ")");
    }
    case QN_NEG:
        buf_puts(f->sql, "(-");
        if ((rc = compile(f, n->a)))
            return rc;
        return emit(f, ")");
    case QN_FUNC:
        return function(f, n);
    case QN_BINARY:
        if (n->op <= QOP_LE)
            return compare(f, n);
        {
            static const char *const ops[] = {"", "", "", "", "", "", " AND ", " OR ",
                                               " + ", " - ", " * ", " / ", ", "};
            int saved = f->want;
            bool logic = n->op == QOP_AND || n->op == QOP_OR;
            bool timed = n->a->type == QT_TIME || n->a->type == QT_DURATION ||
                         n->b->type == QT_TIME || n->b->type == QT_DURATION;
            f->want = logic || timed ? -1 : QT_NUMBER;
            /* div is a real division and mod a real remainder: results are measurements. */
            buf_puts(f->sql, n->op != QOP_MOD ? "(" : f->dialect->strict ? "klammer_mod(" : "mod(");
            if (n->op == QOP_DIV && !timed)
                buf_puts(f->sql, "CAST(");
            if ((rc = logic ? condition(f, n->a) : compile(f, n->a)))
                return rc;
            if (n->op == QOP_DIV && !timed)
                buf_puts(f->sql, " AS DOUBLE PRECISION)");
            buf_puts(f->sql, ops[n->op]);
            /* Division by zero is NULL, as in SQLite, not an error. */
            bool guard = n->op == QOP_DIV && f->dialect->strict;
            if (guard)
                buf_puts(f->sql, "NULLIF(");
            if ((rc = logic ? condition(f, n->b) : compile(f, n->b)))
                return rc;
            if (guard)
                buf_puts(f->sql, ", 0)");
            f->want = saved;
            return emit(f, ")");
        }
    }
    return 0;
}

static void fc_init(Fc *f, StoreConn *c, Buf *sql, StoreBinds *binds, Arena *a,
                    const char *alias, const EntityDef *def, Err *err)
{
    memset(f, 0, sizeof *f);
    f->spatial = c->spatial;
    f->dialect = c->dialect;
    f->want = -1;
    f->sql = sql;
    f->b = binds;
    f->a = a;
    f->next_alias = 1;
    f->root = alias;
    f->def = def;
    f->err = err;
}

int store_filter_sql(StoreConn *c, Buf *sql, StoreBinds *binds, Arena *a,
                     const QueryNode *filter, const char *alias, const EntityDef *def, Err *err)
{
    Fc f;
    fc_init(&f, c, sql, binds, a, alias, def, err);
    buf_putc(sql, '(');
    int rc = condition(&f, filter);
    buf_putc(sql, ')');
    return rc;
}

int store_expr_sql(StoreConn *c, Buf *sql, StoreBinds *binds, Arena *a, const QueryNode *expr,
                   const char *alias, const EntityDef *def, const char *dir, Err *err)
{
    Fc f;
    fc_init(&f, c, sql, binds, a, alias, def, err);
    if (!c->dialect->strict || expr->kind != QN_PATH || expr->path->njson == 0) {
        buf_putc(sql, '(');
        int rc = compile(&f, expr);
        buf_putc(sql, ')');
        buf_puts(sql, dir);
        return rc;
    }
    /* A JSON member in SQLite's order of values: NULL, numbers (booleans
     * as 0 and 1) by value, then text; three keys on PostgreSQL. */
    static const int keys[] = {WANT_RANK, WANT_SORTNUM, -1};
    for (int i = 0; i < 3; i++) {
        f.want = keys[i];
        if (i)
            buf_putc(sql, ',');
        int rc = compile(&f, expr);
        if (rc)
            return rc;
        buf_puts(sql, dir);
    }
    return 0;
}
