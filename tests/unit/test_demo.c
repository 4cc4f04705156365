/*
 * test_demo.c - the Hagen demo against a fake DemoApi: the seed file is sound
 * (coordinates in Hagen, UCUM units, observation types), seeding creates
 * shared Sensors and ObservedProperties before the Things and links them by
 * @iot.id, and a simulated week stays within physical ranges, with a rain
 * event that raises the streams.  Run from the repository root.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/demo.h"
#include "app/demo_int.h"

#define SEED_FILE "demo/hagen.json"
#define T0 1763942400.0 /* 2025-11-24T00:00:00Z, a Monday */
#define OT "http://www.opengis.net/def/observationType/OGC-OM/2.0/"

/* ========================================================================== */
/* A fake server                                                              */
/* ========================================================================== */

typedef struct Req {
    char method[8];
    char path[160];
    char *body; /* NULL for GET */
} Req;

typedef struct Series {
    double *v; /* results in posting order */
    double *t; /* phenomenonTime, seconds */
    size_t n, cap;
    int bad_type; /* a result whose JSON type does not fit the observationType */
    int bad_time; /* a phenomenonTime that is not YYYY-MM-DDTHH:MM:SS.sssZ */
} Series;

typedef struct Fake {
    pthread_mutex_t mu;
    Req *reqs; /* every request except observation POSTs when !keep_obs */
    size_t nreqs, cap;
    int keep_obs;        /* record observation POSTs in reqs too */
    int things_exist;    /* GET /Things?$top=1 answers one Thing */
    size_t fail_thing;   /* 1-based POST /Things to refuse with 400, 0 = none */
    size_t page;         /* datastreams per page of the listing */
    int reject_top;      /* answer 400 to $top=10000, as a strict server may */
    int empty_201;       /* answer POST /Sensors and /ObservedProperties with no body */
    json_t *sensors;     /* array, id = index + 1 */
    json_t *ops;         /* array, id = index + 1 */
    json_t *things;      /* array of POSTed Things, as received */
    json_t *datastreams; /* array, id = index + 1, expanded as the listing returns them */
    int bad_link;        /* a Datastream arrived without an @iot.id link */
    Series *series;      /* per datastream, index = id - 1 */
    size_t nobs;
} Fake;

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    assert_non_null(p);
    memcpy(p, s, n);
    return p;
}

static void record(Fake *f, const char *method, const char *path, const char *body)
{
    if (f->nreqs == f->cap) {
        f->cap = f->cap ? 2 * f->cap : 256;
        f->reqs = realloc(f->reqs, f->cap * sizeof *f->reqs);
    }
    Req *r = &f->reqs[f->nreqs++];
    snprintf(r->method, sizeof r->method, "%s", method);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->body = body ? dup_str(body) : NULL;
}

static char *answer(int *status, int code, json_t *j)
{
    *status = code;
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

static int parse_time(const char *s, double *out)
{
    int y, mo, d, h, mi, sec, ms;
    char z;
    if (!s || strlen(s) != 24 ||
        sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h, &mi, &sec, &ms, &z) != 8 ||
        z != 'Z')
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    *out = (double)timegm(&tm) + ms / 1000.0;
    return 0;
}

static char *post_observation(Fake *f, long id, const char *body, int *status)
{
    if (id < 1 || (size_t)id > json_array_size(f->datastreams))
        return answer(status, 404, json_pack("{s:s}", "message", "no such datastream"));
    json_t *ds = json_array_get(f->datastreams, (size_t)id - 1);
    const char *otype = json_string_value(json_object_get(ds, "observationType"));
    json_t *j = json_loads(body, 0, NULL);
    if (!j)
        return answer(status, 400, json_pack("{s:s}", "message", "broken JSON"));
    Series *s = &f->series[id - 1];
    json_t *res = json_object_get(j, "result");
    double t = 0, v;
    if (parse_time(json_string_value(json_object_get(j, "phenomenonTime")), &t) != 0)
        s->bad_time = 1;
    if (strstr(otype, "OM_TruthObservation")) {
        s->bad_type |= !json_is_boolean(res);
        v = json_is_true(res) ? 1.0 : 0.0;
    } else if (strstr(otype, "OM_CountObservation")) {
        s->bad_type |= !json_is_integer(res);
        v = json_number_value(res);
    } else {
        s->bad_type |= !json_is_number(res);
        v = json_number_value(res);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->v = realloc(s->v, s->cap * sizeof *s->v);
        s->t = realloc(s->t, s->cap * sizeof *s->t);
    }
    s->v[s->n] = v;
    s->t[s->n] = t;
    s->n++;
    f->nobs++;
    json_decref(j);
    return answer(status, 201, json_pack("{s:i}", "@iot.id", (int)f->nobs));
}

/* A linked entity: {"@iot.id": n} with 1 <= n <= size of the collection. */
static json_t *linked(const json_t *link, const json_t *collection)
{
    const json_t *id = json_object_get(link, "@iot.id");
    if (!json_is_integer(id) || json_object_size(link) != 1)
        return NULL;
    json_int_t n = json_integer_value(id);
    return n >= 1 && (size_t)n <= json_array_size(collection) ? json_array_get(collection, n - 1)
                                                              : NULL;
}

static char *post_thing(Fake *f, const char *body, int *status)
{
    json_t *thing = json_loads(body, 0, NULL);
    assert_non_null(thing);
    json_array_append(f->things, thing);
    if (f->fail_thing && json_array_size(f->things) == f->fail_thing) {
        json_decref(thing);
        return answer(status, 400,
                      json_pack("{s:i,s:s,s:s}", "code", 400, "field", "Locations", "message",
                                "location: invalid GeoJSON"));
    }
    long thing_id = (long)json_array_size(f->things);
    size_t i;
    json_t *ds;
    json_array_foreach (json_object_get(thing, "Datastreams"), i, ds) {
        json_t *op = linked(json_object_get(ds, "ObservedProperty"), f->ops);
        json_t *sensor = linked(json_object_get(ds, "Sensor"), f->sensors);
        if (!op || !sensor)
            f->bad_link = 1;
        json_t *copy = json_deep_copy(ds);
        json_object_del(copy, "Sensor");
        json_object_set_new(copy, "@iot.id",
                            json_integer((json_int_t)json_array_size(f->datastreams) + 1));
        json_object_set(copy, "ObservedProperty", op ? op : json_null());
        json_object_set_new(copy, "Thing",
                            json_pack("{s:i,s:O,s:O}", "@iot.id", (int)thing_id, "name",
                                      json_object_get(thing, "name"), "properties",
                                      json_object_get(thing, "properties")));
        json_array_append_new(f->datastreams, copy);
    }
    json_decref(thing);
    return answer(status, 201, json_pack("{s:i}", "@iot.id", (int)thing_id));
}

static char *list_datastreams(Fake *f, const char *path, int *status)
{
    if (f->reject_top && strstr(path, "$top=10000"))
        return answer(status, 400, json_pack("{s:s}", "message", "$top: at most 1000"));
    const char *skip_s = strstr(path, "$skip=");
    size_t skip = skip_s ? (size_t)strtoul(skip_s + 6, NULL, 10) : 0,
           n = json_array_size(f->datastreams);
    json_t *value = json_array();
    for (size_t i = skip; i < n && i < skip + f->page; i++)
        json_array_append(value, json_array_get(f->datastreams, i));
    json_t *j = json_pack("{s:o}", "value", value);
    if (skip + f->page < n) {
        char link[200];
        snprintf(link, sizeof link,
                 "http://127.0.0.1:8080/v1.1/"
                 "Datastreams?$top=%zu&$skip=%zu&$expand=ObservedProperty,Thing",
                 f->page, skip + f->page);
        json_object_set_new(j, "@iot.nextLink", json_string(link));
    }
    return answer(status, 200, j);
}

static int fake_request(void *data, const char *method, const char *path, const char *body,
                        int *status, char **resp)
{
    Fake *f = data;
    long id;
    pthread_mutex_lock(&f->mu);
    int obs =
        strcmp(method, "POST") == 0 && sscanf(path, "/Datastreams(%ld)/Observations", &id) == 1;
    if (!obs || f->keep_obs)
        record(f, method, path, body);
    if (obs) {
        *resp = post_observation(f, id, body, status);
    } else if (!strcmp(method, "GET") && !strcmp(path, "/Things?$top=1")) {
        json_t *value = json_array();
        if (f->things_exist)
            json_array_append_new(value, json_pack("{s:i,s:s}", "@iot.id", 1, "name", "old"));
        *resp = answer(status, 200, json_pack("{s:o}", "value", value));
    } else if (!strcmp(method, "POST") &&
               (!strcmp(path, "/Sensors") || !strcmp(path, "/ObservedProperties"))) {
        json_t *coll = path[1] == 'S' ? f->sensors : f->ops;
        json_t *e = json_loads(body, 0, NULL);
        assert_non_null(e);
        json_array_append_new(coll, e);
        json_object_set_new(e, "@iot.id", json_integer((json_int_t)json_array_size(coll)));
        if (f->empty_201) {
            *status = 201;
            *resp = dup_str("");
        } else {
            *resp = answer(status, 201, json_deep_copy(e));
        }
    } else if (!strcmp(method, "GET") && strstr(path, "?$orderby=id%20desc&$top=1") &&
               (!strncmp(path, "/Sensors?", 9) || !strncmp(path, "/ObservedProperties?", 20))) {
        json_t *coll = path[1] == 'S' ? f->sensors : f->ops;
        json_t *last = json_array_get(coll, json_array_size(coll) - 1);
        *resp = answer(status, 200, json_pack("{s:[O]}", "value", last));
    } else if (!strcmp(method, "POST") && !strcmp(path, "/Things")) {
        *resp = post_thing(f, body, status);
    } else if (!strcmp(method, "GET") && !strncmp(path, "/Datastreams?", 13)) {
        *resp = list_datastreams(f, path, status);
    } else {
        *resp = answer(status, 404, json_pack("{s:s}", "message", "not found"));
    }
    pthread_mutex_unlock(&f->mu);
    return 0;
}

static Fake *fake_new(void)
{
    Fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    pthread_mutex_init(&f->mu, NULL);
    f->sensors = json_array();
    f->ops = json_array();
    f->things = json_array();
    f->datastreams = json_array();
    f->page = 50;
    f->series = calloc(1024, sizeof *f->series);
    return f;
}

static void fake_free(Fake *f)
{
    for (size_t i = 0; i < f->nreqs; i++)
        free(f->reqs[i].body);
    free(f->reqs);
    for (size_t i = 0; i < 1024; i++) {
        free(f->series[i].v);
        free(f->series[i].t);
    }
    free(f->series);
    json_decref(f->sensors);
    json_decref(f->ops);
    json_decref(f->things);
    json_decref(f->datastreams);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static json_t *load_seed(void)
{
    json_error_t je;
    json_t *root = json_load_file(SEED_FILE, 0, &je);
    if (!root)
        fail_msg("%s:%d: %s (run the test from the repository root)", SEED_FILE, je.line, je.text);
    return root;
}

static void seed_fake(Fake *f)
{
    DemoApi api = {fake_request, f};
    Err err;
    err_init(&err);
    int rc = demo_seed(&api, SEED_FILE, &err);
    if (rc != 0)
        fail_msg("demo_seed: %d %s: %s", rc, err.field, err.msg);
}

/* ========================================================================== */
/* The seed file                                                              */
/* ========================================================================== */

static int ucum_ok(const char *s)
{
    static const char *const known[] = {"m", "cm",      "mm", "Cel",   "%",    "[ppm]", "hPa",
                                        "V", "{count}", "1",  "uS/cm", "kW.h", "kW"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (s && strcmp(s, known[i]) == 0)
            return 1;
    return 0;
}

static void test_seed_file_is_sound(void **state)
{
    (void)state;
    json_t *root = load_seed(), *things = json_object_get(root, "things");
    json_t *sensors = json_object_get(root, "sensors"),
           *ops = json_object_get(root, "observedProperties");
    assert_true(json_is_array(things));
    assert_true(json_is_object(sensors));
    assert_true(json_is_object(ops));
    size_t i, j, nds = 0;
    json_t *thing, *ds;
    json_array_foreach (things, i, thing) {
        const char *name = json_string_value(json_object_get(thing, "name"));
        assert_non_null(name);
        assert_non_null(json_string_value(json_object_get(thing, "description")));
        json_t *props = json_object_get(thing, "properties");
        assert_non_null(json_string_value(json_object_get(props, "stadtbezirk")));
        assert_non_null(json_string_value(json_object_get(props, "betreiber")));
        const char *eui = json_string_value(json_object_get(props, "devEUI"));
        assert_non_null(eui);
        assert_int_equal(strlen(eui), 16);
        assert_int_equal(strspn(eui, "0123456789ABCDEF"), 16);

        json_t *locs = json_object_get(thing, "Locations");
        assert_int_equal(json_array_size(locs), 1);
        json_t *loc = json_array_get(locs, 0);
        assert_string_equal(json_string_value(json_object_get(loc, "encodingType")),
                            "application/geo+json");
        json_t *geo = json_object_get(loc, "location");
        assert_string_equal(json_string_value(json_object_get(geo, "type")), "Point");
        json_t *c = json_object_get(geo, "coordinates");
        double lon = json_number_value(json_array_get(c, 0)),
               lat = json_number_value(json_array_get(c, 1));
        if (!(lon >= 7.35 && lon <= 7.62 && lat >= 51.27 && lat <= 51.43))
            fail_msg("%s: [%f, %f] outside Hagen", name, lon, lat);

        json_array_foreach (json_object_get(thing, "Datastreams"), j, ds) {
            json_t *u = json_object_get(ds, "unitOfMeasurement");
            const char *sym = json_string_value(json_object_get(u, "symbol"));
            if (!ucum_ok(sym))
                fail_msg("%s: unit symbol %s", name, sym ? sym : "(none)");
            assert_non_null(json_string_value(json_object_get(u, "name")));
            assert_non_null(
                strstr(json_string_value(json_object_get(u, "definition")), "unitsofmeasure.org"));
            const char *ot = json_string_value(json_object_get(ds, "observationType"));
            assert_non_null(ot);
            assert_true(!strcmp(ot, OT "OM_Measurement") || !strcmp(ot, OT "OM_TruthObservation") ||
                        !strcmp(ot, OT "OM_CountObservation"));
            assert_non_null(
                json_object_get(sensors, json_string_value(json_object_get(ds, "Sensor"))));
            json_t *op =
                json_object_get(ops, json_string_value(json_object_get(ds, "ObservedProperty")));
            assert_non_null(op);
            /* The simulator knows how to feed every datastream of the demo. */
            DemoModel m = demo_model_classify(json_string_value(json_object_get(op, "name")),
                                              json_string_value(json_object_get(ds, "name")), sym);
            if (m == DEMO_M_NONE)
                fail_msg("%s: no model for %s", name,
                         json_string_value(json_object_get(ds, "name")));
            nds++;
        }
    }
    assert_in_range(json_array_size(things), 40, 80);
    assert_in_range(nds, 60, 120);
    json_decref(root);
}

/* ========================================================================== */
/* Seeding                                                                    */
/* ========================================================================== */

static void test_seed_order_and_links(void **state)
{
    (void)state;
    Fake *f = fake_new();
    json_t *root = load_seed();
    seed_fake(f);

    size_t nsens = json_object_size(json_object_get(root, "sensors"));
    size_t nops = json_object_size(json_object_get(root, "observedProperties"));
    size_t nthings = json_array_size(json_object_get(root, "things"));
    assert_true(f->nreqs == 1 + nsens + nops + nthings);
    assert_string_equal(f->reqs[0].method, "GET");
    assert_string_equal(f->reqs[0].path, "/Things?$top=1");
    for (size_t i = 1; i < f->nreqs; i++) {
        const char *want = i <= nsens          ? "/Sensors"
                           : i <= nsens + nops ? "/ObservedProperties"
                                               : "/Things";
        assert_string_equal(f->reqs[i].method, "POST");
        assert_string_equal(f->reqs[i].path, want);
    }
    assert_false(f->bad_link);

    /* Each key resolved to the id of the entity created for that key. */
    size_t i, j;
    json_t *thing, *ds;
    json_array_foreach (json_object_get(root, "things"), i, thing) {
        json_t *sent = json_array_get(f->things, i);
        json_array_foreach (json_object_get(thing, "Datastreams"), j, ds) {
            json_t *out = json_array_get(json_object_get(sent, "Datastreams"), j);
            json_t *want_s = json_object_get(json_object_get(root, "sensors"),
                                             json_string_value(json_object_get(ds, "Sensor")));
            json_t *want_op =
                json_object_get(json_object_get(root, "observedProperties"),
                                json_string_value(json_object_get(ds, "ObservedProperty")));
            json_t *got_s = linked(json_object_get(out, "Sensor"), f->sensors);
            json_t *got_op = linked(json_object_get(out, "ObservedProperty"), f->ops);
            assert_non_null(got_s);
            assert_non_null(got_op);
            assert_string_equal(json_string_value(json_object_get(got_s, "name")),
                                json_string_value(json_object_get(want_s, "name")));
            assert_string_equal(json_string_value(json_object_get(got_op, "name")),
                                json_string_value(json_object_get(want_op, "name")));
        }
    }
    json_decref(root);
    fake_free(f);
}

static void test_seed_skips_when_things_exist(void **state)
{
    (void)state;
    Fake *f = fake_new();
    f->things_exist = 1;
    seed_fake(f);
    assert_int_equal(f->nreqs, 1);
    fake_free(f);
}

static void test_seed_reports_server_error(void **state)
{
    (void)state;
    Fake *f = fake_new();
    f->fail_thing = 3;
    DemoApi api = {fake_request, f};
    Err err;
    err_init(&err);
    assert_int_equal(demo_seed(&api, SEED_FILE, &err), ERR_INVALID);
    assert_string_equal(err.field, "/Things");
    assert_non_null(strstr(err.msg, "things[2]"));
    assert_non_null(strstr(err.msg, "HTTP 400"));
    assert_non_null(strstr(err.msg, "location: invalid GeoJSON"));
    assert_int_equal(json_array_size(f->things), 3); /* stopped at the first failure */
    fake_free(f);
}

static void test_seed_without_ids_in_201(void **state)
{
    (void)state;
    Fake *f = fake_new();
    f->empty_201 = 1;
    seed_fake(f);
    assert_false(f->bad_link);
    assert_true(json_array_size(f->datastreams) > 100);
    fake_free(f);
}

static void test_sim_lists_when_top_is_refused(void **state)
{
    (void)state;
    Fake *f = fake_new();
    seed_fake(f);
    f->reject_top = 1;
    DemoApi api = {fake_request, f};
    Err err;
    err_init(&err);
    DemoSim *sim = demo_sim_new(&api, 1, T0, &err);
    assert_non_null(sim);
    assert_int_equal(demo_sim_listed_count(sim), json_array_size(f->datastreams));
    demo_sim_free(sim);
    fake_free(f);
}

static void test_seed_missing_file(void **state)
{
    (void)state;
    Fake *f = fake_new();
    DemoApi api = {fake_request, f};
    Err err;
    err_init(&err);
    assert_int_equal(demo_seed(&api, "demo/no-such-file.json", &err), ERR_IO);
    assert_non_null(strstr(err.msg, "no-such-file"));
    fake_free(f);
}

static void test_seed_bad_key(void **state)
{
    (void)state;
    char path[] = "/tmp/klammer-demo-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *doc =
        "{\"sensors\":{\"a\":{\"name\":\"A\",\"description\":\"d\",\"encodingType\":\"text/html\","
        "\"metadata\":\"https://"
        "example.org\"}},\"observedProperties\":{},\"things\":[{\"name\":\"T\","
        "\"description\":\"d\",\"Datastreams\":[{\"name\":\"D\",\"Sensor\":\"a\","
        "\"ObservedProperty\":\"nope\"}]}]}";
    assert_int_equal(write(fd, doc, strlen(doc)), (ssize_t)strlen(doc));
    close(fd);
    Fake *f = fake_new();
    DemoApi api = {fake_request, f};
    Err err;
    err_init(&err);
    assert_int_equal(demo_seed(&api, path, &err), ERR_INVALID);
    assert_non_null(strstr(err.msg, "things[0].Datastreams[0].ObservedProperty"));
    assert_non_null(strstr(err.msg, "\"nope\""));
    assert_int_equal(json_array_size(f->things), 0);
    unlink(path);
    fake_free(f);
}

/* ========================================================================== */
/* The simulator                                                              */
/* ========================================================================== */

static const char *ds_op_name(Fake *f, size_t i)
{
    json_t *ds = json_array_get(f->datastreams, i);
    return json_string_value(json_object_get(json_object_get(ds, "ObservedProperty"), "name"));
}

static const char *ds_unit(Fake *f, size_t i)
{
    json_t *ds = json_array_get(f->datastreams, i);
    return json_string_value(json_object_get(json_object_get(ds, "unitOfMeasurement"), "symbol"));
}

static const char *ds_thing(Fake *f, size_t i)
{
    json_t *ds = json_array_get(f->datastreams, i);
    return json_string_value(json_object_get(json_object_get(ds, "Thing"), "name"));
}

static void range_for(const char *op, const char *unit, double *lo, double *hi)
{
    *lo = -1e9;
    *hi = 1e9;
    if (!strcmp(op, "Wasserstand")) {
        *lo = 0;
        *hi = !strcmp(unit, "cm") ? 600 : 6;
    } else if (strstr(op, "temperatur")) {
        *lo = -20;
        *hi = 40;
    } else if (!strcmp(op, "Relative Luftfeuchte") || !strcmp(op, "Bodenfeuchte") ||
               !strcmp(op, "Batterieladung") || !strcmp(op, "F\xc3\xbcllstand")) {
        *lo = 0;
        *hi = 100;
    } else if (!strcmp(op, "CO2-Konzentration")) {
        *lo = 350;
        *hi = 5000;
    } else if (!strcmp(op, "Luftdruck")) {
        *lo = 900;
        *hi = 1050;
    } else if (!strcmp(op, "Niederschlag")) {
        *lo = 0;
        *hi = 30; /* per 10 minutes */
    } else if (!strcmp(op, "Abstand zum F\xc3\xbcllgut")) {
        *lo = 250;
        *hi = 2000;
    } else if (!strcmp(op, "Stellplatzbelegung")) {
        *lo = 0;
        *hi = 1;
    } else if (strstr(op, "Passanten")) {
        *lo = 0;
        *hi = 1000;
    } else if (strstr(op, "Leitf")) {
        *lo = 0;
        *hi = 3000;
    } else if (!strcmp(op, "Batteriespannung")) {
        *lo = 2.5;
        *hi = 3.7;
    } else if (!strcmp(op, "Elektrische Leistung")) {
        *lo = 0;
        *hi = 500;
    } else if (!strcmp(op, "Elektrische Energie")) {
        *lo = 1e6;
        *hi = 1e7;
    }
}

/* Seeds a fake, then simulates `days` from T0 in 10-minute ticks. */
static Fake *simulate(uint64_t seed, int days, size_t *streams)
{
    Fake *f = fake_new();
    seed_fake(f);
    DemoApi api = {fake_request, f};
    Err err;
    err_init(&err);
    DemoSim *sim = demo_sim_new(&api, seed, T0, &err);
    if (!sim)
        fail_msg("demo_sim_new: %s", err.msg);
    assert_int_equal(demo_sim_listed_count(sim), json_array_size(f->datastreams));
    *streams = demo_sim_stream_count(sim);
    for (int k = 1; k <= days * 144; k++) {
        int ok = demo_sim_tick(sim, T0 + k * 600.0);
        assert_int_equal(ok, (int)*streams);
    }
    demo_sim_free(sim);
    return f;
}

static void test_sim_week(void **state)
{
    (void)state;
    size_t streams;
    Fake *f = simulate(0x5eed, 7, &streams);
    size_t n = json_array_size(f->datastreams);
    assert_true(n > 100); /* the listing followed @iot.nextLink past the first 50 */
    assert_int_equal(streams, n);

    int eckesey_over = 0, eckesey_n = 0, bins_emptied = 0, bays_toggled = 0;
    double rain_total = 0, eckesey_max = 0, eckesey_min = 1e9;
    for (size_t i = 0; i < n; i++) {
        Series *s = &f->series[i];
        const char *op = ds_op_name(f, i), *unit = ds_unit(f, i), *thing = ds_thing(f, i);
        double lo, hi;
        assert_int_equal(s->n, 7 * 144);
        if (s->bad_type || s->bad_time)
            fail_msg("%s / %s: result type or phenomenonTime wrong", thing, op);
        range_for(op, unit, &lo, &hi);
        for (size_t k = 0; k < s->n; k++) {
            if (!(s->v[k] >= lo && s->v[k] <= hi))
                fail_msg("%s / %s: %g %s at step %zu outside [%g, %g]", thing, op, s->v[k], unit, k,
                         lo, hi);
            assert_true(fabs(s->t[k] - (T0 + (k + 1) * 600.0)) < 0.01);
            if (k > 0 && !strcmp(op, "F\xc3\xbcllstand") && s->v[k - 1] - s->v[k] > 30.0)
                bins_emptied++;
            if (k > 0 && !strcmp(op, "Abstand zum F\xc3\xbcllgut") && s->v[k] - s->v[k - 1] > 300.0)
                bins_emptied++;
            if (k > 0 && !strcmp(op, "Stellplatzbelegung") && s->v[k] != s->v[k - 1])
                bays_toggled++;
            if (k > 0 && !strcmp(op, "Elektrische Energie"))
                assert_true(s->v[k] >= s->v[k - 1]);
            if (!strcmp(op, "Niederschlag"))
                rain_total += s->v[k];
            if (!strcmp(op, "Wasserstand") && strstr(thing, "Eckesey")) {
                eckesey_max = fmax(eckesey_max, s->v[k]);
                eckesey_min = fmin(eckesey_min, s->v[k]);
                eckesey_over += s->v[k] > 1.75;
                eckesey_n++;
            }
        }
    }
    print_message("week: eckesey %.3f..%.3f m, %d of %d readings above 1.75 m; rain %.1f mm over 4 "
                  "gauges; %d emptyings; %d bay changes\n",
                  eckesey_min, eckesey_max, eckesey_over, eckesey_n, rain_total, bins_emptied,
                  bays_toggled);
    assert_true(eckesey_max > 1.75);            /* the first flood line is crossed ... */
    assert_true(eckesey_over < eckesey_n / 12); /* ... briefly (a few hours per storm) */
    assert_true(eckesey_min > 0.7 && eckesey_min < 1.2);
    assert_true(rain_total > 10.0);
    assert_true(bins_emptied >= 15);
    assert_true(bays_toggled >= 20);
    fake_free(f);
}

static uint64_t fingerprint(Fake *f)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < json_array_size(f->datastreams); i++)
        for (size_t k = 0; k < f->series[i].n; k++) {
            uint64_t bits;
            memcpy(&bits, &f->series[i].v[k], sizeof bits);
            h = (h ^ bits) * 1099511628211ULL;
        }
    return h;
}

static void test_sim_is_deterministic(void **state)
{
    (void)state;
    size_t n;
    Fake *a = simulate(42, 1, &n), *b = simulate(42, 1, &n), *c = simulate(43, 1, &n);
    assert_true(fingerprint(a) == fingerprint(b));
    assert_true(fingerprint(a) != fingerprint(c));
    fake_free(a);
    fake_free(b);
    fake_free(c);
}

static void test_rain_raises_level(void **state)
{
    (void)state;
    uint64_t seed = 7;
    json_t *props = json_pack("{s:f,s:f,s:f,s:i}", "mittelwasser_m", 1.05, "ersteHochwassermarke_m",
                              1.75, "informationswert3_m", 3.80, "einzugsgebiet_km2", 421);
    DemoRainEvent ev = {0};
    int64_t n = (int64_t)floor(T0 / DEMO_RAIN_SLOT_S);
    while (!(demo_rain_event(seed, n, &ev) && ev.heavy))
        n++;
    DemoSite site;
    demo_site_init(&site, 1, props, seed, ev.start - 2 * 3600.0);
    demo_site_step(&site, seed, ev.start);
    double before = demo_site_level(&site), peak = before;
    double peak_t = ev.start;
    for (double t = ev.start; t < ev.end + 12 * 3600.0; t += 600.0) {
        demo_site_step(&site, seed, t);
        if (demo_site_level(&site) > peak) {
            peak = demo_site_level(&site);
            peak_t = t;
        }
    }
    demo_site_step(&site, seed, ev.end + 24 * 3600.0);
    double after = demo_site_level(&site);
    print_message(
        "heavy rain %.1f mm/h: level %.3f -> peak %.3f m %.1f h after the start -> %.3f m a "
        "day later\n",
        ev.peak, before, peak, (peak_t - ev.start) / 3600.0, after);
    assert_true(demo_rain_amount(seed, ev.start, ev.end) > 10.0);
    assert_true(peak > 1.75 && peak < 3.8);  /* above the first flood line, below IW3 */
    assert_true(peak_t > ev.start + 1800.0); /* with a lag */
    assert_true(after < before + 0.3);       /* and back down */
    json_decref(props);
}

static void test_weather_ranges(void **state)
{
    (void)state;
    /* A year in hourly steps: temperature, humidity and pressure stay physical,
     * the afternoon is warmer than the early morning on average. */
    double tmin = 1e9, tmax = -1e9, warm = 0, cold = 0;
    for (int h = 0; h < 365 * 24; h++) {
        double t = T0 + h * 3600.0, ta = demo_air_temp(1, t), rh = demo_humidity(1, t);
        double p = demo_pressure(1, t, 106);
        tmin = fmin(tmin, ta);
        tmax = fmax(tmax, ta);
        assert_true(rh >= 15 && rh <= 100);
        assert_true(p > 950 && p < 1040);
        assert_true(demo_rain_rate(1, t) >= 0);
        DemoLocal lt;
        demo_local_time(t, &lt);
        if ((int)lt.hour == 15)
            warm += ta;
        if ((int)lt.hour == 6)
            cold += ta;
    }
    assert_true(tmin > -20 && tmax < 40);
    assert_true(tmax - tmin > 15);
    assert_true(warm > cold + 365 * 3.0);
}

static void test_local_time(void **state)
{
    (void)state;
    DemoLocal lt;
    demo_local_time(1743296399.0, &lt); /* 2025-03-30T00:59:59Z: still CET */
    assert_int_equal(lt.summer, 0);
    assert_int_equal(lt.wday, 7);
    assert_true(fabs(lt.hour - (1.0 + 3599.0 / 3600.0)) < 1e-6);
    demo_local_time(1743296400.0, &lt); /* 01:00Z: CEST, 03:00 local */
    assert_int_equal(lt.summer, 1);
    assert_true(fabs(lt.hour - 3.0) < 1e-6);
    demo_local_time(1761440400.0, &lt); /* 2025-10-26T01:00Z: CET again */
    assert_int_equal(lt.summer, 0);
    demo_local_time(T0, &lt);
    assert_int_equal(lt.wday, 1);
    assert_true(fabs(lt.hour - 1.0) < 1e-6);
    char buf[40];
    demo_format_time(T0 + 0.25, buf, sizeof buf);
    assert_string_equal(buf, "2025-11-24T00:00:00.250Z");
}

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        const char *op, *ds, *unit;
        DemoModel want;
    } rows[] = {
        {"Wasserstand", NULL, "m", DEMO_M_WATER_LEVEL},
        {"Wasserstand", NULL, "cm", DEMO_M_WATER_LEVEL},
        {"Wasserstand", NULL, "Cel", DEMO_M_NONE},
        {"Wassertemperatur", NULL, "Cel", DEMO_M_WATER_TEMP},
        {"Lufttemperatur", NULL, "K", DEMO_M_AIR_TEMP},
        {"F\xc3\xbcllstand", NULL, "%", DEMO_M_FILL},
        {"F\xc3\xbcllstand", NULL, "mm", DEMO_M_FILL_HEIGHT},
        {"Abstand zum F\xc3\xbcllgut", NULL, "mm", DEMO_M_DISTANCE},
        {"Stellplatzbelegung", NULL, "1", DEMO_M_OCCUPANCY},
        {"Passanten rechts nach links", NULL, "{count}", DEMO_M_PEOPLE_RL},
        {"Batteriespannung", NULL, "V", DEMO_M_BATTERY},
        {"Batterieladung", NULL, "%", DEMO_M_BATTERY},
        {"CO2-Konzentration", NULL, "[ppm]", DEMO_M_CO2},
        {"Elektrische Leitf\xc3\xa4higkeit des Bodens", NULL, "uS/cm", DEMO_M_SOIL_EC},
        {NULL, "Air temperature roof", "Cel", DEMO_M_AIR_TEMP},
        {"Windgeschwindigkeit", "Wind", "m/s", DEMO_M_NONE},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        DemoModel m = demo_model_classify(rows[i].op, rows[i].ds, rows[i].unit);
        if (m != rows[i].want)
            fail_msg("row %zu: %s, want %s", i, demo_model_name(m), demo_model_name(rows[i].want));
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_thread_start_stop(void **state)
{
    (void)state;
    Fake *f = fake_new();
    seed_fake(f);
    DemoApi api = {fake_request, f};
    Err err;
    err_init(&err);

    DemoSim *sim = demo_sim_start(&api, 20, 600.0, &err);
    assert_non_null(sim);
    struct timespec pause = {0, 150 * 1000000L};
    nanosleep(&pause, NULL);
    demo_sim_stop(sim);
    pthread_mutex_lock(&f->mu);
    size_t posted = f->nobs;
    pthread_mutex_unlock(&f->mu);
    assert_true(posted >= 2 * json_array_size(f->datastreams));

    /* A long interval must not delay stopping. */
    sim = demo_sim_start(&api, 600000, 1.0, &err);
    assert_non_null(sim);
    double t = now_s();
    demo_sim_stop(sim);
    assert_true(now_s() - t < 1.0);

    assert_null(demo_sim_start(&api, 0, 1.0, &err));
    assert_int_equal(err.code, ERR_INVALID);
    demo_sim_stop(NULL);
    fake_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_file_is_sound),
        cmocka_unit_test(test_seed_order_and_links),
        cmocka_unit_test(test_seed_skips_when_things_exist),
        cmocka_unit_test(test_seed_reports_server_error),
        cmocka_unit_test(test_seed_missing_file),
        cmocka_unit_test(test_seed_without_ids_in_201),
        cmocka_unit_test(test_sim_lists_when_top_is_refused),
        cmocka_unit_test(test_seed_bad_key),
        cmocka_unit_test(test_classify),
        cmocka_unit_test(test_local_time),
        cmocka_unit_test(test_weather_ranges),
        cmocka_unit_test(test_rain_raises_level),
        cmocka_unit_test(test_sim_week),
        cmocka_unit_test(test_sim_is_deterministic),
        cmocka_unit_test(test_thread_start_stop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
