/*
 * fuzz_options.c - libFuzzer target for query_parse_options.  The input is
 * split into parameters on '&' and the first '=' and parsed for every
 * entity type with a capped arena.  Failures must be 400 (or "too large"
 * at the cap); parsed options must respect the limits: $top within
 * top_max, at most QUERY_MAX_ORDER keys, $expand no deeper than
 * QUERY_MAX_EXPAND_DEPTH and each expansion typed by its relation.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_PARAMS 64
#define ARENA_CAP (64 * 1024)

static const QueryLimits LIM = {100, 1000};

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_opts(const QueryOptions *o, const EntityDef *def, int depth)
{
    check(depth <= QUERY_MAX_EXPAND_DEPTH);
    check(o->def == def);
    check(o->top >= 0 && o->top <= LIM.top_max && o->skip >= 0);
    check(o->norder >= 0 && o->norder <= QUERY_MAX_ORDER);
    check(def->nprops >= 32 || (o->select_props >> def->nprops) == 0);
    check(def->nrels >= 32 || (o->select_rels >> def->nrels) == 0);
    for (int i = 0; i < o->norder; i++)
        check(!o->order[i].prop || model_prop(def, o->order[i].prop->name,
                                              strlen(o->order[i].prop->name)) == o->order[i].prop);
    for (const Expand *e = o->expand; e; e = e->next) {
        check(model_rel(def, e->rel->name, strlen(e->rel->name)) == e->rel);
        for (const Expand *x = o->expand; x != e; x = x->next)
            check(x->rel != e->rel); /* merged, never listed twice */
        check_opts(e->opts, model_entity(e->rel->target), depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    QueryParam params[MAX_PARAMS];
    size_t n = 0;
    for (char *p = s; n < MAX_PARAMS;) {
        char *amp = strchr(p, '&');
        if (amp)
            *amp = '\0';
        char *eq = strchr(p, '=');
        if (eq)
            *eq = '\0';
        params[n].key = p;
        params[n].value = eq ? eq + 1 : "";
        n++;
        if (!amp)
            break;
        p = amp + 1;
    }
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *def = model_entity((EntityType)t);
        Arena a;
        arena_init(&a, ARENA_CAP);
        QueryOptions o;
        Err err;
        err_init(&err);
        int rc = query_parse_options(&a, def, params, n, &LIM, &o, &err);
        check(a.used <= ARENA_CAP);
        if (rc) {
            check(rc == ERR_BAD_REQUEST || rc == ERR_TOO_LARGE);
            check(err.code == rc && err.msg[0] != '\0');
        } else {
            check(err.code == 0 && o.params == params && o.nparams == n);
            check_opts(&o, def, 0);
        }
        arena_fini(&a);
    }
    free(s);
    return 0;
}
