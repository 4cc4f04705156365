/*
 * store_int.h - private to store/: connection internals shared by the
 * SQLite backend, the SQL builder and the writer.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_STORE_INT_H
#define KLAMMER_STORE_INT_H

#include <pthread.h>
#include <sqlite3.h>

#include "store/store.h"
#include "util/buf.h"

#define STMT_CACHE_BUCKETS 256
#define STMT_CACHE_MAX 512

typedef struct StmtEntry {
    char *sql;              /* owned */
    sqlite3_stmt *stmt;     /* owned */
    struct StmtEntry *next; /* bucket chain */
} StmtEntry;

struct StoreConn {
    sqlite3 *db;
    StmtEntry *buckets[STMT_CACHE_BUCKETS];
    int nstmts;
    StoreConn *next_free; /* read pool free list */
    bool spatial;         /* SpatiaLite is loaded */
    const char *last_sql; /* SQL of the last statement taken from the cache (for tests) */
    /* INSERT statements by entity type and set of columns (most recent few). */
    struct {
        uint32_t mask;        /* columns set, bit = slot */
        sqlite3_stmt *stmt;   /* borrowed from the statement cache */
    } ins[ENT__COUNT][4];
    int ins_next[ENT__COUNT];
};

struct Store {
    StoreConn *writer_conn;
    StoreConn *pool;       /* all read connections (array) */
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

/* Migrations (schema_sqlite.c). */
int store_sqlite_migration_count(void);
const char *store_sqlite_migration(int i);

/* Opens one connection with the project's pragmas. */
int store_conn_open(const char *path, bool sync_full, StoreConn **out, Err *err);
void store_conn_close(StoreConn *c);

/* Prepared statement for sql from the connection's cache (reset, bindings cleared). */
int store_stmt(StoreConn *c, const char *sql, sqlite3_stmt **out, Err *err);

/* Runs a cached statement without parameters (BEGIN, COMMIT, SAVEPOINT ...). */
int store_step_cached(StoreConn *c, const char *sql, Err *err);

/* Copies a text column into the arena; NULL for SQL NULL; *ok = false over the arena's cap. */
const char *store_col_text(sqlite3_stmt *st, int col, Arena *a, bool *ok);

/* Fills the row at out from the current result row of st; false over the arena's cap. */
typedef bool (*StoreRowFn)(sqlite3_stmt *st, Arena *a, void *out);

/*
 * Steps st (bound with LIMIT top + 1) into an arena array of rows of size
 * bytes filled by row; *more says whether a row beyond the page exists.
 * Resets st.  what names the rows in the ERR_TOO_LARGE message.
 */
int store_read_page(StoreConn *c, sqlite3_stmt *st, Arena *a, int64_t top, size_t size,
                    StoreRowFn row, void **out, size_t *n, bool *more, const char *what,
                    Err *err);

/* Runs a parameterless query that returns one integer (a count). */
int store_query_count(StoreConn *c, const char *sql, int64_t *out, Err *err);

/* Executes SQL without results (no parameters). */
int store_exec(StoreConn *c, const char *sql, Err *err);

/* Records the connection's last error as ERR_STORAGE. */
int store_sqlite_err(StoreConn *c, Err *err);

/* Copies result column col into *v (text into the arena); ERR_TOO_LARGE over its cap. */
int store_column_value(sqlite3_stmt *st, int col, Arena *a, StoreValue *v);

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

/* As store_filter_sql, for a value expression ($orderby keys). */
int store_expr_sql(StoreConn *c, Buf *sql, StoreBinds *binds, Arena *a, const QueryNode *expr,
                   const char *alias, const EntityDef *def, Err *err);

/* Binds the values of binds to st (no-op for NULL). */
void store_binds_apply(sqlite3_stmt *st, const StoreBinds *b);

/* Writer thread (writer.c). */
int store_writer_start(Store *s, Err *err);
void store_writer_stop(Store *s);

#endif
