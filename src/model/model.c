/*
 * model.c - the entity tables of OGC 18-088 §8 (v1.1) and the checks that
 * depend only on the model: observation types, results, GeoJSON, units.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "model/model.h"

#include <math.h>
#include <string.h>

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* ---------------------------------------------------------------- Thing */
enum { TH_ID, TH_NAME, TH_DESC, TH_PROPS };
static const char *const thing_cols[] = {"id", "name", "description", "properties"};
static const Prop thing_props[] = {
    {"name", PT_STRING, TH_NAME, -1, PROP_REQUIRED},
    {"description", PT_STRING, TH_DESC, -1, PROP_REQUIRED},
    {"properties", PT_OBJECT, TH_PROPS, -1, PROP_NULLABLE},
};
static const Rel thing_rels[] = {
    {"Locations", ENT_LOCATION, REL_LINK, -1, NULL, "thing_locations", "thing_id",
     "location_id", NULL, false},
    {"HistoricalLocations", ENT_HISTORICAL_LOCATION, REL_MANY, -1, "thing_id", NULL, NULL,
     NULL, NULL, false},
    {"Datastreams", ENT_DATASTREAM, REL_MANY, -1, "thing_id", NULL, NULL, NULL, NULL, false},
    {"MultiDatastreams", ENT_MULTI_DATASTREAM, REL_MANY, -1, "thing_id", NULL, NULL, NULL,
     NULL, false},
};

/* ------------------------------------------------------------- Location */
enum { LO_ID, LO_NAME, LO_DESC, LO_ENC, LO_LOC, LO_PROPS, LO_GENFOI };
static const char *const location_cols[] = {"id", "name", "description", "encoding_type",
                                            "location", "properties", "gen_feature_id"};
static const Prop location_props[] = {
    {"name", PT_STRING, LO_NAME, -1, PROP_REQUIRED},
    {"description", PT_STRING, LO_DESC, -1, PROP_REQUIRED},
    {"encodingType", PT_STRING, LO_ENC, -1, PROP_REQUIRED},
    {"location", PT_GEO, LO_LOC, -1, PROP_REQUIRED},
    {"properties", PT_OBJECT, LO_PROPS, -1, PROP_NULLABLE},
};
static const Rel location_rels[] = {
    {"Things", ENT_THING, REL_LINK, -1, NULL, "thing_locations", "location_id", "thing_id",
     NULL, false},
    {"HistoricalLocations", ENT_HISTORICAL_LOCATION, REL_LINK, -1, NULL,
     "location_historical_locations", "location_id", "historical_location_id", NULL, false},
};

/* --------------------------------------------------- HistoricalLocation */
enum { HL_ID, HL_TIME, HL_THING };
static const char *const hl_cols[] = {"id", "time", "thing_id"};
static const Prop hl_props[] = {
    {"time", PT_INSTANT, HL_TIME, -1, PROP_REQUIRED},
};
static const Rel hl_rels[] = {
    {"Thing", ENT_THING, REL_ONE, HL_THING, NULL, NULL, NULL, NULL, NULL, true},
    {"Locations", ENT_LOCATION, REL_LINK, -1, NULL, "location_historical_locations",
     "historical_location_id", "location_id", NULL, false},
};

/* ----------------------------------------------------------- Datastream */
enum {
    DS_ID, DS_NAME, DS_DESC, DS_OTYPE, DS_UOM, DS_AREA, DS_PROPS, DS_PSTART, DS_PEND,
    DS_RSTART, DS_REND, DS_THING, DS_SENSOR, DS_OBSPROP, DS_COUNT, DS_LAST
};
static const char *const ds_cols[] = {
    "id", "name", "description", "observation_type", "unit_of_measurement", "observed_area",
    "properties", "phen_start", "phen_end", "result_start", "result_end", "thing_id",
    "sensor_id", "observed_property_id", "obs_count", "last_obs_id"};
static const Prop ds_props[] = {
    {"name", PT_STRING, DS_NAME, -1, PROP_REQUIRED},
    {"description", PT_STRING, DS_DESC, -1, PROP_REQUIRED},
    {"unitOfMeasurement", PT_OBJECT, DS_UOM, -1, PROP_REQUIRED},
    {"observationType", PT_STRING, DS_OTYPE, -1, PROP_REQUIRED},
    {"observedArea", PT_GEO, DS_AREA, -1, PROP_NULLABLE},
    {"phenomenonTime", PT_INTERVAL, DS_PSTART, DS_PEND, PROP_READONLY | PROP_NULLABLE},
    {"resultTime", PT_INTERVAL, DS_RSTART, DS_REND, PROP_READONLY | PROP_NULLABLE},
    {"properties", PT_OBJECT, DS_PROPS, -1, PROP_NULLABLE},
};
static const Rel ds_rels[] = {
    {"Thing", ENT_THING, REL_ONE, DS_THING, NULL, NULL, NULL, NULL, NULL, true},
    {"Sensor", ENT_SENSOR, REL_ONE, DS_SENSOR, NULL, NULL, NULL, NULL, NULL, true},
    {"ObservedProperty", ENT_OBSERVED_PROPERTY, REL_ONE, DS_OBSPROP, NULL, NULL, NULL, NULL,
     NULL, true},
    {"Observations", ENT_OBSERVATION, REL_MANY, -1, "datastream_id", NULL, NULL, NULL, NULL,
     false},
};

/* ------------------------------------------------------ MultiDatastream */
enum {
    MD_ID, MD_NAME, MD_DESC, MD_OTYPE, MD_UOMS, MD_TYPES, MD_AREA, MD_PROPS, MD_PSTART,
    MD_PEND, MD_RSTART, MD_REND, MD_THING, MD_SENSOR, MD_COUNT, MD_LAST
};
static const char *const md_cols[] = {
    "id", "name", "description", "observation_type", "unit_of_measurements",
    "multi_observation_data_types", "observed_area", "properties", "phen_start", "phen_end",
    "result_start", "result_end", "thing_id", "sensor_id", "obs_count", "last_obs_id"};
static const Prop md_props[] = {
    {"name", PT_STRING, MD_NAME, -1, PROP_REQUIRED},
    {"description", PT_STRING, MD_DESC, -1, PROP_REQUIRED},
    {"unitOfMeasurements", PT_UOM_ARRAY, MD_UOMS, -1, PROP_REQUIRED},
    {"observationType", PT_STRING, MD_OTYPE, -1, PROP_REQUIRED},
    {"multiObservationDataTypes", PT_TYPE_ARRAY, MD_TYPES, -1, PROP_REQUIRED},
    {"observedArea", PT_GEO, MD_AREA, -1, PROP_NULLABLE},
    {"phenomenonTime", PT_INTERVAL, MD_PSTART, MD_PEND, PROP_READONLY | PROP_NULLABLE},
    {"resultTime", PT_INTERVAL, MD_RSTART, MD_REND, PROP_READONLY | PROP_NULLABLE},
    {"properties", PT_OBJECT, MD_PROPS, -1, PROP_NULLABLE},
};
static const Rel md_rels[] = {
    {"Thing", ENT_THING, REL_ONE, MD_THING, NULL, NULL, NULL, NULL, NULL, true},
    {"Sensor", ENT_SENSOR, REL_ONE, MD_SENSOR, NULL, NULL, NULL, NULL, NULL, true},
    {"ObservedProperties", ENT_OBSERVED_PROPERTY, REL_LINK, -1, NULL,
     "multi_datastream_observed_properties", "multi_datastream_id", "observed_property_id",
     "rank", false},
    {"Observations", ENT_OBSERVATION, REL_MANY, -1, "multi_datastream_id", NULL, NULL, NULL,
     NULL, false},
};

/* --------------------------------------------------------------- Sensor */
enum { SE_ID, SE_NAME, SE_DESC, SE_ENC, SE_META, SE_PROPS };
static const char *const sensor_cols[] = {"id", "name", "description", "encoding_type",
                                          "metadata", "properties"};
static const Prop sensor_props[] = {
    {"name", PT_STRING, SE_NAME, -1, PROP_REQUIRED},
    {"description", PT_STRING, SE_DESC, -1, PROP_REQUIRED},
    {"encodingType", PT_STRING, SE_ENC, -1, PROP_REQUIRED},
    {"metadata", PT_ANY, SE_META, -1, PROP_REQUIRED},
    {"properties", PT_OBJECT, SE_PROPS, -1, PROP_NULLABLE},
};
static const Rel sensor_rels[] = {
    {"Datastreams", ENT_DATASTREAM, REL_MANY, -1, "sensor_id", NULL, NULL, NULL, NULL, false},
    {"MultiDatastreams", ENT_MULTI_DATASTREAM, REL_MANY, -1, "sensor_id", NULL, NULL, NULL,
     NULL, false},
};

/* ----------------------------------------------------- ObservedProperty */
enum { OP_ID, OP_NAME, OP_DEF, OP_DESC, OP_PROPS };
static const char *const op_cols[] = {"id", "name", "definition", "description", "properties"};
static const Prop op_props[] = {
    {"name", PT_STRING, OP_NAME, -1, PROP_REQUIRED},
    {"definition", PT_STRING, OP_DEF, -1, PROP_REQUIRED},
    {"description", PT_STRING, OP_DESC, -1, PROP_REQUIRED},
    {"properties", PT_OBJECT, OP_PROPS, -1, PROP_NULLABLE},
};
static const Rel op_rels[] = {
    {"Datastreams", ENT_DATASTREAM, REL_MANY, -1, "observed_property_id", NULL, NULL, NULL,
     NULL, false},
    {"MultiDatastreams", ENT_MULTI_DATASTREAM, REL_LINK, -1, NULL,
     "multi_datastream_observed_properties", "observed_property_id", "multi_datastream_id",
     NULL, false},
};

/* ---------------------------------------------------------- Observation */
enum {
    OB_ID, OB_PSTART, OB_PEND, OB_RTIME, OB_RESULT, OB_RTYPE, OB_QUALITY, OB_VSTART, OB_VEND,
    OB_PARAMS, OB_DS, OB_MDS, OB_FOI
};
static const char *const obs_cols[] = {
    "id", "phen_start", "phen_end", "result_time", "result", "result_type", "result_quality",
    "valid_start", "valid_end", "parameters", "datastream_id", "multi_datastream_id",
    "feature_id"};
static const Prop obs_props[] = {
    {"phenomenonTime", PT_TIME, OB_PSTART, OB_PEND, 0},
    {"resultTime", PT_INSTANT, OB_RTIME, -1, PROP_NULLABLE},
    {"result", PT_RESULT, OB_RESULT, OB_RTYPE, PROP_REQUIRED | PROP_NULLABLE},
    {"resultQuality", PT_ANY, OB_QUALITY, -1, PROP_NULLABLE},
    {"validTime", PT_INTERVAL, OB_VSTART, OB_VEND, PROP_NULLABLE},
    {"parameters", PT_OBJECT, OB_PARAMS, -1, PROP_NULLABLE},
};
static const Rel obs_rels[] = {
    {"Datastream", ENT_DATASTREAM, REL_ONE, OB_DS, NULL, NULL, NULL, NULL, NULL, false},
    {"MultiDatastream", ENT_MULTI_DATASTREAM, REL_ONE, OB_MDS, NULL, NULL, NULL, NULL, NULL,
     false},
    {"FeatureOfInterest", ENT_FEATURE, REL_ONE, OB_FOI, NULL, NULL, NULL, NULL, NULL, false},
};

/* ---------------------------------------------------- FeatureOfInterest */
enum { FE_ID, FE_NAME, FE_DESC, FE_ENC, FE_FEATURE, FE_PROPS };
static const char *const feature_cols[] = {"id", "name", "description", "encoding_type",
                                           "feature", "properties"};
static const Prop feature_props[] = {
    {"name", PT_STRING, FE_NAME, -1, PROP_REQUIRED},
    {"description", PT_STRING, FE_DESC, -1, PROP_REQUIRED},
    {"encodingType", PT_STRING, FE_ENC, -1, PROP_REQUIRED},
    {"feature", PT_GEO, FE_FEATURE, -1, PROP_REQUIRED},
    {"properties", PT_OBJECT, FE_PROPS, -1, PROP_NULLABLE},
};
static const Rel feature_rels[] = {
    {"Observations", ENT_OBSERVATION, REL_MANY, -1, "feature_id", NULL, NULL, NULL, NULL,
     false},
};

#define DEF(t, name, set, table, cols, props, rels, enc)                                   \
    {t, name, set, table, cols, N(cols), props, N(props), rels, N(rels), enc}

static const EntityDef defs[ENT__COUNT] = {
    DEF(ENT_THING, "Thing", "Things", "things", thing_cols, thing_props, thing_rels, -1),
    DEF(ENT_LOCATION, "Location", "Locations", "locations", location_cols, location_props,
        location_rels, LO_ENC),
    DEF(ENT_HISTORICAL_LOCATION, "HistoricalLocation", "HistoricalLocations",
        "historical_locations", hl_cols, hl_props, hl_rels, -1),
    DEF(ENT_DATASTREAM, "Datastream", "Datastreams", "datastreams", ds_cols, ds_props, ds_rels,
        -1),
    DEF(ENT_MULTI_DATASTREAM, "MultiDatastream", "MultiDatastreams", "multi_datastreams",
        md_cols, md_props, md_rels, -1),
    DEF(ENT_SENSOR, "Sensor", "Sensors", "sensors", sensor_cols, sensor_props, sensor_rels,
        SE_ENC),
    DEF(ENT_OBSERVED_PROPERTY, "ObservedProperty", "ObservedProperties",
        "observed_properties", op_cols, op_props, op_rels, -1),
    DEF(ENT_OBSERVATION, "Observation", "Observations", "observations", obs_cols, obs_props,
        obs_rels, -1),
    DEF(ENT_FEATURE, "FeatureOfInterest", "FeaturesOfInterest", "features", feature_cols,
        feature_props, feature_rels, FE_ENC),
};

const EntityDef *model_entity(EntityType t)
{
    return (t >= 0 && t < ENT__COUNT) ? &defs[t] : NULL;
}

static bool eq(const char *name, const char *s, size_t n)
{
    return strlen(name) == n && memcmp(name, s, n) == 0;
}

const EntityDef *model_entity_by_set(const char *s, size_t n)
{
    for (int i = 0; i < ENT__COUNT; i++)
        if (eq(defs[i].set, s, n))
            return &defs[i];
    return NULL;
}

const EntityDef *model_entity_by_name(const char *s, size_t n)
{
    for (int i = 0; i < ENT__COUNT; i++)
        if (eq(defs[i].name, s, n))
            return &defs[i];
    return NULL;
}

const Prop *model_prop(const EntityDef *def, const char *s, size_t n)
{
    for (int i = 0; i < def->nprops; i++)
        if (eq(def->props[i].name, s, n))
            return &def->props[i];
    return NULL;
}

const Rel *model_rel(const EntityDef *def, const char *s, size_t n)
{
    for (int i = 0; i < def->nrels; i++)
        if (eq(def->rels[i].name, s, n))
            return &def->rels[i];
    return NULL;
}

const Rel *model_rel_inverse(const EntityDef *def, const Rel *rel)
{
    const EntityDef *t = &defs[rel->target];
    for (int i = 0; i < t->nrels; i++) {
        const Rel *r = &t->rels[i];
        if (r->target != def->type)
            continue;
        switch (rel->kind) {
        case REL_ONE:
            /* Our foreign key column is named by the target's REL_MANY. */
            if (r->kind == REL_MANY && strcmp(r->fk_col, def->cols[rel->fk_slot]) == 0)
                return r;
            break;
        case REL_MANY:
            if (r->kind == REL_ONE && strcmp(t->cols[r->fk_slot], rel->fk_col) == 0)
                return r;
            break;
        case REL_LINK:
            if (r->kind == REL_LINK && strcmp(r->link_table, rel->link_table) == 0)
                return r;
            break;
        }
    }
    return NULL;
}

/* ---------------------------------------------------- observation types */

#define OM_PREFIX "http://www.opengis.net/def/observationType/OGC-OM/2.0/"

ObsType model_obs_type(const char *uri)
{
    static const struct {
        const char *name;
        ObsType t;
    } types[] = {
        {"OM_CategoryObservation", OT_CATEGORY}, {"OM_CountObservation", OT_COUNT},
        {"OM_Measurement", OT_MEASUREMENT},      {"OM_Observation", OT_OBSERVATION},
        {"OM_TruthObservation", OT_TRUTH},       {"OM_ComplexObservation", OT_COMPLEX},
    };
    size_t plen = strlen(OM_PREFIX);
    if (!uri || strncmp(uri, OM_PREFIX, plen) != 0)
        return OT_UNKNOWN;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcmp(uri + plen, types[i].name) == 0)
            return types[i].t;
    return OT_UNKNOWN;
}

int model_check_result(ObsType t, const json_t *r, const char *field, Err *err)
{
    switch (t) {
    case OT_MEASUREMENT:
        if (json_is_number(r))
            return 0;
        return err_set(err, ERR_INVALID, field,
                       "%s must be a number: the Datastream's observationType is "
                       "OM_Measurement", field);
    case OT_COUNT:
        if (json_is_integer(r))
            return 0;
        return err_set(err, ERR_INVALID, field,
                       "%s must be an integer: the Datastream's observationType is "
                       "OM_CountObservation", field);
    case OT_TRUTH:
        if (json_is_boolean(r))
            return 0;
        return err_set(err, ERR_INVALID, field,
                       "%s must be true or false: the Datastream's observationType is "
                       "OM_TruthObservation", field);
    case OT_CATEGORY:
        if (json_is_string(r))
            return 0;
        return err_set(err, ERR_INVALID, field,
                       "%s must be a string (a category URI): the Datastream's "
                       "observationType is OM_CategoryObservation", field);
    case OT_COMPLEX:
        if (json_is_array(r))
            return 0;
        return err_set(err, ERR_INVALID, field,
                       "%s must be an array: the observation belongs to a MultiDatastream",
                       field);
    case OT_OBSERVATION:
    case OT_UNKNOWN:
        return 0;
    }
    return 0;
}

/* -------------------------------------------------------------- GeoJSON */

bool model_is_geojson_encoding(const char *s)
{
    return s && (strcmp(s, "application/geo+json") == 0 ||
                 strcmp(s, "application/vnd.geo+json") == 0);
}

static int check_position(const json_t *p, const char *field, Err *err)
{
    size_t n = json_array_size(p);
    if (!json_is_array(p) || n < 2 || n > 3)
        return err_set(err, ERR_INVALID, field,
                       "%s: a position must be an array of 2 or 3 numbers", field);
    for (size_t i = 0; i < n; i++)
        if (!json_is_number(json_array_get(p, i)) ||
            !isfinite(json_number_value(json_array_get(p, i))))
            return err_set(err, ERR_INVALID, field, "%s: coordinates must be numbers", field);
    double lon = json_number_value(json_array_get(p, 0));
    double lat = json_number_value(json_array_get(p, 1));
    if (lon < -180 || lon > 180 || lat < -90 || lat > 90)
        return err_set(err, ERR_INVALID, field,
                       "%s: position [%g, %g] is outside longitude -180..180 / latitude "
                       "-90..90", field, lon, lat);
    return 0;
}

/* depth 0 = position, 1 = array of positions, ...; min = minimal count at depth 1 */
static int check_coords(const json_t *c, int depth, size_t min, bool ring, const char *field,
                        Err *err)
{
    if (depth == 0)
        return check_position(c, field, err);
    if (!json_is_array(c))
        return err_set(err, ERR_INVALID, field, "%s: coordinates must be nested arrays",
                       field);
    size_t n = json_array_size(c);
    if (depth == 1 && n < min)
        return err_set(err, ERR_INVALID, field, "%s: needs at least %zu positions", field, min);
    for (size_t i = 0; i < n; i++) {
        int rc = check_coords(json_array_get(c, i), depth - 1, min, ring, field, err);
        if (rc)
            return rc;
    }
    if (depth == 1 && ring && !json_equal(json_array_get(c, 0), json_array_get(c, n - 1)))
        return err_set(err, ERR_INVALID, field,
                       "%s: a polygon ring must end with its first position", field);
    return 0;
}

static int check_geometry(const json_t *v, const char *field, int nest, Err *err)
{
    static const struct {
        const char *type;
        int depth;
        size_t min;
        bool ring;
    } kinds[] = {
        {"Point", 0, 0, false},      {"MultiPoint", 1, 0, false},
        {"LineString", 1, 2, false}, {"MultiLineString", 2, 2, false},
        {"Polygon", 2, 4, true},     {"MultiPolygon", 3, 4, true},
    };
    const char *type = json_string_value(json_object_get(v, "type"));
    if (!json_is_object(v) || !type)
        return err_set(err, ERR_INVALID, field, "%s must be a GeoJSON object with a \"type\"",
                       field);
    if (strcmp(type, "GeometryCollection") == 0) {
        const json_t *g = json_object_get(v, "geometries");
        if (!json_is_array(g) || nest > 8)
            return err_set(err, ERR_INVALID, field,
                           "%s: a GeometryCollection needs a \"geometries\" array", field);
        for (size_t i = 0; i < json_array_size(g); i++) {
            int rc = check_geometry(json_array_get(g, i), field, nest + 1, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(type, kinds[i].type) != 0)
            continue;
        const json_t *c = json_object_get(v, "coordinates");
        if (!c)
            return err_set(err, ERR_INVALID, field, "%s: a %s needs \"coordinates\"", field,
                           type);
        return check_coords(c, kinds[i].depth, kinds[i].min, kinds[i].ring, field, err);
    }
    return err_set(err, ERR_INVALID, field, "%s: unknown GeoJSON type \"%s\"", field, type);
}

static int check_feature(const json_t *v, const char *field, Err *err)
{
    const json_t *g = json_object_get(v, "geometry");
    const json_t *p = json_object_get(v, "properties");
    if (!g)
        return err_set(err, ERR_INVALID, field, "%s: a Feature needs \"geometry\"", field);
    if (p && !json_is_object(p) && !json_is_null(p))
        return err_set(err, ERR_INVALID, field,
                       "%s: Feature \"properties\" must be an object or null", field);
    return json_is_null(g) ? 0 : check_geometry(g, field, 0, err);
}

int model_check_geojson(const json_t *v, const char *field, Err *err)
{
    const char *type = json_string_value(json_object_get(v, "type"));
    if (type && strcmp(type, "Feature") == 0)
        return check_feature(v, field, err);
    if (type && strcmp(type, "FeatureCollection") == 0) {
        const json_t *fs = json_object_get(v, "features");
        if (!json_is_array(fs))
            return err_set(err, ERR_INVALID, field,
                           "%s: a FeatureCollection needs a \"features\" array", field);
        for (size_t i = 0; i < json_array_size(fs); i++) {
            const json_t *f = json_array_get(fs, i);
            const char *ft = json_string_value(json_object_get(f, "type"));
            if (!ft || strcmp(ft, "Feature") != 0)
                return err_set(err, ERR_INVALID, field,
                               "%s: FeatureCollection members must be Features", field);
            int rc = check_feature(f, field, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    return check_geometry(v, field, 0, err);
}

int model_check_uom(const json_t *v, const char *field, Err *err)
{
    static const char *const keys[] = {"name", "symbol", "definition"};
    if (!json_is_object(v))
        return err_set(err, ERR_INVALID, field,
                       "%s must be an object with name, symbol and definition", field);
    for (size_t i = 0; i < 3; i++) {
        const json_t *k = json_object_get(v, keys[i]);
        if (k && !json_is_string(k) && !json_is_null(k))
            return err_set(err, ERR_INVALID, field, "%s.%s must be a string", field, keys[i]);
    }
    return 0;
}
