/*
 * ceiling_sqlite.c - the storage ceiling: raw SQLite insert rate.
 *
 * One prepared INSERT into a table shaped like Klammer's `observations`
 * (same columns, same four indexes, no statistics triggers), in WAL mode,
 * from an empty database file, for:
 *
 *   - batches of 1000 rows per transaction, synchronous=FULL and =NORMAL;
 *   - one transaction per row, synchronous=FULL and =NORMAL.
 *
 * For reference, three more runs: with Klammer's per-datastream statistics
 * trigger added (what keeping count, extent and latest observation on write
 * costs), and a bare table without indexes (the figure DESIGN.md quotes).
 *
 *   ceiling_sqlite DIR BATCH_ROWS SINGLE_ROWS
 *
 * DIR must exist; the program creates and removes its database files there
 * (put it on the same file system as Klammer's database).  One line per run:
 *
 *   sqlite mode=batch1000 sync=FULL indexes=1 triggers=0 rows=1000000 seconds=7.4 rows_per_s=134000
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* observations as in src/store/schema_sqlite.c, migration 1. */
static const char schema[] =
    "CREATE TABLE datastreams("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  phen_start INTEGER, phen_end INTEGER, result_start INTEGER, result_end INTEGER,"
    "  obs_count INTEGER NOT NULL DEFAULT 0, last_obs_id INTEGER, last_phen INTEGER);"
    "INSERT INTO datastreams(id) VALUES (1);"
    "CREATE TABLE observations("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  datastream_id INTEGER, multi_datastream_id INTEGER, feature_id INTEGER NOT NULL,"
    "  phen_start INTEGER NOT NULL, phen_end INTEGER, result_time INTEGER,"
    "  result, result_type INTEGER NOT NULL, result_quality TEXT,"
    "  valid_start INTEGER, valid_end INTEGER, parameters TEXT);";

static const char indexes[] =
    "CREATE INDEX observations_by_datastream ON observations(datastream_id, phen_start, id);"
    "CREATE INDEX observations_by_multi_datastream"
    "  ON observations(multi_datastream_id, phen_start, id);"
    "CREATE INDEX observations_by_feature ON observations(feature_id, phen_start, id);"
    "CREATE INDEX observations_by_phen ON observations(phen_start, id);";

/* The datastream half of Klammer's AFTER INSERT statistics trigger. */
static const char trigger[] =
    "CREATE TRIGGER observations_ai AFTER INSERT ON observations BEGIN"
    " UPDATE datastreams SET obs_count = obs_count + 1,"
    "  phen_start = min(coalesce(phen_start, NEW.phen_start), NEW.phen_start),"
    "  phen_end = max(coalesce(phen_end, NEW.phen_end, NEW.phen_start),"
    "                 coalesce(NEW.phen_end, NEW.phen_start)),"
    "  result_start = CASE WHEN NEW.result_time IS NULL THEN result_start"
    "    ELSE min(coalesce(result_start, NEW.result_time), NEW.result_time) END,"
    "  result_end = CASE WHEN NEW.result_time IS NULL THEN result_end"
    "    ELSE max(coalesce(result_end, NEW.result_time), NEW.result_time) END,"
    "  last_obs_id = CASE WHEN last_phen IS NULL OR NEW.phen_start >= last_phen"
    "    THEN NEW.id ELSE last_obs_id END,"
    "  last_phen = CASE WHEN last_phen IS NULL OR NEW.phen_start >= last_phen"
    "    THEN NEW.phen_start ELSE last_phen END"
    " WHERE NEW.datastream_id IS NOT NULL AND id = NEW.datastream_id;"
    " END;";

static const char insert_sql[] =
    "INSERT INTO observations(datastream_id, feature_id, phen_start, result_time,"
    " result, result_type) VALUES (?1, ?2, ?3, ?4, ?5, 1)";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(sqlite3 *db, const char *what)
{
    fprintf(stderr, "ceiling_sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "out of memory");
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "ceiling_sqlite: %s: %s\n", sql, err ? err : "?");
        exit(1);
    }
}

static void remove_db(const char *path)
{
    char buf[4200];
    unlink(path);
    snprintf(buf, sizeof buf, "%s-wal", path);
    unlink(buf);
    snprintf(buf, sizeof buf, "%s-shm", path);
    unlink(buf);
}

/* Inserts `rows` rows, `per_txn` to a transaction, into a fresh database. */
static void run(const char *dir, const char *sync, int with_indexes, int with_trigger, long rows,
                long per_txn)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ceiling-%ld-%s-%d-%d.db", dir, per_txn, sync, with_indexes,
             with_trigger);
    remove_db(path);

    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(db, path);
    exec(db, "PRAGMA journal_mode=WAL");
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", sync);
    exec(db, pragma);
    exec(db, schema);
    if (with_indexes)
        exec(db, indexes);
    if (with_trigger)
        exec(db, trigger);

    sqlite3_stmt *ins = NULL;
    if (sqlite3_prepare_v2(db, insert_sql, -1, &ins, NULL) != SQLITE_OK)
        die(db, "prepare");

    /* Observations one second apart from 2024-01-01, in microseconds. */
    const sqlite3_int64 t0 = 1704067200LL * 1000000LL;
    double start = now();
    for (long i = 0; i < rows;) {
        exec(db, "BEGIN");
        for (long k = 0; k < per_txn && i < rows; k++, i++) {
            sqlite3_int64 t = t0 + (sqlite3_int64)i * 1000000LL;
            sqlite3_bind_int64(ins, 1, 1);
            sqlite3_bind_int64(ins, 2, 1);
            sqlite3_bind_int64(ins, 3, t);
            sqlite3_bind_int64(ins, 4, t);
            sqlite3_bind_double(ins, 5, 20.0 + (double)(i % 1000) / 100.0);
            if (sqlite3_step(ins) != SQLITE_DONE)
                die(db, "insert");
            sqlite3_reset(ins);
        }
        exec(db, "COMMIT");
    }
    double secs = now() - start;

    sqlite3_finalize(ins);
    if (sqlite3_close(db) != SQLITE_OK)
        die(db, "close");
    remove_db(path);

    printf("sqlite mode=%s sync=%s indexes=%d triggers=%d rows=%ld seconds=%.3f rows_per_s=%.0f\n",
           per_txn == 1 ? "single" : "batch1000", sync, with_indexes, with_trigger, rows, secs,
           secs > 0 ? (double)rows / secs : 0.0);
    fflush(stdout);
}

static long count_arg(const char *s)
{
    char *end;
    long n = strtol(s, &end, 10);
    if (*end != '\0' || n < 1 || n > 1000000000L) {
        fprintf(stderr, "ceiling_sqlite: bad row count '%s'\n", s);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s DIR BATCH_ROWS SINGLE_ROWS\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    long batch_rows = count_arg(argv[2]);
    long single_rows = count_arg(argv[3]);

    /* The ceilings: Klammer's indexes, no triggers. */
    run(dir, "FULL", 1, 0, batch_rows, 1000);
    run(dir, "NORMAL", 1, 0, batch_rows, 1000);
    run(dir, "FULL", 1, 0, single_rows, 1);
    run(dir, "NORMAL", 1, 0, single_rows, 1);
    /* For reference: what the statistics trigger adds, and a bare table. */
    run(dir, "FULL", 1, 1, batch_rows, 1000);
    run(dir, "NORMAL", 1, 1, single_rows, 1);
    run(dir, "FULL", 0, 0, batch_rows, 1000);
    return 0;
}
