/*
 * test_filter.c - unit tests for the $filter parser (query/filter.c).
 *
 * The main table gives an entity type, an expression and either the tree
 * the parser must build, printed as an S-expression by print() below
 * ("(and (gt result 5) (eq (tolower name) 'x'))"), or a fragment of the
 * error message and the column it must name.  Every tree is also walked to
 * check the invariants the SQL compiler relies on (positions, types, paths).
 * A second table checks the static type of sub-expressions.  The limits
 * (length, nesting) are built in code, and the arena cap is raised from
 * 1 byte until parsing succeeds, as libuv's test-loop-oom does.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"
#include "util/buf.h"
#include "util/isotime.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ========================================================================== */
/* Printing a tree                                                            */
/* ========================================================================== */

static const char *const func_names[] = {
    [QF_SUBSTRINGOF] = "substringof",
    [QF_ENDSWITH] = "endswith",
    [QF_STARTSWITH] = "startswith",
    [QF_LENGTH] = "length",
    [QF_INDEXOF] = "indexof",
    [QF_SUBSTRING] = "substring",
    [QF_TOLOWER] = "tolower",
    [QF_TOUPPER] = "toupper",
    [QF_TRIM] = "trim",
    [QF_CONCAT] = "concat",
    [QF_YEAR] = "year",
    [QF_MONTH] = "month",
    [QF_DAY] = "day",
    [QF_HOUR] = "hour",
    [QF_MINUTE] = "minute",
    [QF_SECOND] = "second",
    [QF_FRACTIONALSECONDS] = "fractionalseconds",
    [QF_DATE] = "date",
    [QF_TIME] = "time",
    [QF_TOTALOFFSETMINUTES] = "totaloffsetminutes",
    [QF_NOW] = "now",
    [QF_MINDATETIME] = "mindatetime",
    [QF_MAXDATETIME] = "maxdatetime",
    [QF_ROUND] = "round",
    [QF_FLOOR] = "floor",
    [QF_CEILING] = "ceiling",
    [QF_GEO_DISTANCE] = "geo.distance",
    [QF_GEO_LENGTH] = "geo.length",
    [QF_GEO_INTERSECTS] = "geo.intersects",
    [QF_ST_EQUALS] = "st_equals",
    [QF_ST_DISJOINT] = "st_disjoint",
    [QF_ST_TOUCHES] = "st_touches",
    [QF_ST_WITHIN] = "st_within",
    [QF_ST_OVERLAPS] = "st_overlaps",
    [QF_ST_CROSSES] = "st_crosses",
    [QF_ST_INTERSECTS] = "st_intersects",
    [QF_ST_CONTAINS] = "st_contains",
    [QF_ST_RELATE] = "st_relate",
};

static const char *const op_names[] = {
    [QOP_EQ] = "eq",   [QOP_NE] = "ne",   [QOP_GT] = "gt",   [QOP_GE] = "ge",
    [QOP_LT] = "lt",   [QOP_LE] = "le",   [QOP_AND] = "and", [QOP_OR] = "or",
    [QOP_ADD] = "add", [QOP_SUB] = "sub", [QOP_MUL] = "mul", [QOP_DIV] = "div",
    [QOP_MOD] = "mod",
};

static void print_quoted(Buf *b, const char *s, size_t n)
{
    buf_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'')
            buf_putc(b, '\'');
        buf_putc(b, s[i]);
    }
    buf_putc(b, '\'');
}

/*
 * Literals print as written in OData, except: reals always carry a '.' or
 * an exponent, times are normalised to UTC by isotime_format, durations
 * print as dur:<microseconds> and geometries as geo'<WKT>'.
 */
static void print(Buf *b, const QueryNode *n)
{
    char t0[ISOTIME_INTERVAL_MAX];
    switch (n->kind) {
    case QN_NULL:
        buf_puts(b, "null");
        break;
    case QN_BOOL:
        buf_puts(b, n->i ? "true" : "false");
        break;
    case QN_INT:
        buf_printf(b, "%lld", (long long)n->i);
        break;
    case QN_REAL: {
        char tmp[64];
        snprintf(tmp, sizeof tmp, "%.15g", n->d);
        buf_puts(b, tmp);
        if (!strpbrk(tmp, ".e"))
            buf_puts(b, ".0");
        break;
    }
    case QN_STRING:
        print_quoted(b, n->s, n->n);
        break;
    case QN_TIME:
        isotime_format(n->t0, t0);
        buf_puts(b, t0);
        break;
    case QN_INTERVAL:
        isotime_format_interval(n->t0, n->t1, t0);
        buf_puts(b, t0);
        break;
    case QN_DURATION:
        buf_printf(b, "dur:%lld", (long long)n->i);
        break;
    case QN_GEO:
        buf_puts(b, "geo");
        print_quoted(b, n->s, n->n);
        break;
    case QN_PATH:
        for (int i = 0; i < n->path->nrels; i++)
            buf_printf(b, "%s/", n->path->rels[i]->name);
        buf_puts(b, n->path->prop ? n->path->prop->name : "id");
        for (int i = 0; i < n->path->njson; i++)
            buf_printf(b, "/%s", n->path->json[i]);
        break;
    case QN_BINARY:
        buf_printf(b, "(%s ", op_names[n->op]);
        print(b, n->a);
        buf_putc(b, ' ');
        print(b, n->b);
        buf_putc(b, ')');
        break;
    case QN_NOT:
        buf_puts(b, "(not ");
        print(b, n->a);
        buf_putc(b, ')');
        break;
    case QN_NEG:
        buf_puts(b, "(- ");
        print(b, n->a);
        buf_putc(b, ')');
        break;
    case QN_FUNC:
        buf_printf(b, "(%s", func_names[n->op]);
        for (int i = 0; i < n->nargs; i++) {
            buf_putc(b, ' ');
            print(b, n->args[i]);
        }
        buf_putc(b, ')');
        break;
    }
}

/*
 * Invariants of a parsed tree: every node has a column within the text,
 * operands have the types their operator needs, and paths are consistent
 * with the model.  Returns the number of violations.
 */
static int check_tree(const QueryNode *n, const EntityDef *def, size_t len)
{
    int bad = 0;
    if (n->pos < 1 || (size_t)n->pos > len)
        bad++;
    switch (n->kind) {
    case QN_BINARY:
        bad += check_tree(n->a, def, len) + check_tree(n->b, def, len);
        if (n->op == QOP_AND || n->op == QOP_OR)
            bad += !(n->a->type == QT_BOOL || n->a->type == QT_ANY) ||
                   !(n->b->type == QT_BOOL || n->b->type == QT_ANY);
        if (n->op <= QOP_LE || n->op == QOP_AND || n->op == QOP_OR)
            bad += n->type != QT_BOOL;
        break;
    case QN_NOT:
        bad += check_tree(n->a, def, len) + (n->type != QT_BOOL);
        break;
    case QN_NEG:
        bad += check_tree(n->a, def, len);
        break;
    case QN_FUNC:
        bad += n->nargs < 0 || n->nargs > 3 || (n->nargs > 0 && !n->args);
        for (int i = 0; i < n->nargs; i++)
            bad += check_tree(n->args[i], def, len);
        break;
    case QN_PATH: {
        const EntityDef *cur = def;
        const QueryPath *p = n->path;
        bad += p->nrels < 0 || p->nrels > QUERY_MAX_SEGS || p->njson < 0 ||
               p->njson > QUERY_MAX_JSON_PATH;
        for (int i = 0; i < p->nrels; i++) {
            bad += model_rel(cur, p->rels[i]->name, strlen(p->rels[i]->name)) != p->rels[i];
            bad += p->defs[i] != model_entity(p->rels[i]->target);
            cur = p->defs[i];
        }
        if (p->prop)
            bad += model_prop(cur, p->prop->name, strlen(p->prop->name)) != p->prop;
        else
            bad += n->type != QT_NUMBER || p->njson != 0;
        bad += p->njson > 0 && n->type != QT_ANY;
        break;
    }
    case QN_STRING:
    case QN_GEO:
        bad += !n->s || strlen(n->s) != n->n;
        break;
    default:
        break;
    }
    return bad;
}

/* ========================================================================== */
/* The table                                                                  */
/* ========================================================================== */

#define TH ENT_THING
#define LO ENT_LOCATION
#define HL ENT_HISTORICAL_LOCATION
#define DS ENT_DATASTREAM
#define MD ENT_MULTI_DATASTREAM
#define SE ENT_SENSOR
#define OP ENT_OBSERVED_PROPERTY
#define OB ENT_OBSERVATION
#define FE ENT_FEATURE

typedef struct Case {
    EntityType ent;
    const char *in;
    const char *want; /* printed tree, or NULL for an error */
    const char *msg;  /* error: fragment of err.msg */
    long col;         /* error: err.position */
} Case;

#define OK(ent, in, want) {ent, in, want, NULL, 0}
#define BAD(ent, in, msg, col) {ent, in, NULL, msg, col}

#define GEOQ(wkt) "st_intersects(location, geography'" wkt "')"
#define GEOQ_COL 35 /* column of the WKT in GEOQ */

static const Case cases[] = {
    /* ---- precedence and associativity */
    OK(OB, "result gt 5", "(gt result 5)"),
    OK(TH, "name eq 'x'", "(eq name 'x')"),
    OK(OB, "result gt 5 and result lt 10 or result eq 0",
       "(or (and (gt result 5) (lt result 10)) (eq result 0))"),
    OK(OB, "result eq 0 or result gt 5 and result lt 10",
       "(or (eq result 0) (and (gt result 5) (lt result 10)))"),
    OK(OB, "(result eq 0 or result gt 5) and result lt 10",
       "(and (or (eq result 0) (gt result 5)) (lt result 10))"),
    OK(OB, "result add 1 mul 2 eq 7", "(eq (add result (mul 1 2)) 7)"),
    OK(OB, "(result add 1) mul 2 eq 8", "(eq (mul (add result 1) 2) 8)"),
    OK(OB, "result sub 1 sub 2 eq 0", "(eq (sub (sub result 1) 2) 0)"),
    OK(OB, "result div 2 div 2 eq 1", "(eq (div (div result 2) 2) 1)"),
    OK(OB, "result mod 3 eq 1", "(eq (mod result 3) 1)"),
    OK(OB, "result mul 2 mod 3 div 4 eq 1", "(eq (div (mod (mul result 2) 3) 4) 1)"),
    OK(OB, "1 add 2 sub 3 add result eq 0", "(eq (add (sub (add 1 2) 3) result) 0)"),
    OK(OB, "result gt 1 add 2", "(gt result (add 1 2))"),
    OK(TH, "not name eq 'x'", "(not (eq name 'x'))"),
    OK(TH, "not not name eq 'x'", "(not (not (eq name 'x')))"),
    OK(TH, "not name eq 'a' and name eq 'b'", "(and (not (eq name 'a')) (eq name 'b'))"),
    OK(TH, "name eq 'a' or not name eq 'b'", "(or (eq name 'a') (not (eq name 'b')))"),
    OK(TH, "name eq 'a' or name eq 'b' or name eq 'c'",
       "(or (or (eq name 'a') (eq name 'b')) (eq name 'c'))"),
    OK(TH, "name eq 'a' and description eq 'b' and id eq 1",
       "(and (and (eq name 'a') (eq description 'b')) (eq id 1))"),
    /* Chains of 'and'/'or' are balanced; up to three operands that is left-associative. */
    OK(TH, "id eq 1 or id eq 2 or id eq 3 or id eq 4",
       "(or (or (eq id 1) (eq id 2)) (or (eq id 3) (eq id 4)))"),
    OK(TH, "id eq 1 or id eq 2 or id eq 3 or id eq 4 or id eq 5",
       "(or (or (or (eq id 1) (eq id 2)) (or (eq id 3) (eq id 4))) (eq id 5))"),
    OK(TH, "true and false and true and false and true and false and true",
       "(and (and (and true false) (and true false)) (and (and true false) true))"),
    OK(TH, "true or false and true or false", "(or (or true (and false true)) false)"),
    OK(OB, "-result lt 0", "(lt (- result) 0)"),
    OK(OB, "result gt -5", "(gt result -5)"),
    OK(OB, "result gt - 5", "(gt result -5)"),
    OK(OB, "result gt -(5)", "(gt result -5)"),
    OK(OB, "result gt --5", "(gt result 5)"),
    OK(OB, "result gt -1.5", "(gt result -1.5)"),
    OK(OB, "result mul -2 gt 3", "(gt (mul result -2) 3)"),
    OK(OB, "-result mul 2 gt 3", "(gt (mul (- result) 2) 3)"),
    OK(OB, "-(result add 1) gt 3", "(gt (- (add result 1)) 3)"),
    OK(OB, "result eq 1 eq true", "(eq (eq result 1) true)"),
    OK(TH, "((name eq 'x'))", "(eq name 'x')"),
    OK(TH, "  name   eq\t'x'\r\n ", "(eq name 'x')"),
    OK(TH, "name eq'x'", "(eq name 'x')"),
    OK(OB, "result gt 1 and(result lt 5)", "(and (gt result 1) (lt result 5))"),
    OK(TH, "not(name eq 'x')", "(not (eq name 'x'))"),
    OK(OB, "result ne 1", "(ne result 1)"),
    OK(OB, "result ge 1 and result le 2", "(and (ge result 1) (le result 2))"),

    /* ---- literals */
    OK(TH, "name eq null", "(eq name null)"),
    OK(TH, "null eq name", "(eq null name)"),
    OK(TH, "null ne null", "(ne null null)"),
    OK(TH, "true", "true"),
    OK(TH, "false or true", "(or false true)"),
    OK(OB, "result eq true", "(eq result true)"),
    OK(OB, "result eq 42", "(eq result 42)"),
    OK(OB, "result eq 0", "(eq result 0)"),
    OK(OB, "result eq 9223372036854775807", "(eq result 9223372036854775807)"),
    OK(OB, "result eq -9223372036854775808", "(eq result -9223372036854775808)"),
    OK(OB, "result eq 1.5", "(eq result 1.5)"),
    OK(OB, "result eq 1e3", "(eq result 1000.0)"),
    OK(OB, "result eq -2.5E-3", "(eq result -0.0025)"),
    OK(OB, "result eq 1.5e+2", "(eq result 150.0)"),
    OK(OB, "result eq 0.000", "(eq result 0.0)"),
    OK(OB, "result eq 00012", "(eq result 12)"),
    OK(OB, "result eq 1e-400", "(eq result 0.0)"),
    OK(OB, "result eq 3.14159265358979323846264338327950288419716939937510",
       "(eq result 3.14159265358979)"),
    OK(TH, "name eq 'it''s'", "(eq name 'it''s')"),
    OK(TH, "name eq ''", "(eq name '')"),
    OK(TH, "name eq ''''", "(eq name '''')"),
    OK(TH, "name eq 'Hagen-S\xc3\xbc" "d \xe2\x82\xac'",
       "(eq name 'Hagen-S\xc3\xbc" "d \xe2\x82\xac')"),
    OK(TH, "name eq 'and or not ( ) , / -'", "(eq name 'and or not ( ) , / -')"),
    OK(TH, "name eq '\"; DROP TABLE things; --'", "(eq name '\"; DROP TABLE things; --')"),
    OK(OB, "phenomenonTime gt 2026-11-30T08:00:00Z",
       "(gt phenomenonTime 2026-11-30T08:00:00.000Z)"),
    OK(OB, "phenomenonTime gt 2026-11-30T08:00:00.123+01:00",
       "(gt phenomenonTime 2026-11-30T07:00:00.123Z)"),
    OK(OB, "phenomenonTime eq 2026-01-01T00:00:00Z/2026-02-01T00:00:00Z",
       "(eq phenomenonTime 2026-01-01T00:00:00.000Z/2026-02-01T00:00:00.000Z)"),
    OK(OB, "resultTime ge 2026-01-01T00:00:00Z/P1D",
       "(ge resultTime 2026-01-01T00:00:00.000Z/2026-01-02T00:00:00.000Z)"),
    OK(OB, "phenomenonTime lt 2026-11-30", "(lt phenomenonTime 2026-11-30T00:00:00.000Z)"),
    OK(OB, "phenomenonTime gt 2026-11-30T08:00:00-02:30",
       "(gt phenomenonTime 2026-11-30T10:30:00.000Z)"),
    OK(OB, "phenomenonTime gt now() sub duration'P1D'",
       "(gt phenomenonTime (sub (now) dur:86400000000))"),
    OK(OB, "phenomenonTime gt now() sub P1D", "(gt phenomenonTime (sub (now) dur:86400000000))"),
    OK(OB, "phenomenonTime gt now() sub PT1H30M",
       "(gt phenomenonTime (sub (now) dur:5400000000))"),
    OK(OB, "phenomenonTime gt now() add duration'-PT1H'",
       "(gt phenomenonTime (add (now) dur:-3600000000))"),
    OK(OB, "phenomenonTime gt now() add -PT1H", "(gt phenomenonTime (add (now) dur:-3600000000))"),
    OK(OB, "phenomenonTime sub resultTime gt PT0.5S",
       "(gt (sub phenomenonTime resultTime) dur:500000)"),
    OK(OB, "duration'PT1H' add phenomenonTime lt now()",
       "(lt (add dur:3600000000 phenomenonTime) (now))"),
    OK(OB, "PT1H add PT30M eq PT90M", "(eq (add dur:3600000000 dur:1800000000) dur:5400000000)"),
    OK(OB, "parameters/start add PT1H lt now()",
       "(lt (add parameters/start dur:3600000000) (now))"),
    OK(LO, GEOQ("POINT(7.47 51.36)"), "(st_intersects location geo'POINT(7.47 51.36)')"),
    OK(LO, GEOQ("POLYGON((7 51, 8 51, 8 52, 7 52, 7 51))"),
       "(st_intersects location geo'POLYGON((7 51, 8 51, 8 52, 7 52, 7 51))')"),
    OK(LO, GEOQ("POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 1))"),
       "(st_intersects location geo'POLYGON((0 0, 10 0, 10 10, 0 10, 0 0), (1 1, 2 1, 2 2, 1 "
       "1))')"),
    OK(LO, GEOQ("LINESTRING(7 51, 8 52)"), "(st_intersects location geo'LINESTRING(7 51, 8 52)')"),
    OK(LO, GEOQ("MULTIPOINT((7 51), (8 52))"),
       "(st_intersects location geo'MULTIPOINT((7 51), (8 52))')"),
    OK(LO, GEOQ("MULTIPOINT(7 51, 8 52)"), "(st_intersects location geo'MULTIPOINT(7 51, 8 52)')"),
    OK(LO, GEOQ("MULTILINESTRING((7 51, 8 52), (1 2, 3 4))"),
       "(st_intersects location geo'MULTILINESTRING((7 51, 8 52), (1 2, 3 4))')"),
    OK(LO, GEOQ("MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 5)))"),
       "(st_intersects location geo'MULTIPOLYGON(((0 0, 1 0, 1 1, 0 0)), ((5 5, 6 5, 6 6, 5 "
       "5)))')"),
    OK(LO, GEOQ("point(7.47 51.36)"), "(st_intersects location geo'point(7.47 51.36)')"),
    OK(LO, GEOQ("SRID=4326;POINT(7 51)"), "(st_intersects location geo'POINT(7 51)')"),
    OK(LO, GEOQ("  POINT ( 7  51 )  "), "(st_intersects location geo'POINT ( 7  51 )')"),
    OK(LO, GEOQ("POINT(7 51 120.5)"), "(st_intersects location geo'POINT(7 51 120.5)')"),
    OK(LO, GEOQ("POINT(-7.5e0 +51)"), "(st_intersects location geo'POINT(-7.5e0 +51)')"),
    OK(LO, "st_intersects(location, geometry'POINT(1 2)')",
       "(st_intersects location geo'POINT(1 2)')"),
    OK(OB, "time(phenomenonTime) ge 08:30", "(ge (time phenomenonTime) '08:30:00.000000')"),
    OK(OB, "time(phenomenonTime) lt 17:00:00.5", "(lt (time phenomenonTime) '17:00:00.500000')"),
    OK(OB, "time(phenomenonTime) lt 23:59:59.123456789",
       "(lt (time phenomenonTime) '23:59:59.123456')"),
    OK(OB, "time(phenomenonTime) eq '08:00:00'", "(eq (time phenomenonTime) '08:00:00')"),

    /* ---- paths */
    OK(TH, "id eq 1", "(eq id 1)"),
    OK(TH, "@iot.id eq 1", "(eq id 1)"),
    OK(DS, "Thing/id eq 1", "(eq Thing/id 1)"),
    OK(DS, "Thing/@iot.id eq 1", "(eq Thing/id 1)"),
    OK(OB, "Datastream/ObservedProperty/name eq 'Wasserstand'",
       "(eq Datastream/ObservedProperty/name 'Wasserstand')"),
    OK(TH, "Datastreams/Observations/result gt 5", "(gt Datastreams/Observations/result 5)"),
    OK(DS, "st_within(Thing/Locations/location, geography'POLYGON((0 0, 1 0, 1 1, 0 0))')",
       "(st_within Thing/Locations/location geo'POLYGON((0 0, 1 0, 1 1, 0 0))')"),
    OK(TH, "properties/owner/name eq 'Stadt Hagen'", "(eq properties/owner/name 'Stadt Hagen')"),
    OK(OB, "parameters/rssi gt -100", "(gt parameters/rssi -100)"),
    OK(OB, "result/temperature gt 20", "(gt result/temperature 20)"),
    OK(OB, "result", "result"),
    OK(TH, "properties/active", "properties/active"),
    OK(TH, "properties/active and id gt 3", "(and properties/active (gt id 3))"),
    OK(TH, "properties/serial-no eq 'A-1'", "(eq properties/serial-no 'A-1')"),
    OK(TH, "properties/and eq 1", "(eq properties/and 1)"),
    OK(TH, "properties/1/x eq 1", "(eq properties/1/x 1)"),
    OK(TH, "properties/a/b/c/d/e/f/g/h eq 1", "(eq properties/a/b/c/d/e/f/g/h 1)"),
    OK(SE, "metadata/url eq 'x'", "(eq metadata/url 'x')"),
    OK(OB, "resultQuality/level eq 1", "(eq resultQuality/level 1)"),
    OK(DS, "unitOfMeasurement/symbol eq '\xc2\xb0" "C'",
       "(eq unitOfMeasurement/symbol '\xc2\xb0" "C')"),
    OK(MD, "ObservedProperties/name eq 'x'", "(eq ObservedProperties/name 'x')"),
    OK(MD, "multiObservationDataTypes eq null", "(eq multiObservationDataTypes null)"),
    OK(HL, "time gt 2026-01-01T00:00:00Z", "(gt time 2026-01-01T00:00:00.000Z)"),
    OK(HL, "time(time) gt 08:00", "(gt (time time) '08:00:00.000000')"),
    OK(HL, "Thing/Locations/location eq null", "(eq Thing/Locations/location null)"),
    OK(OP, "Datastreams/Thing/properties/x eq 1", "(eq Datastreams/Thing/properties/x 1)"),
    OK(FE, "Observations/Datastream/Thing/Locations/HistoricalLocations/Thing/name eq 'x'",
       "(eq Observations/Datastream/Thing/Locations/HistoricalLocations/Thing/name 'x')"),
    OK(DS, "phenomenonTime gt 2026-01-01T00:00:00Z",
       "(gt phenomenonTime 2026-01-01T00:00:00.000Z)"),
    OK(TH, "Datastreams/Observations/FeatureOfInterest/name eq 'x'",
       "(eq Datastreams/Observations/FeatureOfInterest/name 'x')"),
    OK(OB, "FeatureOfInterest/feature eq null", "(eq FeatureOfInterest/feature null)"),

    /* ---- functions */
    OK(TH, "substringof('Hagen', name)", "(substringof 'Hagen' name)"),
    OK(TH, "endswith(name, 'x')", "(endswith name 'x')"),
    OK(TH, "startswith(name, 'x')", "(startswith name 'x')"),
    OK(TH, "length(name) gt 3", "(gt (length name) 3)"),
    OK(TH, "indexof(name, 'x') eq 0", "(eq (indexof name 'x') 0)"),
    OK(TH, "substring(name, 1) eq 'x'", "(eq (substring name 1) 'x')"),
    OK(TH, "substring(name, 1, 2) eq 'x'", "(eq (substring name 1 2) 'x')"),
    OK(TH, "tolower(name) eq 'x'", "(eq (tolower name) 'x')"),
    OK(TH, "toupper(name) eq 'X'", "(eq (toupper name) 'X')"),
    OK(TH, "trim(name) eq 'x'", "(eq (trim name) 'x')"),
    OK(TH, "concat(name, description) eq 'x'", "(eq (concat name description) 'x')"),
    OK(TH, "concat(concat(name, ', '), description) eq 'x'",
       "(eq (concat (concat name ', ') description) 'x')"),
    OK(OB, "year(resultTime) eq 2026", "(eq (year resultTime) 2026)"),
    OK(OB, "month(resultTime) eq 11", "(eq (month resultTime) 11)"),
    OK(OB, "day(resultTime) eq 30", "(eq (day resultTime) 30)"),
    OK(OB, "hour(phenomenonTime) eq 8", "(eq (hour phenomenonTime) 8)"),
    OK(OB, "minute(phenomenonTime) eq 0", "(eq (minute phenomenonTime) 0)"),
    OK(OB, "second(phenomenonTime) eq 0", "(eq (second phenomenonTime) 0)"),
    OK(OB, "fractionalseconds(phenomenonTime) lt 0.5",
       "(lt (fractionalseconds phenomenonTime) 0.5)"),
    OK(OB, "totaloffsetminutes(resultTime) eq 0", "(eq (totaloffsetminutes resultTime) 0)"),
    OK(OB, "date(phenomenonTime) eq 2026-11-30",
       "(eq (date phenomenonTime) 2026-11-30T00:00:00.000Z)"),
    OK(OB, "year(date(phenomenonTime)) eq 2026", "(eq (year (date phenomenonTime)) 2026)"),
    OK(OB, "resultTime lt now()", "(lt resultTime (now))"),
    OK(OB, "resultTime gt mindatetime() and resultTime lt maxdatetime()",
       "(and (gt resultTime (mindatetime)) (lt resultTime (maxdatetime)))"),
    OK(OB, "round(result) eq 5", "(eq (round result) 5)"),
    OK(OB, "floor(result) eq 5", "(eq (floor result) 5)"),
    OK(OB, "ceiling(result) eq 5", "(eq (ceiling result) 5)"),
    OK(OB, "round(result/value mul 10) div 10 gt 1.5",
       "(gt (div (round (mul result/value 10)) 10) 1.5)"),
    OK(LO, "geo.distance(location, geography'POINT(7.47 51.36)') lt 2000",
       "(lt (geo.distance location geo'POINT(7.47 51.36)') 2000)"),
    OK(LO, "geo.length(location) gt 100", "(gt (geo.length location) 100)"),
    OK(LO, "geo.intersects(location, geography'POINT(1 2)')",
       "(geo.intersects location geo'POINT(1 2)')"),
    OK(LO, "st_equals(location, geography'POINT(1 2)')", "(st_equals location geo'POINT(1 2)')"),
    OK(LO, "st_disjoint(location, geography'POINT(1 2)')",
       "(st_disjoint location geo'POINT(1 2)')"),
    OK(LO, "st_touches(location, geography'POINT(1 2)')", "(st_touches location geo'POINT(1 2)')"),
    OK(LO, "st_within(location, geography'POINT(1 2)')", "(st_within location geo'POINT(1 2)')"),
    OK(LO, "st_overlaps(location, geography'POINT(1 2)')",
       "(st_overlaps location geo'POINT(1 2)')"),
    OK(LO, "st_crosses(location, geography'POINT(1 2)')", "(st_crosses location geo'POINT(1 2)')"),
    OK(FE, "st_contains(feature, geography'POINT(7 51)')",
       "(st_contains feature geo'POINT(7 51)')"),
    OK(LO, "st_relate(location, geography'POINT(1 2)', 'T*F**F***')",
       "(st_relate location geo'POINT(1 2)' 'T*F**F***')"),
    OK(LO, "st_relate(location, location, concat('T*F', '**F***'))",
       "(st_relate location location (concat 'T*F' '**F***'))"),
    OK(LO, "not st_disjoint(location, location) and name eq 'x'",
       "(and (not (st_disjoint location location)) (eq name 'x'))"),
    OK(TH, "tolower (name) eq 'x'", "(eq (tolower name) 'x')"),
    OK(TH, "substringof(tolower('A'), tolower(name))",
       "(substringof (tolower 'A') (tolower name))"),
    OK(TH, "length(properties/owner) eq 3", "(eq (length properties/owner) 3)"),
    OK(TH, "tolower(null) eq null", "(eq (tolower null) null)"),
    OK(OB, "geo.length(result) gt 1", "(gt (geo.length result) 1)"),
    OK(OB, "substringof('x', result)", "(substringof 'x' result)"),

    /* ---- unknown names and paths */
    BAD(TH, "nme eq 'x'", "Thing has no property 'nme'", 1),
    BAD(TH, "name eq 'x' and foo eq 1", "Thing has no property 'foo'", 17),
    BAD(OB, "Datastream/nme eq 1", "Datastream has no property 'nme'", 12),
    BAD(OB, "Datastream eq 1", "'Datastream' is a relation", 1),
    BAD(TH, "name/x eq 1", "'name' has no members", 5),
    BAD(TH, "id/x eq 1", "'id' has no members", 3),
    BAD(TH, "properties/ eq 1", "expected a member name after '/'", 12),
    BAD(TH, "properties/a/b/c/d/e/f/g/h/i eq 1", "more than 8 keys below 'properties'", 28),
    BAD(TH, "Datastreams/ eq 1", "expected a property of Datastream after '/'", 13),
    BAD(TH, "Name eq 'x'", "Thing has no property 'Name'", 1),
    BAD(TH, "Things/name eq 'x'", "Thing has no property 'Things'", 1),
    BAD(TH, "Locations/location/x eq 1", "'location' has no members", 19),
    BAD(OB, "FeatureOfInterest/feature/type eq 'Point'", "'feature' has no members", 26),
    BAD(TH, "properties /x eq 1", "unexpected '/'", 12),
    BAD(TH, "trim name eq 'x'", "Thing has no property 'trim'", 1),
    BAD(OB, "Datastream/Thing/Datastreams/Thing/Datastreams/Thing/Datastreams/Thing/Datastreams/"
            "name eq 'x'",
        "path longer than 8 relations", 72),
    BAD(OB, "now eq now()", "Observation has no property 'now'", 1),
    BAD(TH, "n\xc3\xa4me eq 'x'", "unexpected character '\xc3\xa4' at column 2", 2),

    /* ---- syntax */
    BAD(TH, "name eq 'x", "unterminated string literal starting at column 9", 9),
    BAD(TH, "'", "unterminated string literal starting at column 1", 1),
    BAD(TH, "name eq 'it''s", "unterminated string literal", 9),
    BAD(TH, "(name eq 'x'", "expected ')' at column 13", 13),
    BAD(TH, "name eq 'x' and (id eq 1", "expected ')' at column 25", 25),
    BAD(TH, "name eq 'x')", "unexpected ')' at column 12", 12),
    BAD(TH, "name eq", "expected an operand at column 8", 8),
    BAD(TH, "name eq 'x' or", "expected an operand", 15),
    BAD(TH, "name eq 'x' and not", "expected an operand", 20),
    BAD(TH, "name eq 'x' eq", "expected an operand", 15),
    BAD(OB, "result eq - ", "expected an operand", 13),
    BAD(TH, "", "$filter is empty", 1),
    BAD(TH, "   ", "$filter is empty", 4),
    BAD(TH, "name foo 'x'", "unexpected 'foo' at column 6", 6),
    BAD(TH, "name EQ 'x'", "unexpected 'EQ' (operators and keywords are lower-case: 'eq')", 6),
    BAD(TH, "name eq 'x' AND id eq 1", "lower-case: 'and'", 13),
    BAD(TH, "and name eq 'x'", "unexpected 'and' at column 1", 1),
    BAD(TH, "name eq 'x' and and", "unexpected 'and' at column 17", 17),
    BAD(TH, "name eq not true", "unexpected 'not' at column 9", 9),
    BAD(TH, "()", "unexpected ')' at column 2", 2),
    BAD(TH, "name eq #", "unexpected character '#' at column 9", 9),
    BAD(TH, "name eq 'x' ; drop table things", "unexpected character ';' at column 13", 13),
    BAD(TH, "name eq \"x\"", "unexpected character '\"' at column 9", 9),
    BAD(TH, "name eq 'x' /", "unexpected '/' at column 13", 13),
    BAD(TH, "name eq \xc3\xa4", "unexpected character '\xc3\xa4' at column 9", 9),
    BAD(TH, "name eq \xff", "unexpected character '?' at column 9", 9),
    BAD(TH, "name eq 'x' 'y'", "unexpected ''y'' at column 13", 13),
    BAD(TH, "name eq 'x' name", "unexpected 'name' at column 13", 13),
    BAD(TH, "tolower(name eq 'x'", "expected ',' or ')' at column 20", 20),
    BAD(TH, "tolower(name,) eq 'x'", "unexpected ')' at column 14", 14),
    BAD(TH, "tolower(", "expected an operand at column 9", 9),
    BAD(TH, "name eq 'x' or (", "expected an operand", 17),
    BAD(TH, "name in ('a', 'b')", "unexpected 'in'", 6),

    /* ---- numbers */
    BAD(OB, "result eq 9223372036854775808", "integer literal out of range", 11),
    BAD(OB, "result eq -9223372036854775809", "integer literal out of range", 12),
    BAD(OB, "result eq - -9223372036854775808", "integer literal out of range", 11),
    BAD(OB, "result eq 99999999999999999999999999999999999999", "integer literal out of range", 11),
    BAD(OB, "result eq 1e400", "number out of range", 11),
    BAD(OB, "result eq 1.", "expected a digit after '.'", 13),
    BAD(OB, "result eq 1.e5", "expected a digit after '.'", 13),
    BAD(OB, "result eq 1e", "expected a digit in the exponent", 13),
    BAD(OB, "result eq 1e+", "expected a digit in the exponent", 14),
    BAD(OB, "result eq 5abc", "malformed number '5abc'", 11),
    BAD(OB, "result eq 0x10", "malformed number '0x10'", 11),
    BAD(OB, "result eq 1.5.5", "malformed number", 11),
    BAD(OB, "result eq .5", "unexpected character '.'", 11),

    /* ---- times and durations */
    BAD(OB, "phenomenonTime gt 2026-13-01T00:00:00Z", "in time literal", 24),
    BAD(OB, "phenomenonTime gt 2026-01-01T00:00:00", "in time literal", 38),
    BAD(OB, "phenomenonTime gt 2026-02-01T00:00:00Z/2026-01-01T00:00:00Z",
        "interval start is after its end in time literal", 40),
    BAD(OB, "phenomenonTime gt 2026-01-0", "expected a date (YYYY-MM-DD)", 19),
    BAD(OB, "phenomenonTime gt 2026-02-30", "in time literal", 27),
    BAD(OB, "phenomenonTime gt 2026-01-01T00:00:00Zand true", "in time literal", 39),
    BAD(OB, "phenomenonTime gt now() sub duration'P1Y'", "years and months are not allowed", 40),
    BAD(OB, "phenomenonTime gt now() sub duration'xyz'", "in duration literal", 38),
    BAD(OB, "phenomenonTime gt now() sub duration'P1D", "unterminated string literal", 29),
    BAD(OB, "phenomenonTime gt now() sub P1Y", "in duration literal", 31),
    BAD(OB, "time(phenomenonTime) gt 25:00", "invalid time of day", 25),
    BAD(OB, "time(phenomenonTime) gt 08:60", "invalid time of day", 25),
    BAD(OB, "time(phenomenonTime) gt 08:00:00.1234567890", "invalid time of day", 25),
    BAD(OB, "time(phenomenonTime) gt 08:0", "invalid time of day", 25),
    BAD(OB, "time(phenomenonTime) gt 08:00:00:00", "invalid time of day", 25),
    BAD(TH, "datetime'2026-01-01' lt now()", "unknown literal type 'datetime'", 1),

    /* ---- geometry literals */
    BAD(LO, GEOQ("POINT(1)"), "invalid WKT: expected a number", GEOQ_COL + 7),
    BAD(LO, GEOQ("POINT(1 2"), "invalid WKT: expected ')'", GEOQ_COL + 9),
    BAD(LO, GEOQ("POINT(1-2)"), "invalid WKT: expected a space between coordinates",
        GEOQ_COL + 7),
    BAD(LO, GEOQ("POLYGON((0 0, 1 0, 1 1, 0 1))"), "polygon ring is not closed", GEOQ_COL + 27),
    BAD(LO, GEOQ("POLYGON((0 0, 1 0, 0 0))"), "a polygon ring needs at least 4 positions",
        GEOQ_COL + 22),
    BAD(LO, GEOQ("POLYGON(0 0, 1 0, 1 1, 0 0)"), "invalid WKT: expected '('", GEOQ_COL + 8),
    BAD(LO, GEOQ("LINESTRING(0 0)"), "a linestring needs at least 2 positions", GEOQ_COL + 14),
    BAD(LO, GEOQ("CIRCLE(0 0, 1)"), "unsupported geometry type", GEOQ_COL),
    BAD(LO, GEOQ("GEOMETRYCOLLECTION(POINT(1 2))"), "unsupported geometry type", GEOQ_COL),
    BAD(LO, GEOQ("POINT(1 2) x"), "unexpected text after the geometry", GEOQ_COL + 11),
    BAD(LO, GEOQ("SRID=3857;POINT(1 2)"), "only SRID=4326", GEOQ_COL),
    BAD(LO, GEOQ("POINT(1 2, 3 4)"), "invalid WKT: expected ')'", GEOQ_COL + 9),
    BAD(LO, GEOQ("LINESTRING(0 0, 1 1 1)"), "positions mix 2 and 3 coordinates", GEOQ_COL + 21),
    BAD(LO, GEOQ("POINT(1e999 2)"), "number out of range", GEOQ_COL + 6),
    BAD(LO, GEOQ("POINT EMPTY"), "expected '('", GEOQ_COL + 6),
    BAD(LO, GEOQ(""), "expected a geometry type", GEOQ_COL),
    BAD(LO, GEOQ("POINT(1 2))"), "unexpected text after the geometry", GEOQ_COL + 10),
    BAD(LO, GEOQ("MULTIPOLYGON((0 0, 1 0, 1 1, 0 0))"), "expected '('", GEOQ_COL + 14),
    BAD(LO, "st_within(location, geo'POINT(1 2)')", "unknown literal type 'geo'", 21),
    BAD(LO, "st_within(location, geography'POINT(1 2)", "unterminated string literal", 21),

    /* ---- types of operators */
    BAD(TH, "name eq 5", "cannot compare string with number at column 6", 6),
    BAD(TH, "5 eq name", "cannot compare number with string", 3),
    BAD(OB, "phenomenonTime gt '2026-01-01'", "cannot compare time with string (write times", 16),
    BAD(OB, "phenomenonTime gt 5", "cannot compare time with number", 16),
    BAD(OB, "phenomenonTime gt PT1H", "cannot compare time with duration", 16),
    BAD(TH, "name gt null", "null can only be compared with 'eq' or 'ne', not 'gt'", 6),
    BAD(TH, "true gt false", "booleans can only be compared with 'eq' or 'ne'", 6),
    BAD(LO, "location eq geography'POINT(1 2)'", "cannot compare geometry with geometry", 10),
    BAD(DS, "observedArea eq 1", "cannot compare geometry with number", 14),
    BAD(TH, "name and true", "'and' needs boolean operands, got string and boolean", 6),
    BAD(TH, "true or 1", "'or' needs boolean operands, got boolean and number", 6),
    BAD(OB, "result gt 5 and 'x'", "'and' needs boolean operands, got boolean and string", 13),
    BAD(TH, "not name", "'not' needs a boolean operand, got string", 1),
    BAD(TH, "name add 1 eq 2", "'add' needs numbers, or a time and a duration; got string and "
                               "number", 6),
    BAD(TH, "name mul 2 eq 1", "'mul' needs numbers, got string and number", 6),
    BAD(OB, "result div 'a' eq 1", "'div' needs numbers, got any and string", 8),
    BAD(OB, "phenomenonTime add phenomenonTime eq now()",
        "'add' needs numbers, or a time and a duration; got time and time", 16),
    BAD(OB, "duration'P1D' sub phenomenonTime eq now()", "got duration and time", 15),
    BAD(OB, "phenomenonTime add 1 eq now()", "got time and number", 16),
    BAD(OB, "PT1H mul 2 eq PT2H", "'mul' needs numbers, got duration and number", 6),
    BAD(TH, "-name eq 'x'", "unary '-' needs a number or a duration, got string", 1),
    BAD(TH, "name eq - 'x'", "unary '-' needs a number or a duration, got string", 9),
    BAD(TH, "name", "a $filter must be a boolean expression, got string", 1),
    BAD(OB, "result add 1", "a $filter must be a boolean expression, got number", 1),
    BAD(TH, "  1", "a $filter must be a boolean expression, got number at column 3", 3),
    BAD(TH, "null", "a $filter must be a boolean expression, got null", 1),
    BAD(OB, "phenomenonTime", "a $filter must be a boolean expression, got time", 1),
    BAD(OB, "P1D", "a $filter must be a boolean expression, got duration", 1),
    BAD(LO, "location", "a $filter must be a boolean expression, got geometry", 1),
    BAD(TH, "(id)", "a $filter must be a boolean expression, got number", 1),

    /* ---- types of functions */
    BAD(TH, "substringof(name, 5)", "substringof expects (string, string), got number at column 19",
        19),
    BAD(TH, "substringof(name)", "substringof expects (string, string), got 1 argument", 1),
    BAD(TH, "substringof('a', name, 'b')", "substringof expects (string, string), got more "
                                            "arguments", 24),
    BAD(TH, "substringof()", "got 0 arguments", 1),
    BAD(TH, "endswith(1, name)", "endswith expects (string, string), got number", 10),
    BAD(TH, "startswith(name, true)", "startswith expects (string, string), got boolean", 18),
    BAD(TH, "now(1) eq now()", "now expects (), got more arguments", 5),
    BAD(TH, "substring(name) eq 'x'", "substring expects (string, number[, number]), got 1 "
                                      "argument", 1),
    BAD(TH, "substring(name, 'a') eq 'x'", "got string", 17),
    BAD(TH, "substring(name, 1, 2, 3) eq 'x'", "got more arguments", 23),
    BAD(TH, "length(1) eq 1", "length expects (string), got number", 8),
    BAD(TH, "indexof(name) eq 1", "indexof expects (string, string), got 1 argument", 1),
    BAD(TH, "concat(name, 1) eq 'x'", "concat expects (string, string), got number", 14),
    BAD(TH, "tolower(id) eq 'x'", "tolower expects (string), got number", 9),
    BAD(TH, "toupper(1.5) eq 'x'", "toupper expects (string), got number", 9),
    BAD(TH, "trim() eq 'x'", "trim expects (string), got 0 arguments", 1),
    BAD(OB, "year(1) eq 1", "year expects (time), got number", 6),
    BAD(OB, "year('2026') eq 2026", "year expects (time), got string", 6),
    BAD(OB, "month(PT1H) eq 1", "month expects (time), got duration", 7),
    BAD(OB, "day(phenomenonTime, 1) eq 1", "got more arguments", 21),
    BAD(OB, "hour('x') eq 1", "hour expects (time)", 6),
    BAD(OB, "minute(1) eq 1", "minute expects (time)", 8),
    BAD(OB, "second(1) eq 1", "second expects (time)", 8),
    BAD(OB, "fractionalseconds(1) eq 1", "fractionalseconds expects (time)", 19),
    BAD(OB, "date(1) eq now()", "date expects (time)", 6),
    BAD(OB, "time(1) eq '08:00'", "time expects (time)", 6),
    BAD(OB, "totaloffsetminutes(1) eq 0", "totaloffsetminutes expects (time)", 20),
    BAD(OB, "date(phenomenonTime) eq '2026-11-30'", "cannot compare time with string", 22),
    BAD(OB, "time(phenomenonTime) gt 8", "cannot compare string with number", 22),
    BAD(OB, "mindatetime(1) lt now()", "mindatetime expects (), got more arguments", 13),
    BAD(OB, "maxdatetime() gt 1", "cannot compare time with number", 15),
    BAD(OB, "round('a') eq 1", "round expects (number), got string", 7),
    BAD(OB, "floor(phenomenonTime) eq 1", "floor expects (number), got time", 7),
    BAD(OB, "ceiling() eq 1", "ceiling expects (number), got 0 arguments", 1),
    BAD(LO, "geo.distance(location, 'POINT(1 2)') lt 1",
        "geo.distance expects (geometry, geometry), got string", 24),
    BAD(LO, "geo.length(name) gt 1", "geo.length expects (geometry), got string", 12),
    BAD(LO, "geo.intersects(location)", "got 1 argument", 1),
    BAD(LO, "st_within(location)", "st_within expects (geometry, geometry), got 1 argument", 1),
    BAD(LO, "st_equals(1, location)", "got number", 11),
    BAD(LO, "st_disjoint(location, 'x')", "got string", 23),
    BAD(LO, "st_touches(location, location, location)", "got more arguments", 32),
    BAD(LO, "st_overlaps(name, location)", "got string", 13),
    BAD(LO, "st_crosses(location, id)", "got number", 22),
    BAD(LO, "st_intersects(location, true)", "got boolean", 25),
    BAD(LO, "st_contains(location, PT1H)", "got duration", 23),
    BAD(LO, "st_relate(location, location, 'T*F')", "st_relate needs a DE-9IM pattern", 31),
    BAD(LO, "st_relate(location, location, 'T*F**F**X')", "DE-9IM", 31),
    BAD(LO, "st_relate(location, location, 1)",
        "st_relate expects (geometry, geometry, string), got number", 31),
    BAD(LO, "st_relate(location, location)", "got 2 arguments", 1),
    BAD(LO, "geo.distance(location, location)", "got number", 1),
    BAD(TH, "foo(name) eq 1", "unknown function 'foo' at column 1", 1),
    BAD(TH, "ToLower(name) eq 'x'",
        "unknown function 'ToLower' (function names are lower-case: 'tolower')", 1),
    BAD(LO, "geo.foo(location)", "unknown function 'geo.foo'", 1),
    BAD(TH, "name(1) eq 1", "unknown function 'name'", 1),
};

static int check_case(const Case *c)
{
    Arena a;
    arena_init(&a, 0);
    Err err;
    err_init(&err);
    QueryNode *root = (QueryNode *)(uintptr_t)1; /* must stay untouched on error */
    const EntityDef *def = model_entity(c->ent);
    int rc = query_parse_filter(&a, def, c->in, &root, &err);
    int bad = 0;
    if (c->want) {
        if (rc != 0) {
            print_error("'%s': unexpected error %d: %s (column %ld)\n", c->in, rc, err.msg,
                        err.position);
            bad = 1;
        } else {
            Buf b;
            buf_init(&b);
            print(&b, root);
            if (strcmp(b.data, c->want) != 0) {
                print_error("'%s':\n   got  %s\n   want %s\n", c->in, b.data, c->want);
                bad = 1;
            }
            if (root->type != QT_BOOL && root->type != QT_ANY) {
                print_error("'%s': root type %d\n", c->in, root->type);
                bad = 1;
            }
            if (check_tree(root, def, strlen(c->in))) {
                print_error("'%s': tree invariants violated\n", c->in);
                bad = 1;
            }
            buf_fini(&b);
        }
    } else {
        if (rc != ERR_BAD_REQUEST || err.code != rc || !strstr(err.msg, c->msg) ||
            err.position != c->col || strcmp(err.field, "$filter") != 0 ||
            root != (QueryNode *)(uintptr_t)1) {
            print_error("'%s': got rc %d, '%s' at %ld (field '%s'); want '%s' at %ld\n", c->in,
                        rc, err.msg, err.position, err.field, c->msg, c->col);
            bad = 1;
        }
        /* The message ends with the column it names. */
        char tail[32];
        snprintf(tail, sizeof tail, " at column %ld", err.position);
        size_t ml = strlen(err.msg), tl = strlen(tail);
        if (ml < tl || strcmp(err.msg + ml - tl, tail) != 0) {
            print_error("'%s': message '%s' does not end with '%s'\n", c->in, err.msg, tail);
            bad = 1;
        }
    }
    arena_fini(&a);
    return bad;
}

static void test_cases(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(cases); i++)
        failures += check_case(&cases[i]);
    assert_int_equal(failures, 0);
}

static void test_table_size(void **state)
{
    (void)state;
    assert_true(COUNT(cases) >= 150);
}

/* ========================================================================== */
/* Static types of sub-expressions                                            */
/* ========================================================================== */

typedef struct TypeCase {
    EntityType ent;
    const char *in; /* any expression; parsed as "(in) eq null" */
    QueryType type;
} TypeCase;

static const TypeCase type_cases[] = {
    {TH, "null", QT_NULL},
    {TH, "true", QT_BOOL},
    {TH, "1", QT_NUMBER},
    {TH, "1.5", QT_NUMBER},
    {TH, "'x'", QT_STRING},
    {TH, "2026-01-01T00:00:00Z", QT_TIME},
    {TH, "2026-01-01T00:00:00Z/2026-01-02T00:00:00Z", QT_TIME},
    {TH, "2026-01-01", QT_TIME},
    {TH, "08:00", QT_STRING},
    {TH, "P1D", QT_DURATION},
    {TH, "duration'PT1S'", QT_DURATION},
    {TH, "geography'POINT(1 2)'", QT_GEO},
    {TH, "id", QT_NUMBER},
    {TH, "name", QT_STRING},
    {TH, "properties", QT_ANY},
    {TH, "properties/x", QT_ANY},
    {LO, "location", QT_GEO},
    {HL, "time", QT_TIME},
    {DS, "phenomenonTime", QT_TIME},
    {DS, "unitOfMeasurement", QT_ANY},
    {MD, "unitOfMeasurements", QT_ANY},
    {OB, "phenomenonTime", QT_TIME},
    {OB, "resultTime", QT_TIME},
    {OB, "validTime", QT_TIME},
    {OB, "result", QT_ANY},
    {OB, "result add 1", QT_NUMBER},
    {OB, "-result", QT_NUMBER},
    {OB, "-PT1H", QT_DURATION},
    {OB, "-(PT1H add PT1M)", QT_DURATION},
    {OB, "phenomenonTime add PT1H", QT_TIME},
    {OB, "phenomenonTime sub PT1H", QT_TIME},
    {OB, "PT1H add phenomenonTime", QT_TIME},
    {OB, "phenomenonTime sub resultTime", QT_DURATION},
    {OB, "PT1H sub PT1M", QT_DURATION},
    {OB, "parameters/t sub PT1H", QT_TIME},
    {OB, "phenomenonTime sub parameters/t", QT_DURATION},
    {OB, "result mod 2", QT_NUMBER},
    {SE, "metadata", QT_ANY},
    {TH, "length(name)", QT_NUMBER},
    {TH, "indexof(name, 'x')", QT_NUMBER},
    {TH, "substring(name, 1)", QT_STRING},
    {TH, "tolower(name)", QT_STRING},
    {TH, "concat(name, name)", QT_STRING},
    {TH, "substringof(name, name)", QT_BOOL},
    {OB, "year(phenomenonTime)", QT_NUMBER},
    {OB, "fractionalseconds(phenomenonTime)", QT_NUMBER},
    {OB, "date(phenomenonTime)", QT_TIME},
    {OB, "time(phenomenonTime)", QT_STRING},
    {OB, "now()", QT_TIME},
    {OB, "maxdatetime()", QT_TIME},
    {OB, "round(result)", QT_NUMBER},
    {LO, "geo.distance(location, location)", QT_NUMBER},
    {LO, "geo.length(location)", QT_NUMBER},
    {LO, "geo.intersects(location, location)", QT_BOOL},
    {LO, "st_relate(location, location, 'T********')", QT_BOOL},
    {TH, "name eq 'x'", QT_BOOL},
    {TH, "not true", QT_BOOL},
};

static void test_types(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(type_cases); i++) {
        const TypeCase *c = &type_cases[i];
        char text[256];
        snprintf(text, sizeof text, "(%s) eq null", c->in);
        Arena a;
        arena_init(&a, 0);
        Err err;
        err_init(&err);
        QueryNode *root = NULL;
        int rc = query_parse_filter(&a, model_entity(c->ent), text, &root, &err);
        if (rc != 0 || root->kind != QN_BINARY || root->a->type != c->type) {
            print_error("'%s': rc %d (%s), type %d, want %d\n", text, rc, err.msg,
                        rc ? -1 : (int)root->a->type, (int)c->type);
            failures++;
        }
        arena_fini(&a);
    }
    assert_int_equal(failures, 0);
}

/* ========================================================================== */
/* Details of the tree                                                        */
/* ========================================================================== */

static QueryNode *parse_ok(Arena *a, EntityType t, const char *text)
{
    Err err;
    err_init(&err);
    QueryNode *root = NULL;
    int rc = query_parse_filter(a, model_entity(t), text, &root, &err);
    if (rc)
        print_error("'%s': %s\n", text, err.msg);
    assert_int_equal(rc, 0);
    return root;
}

static void test_node_fields(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 0);
    /* Positions: operator column for binary nodes, start for the rest. */
    QueryNode *n = parse_ok(&a, ENT_OBSERVATION, "result gt -5 and tolower('A''b') eq 'a'");
    assert_int_equal(n->kind, QN_BINARY);
    assert_int_equal(n->op, QOP_AND);
    assert_int_equal(n->pos, 14);
    assert_int_equal(n->a->pos, 8);
    assert_int_equal(n->a->a->pos, 1);
    assert_int_equal(n->a->b->kind, QN_INT);
    assert_int_equal(n->a->b->i, -5);
    assert_int_equal(n->a->b->pos, 11);
    assert_int_equal(n->b->a->kind, QN_FUNC);
    assert_int_equal(n->b->a->op, QF_TOLOWER);
    assert_int_equal(n->b->a->pos, 18);
    assert_int_equal(n->b->a->nargs, 1);
    assert_int_equal(n->b->a->args[0]->n, 3);
    assert_string_equal(n->b->a->args[0]->s, "A'b");
    assert_int_equal(n->b->a->args[0]->pos, 26);

    /* Paths: rels[i] leads from defs[i-1] (def for i = 0) to defs[i]. */
    n = parse_ok(&a, ENT_OBSERVATION, "Datastream/Thing/properties/owner/name eq 'x'");
    const QueryPath *p = n->a->path;
    assert_int_equal(p->nrels, 2);
    assert_ptr_equal(p->rels[0], model_rel(model_entity(ENT_OBSERVATION), "Datastream", 10));
    assert_ptr_equal(p->defs[0], model_entity(ENT_DATASTREAM));
    assert_ptr_equal(p->rels[1], model_rel(model_entity(ENT_DATASTREAM), "Thing", 5));
    assert_ptr_equal(p->defs[1], model_entity(ENT_THING));
    assert_ptr_equal(p->prop, model_prop(model_entity(ENT_THING), "properties", 10));
    assert_int_equal(p->njson, 2);
    assert_string_equal(p->json[0], "owner");
    assert_string_equal(p->json[1], "name");
    assert_int_equal(n->a->type, QT_ANY);

    n = parse_ok(&a, ENT_THING, "@iot.id eq 7");
    assert_null(n->a->path->prop);
    assert_int_equal(n->a->path->nrels, 0);
    assert_int_equal(n->a->type, QT_NUMBER);

    /* Intervals and instants: microseconds UTC. */
    n = parse_ok(&a, ENT_OBSERVATION,
                 "phenomenonTime eq 1970-01-01T00:00:01Z/1970-01-01T00:00:02Z");
    assert_int_equal(n->b->kind, QN_INTERVAL);
    assert_int_equal(n->b->t0, 1000000);
    assert_int_equal(n->b->t1, 2000000);
    n = parse_ok(&a, ENT_OBSERVATION, "phenomenonTime eq 1970-01-01T00:00:00.000001Z");
    assert_int_equal(n->b->kind, QN_TIME);
    assert_int_equal(n->b->t0, 1);

    /* A geometry keeps the WKT only. */
    n = parse_ok(&a, ENT_LOCATION, "st_within(location, geography' SRID=4326; POINT(1 2) ')");
    assert_int_equal(n->args[1]->kind, QN_GEO);
    assert_string_equal(n->args[1]->s, "POINT(1 2)");
    assert_int_equal(n->args[1]->n, 10);
    arena_fini(&a);
}

/* ========================================================================== */
/* Limits                                                                     */
/* ========================================================================== */

static int parse_err(EntityType t, const char *text, Err *err)
{
    Arena a;
    arena_init(&a, 0);
    err_init(err);
    QueryNode *root = NULL;
    int rc = query_parse_filter(&a, model_entity(t), text, &root, err);
    arena_fini(&a);
    return rc;
}

/* Wraps core in depth levels of prefix ... suffix, then appends tail. */
static char *nest(const char *prefix, const char *core, const char *suffix, const char *tail,
                  int depth)
{
    size_t n = (strlen(prefix) + strlen(suffix)) * (size_t)depth + strlen(core) + strlen(tail);
    char *s = malloc(n + 1), *o = s;
    assert_non_null(s);
    for (int i = 0; i < depth; i++)
        o += sprintf(o, "%s", prefix);
    o += sprintf(o, "%s", core);
    for (int i = 0; i < depth; i++)
        o += sprintf(o, "%s", suffix);
    sprintf(o, "%s", tail);
    return s;
}

/* The whole expression is level 1; parentheses, arguments, 'not' and '-' add one. */
static void test_depth(void **state)
{
    (void)state;
    static const struct {
        const char *prefix, *core, *suffix, *tail;
    } shapes[] = {
        {"(", "name eq 'x'", ")", ""},
        {"not ", "name eq 'x'", "", ""},
        {"(not ", "name eq 'x'", ")", ""}, /* two levels per step */
        {"tolower(", "name", ")", " eq 'x'"},
        {"round(", "1", ")", " eq 1"},
        {"- ", "1", "", " eq 1"},
        {"-(", "1", ")", " eq 1"}, /* two levels per step */
    };
    for (size_t k = 0; k < COUNT(shapes); k++) {
        int per = k == 2 || k == 6 ? 2 : 1;
        int ok = (QUERY_FILTER_MAX_DEPTH - 1) / per;
        Err err;
        char *s = nest(shapes[k].prefix, shapes[k].core, shapes[k].suffix, shapes[k].tail, ok);
        int rc = parse_err(ENT_THING, s, &err);
        if (rc)
            print_error("depth %d of '%s': %s\n", ok, shapes[k].prefix, err.msg);
        assert_int_equal(rc, 0);
        free(s);
        s = nest(shapes[k].prefix, shapes[k].core, shapes[k].suffix, shapes[k].tail, ok + 1);
        assert_int_equal(parse_err(ENT_THING, s, &err), ERR_BAD_REQUEST);
        assert_non_null(strstr(err.msg, "expression nested deeper than 64 levels"));
        assert_string_equal(err.field, "$filter");
        assert_true(err.position >= 1 && (size_t)err.position <= strlen(s) + 1);
        free(s);
    }
    /* Far deeper input fails the same way, without exhausting the stack. */
    Err err;
    char *s = nest("(", "true", ")", "", 8000);
    assert_int_equal(parse_err(ENT_THING, s, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "nested deeper"));
    assert_int_equal(err.position, QUERY_FILTER_MAX_DEPTH + 1); /* the 65th "(" */
    free(s);
    s = nest("not ", "true", "", "", 4000);
    assert_int_equal(parse_err(ENT_THING, s, &err), ERR_BAD_REQUEST);
    free(s);
}

static void test_length(void **state)
{
    (void)state;
    Err err;
    /* Exactly the limit: a string literal filling the text. */
    char *s = malloc(QUERY_FILTER_MAX_LEN + 2);
    assert_non_null(s);
    memset(s, 'a', QUERY_FILTER_MAX_LEN + 1);
    memcpy(s, "name eq '", 9);
    s[QUERY_FILTER_MAX_LEN - 1] = '\'';
    s[QUERY_FILTER_MAX_LEN] = '\0';
    assert_int_equal(parse_err(ENT_THING, s, &err), 0);
    /* One more byte. */
    s[QUERY_FILTER_MAX_LEN - 1] = 'a';
    s[QUERY_FILTER_MAX_LEN] = '\'';
    s[QUERY_FILTER_MAX_LEN + 1] = '\0';
    assert_int_equal(parse_err(ENT_THING, s, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "$filter is longer than 16384 characters"));
    assert_int_equal(err.position, QUERY_FILTER_MAX_LEN + 1);
    assert_string_equal(err.field, "$filter");
    free(s);

    /* A long flat chain is not nesting: "id eq 0 or id eq 1 or ..." up to the limit. */
    Buf b;
    buf_init(&b);
    for (int i = 0; b.len < QUERY_FILTER_MAX_LEN - 32; i++)
        buf_printf(&b, "%sid eq %d", i ? " or " : "", i);
    assert_int_equal(parse_err(ENT_THING, b.data, &err), 0);
    {
        /* ... and balanced: about 1,300 alternatives, 12 levels. */
        Arena a;
        arena_init(&a, 0);
        QueryNode *root = parse_ok(&a, ENT_THING, b.data);
        int h = 0;
        for (const QueryNode *n = root; n->kind == QN_BINARY; n = n->a)
            h++;
        assert_true(h >= 10 && h <= 12);
        arena_fini(&a);
    }
    /* A flat chain of arithmetic is left-deep: its height is limited. */
    buf_clear(&b);
    for (int i = 0; b.len < QUERY_FILTER_MAX_LEN - 16; i++)
        buf_puts(&b, i ? " add 1" : "id");
    buf_puts(&b, " gt 0");
    assert_int_equal(parse_err(ENT_THING, b.data, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "expression too deep: more than 256 levels of operators"));
    /* Reported at the first node below the limit: an 'add' deep in the text. */
    assert_true(err.position > 1 && (size_t)err.position <= b.len);
    assert_string_equal(err.field, "$filter");
    /* Height 256 passes, 257 does not: root "gt", then 254 or 255 "add"s above "id". */
    for (int adds = 254; adds <= 255; adds++) {
        buf_clear(&b);
        buf_puts(&b, "id");
        for (int i = 0; i < adds; i++)
            buf_puts(&b, " add 1");
        buf_puts(&b, " gt 0");
        assert_int_equal(parse_err(ENT_THING, b.data, &err), adds == 254 ? 0 : ERR_BAD_REQUEST);
    }
    /* A very long number and a very long name. */
    buf_clear(&b);
    buf_puts(&b, "id eq ");
    for (int i = 0; i < 5000; i++)
        buf_putc(&b, '9');
    assert_int_equal(parse_err(ENT_THING, b.data, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "integer literal out of range"));
    buf_puts(&b, ".5");
    assert_int_equal(parse_err(ENT_THING, b.data, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "number out of range"));
    buf_clear(&b);
    buf_puts(&b, "id eq 0.");
    for (int i = 0; i < 5000; i++)
        buf_putc(&b, '1');
    assert_int_equal(parse_err(ENT_THING, b.data, &err), 0);
    buf_clear(&b);
    for (int i = 0; i < 5000; i++)
        buf_putc(&b, 'x');
    buf_puts(&b, " eq 1");
    assert_int_equal(parse_err(ENT_THING, b.data, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "Thing has no property 'xxxxxxxx"));
    assert_true(strlen(err.msg) < ERR_MSG_MAX - 1);
    buf_fini(&b);
}

/*
 * Parses text with the cap raised from 1 byte until it succeeds.  Every
 * failure before must be ERR_TOO_LARGE ("expression too large") within
 * the cap; the result must print as the uncapped one.
 */
static void step_cap(EntityType t, const char *text)
{
    Arena a;
    arena_init(&a, 0);
    QueryNode *root = parse_ok(&a, t, text);
    size_t need = a.used;
    Buf want;
    buf_init(&want);
    print(&want, root);
    arena_fini(&a);
    size_t cap;
    int failures = 0;
    for (cap = 1;; cap++) {
        arena_init(&a, cap);
        Err err;
        err_init(&err);
        QueryNode *out = NULL;
        int rc = query_parse_filter(&a, model_entity(t), text, &out, &err);
        if (a.used > cap)
            failures++;
        if (rc == 0) {
            Buf got;
            buf_init(&got);
            print(&got, out);
            failures += strcmp(got.data, want.data) != 0;
            buf_fini(&got);
            arena_fini(&a);
            break;
        }
        if (rc != ERR_TOO_LARGE || err.code != rc || !strstr(err.msg, "expression too large") ||
            strcmp(err.field, "$filter") != 0 || out != NULL || err.position < 1 ||
            (size_t)err.position > strlen(text) + 1)
            failures++;
        /* The same failure with err == NULL does not crash. */
        arena_fini(&a);
        arena_init(&a, cap);
        if (query_parse_filter(&a, model_entity(t), text, &out, NULL) != ERR_TOO_LARGE)
            failures++;
        arena_fini(&a);
    }
    assert_int_equal(failures, 0);
    assert_true(cap <= need);
    assert_true(cap > 1);
    buf_fini(&want);
}

static void test_arena_cap(void **state)
{
    (void)state;
    step_cap(ENT_THING, "name eq 'x'");
    step_cap(ENT_OBSERVATION, "result gt 5 and (phenomenonTime lt 2026-01-01T00:00:00Z or "
                              "Datastream/Thing/properties/owner/name eq 'it''s')");
    step_cap(ENT_LOCATION, "st_within(location, geography'POLYGON((0 0, 1 0, 1 1, 0 0))') and "
                           "geo.distance(location, geography'POINT(1 2)') lt 10");
    step_cap(ENT_OBSERVATION, "time(phenomenonTime) gt 08:00 and substring(tolower(concat("
                              "'a', 'b')), 1, 2) eq 'b' and not -result lt 5 sub 1");
}

/* ========================================================================== */
/* Errors and the surrounding options parser                                  */
/* ========================================================================== */

/* err may be NULL; an error recorded before is kept (the first one sticks). */
static void test_err_handling(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 0);
    QueryNode *root = NULL;
    assert_int_equal(query_parse_filter(&a, model_entity(ENT_THING), "nme eq 1", &root, NULL),
                     ERR_BAD_REQUEST);
    assert_null(root);
    Err err;
    err_init(&err);
    err_set(&err, ERR_INVALID, "other", "first");
    assert_int_equal(query_parse_filter(&a, model_entity(ENT_THING), "nme eq 1", &root, &err),
                     ERR_BAD_REQUEST);
    assert_int_equal(err.code, ERR_INVALID);
    assert_string_equal(err.field, "other");
    assert_string_equal(err.msg, "first");
    arena_fini(&a);
}

static void test_options_wiring(void **state)
{
    (void)state;
    static const QueryLimits lim = {100, 1000};
    Arena a;
    arena_init(&a, 0);
    QueryOptions o;
    Err err;
    err_init(&err);
    QueryParam ok[] = {{"$filter", "result gt 5"}};
    assert_int_equal(query_parse_options(&a, model_entity(ENT_OBSERVATION), ok, 1, &lim, &o, &err),
                     0);
    assert_string_equal(o.filter, "result gt 5");
    assert_non_null(o.filter_ast);
    assert_int_equal(o.filter_ast->op, QOP_GT);

    QueryParam nested[] = {{"$expand", "Observations($filter=result gt 5;$top=1)"}};
    assert_int_equal(
        query_parse_options(&a, model_entity(ENT_DATASTREAM), nested, 1, &lim, &o, &err), 0);
    assert_non_null(o.expand);
    assert_non_null(o.expand->opts->filter_ast);

    QueryParam bad[] = {{"$filter", "name eq 5"}};
    assert_int_equal(query_parse_options(&a, model_entity(ENT_THING), bad, 1, &lim, &o, &err),
                     ERR_BAD_REQUEST);
    assert_string_equal(err.field, "$filter");
    assert_int_equal(err.position, 6);
    assert_non_null(strstr(err.msg, "cannot compare string with number at column 6"));

    /* The type of the expanded entity decides: Observations have no 'name'. */
    err_init(&err);
    QueryParam bad2[] = {{"$expand", "Observations($filter=name eq 'x')"}};
    assert_int_equal(query_parse_options(&a, model_entity(ENT_DATASTREAM), bad2, 1, &lim, &o,
                                         &err),
                     ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "Observation has no property 'name'"));
    arena_fini(&a);
}

/* Same input, same tree; the parser keeps no state between calls. */
static void test_deterministic(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(cases); i++) {
        if (!cases[i].want)
            continue;
        Arena a1, a2;
        arena_init(&a1, 0);
        arena_init(&a2, 0);
        QueryNode *r1 = parse_ok(&a1, cases[i].ent, cases[i].in);
        QueryNode *r2 = parse_ok(&a2, cases[i].ent, cases[i].in);
        Buf b1, b2;
        buf_init(&b1);
        buf_init(&b2);
        print(&b1, r1);
        print(&b2, r2);
        assert_string_equal(b1.data, b2.data);
        assert_int_equal(a1.used, a2.used);
        buf_fini(&b1);
        buf_fini(&b2);
        arena_fini(&a1);
        arena_fini(&a2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),       cmocka_unit_test(test_table_size),
        cmocka_unit_test(test_types),       cmocka_unit_test(test_node_fields),
        cmocka_unit_test(test_depth),       cmocka_unit_test(test_length),
        cmocka_unit_test(test_arena_cap),   cmocka_unit_test(test_err_handling),
        cmocka_unit_test(test_options_wiring), cmocka_unit_test(test_deterministic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
