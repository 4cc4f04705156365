/*
 * deadletter.c - the dead-letter store (see store.h): messages that could not
 * be stored, kept with their raw payload and the reason, newest first.
 *
 * The table comes from migration 3 in schema_sqlite.c (schema_pg.c).  Inserts run on the
 * writer thread like every other write (store_run), so a dead letter is as
 * durable as an observation once store_run returns.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "store/store_int.h"

int store_dead_letter_add(StoreConn *c, void *data, Err *err)
{
    StoreDeadLetter *dl = data;
    StoreStmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO dead_letters(time, source, topic, payload, reason)"
                        " VALUES(?1, ?2, ?3, ?4, ?5) RETURNING id",
                        &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, dl->time);
    stmt_bind_str(st, 2, dl->source);
    if (dl->topic)
        stmt_bind_str(st, 3, dl->topic);
    stmt_bind_blob(st, 4, dl->payload, dl->len);
    stmt_bind_str(st, 5, dl->reason);
    int step = stmt_step(st, err);
    if (step == STORE_ROW)
        dl->id = stmt_col_int(st, 0);
    stmt_reset(st);
    if (step != STORE_ROW)
        return step < 0 ? step : err_set(err, ERR_STORAGE, NULL, "dead letter not stored");
    return 0;
}

/* One dead letter from columns id, time, source, topic, payload, reason, replayed_at. */
static bool dead_letter_row(StoreStmt *st, Arena *a, void *out)
{
    StoreDeadLetter *d = out;
    bool ok = true;
    memset(d, 0, sizeof *d);
    d->id = stmt_col_int(st, 0);
    d->time = stmt_col_int(st, 1);
    d->source = store_col_text(st, 2, a, &ok);
    d->topic = store_col_text(st, 3, a, &ok);
    size_t len;
    const void *p = st->c->ops->col_blob(st, 4, &len);
    char *copy = arena_alloc(a, len + 1);
    if (!copy)
        return false;
    if (len)
        memcpy(copy, p, len);
    copy[len] = '\0';
    d->payload = copy;
    d->len = (size_t)len;
    d->reason = store_col_text(st, 5, a, &ok);
    d->replayed_at = stmt_col_int(st, 6);
    return ok;
}

#define DEAD_LETTER_COLS "id, time, source, topic, payload, reason, replayed_at"

int store_dead_letters_read(StoreConn *c, Arena *a, int64_t top, int64_t skip,
                            StoreDeadLetter **out, size_t *n, bool *more, Err *err)
{
    void *rows;
    int rc = store_read_page(c,
                             "SELECT " DEAD_LETTER_COLS
                             " FROM dead_letters ORDER BY id DESC LIMIT ?1 OFFSET ?2",
                             top, skip, a, sizeof **out, dead_letter_row, &rows, n, more,
                             "dead-letter", err);
    if (rc)
        return rc;
    *out = rows;
    return 0;
}

int store_dead_letter_get(StoreConn *c, Arena *a, int64_t id, StoreDeadLetter *out, Err *err)
{
    StoreStmt *st;
    int rc = store_stmt(c, "SELECT " DEAD_LETTER_COLS " FROM dead_letters WHERE id = ?1", &st,
                        err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, id);
    int step = stmt_step(st, err);
    if (step != STORE_ROW) {
        stmt_reset(st);
        if (step != STORE_DONE)
            return step;
        return err_set(err, ERR_NOT_FOUND, "id", "no dead letter with id %lld", (long long)id);
    }
    StoreDeadLetter d;
    bool ok = dead_letter_row(st, a, &d);
    stmt_reset(st);
    if (!ok)
        return err_set(err, ERR_TOO_LARGE, NULL, "dead letter too large");
    *out = d;
    return 0;
}

int store_dead_letter_mark_replayed(StoreConn *c, void *data, Err *err)
{
    StoreDeadLetter *dl = data;
    StoreStmt *st;
    int rc = store_stmt(c,
                        "UPDATE dead_letters SET replayed_at = ?2"
                        " WHERE id = ?1 AND replayed_at IS NULL",
                        &st, err);
    if (rc)
        return rc;
    stmt_bind_int(st, 1, dl->id);
    stmt_bind_int(st, 2, dl->replayed_at);
    int step = stmt_step(st, err);
    stmt_reset(st);
    if (step != STORE_DONE)
        return step;
    if (stmt_changes(st) == 0)
        return err_set(err, ERR_CONFLICT, "id", "dead letter %lld was replayed already",
                       (long long)dl->id);
    return 0;
}

int store_dead_letters_count(StoreConn *c, int64_t *out, Err *err)
{
    return store_query_count(c, "SELECT count(*) FROM dead_letters", out, err);
}
