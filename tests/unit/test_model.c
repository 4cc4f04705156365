/*
 * test_model.c - unit tests for model/: the entity tables are consistent
 * (slots, relations and their inverses, the limits other modules assume),
 * and the checks on observation types, results, GeoJSON and units of
 * measurement, each driven by a table of JSON texts.
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

#include "model/model.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))
#define OM "http://www.opengis.net/def/observationType/OGC-OM/2.0/"

/* Limits assumed elsewhere: select bitmasks (query.h), Vals (sta/write.c). */
#define SELECT_BITS 32
#define WRITE_MAX_COLS 32
#define WRITE_MAX_RELS 16

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        print_error("bad test JSON '%s': %s\n", text, je.text);
    assert_non_null(j);
    return j;
}

/* ========================================================================== */
/* Tables                                                                     */
/* ========================================================================== */

static void test_entities_lookup(void **state)
{
    (void)state;
    assert_null(model_entity(ENT__COUNT));
    assert_null(model_entity((EntityType)-1));
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *d = model_entity((EntityType)t);
        assert_non_null(d);
        assert_int_equal(d->type, t);
        assert_ptr_equal(model_entity_by_set(d->set, strlen(d->set)), d);
        assert_ptr_equal(model_entity_by_name(d->name, strlen(d->name)), d);
        /* Lookups use the length, not the terminator. */
        assert_null(model_entity_by_set(d->set, strlen(d->set) - 1));
        assert_null(model_entity_by_name(d->name, strlen(d->name) - 1));
        for (int u = 0; u < t; u++) {
            const EntityDef *e = model_entity((EntityType)u);
            assert_string_not_equal(d->set, e->set);
            assert_string_not_equal(d->name, e->name);
            assert_string_not_equal(d->table, e->table);
        }
    }
    assert_null(model_entity_by_set("Thing", 5));
    assert_null(model_entity_by_name("Things", 6));
    assert_ptr_equal(model_entity_by_set("ThingsX", 6), model_entity(ENT_THING));
    assert_ptr_equal(model_entity_by_set("FeaturesOfInterest", 18), model_entity(ENT_FEATURE));
}

static void test_entities_slots(void **state)
{
    (void)state;
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *d = model_entity((EntityType)t);
        int used[64] = {0};
        assert_true(d->ncols >= 2 && d->ncols <= WRITE_MAX_COLS && d->ncols < 64);
        assert_string_equal(d->cols[0], "id");
        assert_true(d->nprops >= 1 && d->nprops <= SELECT_BITS);
        assert_true(d->nrels >= 1 && d->nrels <= SELECT_BITS && d->nrels <= WRITE_MAX_RELS);
        for (int i = 0; i < d->ncols; i++) {
            assert_non_null(d->cols[i]);
            for (int k = 0; k < i; k++)
                assert_string_not_equal(d->cols[i], d->cols[k]);
        }
        for (int i = 0; i < d->nprops; i++) {
            const Prop *p = &d->props[i];
            assert_ptr_equal(model_prop(d, p->name, strlen(p->name)), p);
            assert_null(model_rel(d, p->name, strlen(p->name)));
            assert_true(p->slot >= 1 && p->slot < d->ncols);
            assert_int_equal(used[p->slot]++, 0);
            bool two = p->type == PT_TIME || p->type == PT_INTERVAL || p->type == PT_RESULT;
            if (two) {
                assert_true(p->slot2 >= 1 && p->slot2 < d->ncols);
                assert_int_equal(used[p->slot2]++, 0);
            } else {
                assert_int_equal(p->slot2, -1);
            }
            /* Required properties are never computed by the server. */
            assert_false((p->flags & PROP_REQUIRED) && (p->flags & PROP_READONLY));
        }
        for (int i = 0; i < d->nrels; i++) {
            const Rel *r = &d->rels[i];
            const EntityDef *td = model_entity(r->target);
            assert_non_null(td);
            assert_ptr_equal(model_rel(d, r->name, strlen(r->name)), r);
            switch (r->kind) {
            case REL_ONE:
                assert_true(r->fk_slot >= 1 && r->fk_slot < d->ncols);
                assert_int_equal(used[r->fk_slot]++, 0);
                /* A to-one navigation property is the singular target name. */
                assert_string_equal(r->name, td->name);
                break;
            case REL_MANY: {
                assert_int_equal(r->fk_slot, -1);
                assert_non_null(r->fk_col);
                bool found = false;
                for (int k = 0; k < td->ncols; k++)
                    found |= strcmp(td->cols[k], r->fk_col) == 0;
                assert_true(found);
                assert_string_equal(r->name, td->set);
                assert_false(r->required);
                break;
            }
            case REL_LINK:
                assert_int_equal(r->fk_slot, -1);
                assert_non_null(r->link_table);
                assert_non_null(r->link_this);
                assert_non_null(r->link_other);
                assert_string_not_equal(r->link_this, r->link_other);
                assert_string_equal(r->name, td->set);
                assert_false(r->required);
                break;
            }
        }
        if (d->encoding_slot >= 0) {
            const Prop *enc = model_prop(d, "encodingType", 12);
            assert_non_null(enc);
            assert_int_equal(enc->slot, d->encoding_slot);
        } else {
            assert_int_equal(d->encoding_slot, -1);
        }
    }
}

static void test_entities_inverse(void **state)
{
    (void)state;
    int pairs = 0;
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *d = model_entity((EntityType)t);
        for (int i = 0; i < d->nrels; i++) {
            const Rel *r = &d->rels[i];
            const EntityDef *td = model_entity(r->target);
            const Rel *inv = model_rel_inverse(d, r);
            if (!inv)
                print_error("%s.%s has no inverse\n", d->name, r->name);
            assert_non_null(inv);
            /* The inverse belongs to the target and leads back. */
            assert_true(inv >= td->rels && inv < td->rels + td->nrels);
            assert_int_equal(inv->target, d->type);
            assert_ptr_equal(model_rel_inverse(td, inv), r);
            switch (r->kind) {
            case REL_ONE:
                assert_int_equal(inv->kind, REL_MANY);
                assert_string_equal(inv->fk_col, d->cols[r->fk_slot]);
                break;
            case REL_MANY:
                assert_int_equal(inv->kind, REL_ONE);
                assert_string_equal(td->cols[inv->fk_slot], r->fk_col);
                break;
            case REL_LINK:
                assert_int_equal(inv->kind, REL_LINK);
                assert_string_equal(inv->link_table, r->link_table);
                assert_string_equal(inv->link_this, r->link_other);
                assert_string_equal(inv->link_other, r->link_this);
                break;
            }
            pairs++;
        }
    }
    assert_int_equal(pairs % 2, 0);
}

/* The relations OGC 18-088 §8 requires on create, and the core names. */
static void test_entities_spec(void **state)
{
    (void)state;
    static const struct {
        EntityType t;
        const char *rel;
        bool required;
    } rels[] = {
        {ENT_DATASTREAM, "Thing", true},
        {ENT_DATASTREAM, "Sensor", true},
        {ENT_DATASTREAM, "ObservedProperty", true},
        {ENT_MULTI_DATASTREAM, "Thing", true},
        {ENT_MULTI_DATASTREAM, "Sensor", true},
        {ENT_HISTORICAL_LOCATION, "Thing", true},
        {ENT_OBSERVATION, "Datastream", false},
        {ENT_OBSERVATION, "MultiDatastream", false},
        {ENT_OBSERVATION, "FeatureOfInterest", false},
    };
    for (size_t i = 0; i < COUNT(rels); i++) {
        const EntityDef *d = model_entity(rels[i].t);
        const Rel *r = model_rel(d, rels[i].rel, strlen(rels[i].rel));
        assert_non_null(r);
        assert_int_equal(r->kind, REL_ONE);
        assert_int_equal(r->required, rels[i].required);
    }
    static const struct {
        EntityType t;
        const char *prop;
        PropType type;
        unsigned flags;
    } props[] = {
        {ENT_THING, "name", PT_STRING, PROP_REQUIRED},
        {ENT_THING, "properties", PT_OBJECT, PROP_NULLABLE},
        {ENT_LOCATION, "location", PT_GEO, PROP_REQUIRED},
        {ENT_HISTORICAL_LOCATION, "time", PT_INSTANT, PROP_REQUIRED},
        {ENT_DATASTREAM, "phenomenonTime", PT_INTERVAL, PROP_READONLY | PROP_NULLABLE},
        {ENT_DATASTREAM, "unitOfMeasurement", PT_OBJECT, PROP_REQUIRED},
        {ENT_MULTI_DATASTREAM, "unitOfMeasurements", PT_UOM_ARRAY, PROP_REQUIRED},
        {ENT_MULTI_DATASTREAM, "multiObservationDataTypes", PT_TYPE_ARRAY, PROP_REQUIRED},
        {ENT_SENSOR, "metadata", PT_ANY, PROP_REQUIRED},
        {ENT_OBSERVATION, "phenomenonTime", PT_TIME, 0},
        {ENT_OBSERVATION, "result", PT_RESULT, PROP_REQUIRED | PROP_NULLABLE},
        {ENT_OBSERVATION, "validTime", PT_INTERVAL, PROP_NULLABLE},
        {ENT_FEATURE, "feature", PT_GEO, PROP_REQUIRED},
    };
    for (size_t i = 0; i < COUNT(props); i++) {
        const EntityDef *d = model_entity(props[i].t);
        const Prop *p = model_prop(d, props[i].prop, strlen(props[i].prop));
        assert_non_null(p);
        assert_int_equal(p->type, props[i].type);
        assert_int_equal(p->flags, props[i].flags);
    }
    assert_null(model_prop(model_entity(ENT_THING), "id", 2));
    assert_null(model_prop(model_entity(ENT_THING), "Name", 4));
}

/* ========================================================================== */
/* Observation types and results                                              */
/* ========================================================================== */

static void test_obs_type(void **state)
{
    (void)state;
    static const struct {
        const char *uri;
        ObsType t;
    } cases[] = {
        {OM "OM_CategoryObservation", OT_CATEGORY},
        {OM "OM_CountObservation", OT_COUNT},
        {OM "OM_Measurement", OT_MEASUREMENT},
        {OM "OM_Observation", OT_OBSERVATION},
        {OM "OM_TruthObservation", OT_TRUTH},
        {OM "OM_ComplexObservation", OT_COMPLEX},
        {OM "OM_measurement", OT_UNKNOWN},
        {OM "OM_Measurement ", OT_UNKNOWN},
        {OM "OM_MeasurementX", OT_UNKNOWN},
        {OM, OT_UNKNOWN},
        {"OM_Measurement", OT_UNKNOWN},
        {"https://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement", OT_UNKNOWN},
        {"http://www.opengis.net/def/observationType/OGC-OM/1.0/OM_Measurement", OT_UNKNOWN},
        {"", OT_UNKNOWN},
        {NULL, OT_UNKNOWN},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        if (model_obs_type(cases[i].uri) != cases[i].t)
            print_error("'%s'\n", cases[i].uri ? cases[i].uri : "(null)");
        assert_int_equal(model_obs_type(cases[i].uri), cases[i].t);
    }
}

static void test_check_result(void **state)
{
    (void)state;
    static const struct {
        ObsType t;
        const char *json;
        bool ok;
        const char *msg;
    } cases[] = {
        {OT_MEASUREMENT, "1", true, NULL},
        {OT_MEASUREMENT, "-2.5e3", true, NULL},
        {OT_MEASUREMENT, "0.0", true, NULL},
        {OT_MEASUREMENT, "\"1\"", false, "must be a number"},
        {OT_MEASUREMENT, "true", false, "OM_Measurement"},
        {OT_MEASUREMENT, "null", false, "must be a number"},
        {OT_MEASUREMENT, "[1]", false, "must be a number"},
        {OT_MEASUREMENT, "{}", false, "must be a number"},
        {OT_COUNT, "42", true, NULL},
        {OT_COUNT, "-1", true, NULL},
        {OT_COUNT, "42.0", false, "must be an integer"},
        {OT_COUNT, "\"42\"", false, "OM_CountObservation"},
        {OT_COUNT, "false", false, "must be an integer"},
        {OT_TRUTH, "true", true, NULL},
        {OT_TRUTH, "false", true, NULL},
        {OT_TRUTH, "1", false, "must be true or false"},
        {OT_TRUTH, "\"true\"", false, "OM_TruthObservation"},
        {OT_CATEGORY, "\"http://example.org/wet\"", true, NULL},
        {OT_CATEGORY, "\"\"", true, NULL},
        {OT_CATEGORY, "3", false, "must be a string"},
        {OT_CATEGORY, "null", false, "OM_CategoryObservation"},
        {OT_COMPLEX, "[1, \"a\", true]", true, NULL},
        {OT_COMPLEX, "[]", true, NULL},
        {OT_COMPLEX, "{\"a\": 1}", false, "must be an array"},
        {OT_COMPLEX, "1", false, "MultiDatastream"},
        {OT_OBSERVATION, "1", true, NULL},
        {OT_OBSERVATION, "{\"any\": [null]}", true, NULL},
        {OT_OBSERVATION, "null", true, NULL},
        {OT_UNKNOWN, "\"x\"", true, NULL},
    };
    int failures = 0;
    for (size_t i = 0; i < COUNT(cases); i++) {
        json_t *j = parse(cases[i].json);
        Err err;
        err_init(&err);
        int rc = model_check_result(cases[i].t, j, "result[1]", &err);
        bool ok = rc == 0 && err.code == 0;
        if (ok != cases[i].ok ||
            (!ok && (rc != ERR_INVALID || err.code != ERR_INVALID ||
                     strcmp(err.field, "result[1]") != 0 || !strstr(err.msg, cases[i].msg) ||
                     !strstr(err.msg, "result[1]")))) {
            print_error("type %d %s: rc %d field '%s' msg '%s'\n", cases[i].t, cases[i].json, rc,
                        err.field, err.msg);
            failures++;
        }
        json_decref(j);
    }
    /* A NULL result (a missing JSON value) is not a number either. */
    assert_int_equal(model_check_result(OT_MEASUREMENT, NULL, "result", NULL), ERR_INVALID);
    assert_int_equal(failures, 0);
}

/* ========================================================================== */
/* GeoJSON                                                                    */
/* ========================================================================== */

typedef struct GeoCase {
    const char *json;
    const char *msg; /* NULL: valid; else fragment of the message */
} GeoCase;

#define RING "[[0,0],[1,0],[1,1],[0,0]]"
#define RING2 "[[10,10],[11,10],[11,11],[10,11],[10,10]]"

static const GeoCase geo_cases[] = {
    /* Point */
    {"{\"type\":\"Point\",\"coordinates\":[7.47,51.36]}", NULL},
    {"{\"type\":\"Point\",\"coordinates\":[7.47,51.36,105.5]}", NULL},
    {"{\"type\":\"Point\",\"coordinates\":[-180,-90]}", NULL},
    {"{\"type\":\"Point\",\"coordinates\":[180,90]}", NULL},
    {"{\"type\":\"Point\",\"coordinates\":[0,0,-11000]}", NULL},
    {"{\"type\":\"Point\",\"coordinates\":[7,51],\"bbox\":[7,51,7,51]}", NULL},
    {"{\"type\":\"Point\",\"coordinates\":[180.0001,0]}", "outside longitude"},
    {"{\"type\":\"Point\",\"coordinates\":[-180.5,0]}", "outside longitude"},
    {"{\"type\":\"Point\",\"coordinates\":[0,90.5]}", "outside longitude -180..180 / latitude"},
    {"{\"type\":\"Point\",\"coordinates\":[0,-91]}", "latitude -90..90"},
    {"{\"type\":\"Point\",\"coordinates\":[7]}", "a position must be an array of 2 or 3 numbers"},
    {"{\"type\":\"Point\",\"coordinates\":[]}", "2 or 3 numbers"},
    {"{\"type\":\"Point\",\"coordinates\":[1,2,3,4]}", "2 or 3 numbers"},
    {"{\"type\":\"Point\",\"coordinates\":[\"7\",51]}", "coordinates must be numbers"},
    {"{\"type\":\"Point\",\"coordinates\":[7,null]}", "coordinates must be numbers"},
    {"{\"type\":\"Point\",\"coordinates\":7}", "2 or 3 numbers"},
    {"{\"type\":\"Point\",\"coordinates\":[[7,51]]}", "2 or 3 numbers"},
    {"{\"type\":\"Point\"}", "a Point needs \"coordinates\""},
    /* MultiPoint */
    {"{\"type\":\"MultiPoint\",\"coordinates\":[[1,2],[3,4]]}", NULL},
    {"{\"type\":\"MultiPoint\",\"coordinates\":[]}", NULL},
    {"{\"type\":\"MultiPoint\",\"coordinates\":[1,2]}", "2 or 3 numbers"},
    {"{\"type\":\"MultiPoint\",\"coordinates\":[[1,200]]}", "outside"},
    /* LineString */
    {"{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}", NULL},
    {"{\"type\":\"LineString\",\"coordinates\":[[1,2]]}", "needs at least 2 positions"},
    {"{\"type\":\"LineString\",\"coordinates\":[]}", "needs at least 2 positions"},
    {"{\"type\":\"LineString\",\"coordinates\":{}}", "nested arrays"},
    /* MultiLineString */
    {"{\"type\":\"MultiLineString\",\"coordinates\":[[[1,2],[3,4]],[[5,6],[7,8],[9,10]]]}", NULL},
    {"{\"type\":\"MultiLineString\",\"coordinates\":[[[1,2],[3,4]],[[5,6]]]}",
     "needs at least 2 positions"},
    {"{\"type\":\"MultiLineString\",\"coordinates\":[[1,2],[3,4]]}", "2 or 3 numbers"},
    {"{\"type\":\"MultiLineString\",\"coordinates\":[1,2]}", "nested arrays"},
    /* Polygon */
    {"{\"type\":\"Polygon\",\"coordinates\":[" RING "]}", NULL},
    {"{\"type\":\"Polygon\",\"coordinates\":[" RING2 "," RING2 "]}", NULL},
    {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}",
     "a polygon ring must end with its first position"},
    {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[0,0]]]}", "needs at least 4 positions"},
    {"{\"type\":\"Polygon\",\"coordinates\":[" RING ",[[5,5],[6,5],[6,6],[5,6]]]}",
     "must end with its first position"},
    {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0.0000001]]]}",
     "must end with its first position"},
    {"{\"type\":\"Polygon\",\"coordinates\":" RING "}", "needs at least 4 positions"},
    {"{\"type\":\"Polygon\",\"coordinates\":[1]}", "nested arrays"},
    {"{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,100],[0,0]]]}", "outside"},
    /* MultiPolygon */
    {"{\"type\":\"MultiPolygon\",\"coordinates\":[[" RING "],[" RING2 "]]}", NULL},
    {"{\"type\":\"MultiPolygon\",\"coordinates\":[[" RING "],[[[0,0],[1,0],[1,1],[2,2]]]]}",
     "must end with its first position"},
    {"{\"type\":\"MultiPolygon\",\"coordinates\":[" RING "]}", "needs at least 4 positions"},
    {"{\"type\":\"MultiPolygon\",\"coordinates\":[[1]]}", "nested arrays"},
    /* GeometryCollection */
    {"{\"type\":\"GeometryCollection\",\"geometries\":[]}", NULL},
    {"{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Point\",\"coordinates\":"
     "[1,2]},{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}]}",
     NULL},
    {"{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"GeometryCollection\","
     "\"geometries\":[{\"type\":\"Point\",\"coordinates\":[1,2]}]}]}",
     NULL},
    {"{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Point\",\"coordinates\":"
     "[1,95]}]}",
     "outside"},
    {"{\"type\":\"GeometryCollection\",\"geometries\":{}}", "needs a \"geometries\" array"},
    {"{\"type\":\"GeometryCollection\"}", "needs a \"geometries\" array"},
    {"{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Feature\",\"geometry\":null}]}",
     "unknown GeoJSON type \"Feature\""},
    {"{\"type\":\"GeometryCollection\",\"geometries\":[1]}", "GeoJSON object with a \"type\""},
    /* Feature */
    {"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
     "\"properties\":{\"a\":1}}",
     NULL},
    {"{\"type\":\"Feature\",\"geometry\":null,\"properties\":null}", NULL},
    {"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}}", NULL},
    {"{\"type\":\"Feature\",\"properties\":{}}", "a Feature needs \"geometry\""},
    {"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
     "\"properties\":[]}",
     "must be an object or null"},
    {"{\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,-99]}}",
     "outside"},
    {"{\"type\":\"Feature\",\"geometry\":\"Point\"}", "GeoJSON object with a \"type\""},
    /* FeatureCollection */
    {"{\"type\":\"FeatureCollection\",\"features\":[]}", NULL},
    {"{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
     "{\"type\":\"Point\",\"coordinates\":[1,2]}},{\"type\":\"Feature\",\"geometry\":null}]}",
     NULL},
    {"{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Point\",\"coordinates\":[1,2]}]}",
     "FeatureCollection members must be Features"},
    {"{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"geometry\":"
     "{\"type\":\"Point\",\"coordinates\":[1]}}]}",
     "2 or 3 numbers"},
    {"{\"type\":\"FeatureCollection\"}", "needs a \"features\" array"},
    {"{\"type\":\"FeatureCollection\",\"features\":{}}", "needs a \"features\" array"},
    /* not GeoJSON */
    {"{\"type\":\"Circle\",\"coordinates\":[1,2]}", "unknown GeoJSON type \"Circle\""},
    {"{\"type\":\"point\",\"coordinates\":[1,2]}", "unknown GeoJSON type"},
    {"{\"coordinates\":[1,2]}", "GeoJSON object with a \"type\""},
    {"{\"type\":5,\"coordinates\":[1,2]}", "GeoJSON object with a \"type\""},
    {"[1,2]", "GeoJSON object with a \"type\""},
    {"\"Point\"", "GeoJSON object with a \"type\""},
    {"null", "GeoJSON object with a \"type\""},
    {"{}", "GeoJSON object with a \"type\""},
};

static void test_geojson(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(geo_cases); i++) {
        const GeoCase *t = &geo_cases[i];
        json_t *j = parse(t->json);
        Err err;
        err_init(&err);
        int rc = model_check_geojson(j, "location", &err);
        int bad = t->msg ? (rc != ERR_INVALID || err.code != ERR_INVALID ||
                            strcmp(err.field, "location") != 0 || !strstr(err.msg, t->msg))
                         : (rc != 0 || err.code != 0);
        if (bad) {
            print_error("%s: rc %d msg '%s', want %s\n", t->json, rc, err.msg,
                        t->msg ? t->msg : "valid");
            failures++;
        }
        json_decref(j);
    }
    assert_int_equal(failures, 0);
}

/* Deeply nested GeometryCollections are refused, not followed without bound. */
static void test_geojson_nesting(void **state)
{
    (void)state;
    for (int depth = 1; depth <= 40; depth++) {
        json_t *g = json_pack("{s:s,s:[f,f]}", "type", "Point", "coordinates", 1.0, 2.0);
        for (int i = 0; i < depth; i++)
            g = json_pack("{s:s,s:[o]}", "type", "GeometryCollection", "geometries", g);
        Err err;
        err_init(&err);
        int rc = model_check_geojson(g, "location", &err);
        if (depth <= 9)
            assert_int_equal(rc, 0);
        else
            assert_int_equal(rc, ERR_INVALID);
        json_decref(g);
    }
}

static void test_geojson_encoding(void **state)
{
    (void)state;
    assert_true(model_is_geojson_encoding("application/geo+json"));
    assert_true(model_is_geojson_encoding("application/vnd.geo+json"));
    assert_false(model_is_geojson_encoding("application/json"));
    assert_false(model_is_geojson_encoding("application/geo+json; charset=utf-8"));
    assert_false(model_is_geojson_encoding(""));
    assert_false(model_is_geojson_encoding(NULL));
}

/* ========================================================================== */
/* Units of measurement                                                       */
/* ========================================================================== */

static void test_uom(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        const char *msg; /* NULL: valid */
    } cases[] = {
        {"{\"name\":\"degree Celsius\",\"symbol\":\"°C\","
         "\"definition\":\"http://unitsofmeasure.org/ucum.html#para-30\"}",
         NULL},
        {"{}", NULL},
        {"{\"name\":null,\"symbol\":null,\"definition\":null}", NULL},
        {"{\"name\":\"m\",\"extra\":5}", NULL},
        {"{\"name\":5}", "unitOfMeasurement.name must be a string"},
        {"{\"symbol\":true}", "unitOfMeasurement.symbol must be a string"},
        {"{\"definition\":{}}", "unitOfMeasurement.definition must be a string"},
        {"{\"definition\":[\"x\"]}", "definition must be a string"},
        {"[]", "must be an object with name, symbol and definition"},
        {"\"m\"", "must be an object"},
        {"null", "must be an object"},
    };
    int failures = 0;
    for (size_t i = 0; i < COUNT(cases); i++) {
        json_t *j = parse(cases[i].json);
        Err err;
        err_init(&err);
        int rc = model_check_uom(j, "unitOfMeasurement", &err);
        int bad = cases[i].msg
                      ? (rc != ERR_INVALID || strcmp(err.field, "unitOfMeasurement") != 0 ||
                         !strstr(err.msg, cases[i].msg))
                      : rc != 0;
        if (bad) {
            print_error("%s: rc %d msg '%s'\n", cases[i].json, rc, err.msg);
            failures++;
        }
        json_decref(j);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entities_lookup),
        cmocka_unit_test(test_entities_slots),
        cmocka_unit_test(test_entities_inverse),
        cmocka_unit_test(test_entities_spec),
        cmocka_unit_test(test_obs_type),
        cmocka_unit_test(test_check_result),
        cmocka_unit_test(test_geojson),
        cmocka_unit_test(test_geojson_nesting),
        cmocka_unit_test(test_geojson_encoding),
        cmocka_unit_test(test_uom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
