/*
 * test_store.c - unit tests for store/ on a SQLite file in a fresh
 * temporary directory or, with KLAMMER_TEST_PG=postgresql://... (make
 * e2e-pg), on a fresh PostgreSQL database: writes go through the writer
 * (store_run, store_submit), reads through store_read_begin/store_resolve/
 * store_read.
 *
 * Checked: the datastream statistics the triggers keep (obs_count,
 * phenomenonTime and resultTime extents, last_obs_id) on insert, delete and
 * update; delete cascades; a failing job in a batch leaves nothing behind
 * while the others commit; the latest-observation shortcut of $expand;
 * paging (the more flag) and per-parent counts; on PostgreSQL, the
 * stream key of observations by the rules of a Citus cluster (catalog,
 * every write path, migration 6 on existing rows).  Where the API has no
 * reader, a check query runs on one of the store's read connections.
 *
 * Tests named test_bug_* pin down bugs found by these tests, fixed since.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

#include "query/query.h"
#include "store/store.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define OM "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
#define S INT64_C(1000000) /* one second in microseconds */

/* ========================================================================== */
/* Fixture: a store on a temporary file                                       */
/* ========================================================================== */

typedef struct Fx {
    char dir[64];
    char path[512]; /* SQLite file or PostgreSQL URL */
    char pgdb[64];  /* PostgreSQL: the database created for the test */
    Store *s;
} Fx;

/* Runs one statement on the PostgreSQL server of KLAMMER_TEST_PG. */
static void pg_admin(const char *sql)
{
    PGconn *c = PQconnectdb(getenv("KLAMMER_TEST_PG"));
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        print_error("%s: %s\n", sql, PQerrorMessage(c));
    assert_int_equal(PQresultStatus(r), PGRES_COMMAND_OK);
    PQclear(r);
    PQfinish(c);
}

static int setup(void **state)
{
    static int seq;
    Fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    const char *pg = getenv("KLAMMER_TEST_PG");
    if (pg && *pg) {
        /* A fresh database on the same server: the URL with another path. */
        snprintf(f->pgdb, sizeof f->pgdb, "kunit_%d_%d", (int)getpid(), ++seq);
        char sql[128];
        snprintf(sql, sizeof sql, "CREATE DATABASE %s", f->pgdb);
        pg_admin(sql);
        const char *slash = strrchr(pg, '/');
        assert_true(slash && slash > pg + 12);
        snprintf(f->path, sizeof f->path, "%.*s/%s", (int)(slash - pg), pg, f->pgdb);
    } else {
        snprintf(f->dir, sizeof f->dir, "/tmp/klammer-store-XXXXXX");
        assert_non_null(mkdtemp(f->dir));
        snprintf(f->path, sizeof f->path, "%s/test.db", f->dir);
    }
    StoreConfig cfg = {f->path, 2, 64, false};
    Err err;
    err_init(&err);
    if (store_open(&cfg, &f->s, &err))
        print_error("store_open: %s\n", err.msg);
    assert_non_null(f->s);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fx *f = *state;
    store_close(f->s);
    if (f->pgdb[0]) {
        char sql[128];
        snprintf(sql, sizeof sql, "DROP DATABASE %s", f->pgdb);
        pg_admin(sql);
        free(f);
        return 0;
    }
    static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < COUNT(suffix); i++) {
        char p[600];
        snprintf(p, sizeof p, "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    assert_int_equal(rmdir(f->dir), 0);
    free(f);
    return 0;
}

/* One integer from a check query (parameter ?1 = arg) on a read connection (INT64_MIN for NULL). */
static int64_t q1(Fx *f, const char *sql, int64_t arg)
{
    Err err;
    err_init(&err);
    StoreConn *c;
    assert_int_equal(store_read_begin(f->s, &c, &err), 0);
    StoreStmt *st;
    if (store_stmt(c, sql, &st, &err))
        print_error("%s: %s\n", sql, err.msg);
    assert_int_equal(err.code, 0);
    stmt_bind_int(st, 1, arg);
    int64_t v = INT64_MIN;
    if (stmt_step(st, &err) == STORE_ROW && stmt_col_type(st, 0) != SV_NULL)
        v = stmt_col_int(st, 0);
    stmt_reset(st);
    store_read_end(f->s, c);
    assert_int_equal(err.code, 0);
    return v;
}

/* The schema version of the store's database. */
static int64_t schema_version(Fx *f)
{
    return q1(f, f->pgdb[0] ? "SELECT version FROM klammer_schema" : "PRAGMA user_version", 0);
}

/* ========================================================================== */
/* Writing rows by column name                                                */
/* ========================================================================== */

typedef struct Col {
    const char *name; /* SQL column */
    StoreValue v;
} Col;

#define TXT(str) ((StoreValue){.type = SV_TEXT, .s = (str), .n = sizeof(str) - 1})
#define INT(x) ((StoreValue){.type = SV_INT, .i = (x)})
#define REAL(x) ((StoreValue){.type = SV_REAL, .d = (x)})
#define NUL ((StoreValue){.type = SV_NULL})

static int slot_of(const EntityDef *def, const char *col)
{
    for (int i = 0; i < def->ncols; i++)
        if (strcmp(def->cols[i], col) == 0)
            return i;
    fail_msg("no column %s in %s", col, def->name);
    return -1;
}

static int insert(StoreConn *c, EntityType t, const Col *cols, size_t n, int64_t *id, Err *err)
{
    const EntityDef *def = model_entity(t);
    StoreValue vals[32];
    bool set[32] = {false};
    memset(vals, 0, sizeof vals);
    for (size_t i = 0; i < n; i++) {
        int k = slot_of(def, cols[i].name);
        vals[k] = cols[i].v;
        set[k] = true;
    }
    return store_insert(c, def, vals, set, id, err);
}

#define INSERT(c, t, id, err, ...)                                                         \
    insert((c), (t), (const Col[]){__VA_ARGS__},                                         \
           sizeof((const Col[]){__VA_ARGS__}) / sizeof(Col), (id), (err))

static int ins_thing(StoreConn *c, const char *name, int64_t *id, Err *err)
{
    return INSERT(c, ENT_THING, id, err,
                  {"name", {.type = SV_TEXT, .s = name, .n = strlen(name)}},
                  {"description", TXT("a thing")});
}

static int ins_sensor(StoreConn *c, int64_t *id, Err *err)
{
    return INSERT(c, ENT_SENSOR, id, err, {"name", TXT("s")}, {"description", TXT("d")},
                  {"encoding_type", TXT("application/pdf")}, {"metadata", TXT("\"m\"")});
}

static int ins_op(StoreConn *c, int64_t *id, Err *err)
{
    return INSERT(c, ENT_OBSERVED_PROPERTY, id, err, {"name", TXT("t")},
                  {"definition", TXT("http://example.org/t")}, {"description", TXT("d")});
}

static int ins_ds(StoreConn *c, int64_t thing, int64_t sensor, int64_t op, int64_t *id,
                  Err *err)
{
    return INSERT(c, ENT_DATASTREAM, id, err, {"name", TXT("ds")}, {"description", TXT("d")},
                  {"observation_type", TXT(OM)}, {"unit_of_measurement", TXT("{}")},
                  {"thing_id", INT(thing)}, {"sensor_id", INT(sensor)},
                  {"observed_property_id", INT(op)});
}

static int ins_foi(StoreConn *c, int64_t *id, Err *err)
{
    return INSERT(c, ENT_FEATURE, id, err, {"name", TXT("f")}, {"description", TXT("d")},
                  {"encoding_type", TXT("application/geo+json")},
                  {"feature", TXT("{\"type\":\"Point\",\"coordinates\":[7,51]}")});
}

/* An observation; end < 0 means an instant, rtime < 0 no resultTime. */
static int ins_obs(StoreConn *c, int64_t ds, int64_t foi, int64_t start, int64_t end,
                   int64_t rtime, double result, int64_t *id, Err *err)
{
    return INSERT(c, ENT_OBSERVATION, id, err, {"datastream_id", INT(ds)},
                  {"feature_id", INT(foi)}, {"phen_start", INT(start)},
                  {"phen_end", end < 0 ? NUL : INT(end)},
                  {"result_time", rtime < 0 ? NUL : INT(rtime)}, {"result", REAL(result)},
                  {"result_type", INT(1)});
}

/* The world most tests start from. */
typedef struct World {
    int64_t thing[2], sensor, op, foi, ds[3], loc, hl;
} World;

static int world_job(StoreConn *c, void *data, Err *err)
{
    World *w = data;
    int rc = 0;
    if ((rc = ins_thing(c, "t1", &w->thing[0], err)) || (rc = ins_thing(c, "t2", &w->thing[1], err)) ||
        (rc = ins_sensor(c, &w->sensor, err)) || (rc = ins_op(c, &w->op, err)) ||
        (rc = ins_foi(c, &w->foi, err)) ||
        (rc = ins_ds(c, w->thing[0], w->sensor, w->op, &w->ds[0], err)) ||
        (rc = ins_ds(c, w->thing[0], w->sensor, w->op, &w->ds[1], err)) ||
        (rc = ins_ds(c, w->thing[1], w->sensor, w->op, &w->ds[2], err)))
        return rc;
    if ((rc = INSERT(c, ENT_LOCATION, &w->loc, err, {"name", TXT("l")},
                     {"description", TXT("d")}, {"encoding_type", TXT("application/geo+json")},
                     {"location", TXT("{\"type\":\"Point\",\"coordinates\":[7,51]}")})))
        return rc;
    const EntityDef *th = model_entity(ENT_THING), *hl = model_entity(ENT_HISTORICAL_LOCATION);
    if ((rc = store_link(c, model_rel(th, "Locations", 9), w->thing[0], w->loc, 0, err)))
        return rc;
    if ((rc = INSERT(c, ENT_HISTORICAL_LOCATION, &w->hl, err, {"time", INT(5 * S)},
                     {"thing_id", INT(w->thing[0])})))
        return rc;
    return store_link(c, model_rel(hl, "Locations", 9), w->hl, w->loc, 0, err);
}

static World make_world(Fx *f)
{
    World w;
    memset(&w, 0, sizeof w);
    Err err;
    err_init(&err);
    int rc = store_run(f->s, world_job, &w, &err);
    if (rc)
        print_error("world: %s\n", err.msg);
    assert_int_equal(rc, 0);
    return w;
}

/* Observations to add: (datastream index, start, end, result time); ids come back. */
typedef struct ObsSpec {
    int ds;
    int64_t start, end, rtime;
    int64_t id; /* out */
} ObsSpec;

typedef struct ObsJob {
    World *w;
    ObsSpec *obs;
    size_t n;
} ObsJob;

static int obs_job(StoreConn *c, void *data, Err *err)
{
    ObsJob *j = data;
    for (size_t i = 0; i < j->n; i++) {
        ObsSpec *o = &j->obs[i];
        int rc = ins_obs(c, j->w->ds[o->ds], j->w->foi, o->start, o->end, o->rtime,
                         (double)i, &o->id, err);
        if (rc)
            return rc;
    }
    return 0;
}

static void add_obs(Fx *f, World *w, ObsSpec *obs, size_t n)
{
    ObsJob j = {w, obs, n};
    Err err;
    err_init(&err);
    int rc = store_run(f->s, obs_job, &j, &err);
    if (rc)
        print_error("obs: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

typedef struct DelJob {
    EntityType t;
    int64_t id;
} DelJob;

static int del_job(StoreConn *c, void *data, Err *err)
{
    DelJob *d = data;
    return store_delete(c, model_entity(d->t), d->id, err);
}

static int del(Fx *f, EntityType t, int64_t id)
{
    DelJob d = {t, id};
    Err err;
    err_init(&err);
    return store_run(f->s, del_job, &d, &err);
}

typedef struct UpdJob {
    EntityType t;
    int64_t id;
    Col col;
} UpdJob;

static int upd_job(StoreConn *c, void *data, Err *err)
{
    UpdJob *u = data;
    const EntityDef *def = model_entity(u->t);
    StoreValue vals[32];
    bool set[32] = {false};
    memset(vals, 0, sizeof vals);
    int k = slot_of(def, u->col.name);
    vals[k] = u->col.v;
    set[k] = true;
    return store_update(c, def, u->id, vals, set, err);
}

static void upd(Fx *f, EntityType t, int64_t id, const char *col, StoreValue v)
{
    UpdJob u = {t, id, {col, v}};
    Err err;
    err_init(&err);
    int rc = store_run(f->s, upd_job, &u, &err);
    if (rc)
        print_error("update: %s\n", err.msg);
    assert_int_equal(rc, 0);
}

/* ========================================================================== */
/* Datastream statistics                                                      */
/* ========================================================================== */

typedef struct Stats {
    int64_t count, pstart, pend, rstart, rend, last;
} Stats;

#define NONE INT64_MIN

/* Reads the statistics through store_get on a read connection. */
static Stats stats(Fx *f, int64_t ds)
{
    const EntityDef *def = model_entity(ENT_DATASTREAM);
    StoreConn *c;
    Err err;
    err_init(&err);
    assert_int_equal(store_read_begin(f->s, &c, &err), 0);
    Arena a;
    arena_init(&a, 0);
    StoreRow *row;
    assert_int_equal(store_get(c, &a, def, ds, &row, &err), 0);
    const char *names[] = {"obs_count", "phen_start", "phen_end", "result_start", "result_end",
                           "last_obs_id"};
    int64_t v[6];
    for (int i = 0; i < 6; i++) {
        const StoreValue *x = &row->cols[slot_of(def, names[i])];
        assert_true(x->type == SV_INT || x->type == SV_NULL);
        v[i] = x->type == SV_INT ? x->i : NONE;
    }
    arena_fini(&a);
    store_read_end(f->s, c);
    return (Stats){v[0], v[1], v[2], v[3], v[4], v[5]};
}

static void expect_stats(Fx *f, int64_t ds, Stats want)
{
    Stats got = stats(f, ds);
    if (memcmp(&got, &want, sizeof got) != 0)
        print_error("datastream %lld: count %lld phen %lld..%lld result %lld..%lld last %lld; "
                    "want %lld %lld..%lld %lld..%lld %lld\n",
                    (long long)ds, (long long)got.count, (long long)got.pstart,
                    (long long)got.pend, (long long)got.rstart, (long long)got.rend,
                    (long long)got.last, (long long)want.count, (long long)want.pstart,
                    (long long)want.pend, (long long)want.rstart, (long long)want.rend,
                    (long long)want.last);
    assert_memory_equal(&got, &want, sizeof got);
}

static void test_stats_insert(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    expect_stats(f, w.ds[0], (Stats){0, NONE, NONE, NONE, NONE, NONE});
    ObsSpec o[] = {
        {0, 100 * S, -1, 110 * S, 0},
        {0, 300 * S, -1, -1, 0},
        {0, 200 * S, -1, 90 * S, 0},
        {0, 150 * S, 400 * S, 500 * S, 0}, /* an interval reaching furthest */
        {1, 50 * S, -1, -1, 0},            /* another stream */
    };
    add_obs(f, &w, o, 1);
    expect_stats(f, w.ds[0], (Stats){1, 100 * S, 100 * S, 110 * S, 110 * S, o[0].id});
    add_obs(f, &w, o + 1, COUNT(o) - 1);
    expect_stats(f, w.ds[0], (Stats){4, 100 * S, 400 * S, 90 * S, 500 * S, o[1].id});
    expect_stats(f, w.ds[1], (Stats){1, 50 * S, 50 * S, NONE, NONE, o[4].id});
    expect_stats(f, w.ds[2], (Stats){0, NONE, NONE, NONE, NONE, NONE});
    /* Equal phenomenonTime: the later insert is the latest. */
    ObsSpec tie[] = {{0, 300 * S, -1, -1, 0}};
    add_obs(f, &w, tie, 1);
    expect_stats(f, w.ds[0], (Stats){5, 100 * S, 400 * S, 90 * S, 500 * S, tie[0].id});
}

/* 130 rows through store_insert_many: two multi-row INSERTs of 64 and two
 * single ones, for two streams in one statement; ids ascend in row order
 * and the statistics come out as they do row by row. */
#define MANY 130

static int64_t many_phen(int i)
{
    return (i == 77 || i == 101) ? 1000 * S : (i * 37) % 500 * S; /* two equal maxima */
}

typedef struct ManyJob {
    World *w;
    int64_t ids[MANY];
} ManyJob;

static int many_job(StoreConn *c, void *data, Err *err)
{
    ManyJob *j = data;
    const EntityDef *def = model_entity(ENT_OBSERVATION);
    static StoreValue vals[MANY][32];
    const StoreValue *rows[MANY];
    bool set[32] = {false};
    const char *cols[] = {"datastream_id", "feature_id", "phen_start", "phen_end",
                          "result_time", "result", "result_type"};
    for (size_t k = 0; k < COUNT(cols); k++)
        set[slot_of(def, cols[k])] = true;
    for (int i = 0; i < MANY; i++) {
        StoreValue *v = vals[i];
        memset(v, 0, sizeof vals[i]);
        v[slot_of(def, "datastream_id")] = INT(i % 2 ? j->w->ds[1] : j->w->ds[0]);
        v[slot_of(def, "feature_id")] = INT(j->w->foi);
        v[slot_of(def, "phen_start")] = INT(many_phen(i));
        v[slot_of(def, "phen_end")] = i == 40 ? INT(2000 * S) : NUL;
        v[slot_of(def, "result_time")] = i == 3 || i == 9 ? INT((int64_t)i * S) : NUL;
        v[slot_of(def, "result")] = REAL(i);
        v[slot_of(def, "result_type")] = INT(1);
        rows[i] = v;
    }
    return store_insert_many(c, def, rows, set, MANY, j->ids, err);
}

static void test_insert_many(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ManyJob j = {&w, {0}};
    Err err;
    err_init(&err);
    int rc = store_run(f->s, many_job, &j, &err);
    if (rc)
        print_error("insert_many: %s\n", err.msg);
    assert_int_equal(rc, 0);
    for (int i = 1; i < MANY; i++)
        assert_true(j.ids[i] > j.ids[i - 1]);
    /* Each id is its row's: row 40 alone has a phenomenonTime interval. */
    assert_int_equal(q1(f, "SELECT count(*) FROM observations WHERE phen_end IS NOT NULL AND id = ?",
                        j.ids[40]), 1);
    /* What the row-by-row trigger would give, computed here. */
    for (int d = 0; d < 2; d++) {
        Stats want = {0, NONE, NONE, NONE, NONE, NONE};
        int64_t last_phen = NONE;
        for (int i = d; i < MANY; i += 2) {
            int64_t p = many_phen(i), e = i == 40 ? 2000 * S : p;
            int64_t r = i == 3 || i == 9 ? (int64_t)i * S : NONE;
            want.count++;
            want.pstart = want.pstart == NONE || p < want.pstart ? p : want.pstart;
            want.pend = want.pend == NONE || e > want.pend ? e : want.pend;
            if (r != NONE) {
                want.rstart = want.rstart == NONE || r < want.rstart ? r : want.rstart;
                want.rend = want.rend == NONE || r > want.rend ? r : want.rend;
            }
            if (last_phen == NONE || p >= last_phen) {
                last_phen = p;
                want.last = j.ids[i];
            }
        }
        expect_stats(f, w.ds[d], want);
    }
    assert_int_equal(stats(f, w.ds[1]).last, j.ids[101]); /* the later of two equal maxima */
}

/*
 * PostgreSQL only: the rules a Citus cluster sets for distributing
 * observations by stream_id (docs/scaling.md, step 4), checked in the
 * catalog of the migrated database, and stream_id as each write path
 * leaves it: store_insert and store_insert_many with a Datastream or a
 * MultiDatastream, store_insert_id (klammer import), store_update moving
 * an Observation to another Datastream.
 */
typedef struct StreamJob {
    World *w;
    int64_t mds, one_ds, one_mds, moved, to_mds, restored;
    int64_t ids[MANY];
} StreamJob;

static int stream_job(StoreConn *c, void *data, Err *err)
{
    StreamJob *j = data;
    const EntityDef *def = model_entity(ENT_OBSERVATION);
    int rc;
    if ((rc = INSERT(c, ENT_MULTI_DATASTREAM, &j->mds, err, {"name", TXT("md")},
                     {"description", TXT("d")}, {"observation_type", TXT("complex")},
                     {"unit_of_measurements", TXT("[{}]")},
                     {"multi_observation_data_types", TXT("[\"" OM "\"]")},
                     {"thing_id", INT(j->w->thing[0])}, {"sensor_id", INT(j->w->sensor)})))
        return rc;
    if ((rc = ins_obs(c, j->w->ds[0], j->w->foi, 1 * S, -1, -1, 1, &j->one_ds, err)) ||
        (rc = INSERT(c, ENT_OBSERVATION, &j->one_mds, err, {"multi_datastream_id", INT(j->mds)},
                     {"feature_id", INT(j->w->foi)}, {"phen_start", INT(2 * S)},
                     {"result", TXT("[1]")}, {"result_type", INT(4)})) ||
        (rc = ins_obs(c, j->w->ds[0], j->w->foi, 3 * S, -1, -1, 3, &j->moved, err)) ||
        (rc = ins_obs(c, j->w->ds[0], j->w->foi, 4 * S, -1, -1, 4, &j->to_mds, err)))
        return rc;
    /* Both stream columns set, one NULL per row: rows of either kind in one INSERT. */
    static StoreValue vals[MANY][32];
    const StoreValue *rows[MANY];
    bool set[32] = {false};
    int ds = slot_of(def, "datastream_id"), md = slot_of(def, "multi_datastream_id");
    int foi = slot_of(def, "feature_id"), ps = slot_of(def, "phen_start");
    int res = slot_of(def, "result"), rt = slot_of(def, "result_type");
    set[ds] = set[md] = set[foi] = set[ps] = set[res] = set[rt] = true;
    for (int i = 0; i < MANY; i++) {
        StoreValue *v = vals[i];
        memset(v, 0, sizeof vals[i]);
        v[ds] = i % 2 ? NUL : INT(j->w->ds[1]);
        v[md] = i % 2 ? INT(j->mds) : NUL;
        v[foi] = INT(j->w->foi);
        v[ps] = INT((10 + i) * S);
        v[res] = TXT("[2]");
        v[rt] = INT(4);
        rows[i] = v;
    }
    if ((rc = store_insert_many(c, def, rows, set, MANY, j->ids, err)))
        return rc;
    /* A restored Observation of the MultiDatastream under a chosen id. */
    StoreValue one[32];
    bool one_set[32] = {false};
    memset(one, 0, sizeof one);
    j->restored = 1000000;
    one[0] = INT(j->restored);
    one[md] = INT(j->mds);
    one[foi] = INT(j->w->foi);
    one[ps] = INT(5 * S);
    one[res] = TXT("[3]");
    one[rt] = INT(4);
    one_set[0] = one_set[md] = one_set[foi] = one_set[ps] = one_set[res] = one_set[rt] = true;
    if ((rc = store_insert_id(c, def, one, one_set, err)))
        return rc;
    /* Another Datastream for an Observation (PATCH). */
    StoreValue upd_vals[32];
    bool upd_set[32] = {false};
    memset(upd_vals, 0, sizeof upd_vals);
    upd_vals[ds] = INT(j->w->ds[2]);
    upd_set[ds] = true;
    if ((rc = store_update(c, def, j->moved, upd_vals, upd_set, err)))
        return rc;
    /* From a Datastream to the MultiDatastream: both stream columns in one UPDATE. */
    upd_vals[ds] = NUL;
    upd_vals[md] = INT(j->mds);
    upd_vals[res] = TXT("[4]");
    upd_vals[rt] = INT(4);
    upd_set[md] = upd_set[res] = upd_set[rt] = true;
    return store_update(c, def, j->to_mds, upd_vals, upd_set, err);
}

/* Restores an Observation of ds[0] under the id one of the MultiDatastream has. */
static int dup_job(StoreConn *c, void *data, Err *err)
{
    StreamJob *j = data;
    const EntityDef *def = model_entity(ENT_OBSERVATION);
    StoreValue v[32];
    bool set[32] = {false};
    memset(v, 0, sizeof v);
    const char *cols[] = {"id", "datastream_id", "feature_id", "phen_start", "result",
                          "result_type"};
    StoreValue vals[] = {INT(j->restored), INT(j->w->ds[0]), INT(j->w->foi), INT(6 * S),
                         TXT("1"), INT(1)};
    for (size_t i = 0; i < COUNT(cols); i++) {
        v[slot_of(def, cols[i])] = vals[i];
        set[slot_of(def, cols[i])] = true;
    }
    return store_insert_id(c, def, v, set, err);
}

static void test_pg_stream_key(void **state)
{
    Fx *f = *state;
    if (!f->pgdb[0])
        skip();
    /* The catalog: every unique key contains stream_id, which is NOT NULL. */
#define STREAM_ATT                                                                          \
    "(SELECT attnum FROM pg_attribute WHERE attrelid = 'observations'::regclass"            \
    " AND attname = 'stream_id')"
    assert_int_equal(q1(f, "SELECT count(*) FROM pg_attribute WHERE attrelid ="
                           " 'observations'::regclass AND attname = 'stream_id' AND attnotnull"
                           " AND atttypid = 'bigint'::regtype", 0), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM pg_constraint WHERE conrelid ="
                           " 'observations'::regclass AND contype = 'p'"
                           " AND conkey = ARRAY[" STREAM_ATT ","
                           " (SELECT attnum FROM pg_attribute WHERE attrelid ="
                           " 'observations'::regclass AND attname = 'id')]::int2[]", 0), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM pg_constraint WHERE conrelid ="
                           " 'observations'::regclass AND contype IN ('p', 'u', 'x')"
                           " AND NOT conkey @> ARRAY[" STREAM_ATT "]::int2[]", 0), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM pg_index WHERE indrelid ="
                           " 'observations'::regclass AND indisunique"
                           " AND NOT " STREAM_ATT " = ANY (indkey::int2[])", 0), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM pg_index WHERE indrelid ="
                           " 'observations'::regclass AND indisunique", 0), 1);
    /* Look-ups by id alone keep an index that starts with id. */
    assert_int_equal(q1(f, "SELECT count(*) FROM pg_index WHERE indrelid ="
                           " 'observations'::regclass AND indkey[0] = (SELECT attnum FROM"
                           " pg_attribute WHERE attrelid = 'observations'::regclass AND"
                           " attname = 'id')", 0), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM pg_constraint WHERE contype = 'f'",
                        0), 0);
#undef STREAM_ATT

    /* Every write path fills it with the row's stream. */
    World w = make_world(f);
    StreamJob j = {.w = &w};
    Err err;
    err_init(&err);
    int rc = store_run(f->s, stream_job, &j, &err);
    if (rc)
        print_error("stream: %s\n", err.msg);
    assert_int_equal(rc, 0);
    const char *sid = "SELECT stream_id FROM observations WHERE id = ?1";
    assert_int_equal(q1(f, sid, j.one_ds), w.ds[0]);
    assert_int_equal(q1(f, sid, j.one_mds), j.mds);
    assert_int_equal(q1(f, sid, j.moved), w.ds[2]);
    assert_int_equal(q1(f, sid, j.to_mds), j.mds);
    assert_int_equal(q1(f, sid, j.restored), j.mds);
    for (int i = 0; i < MANY; i++)
        assert_int_equal(q1(f, sid, j.ids[i]), i % 2 ? j.mds : w.ds[1]);
    assert_int_equal(q1(f, "SELECT count(*) FROM observations WHERE stream_id IS DISTINCT FROM"
                           " coalesce(datastream_id, multi_datastream_id)", 0), 0);
    /* Ids stay unique across streams without a unique index on id alone. */
    err_init(&err);
    assert_int_equal(store_run(f->s, dup_job, &j, &err), ERR_CONFLICT);
    assert_non_null(strstr(err.msg, "exists already"));
    assert_int_equal(q1(f, "SELECT count(*) FROM observations WHERE id = ?1", j.restored), 1);
    /* The statistics still follow the move. */
    assert_int_equal(stats(f, w.ds[2]).count, 1);
    assert_int_equal(stats(f, w.ds[0]).count, 1);
    assert_int_equal(q1(f, "SELECT obs_count FROM multi_datastreams WHERE id = ?1", j.mds),
                     MANY / 2 + 3);
}

static void pg_quiet(void *data, const char *msg)
{
    (void)data;
    (void)msg;
}

/* Runs sql on the database at url; the first row's first value, if any, goes to out. */
static void pg_run(const char *url, const char *sql, char *out, size_t n)
{
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQsetNoticeProcessor(c, pg_quiet, NULL); /* PostGIS "already exists" */
    PGresult *r = PQexec(c, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
        print_error("%.80s: %s\n", sql, PQerrorMessage(c));
    assert_true(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK);
    if (out)
        snprintf(out, n, "%s", st == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
    PQclear(r);
    PQfinish(c);
}

/*
 * PostgreSQL only: migration 6 on a database of schema version 5 that has
 * Observations of a Datastream and of a MultiDatastream fills stream_id
 * from them and puts it into the primary key.
 */
static void test_pg_migrate_stream_key(void **state)
{
    Fx *f = *state;
    if (!f->pgdb[0])
        skip();
    char db[80], url[600], sql[128], v[64];
    snprintf(db, sizeof db, "%s_v5", f->pgdb);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", db);
    pg_admin(sql);
    const char *slash = strrchr(f->path, '/');
    snprintf(url, sizeof url, "%.*s/%s", (int)(slash - f->path), f->path, db);
    for (int i = 1; i <= 5; i++)
        pg_run(url, store_pg_migration(i), NULL, 0);
    pg_run(url, "CREATE TABLE klammer_schema(version INTEGER NOT NULL);"
                "INSERT INTO klammer_schema VALUES(5);"
                "INSERT INTO observations(id, datastream_id, feature_id, phen_start, result,"
                " result_type) VALUES(1, 7, 1, 0, '1', 1), (2, 7, 1, 1, '2', 1);"
                "INSERT INTO observations(id, multi_datastream_id, feature_id, phen_start,"
                " result, result_type) VALUES(3, 9, 1, 0, '[1]', 4)",
           NULL, 0);
    StoreConfig cfg = {url, 1, 64, false};
    Store *s = NULL;
    Err err;
    err_init(&err);
    if (store_open(&cfg, &s, &err))
        print_error("store_open: %s\n", err.msg);
    assert_non_null(s);
    store_close(s);
    pg_run(url, "SELECT version FROM klammer_schema", v, sizeof v);
    assert_string_equal(v, "6");
    pg_run(url, "SELECT string_agg(id || ':' || stream_id, ',' ORDER BY id) FROM observations",
           v, sizeof v);
    assert_string_equal(v, "1:7,2:7,3:9");
    pg_run(url, "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
                " WHERE conrelid = 'observations'::regclass AND contype = 'p'",
           v, sizeof v);
    assert_string_equal(v, "PRIMARY KEY (stream_id, id)");
    snprintf(sql, sizeof sql, "DROP DATABASE %s", db);
    pg_admin(sql);
}

static void test_stats_delete(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {
        {0, 100 * S, -1, 110 * S, 0},
        {0, 300 * S, -1, 600 * S, 0},
        {0, 200 * S, -1, 90 * S, 0},
        {0, 150 * S, 400 * S, -1, 0},
    };
    add_obs(f, &w, o, COUNT(o));
    expect_stats(f, w.ds[0], (Stats){4, 100 * S, 400 * S, 90 * S, 600 * S, o[1].id});
    /* The latest goes: the next latest by phenomenonTime takes over. */
    assert_int_equal(del(f, ENT_OBSERVATION, o[1].id), 0);
    expect_stats(f, w.ds[0], (Stats){3, 100 * S, 400 * S, 90 * S, 110 * S, o[2].id});
    /* An inner one: only the count moves. */
    assert_int_equal(del(f, ENT_OBSERVATION, o[3].id), 0);
    expect_stats(f, w.ds[0], (Stats){2, 100 * S, 200 * S, 90 * S, 110 * S, o[2].id});
    /* The earliest. */
    assert_int_equal(del(f, ENT_OBSERVATION, o[0].id), 0);
    expect_stats(f, w.ds[0], (Stats){1, 200 * S, 200 * S, 90 * S, 90 * S, o[2].id});
    assert_int_equal(del(f, ENT_OBSERVATION, o[2].id), 0);
    expect_stats(f, w.ds[0], (Stats){0, NONE, NONE, NONE, NONE, NONE});
    /* Deleting again: not found, and nothing changes. */
    assert_int_equal(del(f, ENT_OBSERVATION, o[2].id), ERR_NOT_FOUND);
    expect_stats(f, w.ds[0], (Stats){0, NONE, NONE, NONE, NONE, NONE});
}

static void test_stats_update(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {
        {0, 100 * S, -1, -1, 0},
        {0, 200 * S, -1, -1, 0},
        {0, 300 * S, -1, -1, 0},
    };
    add_obs(f, &w, o, COUNT(o));
    expect_stats(f, w.ds[0], (Stats){3, 100 * S, 300 * S, NONE, NONE, o[2].id});
    /* The earliest moves past the latest. */
    upd(f, ENT_OBSERVATION, o[0].id, "phen_start", INT(400 * S));
    expect_stats(f, w.ds[0], (Stats){3, 200 * S, 400 * S, NONE, NONE, o[0].id});
    /* The latest moves back before all others. */
    upd(f, ENT_OBSERVATION, o[0].id, "phen_start", INT(50 * S));
    expect_stats(f, w.ds[0], (Stats){3, 50 * S, 300 * S, NONE, NONE, o[2].id});
    /* An interval end extends the extent; removing it shrinks it back. */
    upd(f, ENT_OBSERVATION, o[1].id, "phen_end", INT(900 * S));
    expect_stats(f, w.ds[0], (Stats){3, 50 * S, 900 * S, NONE, NONE, o[2].id});
    upd(f, ENT_OBSERVATION, o[1].id, "phen_end", NUL);
    expect_stats(f, w.ds[0], (Stats){3, 50 * S, 300 * S, NONE, NONE, o[2].id});
    /* A resultTime appears. */
    upd(f, ENT_OBSERVATION, o[1].id, "result_time", INT(700 * S));
    expect_stats(f, w.ds[0], (Stats){3, 50 * S, 300 * S, 700 * S, 700 * S, o[2].id});
    /* The latest moves to another stream: both streams follow. */
    upd(f, ENT_OBSERVATION, o[2].id, "datastream_id", INT(w.ds[1]));
    expect_stats(f, w.ds[0], (Stats){2, 50 * S, 200 * S, 700 * S, 700 * S, o[1].id});
    expect_stats(f, w.ds[1], (Stats){1, 300 * S, 300 * S, NONE, NONE, o[2].id});
    /* The side connection agrees with the triggers' count. */
    assert_int_equal(q1(f, "SELECT count(*) FROM observations WHERE datastream_id = ?", w.ds[0]),
                     2);
}

/* ========================================================================== */
/* Reads                                                                      */
/* ========================================================================== */

static const QueryLimits LIM = {100, 1000};

/* Parses "k=v&k=v" options for def into o (arena-owned). */
static void opts(Arena *a, EntityType t, const char *query, QueryOptions *o)
{
    QueryParam p[8];
    size_t n = 0;
    char *q = arena_strdup(a, query);
    for (char *save = NULL, *tok = *q ? strtok_r(q, "&", &save) : NULL; tok && n < 8;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        *eq = '\0';
        p[n++] = (QueryParam){tok, eq + 1};
    }
    QueryParam *kept = arena_alloc(a, sizeof p);
    memcpy(kept, p, sizeof p);
    Err err;
    err_init(&err);
    if (query_parse_options(a, model_entity(t), kept, n, &LIM, o, &err))
        fail_msg("options '%s': %s", query, err.msg);
}

/* Resolves path and reads it with the given options. */
static int read_path(Fx *f, Arena *a, const char *path, const char *query, StoreRowSet **out,
                     Err *err)
{
    ResourcePath rp;
    if (query_parse_path(path, &rp, err))
        fail_msg("path '%s': %s", path, err->msg);
    QueryOptions o;
    opts(a, rp.segs[rp.nsegs - 1].def->type, query, &o);
    StoreConn *c;
    StoreScope sc;
    assert_int_equal(store_read_begin(f->s, &c, err), 0);
    int rc = store_resolve(c, &rp, rp.nsegs, &sc, err);
    if (!rc)
        rc = store_read(c, a, &sc, &o, out, err);
    store_read_end(f->s, c);
    return rc;
}

static StoreRowSet *must_read(Fx *f, Arena *a, const char *path, const char *query)
{
    StoreRowSet *rs = NULL;
    Err err;
    err_init(&err);
    int rc = read_path(f, a, path, query, &rs, &err);
    if (rc)
        print_error("read %s?%s: %s\n", path, query, err.msg);
    assert_int_equal(rc, 0);
    assert_non_null(rs);
    return rs;
}

static void test_expand_latest(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {
        {0, 100 * S, -1, -1, 0}, {0, 300 * S, -1, -1, 0}, {0, 200 * S, -1, -1, 0},
        {1, 500 * S, -1, -1, 0}, {1, 400 * S, -1, -1, 0},
    };
    add_obs(f, &w, o, COUNT(o));
    Arena a;
    arena_init(&a, 0);
    /* The shortcut through last_obs_id, and the general query, agree. */
    const char *queries[] = {
        "$expand=Observations($top=1;$orderby=phenomenonTime desc)",
        "$expand=Observations($top=1;$orderby=phenomenonTime desc,id desc)",
        "$expand=Observations($top=1;$orderby=phenomenonTime desc;$count=true)",
    };
    for (size_t q = 0; q < COUNT(queries); q++) {
        StoreRowSet *rs = must_read(f, &a, "/Datastreams", queries[q]);
        assert_int_equal(rs->n, 3);
        int64_t want[3] = {o[1].id, o[3].id, -1};
        for (size_t i = 0; i < 3; i++) {
            assert_int_equal(rs->rows[i].cols[0].i, w.ds[i]);
            StoreRowSet *ex = rs->rows[i].expanded[0];
            assert_non_null(ex);
            assert_ptr_equal(ex->def, model_entity(ENT_OBSERVATION));
            if (want[i] < 0) {
                assert_int_equal(ex->n, 0);
                assert_false(ex->more);
            } else {
                assert_int_equal(ex->n, 1);
                assert_int_equal(ex->rows[0].cols[0].i, want[i]);
                assert_true(ex->more);
            }
            if (q == 2)
                assert_int_equal(ex->count, i == 0 ? 3 : i == 1 ? 2 : 0);
            else
                assert_int_equal(ex->count, -1);
        }
    }
    /* The same below one Datastream: /Datastreams(1)/Observations?$top=1&... */
    char path[64];
    snprintf(path, sizeof path, "/Datastreams(%lld)/Observations", (long long)w.ds[0]);
    StoreRowSet *rs = must_read(f, &a, path, "$top=1&$orderby=phenomenonTime desc");
    assert_int_equal(rs->n, 1);
    assert_int_equal(rs->rows[0].cols[0].i, o[1].id);
    assert_true(rs->more);
    /* After deleting the latest, the next one is served. */
    assert_int_equal(del(f, ENT_OBSERVATION, o[1].id), 0);
    rs = must_read(f, &a, "/Datastreams", queries[0]);
    assert_int_equal(rs->rows[0].expanded[0]->rows[0].cols[0].i, o[2].id);
    arena_fini(&a);
}

/*
 * BUG (unit-findings.md "store: latest observation on equal phenomenonTime"):
 * when an older observation is moved to the same phenomenonTime as the
 * latest, the insert/update trigger makes it last_obs_id (">=") although
 * the general order (phenomenonTime desc, id desc) and the delete trigger
 * pick the higher id; the shortcut and the general query then disagree.
 */
static void test_bug_latest_tie_after_update(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {{0, 100 * S, -1, -1, 0}, {0, 300 * S, -1, -1, 0}};
    add_obs(f, &w, o, COUNT(o));
    upd(f, ENT_OBSERVATION, o[0].id, "phen_start", INT(300 * S));
    Arena a;
    arena_init(&a, 0);
    StoreRowSet *fast =
        must_read(f, &a, "/Datastreams", "$expand=Observations($top=1;$orderby=phenomenonTime desc)");
    StoreRowSet *slow = must_read(
        f, &a, "/Datastreams", "$expand=Observations($top=1;$orderby=phenomenonTime desc,id desc)");
    int64_t a_id = fast->rows[0].expanded[0]->rows[0].cols[0].i;
    int64_t b_id = slow->rows[0].expanded[0]->rows[0].cols[0].i;
    arena_fini(&a);
    if (a_id != b_id)
        print_error("shortcut gives %lld, general query %lld\n", (long long)a_id,
                    (long long)b_id);
    assert_int_equal(a_id, b_id);
}

static void test_paging(void **state)
{
    Fx *f = *state;
    World w = make_world(f); /* two Things */
    (void)w;
    Arena a;
    arena_init(&a, 0);
    StoreRowSet *rs = must_read(f, &a, "/Things", "$top=1");
    assert_int_equal(rs->n, 1);
    assert_true(rs->more);
    assert_int_equal(rs->count, -1);
    rs = must_read(f, &a, "/Things", "$top=2&$count=true");
    assert_int_equal(rs->n, 2);
    assert_false(rs->more);
    assert_int_equal(rs->count, 2);
    rs = must_read(f, &a, "/Things", "$top=1&$skip=1");
    assert_int_equal(rs->n, 1);
    assert_false(rs->more);
    assert_int_equal(rs->rows[0].cols[0].i, w.thing[1]);
    rs = must_read(f, &a, "/Things", "$skip=5&$count=true");
    assert_int_equal(rs->n, 0);
    assert_false(rs->more);
    assert_int_equal(rs->count, 2);
    rs = must_read(f, &a, "/Things", "$top=0");
    assert_int_equal(rs->n, 0);
    assert_true(rs->more);
    rs = must_read(f, &a, "/Things", "$orderby=id desc");
    assert_int_equal(rs->n, 2);
    assert_int_equal(rs->rows[0].cols[0].i, w.thing[1]);

    /* Observations of one stream, page by page, in time order. */
    ObsSpec o[7];
    for (int i = 0; i < 7; i++)
        o[i] = (ObsSpec){0, (int64_t)(70 - 10 * i) * S, -1, -1, 0};
    add_obs(f, &w, o, 7);
    char path[64];
    snprintf(path, sizeof path, "/Datastreams(%lld)/Observations", (long long)w.ds[0]);
    int64_t prev = INT64_MIN;
    size_t seen = 0;
    for (int skip = 0; skip < 10; skip += 3) {
        char q[64];
        snprintf(q, sizeof q, "$top=3&$skip=%d&$count=true", skip);
        rs = must_read(f, &a, path, q);
        assert_int_equal(rs->count, 7);
        assert_int_equal(rs->more, skip + 3 < 7);
        for (size_t i = 0; i < rs->n; i++) {
            int64_t t = rs->rows[i].cols[slot_of(rs->def, "phen_start")].i;
            assert_true(t > prev);
            prev = t;
            seen++;
        }
    }
    assert_int_equal(seen, 7);

    /* An expanded page per parent. */
    rs = must_read(f, &a, "/Things", "$expand=Datastreams($top=1)");
    assert_int_equal(rs->n, 2);
    assert_int_equal(rs->rows[0].expanded[0]->n, 1);
    assert_true(rs->rows[0].expanded[0]->more); /* t1 has two */
    assert_int_equal(rs->rows[1].expanded[0]->n, 1);
    assert_false(rs->rows[1].expanded[0]->more);
    rs = must_read(f, &a, "/Things", "$expand=Datastreams($top=1;$skip=1)");
    assert_int_equal(rs->rows[0].expanded[0]->n, 1);
    assert_int_equal(rs->rows[0].expanded[0]->rows[0].cols[0].i, w.ds[1]);
    assert_false(rs->rows[0].expanded[0]->more);
    assert_int_equal(rs->rows[1].expanded[0]->n, 0);
    arena_fini(&a);
}

static void test_counts_and_expand(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {{0, 1 * S, -1, -1, 0}, {0, 2 * S, -1, -1, 0}, {0, 3 * S, -1, -1, 0},
                   {2, 4 * S, -1, -1, 0}};
    add_obs(f, &w, o, COUNT(o));
    Arena a;
    arena_init(&a, 0);
    StoreRowSet *rs = must_read(f, &a, "/Things",
                                "$expand=Datastreams($count=true;$expand=Observations($count=true;"
                                "$top=2),Sensor),Locations($count=true)");
    assert_int_equal(rs->n, 2);
    StoreRowSet *d0 = rs->rows[0].expanded[0], *d1 = rs->rows[1].expanded[0];
    assert_int_equal(d0->count, 2);
    assert_int_equal(d1->count, 1);
    assert_int_equal(d0->n, 2);
    /* Nested: observations per datastream, with their own counts and pages. */
    assert_int_equal(d0->rows[0].expanded[0]->count, 3);
    assert_int_equal(d0->rows[0].expanded[0]->n, 2);
    assert_true(d0->rows[0].expanded[0]->more);
    assert_int_equal(d0->rows[1].expanded[0]->count, 0);
    assert_int_equal(d0->rows[1].expanded[0]->n, 0);
    assert_int_equal(d1->rows[0].expanded[0]->count, 1);
    assert_false(d1->rows[0].expanded[0]->more);
    /* To-one expansion: the Sensor of each. */
    assert_int_equal(d0->rows[0].expanded[1]->n, 1);
    assert_int_equal(d0->rows[0].expanded[1]->rows[0].cols[0].i, w.sensor);
    assert_int_equal(d1->rows[0].expanded[1]->rows[0].cols[0].i, w.sensor);
    /* Link relation counts. */
    assert_int_equal(rs->rows[0].expanded[1]->count, 1);
    assert_int_equal(rs->rows[0].expanded[1]->n, 1);
    assert_int_equal(rs->rows[0].expanded[1]->rows[0].cols[0].i, w.loc);
    assert_int_equal(rs->rows[1].expanded[1]->count, 0);

    /* Resolve: to-one navigation and membership. */
    char path[80];
    snprintf(path, sizeof path, "/Datastreams(%lld)/Thing", (long long)w.ds[2]);
    rs = must_read(f, &a, path, "");
    assert_int_equal(rs->n, 1);
    assert_int_equal(rs->rows[0].cols[0].i, w.thing[1]);
    snprintf(path, sizeof path, "/Things(%lld)/Datastreams(%lld)", (long long)w.thing[1],
             (long long)w.ds[0]);
    Err err;
    err_init(&err);
    StoreRowSet *none = NULL;
    assert_int_equal(read_path(f, &a, path, "", &none, &err), ERR_NOT_FOUND);
    err_init(&err);
    assert_int_equal(read_path(f, &a, "/Things(999)/Datastreams", "", &none, &err),
                     ERR_NOT_FOUND);
    err_init(&err);
    assert_int_equal(read_path(f, &a, "/Things(999)", "", &none, &err), ERR_NOT_FOUND);
    snprintf(path, sizeof path, "/Locations(%lld)/Things", (long long)w.loc);
    rs = must_read(f, &a, path, "$count=true");
    assert_int_equal(rs->n, 1);
    assert_int_equal(rs->count, 1);
    assert_int_equal(rs->rows[0].cols[0].i, w.thing[0]);
    arena_fini(&a);
}

/* A small arena cap makes reads fail with ERR_TOO_LARGE, never crash. */
static void test_read_arena_cap(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {{0, 1 * S, -1, -1, 0}, {0, 2 * S, -1, -1, 0}, {2, 4 * S, -1, -1, 0}};
    add_obs(f, &w, o, COUNT(o));
    const char *q = "$expand=Datastreams($expand=Observations,Sensor),Locations";
    Arena big;
    arena_init(&big, 0);
    QueryOptions op;
    opts(&big, ENT_THING, q, &op);
    size_t cap;
    for (cap = 64; cap < 1 << 20; cap += 64) {
        Arena a;
        arena_init(&a, cap);
        StoreConn *c;
        Err err;
        err_init(&err);
        assert_int_equal(store_read_begin(f->s, &c, &err), 0);
        StoreScope sc = {model_entity(ENT_THING), false, 0, NULL, NULL, 0, false};
        StoreRowSet *rs;
        int rc = store_read(c, &a, &sc, &op, &rs, &err);
        store_read_end(f->s, c);
        assert_true(a.used <= cap);
        arena_fini(&a);
        if (rc == 0)
            break;
        assert_int_equal(rc, ERR_TOO_LARGE);
        assert_int_equal(err.code, ERR_TOO_LARGE);
    }
    assert_true(cap < 1 << 20);
    arena_fini(&big);
}

/* ========================================================================== */
/* Deletes                                                                    */
/* ========================================================================== */

static void test_delete_cascade(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {{0, 1 * S, -1, -1, 0}, {1, 2 * S, -1, -1, 0}, {2, 3 * S, -1, -1, 0}};
    add_obs(f, &w, o, COUNT(o));
    assert_int_equal(q1(f, "SELECT count(*) FROM location_historical_locations", 0), 1);
    assert_int_equal(del(f, ENT_THING, w.thing[0]), 0);
    /* Gone: the Thing, its Datastreams and their Observations, its HistoricalLocations. */
    assert_int_equal(q1(f, "SELECT count(*) FROM things WHERE id = ?", w.thing[0]), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM datastreams WHERE thing_id = ?", w.thing[0]), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM observations WHERE id = ?", o[0].id), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM observations WHERE id = ?", o[1].id), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM historical_locations WHERE thing_id = ?",
                        w.thing[0]),
                     0);
    assert_int_equal(q1(f, "SELECT count(*) FROM location_historical_locations", 0), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM thing_locations WHERE thing_id = ?",
                        w.thing[0]),
                     0);
    /* Kept: Location, Sensor, ObservedProperty, FeatureOfInterest, the other Thing's data. */
    assert_int_equal(q1(f, "SELECT count(*) FROM locations WHERE id = ?", w.loc), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM sensors WHERE id = ?", w.sensor), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM observed_properties WHERE id = ?", w.op), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM features WHERE id = ?", w.foi), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM datastreams WHERE id = ?", w.ds[2]), 1);
    assert_int_equal(q1(f, "SELECT count(*) FROM observations WHERE id = ?", o[2].id), 1);
    expect_stats(f, w.ds[2], (Stats){1, 3 * S, 3 * S, NONE, NONE, o[2].id});
    assert_int_equal(del(f, ENT_THING, w.thing[0]), ERR_NOT_FOUND);

    /* A Sensor takes its Datastreams along. */
    assert_int_equal(del(f, ENT_SENSOR, w.sensor), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM datastreams", 0), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM observations", 0), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM things WHERE id = ?", w.thing[1]), 1);

    /* A Location takes the HistoricalLocations that pointed only at it. */
    assert_int_equal(del(f, ENT_LOCATION, w.loc), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM locations", 0), 0);
}

static void test_delete_feature(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    ObsSpec o[] = {{0, 1 * S, -1, -1, 0}, {0, 2 * S, -1, -1, 0}};
    add_obs(f, &w, o, COUNT(o));
    assert_int_equal(del(f, ENT_FEATURE, w.foi), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM observations", 0), 0);
    expect_stats(f, w.ds[0], (Stats){0, NONE, NONE, NONE, NONE, NONE});
    assert_int_equal(q1(f, "SELECT count(*) FROM datastreams", 0), 3);
}

/* ========================================================================== */
/* The writer: batches                                                        */
/* ========================================================================== */

typedef struct Gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool entered, open;
    int done;
} Gate;

/* Holds the writer until the test has queued the batch behind it. */
static int gate_job(StoreConn *c, void *data, Err *err)
{
    (void)c;
    (void)err;
    Gate *g = data;
    pthread_mutex_lock(&g->mu);
    g->entered = true;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->mu);
    pthread_mutex_unlock(&g->mu);
    return 0;
}

typedef struct Named {
    StoreJob job; /* first: done() gets this pointer */
    Gate *gate;
    char name[32];
    bool fail;
    int64_t id;
} Named;

static int named_job(StoreConn *c, void *data, Err *err)
{
    Named *n = data;
    int rc = ins_thing(c, n->name, &n->id, err);
    if (rc)
        return rc;
    if (n->fail) /* after writing: the savepoint must take the row back */
        return err_set(err, ERR_INVALID, "name", "job %s refuses", n->name);
    return 0;
}

static void named_done(StoreJob *job)
{
    Named *n = (Named *)job;
    pthread_mutex_lock(&n->gate->mu);
    n->gate->done++;
    pthread_cond_broadcast(&n->gate->cv);
    pthread_mutex_unlock(&n->gate->mu);
}

typedef struct Submitter {
    Store *s;
    Named *jobs;
    int n;
} Submitter;

static void *submit_thread(void *arg)
{
    Submitter *t = arg;
    for (int i = 0; i < t->n; i++)
        store_submit(t->s, &t->jobs[i].job);
    return NULL;
}

#define THREADS 4
#define PER_THREAD 5

static void test_batch_failure(void **state)
{
    Fx *f = *state;
    Gate g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, false, 0};
    StoreJob gate = {gate_job, NULL, &g, 0, {0}, NULL};
    gate.done = named_done; /* counts like the others */
    Named *jobs = calloc(THREADS * PER_THREAD, sizeof *jobs);
    assert_non_null(jobs);
    /* done() of the gate casts to Named: give it one. */
    Named gate_named;
    memset(&gate_named, 0, sizeof gate_named);
    gate_named.job = gate;
    gate_named.gate = &g;
    store_submit(f->s, &gate_named.job);
    pthread_mutex_lock(&g.mu);
    while (!g.entered)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);

    uint64_t jobs0, commits0;
    store_writer_stats(f->s, &jobs0, &commits0);
    for (int i = 0; i < THREADS * PER_THREAD; i++) {
        Named *n = &jobs[i];
        n->gate = &g;
        snprintf(n->name, sizeof n->name, "job-%d", i);
        n->fail = i % 7 == 3; /* jobs 3, 10 and 17 fail */
        n->job.fn = named_job;
        n->job.done = named_done;
        n->job.data = n;
    }
    pthread_t th[THREADS];
    Submitter sub[THREADS];
    for (int t = 0; t < THREADS; t++) {
        sub[t] = (Submitter){f->s, jobs + t * PER_THREAD, PER_THREAD};
        assert_int_equal(pthread_create(&th[t], NULL, submit_thread, &sub[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_mutex_lock(&g.mu);
    g.open = true;
    pthread_cond_broadcast(&g.cv);
    while (g.done < THREADS * PER_THREAD + 1)
        pthread_cond_wait(&g.cv, &g.mu);
    pthread_mutex_unlock(&g.mu);

    assert_int_equal(gate_named.job.rc, 0);
    for (int i = 0; i < THREADS * PER_THREAD; i++) {
        Named *n = &jobs[i];
        char sql[128];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM things WHERE name = 'job-%d'", i);
        if (n->fail) {
            assert_int_equal(n->job.rc, ERR_INVALID);
            assert_int_equal(n->job.err.code, ERR_INVALID);
            assert_non_null(strstr(n->job.err.msg, "refuses"));
            assert_int_equal(q1(f, sql, 0), 0);
        } else {
            assert_int_equal(n->job.rc, 0);
            assert_int_equal(n->job.err.code, 0);
            assert_int_equal(q1(f, sql, 0), 1);
            char idq[96];
            snprintf(idq, sizeof idq, "SELECT count(*) FROM things WHERE name = 'job-%d' AND id = ?",
                     i);
            assert_int_equal(q1(f, idq, n->id), 1);
        }
    }
    /* Everything queued behind the gate went into one transaction. */
    uint64_t jobs1, commits1;
    for (int tries = 0; tries < 100; tries++) { /* the counters move after done() */
        store_writer_stats(f->s, &jobs1, &commits1);
        if (jobs1 >= jobs0 + THREADS * PER_THREAD + 1)
            break;
        usleep(10000);
    }
    assert_int_equal(jobs1 - jobs0, THREADS * PER_THREAD + 1);
    assert_int_equal(commits1 - commits0, 2); /* the gate's own batch, then the rest */
    assert_int_equal(q1(f, "SELECT count(*) FROM things", 0), THREADS * PER_THREAD - 3);
    free(jobs);
}

/* store_run reports a job's error; the write is not visible. */
static int failing_job(StoreConn *c, void *data, Err *err)
{
    (void)data;
    int64_t id;
    int rc = ins_thing(c, "never", &id, err);
    return rc ? rc : ERR_CONFLICT; /* no detail: the writer fills the code in */
}

static void test_run_error(void **state)
{
    Fx *f = *state;
    Err err;
    err_init(&err);
    assert_int_equal(store_run(f->s, failing_job, NULL, &err), ERR_CONFLICT);
    assert_int_equal(err.code, ERR_CONFLICT);
    assert_int_equal(q1(f, "SELECT count(*) FROM things", 0), 0);
    /* The writer goes on with the next job. */
    err_init(&err);
    World w;
    memset(&w, 0, sizeof w);
    assert_int_equal(store_run(f->s, world_job, &w, &err), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM things", 0), 2);
}

static int bad_insert_job(StoreConn *c, void *data, Err *err)
{
    (void)data;
    int64_t id;
    int rc = ins_thing(c, "half", &id, err);
    if (rc)
        return rc;
    return INSERT(c, ENT_THING, &id, err, {"name", TXT("no description")});
}

static void test_storage_error(void **state)
{
    Fx *f = *state;
    Err err;
    err_init(&err);
    assert_int_equal(store_run(f->s, bad_insert_job, NULL, &err), ERR_STORAGE);
    assert_non_null(strcasestr(err.msg, "null")); /* NOT NULL (SQLite), not-null (PostgreSQL) */
    assert_int_equal(q1(f, "SELECT count(*) FROM things", 0), 0);
    /* The writer goes on. */
    make_world(f);
}

/* Reopening an existing file keeps the data and does not migrate again. */
static void test_reopen(void **state)
{
    Fx *f = *state;
    World w = make_world(f);
    int64_t version = schema_version(f);
    assert_true(version >= 1);
    store_close(f->s);
    f->s = NULL;
    StoreConfig cfg = {f->path, 1, 8, true};
    Err err;
    err_init(&err);
    assert_int_equal(store_open(&cfg, &f->s, &err), 0);
    assert_int_equal(q1(f, "SELECT count(*) FROM things", 0), 2);
    assert_int_equal(schema_version(f), version);
    expect_stats(f, w.ds[0], (Stats){0, NONE, NONE, NONE, NONE, NONE});
}

static void test_open_errors(void **state)
{
    (void)state;
    Store *s = NULL;
    Err err;
    err_init(&err);
    StoreConfig cfg = {"/nonexistent-dir/x/y.db", 1, 1, false};
    int rc = store_open(&cfg, &s, &err);
    assert_true(rc == ERR_IO || rc == ERR_STORAGE);
    assert_null(s);
    assert_true(err.msg[0] != '\0');
    /* Nothing listens on port 1 of the loopback interface. */
    err_init(&err);
    cfg.path = "postgresql://klammer@127.0.0.1:1/klammer?connect_timeout=5";
    rc = store_open(&cfg, &s, &err);
    assert_int_equal(rc, ERR_IO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "cannot connect"));
    store_close(NULL);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_stats_insert),
        T(test_insert_many),
        T(test_stats_delete),
        T(test_stats_update),
        T(test_expand_latest),
        T(test_paging),
        T(test_counts_and_expand),
        T(test_read_arena_cap),
        T(test_delete_cascade),
        T(test_delete_feature),
        T(test_batch_failure),
        T(test_run_error),
        T(test_storage_error),
        T(test_reopen),
        cmocka_unit_test(test_open_errors),
        T(test_bug_latest_tie_after_update),
        T(test_pg_stream_key),
        T(test_pg_migrate_stream_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
