/*
 * pg.c - the PostgreSQL backend: connections (libpq) that reconnect after
 * the database restarted, the statement methods of store_int.h on top of
 * PQprepare/PQexecPrepared, and the migrations of schema_pg.c.
 *
 * Statements are written with ?N parameters like everywhere in the store
 * and prepared once per connection as $N.  Parameters travel as text (a
 * payload as binary bytea); results come back as text and are typed by the
 * column's type OID.  A query reads its whole result at once: every read is
 * bounded by $top.
 *
 * While the database is unreachable every call fails with ERR_UNAVAILABLE
 * (HTTP 503); the next transaction on a connection reconnects it.  A lost
 * connection never leaves a job reported as written: the writer's commit
 * fails and every job of the batch is answered with the error.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <libpq-fe.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"
#include "util/arena.h"

/* Type OIDs (pg_type.h is server-side only). */
#define OID_BOOL 16
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700

struct StorePgStmt {
    char name[24];
    int nparams;
    char **vals;     /* parameter buffers; owned */
    const char **ptrs; /* what PQexecPrepared gets: vals[i] or NULL */
    int *lens;       /* byte lengths (binary parameters) */
    int *fmts;       /* 0 text, 1 binary */
    size_t *caps;    /* allocated size of vals[i] */
    PGresult *res;   /* result of the current execution */
    int row, nrows;  /* cursor into res */
    int64_t changes; /* rows changed by the last execution */
    unsigned char *blob; /* decoded bytea of the last col_blob, PQfreemem */
};

/* ================================================================ errors */

static bool conn_lost(StoreConn *c)
{
    return PQstatus(c->pg) != CONNECTION_OK;
}

/* Maps the error of res (or of the connection) to ERR_UNAVAILABLE or ERR_STORAGE. */
static int pg_err(StoreConn *c, const PGresult *res, Err *err)
{
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(c->pg);
    char text[200];
    snprintf(text, sizeof text, "%s", msg && *msg ? msg : PQerrorMessage(c->pg));
    text[strcspn(text, "\n")] = '\0';
    /* Class 08 (connection), 57P0x (shutdown, restart), 53 (resources),
     * 40001/40P01 (serialization, deadlock): try again later. */
    if (state && strcmp(state, "23505") == 0) /* unique_violation */
        return err_set(err, ERR_CONFLICT, NULL, "database error: %s", text);
    if (conn_lost(c) || (state && (strncmp(state, "08", 2) == 0 ||
                                   strncmp(state, "57P", 3) == 0 ||
                                   strncmp(state, "53", 2) == 0 ||
                                   strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0)))
        return err_set(err, ERR_UNAVAILABLE, NULL, "database unavailable: %s", text);
    return err_set(err, ERR_STORAGE, NULL, "database error: %s", text);
}

static int pg_exec(StoreConn *c, const char *sql, Err *err)
{
    PGresult *res = PQexec(c->pg, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = 0;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        rc = pg_err(c, res, err);
    PQclear(res);
    return rc;
}

/* ================================================================ SQL text */

int store_sql_to_pg(const char *sql, Buf *out)
{
    int max = 0, next = 1;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            buf_putc(out, *p);
            if (*p == quote)
                quote = 0;
            continue;
        }
        if (*p == '\'' || *p == '"') {
            quote = *p;
            buf_putc(out, *p);
            continue;
        }
        if (*p != '?') {
            buf_putc(out, *p);
            continue;
        }
        int n;
        if (p[1] >= '0' && p[1] <= '9') {
            n = 0;
            while (p[1] >= '0' && p[1] <= '9')
                n = n * 10 + (*++p - '0');
        } else {
            n = next;
        }
        next = n + 1;
        if (n > max)
            max = n;
        buf_printf(out, "$%d", n);
    }
    return max;
}

/* ============================================================ statements */

static int pg_prepare(StoreConn *c, const char *sql, StoreStmt **out, Err *err)
{
    Buf text;
    buf_init(&text);
    int n = store_sql_to_pg(sql, &text);
    char name[24];
    snprintf(name, sizeof name, "s%u", ++c->next_name);
    /* A parameter the statement does not use (read_plain binds ?1 and ?2 or
     * ?3) still needs a type: bigint.  The others PostgreSQL infers. */
    Oid *types = xcalloc(n ? (size_t)n : 1, sizeof *types);
    for (int i = 0; i < n; i++) {
        char mark[16];
        int k = snprintf(mark, sizeof mark, "$%d", i + 1);
        const char *q = text.data;
        bool used = false;
        while (!used && (q = strstr(q, mark))) {
            q += k;
            used = !(*q >= '0' && *q <= '9');
        }
        if (!used)
            types[i] = OID_INT8;
    }
    PGresult *res = PQprepare(c->pg, name, text.data ? text.data : "", n, types);
    free(types);
    buf_fini(&text);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 : pg_err(c, res, err);
    PQclear(res);
    if (rc)
        return rc;
    StoreStmt *st = xcalloc(1, sizeof *st);
    struct StorePgStmt *p = xcalloc(1, sizeof *p);
    st->c = c;
    st->pg = p;
    memcpy(p->name, name, sizeof name);
    p->nparams = n;
    size_t k = n ? (size_t)n : 1;
    p->vals = xcalloc(k, sizeof *p->vals);
    p->ptrs = xcalloc(k, sizeof *p->ptrs);
    p->lens = xcalloc(k, sizeof *p->lens);
    p->fmts = xcalloc(k, sizeof *p->fmts);
    p->caps = xcalloc(k, sizeof *p->caps);
    p->row = -1;
    for (int i = 0; i < n; i++)
        p->lens[i] = -1; /* NULL until bound, as in SQLite */
    *out = st;
    return 0;
}

static void clear_result(struct StorePgStmt *p)
{
    PQclear(p->res);
    p->res = NULL;
    p->row = -1;
    p->nrows = 0;
    if (p->blob) {
        PQfreemem(p->blob);
        p->blob = NULL;
    }
}

static void pg_finalize(StoreStmt *st)
{
    struct StorePgStmt *p = st->pg;
    clear_result(p);
    if (!st->c->closing && st->c->pg && !conn_lost(st->c) &&
        PQtransactionStatus(st->c->pg) != PQTRANS_INERROR) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", p->name);
        PQclear(PQexec(st->c->pg, sql));
    }
    for (int i = 0; i < p->nparams; i++)
        free(p->vals[i]);
    free(p->vals);
    free(p->ptrs);
    free(p->lens);
    free(p->fmts);
    free(p->caps);
    free(p);
    free(st);
}

static void pg_reset(StoreStmt *st)
{
    struct StorePgStmt *p = st->pg;
    clear_result(p);
    /* NULL until bound, as in SQLite; the buffers stay for the next use. */
    for (int i = 0; i < p->nparams; i++) {
        p->lens[i] = -1;
        p->fmts[i] = 0;
    }
}

/* The buffer of parameter i (1-based) with room for n bytes, or NULL out of range. */
static char *param(StoreStmt *st, int i, size_t n)
{
    struct StorePgStmt *p = st->pg;
    if (i < 1 || i > p->nparams)
        return NULL;
    i--;
    if (p->caps[i] < n + 1) {
        size_t cap = n + 1 < 32 ? 32 : n + 1;
        char *v = realloc(p->vals[i], cap);
        if (!v)
            abort();
        p->vals[i] = v;
        p->caps[i] = cap;
    }
    p->lens[i] = (int)n;
    p->fmts[i] = 0;
    return p->vals[i];
}

static void pg_bind_null(StoreStmt *st, int i)
{
    if (i >= 1 && i <= st->pg->nparams)
        st->pg->lens[i - 1] = -1;
}

static void pg_bind_int(StoreStmt *st, int i, int64_t v)
{
    char *b = param(st, i, 24);
    if (b)
        snprintf(b, 24, "%lld", (long long)v);
}

static void pg_bind_real(StoreStmt *st, int i, double v)
{
    char *b = param(st, i, 32);
    if (!b)
        return;
    if (isnan(v))
        snprintf(b, 32, "NaN");
    else if (isinf(v))
        snprintf(b, 32, "%sInfinity", v < 0 ? "-" : "");
    else {
        /* The shortest of 15, 16, 17 digits that reads back as v: a result
         * stored as text then reads as SQLite writes the number ("0.1"). */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(b, 32, "%.*g", prec, v);
            if (strtod(b, NULL) == v)
                break;
        }
    }
}

static void pg_bind_text(StoreStmt *st, int i, const char *s, size_t n)
{
    char *b = param(st, i, n);
    if (b) {
        memcpy(b, s, n);
        b[n] = '\0';
    }
}

static void pg_bind_blob(StoreStmt *st, int i, const void *s, size_t n)
{
    char *b = param(st, i, n);
    if (b) {
        if (n)
            memcpy(b, s, n);
        st->pg->fmts[i - 1] = 1;
    }
}

static int pg_step(StoreStmt *st, Err *err)
{
    struct StorePgStmt *p = st->pg;
    if (!p->res) {
        for (int i = 0; i < p->nparams; i++)
            p->ptrs[i] = p->lens[i] < 0 ? NULL : p->vals[i];
        p->res = PQexecPrepared(st->c->pg, p->name, p->nparams, p->ptrs, p->lens, p->fmts, 0);
        ExecStatusType s = PQresultStatus(p->res);
        if (s != PGRES_TUPLES_OK && s != PGRES_COMMAND_OK) {
            int rc = pg_err(st->c, p->res, err);
            clear_result(p);
            return rc;
        }
        p->nrows = s == PGRES_TUPLES_OK ? PQntuples(p->res) : 0;
        const char *ct = PQcmdTuples(p->res);
        p->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
        p->row = -1;
    }
    if (p->row + 1 < p->nrows) {
        p->row++;
        return STORE_ROW;
    }
    p->row = p->nrows;
    return STORE_DONE;
}

static StoreValueType pg_col_type(StoreStmt *st, int col)
{
    struct StorePgStmt *p = st->pg;
    if (PQgetisnull(p->res, p->row, col))
        return SV_NULL;
    switch (PQftype(p->res, col)) {
    case OID_BOOL:
    case OID_INT2:
    case OID_INT4:
    case OID_INT8: return SV_INT;
    case OID_FLOAT4:
    case OID_FLOAT8:
    case OID_NUMERIC: return SV_REAL;
    default: return SV_TEXT;
    }
}

static int64_t pg_col_int(StoreStmt *st, int col)
{
    struct StorePgStmt *p = st->pg;
    if (p->row < 0 || p->row >= p->nrows || PQgetisnull(p->res, p->row, col))
        return 0;
    const char *v = PQgetvalue(p->res, p->row, col);
    if (PQftype(p->res, col) == OID_BOOL)
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

static double pg_col_real(StoreStmt *st, int col)
{
    struct StorePgStmt *p = st->pg;
    if (p->row < 0 || p->row >= p->nrows || PQgetisnull(p->res, p->row, col))
        return 0;
    return strtod(PQgetvalue(p->res, p->row, col), NULL);
}

static const char *pg_col_text(StoreStmt *st, int col, size_t *n)
{
    struct StorePgStmt *p = st->pg;
    *n = 0;
    if (p->row < 0 || p->row >= p->nrows || PQgetisnull(p->res, p->row, col))
        return NULL;
    *n = (size_t)PQgetlength(p->res, p->row, col);
    return PQgetvalue(p->res, p->row, col);
}

static const void *pg_col_blob(StoreStmt *st, int col, size_t *n)
{
    struct StorePgStmt *p = st->pg;
    const char *t = pg_col_text(st, col, n);
    if (!t)
        return "";
    if (PQftype(p->res, col) != OID_BYTEA)
        return t;
    if (p->blob)
        PQfreemem(p->blob);
    p->blob = PQunescapeBytea((const unsigned char *)t, n);
    if (!p->blob)
        abort();
    return p->blob;
}

static int64_t pg_changes(StoreStmt *st) { return st->pg->changes; }

static bool pg_in_transaction(StoreConn *c)
{
    PGTransactionStatusType t = PQtransactionStatus(c->pg);
    return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

static void pg_close(StoreConn *c)
{
    PQfinish(c->pg);
    c->pg = NULL;
}

/* ====================================================== id counters */

/* The identity sequence of table's id column (?1 = table). */
#define SEQ "CAST(pg_get_serial_sequence(?1, 'id') AS regclass)"

static int pg_ids_next(StoreConn *c, const char *table, int64_t *next, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, "SELECT coalesce(pg_sequence_last_value(" SEQ "), 0) + 1", &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, table);
    int step = stmt_step(st, err);
    if (step == STORE_ROW)
        *next = stmt_col_int(st, 0);
    stmt_reset(st);
    return step < 0 ? step : 0;
}

/* Rows inserted with their own id leave the sequence behind: raise it. */
static int pg_ids_raise(StoreConn *c, const char *table, int64_t next, Err *err)
{
    Buf sql;
    buf_init(&sql);
    buf_puts(&sql, "SELECT setval(" SEQ ", m, true) FROM (SELECT GREATEST(CAST(?2 AS BIGINT) - 1,"
                   " coalesce(pg_sequence_last_value(" SEQ "), 0), (SELECT coalesce(max(id), 0)"
                   " FROM ");
    buf_puts(&sql, table);
    buf_puts(&sql, ")) AS m) x WHERE m >= 1");
    StoreStmt *st;
    int rc = store_stmt(c, sql.data, &st, err);
    buf_fini(&sql);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, table);
    stmt_bind_int(st, 2, next);
    int step = stmt_step(st, err);
    stmt_reset(st);
    return step < 0 ? step : 0;
}

static const StoreBackend pg_backend = {
    pg_prepare,  pg_finalize, pg_reset,    pg_bind_null, pg_bind_int,
    pg_bind_real, pg_bind_text, pg_bind_blob, pg_step,   pg_col_type,
    pg_col_int,  pg_col_real, pg_col_text, pg_col_blob,  pg_changes,
    pg_exec,     pg_in_transaction, pg_close, pg_ids_next, pg_ids_raise,
};

/* ids_source: the JSON array of ids bound as ?1, with 0-based positions. */
const StoreDialect store_dialect_pg = {
    .name = "postgresql",
    .begin_read = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
    .begin_write = "BEGIN",
    .ids_source = "(SELECT CAST(e.value AS BIGINT) AS value, e.ord - 1 AS key"
                  " FROM jsonb_array_elements_text(CAST(?1 AS jsonb))"
                  " WITH ORDINALITY e(value, ord)) p",
    .cast_int = "::bigint",
    .cast_real = "::double precision",
    .cast_text = "::text",
    .lower = "lower",
    .upper = "upper",
    .asc = " NULLS FIRST",
    .desc = " DESC NULLS LAST",
    .strict = true,
    .lateral = true,
    .stream_key = true,
};

/* ========================================================== connections */

/* Session settings of a new or re-established connection. */
static int session_setup(StoreConn *c, Err *err)
{
    if (pg_exec(c, "SET client_min_messages = warning; SET TIME ZONE 'UTC'", err))
        return err->code;
    PGresult *res = PQexec(c->pg, "SELECT 1 FROM pg_extension WHERE extname = 'postgis'");
    c->spatial = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1;
    PQclear(res);
    return 0;
}

int store_pg_conn_open(const char *url, StoreConn **out, Err *err)
{
    StoreConn *c = xcalloc(1, sizeof *c);
    c->ops = &pg_backend;
    c->dialect = &store_dialect_pg;
    c->url = xstrdup(url);
    /* A host that does not answer must not hold a request for long: a
     * connect_timeout of 5 s unless the URL sets its own (it comes later
     * and wins).  PQreset reconnects with the same parameters. */
    static const char *const keys[] = {"connect_timeout", "dbname", NULL};
    const char *vals[] = {"5", url, NULL};
    c->pg = PQconnectdbParams(keys, vals, 1);
    if (!c->pg || PQstatus(c->pg) != CONNECTION_OK) {
        char msg[200];
        snprintf(msg, sizeof msg, "%s", c->pg ? PQerrorMessage(c->pg) : "out of memory");
        msg[strcspn(msg, "\n")] = '\0';
        err_set(err, ERR_IO, "db", "cannot connect to the database: %s", msg);
        goto fail;
    }
    if (session_setup(c, err))
        goto fail;
    *out = c;
    return 0;
fail:
    store_conn_close(c);
    return err ? err->code : ERR_STORAGE;
}

bool store_conn_lost(StoreConn *c)
{
    return c->pg && conn_lost(c);
}

int store_conn_check(StoreConn *c, Err *err)
{
    if (!c->pg || !conn_lost(c))
        return 0;
    /* Prepared statements lived in the old session. */
    store_cache_clear(c);
    PQreset(c->pg);
    if (conn_lost(c))
        return pg_err(c, NULL, err);
    return session_setup(c, err);
}

/* =========================================================== migrations */

int store_pg_migrate(StoreConn *c, Err *err)
{
    /* Two nodes starting together: one migrates, the other waits. */
    if (pg_exec(c, "SELECT pg_advisory_lock(7414)", err))
        return err->code;
    int rc = pg_exec(c, "CREATE TABLE IF NOT EXISTS klammer_schema(version INTEGER NOT NULL);"
                        "INSERT INTO klammer_schema SELECT 0"
                        " WHERE NOT EXISTS (SELECT 1 FROM klammer_schema)",
                     err);
    int version = 0;
    if (!rc) {
        PGresult *res = PQexec(c->pg, "SELECT version FROM klammer_schema");
        if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1)
            version = atoi(PQgetvalue(res, 0, 0));
        else
            rc = pg_err(c, res, err);
        PQclear(res);
    }
    int n = store_pg_migration_count();
    if (!rc && version > n)
        rc = err_set(err, ERR_STORAGE, "db",
                     "database schema version %d is newer than this klammer (%d)", version, n);
    for (int i = version + 1; !rc && i <= n; i++) {
        char bump[64];
        snprintf(bump, sizeof bump, "UPDATE klammer_schema SET version = %d", i);
        if ((rc = pg_exec(c, "BEGIN", err)))
            break;
        if ((rc = pg_exec(c, store_pg_migration(i), err)) || (rc = pg_exec(c, bump, err))) {
            pg_exec(c, "ROLLBACK", NULL);
            break;
        }
        rc = pg_exec(c, "COMMIT", err);
    }
    pg_exec(c, "SELECT pg_advisory_unlock(7414)", NULL);
    if (!rc)
        rc = session_setup(c, err); /* PostGIS may have come with a migration */
    return rc;
}
