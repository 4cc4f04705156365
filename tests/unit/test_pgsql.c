/*
 * test_pgsql.c - the pure pieces of the PostgreSQL dialect: ?N parameters
 * rewritten as $N, and the $filter/$orderby SQL compiled for each dialect
 * (casts, boolean conditions, JSON members, text results, NULL order).
 * No database is opened: the compiler needs only a connection's dialect.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "query/query.h"
#include "store/store_int.h"

/* ------------------------------------------------------- placeholders */

static void test_placeholders(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        int max;
    } cases[] = {
        {"SELECT 1", "SELECT 1", 0},
        {"SELECT id FROM t WHERE id = ?", "SELECT id FROM t WHERE id = $1", 1},
        {"INSERT INTO t(a,b) VALUES(?,?)", "INSERT INTO t(a,b) VALUES($1,$2)", 2},
        {"LIMIT ?2 OFFSET ?3", "LIMIT $2 OFFSET $3", 3},
        {"x = ?10::bigint AND y = ?11", "x = $10::bigint AND y = $11", 11},
        {"?3 + ?", "$3 + $4", 4},
        {"name = '?' AND \"we?rd\" = ?1", "name = '?' AND \"we?rd\" = $1", 1},
        {"a = 'it''s ?' OR b = ?2", "a = 'it''s ?' OR b = $2", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Buf b;
        buf_init(&b);
        int max = store_sql_to_pg(cases[i].in, &b);
        assert_string_equal(b.data ? b.data : "", cases[i].out);
        assert_int_equal(max, cases[i].max);
        buf_fini(&b);
    }
}

/* ------------------------------------------------------------ $filter */

/* Parses query (decoded "name=value&...") on the entity set of path. */
static void options(Arena *a, const char *path, const char *query, QueryOptions *o)
{
    Err err;
    err_init(&err);
    ResourcePath rp;
    assert_int_equal(query_parse_path(path, &rp, &err), 0);
    const EntityDef *def = rp.segs[rp.nsegs - 1].def;
    QueryParam params[4];
    size_t n = 0;
    char *q = arena_strdup(a, query);
    for (char *save = NULL, *tok = strtok_r(q, "&", &save); tok && n < 4;
         tok = strtok_r(NULL, "&", &save)) {
        char *eq = strchr(tok, '=');
        *eq = '\0';
        params[n++] = (QueryParam){tok, eq + 1};
    }
    QueryLimits lim = {100, 10000};
    assert_int_equal(query_parse_options(a, def, params, n, &lim, o, &err), 0);
}

/* The SQL of $filter on Things or Observations for dialect d. */
static char *filter_sql(Arena *a, const StoreDialect *d, const char *path, const char *filter)
{
    QueryOptions o;
    options(a, path, arena_printf(a, "$filter=%s", filter), &o);
    StoreConn c;
    memset(&c, 0, sizeof c);
    c.dialect = d;
    c.spatial = true;
    Buf sql;
    buf_init(&sql);
    StoreBinds b = {0};
    Err err;
    err_init(&err);
    assert_int_equal(store_filter_sql(&c, &sql, &b, a, o.filter_ast, "t", o.def, &err), 0);
    char *s = arena_strdup(a, sql.data);
    buf_fini(&sql);
    return s;
}

typedef struct Case {
    const char *path, *filter;
    const char *lite; /* expected in the SQLite SQL */
    const char *pg;   /* expected in the PostgreSQL SQL */
} Case;

static void test_filter_dialects(void **state)
{
    (void)state;
    static const Case cases[] = {
        /* Literals carry their type on PostgreSQL. */
        {"/Things", "name eq 'a'", "(t.name = ?10)", "(t.name = ?10::text)"},
        {"/Things", "id gt 3", "(t.id > ?10)", "(t.id > ?10::bigint)"},
        {"/Observations", "result gt 2.5", "THEN t.result END) > ?10)",
         "THEN CAST(t.result AS DOUBLE PRECISION) END) > ?10::double precision)"},
        /* Booleans are a type of their own. */
        {"/Observations", "result eq true", "= 3 THEN t.result END) = ?10)",
         "= 3 THEN t.result = '1' END) = ?10::boolean)"},
        /* JSON members: json_extract, or the klammer_json_* function of the context. */
        {"/Things", "properties/floor gt 2", "json_extract(t.properties, ?10) > ?11",
         "klammer_json_number(t.properties, ?10::text[]) > ?11::bigint"},
        {"/Things", "properties/name eq 'x'", "json_extract(t.properties, ?10) = ?11",
         "klammer_json_string(t.properties, ?10::text[]) = ?11::text"},
        {"/Things", "properties/active", "(json_extract(t.properties, ?10))",
         "(klammer_json_bool(t.properties, ?10::text[]))"},
        {"/Things", "not properties/active", "(NOT json_extract", "(NOT klammer_json_bool"},
        /* Functions that differ. */
        {"/Things", "substringof('x', name)", "instr(t.name,?10)", "strpos(t.name,?10::text)"},
        {"/Things", "endswith(name, 'x')", "substr(t.name, -length(", "right(t.name, length("},
        {"/Things", "tolower(name) eq 'x'", "klammer_lower(t.name)", "lower(t.name)"},
        {"/Observations", "year(phenomenonTime) eq 2024", "strftime('%Y'",
         "extract(YEAR FROM TIMESTAMP '1970-01-01' +"},
        {"/Observations", "result div 0 gt 1", "CAST(", "/ NULLIF("},
        {"/Observations", "result mod 2 eq 1", "mod(", "klammer_mod("},
        {"/Observations", "round(result) eq 3", "round(", "klammer_round("},
        /* Geometry: SpatiaLite or PostGIS. */
        {"/Locations", "st_within(location, geography'POINT(7 51)')",
         "GeomFromText(?10, 4326)", "ST_Within(klammer_geom(t.location),ST_GeomFromText(?10::text, 4326))"},
    };
    Arena a;
    arena_init(&a, 0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const Case *k = &cases[i];
        char *lite = filter_sql(&a, &store_dialect_sqlite, k->path, k->filter);
        char *pg = filter_sql(&a, &store_dialect_pg, k->path, k->filter);
        if (!strstr(lite, k->lite) || !strstr(pg, k->pg))
            fail_msg("%s: %s\n  sqlite: %s\n  pg: %s", k->path, k->filter, lite, pg);
    }
    arena_fini(&a);
}

/* $orderby on a JSON member: one key on SQLite, SQLite's order in three on PostgreSQL. */
static void test_orderby_json(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 0);
    QueryOptions o;
    options(&a, "/Observations", "$orderby=parameters/rssi desc", &o);
    assert_int_equal(o.norder, 1);
    assert_non_null(o.order[0].expr);
    StoreConn c;
    memset(&c, 0, sizeof c);
    Err err;
    err_init(&err);
    const StoreDialect *ds[] = {&store_dialect_sqlite, &store_dialect_pg};
    const char *want[] = {"(json_extract(t.parameters, ?10)) DESC",
                          "klammer_json_rank(t.parameters, ?10::text[]) DESC NULLS LAST,"
                          "klammer_json_sortnum(t.parameters, ?11::text[]) DESC NULLS LAST,"
                          "klammer_json_text(t.parameters, ?12::text[]) DESC NULLS LAST"};
    for (int i = 0; i < 2; i++) {
        c.dialect = ds[i];
        Buf sql;
        buf_init(&sql);
        StoreBinds b = {0};
        assert_int_equal(store_expr_sql(&c, &sql, &b, &a, o.order[0].expr, "t", o.def,
                                        ds[i]->desc, &err), 0);
        if (!strstr(sql.data, want[i]))
            fail_msg("%s: %s", ds[i]->name, sql.data);
        buf_fini(&sql);
    }
    arena_fini(&a);
}

/* A result stored as text gets its value type back when read. */
static void test_row_fix(void **state)
{
    (void)state;
    const EntityDef *def = model_entity(ENT_OBSERVATION);
    const Prop *p = model_prop(def, "result", 6);
    StoreValue cols[32];
    memset(cols, 0, sizeof cols);
    static const struct {
        const char *text;
        int rtype;
        StoreValueType want;
    } cases[] = {{"42", 1, SV_INT}, {"-3.5", 1, SV_REAL}, {"1e3", 1, SV_REAL},
                 {"1", 3, SV_INT},  {"42", 2, SV_TEXT},  {"[1]", 4, SV_TEXT}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cols[p->slot] = (StoreValue){.type = SV_TEXT, .s = cases[i].text,
                                     .n = strlen(cases[i].text)};
        cols[p->slot2] = (StoreValue){.type = SV_INT, .i = cases[i].rtype};
        store_row_fix(def, cols);
        assert_int_equal(cols[p->slot].type, cases[i].want);
    }
    assert_int_equal(cols[p->slot].type, SV_TEXT);
}

/* The password of a database URL never reaches a log line. */
static void test_db_redacted(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"klammer.db", "klammer.db"},
        {"/var/lib/klammer/k:x@y.db", "/var/lib/klammer/k:x@y.db"},
        {"postgresql://klammer:s3cr%40t@db.hagen.example:5432/klammer",
         "postgresql://klammer:***@db.hagen.example:5432/klammer"},
        {"postgres://klammer@127.0.0.1/k", "postgres://klammer@127.0.0.1/k"},
        {"postgresql://127.0.0.1/k?user=k&password=pw&sslmode=require",
         "postgresql://127.0.0.1/k?user=k&password=***&sslmode=require"},
        {"postgresql://u:a:b@h/k?password=x", "postgresql://u:***@h/k?password=***"},
        {"postgresql://h/k?mypassword=x", "postgresql://h/k?mypassword=x"},
        {"postgresql:///k?host=/tmp&password=", "postgresql:///k?host=/tmp&password=***"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[256];
        assert_string_equal(store_db_redacted(cases[i].in, out, sizeof out), cases[i].out);
    }
    char tiny[8];
    assert_string_equal(store_db_redacted("postgresql://u:pw@h/k", tiny, sizeof tiny), "postgre");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placeholders),
        cmocka_unit_test(test_filter_dialects),
        cmocka_unit_test(test_orderby_json),
        cmocka_unit_test(test_row_fix),
        cmocka_unit_test(test_db_redacted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
