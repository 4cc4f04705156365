/*
 * sqlite.c - the SQLite backend: connections with a prepared-statement
 * cache, migrations, the read pool, path resolution and the write
 * primitives (insert, update, delete with cascades, links).
 *
 * Every value reaches SQL through a bound parameter; SQL text is built only
 * from the model's table and column names.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "store/store_int.h"
#include "util/arena.h"

/*
 * store.c - the backend-neutral part of the store: the prepared-statement
 * cache, opening a store on SQLite or PostgreSQL, the read pool, path
 * resolution and the write primitives (insert, update, delete with
 * cascades, links).  Everything here runs on the statement interface of
 * store_int.h, in SQL both dialects understand.
 *
 * Every value reaches SQL through a bound parameter; SQL text is built only
 * from the model's table and column names.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/arena.h"

/* ==================================================== statement cache */

void store_cache_clear(StoreConn *c)
{
    for (int i = 0; i < STMT_CACHE_BUCKETS; i++) {
        StmtEntry *e = c->buckets[i];
        while (e) {
            StmtEntry *next = e->next;
            c->ops->finalize(e->stmt);
            free(e->sql);
            free(e);
            e = next;
        }
        c->buckets[i] = NULL;
    }
    c->nstmts = 0;
    c->last_sql = NULL;
    memset(c->ins, 0, sizeof c->ins);
}

void store_conn_close(StoreConn *c)
{
    if (!c)
        return;
    c->closing = true; /* the statements go with the session */
    store_cache_clear(c);
    c->ops->close(c);
    free(c->url);
    free(c);
}

static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

int store_stmt(StoreConn *c, const char *sql, StoreStmt **out, Err *err)
{
    unsigned b = hash(sql) % STMT_CACHE_BUCKETS;
    for (StmtEntry *e = c->buckets[b]; e; e = e->next) {
        if (strcmp(e->sql, sql) == 0) {
            c->ops->reset(e->stmt);
            *out = e->stmt;
            c->last_sql = e->sql;
            return 0;
        }
    }
    if (c->nstmts >= STMT_CACHE_MAX)
        store_cache_clear(c);
    StoreStmt *st = NULL;
    int rc = c->ops->prepare(c, sql, &st, err);
    if (rc)
        return rc;
    StmtEntry *e = xmalloc(sizeof *e);
    e->sql = xstrdup(sql);
    e->stmt = st;
    e->next = c->buckets[b];
    c->buckets[b] = e;
    c->nstmts++;
    *out = st;
    c->last_sql = e->sql;
    return 0;
}

int store_step_cached(StoreConn *c, const char *sql, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    rc = stmt_step(st, err);
    stmt_reset(st);
    return rc < 0 ? rc : 0;
}

int store_exec(StoreConn *c, const char *sql, Err *err)
{
    return c->ops->exec(c, sql, err);
}

int store_begin(StoreConn *c, const char *sql, Err *err)
{
    Err e;
    err_init(&e);
    int rc = store_conn_check(c, &e);
    if (!rc)
        rc = store_step_cached(c, sql, &e);
    if (rc && store_conn_lost(c)) {
        /* libpq learns that the server ended the session only when it
         * uses it: nothing has run yet, so a new session may begin. */
        err_init(&e);
        rc = store_conn_check(c, &e);
        if (!rc)
            rc = store_step_cached(c, sql, &e);
    }
    if (rc)
        err_set(err, e.code, e.field[0] ? e.field : NULL, "%s", e.msg);
    return rc;
}

/* The slots of an Observation's Datastream and MultiDatastream. */
static void stream_slots(const EntityDef *def, int *ds, int *mds)
{
    *ds = model_rel(def, "Datastream", 10)->fk_slot;
    *mds = model_rel(def, "MultiDatastream", 15)->fk_slot;
}

const StoreValue *store_stream_value(const StoreConn *c, const EntityDef *def,
                                     const StoreValue *vals, const bool *set)
{
    static const StoreValue none = {.type = SV_NULL};
    if (def->type != ENT_OBSERVATION || !c->dialect->stream_key)
        return NULL;
    if (!vals)
        return &none;
    int ds, mds;
    stream_slots(def, &ds, &mds);
    if (set[ds] && vals[ds].type != SV_NULL)
        return &vals[ds];
    if (set[mds] && vals[mds].type != SV_NULL)
        return &vals[mds];
    return &none;
}

void stmt_bind_value(StoreStmt *st, int i, const StoreValue *v)
{
    switch (v->type) {
    case SV_NULL: stmt_bind_null(st, i); break;
    case SV_INT: stmt_bind_int(st, i, v->i); break;
    case SV_REAL: stmt_bind_real(st, i, v->d); break;
    case SV_TEXT: stmt_bind_text(st, i, v->s, v->n); break;
    }
}

/* ============================================================ open/close */

bool store_db_is_url(const char *path)
{
    return strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0;
}

const char *store_db_redacted(const char *db, char *out, size_t outsz)
{
    if (outsz == 0)
        return out;
    if (!store_db_is_url(db)) {
        snprintf(out, outsz, "%s", db);
        return out;
    }
    Buf b;
    buf_init(&b);
    const char *auth = strstr(db, "://") + 3;
    size_t alen = strcspn(auth, "/?#");
    const char *at = memrchr(auth, '@', alen);
    const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
    if (colon) {
        buf_append(&b, db, (size_t)(colon + 1 - db));
        buf_puts(&b, "***");
        db = at;
    }
    /* Query parameters: password=... up to the next '&'. */
    for (const char *p = db; *p;) {
        const char *q = strstr(p, "password=");
        if (!q || (q != db && q[-1] != '?' && q[-1] != '&')) {
            if (!q) {
                buf_puts(&b, p);
                break;
            }
            buf_append(&b, p, (size_t)(q + 9 - p));
            p = q + 9;
            continue;
        }
        buf_append(&b, p, (size_t)(q + 9 - p));
        buf_puts(&b, "***");
        p = q + 9 + strcspn(q + 9, "&#");
    }
    snprintf(out, outsz, "%s", b.data ? b.data : "");
    buf_fini(&b);
    return out;
}

static void configure_sqlite(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* Opens one connection of the store's backend. */
static int conn_open(const StoreConfig *cfg, StoreConn **out, Err *err)
{
    if (store_db_is_url(cfg->path))
        return store_pg_conn_open(cfg->path, out, err);
    return store_conn_open(cfg->path, cfg->sync_full, out, err);
}

int store_open(const StoreConfig *cfg, Store **out, Err *err)
{
    /* Must precede the first use of SQLite: no global statistics mutex. */
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, configure_sqlite);
    Store *s = xcalloc(1, sizeof *s);
    pthread_mutex_init(&s->pool_mu, NULL);
    pthread_cond_init(&s->pool_cv, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->batch_max = cfg->batch_max > 0 ? cfg->batch_max : 1024;
    if (conn_open(cfg, &s->writer_conn, err))
        goto fail;
    s->ops = s->writer_conn->ops;
    if (store_db_is_url(cfg->path) ? store_pg_migrate(s->writer_conn, err)
                                   : store_sqlite_migrate(s->writer_conn, err))
        goto fail;
    s->npool = cfg->read_conns > 0 ? cfg->read_conns : 4;
    s->pool = xcalloc((size_t)s->npool, sizeof *s->pool);
    for (int i = 0; i < s->npool; i++) {
        if (conn_open(cfg, &s->pool[i], err)) {
            s->npool = i;
            goto fail;
        }
        s->pool[i]->next_free = s->free_list;
        s->free_list = s->pool[i];
    }
    if (store_writer_start(s, err))
        goto fail;
    *out = s;
    return 0;
fail:
    s->writer = 0;
    store_close(s);
    return err ? err->code : ERR_STORAGE;
}

void store_close(Store *s)
{
    if (!s)
        return;
    if (s->writer)
        store_writer_stop(s);
    for (int i = 0; i < s->npool; i++)
        store_conn_close(s->pool[i]);
    free(s->pool);
    if (s->writer_conn) {
        /* A clean close checkpoints the WAL into the database file. */
        if (s->writer_conn->db)
            store_exec(s->writer_conn, "PRAGMA wal_checkpoint(TRUNCATE)", NULL);
        store_conn_close(s->writer_conn);
    }
    pthread_mutex_destroy(&s->pool_mu);
    pthread_cond_destroy(&s->pool_cv);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* ================================================================ reads */

int store_read_begin(Store *s, StoreConn **out, Err *err)
{
    pthread_mutex_lock(&s->pool_mu);
    while (!s->free_list)
        pthread_cond_wait(&s->pool_cv, &s->pool_mu);
    StoreConn *c = s->free_list;
    s->free_list = c->next_free;
    pthread_mutex_unlock(&s->pool_mu);
    if (store_begin(c, c->dialect->begin_read, err)) {
        store_read_end(s, c);
        return err->code;
    }
    *out = c;
    return 0;
}

void store_read_end(Store *s, StoreConn *c)
{
    if (!c)
        return;
    if (c->ops->in_transaction(c))
        store_step_cached(c, "COMMIT", NULL);
    pthread_mutex_lock(&s->pool_mu);
    c->next_free = s->free_list;
    s->free_list = c;
    pthread_cond_signal(&s->pool_cv);
    pthread_mutex_unlock(&s->pool_mu);
}

/* Runs a statement that returns at most one integer; *found says whether a row came. */
static int query_int(StoreConn *c, const char *sql, int64_t a, int64_t b, int nargs,
                     int64_t *out, bool *found, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, a);
    if (nargs > 1)
        stmt_bind_int(st, 2, b);
    int step = stmt_step(st, err);
    if (step == STORE_ROW) {
        *found = true;
        *out = stmt_col_type(st, 0) == SV_NULL ? INT64_MIN : stmt_col_int(st, 0);
        stmt_reset(st);
        return 0;
    }
    stmt_reset(st);
    if (step < 0)
        return step;
    *found = false;
    return 0;
}

const char *store_col_text(StoreStmt *st, int col, Arena *a, bool *ok)
{
    size_t n;
    const char *t = st->c->ops->col_text(st, col, &n);
    if (!t)
        return NULL;
    char *s = arena_strndup(a, t, n);
    if (!s)
        *ok = false;
    return s;
}

int store_read_page(StoreConn *c, const char *sql, int64_t top, int64_t skip, Arena *a,
                    size_t size, StoreRowFn row, void **out, size_t *n, bool *more,
                    const char *what, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, top + 1);
    stmt_bind_int(st, 2, skip);
    size_t cap = top < 64 ? (size_t)top + 1 : 64, cnt = 0;
    char *v = arena_zalloc(a, cap * size);
    bool ok = v != NULL, extra = false;
    int step = STORE_DONE;
    while (ok && (step = stmt_step(st, err)) == STORE_ROW) {
        if ((int64_t)cnt == top) {
            extra = true; /* one row beyond the page: there are more */
            break;
        }
        if (cnt == cap) {
            char *w = arena_alloc(a, 2 * cap * size);
            if (!w) {
                ok = false;
                break;
            }
            memcpy(w, v, cnt * size);
            v = w;
            cap *= 2;
        }
        ok = row(st, a, v + cnt * size);
        cnt++;
    }
    rc = ok && !extra && step < 0 ? step : 0;
    stmt_reset(st);
    if (rc)
        return rc;
    if (!ok)
        return err_set(err, ERR_TOO_LARGE, NULL, "%s page too large for one response", what);
    *out = v;
    *n = cnt;
    *more = extra;
    return 0;
}

int store_query_count(StoreConn *c, const char *sql, int64_t *out, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    if ((rc = stmt_step(st, err)) != STORE_ROW) {
        stmt_reset(st);
        return rc < 0 ? rc : err_set(err, ERR_STORAGE, NULL, "count query returned no row");
    }
    *out = stmt_col_int(st, 0);
    stmt_reset(st);
    return 0;
}

int store_exists(StoreConn *c, const EntityDef *def, int64_t id, bool *out, Err *err)
{
    char sql[160];
    int64_t v;
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ?", def->table);
    return query_int(c, sql, id, 0, 1, &v, out, err);
}

/* Is child (of rel->target) related to parent (of def) along rel? */
static int belongs(StoreConn *c, const EntityDef *def, const Rel *rel, int64_t parent,
                   int64_t child, bool *out, Err *err)
{
    char sql[320];
    const EntityDef *t = model_entity(rel->target);
    int64_t v;
    switch (rel->kind) {
    case REL_MANY:
        snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ? AND %s = ?", t->table,
                 rel->fk_col);
        return query_int(c, sql, child, parent, 2, &v, out, err);
    case REL_LINK:
        snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE %s = ? AND %s = ? LIMIT 1",
                 rel->link_table, rel->link_other, rel->link_this);
        return query_int(c, sql, child, parent, 2, &v, out, err);
    case REL_ONE:
        snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ? AND %s = ?", def->table,
                 def->cols[rel->fk_slot]);
        return query_int(c, sql, parent, child, 2, &v, out, err);
    }
    return 0;
}

static int resolve(StoreConn *c, const ResourcePath *path, int nsegs, bool defer,
                   StoreScope *out, Err *err)
{
    StoreScope sc;
    memset(&sc, 0, sizeof sc);
    int rc;
    bool checked = false; /* the current entity's existence is known */
    for (int i = 0; i < nsegs; i++) {
        const PathSeg *seg = &path->segs[i];
        bool last = i == nsegs - 1;
        checked = false;
        if (i == 0) {
            sc.def = seg->def;
            sc.id_given = seg->has_id;
            sc.id = seg->id;
        } else if (seg->rel->kind == REL_ONE) {
            char sql[160];
            int64_t fk;
            bool found;
            snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ?",
                     sc.def->cols[seg->rel->fk_slot], sc.def->table);
            if ((rc = query_int(c, sql, sc.id, 0, 1, &fk, &found, err)))
                return rc;
            if (!found)
                return err_set(err, ERR_NOT_FOUND, NULL, "no %s with id %lld", sc.def->name,
                               (long long)sc.id);
            if (fk == INT64_MIN)
                return err_set(err, ERR_NOT_FOUND, NULL, "%s %lld has no %s", sc.def->name,
                               (long long)sc.id, seg->rel->name);
            sc = (StoreScope){seg->def, true, fk, NULL, NULL, 0, false};
        } else {
            StoreScope parent = sc;
            sc = (StoreScope){seg->def, seg->has_id, seg->id, seg->rel, parent.def, parent.id, false};
            if (seg->has_id) {
                bool ok;
                if ((rc = belongs(c, parent.def, seg->rel, parent.id, seg->id, &ok, err)))
                    return rc;
                if (!ok)
                    return err_set(err, ERR_NOT_FOUND, NULL, "no %s with id %lld in %s %lld",
                                   seg->def->name, (long long)seg->id, parent.def->name,
                                   (long long)parent.id);
                sc.rel = NULL;
                checked = true; /* it belongs to its parent, so it exists */
            }
        }
        /* Intermediate entities and a collection's parent must exist.  A read
         * may leave the check of a collection's parent to store_read, which
         * makes it only when the collection comes back empty. */
        bool parent_of_last = i == nsegs - 2 && !path->segs[nsegs - 1].has_id &&
                              path->segs[nsegs - 1].rel->kind != REL_ONE;
        if (defer && parent_of_last && sc.id_given) {
            out->parent_unchecked = true;
            checked = true;
        }
        if (sc.id_given && !checked && (!last || i > 0)) {
            bool ok;
            if ((rc = store_exists(c, sc.def, sc.id, &ok, err)))
                return rc;
            if (!ok)
                return err_set(err, ERR_NOT_FOUND, NULL, "no %s with id %lld", sc.def->name,
                               (long long)sc.id);
        }
    }
    sc.parent_unchecked = out->parent_unchecked;
    *out = sc;
    return 0;
}

int store_resolve(StoreConn *c, const ResourcePath *path, int nsegs, StoreScope *out, Err *err)
{
    out->parent_unchecked = false;
    return resolve(c, path, nsegs, false, out, err);
}

int store_resolve_read(StoreConn *c, const ResourcePath *path, int nsegs, StoreScope *out,
                       Err *err)
{
    out->parent_unchecked = false;
    return resolve(c, path, nsegs, true, out, err);
}

int store_column_value(StoreStmt *st, int col, Arena *a, StoreValue *v)
{
    memset(v, 0, sizeof *v);
    switch (stmt_col_type(st, col)) {
    case SV_INT:
        v->type = SV_INT;
        v->i = stmt_col_int(st, col);
        break;
    case SV_REAL:
        v->type = SV_REAL;
        v->d = stmt_col_real(st, col);
        break;
    case SV_NULL:
        v->type = SV_NULL;
        break;
    case SV_TEXT: {
        size_t n;
        const char *t = st->c->ops->col_text(st, col, &n);
        v->type = SV_TEXT;
        v->s = arena_strndup(a, t ? t : "", n);
        v->n = n;
        if (!v->s)
            return ERR_TOO_LARGE;
    }
    }
    return 0;
}

void store_row_fix(const EntityDef *def, StoreValue *cols)
{
    if (def->type != ENT_OBSERVATION)
        return;
    const Prop *p = model_prop(def, "result", 6);
    StoreValue *v = &cols[p->slot];
    const StoreValue *t = &cols[p->slot2];
    if (v->type != SV_TEXT || t->type != SV_INT || (t->i != 1 && t->i != 3))
        return;
    /* A number or boolean the dialect keeps as text: its value type back. */
    char *end;
    long long i = strtoll(v->s, &end, 10);
    if (*end == '\0' && end != v->s) {
        v->type = SV_INT;
        v->i = i;
        return;
    }
    double d = strtod(v->s, &end);
    if (*end == '\0' && end != v->s) {
        v->type = SV_REAL;
        v->d = d;
    }
}

/* Steps st to its one row; none is ERR_NOT_FOUND "no <what> with id <id>" (st reset). */
static int step_row(StoreConn *c, StoreStmt *st, const char *field, const char *what,
                    int64_t id, Err *err)
{
    (void)c;
    int step = stmt_step(st, err);
    if (step == STORE_ROW)
        return 0;
    stmt_reset(st);
    if (step < 0)
        return step;
    return err_set(err, ERR_NOT_FOUND, field, "no %s with id %lld", what, (long long)id);
}

int store_get(StoreConn *c, Arena *a, const EntityDef *def, int64_t id, StoreRow **out,
              Err *err)
{
    Buf sql;
    buf_init(&sql);
    buf_puts(&sql, "SELECT ");
    for (int i = 0; i < def->ncols; i++)
        buf_printf(&sql, "%s%s", i ? "," : "", def->cols[i]);
    buf_printf(&sql, " FROM %s WHERE id = ?", def->table);
    StoreStmt *st;
    int rc = store_stmt(c, sql.data, &st, err);
    buf_fini(&sql);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, id);
    if ((rc = step_row(c, st, NULL, def->name, id, err)))
        return rc;
    StoreRow *row = arena_zalloc(a, sizeof *row);
    StoreValue *vals = arena_zalloc(a, sizeof *vals * (size_t)def->ncols);
    if (!row || !vals) {
        stmt_reset(st);
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    }
    for (int i = 0; i < def->ncols; i++)
        if (store_column_value(st, i, a, &vals[i])) {
            stmt_reset(st);
            return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
        }
    stmt_reset(st);
    if (c->dialect->strict)
        store_row_fix(def, vals);
    row->cols = vals;
    *out = row;
    return 0;
}

/* ================================================================ writes */

static int insert_stmt(StoreConn *c, const EntityDef *def, const bool *set, StoreStmt **out,
                       Err *err);

static int step_done(StoreConn *c, StoreStmt *st, Err *err)
{
    (void)c;
    int step = stmt_step(st, err);
    stmt_reset(st);
    return step < 0 ? step : 0;
}

int store_insert(StoreConn *c, const EntityDef *def, const StoreValue *vals, const bool *set,
                 int64_t *id, Err *err)
{
    uint32_t mask = 0;
    for (int i = 1; i < def->ncols; i++)
        if (set[i])
            mask |= 1u << i;
    StoreStmt *st = NULL;
    int rc;
    for (int k = 0; k < 4 && !st; k++)
        if (c->ins[def->type][k].stmt && c->ins[def->type][k].mask == mask) {
            st = c->ins[def->type][k].stmt;
            stmt_reset(st);
        }
    if (!st && (rc = insert_stmt(c, def, set, &st, err)))
        return rc;
    int slot = c->ins_next[def->type];
    if (c->ins[def->type][slot].stmt != st) {
        c->ins[def->type][slot].stmt = st;
        c->ins[def->type][slot].mask = mask;
        c->ins_next[def->type] = (slot + 1) % 4;
    }
    int k = 1;
    for (int i = 1; i < def->ncols; i++)
        if (set[i])
            stmt_bind_value(st, k++, &vals[i]);
    const StoreValue *stream = store_stream_value(c, def, vals, set);
    if (stream)
        stmt_bind_value(st, k, stream);
    /* RETURNING: the id comes from the database (a sequence on PostgreSQL). */
    int step = stmt_step(st, err);
    if (step == STORE_ROW)
        *id = stmt_col_int(st, 0);
    stmt_reset(st);
    if (step < 0)
        return step;
    if (step != STORE_ROW)
        return err_set(err, ERR_STORAGE, NULL, "insert into %s returned no id", def->table);
    return 0;
}

/* "INSERT INTO table(the columns set[, stream_id])"; returns their number. */
static int insert_head(StoreConn *c, const EntityDef *def, const bool *set, Buf *sql)
{
    buf_printf(sql, "INSERT INTO %s(", def->table);
    int n = 0;
    for (int i = 1; i < def->ncols; i++)
        if (set[i])
            buf_printf(sql, "%s%s", n++ ? "," : "", def->cols[i]);
    if (store_stream_value(c, def, NULL, set))
        buf_printf(sql, "%sstream_id", n++ ? "," : "");
    buf_putc(sql, ')');
    return n;
}

static int insert_stmt(StoreConn *c, const EntityDef *def, const bool *set, StoreStmt **out,
                       Err *err)
{
    Buf sql;
    buf_init(&sql);
    int n = insert_head(c, def, set, &sql);
    buf_puts(&sql, " VALUES(");
    for (int i = 0; i < n; i++)
        buf_puts(&sql, i ? ",?" : "?");
    buf_puts(&sql, ") RETURNING id");
    int rc = store_stmt(c, sql.data, out, err);
    buf_fini(&sql);
    return rc;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* One INSERT of STORE_INSERT_ROWS rows. */
static int insert_rows(StoreConn *c, const EntityDef *def, const StoreValue *const *rows,
                       const bool *set, int64_t *ids, Err *err)
{
    Buf sql;
    buf_init(&sql);
    int ncols = insert_head(c, def, set, &sql);
    bool stream = store_stream_value(c, def, NULL, set) != NULL;
    buf_puts(&sql, " VALUES");
    for (int r = 0; r < STORE_INSERT_ROWS; r++) {
        buf_puts(&sql, r ? ",(" : "(");
        for (int i = 0; i < ncols; i++)
            buf_puts(&sql, i ? ",?" : "?");
        buf_putc(&sql, ')');
    }
    buf_puts(&sql, " RETURNING id");
    StoreStmt *st;
    int rc = store_stmt(c, sql.data, &st, err);
    buf_fini(&sql);
    if (rc)
        return rc;
    int k = 1;
    for (int r = 0; r < STORE_INSERT_ROWS; r++) {
        for (int i = 1; i < def->ncols; i++)
            if (set[i])
                stmt_bind_value(st, k++, &rows[r][i]);
        if (stream)
            stmt_bind_value(st, k++, store_stream_value(c, def, rows[r], set));
    }
    int n = 0, step;
    while ((step = stmt_step(st, err)) == STORE_ROW && n < STORE_INSERT_ROWS)
        ids[n++] = stmt_col_int(st, 0);
    stmt_reset(st);
    if (step < 0)
        return step;
    if (n != STORE_INSERT_ROWS)
        return err_set(err, ERR_STORAGE, NULL, "insert into %s returned %d ids for %d rows",
                       def->table, n, STORE_INSERT_ROWS);
    /* The ids are drawn in row order; RETURNING need not list them so. */
    qsort(ids, (size_t)n, sizeof *ids, cmp_id);
    return 0;
}

int store_insert_many(StoreConn *c, const EntityDef *def, const StoreValue *const *rows,
                      const bool *set, size_t n, int64_t *ids, Err *err)
{
    size_t i = 0;
    for (; n - i >= STORE_INSERT_ROWS; i += STORE_INSERT_ROWS) {
        int rc = insert_rows(c, def, rows + i, set, ids + i, err);
        if (rc)
            return rc;
    }
    for (; i < n; i++) {
        int rc = store_insert(c, def, rows[i], set, &ids[i], err);
        if (rc)
            return rc;
    }
    return 0;
}

int store_update(StoreConn *c, const EntityDef *def, int64_t id, const StoreValue *vals,
                 const bool *set, Err *err)
{
    Buf sql;
    buf_init(&sql);
    buf_printf(&sql, "UPDATE %s SET ", def->table);
    int n = 0;
    for (int i = 1; i < def->ncols; i++)
        if (set[i])
            buf_printf(&sql, "%s%s = ?", n++ ? "," : "", def->cols[i]);
    if (n == 0)
        buf_puts(&sql, "id = id");
    /* A new (Multi)Datastream moves the row to its stream: stream_id follows. */
    int ds = -1, mds = -1;
    if (store_stream_value(c, def, NULL, set)) {
        stream_slots(def, &ds, &mds);
        const char *cast = c->dialect->cast_int;
        if (set[ds] || set[mds])
            buf_printf(&sql, ", stream_id = coalesce(%s%s, %s%s)",
                       set[ds] ? "?" : def->cols[ds], set[ds] ? cast : "",
                       set[mds] ? "?" : def->cols[mds], set[mds] ? cast : "");
        else
            ds = mds = -1;
    }
    buf_puts(&sql, " WHERE id = ?");
    StoreStmt *st;
    int rc = store_stmt(c, sql.data, &st, err);
    buf_fini(&sql);
    if (rc)
        return rc;
    int k = 1;
    for (int i = 1; i < def->ncols; i++)
        if (set[i])
            stmt_bind_value(st, k++, &vals[i]);
    if (ds >= 0 && set[ds])
        stmt_bind_value(st, k++, &vals[ds]);
    if (mds >= 0 && set[mds])
        stmt_bind_value(st, k++, &vals[mds]);
    stmt_bind_int(st, k, id);
    if ((rc = step_done(c, st, err)))
        return rc;
    if (stmt_changes(st) == 0)
        return err_set(err, ERR_NOT_FOUND, NULL, "no %s with id %lld", def->name,
                       (long long)id);
    return 0;
}

/* Executes sql with one integer parameter. */
static int exec1(StoreConn *c, const char *sql, int64_t a, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, a);
    return step_done(c, st, err);
}

int store_link(StoreConn *c, const Rel *rel, int64_t this_id, int64_t other_id, int64_t rank,
               Err *err)
{
    char sql[256];
    StoreStmt *st;
    if (rel->link_order)
        snprintf(sql, sizeof sql, "INSERT INTO %s(%s, %s, %s) VALUES(?, ?, ?)", rel->link_table,
                 rel->link_this, rel->link_other, rel->link_order);
    else
        snprintf(sql, sizeof sql, "INSERT INTO %s(%s, %s) VALUES(?, ?) ON CONFLICT DO NOTHING",
                 rel->link_table, rel->link_this, rel->link_other);
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, this_id);
    stmt_bind_int(st, 2, other_id);
    if (rel->link_order)
        stmt_bind_int(st, 3, rank);
    return step_done(c, st, err);
}

int store_unlink_all(StoreConn *c, const Rel *rel, int64_t this_id, Err *err)
{
    char sql[200];
    snprintf(sql, sizeof sql, "DELETE FROM %s WHERE %s = ?", rel->link_table, rel->link_this);
    return exec1(c, sql, this_id, err);
}

int store_related_ids(StoreConn *c, Arena *a, const EntityDef *def, const Rel *rel,
                      int64_t this_id, int64_t **ids, size_t *n, Err *err)
{
    char sql[320];
    const EntityDef *t = model_entity(rel->target);
    switch (rel->kind) {
    case REL_ONE:
        snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE id = ? AND %s IS NOT NULL",
                 def->cols[rel->fk_slot], def->table, def->cols[rel->fk_slot]);
        break;
    case REL_MANY:
        snprintf(sql, sizeof sql, "SELECT id FROM %s WHERE %s = ? ORDER BY id", t->table,
                 rel->fk_col);
        break;
    case REL_LINK:
        snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s = ? ORDER BY %s", rel->link_other,
                 rel->link_table, rel->link_this, rel->link_order ? rel->link_order : "1");
        break;
    }
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, this_id);
    size_t cap = 16, k = 0;
    int64_t *v = arena_alloc(a, cap * sizeof *v);
    int step;
    while (v && (step = stmt_step(st, err)) == STORE_ROW) {
        if (k == cap) {
            int64_t *nv = arena_alloc(a, 2 * cap * sizeof *nv);
            if (nv)
                memcpy(nv, v, cap * sizeof *v);
            v = nv;
            cap *= 2;
            if (!v)
                break;
        }
        v[k++] = stmt_col_int(st, 0);
    }
    stmt_reset(st);
    if (!v)
        return err_set(err, ERR_TOO_LARGE, NULL, "too many related entities");
    if (step < 0)
        return step;
    *ids = v;
    *n = k;
    return 0;
}

int store_obs_context(StoreConn *c, Arena *a, const EntityDef *stream, int64_t id,
                      StoreObsContext *out, Err *err)
{
    bool multi = stream->type == ENT_MULTI_DATASTREAM;
    const char *sql =
        multi ? "SELECT d.multi_observation_data_types, d.thing_id, l.id, f.id"
                " FROM multi_datastreams d"
                " LEFT JOIN thing_locations tl ON tl.thing_id = d.thing_id"
                " LEFT JOIN locations l ON l.id = tl.location_id AND l.encoding_type IN"
                " ('application/geo+json', 'application/vnd.geo+json')"
                " LEFT JOIN features f ON f.id = l.gen_feature_id"
                " WHERE d.id = ? ORDER BY l.id IS NULL, l.id LIMIT 1"
              : "SELECT d.observation_type, d.thing_id, l.id, f.id"
                " FROM datastreams d"
                " LEFT JOIN thing_locations tl ON tl.thing_id = d.thing_id"
                " LEFT JOIN locations l ON l.id = tl.location_id AND l.encoding_type IN"
                " ('application/geo+json', 'application/vnd.geo+json')"
                " LEFT JOIN features f ON f.id = l.gen_feature_id"
                " WHERE d.id = ? ORDER BY l.id IS NULL, l.id LIMIT 1";
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, id);
    if ((rc = step_row(c, st, stream->name, stream->name, id, err)))
        return rc;
    bool ok = true;
    out->types = store_col_text(st, 0, a, &ok);
    out->thing_id = stmt_col_int(st, 1);
    out->location_id = stmt_col_int(st, 2);
    out->feature_id = stmt_col_int(st, 3);
    stmt_reset(st);
    if (!ok)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    if (!out->types)
        out->types = "";
    return 0;
}

int store_latest_hl_time(StoreConn *c, int64_t thing_id, int64_t *t, bool *found, Err *err)
{
    return query_int(c, "SELECT max(time) FROM historical_locations WHERE thing_id = ?"
                        " HAVING count(*) > 0",
                     thing_id, 0, 1, t, found, err);
}

/* ------------------------------------------------------------- deletes */

static int delete_by_ids(StoreConn *c, Arena *a, const EntityDef *parent, const Rel *rel,
                         int64_t id, Err *err)
{
    int64_t *ids;
    size_t n;
    int rc = store_related_ids(c, a, parent, rel, id, &ids, &n, err);
    for (size_t i = 0; !rc && i < n; i++)
        rc = store_delete(c, model_entity(rel->target), ids[i], err);
    return rc;
}

int store_delete(StoreConn *c, const EntityDef *def, int64_t id, Err *err)
{
    bool ok;
    int rc = store_exists(c, def, id, &ok, err);
    if (rc)
        return rc;
    if (!ok)
        return err_set(err, ERR_NOT_FOUND, NULL, "no %s with id %lld", def->name,
                       (long long)id);
    Arena a;
    arena_init(&a, 0);
    switch (def->type) {
    case ENT_THING:
        rc = delete_by_ids(c, &a, def, model_rel(def, "Datastreams", 11), id, err);
        if (!rc)
            rc = delete_by_ids(c, &a, def, model_rel(def, "MultiDatastreams", 16), id, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM location_historical_locations WHERE historical_location_id"
                          " IN (SELECT id FROM historical_locations WHERE thing_id = ?)",
                       id, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM historical_locations WHERE thing_id = ?", id, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM thing_locations WHERE thing_id = ?", id, err);
        break;
    case ENT_LOCATION:
        /* HistoricalLocations that pointed only at this Location go with it. */
        if (!rc)
            rc = store_exec(c, "CREATE TEMP TABLE IF NOT EXISTS del_hl(id BIGINT PRIMARY KEY)",
                            err);
        if (!rc)
            rc = exec1(c, "INSERT INTO del_hl SELECT historical_location_id FROM "
                          "location_historical_locations WHERE location_id = ?"
                          " ON CONFLICT DO NOTHING", id, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM location_historical_locations WHERE location_id = ?", id,
                       err);
        if (!rc)
            rc = exec1(c, "DELETE FROM historical_locations WHERE id IN (SELECT id FROM del_hl)"
                          " AND NOT EXISTS (SELECT 1 FROM location_historical_locations l"
                          " WHERE l.historical_location_id = historical_locations.id)"
                          " AND 1 = ?", 1, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM del_hl WHERE 1 = ?", 1, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM thing_locations WHERE location_id = ?", id, err);
        break;
    case ENT_HISTORICAL_LOCATION:
        rc = exec1(c, "DELETE FROM location_historical_locations WHERE historical_location_id"
                      " = ?", id, err);
        break;
    case ENT_DATASTREAM:
        /* The stream first, so that the statistics triggers find nothing to update. */
        rc = exec1(c, "DELETE FROM datastreams WHERE id = ?", id, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM observations WHERE datastream_id = ?", id, err);
        break;
    case ENT_MULTI_DATASTREAM:
        rc = exec1(c, "DELETE FROM multi_datastreams WHERE id = ?", id, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM multi_datastream_observed_properties WHERE"
                          " multi_datastream_id = ?", id, err);
        if (!rc)
            rc = exec1(c, "DELETE FROM observations WHERE multi_datastream_id = ?", id, err);
        break;
    case ENT_SENSOR:
        rc = delete_by_ids(c, &a, def, model_rel(def, "Datastreams", 11), id, err);
        if (!rc)
            rc = delete_by_ids(c, &a, def, model_rel(def, "MultiDatastreams", 16), id, err);
        break;
    case ENT_OBSERVED_PROPERTY:
        rc = delete_by_ids(c, &a, def, model_rel(def, "Datastreams", 11), id, err);
        if (!rc)
            rc = delete_by_ids(c, &a, def, model_rel(def, "MultiDatastreams", 16), id, err);
        break;
    case ENT_OBSERVATION:
        break;
    case ENT_FEATURE:
        rc = exec1(c, "DELETE FROM observations WHERE feature_id = ?", id, err);
        if (!rc)
            rc = exec1(c, "UPDATE locations SET gen_feature_id = NULL WHERE gen_feature_id = ?",
                       id, err);
        break;
    case ENT__COUNT:
        break;
    }
    if (!rc) {
        char sql[128];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?", def->table);
        rc = exec1(c, sql, id, err);
    }
    arena_fini(&a);
    return rc;
}
