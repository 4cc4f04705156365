/*
 * devices.c - the LoRaWAN device registry, the uplink de-duplication memory
 * and the dead-letter look-ups that replay needs (see store.h).
 *
 * Tables from migration 4 in schema_sqlite.c (schema_pg.c).  Writes are StoreJobFns run on
 * the writer thread; reads run on a pooled read connection.  Nothing here
 * validates a device: the ingest module does that before it writes.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>
#include <string.h>

#include "store/store_int.h"

/* ================================================================ devices */

int store_device_put(StoreConn *c, void *data, Err *err)
{
    StoreDevice *d = data;
    StoreStmt *st;
    int rc = store_stmt(c, "SELECT created FROM devices WHERE dev_eui = ?1", &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, d->dev_eui);
    int step = stmt_step(st, err);
    bool exists = step == STORE_ROW;
    int64_t created = exists ? stmt_col_int(st, 0) : d->updated;
    stmt_reset(st);
    if (step != STORE_ROW && step != STORE_DONE)
        return step;
    if (exists && !d->replace)
        return err_set(err, ERR_CONFLICT, "devEui", "device %s is registered already",
                       d->dev_eui);
    rc = store_stmt(c,
                    "INSERT INTO devices(dev_eui, name, thing_id, decoder,"
                    " decoder_spec, use_ns_decoded, mapping, created, updated)"
                    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
                    " ON CONFLICT(dev_eui) DO UPDATE SET name = excluded.name,"
                    " thing_id = excluded.thing_id, decoder = excluded.decoder,"
                    " decoder_spec = excluded.decoder_spec,"
                    " use_ns_decoded = excluded.use_ns_decoded, mapping = excluded.mapping,"
                    " created = excluded.created, updated = excluded.updated",
                    &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, d->dev_eui);
    stmt_bind_str(st, 2, d->name ? d->name : "");
    if (d->thing_id)
        stmt_bind_int(st, 3, d->thing_id);
    stmt_bind_str(st, 4, d->decoder);
    if (d->decoder_spec)
        stmt_bind_str(st, 5, d->decoder_spec);
    stmt_bind_int(st, 6, d->use_ns_decoded ? 1 : 0);
    stmt_bind_str(st, 7, d->mapping);
    stmt_bind_int(st, 8, created);
    stmt_bind_int(st, 9, d->updated);
    step = stmt_step(st, err);
    stmt_reset(st);
    if (step != STORE_DONE)
        return step;
    d->created = created;
    d->existed = exists;
    return 0;
}

int store_device_delete(StoreConn *c, void *data, Err *err)
{
    const char *eui = data;
    StoreStmt *st;
    int rc = store_stmt(c, "DELETE FROM devices WHERE dev_eui = ?1", &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, eui);
    int step = stmt_step(st, err);
    stmt_reset(st);
    if (step != STORE_DONE)
        return step;
    if (stmt_changes(st) == 0)
        return err_set(err, ERR_NOT_FOUND, "devEui", "no device %s", eui);
    return 0;
}

#define DEVICE_COLS                                                                            \
    "dev_eui, name, thing_id, decoder, decoder_spec, use_ns_decoded, mapping, created, updated"

static bool device_row(StoreStmt *st, Arena *a, StoreDevice *d)
{
    bool ok = true;
    memset(d, 0, sizeof *d);
    size_t n;
    const char *eui = st->c->ops->col_text(st, 0, &n);
    snprintf(d->dev_eui, sizeof d->dev_eui, "%s", eui ? eui : "");
    d->name = store_col_text(st, 1, a, &ok);
    d->thing_id = stmt_col_int(st, 2);
    d->decoder = store_col_text(st, 3, a, &ok);
    d->decoder_spec = store_col_text(st, 4, a, &ok);
    d->use_ns_decoded = stmt_col_int(st, 5) != 0;
    d->mapping = store_col_text(st, 6, a, &ok);
    d->created = stmt_col_int(st, 7);
    d->updated = stmt_col_int(st, 8);
    return ok;
}

int store_device_get(StoreConn *c, Arena *a, const char *dev_eui, StoreDevice *out, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, "SELECT " DEVICE_COLS " FROM devices WHERE dev_eui = ?1", &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, dev_eui);
    int step = stmt_step(st, err);
    if (step == STORE_DONE) {
        stmt_reset(st);
        return err_set(err, ERR_NOT_FOUND, "devEui", "no device %s", dev_eui);
    }
    if (step != STORE_ROW) {
        rc = step;
        stmt_reset(st);
        return rc;
    }
    StoreDevice d;
    bool ok = device_row(st, a, &d);
    stmt_reset(st);
    if (!ok)
        return err_set(err, ERR_TOO_LARGE, NULL, "device too large");
    *out = d;
    return 0;
}

static bool device_row_any(StoreStmt *st, Arena *a, void *out)
{
    return device_row(st, a, out);
}

int store_devices_read(StoreConn *c, Arena *a, int64_t top, int64_t skip, StoreDevice **out,
                       size_t *n, bool *more, Err *err)
{
    void *rows;
    int rc = store_read_page(c,
                             "SELECT " DEVICE_COLS
                             " FROM devices ORDER BY dev_eui LIMIT ?1 OFFSET ?2",
                             top, skip, a, sizeof **out, device_row_any, &rows, n, more,
                             "device", err);
    if (rc)
        return rc;
    *out = rows;
    return 0;
}

int store_devices_count(StoreConn *c, int64_t *out, Err *err)
{
    return store_query_count(c, "SELECT count(*) FROM devices", out, err);
}

int store_datastream_unit(StoreConn *c, Arena *a, int64_t id, const char **uom,
                          const char **obs_type, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c,
                        "SELECT unit_of_measurement, observation_type FROM datastreams"
                        " WHERE id = ?1",
                        &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, id);
    int step = stmt_step(st, err);
    if (step == STORE_DONE) {
        stmt_reset(st);
        return err_set(err, ERR_NOT_FOUND, NULL, "Datastream %lld does not exist", (long long)id);
    }
    if (step != STORE_ROW) {
        rc = step;
        stmt_reset(st);
        return rc;
    }
    bool ok = true;
    const char *u = store_col_text(st, 0, a, &ok), *t = store_col_text(st, 1, a, &ok);
    stmt_reset(st);
    if (!ok)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    *uom = u;
    *obs_type = t;
    return 0;
}

/* ======================================================== de-duplication */

int store_uplink_seen_get(StoreConn *c, const char *dev_eui, int64_t f_cnt, bool *found,
                          int64_t *received, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c,
                        "SELECT received FROM uplinks_seen WHERE dev_eui = ?1 AND f_cnt = ?2",
                        &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, dev_eui);
    stmt_bind_int(st, 2, f_cnt);
    int step = stmt_step(st, err);
    if (step != STORE_ROW && step != STORE_DONE) {
        rc = step;
        stmt_reset(st);
        return rc;
    }
    *found = step == STORE_ROW;
    *received = *found ? stmt_col_int(st, 0) : 0;
    stmt_reset(st);
    return 0;
}

int store_uplink_seen_claim(StoreConn *c, const StoreUplinkSeen *u, int64_t window,
                            bool *fresh, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO uplinks_seen(dev_eui, f_cnt, received)"
                        " VALUES(?1, ?2, ?3)"
                        " ON CONFLICT(dev_eui, f_cnt) DO UPDATE SET received = excluded.received"
                        " WHERE abs(uplinks_seen.received - excluded.received) >= ?4"
                        " RETURNING 1",
                        &st, err);
    if (rc)
        return rc;
    stmt_bind_str(st, 1, u->dev_eui);
    stmt_bind_int(st, 2, u->f_cnt);
    stmt_bind_int(st, 3, u->received);
    stmt_bind_int(st, 4, window);
    int step = stmt_step(st, err);
    stmt_reset(st);
    if (step < 0)
        return step;
    *fresh = step == STORE_ROW;
    return 0;
}
