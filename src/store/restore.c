/*
 * restore.c - the two store primitives of klammer import (app/transfer.c):
 * inserting an entity under the id it had in the database it was exported
 * from, and making ids assigned afterwards larger than every restored one.
 *
 * SQLite backend.  Every table has INTEGER PRIMARY KEY AUTOINCREMENT, so an
 * explicit id raises the table's sqlite_sequence entry by itself and
 * store_ids_sync has nothing to do; a backend with sequences sets them there.
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

int store_ids_sync(StoreConn *c, Err *err)
{
    (void)c;
    (void)err;
    return 0;
}
