/*
 * test_plan.c - the query plans that keep reads O(log n + k): a
 * phenomenonTime range on one datastream, with $filter, uses the
 * (datastream_id, phen_start) index for both bounds; the latest observation
 * and a datastream's $count never touch the observations table.
 *
 * White-box: reads the SQL of the last statement a read connection prepared
 * and asks SQLite for its plan (EXPLAIN QUERY PLAN needs no bound values).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "query/query.h"
#include "store/store_int.h"

typedef struct Fixture {
    char dir[64];
    char path[96];
    Store *store;
} Fixture;

static int seed(StoreConn *c, void *data, Err *err)
{
    (void)data;
    return store_exec(c,
                      "INSERT INTO things(name, description) VALUES('t', 'd');"
                      "INSERT INTO sensors(name, description, encoding_type, metadata)"
                      "  VALUES('s', 'd', 'text/html', '\"x\"');"
                      "INSERT INTO observed_properties(name, definition, description)"
                      "  VALUES('p', 'd', 'd');"
                      "INSERT INTO datastreams(name, description, observation_type,"
                      "  unit_of_measurement, thing_id, sensor_id, observed_property_id)"
                      "  VALUES('d', 'd', 'x', '{}', 1, 1, 1);"
                      "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)"
                      "  INSERT INTO observations(datastream_id, feature_id, phen_start, result,"
                      "  result_type) SELECT 1, 1, i * 60000000, i, 1 FROM n;",
                      err);
}

static int setup(void **state)
{
    Fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/klammer-plan-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/k.db", f->dir);
    Err err;
    err_init(&err);
    StoreConfig cfg = {f->path, 2, 64, false};
    assert_int_equal(store_open(&cfg, &f->store, &err), 0);
    assert_int_equal(store_run(f->store, seed, NULL, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    store_close(f->store);
    char p[128];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Reads path?query and returns the plan of the last statement, one line per step. */
static char *plan_of(Fixture *f, Arena *a, const char *path, const char *query)
{
    Err err;
    err_init(&err);
    ResourcePath rp;
    assert_int_equal(query_parse_path(path, &rp, &err), 0);
    const EntityDef *def = rp.segs[rp.nsegs - 1].def;
    QueryParam params[8];
    size_t n = 0;
    char *q = arena_strdup(a, query);
    for (char *save = NULL, *tok = strtok_r(q, "&", &save); tok && n < 8;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        *eq = '\0';
        params[n++] = (QueryParam){tok, eq + 1};
    }
    QueryLimits lim = {100, 10000};
    QueryOptions o;
    assert_int_equal(query_parse_options(a, def, params, n, &lim, &o, &err), 0);
    StoreConn *c;
    StoreScope sc;
    StoreRowSet *rs;
    assert_int_equal(store_read_begin(f->store, &c, &err), 0);
    assert_int_equal(store_resolve(c, &rp, rp.nsegs, &sc, &err), 0);
    assert_int_equal(store_read(c, a, &sc, &o, &rs, &err), 0);
    assert_non_null(c->last_sql);
    char *sql = arena_printf(a, "EXPLAIN QUERY PLAN %s", c->last_sql);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(c->db, sql, -1, &st, NULL), SQLITE_OK);
    Buf b;
    buf_init(&b);
    while (sqlite3_step(st) == SQLITE_ROW)
        buf_printf(&b, "%s\n", (const char *)sqlite3_column_text(st, 3));
    sqlite3_finalize(st);
    store_read_end(f->store, c);
    char *out = arena_strdup(a, b.data ? b.data : "");
    buf_fini(&b);
    return out;
}

static void test_time_range_uses_index(void **state)
{
    Fixture *f = *state;
    Arena a;
    arena_init(&a, 0);
    char *plan = plan_of(f, &a, "/Datastreams(1)/Observations",
                         "$top=1000&$filter=phenomenonTime ge 1970-01-01T01:00:00Z and "
                         "phenomenonTime lt 1970-01-02T00:00:00Z");
    print_message("%s", plan);
    assert_non_null(strstr(plan, "observations_by_datastream (datastream_id=? AND "
                                 "phen_start>? AND phen_start<?)"));
    assert_null(strstr(plan, "SCAN t2"));
    arena_fini(&a);
}

static void test_latest_reads_no_observation_scan(void **state)
{
    Fixture *f = *state;
    Arena a;
    arena_init(&a, 0);
    char *plan = plan_of(f, &a, "/Datastreams(1)/Observations",
                         "$top=1&$orderby=phenomenonTime desc");
    print_message("%s", plan);
    /* The observation row is found by its primary key (last_obs_id). */
    assert_non_null(strstr(plan, "SEARCH t USING INTEGER PRIMARY KEY (rowid=?)"));
    assert_null(strstr(plan, "SCAN t"));
    arena_fini(&a);
}

static void test_count_reads_statistics(void **state)
{
    Fixture *f = *state;
    Arena a;
    arena_init(&a, 0);
    char *plan = plan_of(f, &a, "/Datastreams(1)/Observations", "$top=1&$count=true");
    print_message("%s", plan);
    /* The count comes from datastreams.obs_count, not from counting rows. */
    assert_null(strstr(plan, "observations"));
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_time_range_uses_index, setup, teardown),
        cmocka_unit_test_setup_teardown(test_latest_reads_no_observation_scan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_count_reads_statistics, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
