/*
 * fuzz_filter.c - libFuzzer target for query_parse_filter.  The input is
 * one $filter expression, parsed for every entity type in a capped arena.
 * A success must be a boolean (or JSON-typed) root whose nodes all have a
 * column inside the text, operand types their operators accept, and paths
 * that agree with the model.  A failure must be ERR_BAD_REQUEST or, at the
 * cap, ERR_TOO_LARGE, with field "$filter", a column inside the text (or
 * just past its end) and a message that is valid UTF-8 for the JSON body.
 * A parsed filter is compiled to SQL for SQLite and for PostgreSQL: either
 * an error the API reports or balanced SQL of printable ASCII only, since
 * every value from the request is a bound parameter.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"
#include "store/store_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARENA_CAP (64 * 1024)

static void check(int cond)
{
    if (!cond)
        abort();
}

static int is_bool(QueryType t)
{
    return t == QT_BOOL || t == QT_ANY;
}

static int is_num(QueryType t)
{
    return t == QT_NUMBER || t == QT_ANY;
}

static void check_node(const QueryNode *n, const EntityDef *def, size_t len)
{
    check(n != NULL);
    check(n->pos >= 1 && (size_t)n->pos <= len);
    check(n->type >= QT_NULL && n->type <= QT_ANY);
    switch (n->kind) {
    case QN_NULL:
        check(n->type == QT_NULL);
        break;
    case QN_BOOL:
        check(n->type == QT_BOOL && (n->i == 0 || n->i == 1));
        break;
    case QN_INT:
    case QN_REAL:
        check(n->type == QT_NUMBER);
        break;
    case QN_STRING:
    case QN_GEO:
        check(n->s != NULL && strlen(n->s) == n->n);
        check(n->type == (n->kind == QN_GEO ? QT_GEO : QT_STRING));
        break;
    case QN_TIME:
    case QN_INTERVAL:
        check(n->type == QT_TIME && n->t0 <= n->t1);
        break;
    case QN_DURATION:
        check(n->type == QT_DURATION);
        break;
    case QN_PATH: {
        const QueryPath *p = n->path;
        const EntityDef *cur = def;
        check(p != NULL && p->nrels >= 0 && p->nrels <= QUERY_MAX_SEGS);
        check(p->njson >= 0 && p->njson <= QUERY_MAX_JSON_PATH);
        for (int i = 0; i < p->nrels; i++) {
            check(model_rel(cur, p->rels[i]->name, strlen(p->rels[i]->name)) == p->rels[i]);
            check(p->defs[i] == model_entity(p->rels[i]->target));
            cur = p->defs[i];
        }
        if (p->prop)
            check(model_prop(cur, p->prop->name, strlen(p->prop->name)) == p->prop);
        else
            check(n->type == QT_NUMBER && p->njson == 0);
        for (int i = 0; i < p->njson; i++)
            check(p->json[i] != NULL && p->json[i][0] != '\0');
        check(p->njson == 0 || n->type == QT_ANY);
        break;
    }
    case QN_BINARY:
        check_node(n->a, def, len);
        check_node(n->b, def, len);
        check(n->op >= QOP_EQ && n->op <= QOP_MOD);
        if (n->op == QOP_AND || n->op == QOP_OR)
            check(n->type == QT_BOOL && is_bool(n->a->type) && is_bool(n->b->type));
        else if (n->op <= QOP_LE)
            check(n->type == QT_BOOL);
        else if (n->op >= QOP_MUL)
            check(n->type == QT_NUMBER && is_num(n->a->type) && is_num(n->b->type));
        else
            check(n->type == QT_NUMBER || n->type == QT_TIME || n->type == QT_DURATION);
        break;
    case QN_NOT:
        check_node(n->a, def, len);
        check(n->type == QT_BOOL && is_bool(n->a->type));
        break;
    case QN_NEG:
        check_node(n->a, def, len);
        check(n->type == QT_NUMBER || n->type == QT_DURATION);
        break;
    case QN_FUNC:
        check(n->op >= QF_SUBSTRINGOF && n->op <= QF_ST_RELATE);
        check(n->nargs >= 0 && n->nargs <= 3 && (n->nargs == 0 || n->args != NULL));
        for (int i = 0; i < n->nargs; i++)
            check_node(n->args[i], def, len);
        break;
    }
}

/* Valid UTF-8 without overlong forms or surrogates. */
static int utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        int k = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                             : (c & 0xF8) == 0xF0 ? 3 : -1;
        if (k < 0 || (k == 1 && c < 0xC2))
            return 0;
        for (int j = 1; j <= k; j++)
            if ((p[j] & 0xC0) != 0x80)
                return 0;
        if (k == 2 && ((c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] >= 0xA0)))
            return 0;
        if (k == 3 && ((c == 0xF0 && p[1] < 0x90) || c > 0xF4 || (c == 0xF4 && p[1] >= 0x90)))
            return 0;
        p += k + 1;
    }
    return 1;
}

/* Compiles root for dialect d (no database: the compiler needs none). */
static void check_sql(Arena *a, const QueryNode *root, const EntityDef *def,
                      const StoreDialect *d)
{
    StoreConn c;
    memset(&c, 0, sizeof c);
    c.dialect = d;
    c.spatial = true;
    Buf sql;
    buf_init(&sql);
    StoreBinds b = {0};
    Err err;
    err_init(&err);
    int rc = store_filter_sql(&c, &sql, &b, a, root, "t", def, &err);
    if (rc) {
        check(rc == ERR_TOO_LARGE || rc == ERR_BAD_REQUEST || rc == ERR_NOT_IMPLEMENTED);
        check(err.code == rc && utf8_ok(err.msg));
    } else {
        int depth = 0;
        for (size_t i = 0; i < sql.len; i++) {
            unsigned char ch = (unsigned char)sql.data[i];
            check(ch >= 0x20 && ch < 0x7F);
            depth += ch == '(' ? 1 : ch == ')' ? -1 : 0;
            check(depth >= 0);
        }
        check(depth == 0);
    }
    buf_fini(&sql);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s);
    for (int t = 0; t < ENT__COUNT; t++) {
        const EntityDef *def = model_entity((EntityType)t);
        Arena a;
        arena_init(&a, ARENA_CAP);
        QueryNode *root = NULL;
        Err err;
        err_init(&err);
        int rc = query_parse_filter(&a, def, s, &root, &err);
        check(a.used <= ARENA_CAP);
        if (rc) {
            check(rc == ERR_BAD_REQUEST || rc == ERR_TOO_LARGE);
            check(err.code == rc && err.msg[0] != '\0' && root == NULL);
            check(strcmp(err.field, "$filter") == 0);
            check(err.position >= 1 && (size_t)err.position <= len + 1);
            check(utf8_ok(err.msg));
        } else {
            check(err.code == 0 && root != NULL);
            check(is_bool(root->type));
            check_node(root, def, len);
            check_sql(&a, root, def, &store_dialect_sqlite);
            check_sql(&a, root, def, &store_dialect_pg);
        }
        arena_fini(&a);
    }
    free(s);
    return 0;
}
