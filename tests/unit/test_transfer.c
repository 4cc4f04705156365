/*
 * test_transfer.c - the JSON lines of klammer export and import: entity
 * lines parsed and checked (table-driven), a file of every kind of line
 * imported into a fresh store and exported again byte for byte, and the
 * rules of an import (order, references, result types, the end line).
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

#include "app/transfer.h"
#include "sta/sta.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/log.h"

#define OM "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
#define UOM "\"unitOfMeasurement\":{\"name\":\"m\",\"symbol\":\"m\",\"definition\":\"u\"}"
#define POINT "{\"type\":\"Point\",\"coordinates\":[7.47,51.36]}"

/* ------------------------------------------------------------ parsing */

typedef struct ParseCase {
    const char *line;
    int rc;            /* expected result */
    const char *field; /* expected Err.field, or NULL */
    const char *msg;   /* fragment of the message, or NULL */
} ParseCase;

static const ParseCase parse_cases[] = {
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"name\":\"t\",\"description\":\"d\"}", 0, NULL, NULL},
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"name\":\"t\",\"description\":\"d\","
     "\"properties\":{\"a\":[1,{\"b\":null}]},\"Locations\":[{\"@iot.id\":1},{\"@iot.id\":2}]}",
     0, NULL, NULL},
    {"{\"type\":\"Thingy\",\"@iot.id\":7}", ERR_INVALID, "type", "entity type"},
    {"{\"@iot.id\":7}", ERR_INVALID, "type", NULL},
    {"{\"type\":\"Thing\",\"name\":\"t\",\"description\":\"d\"}", ERR_INVALID, "@iot.id",
     "positive"},
    {"{\"type\":\"Thing\",\"@iot.id\":0,\"name\":\"t\",\"description\":\"d\"}", ERR_INVALID,
     "@iot.id", NULL},
    {"{\"type\":\"Thing\",\"@iot.id\":\"7\",\"name\":\"t\",\"description\":\"d\"}", ERR_INVALID,
     "@iot.id", NULL},
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"description\":\"d\"}", ERR_MISSING, "name", NULL},
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"name\":5,\"description\":\"d\"}", ERR_INVALID, "name",
     "string"},
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"name\":\"t\",\"description\":\"d\",\"colour\":1}",
     ERR_UNKNOWN_PROPERTY, "colour", "no member"},
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"name\":\"t\",\"description\":\"d\","
     "\"@iot.selfLink\":\"x\"}",
     ERR_UNKNOWN_PROPERTY, "@iot.selfLink", NULL},
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"name\":\"t\",\"description\":\"d\","
     "\"Locations\":[{\"@iot.id\":1,\"name\":\"x\"}]}",
     ERR_INVALID, "Locations[0]", "@iot.id"},
    {"{\"type\":\"Thing\",\"@iot.id\":7,\"name\":\"t\",\"description\":\"d\","
     "\"Locations\":{\"@iot.id\":1}}",
     ERR_INVALID, "Locations", "array"},
    /* Location.Things is the other side of Thing.Locations: not in a line. */
    {"{\"type\":\"Location\",\"@iot.id\":1,\"name\":\"l\",\"description\":\"d\","
     "\"encodingType\":\"application/geo+json\",\"location\":" POINT
     ",\"Things\":[{\"@iot.id\":1}]}",
     ERR_UNKNOWN_PROPERTY, "Things", NULL},
    {"{\"type\":\"Location\",\"@iot.id\":1,\"name\":\"l\",\"description\":\"d\","
     "\"encodingType\":\"application/geo+json\",\"location\":{\"type\":\"Point\","
     "\"coordinates\":[700,51]}}",
     ERR_INVALID, "location", "outside"},
    {"{\"type\":\"Location\",\"@iot.id\":1,\"name\":\"l\",\"description\":\"d\","
     "\"encodingType\":\"application/geo+json\",\"location\":" POINT
     ",\"generatedFeatureOfInterest@iot.id\":\"x\"}",
     ERR_INVALID, "generatedFeatureOfInterest@iot.id", NULL},
    {"{\"type\":\"Datastream\",\"@iot.id\":1,\"name\":\"a\",\"description\":\"d\","
     "\"observationType\":\"" OM "OM_Measurement\"," UOM ",\"Thing\":{\"@iot.id\":1},"
     "\"Sensor\":{\"@iot.id\":1}}",
     ERR_MISSING, "ObservedProperty", NULL},
    {"{\"type\":\"Datastream\",\"@iot.id\":1,\"name\":\"a\",\"description\":\"d\","
     "\"observationType\":\"" OM "OM_Nonsense\"," UOM ",\"Thing\":{\"@iot.id\":1},"
     "\"Sensor\":{\"@iot.id\":1},\"ObservedProperty\":{\"@iot.id\":1}}",
     ERR_INVALID, "observationType", "Table 12"},
    /* Read-only statistics are accepted and ignored. */
    {"{\"type\":\"Datastream\",\"@iot.id\":1,\"name\":\"a\",\"description\":\"d\","
     "\"observationType\":\"" OM "OM_Measurement\"," UOM ",\"phenomenonTime\":"
     "\"2024-01-01T00:00:00Z/2024-01-02T00:00:00Z\",\"Thing\":{\"@iot.id\":1},"
     "\"Sensor\":{\"@iot.id\":1},\"ObservedProperty\":{\"@iot.id\":1}}",
     0, NULL, NULL},
    {"{\"type\":\"Observation\",\"@iot.id\":1,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":1,\"Datastream\":{\"@iot.id\":1},\"FeatureOfInterest\":{\"@iot.id\":1}}",
     0, NULL, NULL},
    {"{\"type\":\"Observation\",\"@iot.id\":1,\"phenomenonTime\":\"2024-13-01T00:00:00Z\","
     "\"result\":1,\"Datastream\":{\"@iot.id\":1},\"FeatureOfInterest\":{\"@iot.id\":1}}",
     ERR_INVALID, "phenomenonTime", NULL},
    {"{\"type\":\"Observation\",\"@iot.id\":1,\"result\":1,\"Datastream\":{\"@iot.id\":1},"
     "\"FeatureOfInterest\":{\"@iot.id\":1}}",
     ERR_MISSING, "phenomenonTime", NULL},
    {"{\"type\":\"Observation\",\"@iot.id\":1,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":1,\"FeatureOfInterest\":{\"@iot.id\":1}}",
     ERR_INVALID, "Datastream", NULL},
    {"{\"type\":\"Observation\",\"@iot.id\":1,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":1,\"Datastream\":{\"@iot.id\":1},\"MultiDatastream\":{\"@iot.id\":1},"
     "\"FeatureOfInterest\":{\"@iot.id\":1}}",
     ERR_INVALID, "Datastream", NULL},
    {"{\"type\":\"Observation\",\"@iot.id\":1,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":1,\"Datastream\":{\"@iot.id\":1}}",
     ERR_MISSING, "FeatureOfInterest", NULL},
    {"{\"type\":\"Observation\",\"@iot.id\":1,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":1,\"Datastream\":{\"@iot.id\":-3},\"FeatureOfInterest\":{\"@iot.id\":1}}",
     ERR_INVALID, "Datastream", NULL},
    {"{\"type\":\"MultiDatastream\",\"@iot.id\":1,\"name\":\"m\",\"description\":\"d\","
     "\"observationType\":\"" OM "OM_ComplexObservation\",\"unitOfMeasurements\":[{}],"
     "\"multiObservationDataTypes\":[\"" OM "OM_Measurement\"],\"Thing\":{\"@iot.id\":1},"
     "\"Sensor\":{\"@iot.id\":1}}",
     ERR_MISSING, "ObservedProperties", NULL},
};

static void test_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof parse_cases / sizeof parse_cases[0]; i++) {
        const ParseCase *c = &parse_cases[i];
        json_error_t je;
        json_t *obj = json_loads(c->line, 0, &je);
        if (!obj)
            fail_msg("case %zu is not JSON: %s", i, je.text);
        Arena a;
        arena_init(&a, 1u << 20);
        Err err;
        err_init(&err);
        StaDumpEntity e;
        int rc = sta_dump_parse(&a, obj, &e, &err);
        if (rc != c->rc)
            fail_msg("case %zu: rc %d, expected %d (%s: %s)", i, rc, c->rc, err.field, err.msg);
        if (c->field && strcmp(err.field, c->field) != 0)
            fail_msg("case %zu: field '%s', expected '%s' (%s)", i, err.field, c->field,
                     err.msg);
        if (c->msg && !strstr(err.msg, c->msg))
            fail_msg("case %zu: message '%s' lacks '%s'", i, err.msg, c->msg);
        if (rc == 0) {
            assert_int_equal(e.id, json_integer_value(json_object_get(obj, "@iot.id")));
            assert_true(e.set[0]);
        }
        arena_fini(&a);
        json_decref(obj);
    }
}

static void test_parsed_values(void **state)
{
    (void)state;
    json_t *obj = json_loads(
        "{\"type\":\"MultiDatastream\",\"@iot.id\":9,\"name\":\"m\",\"description\":\"d\","
        "\"observationType\":\"" OM "OM_ComplexObservation\",\"unitOfMeasurements\":"
        "[{\"name\":\"a\",\"symbol\":\"a\",\"definition\":\"a\"},{\"name\":\"b\","
        "\"symbol\":\"b\",\"definition\":\"b\"}],\"multiObservationDataTypes\":[\"" OM
        "OM_Measurement\",\"" OM "OM_TruthObservation\"],\"ObservedProperties\":"
        "[{\"@iot.id\":4},{\"@iot.id\":2}],\"Thing\":{\"@iot.id\":3},\"Sensor\":"
        "{\"@iot.id\":5}}",
        0, NULL);
    assert_non_null(obj);
    Arena a;
    arena_init(&a, 1u << 20);
    Err err;
    err_init(&err);
    StaDumpEntity e;
    assert_int_equal(sta_dump_parse(&a, obj, &e, &err), 0);
    const EntityDef *def = model_entity(ENT_MULTI_DATASTREAM);
    assert_ptr_equal(e.def, def);
    assert_int_equal(e.id, 9);
    assert_int_equal(e.nlinks, 2);
    assert_int_equal(e.links[0], 4);
    assert_int_equal(e.links[1], 2);
    assert_string_equal(e.link_rel->name, "ObservedProperties");
    const Rel *thing = model_rel(def, "Thing", 5), *sensor = model_rel(def, "Sensor", 6);
    assert_int_equal(e.vals[thing->fk_slot].i, 3);
    assert_int_equal(e.vals[sensor->fk_slot].i, 5);
    arena_fini(&a);
    json_decref(obj);
}

/* ------------------------------------------------------- with a store */

typedef struct Fixture {
    char dir[64], path[96];
    Store *store;
} Fixture;

static int setup(void **state)
{
    log_level = LOG_ERROR;
    Fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/klammer-transfer-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/k.db", f->dir);
    Err err;
    err_init(&err);
    StoreConfig sc = {f->path, 2, 64, false};
    assert_int_equal(store_open(&sc, &f->store, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    store_close(f->store);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* Lines of an export in the exporter's own spelling, every entity type. */
#define HEADER                                                                          \
    "{\"type\":\"klammer-export\",\"format\":\"klammer-sensorthings-jsonl\","           \
    "\"formatVersion\":1,\"klammer\":\"0.1.0\",\"exported\":\"2026-01-01T00:00:00.000Z\"}"
static const char *const entity_lines[] = {
    "{\"type\":\"Sensor\",\"@iot.id\":2,\"name\":\"s\",\"description\":\"d\","
    "\"encodingType\":\"application/pdf\",\"metadata\":\"https://x/s.pdf\","
    "\"properties\":{\"serial\":\"A-1\"}}",
    "{\"type\":\"ObservedProperty\",\"@iot.id\":1,\"name\":\"level\",\"definition\":\"x\","
    "\"description\":\"d\"}",
    "{\"type\":\"ObservedProperty\",\"@iot.id\":5,\"name\":\"flow\",\"definition\":\"y\","
    "\"description\":\"d\"}",
    "{\"type\":\"FeatureOfInterest\",\"@iot.id\":3,\"name\":\"l\",\"description\":\"d\","
    "\"encodingType\":\"application/geo+json\",\"feature\":" POINT "}",
    "{\"type\":\"Location\",\"@iot.id\":4,\"name\":\"l\",\"description\":\"d\","
    "\"encodingType\":\"application/geo+json\",\"location\":" POINT
    ",\"properties\":{\"\xc3\xbc" "ber\":\"\\\"q\\\"\"},\"generatedFeatureOfInterest@iot.id\":3}",
    "{\"type\":\"Thing\",\"@iot.id\":7,\"name\":\"Pegel\",\"description\":\"Volme\","
    "\"Locations\":[{\"@iot.id\":4}]}",
    "{\"type\":\"HistoricalLocation\",\"@iot.id\":2,\"time\":\"2024-01-01T00:00:00.000001Z\","
    "\"Locations\":[{\"@iot.id\":4}],\"Thing\":{\"@iot.id\":7}}",
    "{\"type\":\"Datastream\",\"@iot.id\":6,\"name\":\"a\",\"description\":\"d\"," UOM
    ",\"observationType\":\"" OM "OM_Measurement\",\"phenomenonTime\":"
    "\"2024-01-01T00:00:00.000Z/2024-01-03T00:00:00.000Z\",\"resultTime\":"
    "\"2024-01-01T00:00:05.000Z/2024-01-01T00:00:05.000Z\",\"Thing\":{\"@iot.id\":7},"
    "\"Sensor\":{\"@iot.id\":2},\"ObservedProperty\":{\"@iot.id\":1}}",
    "{\"type\":\"MultiDatastream\",\"@iot.id\":2,\"name\":\"m\",\"description\":\"d\","
    "\"unitOfMeasurements\":[{\"name\":\"a\",\"symbol\":\"a\",\"definition\":\"a\"},"
    "{\"name\":\"b\",\"symbol\":\"b\",\"definition\":\"b\"}],\"observationType\":\"" OM
    "OM_ComplexObservation\",\"multiObservationDataTypes\":[\"" OM "OM_Measurement\",\"" OM
    "OM_TruthObservation\"],\"phenomenonTime\":\"2024-01-02T00:00:00.000Z/"
    "2024-01-02T00:00:00.000Z\",\"ObservedProperties\":[{\"@iot.id\":5},{\"@iot.id\":1}],"
    "\"Thing\":{\"@iot.id\":7},\"Sensor\":{\"@iot.id\":2}}",
    "{\"type\":\"Observation\",\"@iot.id\":10,\"phenomenonTime\":\"2024-01-01T00:00:00.000Z\","
    "\"resultTime\":\"2024-01-01T00:00:05.000Z\",\"result\":1.25,\"Datastream\":"
    "{\"@iot.id\":6},\"FeatureOfInterest\":{\"@iot.id\":3}}",
    "{\"type\":\"Observation\",\"@iot.id\":11,\"phenomenonTime\":\"2024-01-02T00:00:00.000Z/"
    "2024-01-03T00:00:00.000Z\",\"resultTime\":null,\"result\":3,\"validTime\":"
    "\"2024-01-02T00:00:00.000Z/2024-01-04T00:00:00.000Z\",\"parameters\":{\"q\":[1,2]},"
    "\"Datastream\":{\"@iot.id\":6},\"FeatureOfInterest\":{\"@iot.id\":3}}",
    "{\"type\":\"Observation\",\"@iot.id\":12,\"phenomenonTime\":\"2024-01-02T00:00:00.000Z\","
    "\"resultTime\":null,\"result\":[0.5,true],\"resultQuality\":\"good\","
    "\"MultiDatastream\":{\"@iot.id\":2},\"FeatureOfInterest\":{\"@iot.id\":3}}",
};
#define NENT (sizeof entity_lines / sizeof entity_lines[0])

#define DEVICE                                                                          \
    "{\"type\":\"Device\",\"devEui\":\"70B3D57BA0001267\",\"name\":\"bin\",\"thingId\":7,"   \
    "\"decoder\":\"none\",\"decoderSpec\":null,\"useNsDecoded\":true,\"mapping\":"       \
    "{\"level\":{\"datastream\":6,\"unit\":\"m\"}},\"created\":\"2025-01-01T00:00:00.000Z\"," \
    "\"updated\":\"2025-02-01T00:00:00.000Z\"}"
#define DEAD_LETTER                                                                     \
    "{\"type\":\"DeadLetter\",\"time\":\"2025-01-01T00:00:00.000Z\",\"source\":\"mqtt\","   \
    "\"topic\":\"v1.1/Observations\",\"encoding\":\"base64\",\"payload\":\"/wA=\","      \
    "\"reason\":\"not JSON\",\"replayed_at\":null}"
#define END                                                                             \
    "{\"type\":\"end\",\"lines\":16,\"counts\":{\"Sensor\":1,\"ObservedProperty\":2,"    \
    "\"FeatureOfInterest\":1,\"Location\":1,\"Thing\":1,\"HistoricalLocation\":1,"       \
    "\"Datastream\":1,\"MultiDatastream\":1,\"Observation\":3,\"Device\":1,"             \
    "\"DeadLetter\":1}}"

typedef struct Lines {
    const char *const *v;
    size_t n;
    size_t failed_at; /* OUT: index of the failing line */
} Lines;

static int import_lines(StoreConn *c, void *data, Err *err)
{
    Lines *l = data;
    TransferState st = {.ents = sta_dump_state_new()};
    int rc = 0;
    for (size_t i = 0; !rc && i < l->n; i++) {
        json_error_t je;
        json_t *obj = json_loads(l->v[i], JSON_ALLOW_NUL, &je);
        if (!obj)
            fail_msg("line %zu is not JSON: %s", i, je.text);
        Arena a;
        arena_init(&a, 1u << 20);
        rc = transfer_line(c, &a, &st, obj, err);
        arena_fini(&a);
        json_decref(obj);
        l->failed_at = i;
    }
    sta_dump_state_free(st.ents);
    return rc;
}

static int collect(void *data, const char *line, size_t len, Err *err)
{
    (void)err;
    buf_append(data, line, len);
    return 0;
}

static void test_round_trip(void **state)
{
    Fixture *f = *state;
    const char *lines[NENT + 4];
    size_t n = 0;
    lines[n++] = HEADER;
    for (size_t i = 0; i < NENT; i++)
        lines[n++] = entity_lines[i];
    lines[n++] = DEVICE;
    lines[n++] = DEAD_LETTER;
    lines[n++] = END;
    Lines l = {lines, n, 0};
    Err err;
    err_init(&err);
    if (store_run(f->store, import_lines, &l, &err))
        fail_msg("line %zu: %s: %s", l.failed_at + 1, err.field, err.msg);

    /* Every entity comes out as it went in. */
    StoreConn *c;
    assert_int_equal(store_read_begin(f->store, &c, &err), 0);
    Buf b;
    buf_init(&b);
    int64_t count = 0;
    for (int i = 0; sta_dump_order(i); i++)
        assert_int_equal(sta_dump_write(c, sta_dump_order(i), 2, collect, &b, &count, &err), 0);
    assert_int_equal(count, NENT);
    Buf want;
    buf_init(&want);
    for (size_t i = 0; i < NENT; i++) {
        buf_puts(&want, entity_lines[i]);
        buf_putc(&want, '\n');
    }
    buf_putc(&b, '\0');
    buf_putc(&want, '\0');
    assert_string_equal(b.data, want.data);

    /* The device keeps both its times; the dead letter its bytes. */
    Arena a;
    arena_init(&a, 1u << 20);
    StoreDevice d;
    assert_int_equal(store_device_get(c, &a, "70B3D57BA0001267", &d, &err), 0);
    assert_int_equal(d.created, 1735689600000000LL);
    assert_int_equal(d.updated, 1738368000000000LL);
    assert_int_equal(d.thing_id, 7);
    StoreDeadLetter *dl;
    size_t ndl;
    bool more;
    assert_int_equal(store_dead_letters_read(c, &a, 10, 0, &dl, &ndl, &more, &err), 0);
    assert_int_equal(ndl, 1);
    assert_int_equal(dl[0].len, 2);
    assert_memory_equal(dl[0].payload, "\xff\x00", 2);
    arena_fini(&a);
    store_read_end(f->store, c);
    buf_fini(&b);
    buf_fini(&want);
}

typedef struct ImportCase {
    const char *line; /* appended after the header and the entity lines */
    const char *field;
    const char *msg;
} ImportCase;

static const ImportCase import_cases[] = {
    /* a reference to an entity that does not come before */
    {"{\"type\":\"Datastream\",\"@iot.id\":8,\"name\":\"a\",\"description\":\"d\"," UOM
     ",\"observationType\":\"" OM "OM_Measurement\",\"Thing\":{\"@iot.id\":9},"
     "\"Sensor\":{\"@iot.id\":2},\"ObservedProperty\":{\"@iot.id\":1}}",
     "Thing", "Thing 9 does not come before"},
    /* ids of a type ascend */
    {"{\"type\":\"Observation\",\"@iot.id\":11,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":1,\"Datastream\":{\"@iot.id\":6},\"FeatureOfInterest\":{\"@iot.id\":3}}",
     "@iot.id", "must ascend"},
    /* a result that does not fit the Datastream */
    {"{\"type\":\"Observation\",\"@iot.id\":20,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":\"wet\",\"Datastream\":{\"@iot.id\":6},\"FeatureOfInterest\":{\"@iot.id\":3}}",
     "result", "number"},
    {"{\"type\":\"Observation\",\"@iot.id\":20,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":[1],\"MultiDatastream\":{\"@iot.id\":2},\"FeatureOfInterest\":{\"@iot.id\":3}}",
     "result", "2 values"},
    {"{\"type\":\"Observation\",\"@iot.id\":20,\"phenomenonTime\":\"2024-01-01T00:00:00Z\","
     "\"result\":[1,2],\"MultiDatastream\":{\"@iot.id\":2},\"FeatureOfInterest\":{\"@iot.id\":3}}",
     "result[1]", "true or false"},
    /* a Location line after the Things refers to a FeatureOfInterest */
    {"{\"type\":\"Location\",\"@iot.id\":9,\"name\":\"l\",\"description\":\"d\","
     "\"encodingType\":\"application/geo+json\",\"location\":" POINT
     ",\"generatedFeatureOfInterest@iot.id\":4}",
     "generatedFeatureOfInterest@iot.id", "FeatureOfInterest 4"},
    {"{\"type\":\"MultiDatastream\",\"@iot.id\":3,\"name\":\"m\",\"description\":\"d\","
     "\"unitOfMeasurements\":[{\"name\":\"a\",\"symbol\":\"a\",\"definition\":\"a\"}],"
     "\"observationType\":\"" OM "OM_ComplexObservation\",\"multiObservationDataTypes\":[\"" OM
     "OM_Measurement\"],\"ObservedProperties\":[{\"@iot.id\":5},{\"@iot.id\":1}],"
     "\"Thing\":{\"@iot.id\":7},\"Sensor\":{\"@iot.id\":2}}",
     "ObservedProperties", "same length"},
    {"{\"type\":\"Device\",\"devEui\":\"70B3D57BA0001267\",\"name\":\"bin\",\"thingId\":null,"
     "\"decoder\":\"none\",\"decoderSpec\":null,\"useNsDecoded\":true,\"mapping\":"
     "{\"level\":{\"datastream\":99}},\"created\":\"2025-01-01T00:00:00Z\","
     "\"updated\":\"2025-01-01T00:00:00Z\"}",
     "mapping", "Datastream 99"},
    {"{\"type\":\"DeadLetter\",\"time\":\"2025-01-01T00:00:00Z\",\"source\":\"mqtt\","
     "\"topic\":null,\"encoding\":\"base64\",\"payload\":\"*\",\"reason\":\"r\","
     "\"replayed_at\":null}",
     "payload", "base64"},
    {"{\"type\":\"end\",\"lines\":14,\"counts\":{\"Thing\":2}}", "counts",
     "counts 2 Thing, the file has 1"},
    {"{\"type\":\"end\",\"lines\":3,\"counts\":{}}", "lines", "the file has 14"},
    {"{\"type\":\"klammer-export\"}", "type", "entity type"},
    {"[1]", NULL, "JSON object"},
};

static void test_import_errors(void **state)
{
    Fixture *f = *state;
    for (size_t k = 0; k < sizeof import_cases / sizeof import_cases[0]; k++) {
        const char *lines[NENT + 2];
        size_t n = 0;
        lines[n++] = HEADER;
        for (size_t i = 0; i < NENT; i++)
            lines[n++] = entity_lines[i];
        lines[n++] = import_cases[k].line;
        Lines l = {lines, n, 0};
        Err err;
        err_init(&err);
        int rc = store_run(f->store, import_lines, &l, &err);
        if (rc == 0 || l.failed_at != n - 1)
            fail_msg("case %zu: rc %d at line %zu (%s)", k, rc, l.failed_at + 1, err.msg);
        if (import_cases[k].field && strcmp(err.field, import_cases[k].field) != 0)
            fail_msg("case %zu: field '%s', expected '%s' (%s)", k, err.field,
                     import_cases[k].field, err.msg);
        if (!strstr(err.msg, import_cases[k].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", k, err.msg, import_cases[k].msg);
    }
    /* The failed jobs left nothing behind. */
    StoreConn *c;
    Err err;
    err_init(&err);
    assert_int_equal(store_read_begin(f->store, &c, &err), 0);
    bool exists = true;
    assert_int_equal(store_exists(c, model_entity(ENT_THING), 7, &exists, &err), 0);
    assert_false(exists);
    store_read_end(f->store, c);
}

static void test_header(void **state)
{
    Fixture *f = *state;
    static const struct {
        const char *line, *msg;
    } cases[] = {
        {"{\"type\":\"Thing\",\"@iot.id\":1}", "first line must be the header"},
        {"{\"type\":\"klammer-export\",\"format\":\"csv\",\"formatVersion\":1}",
         "no klammer export"},
        {"{\"type\":\"klammer-export\",\"format\":\"klammer-sensorthings-jsonl\","
         "\"formatVersion\":2}",
         "newer klammer"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const char *lines[1] = {cases[k].line};
        Lines l = {lines, 1, 0};
        Err err;
        err_init(&err);
        assert_int_not_equal(store_run(f->store, import_lines, &l, &err), 0);
        if (!strstr(err.msg, cases[k].msg))
            fail_msg("case %zu: message '%s' lacks '%s'", k, err.msg, cases[k].msg);
    }
}

/* A new Thing through the store's ordinary insert; data: int64_t * for its id. */
static int insert_thing(StoreConn *c, void *data, Err *err)
{
    StoreValue v[4] = {{0}, {SV_TEXT, 0, 0, "n", 1}, {SV_TEXT, 0, 0, "d", 1}, {0}};
    bool set[4] = {false, true, true, false};
    return store_insert(c, model_entity(ENT_THING), v, set, data, err);
}

/* Ids the database assigns after an import lie above the imported ones,
 * and above the end line's nextIds (ids the source gave to deleted ones). */
static void test_ids_after_import(void **state)
{
    Fixture *f = *state;
    const char *lines[NENT + 2];
    size_t n = 0;
    lines[n++] = HEADER;
    for (size_t i = 0; i < NENT; i++)
        lines[n++] = entity_lines[i];
    lines[n++] = "{\"type\":\"end\",\"lines\":14,\"counts\":{},\"nextIds\":{\"Thing\":20,"
                 "\"Sensor\":1}}";
    Lines l = {lines, n, 0};
    Err err;
    err_init(&err);
    assert_int_equal(store_run(f->store, import_lines, &l, &err), 0);
    int64_t id = 0;
    assert_int_equal(store_run(f->store, insert_thing, &id, &err), 0);
    assert_int_equal(id, 20);
    StoreConn *c;
    assert_int_equal(store_read_begin(f->store, &c, &err), 0);
    int64_t next;
    assert_int_equal(store_ids_next(c, model_entity(ENT_THING), &next, &err), 0);
    assert_int_equal(next, 21);
    assert_int_equal(store_ids_next(c, model_entity(ENT_SENSOR), &next, &err), 0);
    assert_int_equal(next, 3); /* a smaller minimum changes nothing */
    assert_int_equal(store_ids_next(c, model_entity(ENT_MULTI_DATASTREAM), &next, &err), 0);
    assert_int_equal(next, 3);
    store_read_end(f->store, c);
}

/* Inserting under a taken id is a conflict that names the entity. */
static int insert_thing_7(StoreConn *c, void *data, Err *err)
{
    (void)data;
    StoreValue v[4] = {{SV_INT, 7, 0, NULL, 0}, {SV_TEXT, 0, 0, "n", 1}, {SV_TEXT, 0, 0, "d", 1},
                       {0}};
    bool set[4] = {true, true, true, false};
    return store_insert_id(c, model_entity(ENT_THING), v, set, err);
}

static void test_insert_id_taken(void **state)
{
    Fixture *f = *state;
    Err err;
    err_init(&err);
    assert_int_equal(store_run(f->store, insert_thing_7, NULL, &err), 0);
    err_init(&err);
    assert_int_equal(store_run(f->store, insert_thing_7, NULL, &err), ERR_CONFLICT);
    assert_string_equal(err.msg, "Thing 7 exists already");
    int64_t id = 0;
    assert_int_equal(store_run(f->store, insert_thing, &id, &err), 0);
    assert_int_equal(id, 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_parsed_values),
        cmocka_unit_test_setup_teardown(test_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ids_after_import, setup, teardown),
        cmocka_unit_test_setup_teardown(test_insert_id_taken, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
