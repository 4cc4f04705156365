/*
 * test_sta.c - the JSON body parser of the SensorThings writers, table-driven:
 * each row POSTs (or PATCHes) a body through the real handler, in-process,
 * and checks the status, the field named in the error and a fragment of its
 * message.  The store is a file in a fresh temporary directory.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http.h"
#include "sta/sta.h"
#include "store/store.h"
#include "util/log.h"

#define OM "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
#define UOM "\"unitOfMeasurement\":{\"name\":\"m\",\"symbol\":\"m\",\"definition\":\"u\"}"
#define LOC "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":\"application/geo+json\"," \
            "\"location\":{\"type\":\"Point\",\"coordinates\":[7.47,51.36]}}"

typedef struct Fixture {
    char dir[64], path[96];
    Store *store;
    Sta *sta;
    HttpServer *http;
} Fixture;

static int request(Fixture *f, const char *method, const char *path, const char *body,
                   json_t **out)
{
    int status = 0;
    char *text = NULL;
    assert_int_equal(http_internal(f->http, method, path, body, &status, &text), 0);
    json_error_t je;
    *out = text && *text ? json_loads(text, 0, &je) : NULL;
    free(text);
    return status;
}

static int setup(void **state)
{
    log_level = LOG_ERROR;
    Fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/klammer-sta-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/k.db", f->dir);
    Err err;
    err_init(&err);
    StoreConfig sc = {f->path, 2, 64, false};
    assert_int_equal(store_open(&sc, &f->store, &err), 0);
    StaConfig tc = {NULL, 100, 1000, NULL, NULL};
    f->sta = sta_new(f->store, &tc);
    HttpConfig hc = {"127.0.0.1:0", 1, 1 << 20, 8 << 20};
    assert_int_equal(http_start(&hc, sta_handle, f->sta, &f->http, &err), 0);
    /* Thing 1 with Location 1; Datastream 1 (Measurement), 2 (Count), 3 (Truth),
     * 4 (Category); Sensor 1, ObservedProperty 1; Thing 2 without a Location with
     * Datastream 5. */
    json_t *j;
    assert_int_equal(request(f, "POST", "/v1.1/Things",
                             "{\"name\":\"t\",\"description\":\"d\",\"Locations\":[" LOC "],"
                             "\"Datastreams\":[{\"name\":\"a\",\"description\":\"d\","
                             "\"observationType\":\"" OM "OM_Measurement\"," UOM ","
                             "\"Sensor\":{\"name\":\"s\",\"description\":\"d\","
                             "\"encodingType\":\"text/html\",\"metadata\":\"m\"},"
                             "\"ObservedProperty\":{\"name\":\"p\",\"definition\":\"d\","
                             "\"description\":\"d\"}}]}",
                             &j),
                     201);
    json_decref(j);
    const char *types[] = {"OM_CountObservation", "OM_TruthObservation",
                           "OM_CategoryObservation"};
    for (int i = 0; i < 3; i++) {
        char body[512];
        snprintf(body, sizeof body,
                 "{\"name\":\"x\",\"description\":\"d\",\"observationType\":\"" OM "%s\"," UOM
                 ",\"Thing\":{\"@iot.id\":1},\"Sensor\":{\"@iot.id\":1},"
                 "\"ObservedProperty\":{\"@iot.id\":1}}",
                 types[i]);
        assert_int_equal(request(f, "POST", "/v1.1/Datastreams", body, &j), 201);
        json_decref(j);
    }
    assert_int_equal(request(f, "POST", "/v1.1/Things",
                             "{\"name\":\"t2\",\"description\":\"d\",\"Datastreams\":[{"
                             "\"name\":\"b\",\"description\":\"d\",\"observationType\":\"" OM
                             "OM_Measurement\"," UOM ",\"Sensor\":{\"@iot.id\":1},"
                             "\"ObservedProperty\":{\"@iot.id\":1}}]}",
                             &j),
                     201);
    json_decref(j);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    http_stop(f->http, 0);
    sta_free(f->sta);
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

typedef struct Row {
    const char *method;
    const char *path;
    const char *body;
    int status;
    const char *field; /* expected "field" of the error, NULL = not checked */
    const char *msg;   /* fragment of "message", NULL = not checked */
} Row;

static const Row rows[] = {
    /* syntax */
    {"POST", "/v1.1/Things", "{", 400, NULL, "malformed JSON"},
    {"POST", "/v1.1/Things", "{\"name\":\"a\",}", 400, NULL, "column"},
    {"POST", "/v1.1/Things", "[]", 400, NULL, "must be a JSON object"},
    {"POST", "/v1.1/Things", "\"text\"", 400, NULL, "malformed JSON"},
    {"POST", "/v1.1/Things", "{\"name\":\"a\",\"description\":\"b\"} trailing", 400, NULL,
     "malformed JSON"},
    {"POST", "/v1.1/Things", "{\"name\":\"\\ud800\",\"description\":\"b\"}", 400, NULL, NULL},
    /* mandatory properties, types, unknown keys */
    {"POST", "/v1.1/Things", "{\"name\":\"a\"}", 400, "description", "mandatory"},
    {"POST", "/v1.1/Things", "{\"name\":1,\"description\":\"b\"}", 400, "name", "string"},
    {"POST", "/v1.1/Things", "{\"name\":\"a\",\"description\":\"b\",\"color\":\"red\"}", 400,
     "color", "no property"},
    {"POST", "/v1.1/Things", "{\"name\":\"a\",\"description\":\"b\",\"properties\":[1]}", 400,
     "properties", "object"},
    {"POST", "/v1.1/Things", "{\"name\":\"a\",\"description\":\"b\",\"@iot.id\":5}", 400,
     "@iot.id", "assigned by the server"},
    {"POST", "/v1.1/Things", "{\"name\":\"a\",\"description\":\"b\",\"properties\":null}", 201,
     NULL, NULL},
    {"POST", "/v1.1/Things", "{\"name\":\"a\",\"description\":\"b\",\"name\":\"c\"}", 201, NULL,
     NULL},
    /* GeoJSON */
    {"POST", "/v1.1/Locations",
     "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":\"application/geo+json\","
     "\"location\":{\"type\":\"Point\",\"coordinates\":[200,51]}}",
     400, "location", "outside"},
    {"POST", "/v1.1/Locations",
     "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":\"application/geo+json\","
     "\"location\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}}",
     400, "location", "first position"},
    {"POST", "/v1.1/Locations",
     "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":\"application/geo+json\","
     "\"location\":{\"type\":\"Circle\",\"coordinates\":[0,0]}}",
     400, "location", "unknown GeoJSON type"},
    {"POST", "/v1.1/Locations",
     "{\"name\":\"l\",\"description\":\"d\",\"encodingType\":\"text/plain\","
     "\"location\":\"Rathausstraße 11, Hagen\"}",
     201, NULL, NULL},
    /* times */
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"phenomenonTime\":\"2026-13-01T00:00:00Z\"}", 400, "phenomenonTime",
     "month"},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"phenomenonTime\":\"2026-01-01T00:00:00\"}", 400, "phenomenonTime",
     "offset"},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"phenomenonTime\":\"2026-01-02T00:00:00Z/2026-01-01T00:00:00Z\"}", 400,
     "phenomenonTime", "after its end"},
    {"POST", "/v1.1/Datastreams(1)/Observations", "{\"result\":1,\"phenomenonTime\":5}", 400,
     "phenomenonTime", "ISO 8601"},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"resultTime\":\"2026-01-01T00:00:00Z/2026-01-02T00:00:00Z\"}", 400,
     "resultTime", NULL},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"validTime\":\"2026-01-01T00:00:00Z/P1D\"}", 201, NULL, NULL},
    /* results by observationType */
    {"POST", "/v1.1/Datastreams(1)/Observations", "{\"result\":\"12\"}", 400, "result",
     "OM_Measurement"},
    {"POST", "/v1.1/Datastreams(1)/Observations", "{\"result\":null}", 400, "result", NULL},
    {"POST", "/v1.1/Datastreams(1)/Observations", "{\"result\":1e400}", 400, NULL, NULL},
    {"POST", "/v1.1/Datastreams(2)/Observations", "{\"result\":1.5}", 400, "result", "integer"},
    {"POST", "/v1.1/Datastreams(2)/Observations", "{\"result\":15}", 201, NULL, NULL},
    {"POST", "/v1.1/Datastreams(3)/Observations", "{\"result\":1}", 400, "result", "true or false"},
    {"POST", "/v1.1/Datastreams(3)/Observations", "{\"result\":true}", 201, NULL, NULL},
    {"POST", "/v1.1/Datastreams(4)/Observations", "{\"result\":3}", 400, "result", "string"},
    {"POST", "/v1.1/Datastreams(4)/Observations", "{\"result\":\"http://x/wet\"}", 201, NULL,
     NULL},
    {"POST", "/v1.1/Observations", "{\"result\":1}", 400, "Datastream", "needs a Datastream"},
    {"POST", "/v1.1/Observations",
     "{\"result\":1,\"Datastream\":{\"@iot.id\":1},\"MultiDatastream\":{\"@iot.id\":1}}", 400,
     "Datastream", "not both"},
    {"POST", "/v1.1/Datastreams(5)/Observations", "{\"result\":1}", 400, "FeatureOfInterest",
     "no GeoJSON Location"},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"Datastream\":{\"@iot.id\":2}}", 400, "Datastream", "conflicts"},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"FeatureOfInterest\":{\"@iot.id\":999}}", 400, "FeatureOfInterest",
     "no FeatureOfInterest with id 999"},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"FeatureOfInterest\":{\"@iot.id\":\"1\"}}", 400, "FeatureOfInterest",
     "integer"},
    {"POST", "/v1.1/Datastreams(1)/Observations",
     "{\"result\":1,\"FeatureOfInterest\":{\"@iot.id\":1,\"name\":\"x\"}}", 400,
     "FeatureOfInterest", "holds only @iot.id"},
    /* Datastreams and deep inserts */
    {"POST", "/v1.1/Datastreams",
     "{\"name\":\"x\",\"description\":\"d\",\"observationType\":\"" OM "OM_Measurement\"," UOM
     ",\"Thing\":{\"@iot.id\":1},\"Sensor\":{\"@iot.id\":1}}",
     400, "ObservedProperty", "needs a ObservedProperty"},
    {"POST", "/v1.1/Datastreams",
     "{\"name\":\"x\",\"description\":\"d\",\"observationType\":\"OM_Bogus\"," UOM
     ",\"Thing\":{\"@iot.id\":1},\"Sensor\":{\"@iot.id\":1},\"ObservedProperty\":{\"@iot.id\":1}}",
     400, "observationType", "Table 12"},
    {"POST", "/v1.1/Datastreams",
     "{\"name\":\"x\",\"description\":\"d\",\"observationType\":\"" OM "OM_Measurement\","
     "\"unitOfMeasurement\":{\"name\":5},\"Thing\":{\"@iot.id\":1},\"Sensor\":{\"@iot.id\":1},"
     "\"ObservedProperty\":{\"@iot.id\":1}}",
     400, "unitOfMeasurement", "string"},
    {"POST", "/v1.1/Things",
     "{\"name\":\"t\",\"description\":\"d\",\"Datastreams\":[{\"name\":\"x\",\"description\":"
     "\"d\",\"observationType\":\"" OM "OM_Measurement\"," UOM ",\"Sensor\":{\"@iot.id\":1},"
     "\"ObservedProperty\":{\"name\":\"p\",\"definition\":\"d\"}}]}",
     400, "Datastreams[0].ObservedProperty.description", "mandatory"},
    {"POST", "/v1.1/Things", "{\"name\":\"t\",\"description\":\"d\",\"Locations\":{}}", 400,
     "Locations", "array"},
    /* MultiDatastream */
    {"POST", "/v1.1/MultiDatastreams",
     "{\"name\":\"m\",\"description\":\"d\",\"observationType\":\"" OM "OM_ComplexObservation\","
     "\"multiObservationDataTypes\":[\"" OM "OM_Measurement\"],"
     "\"unitOfMeasurements\":[{\"name\":\"a\",\"symbol\":\"a\",\"definition\":\"a\"},"
     "{\"name\":\"b\",\"symbol\":\"b\",\"definition\":\"b\"}],\"Thing\":{\"@iot.id\":1},"
     "\"Sensor\":{\"@iot.id\":1},\"ObservedProperties\":[{\"@iot.id\":1}]}",
     400, "unitOfMeasurements", "same length"},
    /* PATCH */
    {"PATCH", "/v1.1/Things(1)", "{\"name\":null}", 400, "name", "cannot be null"},
    {"PATCH", "/v1.1/Things(1)", "{\"@iot.id\":2}", 400, "@iot.id", "does not match"},
    {"PATCH", "/v1.1/Things(1)", "{\"Locations\":[" LOC "]}", 400, "Locations[0]",
     "existing entities"},
    {"PATCH", "/v1.1/Datastreams(1)", "{\"Sensor\":{\"name\":\"s\"}}", 400, "Sensor",
     "existing"},
    {"PATCH", "/v1.1/Things(999)", "{\"name\":\"x\"}", 404, NULL, "no Thing"},
    {"PATCH", "/v1.1/Things(1)", "{\"description\":\"new\"}", 200, NULL, NULL},
};

static void test_bodies(void **state)
{
    Fixture *f = *state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const Row *r = &rows[i];
        json_t *j = NULL;
        int status = request(f, r->method, r->path, r->body, &j);
        const char *field = json_string_value(json_object_get(j, "field"));
        const char *msg = json_string_value(json_object_get(j, "message"));
        bool ok = status == r->status && (!r->field || (field && strcmp(field, r->field) == 0)) &&
                  (!r->msg || (msg && strstr(msg, r->msg)));
        if (!ok)
            print_error("row %zu: %s %s %s\n  -> %d field=%s message=%s\n", i, r->method,
                        r->path, r->body, status, field ? field : "-", msg ? msg : "-");
        if (r->status >= 400)
            assert_int_equal(json_integer_value(json_object_get(j, "code")), r->status);
        json_decref(j);
        assert_true(ok);
    }
}

/* A failed deep insert leaves nothing: the counts of every set are unchanged. */
static void test_failed_deep_insert_is_atomic(void **state)
{
    Fixture *f = *state;
    const char *sets[] = {"Things", "Locations", "HistoricalLocations", "Datastreams",
                          "Sensors", "ObservedProperties", "Observations",
                          "FeaturesOfInterest"};
    long before[8], after[8];
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < 8; i++) {
            char p[96];
            snprintf(p, sizeof p, "/v1.1/%s?$count=true&$top=0", sets[i]);
            json_t *j;
            assert_int_equal(request(f, "GET", p, NULL, &j), 200);
            (k ? after : before)[i] = (long)json_integer_value(json_object_get(j, "@iot.count"));
            json_decref(j);
        }
        if (k)
            break;
        json_t *j;
        /* Everything is valid except the last Observation's result. */
        assert_int_equal(request(f, "POST", "/v1.1/Things",
                                 "{\"name\":\"t\",\"description\":\"d\",\"Locations\":[" LOC "],"
                                 "\"Datastreams\":[{\"name\":\"a\",\"description\":\"d\","
                                 "\"observationType\":\"" OM "OM_Measurement\"," UOM ","
                                 "\"Sensor\":{\"name\":\"s\",\"description\":\"d\","
                                 "\"encodingType\":\"text/html\",\"metadata\":\"m\"},"
                                 "\"ObservedProperty\":{\"name\":\"p\",\"definition\":\"d\","
                                 "\"description\":\"d\"},\"Observations\":[{\"result\":1},"
                                 "{\"result\":\"wet\"}]}]}",
                                 &j),
                         400);
        assert_string_equal(json_string_value(json_object_get(j, "field")),
                            "Datastreams[0].Observations[1].result");
        json_decref(j);
    }
    for (int i = 0; i < 8; i++)
        assert_int_equal(before[i], after[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_bodies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_deep_insert_is_atomic, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
