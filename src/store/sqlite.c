/*
 * sqlite.c - the SQLite backend: its connections (pragmas, the $filter case
 * functions, SpatiaLite) and the statement methods of store_int.h on top of
 * sqlite3_stmt.
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

/* ========================================================== connections */

/*
 * tolower/toupper for $filter: SQLite's lower() and upper() change ASCII
 * only; these map every character the C.UTF-8 locale knows (ä -> Ä, ...).
 */
static locale_t utf8_loc;

static void utf8_locale_init(void)
{
    utf8_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t utf8_locale(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, utf8_locale_init);
    return utf8_loc;
}

static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    int len = (s[0] & 0xE0) == 0xC0 ? 2 : (s[0] & 0xF0) == 0xE0 ? 3 : (s[0] & 0xF8) == 0xF0 ? 4 : 0;
    if (!len || (size_t)len > n)
        return 0;
    uint32_t c = s[0] & (0x7F >> len);
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3F);
    }
    *cp = c;
    return (size_t)len;
}

static void utf8_put(Buf *b, uint32_t c)
{
    if (c < 0x80) {
        buf_putc(b, (char)c);
    } else if (c < 0x800) {
        buf_putc(b, (char)(0xC0 | (c >> 6)));
        buf_putc(b, (char)(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
        buf_putc(b, (char)(0xE0 | (c >> 12)));
        buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3F)));
        buf_putc(b, (char)(0x80 | (c & 0x3F)));
    } else {
        buf_putc(b, (char)(0xF0 | (c >> 18)));
        buf_putc(b, (char)(0x80 | ((c >> 12) & 0x3F)));
        buf_putc(b, (char)(0x80 | ((c >> 6) & 0x3F)));
        buf_putc(b, (char)(0x80 | (c & 0x3F)));
    }
}

static void change_case(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
        sqlite3_result_null(ctx);
        return;
    }
    bool upper = sqlite3_user_data(ctx) != NULL;
    const unsigned char *s = sqlite3_value_text(argv[0]);
    size_t n = (size_t)sqlite3_value_bytes(argv[0]);
    locale_t loc = utf8_locale();
    Buf b;
    buf_init(&b);
    buf_reserve(&b, n);
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = utf8_decode(s + i, n - i, &c);
        if (!k) { /* not UTF-8: keep the byte */
            buf_putc(&b, (char)s[i++]);
            continue;
        }
        i += k;
        if (loc != (locale_t)0)
            c = (uint32_t)(upper ? towupper_l((wint_t)c, loc) : towlower_l((wint_t)c, loc));
        utf8_put(&b, c);
    }
    sqlite3_result_text(ctx, b.data ? b.data : "", (int)b.len, SQLITE_TRANSIENT);
    buf_fini(&b);
}

static int lite_err(StoreConn *c, Err *err)
{
    int code = sqlite3_errcode(c->db);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
        return err_set(err, ERR_UNAVAILABLE, NULL, "database busy: %s", sqlite3_errmsg(c->db));
    if (code == SQLITE_FULL)
        return err_set(err, ERR_UNAVAILABLE, NULL, "database or disk is full");
    int ext = sqlite3_extended_errcode(c->db);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
        return err_set(err, ERR_CONFLICT, NULL, "database error: %s", sqlite3_errmsg(c->db));
    return err_set(err, ERR_STORAGE, NULL, "database error: %s", sqlite3_errmsg(c->db));
}

static int lite_exec(StoreConn *c, const char *sql, Err *err)
{
    char *msg = NULL;
    if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        int rc = err_set(err, ERR_STORAGE, NULL, "database error: %s", msg ? msg : "unknown");
        sqlite3_free(msg);
        return rc;
    }
    return 0;
}

/* ============================================================ statements */

static int lite_prepare(StoreConn *c, const char *sql, StoreStmt **out, Err *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
        return lite_err(c, err);
    StoreStmt *s = xcalloc(1, sizeof *s);
    s->c = c;
    s->lite = st;
    *out = s;
    return 0;
}

static void lite_finalize(StoreStmt *st)
{
    sqlite3_finalize(st->lite);
    free(st);
}

static void lite_reset(StoreStmt *st)
{
    sqlite3_reset(st->lite);
    sqlite3_clear_bindings(st->lite);
}

static void lite_bind_null(StoreStmt *st, int i) { sqlite3_bind_null(st->lite, i); }
static void lite_bind_int(StoreStmt *st, int i, int64_t v) { sqlite3_bind_int64(st->lite, i, v); }
static void lite_bind_real(StoreStmt *st, int i, double v) { sqlite3_bind_double(st->lite, i, v); }

static void lite_bind_text(StoreStmt *st, int i, const char *s, size_t n)
{
    sqlite3_bind_text64(st->lite, i, s, n, SQLITE_TRANSIENT, SQLITE_UTF8);
}

static void lite_bind_blob(StoreStmt *st, int i, const void *p, size_t n)
{
    /* A zero-length blob must still be NOT NULL: bind an empty blob, not NULL. */
    sqlite3_bind_blob64(st->lite, i, n ? p : "", n, SQLITE_TRANSIENT);
}

static int lite_step(StoreStmt *st, Err *err)
{
    int rc = sqlite3_step(st->lite);
    if (rc == SQLITE_ROW)
        return STORE_ROW;
    if (rc == SQLITE_DONE)
        return STORE_DONE;
    rc = lite_err(st->c, err);
    sqlite3_reset(st->lite);
    return rc;
}

static StoreValueType lite_col_type(StoreStmt *st, int col)
{
    switch (sqlite3_column_type(st->lite, col)) {
    case SQLITE_INTEGER: return SV_INT;
    case SQLITE_FLOAT: return SV_REAL;
    case SQLITE_NULL: return SV_NULL;
    default: return SV_TEXT;
    }
}

static int64_t lite_col_int(StoreStmt *st, int col) { return sqlite3_column_int64(st->lite, col); }
static double lite_col_real(StoreStmt *st, int col) { return sqlite3_column_double(st->lite, col); }

static const char *lite_col_text(StoreStmt *st, int col, size_t *n)
{
    if (sqlite3_column_type(st->lite, col) == SQLITE_NULL) {
        *n = 0;
        return NULL;
    }
    const unsigned char *t = sqlite3_column_text(st->lite, col);
    *n = (size_t)sqlite3_column_bytes(st->lite, col);
    return t ? (const char *)t : "";
}

static const void *lite_col_blob(StoreStmt *st, int col, size_t *n)
{
    const void *p = sqlite3_column_blob(st->lite, col);
    *n = (size_t)sqlite3_column_bytes(st->lite, col);
    return p ? p : "";
}

static int64_t lite_changes(StoreStmt *st) { return sqlite3_changes64(st->c->db); }
static bool lite_in_transaction(StoreConn *c) { return !sqlite3_get_autocommit(c->db); }
static void lite_close(StoreConn *c) { sqlite3_close(c->db); c->db = NULL; }

/* ====================================================== id counters */

/* Every table is AUTOINCREMENT: sqlite_sequence holds the highest id given. */
static int lite_ids_next(StoreConn *c, const char *table, int64_t *next, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, "SELECT seq FROM sqlite_sequence WHERE name = ?1", &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, table);
    int step = stmt_step(st, err);
    int64_t seq = step == STORE_ROW ? stmt_col_int(st, 0) : 0;
    stmt_reset(st);
    if (step < 0)
        return step;
    *next = seq + 1;
    return 0;
}

/*
 * An explicit id has raised sqlite_sequence to the highest restored id
 * already; a minimum raises it further.
 */
static int lite_ids_raise(StoreConn *c, const char *table, int64_t next, Err *err)
{
    int64_t have;
    int rc;
    if (next <= 0 || (rc = lite_ids_next(c, table, &have, err)) || have >= next)
        return next <= 0 ? 0 : rc;
    /* sqlite_sequence has no key: update the table's row, or add it. */
    static const char *const sql[] = {"UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1",
                                      "INSERT INTO sqlite_sequence(name, seq) VALUES(?1, ?2)"};
    for (int k = 0; k < 2; k++) {
        StoreStmt *st;
        if ((rc = store_stmt(c, sql[k], &st, err)))
            return rc;
        stmt_bind_str(st, 1, table);
        stmt_bind_int(st, 2, next - 1);
        int step = stmt_step(st, err);
        stmt_reset(st);
        if (step < 0)
            return step;
        if (stmt_changes(st) > 0)
            break;
    }
    return 0;
}

static const StoreBackend sqlite_backend = {
    lite_prepare,  lite_finalize, lite_reset,    lite_bind_null, lite_bind_int,
    lite_bind_real, lite_bind_text, lite_bind_blob, lite_step,   lite_col_type,
    lite_col_int,  lite_col_real, lite_col_text, lite_col_blob,  lite_changes,
    lite_exec,     lite_in_transaction, lite_close, lite_ids_next, lite_ids_raise,
};

const StoreDialect store_dialect_sqlite = {
    .name = "sqlite",
    .begin_read = "BEGIN",
    .begin_write = "BEGIN IMMEDIATE",
    .ids_source = "json_each(?1) p",
    .cast_int = "",
    .cast_real = "",
    .cast_text = "",
    .lower = "klammer_lower",
    .upper = "klammer_upper",
    .asc = "",
    .desc = " DESC",
    .strict = false,
};

/* ========================================================== connections */

int store_conn_open(const char *path, bool sync_full, StoreConn **out, Err *err)
{
    StoreConn *c = xcalloc(1, sizeof *c);
    c->ops = &sqlite_backend;
    c->dialect = &store_dialect_sqlite;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, &c->db, flags, NULL) != SQLITE_OK) {
        err_set(err, ERR_IO, "db", "cannot open database %s: %s", path,
                c->db ? sqlite3_errmsg(c->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(c->db, 5000);
    sqlite3_create_function(c->db, "klammer_lower", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                            change_case, NULL, NULL);
    sqlite3_create_function(c->db, "klammer_upper", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                            (void *)1, change_case, NULL, NULL);
    /* SpatiaLite gives $filter its geometry functions; without it the rest works. */
    if (sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL) == SQLITE_OK) {
        char *msg = NULL;
        c->spatial = sqlite3_load_extension(c->db, "mod_spatialite", NULL, &msg) == SQLITE_OK;
        sqlite3_free(msg);
        sqlite3_db_config(c->db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    }
    sqlite3_extended_result_codes(c->db, 0);
    if (store_exec(c, "PRAGMA journal_mode=WAL", err) ||
        store_exec(c, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL",
                   err) ||
        store_exec(c, "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000", err))
        goto fail;
    *out = c;
    return 0;
fail:
    store_conn_close(c);
    return err ? err->code : ERR_STORAGE;
}

/* =========================================================== migrations */

int store_sqlite_migrate(StoreConn *c, Err *err)
{
    sqlite3_stmt *st;
    int version = 0;
    if (sqlite3_prepare_v2(c->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return lite_err(c, err);
    if (sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int n = store_sqlite_migration_count();
    if (version > n)
        return err_set(err, ERR_STORAGE, "db",
                       "database schema version %d is newer than this klammer (%d)", version, n);
    for (int i = version + 1; i <= n; i++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d", i);
        if (store_exec(c, "BEGIN IMMEDIATE", err))
            return err->code;
        if (store_exec(c, store_sqlite_migration(i), err) || store_exec(c, bump, err)) {
            store_exec(c, "ROLLBACK", NULL);
            return err->code;
        }
        if (store_exec(c, "COMMIT", err))
            return err->code;
    }
    return 0;
}
