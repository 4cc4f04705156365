/*
 * serialize.c - rows to SensorThings JSON (OGC 18-088 §9.2): @iot.id,
 * @iot.selfLink, navigation links, expanded relations with their counts and
 * next links, and each property in its JSON type.
 *
 * JSON-valued columns hold compact JSON written by klammer itself and are
 * copied through; times are formatted in UTC.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <string.h>

#include "sta/sta_int.h"
#include "util/isotime.h"
#include "util/jsonw.h"

static void write_time(Buf *b, const StoreValue *v)
{
    char t[ISOTIME_MAX];
    isotime_format(v->i, t);
    buf_putc(b, '"');
    buf_puts(b, t);
    buf_putc(b, '"');
}

static void write_interval(Buf *b, const StoreValue *s, const StoreValue *e)
{
    char t[ISOTIME_INTERVAL_MAX];
    isotime_format_interval(s->i, e->type == SV_INT ? e->i : s->i, t);
    jw_str(b, t);
}

bool sta_prop_is_null(const Prop *p, const StoreRow *row)
{
    if (p->type == PT_RESULT)
        return row->cols[p->slot2].type != SV_INT || row->cols[p->slot2].i == 0;
    return row->cols[p->slot].type == SV_NULL;
}

void sta_write_prop_value(Buf *b, const EntityDef *def, const Prop *p, const StoreRow *row)
{
    (void)def;
    const StoreValue *v = &row->cols[p->slot];
    if (sta_prop_is_null(p, row)) {
        buf_puts(b, "null");
        return;
    }
    switch (p->type) {
    case PT_STRING:
        jw_strn(b, v->s ? v->s : "", v->n);
        break;
    case PT_OBJECT:
    case PT_ANY:
    case PT_GEO:
    case PT_UOM_ARRAY:
    case PT_TYPE_ARRAY:
        buf_append(b, v->s, v->n);
        break;
    case PT_INSTANT:
        write_time(b, v);
        break;
    case PT_TIME:
        if (row->cols[p->slot2].type == SV_INT)
            write_interval(b, v, &row->cols[p->slot2]);
        else
            write_time(b, v);
        break;
    case PT_INTERVAL:
        write_interval(b, v, &row->cols[p->slot2]);
        break;
    case PT_RESULT:
        switch (row->cols[p->slot2].i) {
        case 1:
            if (v->type == SV_INT)
                jw_int(b, v->i);
            else
                jw_real(b, v->d);
            break;
        case 2:
            jw_strn(b, v->s ? v->s : "", v->n);
            break;
        case 3:
            buf_puts(b, v->i ? "true" : "false");
            break;
        default:
            buf_append(b, v->s, v->n);
        }
        break;
    }
}

/* Appends "<root>/<Set>(<id>)" without printf: this runs for every entity written. */
static void put_entity_url(StaOut *out, const EntityDef *def, int64_t id)
{
    Buf *b = out->b;
    buf_append(b, out->root, out->root_len);
    buf_putc(b, '/');
    buf_puts(b, def->set);
    buf_putc(b, '(');
    jw_int(b, id);
    buf_putc(b, ')');
}

static void self_link(StaOut *out, const EntityDef *def, int64_t id)
{
    buf_putc(out->b, '"');
    put_entity_url(out, def, id);
    buf_putc(out->b, '"');
}

static bool expanded(const QueryOptions *o, const Rel *rel)
{
    for (const Expand *e = o ? o->expand : NULL; e; e = e->next)
        if (e->rel == rel)
            return true;
    return false;
}

void sta_write_entity(StaOut *out, const EntityDef *def, const StoreRow *row,
                      const QueryOptions *o, bool toplevel)
{
    Buf *b = out->b;
    int64_t id = row->cols[0].i;
    bool sel = o && o->select_given;
    bool first = true;
    buf_putc(b, '{');
    if (!sel) {
        buf_puts(b, "\"@iot.selfLink\":");
        self_link(out, def, id);
        buf_puts(b, ",\"@iot.id\":");
        jw_int(b, id);
        first = false;
    } else if (o->select_id) {
        buf_puts(b, "\"@iot.id\":");
        jw_int(b, id);
        first = false;
    }
    for (int i = 0; i < def->nprops; i++) {
        const Prop *p = &def->props[i];
        if (sel && !(o->select_props & (1u << i)))
            continue;
        /* Optional properties that were never set are left out, unless
         * selected; Observation resultTime is always written (§9.2). */
        bool always = sel || (p->flags & PROP_REQUIRED) ||
                      (def->type == ENT_OBSERVATION && p->type == PT_INSTANT);
        if (!always && sta_prop_is_null(p, row))
            continue;
        if (!first)
            buf_putc(b, ',');
        first = false;
        jw_key(b, p->name);
        sta_write_prop_value(b, def, p, row);
    }
    for (int i = 0; i < def->nrels; i++) {
        const Rel *r = &def->rels[i];
        bool want = sel ? (o->select_rels & (1u << i)) != 0 : toplevel;
        if (!want || expanded(o, r))
            continue;
        if (r->kind == REL_ONE && row->cols[r->fk_slot].type != SV_INT)
            continue; /* e.g. the MultiDatastream of a Datastream's observation */
        if (!first)
            buf_putc(b, ',');
        first = false;
        buf_putc(b, '"');
        buf_puts(b, r->name);
        buf_puts(b, "@iot.navigationLink\":\"");
        put_entity_url(out, def, id);
        buf_putc(b, '/');
        buf_puts(b, r->name);
        buf_putc(b, '"');
    }
    size_t k = 0;
    for (const Expand *e = o ? o->expand : NULL; e; e = e->next, k++) {
        const StoreRowSet *rs = row->expanded ? row->expanded[k] : NULL;
        if (!first)
            buf_putc(b, ',');
        first = false;
        jw_key(b, e->rel->name);
        if (e->rel->kind == REL_ONE) {
            if (rs && rs->n)
                sta_write_entity(out, rs->def, &rs->rows[0], e->opts, false);
            else
                buf_puts(b, "null");
            continue;
        }
        buf_putc(b, '[');
        if (rs)
            sta_write_array(out, rs, e->opts, false);
        buf_putc(b, ']');
        if (rs && rs->count >= 0)
            buf_printf(b, ",\"%s@iot.count\":%lld", e->rel->name, (long long)rs->count);
        if (rs && rs->more) {
            char base[512];
            snprintf(base, sizeof base, "%s/%s(%lld)/%s", out->root, def->set, (long long)id,
                     e->rel->name);
            buf_printf(b, ",\"%s@iot.nextLink\":", e->rel->name);
            Buf link;
            buf_init(&link);
            sta_write_next_link(&link, base, e->opts);
            jw_strn(b, link.data, link.len);
            buf_fini(&link);
        }
    }
    buf_putc(b, '}');
}

void sta_write_array(StaOut *out, const StoreRowSet *rs, const QueryOptions *o, bool toplevel)
{
    for (size_t i = 0; i < rs->n; i++) {
        if (i)
            buf_putc(out->b, ',');
        sta_write_entity(out, rs->def, &rs->rows[i], o, toplevel);
    }
}

/* Percent-encodes what may not appear raw in a query value. */
static void put_encoded(Buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-._~$()',;=/:@*!", c))
            buf_putc(b, (char)c);
        else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(b, e, 3);
        }
    }
}

void sta_write_next_link(Buf *b, const char *base, const QueryOptions *o)
{
    buf_puts(b, base);
    buf_putc(b, '?');
    for (size_t i = 0; i < o->nparams; i++) {
        const QueryParam *p = &o->params[i];
        if (strcmp(p->key, "$top") == 0 || strcmp(p->key, "$skip") == 0)
            continue;
        put_encoded(b, p->key);
        buf_putc(b, '=');
        put_encoded(b, p->value ? p->value : "");
        buf_putc(b, '&');
    }
    buf_printf(b, "$top=%lld&$skip=%lld", (long long)o->top, (long long)(o->skip + o->top));
}
