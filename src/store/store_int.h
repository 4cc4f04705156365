/*
 * store_int.h - private to store/: the backend-neutral statement interface
 * that the SQL builder, the writer and the write primitives run on, the
 * method table each backend (sqlite.c, pg.c) fills in, and the few pieces
 * of SQL that differ between the dialects.
 *
 * Statements are written once, in SQL that both SQLite and PostgreSQL
 * understand, with numbered parameters ?1, ?2, ... (PostgreSQL gets them as
 * $1, $2, ... when the statement is prepared).  Where the dialects really
 * differ, the SQL comes from the connection's StoreDialect.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_STORE_INT_H
#define KLAMMER_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "store/store.h"
#include "util/buf.h"

#define STMT_CACHE_BUCKETS 256
#define STMT_CACHE_MAX 512

/*
 * Results of stmt_step (errors are negative ERR_* codes: ERR_CONFLICT for a
 * duplicate key, ERR_UNAVAILABLE when the database is busy or unreachable,
 * else ERR_STORAGE).
 */
enum { STORE_DONE = 0, STORE_ROW = 1 };

typedef struct StoreStmt StoreStmt;
typedef struct StoreBackend StoreBackend;

typedef struct StmtEntry {
    char *sql;              /* owned */
    StoreStmt *stmt;        /* owned */
    struct StmtEntry *next; /* bucket chain */
} StmtEntry;

/*
 * The SQL that differs between SQLite and PostgreSQL.  Parameters are
 * written ?N in either dialect.
 */
typedef struct StoreDialect {
    const char *name;        /* "sqlite" or "postgresql" */
    const char *begin_read;  /* starts a read snapshot */
    const char *begin_write; /* starts the writer's transaction */
    /*
     * Row source of the ids of a JSON array bound as ?1, with columns key
     * (0-based position) and value (the id), followed by the alias p.
     */
    const char *ids_source;
    const char *cast_int, *cast_real, *cast_text; /* after a parameter: its type, or "" */
    const char *lower, *upper;                       /* case functions of $filter */
    const char *asc, *desc; /* ORDER BY directions, NULLs first ascending (SQLite's order) */
    /*
     * PostgreSQL's strict typing: a result stored as text is cast by its
     * result_type, booleans are a type of their own, JSON members are read
     * through the klammer_json_* functions of schema_pg.c.
     */
    bool strict;
    /*
     * A page of children per parent as a LATERAL join (PostgreSQL); without,
     * "t.id IN (SELECT ... LIMIT)" (SQLite), which PostgreSQL would run
     * once per row of the child table.
     */
    bool lateral;
    /*
     * observations has stream_id (PostgreSQL, migration 6): the Datastream or
     * MultiDatastream of the row, the column a Citus cluster distributes by.
     * Every INSERT writes it itself (Citus routes a row by the value in the
     * statement, before any trigger runs), and an UPDATE of the stream
     * rewrites it (store.c).
     */
    bool stream_key;
} StoreDialect;

extern const StoreDialect store_dialect_sqlite;
extern const StoreDialect store_dialect_pg;

struct StoreConn {
    const StoreBackend *ops;
    const StoreDialect *dialect;
    sqlite3 *db;          /* SQLite */
    struct pg_conn *pg;   /* PostgreSQL (PGconn) */
    char *url;            /* PostgreSQL: connection string, owned (for reconnecting) */
    unsigned next_name;   /* PostgreSQL: prepared-statement names s1, s2, ... */
    bool closing;         /* being closed: statements need no DEALLOCATE */
    StmtEntry *buckets[STMT_CACHE_BUCKETS];
    int nstmts;
    StoreConn *next_free; /* read pool free list */
    bool spatial;         /* geometry functions are available */
    const char *last_sql; /* SQL of the last statement taken from the cache (for tests) */
    /* INSERT statements by entity type and set of columns (most recent few). */
    struct {
        uint32_t mask;        /* columns set, bit = slot */
        StoreStmt *stmt;      /* borrowed from the statement cache */
    } ins[ENT__COUNT][4];
    int ins_next[ENT__COUNT];
};

/*
 * A backend's methods.  Statement methods never fail except step; binding
 * copies the value.  Columns are read from the current row (after step
 * returned STORE_ROW); text and blobs stay valid until the next step or
 * reset.
 */
struct StoreBackend {
    int (*prepare)(StoreConn *c, const char *sql, StoreStmt **out, Err *err);
    void (*finalize)(StoreStmt *st);
    void (*reset)(StoreStmt *st); /* ends the execution and clears the bindings */
    void (*bind_null)(StoreStmt *st, int i);
    void (*bind_int)(StoreStmt *st, int i, int64_t v);
    void (*bind_real)(StoreStmt *st, int i, double v);
    void (*bind_text)(StoreStmt *st, int i, const char *s, size_t n);
    void (*bind_blob)(StoreStmt *st, int i, const void *p, size_t n);
    int (*step)(StoreStmt *st, Err *err); /* STORE_ROW, STORE_DONE or ERR_* */
    StoreValueType (*col_type)(StoreStmt *st, int col);
    int64_t (*col_int)(StoreStmt *st, int col);
    double (*col_real)(StoreStmt *st, int col);
    const char *(*col_text)(StoreStmt *st, int col, size_t *n); /* NULL for SQL NULL */
    const void *(*col_blob)(StoreStmt *st, int col, size_t *n);
    int64_t (*changes)(StoreStmt *st); /* rows changed by the last execution */
    int (*exec)(StoreConn *c, const char *sql, Err *err); /* SQL script without parameters */
    bool (*in_transaction)(StoreConn *c); /* false after the backend aborted it */
    void (*close)(StoreConn *c);          /* closes the connection (not the cache) */
    /* The id the database would give the next row of table (restore.c). */
    int (*ids_next)(StoreConn *c, const char *table, int64_t *next, Err *err);
    /*
     * Makes the ids table gives from now on larger than every id in it and
     * at least next (0 = no minimum).
     */
    int (*ids_raise)(StoreConn *c, const char *table, int64_t next, Err *err);
};

/* The statement handle; each backend keeps its own fields. */
struct StoreStmt {
    StoreConn *c;
    sqlite3_stmt *lite;   /* SQLite */
    struct StorePgStmt *pg; /* PostgreSQL */
};

static inline void stmt_reset(StoreStmt *st) { st->c->ops->reset(st); }
static inline void stmt_bind_null(StoreStmt *st, int i) { st->c->ops->bind_null(st, i); }
static inline void stmt_bind_int(StoreStmt *st, int i, int64_t v) { st->c->ops->bind_int(st, i, v); }
static inline void stmt_bind_real(StoreStmt *st, int i, double v) { st->c->ops->bind_real(st, i, v); }
static inline void stmt_bind_text(StoreStmt *st, int i, const char *s, size_t n)
{
    st->c->ops->bind_text(st, i, s, n);
}
static inline void stmt_bind_str(StoreStmt *st, int i, const char *s)
{
    st->c->ops->bind_text(st, i, s, strlen(s));
}
static inline void stmt_bind_blob(StoreStmt *st, int i, const void *p, size_t n)
{
    st->c->ops->bind_blob(st, i, p, n);
}
static inline int stmt_step(StoreStmt *st, Err *err) { return st->c->ops->step(st, err); }
static inline StoreValueType stmt_col_type(StoreStmt *st, int col)
{
    return st->c->ops->col_type(st, col);
}
static inline int64_t stmt_col_int(StoreStmt *st, int col) { return st->c->ops->col_int(st, col); }
static inline double stmt_col_real(StoreStmt *st, int col) { return st->c->ops->col_real(st, col); }
static inline int64_t stmt_changes(StoreStmt *st) { return st->c->ops->changes(st); }

/* Binds v as parameter i. */
void stmt_bind_value(StoreStmt *st, int i, const StoreValue *v);

/*
 * For an Observation on a dialect with stream_key: the value of stream_id
 * for the columns vals (set as in set), its Datastream or else its
 * MultiDatastream (SQL NULL when neither is set).  NULL when the row has no
 * stream_id (another entity, or SQLite).
 */
const StoreValue *store_stream_value(const StoreConn *c, const EntityDef *def,
                                     const StoreValue *vals, const bool *set);

struct Store {
    const StoreBackend *ops;
    StoreConn *writer_conn;
    StoreConn **pool;      /* all read connections */
    int npool;
    StoreConn *free_list;
    pthread_mutex_t pool_mu;
    pthread_cond_t pool_cv;

    pthread_t writer;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    StoreJob *head, *tail; /* queue */
    bool stopping;
    int batch_max;
    uint64_t jobs, commits;
};

/* Migrations (schema_sqlite.c, schema_pg.c). */
int store_sqlite_migration_count(void);
const char *store_sqlite_migration(int i);
int store_pg_migration_count(void);
const char *store_pg_migration(int i);

/* Opens one SQLite connection with the project's pragmas. */
int store_conn_open(const char *path, bool sync_full, StoreConn **out, Err *err);
/* Opens one PostgreSQL connection (pg.c). */
int store_pg_conn_open(const char *url, StoreConn **out, Err *err);
/*
 * PostgreSQL: reconnects c when its connection was lost (the statement
 * cache is dropped with it).  ERR_UNAVAILABLE while the database is down.
 */
int store_conn_check(StoreConn *c, Err *err);
/* PostgreSQL: true when c's session has ended (false on SQLite). */
bool store_conn_lost(StoreConn *c);

/*
 * Begins a transaction with sql (the dialect's begin_read or begin_write)
 * on a live session: a session the server ended since its last use (a
 * restart) is replaced once before the error counts.
 */
int store_begin(StoreConn *c, const char *sql, Err *err);

/* Apply the pending migrations (sqlite.c, pg.c). */
int store_sqlite_migrate(StoreConn *c, Err *err);
int store_pg_migrate(StoreConn *c, Err *err);

/* Closes a connection and its statements.  Accepts NULL. */
void store_conn_close(StoreConn *c);
/* Drops every cached statement of c. */
void store_cache_clear(StoreConn *c);

/* Prepared statement for sql from the connection's cache (reset, bindings cleared). */
int store_stmt(StoreConn *c, const char *sql, StoreStmt **out, Err *err);

/* Runs a cached statement without parameters (BEGIN, COMMIT, SAVEPOINT ...). */
int store_step_cached(StoreConn *c, const char *sql, Err *err);

/* Copies a text column into the arena; NULL for SQL NULL; *ok = false over the arena's cap. */
const char *store_col_text(StoreStmt *st, int col, Arena *a, bool *ok);

/* Fills the row at out from the current result row of st; false over the arena's cap. */
typedef bool (*StoreRowFn)(StoreStmt *st, Arena *a, void *out);

/*
 * Runs sql, whose ?1 and ?2 are LIMIT and OFFSET (bound to top + 1 and
 * skip), into an arena array of rows of size bytes filled by row; *more
 * says whether a row beyond the page exists.  what names the rows in the
 * ERR_TOO_LARGE message.
 */
int store_read_page(StoreConn *c, const char *sql, int64_t top, int64_t skip, Arena *a,
                    size_t size, StoreRowFn row, void **out, size_t *n, bool *more,
                    const char *what, Err *err);

/* Runs a parameterless query that returns one integer (a count). */
int store_query_count(StoreConn *c, const char *sql, int64_t *out, Err *err);

/* Executes SQL without results (no parameters). */
int store_exec(StoreConn *c, const char *sql, Err *err);

/* Copies result column col into *v (text into the arena); ERR_TOO_LARGE over its cap. */
int store_column_value(StoreStmt *st, int col, Arena *a, StoreValue *v);

/*
 * Gives a row of def read as text where the dialect stores it so (an
 * Observation's numeric or boolean result) its value type back.
 */
void store_row_fix(const EntityDef *def, StoreValue *cols);

/* Values bound to a compiled $filter (parameters ?10, ?11, ...). */
typedef struct StoreBinds {
    StoreValue *v; /* arena-owned */
    size_t n, cap;
} StoreBinds;

/*
 * Appends "(<condition>)" for filter on alias (an entity of def) and adds its
 * values to binds.  Errors: ERR_TOO_LARGE, ERR_BAD_REQUEST.
 */
int store_filter_sql(StoreConn *c, Buf *sql, StoreBinds *binds, Arena *a,
                     const QueryNode *filter, const char *alias, const EntityDef *def, Err *err);

/*
 * As store_filter_sql, for an $orderby key: the value expression followed by
 * the direction dir (a JSON member may become several keys).
 */
int store_expr_sql(StoreConn *c, Buf *sql, StoreBinds *binds, Arena *a, const QueryNode *expr,
                   const char *alias, const EntityDef *def, const char *dir, Err *err);

/* Binds the values of binds to st (no-op for NULL). */
void store_binds_apply(StoreStmt *st, const StoreBinds *b);

/*
 * Rewrites the ?N and ? parameters of sql (outside quotes) as $N, the
 * PostgreSQL form, into out; returns the highest parameter number.
 */
int store_sql_to_pg(const char *sql, Buf *out);

/* Writer thread (writer.c). */
int store_writer_start(Store *s, Err *err);
void store_writer_stop(Store *s);

#endif
