/*
 * deadletter.c - the dead-letter store (see store.h): messages that could not
 * be stored, kept with their raw payload and the reason, newest first.
 *
 * The table comes from migration 3 in schema_sqlite.c.  Inserts run on the
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
    sqlite3_stmt *st;
    int rc = store_stmt(c,
                        "INSERT INTO dead_letters(time, source, topic, payload, reason)"
                        " VALUES(?1, ?2, ?3, ?4, ?5)",
                        &st, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(st, 1, dl->time);
    sqlite3_bind_text(st, 2, dl->source, -1, SQLITE_STATIC);
    if (dl->topic)
        sqlite3_bind_text(st, 3, dl->topic, -1, SQLITE_STATIC);
    /* A zero-length blob must still be NOT NULL: bind an empty blob, not NULL. */
    sqlite3_bind_blob64(st, 4, dl->len ? dl->payload : "", dl->len, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, dl->reason, -1, SQLITE_STATIC);
    int step = sqlite3_step(st);
    sqlite3_reset(st);
    if (step != SQLITE_DONE)
        return store_sqlite_err(c, err);
    dl->id = sqlite3_last_insert_rowid(c->db);
    return 0;
}

/* Copies a text column into the arena; NULL for SQL NULL.  Sets *ok = false over the cap. */
static const char *col_text(sqlite3_stmt *st, int col, Arena *a, bool *ok)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return NULL;
    const unsigned char *t = sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    char *s = arena_strndup(a, t ? (const char *)t : "", (size_t)n);
    if (!s)
        *ok = false;
    return s;
}

int store_dead_letters_read(StoreConn *c, Arena *a, int64_t top, int64_t skip,
                            StoreDeadLetter **out, size_t *n, bool *more, Err *err)
{
    sqlite3_stmt *st;
    int rc = store_stmt(c,
                        "SELECT id, time, source, topic, payload, reason, replayed_at"
                        " FROM dead_letters ORDER BY id DESC LIMIT ?1 OFFSET ?2",
                        &st, err);
    if (rc)
        return rc;
    /* One row beyond the page tells whether there are more. */
    sqlite3_bind_int64(st, 1, top + 1);
    sqlite3_bind_int64(st, 2, skip);
    size_t cap = top < 64 ? (size_t)top + 1 : 64, cnt = 0;
    StoreDeadLetter *v = arena_zalloc(a, cap * sizeof *v);
    bool ok = v != NULL, extra = false;
    int step = SQLITE_DONE;
    while (ok && (step = sqlite3_step(st)) == SQLITE_ROW) {
        if ((int64_t)cnt == top) {
            extra = true;
            break;
        }
        if (cnt == cap) {
            StoreDeadLetter *w = arena_alloc(a, 2 * cap * sizeof *w);
            if (!w) {
                ok = false;
                break;
            }
            memcpy(w, v, cnt * sizeof *w);
            v = w;
            cap *= 2;
        }
        StoreDeadLetter *d = &v[cnt++];
        memset(d, 0, sizeof *d);
        d->id = sqlite3_column_int64(st, 0);
        d->time = sqlite3_column_int64(st, 1);
        d->source = col_text(st, 2, a, &ok);
        d->topic = col_text(st, 3, a, &ok);
        const void *p = sqlite3_column_blob(st, 4);
        int len = sqlite3_column_bytes(st, 4);
        char *copy = arena_alloc(a, (size_t)len + 1);
        if (!copy) {
            ok = false;
            break;
        }
        if (len)
            memcpy(copy, p, (size_t)len);
        copy[len] = '\0';
        d->payload = copy;
        d->len = (size_t)len;
        d->reason = col_text(st, 5, a, &ok);
        d->replayed_at = sqlite3_column_int64(st, 6);
    }
    if (ok && !extra && step != SQLITE_DONE) {
        rc = store_sqlite_err(c, err);
        sqlite3_reset(st);
        return rc;
    }
    sqlite3_reset(st);
    if (!ok)
        return err_set(err, ERR_TOO_LARGE, NULL, "dead-letter page too large for one response");
    *out = v;
    *n = cnt;
    *more = extra;
    return 0;
}

int store_dead_letters_count(StoreConn *c, int64_t *out, Err *err)
{
    return store_query_count(c, "SELECT count(*) FROM dead_letters", out, err);
}
