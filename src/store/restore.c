/*
 * restore.c - the two store primitives of klammer import (app/transfer.c):
 * inserting an entity under the id it had in the database it was exported
 * from, and making ids assigned afterwards larger than every restored one.
 *
 * SQLite backend.  Every table has INTEGER PRIMARY KEY AUTOINCREMENT: an
 * explicit id raises the table's sqlite_sequence entry by itself, and
 * store_ids_sync only applies the minimums an export carries; a backend
 * with sequences sets them there.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "store/store_int.h"

int store_insert_id(StoreConn *c, const EntityDef *def, const StoreValue *vals, const bool *set,
                    Err *err)
{
    if (!set[0] || vals[0].type != SV_INT || vals[0].i <= 0)
        return err_set(err, ERR_INVALID, "@iot.id", "a restored %s needs a positive id",
                       def->name);
    Buf sql;
    buf_init(&sql);
    buf_puts(&sql, "INSERT INTO ");
    buf_puts(&sql, def->table);
    buf_putc(&sql, '(');
    int n = 0;
    for (int i = 0; i < def->ncols; i++) {
        if (!set[i])
            continue;
        if (n++)
            buf_putc(&sql, ',');
        buf_puts(&sql, def->cols[i]);
    }
    buf_puts(&sql, ") VALUES(");
    for (int i = 0; i < n; i++)
        buf_puts(&sql, i ? ",?" : "?");
    buf_puts(&sql, ")");
    sqlite3_stmt *st;
    int rc = store_stmt(c, sql.data, &st, err);
    buf_fini(&sql);
    if (rc)
        return rc;
    for (int i = 0, k = 1; i < def->ncols; i++) {
        if (!set[i])
            continue;
        const StoreValue *v = &vals[i];
        switch (v->type) {
        case SV_NULL: sqlite3_bind_null(st, k); break;
        case SV_INT: sqlite3_bind_int64(st, k, v->i); break;
        case SV_REAL: sqlite3_bind_double(st, k, v->d); break;
        case SV_TEXT: sqlite3_bind_text(st, k, v->s, (int)v->n, SQLITE_TRANSIENT); break;
        }
        k++;
    }
    int step = sqlite3_step(st);
    int ext = sqlite3_errcode(c->db);
    sqlite3_reset(st);
    if (step == SQLITE_DONE)
        return 0;
    if (ext == SQLITE_CONSTRAINT)
        return err_set(err, ERR_CONFLICT, "@iot.id", "%s %lld exists already", def->name,
                       (long long)vals[0].i);
    return store_sqlite_err(c, err);
}

int store_ids_next(StoreConn *c, const EntityDef *def, int64_t *next, Err *err)
{
    sqlite3_stmt *st;
    int rc = store_stmt(c, "SELECT seq FROM sqlite_sequence WHERE name = ?1", &st, err);
    if (rc)
        return rc;
    sqlite3_bind_text(st, 1, def->table, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    int64_t seq = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return store_sqlite_err(c, err);
    *next = seq + 1;
    return 0;
}

/*
 * AUTOINCREMENT keeps the highest id ever given per table in sqlite_sequence
 * and has already raised it to the highest restored id; a minimum from the
 * export raises it further.
 */
int store_ids_sync(StoreConn *c, const int64_t *next, Err *err)
{
    for (int t = 0; next && t < ENT__COUNT; t++) {
        if (next[t] <= 0)
            continue;
        const EntityDef *def = model_entity((EntityType)t);
        int64_t have;
        int rc = store_ids_next(c, def, &have, err);
        if (rc)
            return rc;
        if (have >= next[t])
            continue;
        /* sqlite_sequence has no key: update the table's row, or add it. */
        static const char *const sql[] = {
            "UPDATE sqlite_sequence SET seq = ?2 WHERE name = ?1",
            "INSERT INTO sqlite_sequence(name, seq) VALUES(?1, ?2)"};
        for (int k = 0; k < 2; k++) {
            sqlite3_stmt *st;
            if ((rc = store_stmt(c, sql[k], &st, err)))
                return rc;
            sqlite3_bind_text(st, 1, def->table, -1, SQLITE_STATIC);
            sqlite3_bind_int64(st, 2, next[t] - 1);
            int step = sqlite3_step(st);
            sqlite3_reset(st);
            if (step != SQLITE_DONE)
                return store_sqlite_err(c, err);
            if (sqlite3_changes(c->db) > 0)
                break;
        }
    }
    return 0;
}
