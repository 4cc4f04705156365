/*
 * model.h - the SensorThings API v1.1 data model (OGC 18-088 §8), as tables.
 *
 * Every entity type is an EntityDef: its properties (Prop), its relations
 * (Rel) and the storage columns behind them.  Readers, writers, the query
 * parser and the serialiser are generic over these tables; nothing else in
 * the code lists the properties of an entity type.
 *
 * A column "slot" is the index of a column in EntityDef.cols; slot 0 is
 * always the id.  Rows travel between store and sta as arrays of values
 * indexed by slot.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_MODEL_H
#define KLAMMER_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util/arena.h"
#include "util/err.h"

typedef enum {
    ENT_THING,
    ENT_LOCATION,
    ENT_HISTORICAL_LOCATION,
    ENT_DATASTREAM,
    ENT_MULTI_DATASTREAM,
    ENT_SENSOR,
    ENT_OBSERVED_PROPERTY,
    ENT_OBSERVATION,
    ENT_FEATURE,
    ENT__COUNT
} EntityType;

typedef enum {
    PT_STRING,        /* JSON string, TEXT column */
    PT_OBJECT,        /* JSON object (properties, parameters, unitOfMeasurement) */
    PT_ANY,           /* any JSON value (metadata, resultQuality) */
    PT_GEO,           /* GeoJSON when the entity's encodingType says so, else any JSON */
    PT_UOM_ARRAY,     /* MultiDatastream unitOfMeasurements: array of objects */
    PT_TYPE_ARRAY,    /* MultiDatastream multiObservationDataTypes: array of strings */
    PT_INSTANT,       /* ISO 8601 instant; INTEGER microseconds */
    PT_TIME,          /* instant or interval; slot = start, slot2 = end (NULL for instant) */
    PT_INTERVAL,      /* interval; slot = start, slot2 = end */
    PT_RESULT,        /* Observation result: slot = value, slot2 = JSON type */
} PropType;

enum {
    PROP_REQUIRED = 1 << 0, /* must be given on create */
    PROP_READONLY = 1 << 1, /* computed by the server; rejected in POST/PATCH */
    PROP_NULLABLE = 1 << 2, /* JSON null is a valid value */
};

typedef struct Prop {
    const char *name; /* JSON name, e.g. "phenomenonTime" */
    PropType type;
    int slot;         /* first column slot */
    int slot2;        /* second column slot (PT_TIME, PT_INTERVAL, PT_RESULT), else -1 */
    unsigned flags;   /* PROP_* */
} Prop;

typedef enum {
    REL_ONE,  /* to-one; this entity holds the foreign key in column slot fk_slot */
    REL_MANY, /* to-many; the target holds a foreign key column (fk_col) to us */
    REL_LINK, /* many-to-many through link_table(link_this, link_other) */
} RelKind;

typedef struct Rel {
    const char *name;       /* navigation property, e.g. "Datastreams" */
    EntityType target;
    RelKind kind;
    int fk_slot;            /* REL_ONE: slot of the foreign key in this entity */
    const char *fk_col;     /* REL_MANY: column in the target's table */
    const char *link_table; /* REL_LINK */
    const char *link_this;  /* REL_LINK: column holding our id */
    const char *link_other; /* REL_LINK: column holding the target's id */
    const char *link_order; /* REL_LINK: column giving the default order, or NULL */
    bool required;          /* REL_ONE: must be set on create */
} Rel;

typedef struct EntityDef {
    EntityType type;
    const char *name;        /* "Thing" */
    const char *set;         /* "Things" */
    const char *table;       /* SQL table */
    const char *const *cols; /* column names by slot; cols[0] = "id" */
    int ncols;
    const Prop *props;
    int nprops;
    const Rel *rels;
    int nrels;
    int encoding_slot;       /* slot of encodingType (decides PT_GEO), or -1 */
} EntityDef;

/* The definition of one entity type; never NULL for a valid type. */
const EntityDef *model_entity(EntityType t);

/* Entity type by entity set name ("Things") or by singular name ("Thing"); NULL if none. */
const EntityDef *model_entity_by_set(const char *s, size_t n);
const EntityDef *model_entity_by_name(const char *s, size_t n);

/* Property or relation of def by JSON name; NULL if none. */
const Prop *model_prop(const EntityDef *def, const char *s, size_t n);
const Rel *model_rel(const EntityDef *def, const char *s, size_t n);

/* The relation of the target that leads back along rel, or NULL. */
const Rel *model_rel_inverse(const EntityDef *def, const Rel *rel);

/* Observation types of OGC 18-088 Table 12. */
typedef enum {
    OT_UNKNOWN,
    OT_CATEGORY,    /* OM_CategoryObservation: URI (string) */
    OT_COUNT,       /* OM_CountObservation: integer */
    OT_MEASUREMENT, /* OM_Measurement: number */
    OT_OBSERVATION, /* OM_Observation: any */
    OT_TRUTH,       /* OM_TruthObservation: boolean */
    OT_COMPLEX,     /* OM_ComplexObservation: MultiDatastream, array */
} ObsType;

/* Observation type from its URI; OT_UNKNOWN if not in Table 12. */
ObsType model_obs_type(const char *uri);

/*
 * Checks that result fits observation type t.  field names the property
 * for the error ("result" or "result[2]").  Returns 0 or ERR_INVALID.
 */
int model_check_result(ObsType t, const json_t *result, const char *field, Err *err);

/*
 * Checks a GeoJSON object (RFC 7946): geometry types, Feature,
 * FeatureCollection; coordinate nesting, numbers, ranges, closed rings.
 * Returns 0 or ERR_INVALID naming field and the problem.
 */
int model_check_geojson(const json_t *v, const char *field, Err *err);

/* True if an encodingType names GeoJSON ("application/geo+json", "application/vnd.geo+json"). */
bool model_is_geojson_encoding(const char *s);

/* Checks a unitOfMeasurement object: name, symbol, definition strings (may be null). */
int model_check_uom(const json_t *v, const char *field, Err *err);

#endif
