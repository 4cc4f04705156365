/*
 * test_ingest_batch.c - unit tests for ingest_uplinks (ingest/pipeline.c)
 * on a real store with a stand-in for the HTTP write path: a batch becomes
 * one CreateObservations request whose uplinks_seen rows are written in the
 * request's own writer job; duplicates within a batch, across batches,
 * after a restart (memory gone, the store remembers) and between threads
 * racing with the same uplinks are stored once; a request failing as a whole
 * is retried uplink by uplink so that only the bad one is dead-lettered; a
 * partly rejected uplink names the field and still counts as seen.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>

#include "ingest/ingest.h"
#include "util/log.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define DS_GONE 999 /* the stand-in answers 400 for a request naming it */
#define DS_BAD 666  /* the stand-in fails each row of it ("error") */

/* ------------------------------------------------- the stand-in write path */

typedef struct Fake {
    Store *store;
    pthread_mutex_t mu;
    int calls;          /* CreateObservations requests */
    int rows;           /* rows in them */
    int64_t next_id;
    int64_t last_ds;       /* Datastream of the last row seen */
    const char *steal_eui; /* another node stores this uplink just before a request's job */
    int64_t steal_fcnt;
} Fake;

static int steal_job(StoreConn *c, void *data, Err *err)
{
    Fake *f = data;
    StoreUplinkSeen u = {f->steal_eui, f->steal_fcnt, 1748927564000000LL + f->steal_fcnt * 1000000};
    bool fresh;
    return store_uplink_seen_claim(c, &u, INGEST_RESET_US, &fresh, err);
}

typedef struct TxRun {
    IngestTxFn tx;
    void *tx_data;
    const int64_t *ids;
    size_t n;
} TxRun;

static int tx_job(StoreConn *c, void *data, Err *err)
{
    TxRun *t = data;
    return t->tx(c, t->tx_data, t->ids, t->n, err);
}

/* Counts the rows of the body; fails them as the Datastream ids say; runs
 * tx in a writer job like the real write path. */
static int fake_create(void *data, const char *path, const char *body, IngestTxFn tx,
                       void *tx_data, int *status, char **resp)
{
    Fake *f = data;
    assert_string_equal(path, "/v1.1/CreateObservations");
    json_error_t je;
    json_t *arr = json_loads(body, 0, &je);
    assert_non_null(arr);
    size_t n = json_array_size(arr);
    int64_t *ids = calloc(n ? n : 1, sizeof *ids);
    bool gone = false;
    pthread_mutex_lock(&f->mu);
    f->calls++;
    f->rows += (int)n;
    for (size_t i = 0; i < n; i++) {
        json_t *g = json_array_get(arr, i);
        json_int_t ds = json_integer_value(json_object_get(json_object_get(g, "Datastream"), "@iot.id"));
        assert_int_equal(json_array_size(json_object_get(g, "dataArray")), 1);
        gone |= ds == DS_GONE;
        f->last_ds = ds;
        ids[i] = ds == DS_BAD ? 0 : ++f->next_id;
    }
    pthread_mutex_unlock(&f->mu);
    json_decref(arr);
    if (gone) {
        *status = 400;
        *resp = strdup("{\"code\":400,\"type\":\"error\",\"message\":\"[0].Datastream: no Datastream with id 999\"}");
        free(ids);
        return 0;
    }
    TxRun t = {tx, tx_data, ids, n};
    Err err;
    err_init(&err);
    if (f->steal_eui) {
        assert_int_equal(store_run(f->store, steal_job, f, &err), 0);
        f->steal_eui = NULL;
    }
    int rc = tx ? store_run(f->store, tx_job, &t, &err) : 0;
    free(ids);
    *status = rc == ERR_CONFLICT ? 409 : rc ? 500 : 201;
    *resp = strdup("[]");
    return 0;
}

/* ------------------------------------------------------------- fixture */

typedef struct Fx {
    char dir[64], path[96];
    Store *store;
    Fake fake;
    Ingest *ing;
} Fx;

static void put_device(Fx *fx, const char *eui, const char *mapping)
{
    StoreDevice d = {.name = "", .decoder = "milesight-em310-udl", .mapping = mapping};
    snprintf(d.dev_eui, sizeof d.dev_eui, "%s", eui);
    Err err;
    err_init(&err);
    assert_int_equal(store_run(fx->store, store_device_put, &d, &err), 0);
}

static int setup(void **state)
{
    log_level = LOG_FATAL;
    Fx *fx = calloc(1, sizeof *fx);
    snprintf(fx->dir, sizeof fx->dir, "/tmp/klammer-ingest-XXXXXX");
    assert_non_null(mkdtemp(fx->dir));
    snprintf(fx->path, sizeof fx->path, "%s/k.db", fx->dir);
    StoreConfig sc = {.path = fx->path, .read_conns = 2, .batch_max = 64, .sync_full = false};
    Err err;
    err_init(&err);
    assert_int_equal(store_open(&sc, &fx->store, &err), 0);
    fx->fake.store = fx->store;
    pthread_mutex_init(&fx->fake.mu, NULL);
    IngestConfig ic = {fx->store, fake_create, &fx->fake};
    fx->ing = ingest_new(&ic);
    put_device(fx, "24E1247100000001", "{\"distance\":{\"datastream\":1,\"unit\":\"mm\"}}");
    put_device(fx, "24E1247100000002", "{\"distance\":{\"datastream\":999,\"unit\":\"mm\"}}");
    put_device(fx, "24E1247100000003", "{\"distance\":{\"datastream\":3,\"unit\":\"mm\"},"
                                       "\"battery\":{\"datastream\":666,\"unit\":\"%\"}}");
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    Fx *fx = *state;
    ingest_free(fx->ing);
    store_close(fx->store);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < COUNT(suffix); i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", fx->path, suffix[i]);
        unlink(p);
    }
    rmdir(fx->dir);
    pthread_mutex_destroy(&fx->fake.mu);
    free(fx);
    return 0;
}

/* ---------------------------------------------------------- the uplinks */

typedef struct Up {
    char topic[128];
    char body[512];
} Up;

/* A ChirpStack uplink of an EM310-UDL (distance 350 mm, battery 90 %). */
static void uplink(Up *u, const char *eui, unsigned f_cnt)
{
    char lower[17];
    for (int i = 0; i < 16; i++)
        lower[i] = (char)(eui[i] | 0x20);
    lower[16] = '\0';
    snprintf(u->topic, sizeof u->topic, "application/a/device/%s/event/up", lower);
    snprintf(u->body, sizeof u->body,
             "{\"time\":\"2025-06-03T05:%02u:%02u.000Z\",\"deviceInfo\":{\"devEui\":\"%s\"},"
             "\"fCnt\":%u,\"fPort\":85,\"data\":\"AXVaA4JeAQQAAA==\"}",
             f_cnt / 60 % 60, f_cnt % 60, lower, f_cnt);
}

static void run(Fx *fx, Up *ups, size_t n, IngestResult *res)
{
    IngestMsg *m = calloc(n, sizeof *m);
    for (size_t i = 0; i < n; i++)
        m[i] = (IngestMsg){NULL, ups[i].topic, ups[i].body, strlen(ups[i].body)};
    assert_int_equal(ingest_uplinks(fx->ing, m, n, 0, res), 0);
    free(m);
}

static size_t outcomes(const IngestResult *res, size_t n, IngestOutcome o)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += res[i].outcome == o;
    return k;
}

/* ---------------------------------------------------------------- tests */

static void test_one_request_then_duplicates(void **state)
{
    Fx *fx = *state;
    Up ups[10];
    IngestResult res[10];
    for (unsigned i = 0; i < 10; i++)
        uplink(&ups[i], "24E1247100000001", i);
    run(fx, ups, 10, res);
    assert_int_equal(outcomes(res, 10, INGEST_STORED), 10);
    assert_int_equal(fx->fake.calls, 1);
    assert_int_equal(fx->fake.rows, 10);
    /* Again: memory knows them. */
    run(fx, ups, 10, res);
    assert_int_equal(outcomes(res, 10, INGEST_DUPLICATE), 10);
    assert_int_equal(fx->fake.calls, 1);
    /* After a restart memory is empty; uplinks_seen, written in the
     * request's transaction, knows them. */
    ingest_free(fx->ing);
    IngestConfig ic = {fx->store, fake_create, &fx->fake};
    fx->ing = ingest_new(&ic);
    run(fx, ups, 10, res);
    assert_int_equal(outcomes(res, 10, INGEST_DUPLICATE), 10);
    assert_int_equal(fx->fake.calls, 1);
}

static void test_twice_in_one_batch(void **state)
{
    Fx *fx = *state;
    Up ups[3];
    IngestResult res[3];
    uplink(&ups[0], "24E1247100000001", 100);
    uplink(&ups[1], "24E1247100000001", 101);
    uplink(&ups[2], "24E1247100000001", 100);
    run(fx, ups, 3, res);
    assert_int_equal(res[0].outcome, INGEST_STORED);
    assert_int_equal(res[1].outcome, INGEST_STORED);
    assert_int_equal(res[2].outcome, INGEST_DUPLICATE);
    assert_int_equal(fx->fake.calls, 1);
    assert_int_equal(fx->fake.rows, 2);
}

static void test_failed_request_is_split(void **state)
{
    Fx *fx = *state;
    Up ups[4];
    IngestResult res[4];
    uplink(&ups[0], "24E1247100000001", 200);
    uplink(&ups[1], "24E1247100000002", 7); /* its Datastream is gone */
    uplink(&ups[2], "24E1247100000001", 201);
    uplink(&ups[3], "24E1247100000001", 202);
    run(fx, ups, 4, res);
    assert_int_equal(res[0].outcome, INGEST_STORED);
    assert_int_equal(res[1].outcome, INGEST_DEAD);
    assert_non_null(strstr(res[1].reason, "HTTP 400"));
    assert_non_null(strstr(res[1].reason, "no Datastream with id 999"));
    assert_true(res[1].dead_letter > 0);
    assert_int_equal(res[2].outcome, INGEST_STORED);
    assert_int_equal(res[3].outcome, INGEST_STORED);
    assert_int_equal(fx->fake.calls, 1 + 4); /* the batch, then each alone */
    /* The dead one was not marked seen: sent again, it is tried again. */
    run(fx, &ups[1], 1, res);
    assert_int_equal(res[0].outcome, INGEST_DEAD);
}

static void test_partly_rejected(void **state)
{
    Fx *fx = *state;
    Up ups[1];
    IngestResult res[1];
    uplink(&ups[0], "24E1247100000003", 5);
    run(fx, ups, 1, res);
    assert_int_equal(res[0].outcome, INGEST_DEAD);
    assert_int_equal(res[0].observations, 1);
    assert_non_null(strstr(res[0].reason, "rejected 1 of 2 values, first field battery (Datastream 666)"));
    /* What was stored counts: the uplink is seen and not stored again. */
    run(fx, ups, 1, res);
    assert_int_equal(res[0].outcome, INGEST_DUPLICATE);
}

/* Another node stores one uplink of the batch while the batch is on its way:
 * the store's uplinks_seen decides, the batch is split, that one is a
 * duplicate and the others are stored. */
static void test_stored_by_another_node(void **state)
{
    Fx *fx = *state;
    Up ups[3];
    IngestResult res[3];
    for (unsigned i = 0; i < 3; i++)
        uplink(&ups[i], "24E1247100000001", 300 + i);
    fx->fake.steal_eui = "24E1247100000001";
    fx->fake.steal_fcnt = 301;
    run(fx, ups, 3, res);
    assert_int_equal(res[0].outcome, INGEST_STORED);
    assert_int_equal(res[1].outcome, INGEST_DUPLICATE);
    assert_int_equal(res[2].outcome, INGEST_STORED);
    assert_int_equal(fx->fake.calls, 1 + 3);
}

/* The parsed device is kept in memory; a registry change is seen at once. */
static void test_registry_change_seen(void **state)
{
    Fx *fx = *state;
    Up ups[1];
    IngestResult res[1];
    uplink(&ups[0], "24E1247100000001", 400);
    run(fx, ups, 1, res);
    assert_int_equal(res[0].outcome, INGEST_STORED);
    assert_int_equal(fx->fake.last_ds, 1);
    StoreDevice d = {.name = "", .decoder = "milesight-em310-udl",
                     .mapping = "{\"distance\":{\"datastream\":5,\"unit\":\"mm\"}}",
                     .replace = true};
    snprintf(d.dev_eui, sizeof d.dev_eui, "24E1247100000001");
    Err err;
    err_init(&err);
    assert_int_equal(store_run(fx->store, store_device_put, &d, &err), 0);
    ingest_devices_changed(fx->ing);
    uplink(&ups[0], "24E1247100000001", 401);
    run(fx, ups, 1, res);
    assert_int_equal(res[0].outcome, INGEST_STORED);
    assert_int_equal(fx->fake.last_ds, 5);
}

typedef struct Racer {
    Fx *fx;
    Up *ups;
    size_t n;
    IngestResult *res;
} Racer;

static void *race(void *arg)
{
    Racer *r = arg;
    run(r->fx, r->ups, r->n, r->res);
    return NULL;
}

static void test_threads_racing(void **state)
{
    Fx *fx = *state;
    enum { THREADS = 8, N = 50 };
    static Up ups[N];
    static IngestResult res[THREADS][N];
    for (unsigned i = 0; i < N; i++)
        uplink(&ups[i], "24E1247100000001", 1000 + i);
    pthread_t t[THREADS];
    Racer r[THREADS];
    for (int i = 0; i < THREADS; i++) {
        r[i] = (Racer){fx, ups, N, res[i]};
        assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
    }
    size_t stored = 0, dup = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        stored += outcomes(res[i], N, INGEST_STORED);
        dup += outcomes(res[i], N, INGEST_DUPLICATE);
    }
    assert_int_equal(stored, N);
    assert_int_equal(dup, (THREADS - 1) * N);
    assert_int_equal(fx->fake.rows, N);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_request_then_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_twice_in_one_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_request_is_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_partly_rejected, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads_racing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stored_by_another_node, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registry_change_seen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
