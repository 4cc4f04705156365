/*
 * write.c - create (with deep insert), update and delete (OGC 18-088 §10).
 *
 * The request thread parses and checks the JSON syntax, then hands a job to
 * the store's writer and suspends.  On the writer thread the job resolves
 * the path and walks the JSON: every entity is validated against the model
 * before its row is written, related entities are created or linked
 * recursively, and any error unwinds the job's savepoint, so a failed deep
 * insert leaves nothing behind.  When the batch has committed, the request
 * is resumed and answers with the entity as it is now stored.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <jansson.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "sta/sta_int.h"
#include "util/isotime.h"
#include "util/jsonw.h"

#define MAX_COLS 32

enum { W_POST, W_PATCH, W_DELETE, W_DATAARRAY };

struct WriteCtx {
    StoreJob job;         /* first member: the writer hands us back this pointer */
    Sta *sta;
    HttpReq *req;
    Arena *a;             /* the request arena (only touched by one thread at a time) */
    ResourcePath path;
    const char *ref_path; /* "$<Content-ID>[/...]" resolved in the job, or NULL; arena */
    const StaRefs *refs;  /* entities created earlier in the change set, or NULL; borrowed */
    const char *method;   /* as requested, for messages */
    int kind;             /* W_* */
    json_t *body;         /* owned, released when the answer is written */
    int64_t now;          /* server time of the request, microseconds */
    const EntityDef *def; /* entity written */
    int64_t id;
    int64_t *ids;         /* W_DATAARRAY: id per row, 0 = failed; arena-owned */
    size_t nids;
    struct Change {
        EventKind kind;
        const EntityDef *def;
        int64_t id;
        uint32_t changed; /* properties changed (bit per def->props index) */
    } *changes;           /* what the job wrote, for events; arena-owned */
    size_t nchanges, capchanges;
    /* W_DATAARRAY: the context of the last group's (Multi)Datastream, for
     * the next group of the same one (an ingest batch has one per uplink). */
    const EntityDef *last_sdef;
    int64_t last_sid, last_gen_foi;
    StoreObsContext last_ctx;
    struct RowBatch *rows; /* W_DATAARRAY: valid rows waiting for their INSERT */
};

/* Records a change for publication after the commit (only when someone listens). */
static int note(WriteCtx *w, EventKind kind, const EntityDef *def, int64_t id, uint32_t changed,
                Err *err)
{
    if (!events_active(w->sta->cfg.events))
        return 0; /* nobody listens: no read-back and serialisation after the commit */
    if (w->nchanges == w->capchanges) {
        size_t cap = w->capchanges ? w->capchanges * 2 : 8;
        struct Change *nc = arena_alloc(w->a, cap * sizeof *nc);
        if (!nc)
            return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
        if (w->nchanges)
            memcpy(nc, w->changes, w->nchanges * sizeof *nc);
        w->changes = nc;
        w->capchanges = cap;
    }
    w->changes[w->nchanges++] = (struct Change){kind, def, id, changed};
    return 0;
}

typedef struct Vals {
    StoreValue v[MAX_COLS];
    bool set[MAX_COLS];
} Vals;

/* ================================================================ JSON */

/* Compact JSON with the shortest round-tripping numbers; keys in input order. */
static void dump(Buf *b, const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        bool first = true;
        buf_putc(b, '{');
        json_object_foreach((json_t *)j, k, v) {
            if (!first)
                buf_putc(b, ',');
            first = false;
            jw_key(b, k);
            dump(b, v);
        }
        buf_putc(b, '}');
        break;
    }
    case JSON_ARRAY:
        buf_putc(b, '[');
        for (size_t i = 0; i < json_array_size(j); i++) {
            if (i)
                buf_putc(b, ',');
            dump(b, json_array_get(j, i));
        }
        buf_putc(b, ']');
        break;
    case JSON_STRING:
        jw_strn(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        jw_int(b, json_integer_value(j));
        break;
    case JSON_REAL:
        jw_real(b, json_real_value(j));
        break;
    case JSON_TRUE:
        buf_puts(b, "true");
        break;
    case JSON_FALSE:
        buf_puts(b, "false");
        break;
    case JSON_NULL:
        buf_puts(b, "null");
        break;
    }
}

static int text_value(Arena *a, const json_t *j, StoreValue *v, Err *err)
{
    Buf b;
    buf_init(&b);
    dump(&b, j);
    v->type = SV_TEXT;
    v->s = arena_strndup(a, b.data, b.len);
    v->n = b.len;
    buf_fini(&b);
    if (!v->s)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    return 0;
}

static const char *fld(Arena *a, const char *prefix, const char *name)
{
    if (!prefix[0])
        return name; /* the common case costs nothing */
    const char *f = arena_printf(a, "%s%s", prefix, name);
    return f ? f : name;
}

/* ============================================================ properties */

static int parse_time(const Prop *p, const json_t *j, const char *field, Vals *out, Err *err)
{
    Err e;
    err_init(&e);
    const char *s = json_string_value(j);
    if (!s)
        return err_set(err, ERR_INVALID, field, "%s must be an ISO 8601 string", field);
    size_t n = json_string_length(j);
    int64_t start, end;
    int is_interval = 0, rc;
    if (p->type == PT_INSTANT) {
        rc = isotime_parse(s, n, &start, &e);
        end = start;
    } else if (p->type == PT_INTERVAL) {
        rc = isotime_parse_interval(s, n, &start, &end, &e);
        is_interval = 1;
    } else {
        rc = isotime_parse_any(s, n, &start, &end, &is_interval, &e);
    }
    if (rc) {
        err_set(err, ERR_INVALID, field, "%s: %s", field, e.msg);
        if (err)
            err->position = e.position;
        return ERR_INVALID;
    }
    out->v[p->slot] = (StoreValue){.type = SV_INT, .i = start};
    out->set[p->slot] = true;
    if (p->slot2 >= 0) {
        out->v[p->slot2] = is_interval ? (StoreValue){.type = SV_INT, .i = end}
                                       : (StoreValue){.type = SV_NULL};
        out->set[p->slot2] = true;
    }
    return 0;
}

static int parse_result(Arena *a, const Prop *p, const json_t *j, Vals *out, Err *err)
{
    StoreValue *v = &out->v[p->slot];
    int type;
    switch (json_typeof(j)) {
    case JSON_NULL: type = 0; *v = (StoreValue){.type = SV_NULL}; break;
    case JSON_INTEGER: type = 1; *v = (StoreValue){.type = SV_INT, .i = json_integer_value(j)}; break;
    case JSON_REAL: type = 1; *v = (StoreValue){.type = SV_REAL, .d = json_real_value(j)}; break;
    case JSON_STRING:
        type = 2;
        *v = (StoreValue){.type = SV_TEXT, .s = json_string_value(j), .n = json_string_length(j)};
        break;
    case JSON_TRUE: type = 3; *v = (StoreValue){.type = SV_INT, .i = 1}; break;
    case JSON_FALSE: type = 3; *v = (StoreValue){.type = SV_INT, .i = 0}; break;
    default:
        type = 4;
        if (text_value(a, j, v, err))
            return err->code;
    }
    out->set[p->slot] = true;
    out->v[p->slot2] = (StoreValue){.type = SV_INT, .i = type};
    out->set[p->slot2] = true;
    return 0;
}

static int parse_prop(Arena *a, const EntityDef *def, const Prop *p, const json_t *j,
                      const char *field, Vals *out, Err *err)
{
    if (json_is_null(j) && p->type != PT_RESULT) {
        if (!(p->flags & PROP_NULLABLE))
            return err_set(err, ERR_INVALID, field, "%s must not be null", field);
        out->v[p->slot] = (StoreValue){.type = SV_NULL};
        out->set[p->slot] = true;
        if (p->slot2 >= 0) {
            out->v[p->slot2] = (StoreValue){.type = SV_NULL};
            out->set[p->slot2] = true;
        }
        return 0;
    }
    switch (p->type) {
    case PT_STRING:
        if (!json_is_string(j))
            return err_set(err, ERR_INVALID, field, "%s must be a string", field);
        out->v[p->slot] =
            (StoreValue){.type = SV_TEXT, .s = json_string_value(j), .n = json_string_length(j)};
        break;
    case PT_OBJECT:
        if (!json_is_object(j))
            return err_set(err, ERR_INVALID, field, "%s must be a JSON object", field);
        if (def->type == ENT_DATASTREAM && model_check_uom(j, field, err))
            return err->code;
        if (text_value(a, j, &out->v[p->slot], err))
            return err->code;
        break;
    case PT_ANY:
    case PT_GEO:
        if (text_value(a, j, &out->v[p->slot], err))
            return err->code;
        break;
    case PT_UOM_ARRAY:
        if (!json_is_array(j) || json_array_size(j) == 0)
            return err_set(err, ERR_INVALID, field, "%s must be a non-empty array", field);
        for (size_t i = 0; i < json_array_size(j); i++) {
            const char *f = arena_printf(a, "%s[%zu]", field, i);
            if (model_check_uom(json_array_get(j, i), f ? f : field, err))
                return err->code;
        }
        if (text_value(a, j, &out->v[p->slot], err))
            return err->code;
        break;
    case PT_TYPE_ARRAY:
        if (!json_is_array(j) || json_array_size(j) == 0)
            return err_set(err, ERR_INVALID, field, "%s must be a non-empty array", field);
        for (size_t i = 0; i < json_array_size(j); i++) {
            ObsType t = model_obs_type(json_string_value(json_array_get(j, i)));
            if (t == OT_UNKNOWN || t == OT_COMPLEX)
                return err_set(err, ERR_INVALID, field,
                               "%s[%zu] is not an observation type of OGC 18-088 Table 12",
                               field, i);
        }
        if (text_value(a, j, &out->v[p->slot], err))
            return err->code;
        break;
    case PT_INSTANT:
    case PT_TIME:
    case PT_INTERVAL:
        return parse_time(p, j, field, out, err);
    case PT_RESULT:
        return parse_result(a, p, j, out, err);
    }
    out->set[p->slot] = true;
    return 0;
}

/* ================================================================ checks */

static const char *value_text(const Vals *v, const StoreRow *old, int slot)
{
    if (v->set[slot])
        return v->v[slot].type == SV_TEXT ? v->v[slot].s : NULL;
    if (old && old->cols[slot].type == SV_TEXT)
        return old->cols[slot].s;
    return NULL;
}

/* Checks that depend on several properties of one entity. */
static int check_entity(const EntityDef *def, const json_t *obj, const Vals *v,
                        const StoreRow *old, const char *prefix, Arena *a, Err *err)
{
    const char *enc = def->encoding_slot >= 0 ? value_text(v, old, def->encoding_slot) : NULL;
    for (int i = 0; i < def->nprops; i++) {
        const Prop *p = &def->props[i];
        if (p->type != PT_GEO)
            continue;
        const json_t *j = json_object_get(obj, p->name);
        if (!j || json_is_null(j))
            continue;
        bool geo = def->encoding_slot < 0 || model_is_geojson_encoding(enc);
        if (geo && model_check_geojson(j, fld(a, prefix, p->name), err))
            return err->code;
    }
    if (def->type == ENT_DATASTREAM || def->type == ENT_MULTI_DATASTREAM) {
        const Prop *p = model_prop(def, "observationType", 15);
        const char *ot = value_text(v, old, p->slot);
        ObsType t = model_obs_type(ot);
        if (v->set[p->slot] && def->type == ENT_DATASTREAM && (t == OT_UNKNOWN || t == OT_COMPLEX))
            return err_set(err, ERR_INVALID, fld(a, prefix, "observationType"),
                           "%sobservationType '%s' is not one of OGC 18-088 Table 12 "
                           "(e.g. http://www.opengis.net/def/observationType/OGC-OM/2.0/"
                           "OM_Measurement)", prefix, ot ? ot : "");
        if (v->set[p->slot] && def->type == ENT_MULTI_DATASTREAM && t != OT_COMPLEX)
            return err_set(err, ERR_INVALID, fld(a, prefix, "observationType"),
                           "%sobservationType of a MultiDatastream must be "
                           "http://www.opengis.net/def/observationType/OGC-OM/2.0/"
                           "OM_ComplexObservation", prefix);
    }
    return 0;
}

static int missing(const EntityDef *def, const Vals *v, const char *prefix, Arena *a, Err *err)
{
    for (int i = 0; i < def->nprops; i++) {
        const Prop *p = &def->props[i];
        if ((p->flags & PROP_REQUIRED) && !v->set[p->slot])
            return err_set(err, ERR_MISSING, fld(a, prefix, p->name),
                           "%s%s is mandatory for a %s", prefix, p->name, def->name);
    }
    return 0;
}

/* Number of entries of a JSON array stored as text. */
static int stored_array(const char *text, json_t **out)
{
    json_error_t je;
    *out = text ? json_loads(text, 0, &je) : NULL;
    return *out && json_is_array(*out) ? (int)json_array_size(*out) : -1;
}

/* The result of an observation against the type(s) of its stream. */
static int check_result(Arena *a, const EntityDef *sdef, const char *types_text,
                        const json_t *result, const char *prefix, Err *err)
{
    const char *field = fld(a, prefix, "result");
    if (sdef->type == ENT_DATASTREAM)
        return model_check_result(model_obs_type(types_text), result, field, err);
    json_t *types;
    int n = stored_array(types_text, &types);
    int rc = 0;
    if (!json_is_array(result))
        rc = err_set(err, ERR_INVALID, field,
                     "%s must be an array: the Observation belongs to a MultiDatastream", field);
    else if ((int)json_array_size(result) != n)
        rc = err_set(err, ERR_INVALID, field,
                     "%s has %zu values but the MultiDatastream has %d ObservedProperties",
                     field, json_array_size(result), n);
    for (int i = 0; !rc && i < n; i++) {
        const char *f = arena_printf(a, "%s[%d]", field, i);
        rc = model_check_result(model_obs_type(json_string_value(json_array_get(types, i))),
                                json_array_get(result, (size_t)i), f ? f : field, err);
    }
    json_decref(types);
    return rc;
}

/* ================================================================ helpers */

/*
 * The id of the existing entity that obj ({"@iot.id": ...}) references.  In a
 * change set of a batch, "@iot.id": "$<Content-ID>" names the entity created
 * by an earlier request of the set (OGC 18-088 §11.2.2); its type must be def.
 */
static int reference_id(WriteCtx *w, StoreConn *c, const EntityDef *def, const json_t *obj,
                        const char *field, int64_t *id, Err *err)
{
    const json_t *jid = json_object_get(obj, "@iot.id");
    const char *ref = json_string_value(jid);
    if (ref && ref[0] == '$' && w->refs) {
        const StaRef *r = sta_refs_find(w->refs, ref + 1, json_string_length(jid) - 1);
        if (!r)
            return err_set(err, ERR_INVALID, field,
                           "%s: '%s' names no entity created by an earlier request of this "
                           "change set", field, ref);
        if (r->def != def)
            return err_set(err, ERR_INVALID, field, "%s: '%s' is a %s, not a %s", field, ref,
                           r->def->name, def->name);
        *id = r->id;
        return 0;
    }
    if (!json_is_integer(jid))
        return err_set(err, ERR_INVALID, field, "%s: @iot.id must be an integer", field);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        if (!strchr(k, '@'))
            return err_set(err, ERR_INVALID, field,
                           "%s: a reference to an existing %s holds only @iot.id, not '%s'",
                           field, def->name, k);
    }
    bool ok;
    int rc = store_exists(c, def, json_integer_value(jid), &ok, err);
    if (rc)
        return rc;
    if (!ok)
        return err_set(err, ERR_INVALID, field, "%s: no %s with id %lld", field, def->name,
                       (long long)json_integer_value(jid));
    *id = json_integer_value(jid);
    return 0;
}

static const Rel *rel_named(EntityType t, const char *name)
{
    return model_rel(model_entity(t), name, strlen(name));
}

/* A HistoricalLocation of thing at time t at the given locations. */
static int add_hl(WriteCtx *w, StoreConn *c, int64_t thing, int64_t t, const int64_t *locs,
                  size_t n, Err *err)
{
    const EntityDef *hl = model_entity(ENT_HISTORICAL_LOCATION);
    Vals v;
    memset(&v, 0, sizeof v);
    v.v[1] = (StoreValue){.type = SV_INT, .i = t};
    v.v[2] = (StoreValue){.type = SV_INT, .i = thing};
    v.set[1] = v.set[2] = true;
    int64_t id;
    int rc = store_insert(c, hl, v.v, v.set, &id, err);
    const Rel *r = rel_named(ENT_HISTORICAL_LOCATION, "Locations");
    for (size_t i = 0; !rc && i < n; i++)
        rc = store_link(c, r, id, locs[i], 0, err);
    if (!rc)
        rc = note(w, EV_CREATED, hl, id, ~0u, err);
    return rc;
}

/* Makes locs the Thing's current Locations and records the move. */
static int move_thing(WriteCtx *w, StoreConn *c, int64_t thing, int64_t t, const int64_t *locs,
                      size_t n, bool record, Err *err)
{
    const Rel *r = rel_named(ENT_THING, "Locations");
    int rc = store_unlink_all(c, r, thing, err);
    for (size_t i = 0; !rc && i < n; i++)
        rc = store_link(c, r, thing, locs[i], 0, err);
    if (!rc && record)
        rc = add_hl(w, c, thing, t, locs, n, err);
    return rc;
}

/* The FeatureOfInterest generated from the stream's Thing's Location (§10.2.2),
 * made once per Location and reused until it is deleted. */
static int generated_foi(WriteCtx *w, StoreConn *c, const StoreObsContext *ctx, int64_t *foi,
                         const char *prefix, Err *err)
{
    if (ctx->feature_id) {
        *foi = ctx->feature_id;
        return 0;
    }
    if (!ctx->location_id)
        return err_set(err, ERR_MISSING, fld(w->a, prefix, "FeatureOfInterest"),
                       "%sFeatureOfInterest is missing and Thing %lld has no GeoJSON Location "
                       "to derive it from", prefix, (long long)ctx->thing_id);
    const EntityDef *fdef = model_entity(ENT_FEATURE), *ldef = model_entity(ENT_LOCATION);
    StoreRow *loc;
    int rc = store_get(c, w->a, ldef, ctx->location_id, &loc, err);
    if (rc)
        return rc;
    Vals v;
    memset(&v, 0, sizeof v);
    const char *names[] = {"name", "description", "encodingType"};
    for (int i = 0; i < 3; i++) {
        int fs = model_prop(fdef, names[i], strlen(names[i]))->slot;
        int ls = model_prop(ldef, names[i], strlen(names[i]))->slot;
        v.v[fs] = loc->cols[ls];
        v.set[fs] = true;
    }
    int fs = model_prop(fdef, "feature", 7)->slot;
    v.v[fs] = loc->cols[model_prop(ldef, "location", 8)->slot];
    v.set[fs] = true;
    if ((rc = store_insert(c, fdef, v.v, v.set, foi, err)) ||
        (rc = note(w, EV_CREATED, fdef, *foi, ~0u, err)))
        return rc;
    int gen_slot = ldef->ncols - 1; /* gen_feature_id */
    Vals u;
    memset(&u, 0, sizeof u);
    u.v[gen_slot] = (StoreValue){.type = SV_INT, .i = *foi};
    u.set[gen_slot] = true;
    return store_update(c, ldef, ctx->location_id, u.v, u.set, err);
}

/* ================================================================ create */

static int create(WriteCtx *w, StoreConn *c, const EntityDef *def, json_t *obj,
                  const EntityDef *pdef, const Rel *via, int64_t parent, int depth,
                  const char *prefix, int64_t *out, bool *linked, Err *err);

/* Sets the foreign key of rel from its JSON (a new entity or a reference). */
static int to_one(WriteCtx *w, StoreConn *c, const Rel *r, json_t *j, int depth,
                  const char *prefix, int64_t *fk, Err *err)
{
    const char *f = fld(w->a, prefix, r->name);
    if (!json_is_object(j))
        return err_set(err, ERR_INVALID, f, "%s must be an object", f);
    bool linked;
    const char *np = arena_printf(w->a, "%s.", f);
    return create(w, c, model_entity(r->target), j, NULL, NULL, 0, depth + 1, np ? np : "", fk,
                  &linked, err);
}

static int create(WriteCtx *w, StoreConn *c, const EntityDef *def, json_t *obj,
                  const EntityDef *pdef, const Rel *via, int64_t parent, int depth,
                  const char *prefix, int64_t *out, bool *linked, Err *err)
{
    Arena *a = w->a;
    int rc;
    *linked = false;
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, prefix[0] ? prefix : NULL, "%s%s must be a JSON object",
                       prefix, def->name);
    if (json_object_get(obj, "@iot.id")) {
        if (depth == 0)
            return err_set(err, ERR_INVALID, "@iot.id",
                           "@iot.id is assigned by the server and cannot be given");
        *linked = true;
        const char *f = prefix[0] ? arena_strndup(a, prefix, strlen(prefix) - 1) : def->name;
        return reference_id(w, c, def, obj, f ? f : def->name, out, err);
    }
    const Rel *inverse = via ? model_rel_inverse(pdef, via) : NULL;
    Vals v;
    memset(&v, 0, sizeof v);
    json_t *rels[16] = {0};
    const json_t *result = NULL;
    const char *k;
    json_t *j;
    json_object_foreach(obj, k, j) {
        if (strchr(k, '@'))
            continue; /* annotations such as X@iot.navigationLink */
        const Prop *p = model_prop(def, k, strlen(k));
        const Rel *r = p ? NULL : model_rel(def, k, strlen(k));
        if (p) {
            if (p->flags & PROP_READONLY)
                continue; /* computed from the observations */
            if ((rc = parse_prop(a, def, p, j, fld(a, prefix, k), &v, err)))
                return rc;
            if (p->type == PT_RESULT)
                result = j;
        } else if (r) {
            rels[r - def->rels] = j;
        } else {
            return err_set(err, ERR_UNKNOWN_PROPERTY, fld(a, prefix, k),
                           "%s has no property or relation '%s'", def->name, k);
        }
    }
    if (def->type == ENT_OBSERVATION && !v.set[model_prop(def, "phenomenonTime", 14)->slot]) {
        const Prop *p = model_prop(def, "phenomenonTime", 14);
        v.v[p->slot] = (StoreValue){.type = SV_INT, .i = w->now};
        v.v[p->slot2] = (StoreValue){.type = SV_NULL};
        v.set[p->slot] = v.set[p->slot2] = true;
    }
    if ((rc = missing(def, &v, prefix, a, err)) ||
        (rc = check_entity(def, obj, &v, NULL, prefix, a, err)))
        return rc;

    if (def->type == ENT_OBSERVATION && rels[model_rel(def, "Datastream", 10) - def->rels] &&
        rels[model_rel(def, "MultiDatastream", 15) - def->rels])
        return err_set(err, ERR_INVALID, fld(a, prefix, "Datastream"),
                       "%san Observation belongs to a Datastream or a MultiDatastream, not both",
                       prefix);

    /* To-one relations: the parent in the path, a new entity, or a reference. */
    for (int i = 0; i < def->nrels; i++) {
        const Rel *r = &def->rels[i];
        if (r->kind != REL_ONE)
            continue;
        int64_t fk;
        if (r == inverse) {
            if (rels[i]) {
                int64_t given = -1;
                if (!json_is_object(rels[i]) ||
                    reference_id(w, c, model_entity(r->target), rels[i],
                                 fld(a, prefix, r->name), &given, err) ||
                    given != parent)
                    return err->code ? err->code
                                     : err_set(err, ERR_INVALID, fld(a, prefix, r->name),
                                               "%s%s conflicts with the %s in the path", prefix,
                                               r->name, r->name);
            }
            fk = parent;
        } else if (rels[i]) {
            if ((rc = to_one(w, c, r, rels[i], depth, prefix, &fk, err)))
                return rc;
        } else {
            if (r->required)
                return err_set(err, ERR_MISSING, fld(a, prefix, r->name),
                               "%sa %s needs a %s", prefix, def->name, r->name);
            continue;
        }
        v.v[r->fk_slot] = (StoreValue){.type = SV_INT, .i = fk};
        v.set[r->fk_slot] = true;
    }

    if (def->type == ENT_OBSERVATION) {
        const Rel *rd = model_rel(def, "Datastream", 10), *rm = model_rel(def, "MultiDatastream", 15);
        bool ds = v.set[rd->fk_slot], mds = v.set[rm->fk_slot];
        if (ds == mds)
            return err_set(err, ds ? ERR_INVALID : ERR_MISSING, fld(a, prefix, "Datastream"),
                           ds ? "%san Observation belongs to a Datastream or a MultiDatastream, "
                                "not both"
                              : "%san Observation needs a Datastream or a MultiDatastream",
                           prefix);
        const EntityDef *sdef = model_entity(ds ? ENT_DATASTREAM : ENT_MULTI_DATASTREAM);
        int64_t sid = v.v[ds ? rd->fk_slot : rm->fk_slot].i;
        StoreObsContext ctx;
        if ((rc = store_obs_context(c, a, sdef, sid, &ctx, err)) ||
            (rc = check_result(a, sdef, ctx.types, result, prefix, err)))
            return rc;
        const Rel *rf = model_rel(def, "FeatureOfInterest", 17);
        if (!v.set[rf->fk_slot]) {
            int64_t foi;
            if ((rc = generated_foi(w, c, &ctx, &foi, prefix, err)))
                return rc;
            v.v[rf->fk_slot] = (StoreValue){.type = SV_INT, .i = foi};
            v.set[rf->fk_slot] = true;
        }
    }

    if (def->type == ENT_MULTI_DATASTREAM) {
        const Rel *r = model_rel(def, "ObservedProperties", 18);
        json_t *ops = rels[r - def->rels];
        json_t *u, *t;
        int nu = stored_array(v.v[model_prop(def, "unitOfMeasurements", 18)->slot].s, &u);
        int nt = stored_array(v.v[model_prop(def, "multiObservationDataTypes", 25)->slot].s, &t);
        json_decref(u);
        json_decref(t);
        if (!json_is_array(ops) || json_array_size(ops) == 0)
            return err_set(err, ERR_MISSING, fld(a, prefix, "ObservedProperties"),
                           "%sa MultiDatastream needs a non-empty array of ObservedProperties",
                           prefix);
        if (nu != nt || nu != (int)json_array_size(ops))
            return err_set(err, ERR_INVALID, fld(a, prefix, "unitOfMeasurements"),
                           "%sunitOfMeasurements (%d), multiObservationDataTypes (%d) and "
                           "ObservedProperties (%zu) must have the same length",
                           prefix, nu, nt, json_array_size(ops));
    }

    int64_t id;
    int64_t latest = 0;
    bool have_latest = false;
    if (def->type == ENT_HISTORICAL_LOCATION &&
        (rc = store_latest_hl_time(c, v.v[model_rel(def, "Thing", 5)->fk_slot].i, &latest,
                                   &have_latest, err)))
        return rc;
    if ((rc = store_insert(c, def, v.v, v.set, &id, err)) ||
        (rc = note(w, EV_CREATED, def, id, ~0u, err)))
        return rc;

    /* To-many relations: create or reference each member, then link it. */
    for (int i = 0; i < def->nrels; i++) {
        const Rel *r = &def->rels[i];
        if (r->kind == REL_ONE || !rels[i])
            continue;
        const char *f = fld(a, prefix, r->name);
        if (!json_is_array(rels[i]))
            return err_set(err, ERR_INVALID, f, "%s must be an array", f);
        const EntityDef *tdef = model_entity(r->target);
        const Rel *back = model_rel_inverse(def, r);
        size_t n = json_array_size(rels[i]);
        int64_t *ids = arena_alloc(a, sizeof *ids * (n ? n : 1));
        if (!ids)
            return err_set(err, ERR_TOO_LARGE, f, "request too large");
        for (size_t k2 = 0; k2 < n; k2++) {
            const char *np = arena_printf(a, "%s[%zu].", f, k2);
            bool lk;
            if ((rc = create(w, c, tdef, json_array_get(rels[i], k2), def, r, id, depth + 1,
                             np ? np : "", &ids[k2], &lk, err)))
                return rc;
            if (r->kind == REL_LINK) {
                if ((rc = store_link(c, r, id, ids[k2], (int64_t)k2, err)))
                    return rc;
            } else if (lk) {
                /* An existing member moves to the new entity. */
                Vals u;
                memset(&u, 0, sizeof u);
                u.v[back->fk_slot] = (StoreValue){.type = SV_INT, .i = id};
                u.set[back->fk_slot] = true;
                if ((rc = store_update(c, tdef, ids[k2], u.v, u.set, err)) ||
                    (rc = note(w, EV_UPDATED, tdef, ids[k2], 0, err)))
                    return rc;
            }
        }
        if (def->type == ENT_THING && r->target == ENT_LOCATION && n &&
            (rc = add_hl(w, c, id, w->now, ids, n, err)))
            return rc;
        if (def->type == ENT_LOCATION && r->target == ENT_THING)
            for (size_t k2 = 0; !rc && k2 < n; k2++)
                rc = add_hl(w, c, ids[k2], w->now, &id, 1, err);
        if (rc)
            return rc;
        if (def->type == ENT_HISTORICAL_LOCATION && r->target == ENT_LOCATION &&
            (!have_latest || v.v[1].i >= latest) &&
            (rc = move_thing(w, c, v.v[model_rel(def, "Thing", 5)->fk_slot].i, 0, ids, n, false,
                             err)))
            return rc;
    }
    *out = id;
    return 0;
}

/* ================================================================ update */

static int update(WriteCtx *w, StoreConn *c, const EntityDef *def, int64_t id, json_t *obj,
                  Err *err)
{
    Arena *a = w->a;
    int rc;
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, NULL, "the body must be a JSON object");
    const json_t *jid = json_object_get(obj, "@iot.id");
    if (jid && (!json_is_integer(jid) || json_integer_value(jid) != id))
        return err_set(err, ERR_INVALID, "@iot.id", "@iot.id in the body does not match the "
                                                    "entity in the path");
    StoreRow *old;
    if ((rc = store_get(c, a, def, id, &old, err)))
        return rc;
    Vals v;
    memset(&v, 0, sizeof v);
    json_t *rels[16] = {0};
    const json_t *result = NULL;
    const char *k;
    json_t *j;
    json_object_foreach(obj, k, j) {
        if (strchr(k, '@'))
            continue;
        const Prop *p = model_prop(def, k, strlen(k));
        const Rel *r = p ? NULL : model_rel(def, k, strlen(k));
        if (p) {
            if (p->flags & PROP_READONLY)
                continue;
            if ((p->flags & PROP_REQUIRED) && json_is_null(j) && p->type != PT_RESULT)
                return err_set(err, ERR_INVALID, k, "%s is mandatory and cannot be null", k);
            if ((rc = parse_prop(a, def, p, j, k, &v, err)))
                return rc;
            if (p->type == PT_RESULT)
                result = j;
        } else if (r) {
            rels[r - def->rels] = j;
        } else {
            return err_set(err, ERR_UNKNOWN_PROPERTY, k, "%s has no property or relation '%s'",
                           def->name, k);
        }
    }
    if ((rc = check_entity(def, obj, &v, old, "", a, err)))
        return rc;

    /* Relations in a PATCH may only reference existing entities. */
    for (int i = 0; i < def->nrels; i++) {
        const Rel *r = &def->rels[i];
        if (!rels[i])
            continue;
        const EntityDef *tdef = model_entity(r->target);
        if (r->kind == REL_ONE) {
            int64_t fk;
            if (!json_is_object(rels[i]) || !json_object_get(rels[i], "@iot.id"))
                return err_set(err, ERR_INVALID, r->name,
                               "%s: an update can only reference an existing %s by "
                               "{\"@iot.id\": ...}", r->name, tdef->name);
            if ((rc = reference_id(w, c, tdef, rels[i], r->name, &fk, err)))
                return rc;
            v.v[r->fk_slot] = (StoreValue){.type = SV_INT, .i = fk};
            v.set[r->fk_slot] = true;
            continue;
        }
        if ((def->type == ENT_MULTI_DATASTREAM || def->type == ENT_OBSERVED_PROPERTY) &&
            r->kind == REL_LINK)
            return err_set(err, ERR_INVALID, r->name,
                           "the ObservedProperties of a MultiDatastream are fixed when it is "
                           "created");
        if (!json_is_array(rels[i]))
            return err_set(err, ERR_INVALID, r->name, "%s must be an array", r->name);
        size_t n = json_array_size(rels[i]);
        int64_t *ids = arena_alloc(a, sizeof *ids * (n ? n : 1));
        if (!ids)
            return err_set(err, ERR_TOO_LARGE, r->name, "request too large");
        for (size_t x = 0; x < n; x++) {
            json_t *m = json_array_get(rels[i], x);
            const char *f = arena_printf(a, "%s[%zu]", r->name, x);
            if (!json_is_object(m) || !json_object_get(m, "@iot.id"))
                return err_set(err, ERR_INVALID, f ? f : r->name,
                               "%s: an update can only reference existing entities by "
                               "{\"@iot.id\": ...}", f ? f : r->name);
            if ((rc = reference_id(w, c, tdef, m, f ? f : r->name, &ids[x], err)))
                return rc;
        }
        if (def->type == ENT_THING && r->target == ENT_LOCATION) {
            rc = move_thing(w, c, id, w->now, ids, n, true, err);
        } else if (def->type == ENT_LOCATION && r->target == ENT_THING) {
            for (size_t x = 0; !rc && x < n; x++)
                rc = store_link(c, rel_named(ENT_THING, "Locations"), ids[x], id, 0, err);
            for (size_t x = 0; !rc && x < n; x++)
                rc = add_hl(w, c, ids[x], w->now, &id, 1, err);
        } else if (r->kind == REL_LINK) {
            rc = store_unlink_all(c, r, id, err);
            for (size_t x = 0; !rc && x < n; x++)
                rc = store_link(c, r, id, ids[x], (int64_t)x, err);
        } else {
            const Rel *back = model_rel_inverse(def, r);
            for (size_t x = 0; !rc && x < n; x++) {
                Vals u;
                memset(&u, 0, sizeof u);
                u.v[back->fk_slot] = (StoreValue){.type = SV_INT, .i = id};
                u.set[back->fk_slot] = true;
                rc = store_update(c, tdef, ids[x], u.v, u.set, err);
                if (!rc)
                    rc = note(w, EV_UPDATED, tdef, ids[x], 0, err);
            }
        }
        if (rc)
            return rc;
    }

    if (def->type == ENT_OBSERVATION) {
        const Rel *rd = model_rel(def, "Datastream", 10), *rm = model_rel(def, "MultiDatastream", 15);
        bool ds = v.set[rd->fk_slot] ? true : old->cols[rd->fk_slot].type == SV_INT;
        bool mds = v.set[rm->fk_slot] ? true : old->cols[rm->fk_slot].type == SV_INT;
        if (ds && mds)
            return err_set(err, ERR_INVALID, v.set[rm->fk_slot] ? "MultiDatastream" : "Datastream",
                           "an Observation belongs to a Datastream or a MultiDatastream, not "
                           "both");
        if (result || v.set[rd->fk_slot] || v.set[rm->fk_slot]) {
            const EntityDef *sdef = model_entity(ds ? ENT_DATASTREAM : ENT_MULTI_DATASTREAM);
            int slot = ds ? rd->fk_slot : rm->fk_slot;
            int64_t sid = v.set[slot] ? v.v[slot].i : old->cols[slot].i;
            json_t *res = NULL;
            if (!result) {
                /* Check the stored result against the new stream. */
                Buf b;
                buf_init(&b);
                sta_write_prop_value(&b, def, model_prop(def, "result", 6), old);
                json_error_t je;
                res = json_loads(b.data, JSON_DECODE_ANY, &je);
                buf_fini(&b);
            }
            StoreObsContext ctx;
            rc = store_obs_context(c, a, sdef, sid, &ctx, err);
            if (!rc)
                rc = check_result(a, sdef, ctx.types, result ? result : res, "", err);
            json_decref(res);
            if (rc)
                return rc;
        }
    }
    if (def->type == ENT_MULTI_DATASTREAM) {
        json_t *u, *t;
        int us = model_prop(def, "unitOfMeasurements", 18)->slot;
        int ts = model_prop(def, "multiObservationDataTypes", 25)->slot;
        int nu = stored_array(v.set[us] ? v.v[us].s : old->cols[us].s, &u);
        int nt = stored_array(v.set[ts] ? v.v[ts].s : old->cols[ts].s, &t);
        json_decref(u);
        json_decref(t);
        if (nu != nt)
            return err_set(err, ERR_INVALID, "unitOfMeasurements",
                           "unitOfMeasurements (%d) and multiObservationDataTypes (%d) must "
                           "have the same length as the ObservedProperties", nu, nt);
    }
    uint32_t changed = 0;
    for (int i = 0; i < def->nprops; i++)
        if (v.set[def->props[i].slot])
            changed |= 1u << i;
    if ((rc = store_update(c, def, id, v.v, v.set, err)))
        return rc;
    return note(w, EV_UPDATED, def, id, changed, err);
}

/* ============================================================ dataArray */

/* OGC 18-088 §14.3.2 (CreateObservations): one group per (Multi)Datastream. */
/* Valid rows of a dataArray group waiting to be inserted together. */
typedef struct RowBatch {
    Vals v[STORE_INSERT_ROWS];
    int64_t *out[STORE_INSERT_ROWS]; /* where each row's id goes */
    size_t n;
} RowBatch;

static int flush_rows(WriteCtx *w, StoreConn *c, RowBatch *b, Err *err)
{
    if (b->n == 0)
        return 0;
    const EntityDef *odef = model_entity(ENT_OBSERVATION);
    const StoreValue *rows[STORE_INSERT_ROWS];
    int64_t ids[STORE_INSERT_ROWS];
    for (size_t i = 0; i < b->n; i++)
        rows[i] = b->v[i].v;
    int rc = store_insert_many(c, odef, rows, b->v[0].set, b->n, ids, err);
    for (size_t i = 0; !rc && i < b->n; i++) {
        *b->out[i] = ids[i];
        rc = note(w, EV_CREATED, odef, ids[i], ~0u, err);
    }
    b->n = 0;
    return rc; /* a storage error, not a bad row: the whole request fails */
}

/* Queues a valid row (inserting the queue first when it is full or the
 * row sets other columns). */
static int queue_row(WriteCtx *w, StoreConn *c, RowBatch *b, const Vals *v, int64_t *out,
                     Err *err)
{
    if (b->n == STORE_INSERT_ROWS ||
        (b->n && memcmp(b->v[0].set, v->set, sizeof v->set) != 0)) {
        int rc = flush_rows(w, c, b, err);
        if (rc)
            return rc;
    }
    b->v[b->n] = *v;
    b->out[b->n++] = out;
    return 0;
}

static int dataarray_group(WriteCtx *w, StoreConn *c, json_t *g, size_t gi, size_t *row0,
                           Err *err)
{
    Arena *a = w->a;
    const EntityDef *odef = model_entity(ENT_OBSERVATION);
    const char *prefix = arena_printf(a, "[%zu].", gi);
    if (!prefix)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    if (!json_is_object(g))
        return err_set(err, ERR_INVALID, prefix, "%s: each member must be an object", prefix);
    json_t *jds = json_object_get(g, "Datastream"), *jmds = json_object_get(g, "MultiDatastream");
    if (!jds == !jmds)
        return err_set(err, ERR_INVALID, fld(a, prefix, "Datastream"),
                       "%sneeds exactly one of Datastream and MultiDatastream", prefix);
    const Rel *srel = model_rel(odef, jds ? "Datastream" : "MultiDatastream", jds ? 10 : 15);
    const EntityDef *sdef = model_entity(srel->target);
    int64_t sid;
    int rc = reference_id(w, c, sdef, jds ? jds : jmds, fld(a, prefix, srel->name), &sid, err);
    if (rc)
        return rc;
    json_t *comps = json_object_get(g, "components");
    json_t *rows = json_object_get(g, "dataArray");
    size_t nc = json_array_size(comps);
    if (!json_is_array(comps) || nc == 0 || nc > 16)
        return err_set(err, ERR_INVALID, fld(a, prefix, "components"),
                       "%scomponents must be an array of 1 to 16 property names", prefix);
    if (!json_is_array(rows))
        return err_set(err, ERR_INVALID, fld(a, prefix, "dataArray"),
                       "%sdataArray must be an array of arrays", prefix);
    const Prop *props[16];
    int foi_col = -1, result_col = -1;
    for (size_t i = 0; i < nc; i++) {
        const char *name = json_string_value(json_array_get(comps, i));
        props[i] = NULL;
        if (name && strcmp(name, "FeatureOfInterest/id") == 0) {
            foi_col = (int)i;
            continue;
        }
        props[i] = name ? model_prop(odef, name, strlen(name)) : NULL;
        if (!props[i])
            return err_set(err, ERR_INVALID, fld(a, prefix, "components"),
                           "%scomponents[%zu]: '%s' is not an Observation property", prefix,
                           i, name ? name : "(not a string)");
        if (props[i]->type == PT_RESULT)
            result_col = (int)i;
    }
    if (result_col < 0)
        return err_set(err, ERR_MISSING, fld(a, prefix, "components"),
                       "%scomponents must include result", prefix);
    StoreObsContext ctx;
    int64_t gen_foi = 0, known_foi = 0;
    if (w->last_sdef == sdef && w->last_sid == sid) {
        ctx = w->last_ctx;
        gen_foi = w->last_gen_foi;
    } else if ((rc = store_obs_context(c, a, sdef, sid, &ctx, err))) {
        return rc;
    }
    const Prop *pt = model_prop(odef, "phenomenonTime", 14);
    const Rel *rf = model_rel(odef, "FeatureOfInterest", 17);
    RowBatch *batch = w->rows;
    for (size_t r = 0; r < json_array_size(rows); r++) {
        json_t *row = json_array_get(rows, r);
        int64_t *out = &w->ids[*row0 + r];
        *out = 0;
        if (!json_is_array(row) || json_array_size(row) != nc)
            continue; /* reported as "error" */
        Vals v;
        memset(&v, 0, sizeof v);
        Err rerr;
        err_init(&rerr);
        bool ok = true;
        for (size_t i = 0; ok && i < nc; i++)
            if (props[i])
                ok = parse_prop(a, odef, props[i], json_array_get(row, i), props[i]->name, &v,
                                &rerr) == 0;
        if (!ok || check_result(a, sdef, ctx.types, json_array_get(row, (size_t)result_col), "",
                                &rerr))
            continue;
        if (!v.set[pt->slot]) {
            v.v[pt->slot] = (StoreValue){.type = SV_INT, .i = w->now};
            v.v[pt->slot2] = (StoreValue){.type = SV_NULL};
            v.set[pt->slot] = v.set[pt->slot2] = true;
        }
        int64_t foi;
        if (foi_col >= 0) {
            json_t *jf = json_array_get(row, (size_t)foi_col);
            if (!json_is_integer(jf))
                continue;
            foi = json_integer_value(jf);
            if (foi != known_foi) {
                bool exists;
                if ((rc = store_exists(c, model_entity(ENT_FEATURE), foi, &exists, err)))
                    break;
                if (!exists)
                    continue;
                known_foi = foi;
            }
        } else {
            if (!gen_foi && (rc = generated_foi(w, c, &ctx, &gen_foi, prefix, err)))
                break;
            foi = gen_foi;
        }
        v.v[rf->fk_slot] = (StoreValue){.type = SV_INT, .i = foi};
        v.v[srel->fk_slot] = (StoreValue){.type = SV_INT, .i = sid};
        v.set[rf->fk_slot] = v.set[srel->fk_slot] = true;
        if ((rc = queue_row(w, c, batch, &v, out, err)))
            break;
    }
    if (rc)
        return rc;
    w->last_sdef = sdef;
    w->last_sid = sid;
    w->last_ctx = ctx;
    w->last_gen_foi = gen_foi;
    *row0 += json_array_size(rows);
    return 0;
}

static int dataarray_job(WriteCtx *w, StoreConn *c, Err *err)
{
    size_t n = 0;
    for (size_t g = 0; g < json_array_size(w->body); g++)
        n += json_array_size(json_object_get(json_array_get(w->body, g), "dataArray"));
    w->ids = arena_zalloc(w->a, sizeof *w->ids * (n ? n : 1));
    if (!w->ids)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    w->nids = n;
    w->last_sdef = NULL;
    /* Rows of all groups are inserted together, 64 per statement (an
     * ingest batch is one group of one row per uplink). */
    RowBatch batch;
    batch.n = 0;
    w->rows = &batch;
    size_t row0 = 0;
    int rc = 0;
    for (size_t g = 0; !rc && g < json_array_size(w->body); g++)
        rc = dataarray_group(w, c, json_array_get(w->body, g), g, &row0, err);
    if (!rc)
        rc = flush_rows(w, c, &batch, err);
    w->rows = NULL;
    return rc;
}

static void reply_dataarray(Sta *sta, HttpReq *req, HttpResp *resp, const WriteCtx *w)
{
    const char *root = sta_root_url(sta, req);
    Buf *b = &resp->body;
    buf_putc(b, '[');
    for (size_t i = 0; i < w->nids; i++) {
        if (i)
            buf_putc(b, ',');
        if (w->ids[i]) {
            buf_printf(b, "\"%s/Observations(", root ? root : "");
            jw_int(b, w->ids[i]);
            buf_puts(b, ")\"");
        } else {
            buf_puts(b, "\"error\"");
        }
    }
    buf_putc(b, ']');
    resp->status = 201;
}

/* ================================================================== job */

static const char *allowed(const ResourcePath *p)
{
    return p->kind == RES_COLLECTION ? "GET, HEAD, POST"
           : p->kind == RES_ENTITY   ? "GET, HEAD, PATCH, PUT, DELETE"
                                     : "GET, HEAD";
}

/* POST goes to a collection; PATCH, PUT and DELETE to one entity. */
static int check_target(const WriteCtx *w, const ResourcePath *p, Err *err)
{
    bool ok = p->kind == (w->kind == W_POST ? RES_COLLECTION : RES_ENTITY);
    if (!ok)
        return err_set(err, ERR_METHOD, NULL, "%s is not allowed here; allowed: %s", w->method,
                       allowed(p));
    return 0;
}

/*
 * "$<Content-ID>[/rest]" -> "/<EntitySet>(<id>)[/rest]", parsed (OData 4.0
 * Part 1 §11.7.3.1: a request in a change set may start its URL with the
 * Content-ID of an earlier request of the set that created an entity).
 */
static int resolve_ref_path(WriteCtx *w, Err *err)
{
    const char *name = w->ref_path + 1;
    size_t n = strcspn(name, "/?");
    const StaRef *r = w->refs ? sta_refs_find(w->refs, name, n) : NULL;
    if (!r)
        return err_set(err, ERR_BAD_REQUEST, NULL,
                       "'$%.*s' names no entity created by an earlier request of this change "
                       "set", (int)n, name);
    const char *rest = name + n;
    size_t rn = strcspn(rest, "?");
    const char *path = arena_printf(w->a, "/%s(%lld)%.*s", r->def->set, (long long)r->id,
                                    (int)rn, rest);
    if (!path)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    int rc = query_parse_path(path, &w->path, err);
    if (!rc)
        rc = check_target(w, &w->path, err);
    return rc;
}

int sta_write_run(StoreConn *c, WriteCtx *w, Err *err)
{
    if (w->kind == W_DATAARRAY)
        return dataarray_job(w, c, err);
    StoreScope sc;
    int rc;
    if (w->ref_path && (rc = resolve_ref_path(w, err)))
        return rc;
    /* POST /Datastreams(1)/Observations, the busiest path: creating the
     * Observation reads its stream anyway (store_obs_context, 404 if it is
     * gone), so the path needs no separate existence check. */
    const ResourcePath *p = &w->path;
    bool stream_parent = w->kind == W_POST && p->nsegs == 2 && !p->segs[1].has_id &&
                         p->segs[1].def->type == ENT_OBSERVATION &&
                         (p->segs[0].def->type == ENT_DATASTREAM ||
                          p->segs[0].def->type == ENT_MULTI_DATASTREAM);
    if ((rc = stream_parent ? store_resolve_read(c, p, p->nsegs, &sc, err)
                            : store_resolve(c, p, p->nsegs, &sc, err)))
        return rc;
    w->def = sc.def;
    switch (w->kind) {
    case W_POST: {
        bool linked;
        const Rel *via = sc.rel;
        if (via && via->kind == REL_LINK &&
            (sc.parent_def->type == ENT_MULTI_DATASTREAM ||
             sc.parent_def->type == ENT_OBSERVED_PROPERTY))
            return err_set(err, ERR_INVALID, via->name,
                           "the ObservedProperties of a MultiDatastream are fixed when it is "
                           "created");
        if ((rc = create(w, c, sc.def, w->body, sc.parent_def, via, sc.parent_id, 0, "", &w->id,
                         &linked, err)))
            return rc;
        if (via && via->kind == REL_LINK) {
            /* POST /Things(1)/Locations: link, and the Thing has moved. */
            if ((rc = store_link(c, via, sc.parent_id, w->id, 0, err)))
                return rc;
            if (sc.parent_def->type == ENT_THING && sc.def->type == ENT_LOCATION)
                rc = add_hl(w, c, sc.parent_id, w->now, &w->id, 1, err);
            else if (sc.parent_def->type == ENT_LOCATION && sc.def->type == ENT_THING)
                rc = add_hl(w, c, w->id, w->now, &sc.parent_id, 1, err);
        }
        return rc;
    }
    case W_PATCH:
        w->id = sc.id;
        return update(w, c, sc.def, sc.id, w->body, err);
    case W_DELETE:
        w->id = sc.id;
        if ((rc = store_delete(c, sc.def, sc.id, err)))
            return rc;
        return note(w, EV_DELETED, sc.def, sc.id, 0, err);
    }
    return 0;
}

static int write_job(StoreConn *c, void *data, Err *err)
{
    WriteCtx *w = data;
    int rc = sta_write_run(c, w, err);
    if (rc || !w->req || !w->req->tx_hook)
        return rc;
    bool rows = w->kind == W_DATAARRAY;
    return w->req->tx_hook(c, w->req->tx_hook_data, rows ? w->ids : &w->id, rows ? w->nids : 1,
                           err);
}

static void job_done(StoreJob *job)
{
    WriteCtx *w = (WriteCtx *)job;
    http_resume(w->req);
}

bool sta_write_created(const WriteCtx *w, const EntityDef **def, int64_t *id)
{
    if (w->kind != W_POST || !w->def || !w->id)
        return false;
    *def = w->def;
    *id = w->id;
    return true;
}

/* Publishes what a committed job changed, each entity as a GET returns it. */
static void publish(Sta *sta, HttpReq *req, const WriteCtx *w)
{
    Err err;
    err_init(&err);
    StoreConn *c;
    if (store_read_begin(sta->store, &c, &err))
        return; /* the write stands; subscribers miss this change (logged by the caller) */
    const char *root = sta_root_url(sta, req);
    Buf b;
    buf_init(&b);
    for (size_t i = 0; i < w->nchanges; i++) {
        const struct Change *ch = &w->changes[i];
        int64_t parents[16] = {0};
        Event ev = {ch->kind, ch->def, ch->id, NULL, 0, STA_VERSION, parents, ch->changed};
        StoreRow *row = NULL;
        if (ch->kind != EV_DELETED) {
            if (store_get(c, req->arena, ch->def, ch->id, &row, &err))
                continue; /* deleted again in the same job */
            buf_clear(&b);
            StaOut out = {&b, root, strlen(root)};
            sta_write_entity(&out, ch->def, row, NULL, true);
            ev.json = b.data;
            ev.len = b.len;
            for (int r = 0; r < ch->def->nrels && r < 16; r++)
                if (ch->def->rels[r].kind == REL_ONE &&
                    row->cols[ch->def->rels[r].fk_slot].type == SV_INT)
                    parents[r] = row->cols[ch->def->rels[r].fk_slot].i;
        }
        events_publish(sta->cfg.events, &ev);
    }
    buf_fini(&b);
    store_read_end(sta->store, c);
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return true; /* no Content-Type: try JSON */
    size_t n = strcspn(ct, ";");
    while (n && (ct[n - 1] == ' ' || ct[n - 1] == '\t'))
        n--;
    if (n == 16 && strncasecmp(ct, "application/json", 16) == 0)
        return true;
    /* application/<something>+json, but a JSON Patch document is not an entity. */
    return n > 17 && strncasecmp(ct, "application/", 12) == 0 &&
           strncasecmp(ct + n - 5, "+json", 5) == 0 &&
           strncasecmp(ct, "application/json-patch+json", n) != 0;
}

static int write_kind(const char *method)
{
    return strcmp(method, "POST") == 0                                 ? W_POST
           : strcmp(method, "PATCH") == 0 || strcmp(method, "PUT") == 0 ? W_PATCH
           : strcmp(method, "DELETE") == 0                              ? W_DELETE
                                                                        : -1;
}

/*
 * Everything of a write that needs no database: the target (unless it is a
 * reference, resolved in the job), the media type and the JSON syntax.
 */
static int prepare(Sta *sta, HttpReq *req, int kind, const char *method, const ResourcePath *path,
                   const char *ref_path, const StaRefs *refs, const char *content_type,
                   const char *body, size_t len, WriteCtx **out, Err *err)
{
    WriteCtx *w = arena_zalloc(req->arena, sizeof *w);
    if (!w)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    w->sta = sta;
    w->req = req;
    w->a = req->arena;
    w->kind = kind;
    w->method = method;
    w->ref_path = ref_path;
    w->refs = refs;
    if (path)
        w->path = *path;
    if (kind != W_DELETE) {
        if (!is_json_type(content_type))
            return err_set(err, ERR_MEDIA_TYPE, "Content-Type",
                           "Content-Type must be application/json, not %s", content_type);
        if (!body || len == 0)
            return err_set(err, ERR_BAD_JSON, NULL, "the request body is empty");
        json_error_t je;
        w->body = json_loadb(body, len, 0, &je);
        if (!w->body)
            return err_set_at(err, ERR_BAD_JSON, je.position > 0 ? je.position : je.column,
                              "malformed JSON at line %d, column %d: %s", je.line, je.column,
                              je.text);
        if (kind == W_DATAARRAY && !json_is_array(w->body)) {
            sta_write_release(w);
            return err_set(err, ERR_INVALID, NULL,
                           "CreateObservations expects a JSON array of "
                           "{Datastream, components, dataArray} objects");
        }
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    /* Server-assigned times are kept to the millisecond, as clients print them. */
    w->now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000000 * 1000;
    *out = w;
    return 0;
}

int sta_write_prepare(Sta *sta, HttpReq *req, const char *method, const char *path,
                      const StaRefs *refs, const char *content_type, const char *body,
                      size_t len, WriteCtx **out, Err *err)
{
    int kind = write_kind(method);
    if (kind < 0)
        return err_set(err, ERR_METHOD, NULL,
                       "%s cannot change anything; a write is POST, PATCH, PUT or DELETE",
                       method);
    if (path[0] == '$') {
        if (!refs)
            return err_set(err, ERR_BAD_REQUEST, NULL,
                           "a reference such as '%.40s' is only allowed inside a change set",
                           path);
        return prepare(sta, req, kind, method, NULL, path, refs, content_type, body, len, out,
                       err);
    }
    size_t pn = strcspn(path, "?");
    if (pn == 19 && strncmp(path, "/CreateObservations", 19) == 0) {
        if (kind != W_POST)
            return err_set(err, ERR_METHOD, NULL, "CreateObservations only takes POST");
        return prepare(sta, req, W_DATAARRAY, method, NULL, NULL, refs, content_type, body, len,
                       out, err);
    }
    const char *p = pn == strlen(path) ? path : arena_strndup(req->arena, path, pn);
    if (!p)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    ResourcePath rp;
    int rc = query_parse_path(p, &rp, err);
    if (rc)
        return rc;
    WriteCtx probe = {.kind = kind, .method = method};
    if ((rc = check_target(&probe, &rp, err)))
        return rc;
    return prepare(sta, req, kind, method, &rp, NULL, refs, content_type, body, len, out, err);
}

void sta_write_release(WriteCtx *w)
{
    if (!w)
        return;
    json_decref(w->body);
    w->body = NULL;
}

static bool prefers_minimal(const HttpReq *req)
{
    return req->prefer && strstr(req->prefer, "return=minimal");
}

void sta_write_answer(Sta *sta, HttpReq *req, WriteCtx *w, HttpResp *resp)
{
    sta_write_release(w);
    if (w->nchanges)
        publish(sta, req, w);
    if (w->kind == W_DELETE) {
        resp->status = 200;
        return;
    }
    if (w->kind == W_DATAARRAY) {
        reply_dataarray(sta, req, resp, w);
        return;
    }
    if (prefers_minimal(req)) {
        /* OData "Prefer: return=minimal": no body, no read-back (RFC 7240). */
        resp->status = 204;
        resp->preference_applied = "return=minimal";
    } else {
        sta_reply_entity(sta, req, resp, w->def, w->id, w->kind == W_POST ? 201 : 200);
    }
    if (w->kind == W_POST && (resp->status == 201 || resp->status == 204))
        resp->location = arena_printf(req->arena, "%s/%s(%lld)", sta_root_url(sta, req),
                                      w->def->set, (long long)w->id);
}

int sta_write(Sta *sta, HttpReq *req, HttpResp *resp, const ResourcePath *path)
{
    if (req->resumed) {
        WriteCtx *w = req->state;
        if (w->job.rc) {
            sta_write_release(w);
            http_reply_error(resp, &w->job.err);
            return HTTP_DONE;
        }
        sta_write_answer(sta, req, w, resp);
        return HTTP_DONE;
    }
    Err err;
    err_init(&err);
    int kind = !path ? W_DATAARRAY : write_kind(req->method);
    WriteCtx *w;
    if (prepare(sta, req, kind, req->method, path, NULL, NULL, req->content_type, req->body,
                req->body_len, &w, &err)) {
        http_reply_error(resp, &err);
        return HTTP_DONE;
    }
    w->job.fn = write_job;
    w->job.done = job_done;
    w->job.data = w;
    req->state = w;
    http_suspend(req);
    store_submit(sta->store, &w->job);
    return HTTP_SUSPENDED;
}

/* ================================================================ import */

int sta_entity_values(Arena *a, const EntityDef *def, const json_t *obj, StoreValue *vals,
                      bool *set, Err *err)
{
    Vals v;
    memset(&v, 0, sizeof v);
    const char *k;
    json_t *j;
    int rc;
    json_object_foreach((json_t *)obj, k, j) {
        const Prop *p = model_prop(def, k, strlen(k));
        if (p && !(p->flags & PROP_READONLY) && (rc = parse_prop(a, def, p, j, k, &v, err)))
            return rc;
    }
    if ((rc = missing(def, &v, "", a, err)) ||
        (rc = check_entity(def, obj, &v, NULL, "", a, err)))
        return rc;
    memcpy(vals, v.v, (size_t)def->ncols * sizeof *vals);
    memcpy(set, v.set, (size_t)def->ncols * sizeof *set);
    return 0;
}
