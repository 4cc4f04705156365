/*
 * dump.c - SensorThings entities as JSON lines, for klammer export and
 * import (app/transfer.c, docs/operations.md).
 *
 * An entity line is the entity as the API serialises it (same property
 * names, ISO 8601 times, GeoJSON, JSON properties), without self and
 * navigation links, preceded by its "type" and followed by the ids of its
 * links in the form a deep insert uses for existing entities:
 *
 *   {"type":"Datastream","@iot.id":4,"name":...,"Thing":{"@iot.id":1},
 *    "Sensor":{"@iot.id":2},"ObservedProperty":{"@iot.id":3}}
 *
 * To-one links come from the entity's foreign keys; a many-to-many link is
 * written on one side only, the side exported later (Thing.Locations,
 * HistoricalLocation.Locations, MultiDatastream.ObservedProperties, in
 * order).  A Location names the FeatureOfInterest generated from it in
 * "generatedFeatureOfInterest@iot.id".  Types come in sta_dump_order, each
 * by ascending id, so a line only refers to lines before it.
 *
 * Import checks each line as a create checks a POST body, plus the order:
 * ids ascend per type, and every referenced id appeared earlier in the
 * file.  Derived values (a stream's phenomenonTime, resultTime and its
 * statistics) are read-only: they are skipped and recomputed by the store
 * as the Observations arrive.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdlib.h>
#include <string.h>

#include "sta/sta_int.h"
#include "util/jsonw.h"

#define GEN_FOI_KEY "generatedFeatureOfInterest@iot.id"

static const EntityType order[ENT__COUNT] = {
    ENT_SENSOR,   ENT_OBSERVED_PROPERTY,   ENT_FEATURE,    ENT_LOCATION,         ENT_THING,
    ENT_HISTORICAL_LOCATION, ENT_DATASTREAM, ENT_MULTI_DATASTREAM, ENT_OBSERVATION,
};

const EntityDef *sta_dump_order(int i)
{
    return i >= 0 && i < ENT__COUNT ? model_entity(order[i]) : NULL;
}

/* The many-to-many relation whose links def's lines carry, or NULL. */
static const Rel *link_rel(const EntityDef *def)
{
    const char *name = def->type == ENT_THING                 ? "Locations"
                       : def->type == ENT_HISTORICAL_LOCATION ? "Locations"
                       : def->type == ENT_MULTI_DATASTREAM    ? "ObservedProperties"
                                                              : NULL;
    return name ? model_rel(def, name, strlen(name)) : NULL;
}

/* Slot of a Location's generated FeatureOfInterest (the column after the properties). */
static int gen_foi_slot(const EntityDef *def)
{
    return def->type == ENT_LOCATION ? def->ncols - 1 : -1;
}

/* ================================================================ export */

/* One entity row as a line into b. */
static int format_row(StoreConn *c, const EntityDef *def, const StoreRow *row,
                      const QueryOptions *o, Buf *tmp, Buf *b, Err *err)
{
    StaOut out = {tmp, "", 0};
    buf_clear(tmp);
    sta_write_entity(&out, def, row, o, false);
    if (o->expand && row->expanded && row->expanded[0] && row->expanded[0]->more)
        return err_set(err, ERR_TOO_LARGE, o->expand->rel->name,
                       "%s %lld has more %s than an export line holds", def->name,
                       (long long)row->cols[0].i, o->expand->rel->name);
    /* Drop the selfLink: the line starts at the entity's @iot.id. */
    const char *id = strstr(tmp->data, ",\"@iot.id\":");
    buf_puts(b, "{\"type\":");
    jw_str(b, def->name);
    buf_append(b, id, tmp->len - (size_t)(id - tmp->data) - 1);
    for (int i = 0; i < def->nrels; i++) {
        const Rel *r = &def->rels[i];
        if (r->kind != REL_ONE || row->cols[r->fk_slot].type != SV_INT)
            continue;
        buf_putc(b, ',');
        jw_key(b, r->name);
        buf_puts(b, "{\"@iot.id\":");
        jw_int(b, row->cols[r->fk_slot].i);
        buf_putc(b, '}');
    }
    int gs = gen_foi_slot(def);
    if (gs >= 0 && row->cols[gs].type == SV_INT) {
        bool exists;
        int rc = store_exists(c, model_entity(ENT_FEATURE), row->cols[gs].i, &exists, err);
        if (rc)
            return rc;
        if (exists) {
            buf_puts(b, ",\"" GEN_FOI_KEY "\":");
            jw_int(b, row->cols[gs].i);
        }
    }
    buf_puts(b, "}\n");
    return 0;
}

int sta_dump_write(StoreConn *c, const EntityDef *def, int64_t page, StaDumpSink sink,
                   void *data, int64_t *n, Err *err)
{
    const Rel *lr = link_rel(def);
    char top[32], filter[48], expand[96] = "";
    snprintf(top, sizeof top, "%lld", (long long)page);
    if (lr)
        snprintf(expand, sizeof expand, "%s($select=id;$top=1000000)", lr->name);
    QueryLimits lim = {page, page > 1000000 ? page : 1000000};
    Buf tmp, b;
    buf_init(&tmp);
    buf_init(&b);
    int64_t last = 0;
    int rc = 0;
    for (;;) {
        Arena a;
        arena_init(&a, 512u << 20);
        snprintf(filter, sizeof filter, "id gt %lld", (long long)last);
        QueryParam qp[4] = {{"$filter", filter}, {"$orderby", "id asc"}, {"$top", top},
                            {"$expand", expand}};
        QueryOptions o;
        StoreScope sc = {.def = def};
        StoreRowSet *rs = NULL;
        rc = query_parse_options(&a, def, qp, lr ? 4 : 3, &lim, &o, err);
        if (!rc)
            rc = store_read(c, &a, &sc, &o, &rs, err);
        for (size_t i = 0; !rc && i < rs->n; i++) {
            buf_clear(&b);
            rc = format_row(c, def, &rs->rows[i], &o, &tmp, &b, err);
            if (!rc)
                rc = sink(data, b.data, b.len, err);
            last = rs->rows[i].cols[0].i;
            (*n)++;
        }
        bool more = !rc && rs->more;
        arena_fini(&a);
        if (!more)
            break;
    }
    buf_fini(&tmp);
    buf_fini(&b);
    return rc;
}

/* ================================================================ import */

/* {"@iot.id": n} with nothing else: the id. */
static int ref_id(const json_t *j, const char *field, int64_t *id, Err *err)
{
    const json_t *v = json_object_get(j, "@iot.id");
    if (!json_is_object(j) || json_object_size(j) != 1 || !json_is_integer(v) ||
        json_integer_value(v) <= 0)
        return err_set(err, ERR_INVALID, field, "%s must be {\"@iot.id\": <positive integer>}",
                       field);
    *id = json_integer_value(v);
    return 0;
}

int sta_dump_parse(Arena *a, const json_t *obj, StaDumpEntity *out, Err *err)
{
    memset(out, 0, sizeof *out);
    const char *type = json_string_value(json_object_get(obj, "type"));
    const EntityDef *def = type ? model_entity_by_name(type, strlen(type)) : NULL;
    if (!json_is_object(obj) || !def)
        return err_set(err, ERR_INVALID, "type", "\"type\" must name an entity type");
    out->def = def;
    const json_t *jid = json_object_get(obj, "@iot.id");
    if (!json_is_integer(jid) || json_integer_value(jid) <= 0)
        return err_set(err, ERR_INVALID, "@iot.id", "@iot.id must be a positive integer");
    out->id = json_integer_value(jid);
    if (def->ncols > STA_DUMP_MAX_COLS)
        return err_set(err, ERR_INTERNAL, NULL, "%s has too many columns", def->name);
    int rc = sta_entity_values(a, def, obj, out->vals, out->set, err);
    if (rc)
        return rc;
    out->vals[0] = (StoreValue){.type = SV_INT, .i = out->id};
    out->set[0] = true;
    const Rel *lr = link_rel(def);
    const char *k;
    json_t *j;
    json_object_foreach((json_t *)obj, k, j) {
        if (strcmp(k, "type") == 0 || strcmp(k, "@iot.id") == 0 ||
            model_prop(def, k, strlen(k)))
            continue;
        const Rel *r = model_rel(def, k, strlen(k));
        if (r && r->kind == REL_ONE) {
            if (json_is_null(j))
                continue;
            int64_t id;
            if ((rc = ref_id(j, k, &id, err)))
                return rc;
            out->vals[r->fk_slot] = (StoreValue){.type = SV_INT, .i = id};
            out->set[r->fk_slot] = true;
        } else if (r && r == lr) {
            size_t n = json_array_size(j);
            if (!json_is_array(j))
                return err_set(err, ERR_INVALID, k, "%s must be an array", k);
            out->links = arena_alloc(a, sizeof *out->links * (n ? n : 1));
            if (!out->links)
                return err_set(err, ERR_TOO_LARGE, k, "line too large");
            for (size_t i = 0; i < n; i++) {
                const char *f = arena_printf(a, "%s[%zu]", k, i);
                if ((rc = ref_id(json_array_get(j, i), f ? f : k, &out->links[i], err)))
                    return rc;
            }
            out->nlinks = n;
            out->link_rel = lr;
        } else if (gen_foi_slot(def) >= 0 && strcmp(k, GEN_FOI_KEY) == 0) {
            if (!json_is_integer(j) || json_integer_value(j) <= 0)
                return err_set(err, ERR_INVALID, k, "%s must be a positive integer", k);
            out->vals[gen_foi_slot(def)] = (StoreValue){.type = SV_INT, .i = json_integer_value(j)};
            out->set[gen_foi_slot(def)] = true;
        } else {
            return err_set(err, ERR_UNKNOWN_PROPERTY, k,
                           "a %s line has no member '%s' (its properties, its links as "
                           "{\"@iot.id\": n})", def->name, k);
        }
    }
    for (int i = 0; i < def->nrels; i++) {
        const Rel *r = &def->rels[i];
        if (r->kind == REL_ONE && r->required && !out->set[r->fk_slot])
            return err_set(err, ERR_MISSING, r->name, "a %s needs its %s", def->name, r->name);
    }
    if (def->type == ENT_OBSERVATION) {
        const Rel *rd = model_rel(def, "Datastream", 10), *rm = model_rel(def, "MultiDatastream", 15);
        const Rel *rf = model_rel(def, "FeatureOfInterest", 17);
        if (out->set[rd->fk_slot] == out->set[rm->fk_slot])
            return err_set(err, ERR_INVALID, "Datastream",
                           "an Observation belongs to a Datastream or a MultiDatastream");
        if (!out->set[rf->fk_slot])
            return err_set(err, ERR_MISSING, "FeatureOfInterest",
                           "an Observation needs its FeatureOfInterest");
        if (!out->set[model_prop(def, "phenomenonTime", 14)->slot])
            return err_set(err, ERR_MISSING, "phenomenonTime",
                           "an Observation needs its phenomenonTime");
    }
    if (def->type == ENT_MULTI_DATASTREAM && out->nlinks == 0)
        return err_set(err, ERR_MISSING, "ObservedProperties",
                       "a MultiDatastream needs its ObservedProperties");
    return 0;
}

/* Ids of one type seen so far, ascending; for streams their result types. */
typedef struct IdSet {
    int64_t *ids;
    json_t **types; /* streams: observationType (string) or the types array; owned */
    size_t n, cap;
    int64_t last;   /* highest id seen (Observations keep only this) */
} IdSet;

struct StaDumpState {
    IdSet set[ENT__COUNT];
    int64_t lines[ENT__COUNT];
};

StaDumpState *sta_dump_state_new(void)
{
    return xcalloc(1, sizeof(StaDumpState));
}

void sta_dump_state_free(StaDumpState *st)
{
    if (!st)
        return;
    for (int t = 0; t < ENT__COUNT; t++) {
        for (size_t i = 0; st->set[t].types && i < st->set[t].n; i++)
            json_decref(st->set[t].types[i]);
        free(st->set[t].types);
        free(st->set[t].ids);
    }
    free(st);
}

/* Index of id in s, or -1. */
static ptrdiff_t find(const IdSet *s, int64_t id)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->ids[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n && s->ids[lo] == id ? (ptrdiff_t)lo : -1;
}

bool sta_dump_known(const StaDumpState *st, EntityType t, int64_t id)
{
    return t >= 0 && t < ENT__COUNT && find(&st->set[t], id) >= 0;
}

int64_t sta_dump_count(const StaDumpState *st, EntityType t)
{
    return t >= 0 && t < ENT__COUNT ? st->lines[t] : 0;
}

static int known(const StaDumpState *st, EntityType t, int64_t id, const char *field, Err *err)
{
    if (sta_dump_known(st, t, id))
        return 0;
    return err_set(err, ERR_INVALID, field, "%s: %s %lld does not come before this line",
                   field, model_entity(t)->name, (long long)id);
}

/* The result of an Observation against its stream's types. */
static int check_result(const StaDumpState *st, const StaDumpEntity *e, Err *err)
{
    const EntityDef *def = e->def;
    const Rel *rd = model_rel(def, "Datastream", 10), *rm = model_rel(def, "MultiDatastream", 15);
    bool ds = e->set[rd->fk_slot];
    const IdSet *s = &st->set[ds ? ENT_DATASTREAM : ENT_MULTI_DATASTREAM];
    ptrdiff_t k = find(s, e->vals[ds ? rd->fk_slot : rm->fk_slot].i);
    const json_t *types = k >= 0 ? s->types[k] : NULL;
    const Prop *p = model_prop(def, "result", 6);
    const StoreValue *v = &e->vals[p->slot];
    json_t *r;
    switch (e->vals[p->slot2].i) {
    case 0: r = json_null(); break;
    case 1: r = v->type == SV_INT ? json_integer(v->i) : json_real(v->d); break;
    case 2: r = json_stringn(v->s, v->n); break;
    case 3: r = json_boolean(v->i); break;
    default: r = json_loadb(v->s, v->n, JSON_DECODE_ANY, NULL); break;
    }
    int rc = 0;
    if (ds) {
        rc = model_check_result(model_obs_type(json_string_value(types)), r, "result", err);
    } else if (!json_is_array(r) || json_array_size(r) != json_array_size(types)) {
        rc = err_set(err, ERR_INVALID, "result",
                     "result must be an array of %zu values, one per ObservedProperty of "
                     "the MultiDatastream", json_array_size(types));
    } else {
        char f[32];
        for (size_t i = 0; !rc && i < json_array_size(r); i++) {
            snprintf(f, sizeof f, "result[%zu]", i);
            rc = model_check_result(model_obs_type(json_string_value(json_array_get(types, i))),
                                    json_array_get(r, i), f, err);
        }
    }
    json_decref(r);
    return rc;
}

/* The stream's result types, as checked against its Observations. */
static json_t *stream_types(const StaDumpEntity *e)
{
    const EntityDef *def = e->def;
    if (def->type == ENT_DATASTREAM) {
        const StoreValue *v = &e->vals[model_prop(def, "observationType", 15)->slot];
        return json_stringn(v->s, v->n);
    }
    const StoreValue *v = &e->vals[model_prop(def, "multiObservationDataTypes", 25)->slot];
    return json_loadb(v->s, v->n, 0, NULL);
}

static void remember(IdSet *s, int64_t id, json_t *types)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->ids = xrealloc(s->ids, s->cap * sizeof *s->ids);
        s->types = xrealloc(s->types, s->cap * sizeof *s->types);
    }
    s->ids[s->n] = id;
    s->types[s->n] = types;
    s->n++;
}

int sta_dump_apply(StoreConn *c, StaDumpState *st, const StaDumpEntity *e, Err *err)
{
    const EntityDef *def = e->def;
    IdSet *s = &st->set[def->type];
    int rc;
    if (e->id <= s->last)
        return err_set(err, ERR_INVALID, "@iot.id",
                       "%s %lld comes after %s %lld: the ids of a type must ascend", def->name,
                       (long long)e->id, def->name, (long long)s->last);
    for (int i = 0; i < def->nrels; i++) {
        const Rel *r = &def->rels[i];
        if (r->kind == REL_ONE && e->set[r->fk_slot] &&
            (rc = known(st, r->target, e->vals[r->fk_slot].i, r->name, err)))
            return rc;
    }
    for (size_t i = 0; i < e->nlinks; i++)
        if ((rc = known(st, e->link_rel->target, e->links[i], e->link_rel->name, err)))
            return rc;
    int gs = gen_foi_slot(def);
    if (gs >= 0 && e->set[gs] && (rc = known(st, ENT_FEATURE, e->vals[gs].i, GEN_FOI_KEY, err)))
        return rc;
    if (def->type == ENT_MULTI_DATASTREAM) {
        json_t *t = stream_types(e);
        const StoreValue *u = &e->vals[model_prop(def, "unitOfMeasurements", 18)->slot];
        json_t *uoms = json_loadb(u->s, u->n, 0, NULL);
        bool same = json_array_size(t) == e->nlinks && json_array_size(uoms) == e->nlinks;
        json_decref(t);
        json_decref(uoms);
        if (!same)
            return err_set(err, ERR_INVALID, "ObservedProperties",
                           "unitOfMeasurements, multiObservationDataTypes and "
                           "ObservedProperties must have the same length");
    }
    if (def->type == ENT_OBSERVATION && (rc = check_result(st, e, err)))
        return rc;
    if ((rc = store_insert_id(c, def, e->vals, e->set, err)))
        return rc;
    for (size_t i = 0; i < e->nlinks; i++)
        if ((rc = store_link(c, e->link_rel, e->id, e->links[i], (int64_t)i, err)))
            return rc;
    s->last = e->id;
    st->lines[def->type]++;
    if (def->type != ENT_OBSERVATION)
        remember(s, e->id,
                 def->type == ENT_DATASTREAM || def->type == ENT_MULTI_DATASTREAM
                     ? stream_types(e)
                     : NULL);
    return 0;
}
