/*
 * query.c - resource paths and $-options (OGC 18-088 §9.2, §9.3) into an AST.
 *
 * The parser never reads past the strings it is given and allocates only
 * from the request arena; the first error sticks and unwinds (see err.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "query/query.h"

#include <ctype.h>
#include <string.h>

/* ================================================================ paths */

static int parse_id(const char *s, size_t n, int64_t *out, Err *err)
{
    int64_t v = 0;
    if (n == 0)
        return err_set(err, ERR_BAD_REQUEST, "@iot.id", "empty id in resource path");
    if (n >= 2 && s[0] == '\'' && s[n - 1] == '\'')
        return err_set(err, ERR_NOT_FOUND, "@iot.id",
                       "ids are integers; no entity has the id %.*s", (int)n, s);
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return err_set(err, ERR_BAD_REQUEST, "@iot.id",
                           "id '%.*s' is not a non-negative integer", (int)n, s);
        if (v > (INT64_MAX - (s[i] - '0')) / 10)
            return err_set(err, ERR_NOT_FOUND, "@iot.id", "id %.*s is out of range", (int)n,
                           s);
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Splits "Name(id)" into name and id text. */
static int split_seg(const char *s, size_t n, size_t *name_len, const char **id, size_t *id_len,
                     Err *err)
{
    const char *open = memchr(s, '(', n);
    if (!open) {
        *name_len = n;
        *id = NULL;
        *id_len = 0;
        return 0;
    }
    if (s[n - 1] != ')')
        return err_set(err, ERR_BAD_REQUEST, NULL,
                       "expected ')' at the end of path segment '%.*s'", (int)n, s);
    *name_len = (size_t)(open - s);
    *id = open + 1;
    *id_len = (size_t)(s + n - 1 - (open + 1));
    return 0;
}

int query_parse_path(const char *path, ResourcePath *out, Err *err)
{
    ResourcePath rp;
    memset(&rp, 0, sizeof rp);
    rp.kind = RES_ROOT;
    const char *p = path;
    bool done = false; /* a terminal segment ($value, $ref) was seen */
    if (*p == '/')
        p++;
    const char *stop = p + strlen(p);
    if (stop > p && stop[-1] == '/')
        stop--; /* one trailing slash is allowed */
    while (p < stop) {
        const char *end = memchr(p, '/', (size_t)(stop - p));
        size_t n = end ? (size_t)(end - p) : (size_t)(stop - p);
        const char *next = end ? end + 1 : stop;
        if (n == 0 || (end && next == stop))
            return err_set(err, ERR_NOT_FOUND, NULL, "empty segment in resource path");
        if (done)
            return err_set(err, ERR_NOT_FOUND, NULL, "nothing may follow %s in a path",
                           rp.kind == RES_VALUE ? "$value" : "$ref");
        size_t name_len = 0, id_len = 0;
        const char *id = NULL;
        int rc = split_seg(p, n, &name_len, &id, &id_len, err);
        if (rc)
            return rc;
        PathSeg *prev = rp.nsegs ? &rp.segs[rp.nsegs - 1] : NULL;

        if (n == 4 && memcmp(p, "$ref", 4) == 0) {
            if (!prev)
                return err_set(err, ERR_NOT_FOUND, NULL, "$ref needs an entity or collection");
            if (rp.kind != RES_COLLECTION && rp.kind != RES_ENTITY)
                return err_set(err, ERR_NOT_FOUND, NULL, "$ref must follow an entity or a "
                                                         "collection");
            rp.ref_entity = rp.kind == RES_ENTITY;
            rp.kind = RES_REF;
            done = true;
        } else if (n == 6 && memcmp(p, "$value", 6) == 0) {
            if (rp.kind != RES_PROPERTY)
                return err_set(err, ERR_NOT_FOUND, NULL, "$value must follow a property");
            rp.kind = RES_VALUE;
            done = true;
        } else if (!prev) {
            const EntityDef *def = model_entity_by_set(p, name_len);
            if (!def)
                return err_set(err, ERR_NOT_FOUND, NULL, "no entity set '%.*s'", (int)name_len,
                               p);
            rp.segs[0].def = def;
            rp.nsegs = 1;
            rp.kind = RES_COLLECTION;
            if (id) {
                if ((rc = parse_id(id, id_len, &rp.segs[0].id, err)))
                    return rc;
                rp.segs[0].has_id = true;
                rp.kind = RES_ENTITY;
            }
        } else {
            if (rp.kind != RES_ENTITY)
                return err_set(err, ERR_NOT_FOUND, NULL,
                               "'%.*s' must follow a single entity, not a collection", (int)n,
                               p);
            const Rel *rel = model_rel(prev->def, p, name_len);
            const Prop *prop = id ? NULL : model_prop(prev->def, p, name_len);
            if (prop) {
                rp.prop = prop;
                rp.kind = RES_PROPERTY;
            } else if (!rel) {
                return err_set(err, ERR_NOT_FOUND, NULL, "%s has no property or relation '%.*s'",
                               prev->def->name, (int)name_len, p);
            } else {
                if (rp.nsegs == QUERY_MAX_SEGS)
                    return err_set(err, ERR_BAD_REQUEST, NULL, "resource path too deep");
                PathSeg *s = &rp.segs[rp.nsegs++];
                s->def = model_entity(rel->target);
                s->rel = rel;
                if (rel->kind == REL_ONE) {
                    if (id)
                        return err_set(err, ERR_NOT_FOUND, NULL,
                                       "%s is a single entity and takes no id", rel->name);
                    rp.kind = RES_ENTITY;
                } else if (id) {
                    if ((rc = parse_id(id, id_len, &s->id, err)))
                        return rc;
                    s->has_id = true;
                    rp.kind = RES_ENTITY;
                } else {
                    rp.kind = RES_COLLECTION;
                }
            }
        }
        p = next;
    }
    *out = rp;
    return 0;
}

/* ============================================================== options */

static bool name_is(const char *s, size_t n, const char *name)
{
    return strlen(name) == n && memcmp(s, name, n) == 0;
}

static void trim(const char **s, size_t *n)
{
    while (*n && isspace((unsigned char)**s))
        (*s)++, (*n)--;
    while (*n && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static int parse_uint(const char *opt, const char *v, int64_t *out, Err *err)
{
    const char *s = v;
    size_t n = strlen(v);
    trim(&s, &n);
    int64_t x = 0;
    if (n == 0)
        return err_set(err, ERR_BAD_REQUEST, opt, "%s needs a non-negative integer", opt);
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return err_set(err, ERR_BAD_REQUEST, opt,
                           "%s must be a non-negative integer, not '%s'", opt, v);
        if (x > (INT64_MAX - 9) / 10)
            return err_set(err, ERR_BAD_REQUEST, opt, "%s is too large", opt);
        x = x * 10 + (s[i] - '0');
    }
    *out = x;
    return 0;
}

/*
 * Calls fn for each item of a list separated by sep at parenthesis depth 0
 * and outside '...' literals.  Items are trimmed; empty items are errors.
 */
typedef int (*ItemFn)(void *ctx, const char *s, size_t n, Err *err);

static int split_list(const char *opt, const char *s, size_t n, char sep, ItemFn fn, void *ctx,
                      Err *err)
{
    int depth = 0;
    bool quoted = false;
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : sep;
        if (quoted) {
            if (c == '\'')
                quoted = false;
            if (i < n)
                continue;
            return err_set(err, ERR_BAD_REQUEST, opt, "%s: unterminated string literal", opt);
        }
        if (c == '\'')
            quoted = true;
        else if (c == '(')
            depth++;
        else if (c == ')' && --depth < 0)
            return err_set(err, ERR_BAD_REQUEST, opt, "%s: unbalanced ')' at column %zu", opt,
                           i + 1);
        else if (c == sep && depth == 0) {
            const char *item = s + start;
            size_t len = i - start;
            trim(&item, &len);
            if (len == 0)
                return err_set(err, ERR_BAD_REQUEST, opt, "%s: empty item at column %zu", opt,
                               start + 1);
            int rc = fn(ctx, item, len, err);
            if (rc)
                return rc;
            start = i + 1;
        }
    }
    if (depth != 0)
        return err_set(err, ERR_BAD_REQUEST, opt, "%s: expected ')'", opt);
    return 0;
}

typedef struct Ctx {
    Arena *a;
    QueryOptions *o;
    const QueryLimits *lim;
    int depth; /* $expand nesting */
    QueryParam *params;
    size_t nparams, capparams;
} Ctx;

static int select_item(void *vctx, const char *s, size_t n, Err *err)
{
    Ctx *c = vctx;
    const EntityDef *def = c->o->def;
    if (name_is(s, n, "id") || name_is(s, n, "@iot.id")) {
        c->o->select_id = true;
        return 0;
    }
    for (int i = 0; i < def->nprops; i++)
        if (name_is(s, n, def->props[i].name)) {
            c->o->select_props |= 1u << i;
            return 0;
        }
    for (int i = 0; i < def->nrels; i++)
        if (name_is(s, n, def->rels[i].name)) {
            c->o->select_rels |= 1u << i;
            return 0;
        }
    return err_set(err, ERR_BAD_REQUEST, "$select", "$select: %s has no property '%.*s'",
                   def->name, (int)n, s);
}

static int order_item(void *vctx, const char *s, size_t n, Err *err)
{
    Ctx *c = vctx;
    QueryOptions *o = c->o;
    size_t name_len = 0;
    while (name_len < n && !isspace((unsigned char)s[name_len]))
        name_len++;
    const char *dir = s + name_len;
    size_t dir_len = n - name_len;
    trim(&dir, &dir_len);
    OrderItem it = {NULL, NULL, false};
    bool plain = name_is(s, name_len, "id") || name_is(s, name_len, "@iot.id") ||
                 model_prop(o->def, s, name_len);
    bool dir_ok = dir_len == 0 || (dir_len == 4 && memcmp(dir, "desc", 4) == 0) ||
                  (dir_len == 3 && memcmp(dir, "asc", 3) == 0);
    if (plain && !dir_ok) {
        /* "result mul 2 desc" is an expression; "name sideways" is a mistake. */
        size_t en = n;
        if (en > 5 && memcmp(s + en - 5, " desc", 5) == 0)
            en -= 5;
        else if (en > 4 && memcmp(s + en - 4, " asc", 4) == 0)
            en -= 4;
        char *text = arena_strndup(c->a, s, en);
        QueryNode *x;
        Err e;
        err_init(&e);
        bool expr = text && query_parse_expr(c->a, o->def, text, &x, &e) == 0;
        if (!expr)
            return err_set(err, ERR_BAD_REQUEST, "$orderby",
                           "$orderby: expected 'asc' or 'desc' after '%.*s', got '%.*s'",
                           (int)name_len, s, (int)dir_len, dir);
        plain = false;
        it.prop = NULL;
    }
    if (dir_len == 4 && memcmp(dir, "desc", 4) == 0)
        it.desc = true;
    if (!name_is(s, name_len, "id") && !name_is(s, name_len, "@iot.id")) {
        it.prop = plain ? model_prop(o->def, s, name_len) : NULL;
        /* JSON-valued properties order by their JSON text, as other servers do. */
        if (!it.prop) {
            /* Anything else is an expression: a path such as Datastream/name, or
             * properties/owner, or a function.  Its direction is the last word
             * when that word is asc or desc. */
            size_t elen = n;
            const char *tail = s + n;
            while (tail > s && !isspace((unsigned char)tail[-1]))
                tail--;
            size_t tlen = (size_t)(s + n - tail);
            if (tail > s && ((tlen == 4 && memcmp(tail, "desc", 4) == 0) ||
                             (tlen == 3 && memcmp(tail, "asc", 3) == 0))) {
                it.desc = tlen == 4;
                elen = (size_t)(tail - s);
            } else {
                it.desc = false;
            }
            char *text = arena_strndup(c->a, s, elen);
            if (!text)
                return err_set(err, ERR_TOO_LARGE, "$orderby", "query too large");
            Err e;
            err_init(&e);
            if (query_parse_expr(c->a, o->def, text, &it.expr, &e)) {
                if (e.code == ERR_BAD_REQUEST && !strchr(text, '/') && !strchr(text, '('))
                    return err_set(err, ERR_BAD_REQUEST, "$orderby",
                                   "$orderby: %s has no property '%.*s'", o->def->name,
                                   (int)name_len, s);
                if (err && !err->code)
                    *err = e;
                return e.code;
            }
            if (o->norder == QUERY_MAX_ORDER)
                return err_set(err, ERR_BAD_REQUEST, "$orderby", "$orderby: at most %d keys",
                               QUERY_MAX_ORDER);
            o->order[o->norder++] = it;
            return 0;
        }
    }
    if (o->norder == QUERY_MAX_ORDER)
        return err_set(err, ERR_BAD_REQUEST, "$orderby", "$orderby: at most %d keys",
                       QUERY_MAX_ORDER);
    o->order[o->norder++] = it;
    return 0;
}

static int parse_opts(Ctx *parent, const EntityDef *def, const QueryParam *params, size_t n,
                      QueryOptions *o, Err *err);

/* Adds "key=value" of a nested option list to ctx->params. */
static int nested_param(void *vctx, const char *s, size_t n, Err *err)
{
    Ctx *c = vctx;
    const char *eq = memchr(s, '=', n);
    if (!eq)
        return err_set(err, ERR_BAD_REQUEST, "$expand",
                       "$expand: expected '=' in option '%.*s'", (int)n, s);
    if (c->nparams == c->capparams) {
        size_t cap = c->capparams ? c->capparams * 2 : 8;
        QueryParam *np = arena_alloc(c->a, cap * sizeof *np);
        if (!np)
            return err_set(err, ERR_TOO_LARGE, "$expand", "query too large");
        if (c->nparams)
            memcpy(np, c->params, c->nparams * sizeof *np);
        c->params = np;
        c->capparams = cap;
    }
    const char *k = s;
    size_t kn = (size_t)(eq - s);
    trim(&k, &kn);
    char *key = arena_strndup(c->a, k, kn);
    char *val = arena_strndup(c->a, eq + 1, n - (size_t)(eq + 1 - s));
    if (!key || !val)
        return err_set(err, ERR_TOO_LARGE, "$expand", "query too large");
    c->params[c->nparams].key = key;
    c->params[c->nparams].value = val;
    c->nparams++;
    return 0;
}

static QueryOptions *new_opts(Ctx *c, const EntityDef *def, Err *err)
{
    QueryOptions *o = arena_zalloc(c->a, sizeof *o);
    if (!o) {
        err_set(err, ERR_TOO_LARGE, "$expand", "query too large");
        return NULL;
    }
    o->def = def;
    o->top = c->lim->top_default;
    return o;
}

static int expand_item(void *vctx, const char *s, size_t n, Err *err)
{
    Ctx *c = vctx;
    QueryOptions *o = c->o;
    const char *open = memchr(s, '(', n);
    size_t path_len = open ? (size_t)(open - s) : n;
    if (path_len == 0)
        return err_set(err, ERR_BAD_REQUEST, "$expand",
                       "$expand: expected a relation name before '('");
    if (open && s[n - 1] != ')')
        return err_set(err, ERR_BAD_REQUEST, "$expand",
                       "$expand: expected ')' at the end of '%.*s'", (int)n, s);
    /* Walk "A/B/C", creating or reusing an Expand node per level. */
    const EntityDef *def = o->def;
    QueryOptions *cur = o;
    size_t pos = 0;
    int level = 0;
    while (pos < path_len) {
        const char *seg = s + pos;
        const char *slash = memchr(seg, '/', path_len - pos);
        size_t len = slash ? (size_t)(slash - seg) : path_len - pos;
        const char *name = seg;
        size_t name_len = len;
        trim(&name, &name_len);
        const Rel *rel = model_rel(def, name, name_len);
        if (!rel)
            return err_set(err, ERR_BAD_REQUEST, "$expand", "$expand: %s has no relation '%.*s'",
                           def->name, (int)name_len, name);
        if (c->depth + level + 1 > QUERY_MAX_EXPAND_DEPTH)
            return err_set(err, ERR_BAD_REQUEST, "$expand",
                           "$expand: nested deeper than %d levels", QUERY_MAX_EXPAND_DEPTH);
        bool last = pos + len >= path_len;
        Expand *e = cur->expand, *tail = NULL;
        while (e && e->rel != rel)
            tail = e, e = e->next;
        if (e && last && open && e->opts_given)
            return err_set(err, ERR_BAD_REQUEST, "$expand",
                           "$expand: '%s' is expanded twice with options", rel->name);
        if (!e) {
            e = arena_zalloc(c->a, sizeof *e);
            if (!e)
                return err_set(err, ERR_TOO_LARGE, "$expand", "query too large");
            e->rel = rel;
            if (!(e->opts = new_opts(c, model_entity(rel->target), err)))
                return ERR_TOO_LARGE;
            if (tail)
                tail->next = e;
            else
                cur->expand = e;
        }
        if (last && open) {
            Ctx sub = {c->a, NULL, c->lim, c->depth + level + 1, NULL, 0, 0};
            int rc = split_list("$expand", open + 1, n - path_len - 2, ';', nested_param, &sub,
                                err);
            if (rc)
                return rc;
            QueryOptions *eo = e->opts;
            /* Nested expands already made through "A/B" stay. */
            Expand *kept = eo->expand;
            eo->expand = NULL;
            if ((rc = parse_opts(&sub, eo->def, sub.params, sub.nparams, eo, err)))
                return rc;
            if (kept) {
                Expand *t = kept;
                while (t->next)
                    t = t->next;
                t->next = eo->expand;
                eo->expand = kept;
            }
            e->opts_given = true;
        }
        cur = e->opts;
        def = cur->def;
        level++;
        pos += len + (slash ? 1 : 0);
        if (slash && pos >= path_len)
            return err_set(err, ERR_BAD_REQUEST, "$expand", "$expand: path ends with '/'");
    }
    return 0;
}

static int parse_opts(Ctx *parent, const EntityDef *def, const QueryParam *params, size_t n,
                      QueryOptions *o, Err *err)
{
    static const char *const known[] = {"$top",    "$skip",   "$count",       "$select",
                                        "$orderby", "$expand", "$filter",      "$resultFormat"};
    uint32_t seen = 0;
    Ctx c = {parent->a, o, parent->lim, parent->depth, NULL, 0, 0};
    o->def = def;
    o->params = params;
    o->nparams = n;
    for (size_t i = 0; i < n; i++) {
        const char *k = params[i].key, *v = params[i].value ? params[i].value : "";
        if (k[0] != '$')
            continue;
        size_t which = 0;
        while (which < sizeof known / sizeof known[0] && strcmp(k, known[which]) != 0)
            which++;
        if (which == sizeof known / sizeof known[0])
            return err_set(err, ERR_BAD_REQUEST, k, "unknown query option '%s'", k);
        if (seen & (1u << which))
            return err_set(err, ERR_BAD_REQUEST, k, "query option '%s' given twice", k);
        seen |= 1u << which;
        int rc = 0;
        switch (which) {
        case 0:
            if ((rc = parse_uint(k, v, &o->top, err)))
                return rc;
            o->top_given = true;
            if (o->top > parent->lim->top_max)
                o->top = parent->lim->top_max;
            break;
        case 1:
            rc = parse_uint(k, v, &o->skip, err);
            break;
        case 2:
            if (strcmp(v, "true") == 0)
                o->count = true;
            else if (strcmp(v, "false") == 0)
                o->count = false;
            else
                return err_set(err, ERR_BAD_REQUEST, k, "$count must be true or false, not '%s'",
                               v);
            break;
        case 3:
            o->select_given = true;
            rc = split_list(k, v, strlen(v), ',', select_item, &c, err);
            break;
        case 4:
            rc = split_list(k, v, strlen(v), ',', order_item, &c, err);
            break;
        case 5:
            rc = split_list(k, v, strlen(v), ',', expand_item, &c, err);
            break;
        case 6:
            if (!*v)
                return err_set(err, ERR_BAD_REQUEST, k, "$filter is empty");
            o->filter = v;
            rc = query_parse_filter(c.a, def, v, &o->filter_ast, err);
            break;
        case 7:
            o->result_format = v;
            break;
        }
        if (rc)
            return rc;
    }
    return 0;
}

int query_parse_options(Arena *a, const EntityDef *def, const QueryParam *params, size_t n,
                        const QueryLimits *lim, QueryOptions *out, Err *err)
{
    Ctx root = {a, NULL, lim, 0, NULL, 0, 0};
    QueryOptions o;
    memset(&o, 0, sizeof o);
    o.top = lim->top_default;
    int rc = parse_opts(&root, def, params, n, &o, err);
    if (rc)
        return rc;
    *out = o;
    return 0;
}
