/*
 * restore.c - the two store primitives of klammer import (app/transfer.c):
 * inserting an entity under the id it had in the database it was exported
 * from, and making ids assigned afterwards larger than every restored one.
 *
 * The id counters are the backend's (StoreBackend.ids_next/ids_raise):
 * SQLite's sqlite_sequence of its AUTOINCREMENT tables, which an explicit
 * id raises by itself, or PostgreSQL's identity sequences, which it does
 * not, so that store_ids_sync raises every table's.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

/*
 * ERR_CONFLICT when def's table has a row with this id.  For observations
 * with a stream key, whose primary key is (stream_id, id) and which have no
 * unique index on id alone (a Citus cluster refuses one), the database
 * would accept a restored id that another stream's row has.
 */
static int id_free(StoreConn *c, const EntityDef *def, int64_t id, Err *err)
{
    char sql[96];
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ?", def->table);
    StoreStmt *st;
    int rc = store_stmt(c, sql, &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, id);
    int step = stmt_step(st, err);
    stmt_reset(st);
    if (step < 0)
        return step;
    if (step == STORE_ROW)
        return err_set(err, ERR_CONFLICT, "@iot.id", "%s %lld exists already", def->name,
                       (long long)id);
    return 0;
}

int store_insert_id(StoreConn *c, const EntityDef *def, const StoreValue *vals, const bool *set,
                    Err *err)
{
    if (!set[0] || vals[0].type != SV_INT || vals[0].i <= 0)
        return err_set(err, ERR_INVALID, "@iot.id", "a restored %s needs a positive id",
                       def->name);
    const StoreValue *stream = store_stream_value(c, def, vals, set);
    int rc;
    if (stream && (rc = id_free(c, def, vals[0].i, err)))
        return rc;
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
    if (stream) {
        buf_puts(&sql, ",stream_id");
        n++;
    }
    buf_puts(&sql, ") VALUES(");
    for (int i = 0; i < n; i++)
        buf_puts(&sql, i ? ",?" : "?");
    buf_puts(&sql, ")");
    StoreStmt *st;
    rc = store_stmt(c, sql.data, &st, err);
    buf_fini(&sql);
    if (rc)
        return rc;
    int k = 1;
    for (int i = 0; i < def->ncols; i++)
        if (set[i])
            stmt_bind_value(st, k++, &vals[i]);
    if (stream)
        stmt_bind_value(st, k, stream);
    Err e;
    err_init(&e);
    int step = stmt_step(st, &e);
    stmt_reset(st);
    if (step >= 0)
        return 0;
    if (step == ERR_CONFLICT)
        return err_set(err, ERR_CONFLICT, "@iot.id", "%s %lld exists already", def->name,
                       (long long)vals[0].i);
    return err_set(err, e.code, e.field[0] ? e.field : NULL, "%s", e.msg);
}

int store_ids_next(StoreConn *c, const EntityDef *def, int64_t *next, Err *err)
{
    return c->ops->ids_next(c, def->table, next, err);
}

int store_ids_sync(StoreConn *c, const int64_t *next, Err *err)
{
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *def = model_entity((EntityType)t);
        int rc = c->ops->ids_raise(c, def->table, next ? next[t] : 0, err);
        if (rc)
            return rc;
    }
    return 0;
}
