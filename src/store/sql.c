/*
 * sql.c - reads: resource scope + query options -> parameterised SQL, rows
 * into the arena, $expand without N+1 queries.
 *
 * One statement reads the page of the addressed entities.  Each expanded
 * relation then costs one statement for all parents of the page together:
 * the parent ids are bound as one JSON array and joined as a row source
 * (json_each, jsonb_array_elements_text), and
 * the per-parent $top/$skip/$orderby run as a correlated subquery on the
 * child's foreign-key index, so that each parent costs O(log n + k) however
 * large its collection is.  The latest observation of a datastream, asked
 * for as Observations($top=1;$orderby=phenomenonTime desc), is read through
 * the last_obs_id the triggers maintain; observation counts come from
 * obs_count.  No value is ever spliced into SQL text.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

#define TOO_LARGE(err) err_set((err), ERR_TOO_LARGE, NULL, \
                               "response too large: ask for fewer entities ($top, $expand)")

/* ---------------------------------------------------------- SQL pieces */

/* "t.id,t.name,..." of every entity type, built once: every read needs one. */
static char *select_lists[ENT__COUNT];
static pthread_once_t select_once = PTHREAD_ONCE_INIT;

static void build_select_lists(void)
{
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *def = model_entity((EntityType)t);
        Buf b;
        buf_init(&b);
        for (int i = 0; i < def->ncols; i++)
            buf_printf(&b, "%st.%s", i ? "," : "", def->cols[i]);
        select_lists[t] = buf_steal(&b, NULL);
    }
}

static void cols_sql(Buf *b, const EntityDef *def, const char *alias)
{
    if (alias[0] == 't' && alias[1] == '\0') {
        pthread_once(&select_once, build_select_lists);
        buf_puts(b, select_lists[def->type]);
        return;
    }
    for (int i = 0; i < def->ncols; i++)
        buf_printf(b, "%s%s.%s", i ? "," : "", alias, def->cols[i]);
}

/* What compiling an $orderby expression needs (its literals are bound values). */
typedef struct OrderCtx {
    StoreConn *c;
    StoreBinds *binds;
    Arena *a;
    Err *err;
    int rc; /* first error */
} OrderCtx;

/* Appends the ORDER BY keys (without "ORDER BY"). */
static void order_sql(OrderCtx *oc, Buf *b, const QueryOptions *o, const char *alias)
{
    const EntityDef *def = o->def;
    const StoreDialect *d = oc->c->dialect;
    const char *last_dir = d->asc;
    int n = 0;
    for (int i = 0; i < o->norder; i++) {
        const OrderItem *it = &o->order[i];
        const char *dir = it->desc ? d->desc : d->asc;
        last_dir = dir;
        if (it->expr) {
            if (n++)
                buf_putc(b, ',');
            int rc = store_expr_sql(oc->c, b, oc->binds, oc->a, it->expr, alias, def, dir,
                                    oc->err);
            if (rc && !oc->rc)
                oc->rc = rc;
            continue;
        }
        if (!it->prop) {
            buf_printf(b, "%s%s.id%s", n++ ? "," : "", alias, dir);
            return; /* id is unique: later keys change nothing */
        }
        if (it->prop->type == PT_RESULT && d->strict) {
            /* SQLite's order of the text column: NULL, numbers (and booleans)
             * by value, then strings and JSON. */
            const char *v = def->cols[it->prop->slot], *t = def->cols[it->prop->slot2];
            buf_printf(b, "%s(CASE WHEN %s.%s IS NULL THEN 0 WHEN %s.%s IN (1, 3) THEN 1 ELSE 2 END)%s",
                       n++ ? "," : "", alias, v, alias, t, dir);
            buf_printf(b, ",(CASE WHEN %s.%s IN (1, 3) THEN CAST(%s.%s AS DOUBLE PRECISION) END)%s",
                       alias, t, alias, v, dir);
            buf_printf(b, ",%s.%s%s", alias, v, dir);
            continue;
        }
        if (it->prop->type == PT_RESULT) {
            /* Numbers before strings, by value within each (SQLite's own order). */
            buf_printf(b, "%s%s.%s%s", n++ ? "," : "", alias, def->cols[it->prop->slot], dir);
            continue;
        }
        buf_printf(b, "%s%s.%s%s", n++ ? "," : "", alias, def->cols[it->prop->slot], dir);
        if (it->prop->type == PT_INTERVAL)
            buf_printf(b, ",%s.%s%s", alias, def->cols[it->prop->slot2], dir);
    }
    if (n == 0 && def->type == ENT_OBSERVATION) {
        /* Chronological by default: every observation index serves this order. */
        buf_printf(b, "%s.phen_start%s,%s.id%s", alias, d->asc, alias, d->asc);
        return;
    }
    buf_printf(b, "%s%s.id%s", n ? "," : "", alias, last_dir);
}

static bool is_obs_of_stream(const Rel *rel, const EntityDef *parent)
{
    return rel->target == ENT_OBSERVATION &&
           (parent->type == ENT_DATASTREAM || parent->type == ENT_MULTI_DATASTREAM);
}

/* The latest observation of each parent stream, maintained on write. */
static bool is_latest_query(const Rel *rel, const EntityDef *parent, const QueryOptions *o)
{
    return is_obs_of_stream(rel, parent) && o->top == 1 && o->skip == 0 && o->norder == 1 &&
           o->order[0].prop && strcmp(o->order[0].prop->name, "phenomenonTime") == 0 &&
           o->order[0].desc && !o->filter_ast;
}

/* ------------------------------------------------------------ row reading */

static StoreRowSet *new_set(Arena *a, const EntityDef *def)
{
    StoreRowSet *rs = arena_zalloc(a, sizeof *rs);
    if (rs) {
        rs->def = def;
        rs->count = -1;
    }
    return rs;
}

typedef struct RowVec {
    StoreRow *rows;
    size_t n, cap;
} RowVec;

static StoreRow *vec_push(Arena *a, RowVec *v, const EntityDef *def, size_t nexp)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 16;
        StoreRow *nr = arena_alloc(a, cap * sizeof *nr);
        if (!nr)
            return NULL;
        if (v->n)
            memcpy(nr, v->rows, v->n * sizeof *nr);
        v->rows = nr;
        v->cap = cap;
    }
    StoreRow *r = &v->rows[v->n];
    r->cols = arena_alloc(a, sizeof *r->cols * (size_t)def->ncols);
    r->expanded = nexp ? arena_zalloc(a, sizeof *r->expanded * nexp) : NULL;
    if (!r->cols || (nexp && !r->expanded))
        return NULL;
    v->n++;
    return r;
}

static size_t count_expands(const QueryOptions *o)
{
    size_t n = 0;
    for (const Expand *e = o->expand; e; e = e->next)
        n++;
    return n;
}

static int read_cols(StoreStmt *st, int first, Arena *a, const EntityDef *def, StoreRow *r)
{
    for (int i = 0; i < def->ncols; i++)
        if (store_column_value(st, first + i, a, &r->cols[i]))
            return ERR_TOO_LARGE;
    if (st->c->dialect->strict)
        store_row_fix(def, r->cols);
    return 0;
}

static int expand_rows(StoreConn *c, Arena *a, const EntityDef *def, StoreRow *rows, size_t n,
                       const QueryOptions *o, Err *err);

/* Binds a JSON array of ids as parameter i. */
static void bind_ids(StoreStmt *st, int i, Buf *json)
{
    stmt_bind_text(st, i, json->data, json->len);
}

static void ids_json(Buf *b, const int64_t *ids, size_t n)
{
    buf_putc(b, '[');
    for (size_t i = 0; i < n; i++)
        buf_printf(b, "%s%lld", i ? "," : "", (long long)ids[i]);
    buf_putc(b, ']');
}

/* ------------------------------------------------------ children of parents */

/*
 * Reads the entities related to each of parents[0..n) along rel (of
 * parent_def), with options o, into out[i] (one row set per parent).
 */
static int read_children(StoreConn *c, Arena *a, const EntityDef *parent_def, const Rel *rel,
                         const int64_t *parents, size_t n, const QueryOptions *o,
                         StoreRowSet **out, Err *err)
{
    const EntityDef *def = model_entity(rel->target);
    size_t nexp = count_expands(o);
    Buf sql, ids;
    buf_init(&sql);
    buf_init(&ids);
    ids_json(&ids, parents, n);
    int rc = 0;
    bool latest = is_latest_query(rel, parent_def, o);
    bool windowed = rel->kind == REL_LINK;
    StoreBinds binds = {0};
    StoreBinds cbinds = {0};
    OrderCtx oc = {c, &binds, a, err, 0};

    if (latest) {
        buf_puts(&sql, "SELECT p.key,");
        cols_sql(&sql, def, "t");
        buf_printf(&sql, ",d.obs_count FROM %s JOIN %s d ON d.id = p.value"
                         " JOIN observations t ON t.id = d.last_obs_id ORDER BY p.key",
                   c->dialect->ids_source, parent_def->table);
    } else if (!windowed) {
        buf_puts(&sql, "SELECT p.key,");
        cols_sql(&sql, def, "t");
        if (c->dialect->lateral)
            buf_printf(&sql, " FROM %s CROSS JOIN LATERAL (SELECT t2.* FROM %s t2"
                             " WHERE t2.%s = p.value",
                       c->dialect->ids_source, def->table, rel->fk_col);
        else
            buf_printf(&sql, " FROM %s JOIN %s t ON t.id IN (SELECT t2.id FROM %s t2"
                             " WHERE t2.%s = p.value",
                       c->dialect->ids_source, def->table, def->table, rel->fk_col);
        if (o->filter_ast) {
            buf_puts(&sql, " AND ");
            if ((rc = store_filter_sql(c, &sql, &binds, a, o->filter_ast, "t2", def, err)))
                goto done;
        }
        buf_puts(&sql, " ORDER BY ");
        order_sql(&oc, &sql, o, "t2");
        buf_puts(&sql, c->dialect->lateral ? " LIMIT ?2 OFFSET ?3) t ORDER BY p.key,"
                                           : " LIMIT ?2 OFFSET ?3) ORDER BY p.key,");
        order_sql(&oc, &sql, o, "t");
    } else {
        buf_puts(&sql, "SELECT pk");
        for (int i = 0; i < def->ncols; i++)
            buf_printf(&sql, ",c%d", i);
        buf_puts(&sql, " FROM (SELECT p.key AS pk");
        for (int i = 0; i < def->ncols; i++)
            buf_printf(&sql, ",t.%s AS c%d", def->cols[i], i);
        buf_puts(&sql, ",row_number() OVER (PARTITION BY p.key ORDER BY ");
        if (o->norder == 0 && rel->link_order)
            buf_printf(&sql, "l.%s", rel->link_order);
        else
            order_sql(&oc, &sql, o, "t");
        buf_printf(&sql, ") AS rn FROM %s JOIN ", c->dialect->ids_source);
        if (rel->link_order)
            buf_printf(&sql, "%s l", rel->link_table);
        else
            buf_printf(&sql, "(SELECT DISTINCT %s, %s FROM %s) l", rel->link_this,
                       rel->link_other, rel->link_table);
        buf_printf(&sql, " ON l.%s = p.value JOIN %s t ON t.id = l.%s", rel->link_this,
                   def->table, rel->link_other);
        if (o->filter_ast) {
            buf_puts(&sql, " WHERE ");
            if ((rc = store_filter_sql(c, &sql, &binds, a, o->filter_ast, "t", def, err)))
                goto done;
        }
        buf_puts(&sql, ") w WHERE rn > CAST(?3 AS BIGINT) AND rn <= CAST(?3 AS BIGINT) +"
                       " CAST(?2 AS BIGINT) ORDER BY pk, rn");
    }

    if ((rc = oc.rc))
        goto done;
    StoreStmt *st;
    if ((rc = store_stmt(c, sql.data, &st, err)))
        goto done;
    bind_ids(st, 1, &ids);
    store_binds_apply(st, &binds);
    if (!latest) {
        stmt_bind_int(st, 2, o->top + 1); /* one more tells whether more exist */
        stmt_bind_int(st, 3, o->skip);
    }
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = new_set(a, def))) {
            rc = TOO_LARGE(err);
            goto reset;
        }
    /* Rows arrive grouped by parent position; keep one vector for all. */
    RowVec all = {0};
    size_t *kept = arena_zalloc(a, sizeof *kept * (n + 1));
    if (!kept) {
        rc = TOO_LARGE(err);
        goto reset;
    }
    int step;
    while ((step = stmt_step(st, err)) == STORE_ROW) {
        int64_t pk = stmt_col_int(st, 0);
        if (pk < 0 || (size_t)pk >= n)
            continue;
        if (latest && stmt_col_int(st, 1 + def->ncols) > 1)
            out[pk]->more = true;
        if (kept[pk] == (size_t)o->top) {
            out[pk]->more = true;
            continue;
        }
        StoreRow *r = vec_push(a, &all, def, nexp);
        if (!r || read_cols(st, 1, a, def, r)) {
            rc = TOO_LARGE(err);
            goto reset;
        }
        kept[pk]++;
        out[pk]->n++;
    }
    if (step < 0) {
        rc = step;
        goto reset;
    }
    stmt_reset(st);
    /* Slices: rows are ordered by parent position. */
    {
        size_t off = 0;
        for (size_t i = 0; i < n; i++) {
            out[i]->rows = all.rows + off;
            off += out[i]->n;
        }
    }
    if (nexp && all.n && (rc = expand_rows(c, a, def, all.rows, all.n, o, err)))
        goto done;

    /* Per-parent counts. */
    if (o->count) {
        buf_clear(&sql);
        if (is_obs_of_stream(rel, parent_def) && !o->filter_ast)
            buf_printf(&sql, "SELECT p.key, (SELECT obs_count FROM %s WHERE id = p.value",
                       parent_def->table);
        else if (rel->kind == REL_MANY)
            buf_printf(&sql, "SELECT p.key, (SELECT count(*) FROM %s t WHERE t.%s = p.value",
                       def->table, rel->fk_col);
        else if (rel->link_order)
            buf_printf(&sql, "SELECT p.key, (SELECT count(*) FROM %s l JOIN %s t"
                             " ON t.id = l.%s WHERE l.%s = p.value",
                       rel->link_table, def->table, rel->link_other, rel->link_this);
        else
            buf_printf(&sql, "SELECT p.key, (SELECT count(DISTINCT l.%s) FROM %s l JOIN %s t"
                             " ON t.id = l.%s WHERE l.%s = p.value",
                       rel->link_other, rel->link_table, def->table, rel->link_other,
                       rel->link_this);
        if (o->filter_ast && !(is_obs_of_stream(rel, parent_def) && !o->filter_ast)) {
            buf_puts(&sql, " AND ");
            if ((rc = store_filter_sql(c, &sql, &cbinds, a, o->filter_ast, "t", def, err)))
                goto done;
        }
        buf_printf(&sql, ") FROM %s", c->dialect->ids_source);
        if ((rc = store_stmt(c, sql.data, &st, err)))
            goto done;
        bind_ids(st, 1, &ids);
        store_binds_apply(st, &cbinds);
        while ((step = stmt_step(st, err)) == STORE_ROW) {
            int64_t pk = stmt_col_int(st, 0);
            if (pk >= 0 && (size_t)pk < n)
                out[pk]->count = stmt_col_int(st, 1);
        }
        if (step < 0) {
            rc = step;
            goto reset;
        }
        stmt_reset(st);
    }
    goto done;
reset:
    stmt_reset(st);
done:
    buf_fini(&sql);
    buf_fini(&ids);
    return rc;
}

/* ------------------------------------------------------- to-one targets */

static int read_targets(StoreConn *c, Arena *a, const Rel *rel,
                        StoreRow *rows, size_t n, const QueryOptions *o, size_t which,
                        Err *err)
{
    const EntityDef *t = model_entity(rel->target);
    size_t nexp = count_expands(o);
    Buf sql, ids;
    buf_init(&sql);
    buf_init(&ids);
    buf_putc(&ids, '[');
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const StoreValue *fk = &rows[i].cols[rel->fk_slot];
        if (fk->type == SV_INT)
            buf_printf(&ids, "%s%lld", k++ ? "," : "", (long long)fk->i);
    }
    buf_putc(&ids, ']');
    buf_puts(&sql, "SELECT ");
    cols_sql(&sql, t, "t");
    buf_printf(&sql, " FROM %s t WHERE t.id IN (SELECT p.value FROM %s) ORDER BY t.id",
               t->table, c->dialect->ids_source);
    StoreStmt *st;
    int rc = store_stmt(c, sql.data, &st, err);
    if (rc)
        goto done;
    bind_ids(st, 1, &ids);
    RowVec got = {0};
    int step;
    while ((step = stmt_step(st, err)) == STORE_ROW) {
        StoreRow *r = vec_push(a, &got, t, nexp);
        if (!r || read_cols(st, 0, a, t, r)) {
            stmt_reset(st);
            rc = TOO_LARGE(err);
            goto done;
        }
    }
    stmt_reset(st);
    if (step < 0) {
        rc = step;
        goto done;
    }
    if (nexp && got.n && (rc = expand_rows(c, a, t, got.rows, got.n, o, err)))
        goto done;
    /* Attach by id (got is sorted by id). */
    for (size_t i = 0; i < n; i++) {
        StoreRowSet *rs = new_set(a, t);
        if (!rs) {
            rc = TOO_LARGE(err);
            goto done;
        }
        rows[i].expanded[which] = rs;
        const StoreValue *fk = &rows[i].cols[rel->fk_slot];
        if (fk->type != SV_INT)
            continue;
        size_t lo = 0, hi = got.n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (got.rows[mid].cols[0].i < fk->i)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < got.n && got.rows[lo].cols[0].i == fk->i) {
            rs->rows = &got.rows[lo];
            rs->n = 1;
        }
    }
done:
    buf_fini(&sql);
    buf_fini(&ids);
    return rc;
}

static int expand_rows(StoreConn *c, Arena *a, const EntityDef *def, StoreRow *rows, size_t n,
                       const QueryOptions *o, Err *err)
{
    size_t which = 0;
    for (const Expand *e = o->expand; e; e = e->next, which++) {
        int rc;
        if (e->rel->kind == REL_ONE) {
            rc = read_targets(c, a, e->rel, rows, n, e->opts, which, err);
        } else {
            int64_t *ids = arena_alloc(a, sizeof *ids * n);
            StoreRowSet **sets = arena_alloc(a, sizeof *sets * n);
            if (!ids || !sets)
                return TOO_LARGE(err);
            for (size_t i = 0; i < n; i++)
                ids[i] = rows[i].cols[0].i;
            rc = read_children(c, a, def, e->rel, ids, n, e->opts, sets, err);
            for (size_t i = 0; !rc && i < n; i++)
                rows[i].expanded[which] = sets[i];
        }
        if (rc)
            return rc;
    }
    return 0;
}

/* ------------------------------------------------------------- entry */

static int read_plain(StoreConn *c, Arena *a, const StoreScope *sc, const QueryOptions *o,
                      StoreRowSet **out, Err *err)
{
    const EntityDef *def = sc->def;
    size_t nexp = count_expands(o);
    StoreRowSet *rs = new_set(a, def);
    if (!rs)
        return TOO_LARGE(err);
    Buf sql;
    int rc = 0;
    buf_init(&sql);
    buf_puts(&sql, "SELECT ");
    cols_sql(&sql, def, "t");
    buf_printf(&sql, " FROM %s t", def->table);
    StoreBinds binds = {0};
    if (sc->id_given)
        buf_puts(&sql, " WHERE t.id = ?3");
    else {
        if (o->filter_ast) {
            buf_puts(&sql, " WHERE ");
            if ((rc = store_filter_sql(c, &sql, &binds, a, o->filter_ast, "t", def, err)))
                goto done;
        }
        buf_puts(&sql, " ORDER BY ");
        OrderCtx oc = {c, &binds, a, err, 0};
        order_sql(&oc, &sql, o, "t");
        buf_puts(&sql, " LIMIT ?1 OFFSET ?2");
        if ((rc = oc.rc))
            goto done;
    }
    StoreStmt *st;
    if ((rc = store_stmt(c, sql.data, &st, err)))
        goto done;
    store_binds_apply(st, &binds);
    if (sc->id_given)
        stmt_bind_int(st, 3, sc->id);
    else {
        stmt_bind_int(st, 1, o->top + 1);
        stmt_bind_int(st, 2, o->skip);
    }
    RowVec v = {0};
    int step;
    while ((step = stmt_step(st, err)) == STORE_ROW) {
        if (!sc->id_given && v.n == (size_t)o->top) {
            rs->more = true;
            break;
        }
        StoreRow *r = vec_push(a, &v, def, nexp);
        if (!r || read_cols(st, 0, a, def, r)) {
            stmt_reset(st);
            rc = TOO_LARGE(err);
            goto done;
        }
    }
    stmt_reset(st);
    if (step < 0) {
        rc = step;
        goto done;
    }
    rs->rows = v.rows;
    rs->n = v.n;
    if (sc->id_given && v.n == 0) {
        rc = err_set(err, ERR_NOT_FOUND, NULL, "no %s with id %lld", def->name,
                     (long long)sc->id);
        goto done;
    }
    if (!sc->id_given && o->count) {
        buf_clear(&sql);
        buf_printf(&sql, "SELECT count(*) FROM %s t", def->table);
        StoreBinds cb = {0};
        if (o->filter_ast) {
            buf_puts(&sql, " WHERE ");
            if ((rc = store_filter_sql(c, &sql, &cb, a, o->filter_ast, "t", def, err)))
                goto done;
        }
        if ((rc = store_stmt(c, sql.data, &st, err)))
            goto done;
        store_binds_apply(st, &cb);
        int step2 = stmt_step(st, err);
        if (step2 == STORE_ROW)
            rs->count = stmt_col_int(st, 0);
        stmt_reset(st);
        if (step2 < 0) {
            rc = step2;
            goto done;
        }
    }
    if (nexp && v.n)
        rc = expand_rows(c, a, def, v.rows, v.n, o, err);
    if (!rc)
        *out = rs;
done:
    buf_fini(&sql);
    return rc;
}

int store_read(StoreConn *c, Arena *a, const StoreScope *sc, const QueryOptions *o,
               StoreRowSet **out, Err *err)
{
    if (!sc->rel || sc->id_given)
        return read_plain(c, a, sc, o, out, err);
    StoreRowSet *set = NULL;
    int rc = read_children(c, a, sc->parent_def, sc->rel, &sc->parent_id, 1, o, &set, err);
    if (!rc && set->n == 0 && sc->parent_unchecked) {
        bool ok;
        if ((rc = store_exists(c, sc->parent_def, sc->parent_id, &ok, err)))
            return rc;
        if (!ok)
            return err_set(err, ERR_NOT_FOUND, NULL, "no %s with id %lld", sc->parent_def->name,
                           (long long)sc->parent_id);
    }
    if (!rc)
        *out = set;
    return rc;
}
