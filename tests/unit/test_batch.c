/*
 * test_batch.c - the $batch body parser (sta_batch_parse), table-driven:
 * each row gives a Content-Type and a body and expects either a summary of
 * the parsed requests or an error code with a fragment of its message.
 * Every body is copied into a heap buffer of exactly its length, so that
 * ASan catches any read past it.  Further tests build bodies at the limits
 * (request count, header size) and raise the arena cap step by step.
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

#include "sta/sta_int.h"
#include "util/buf.h"

#define MP "multipart/mixed; boundary=b"
#define JS "application/json"
#define CRLF "\r\n"
#define PART "--b\r\nContent-Type: application/http\r\n\r\n"

typedef struct Row {
    const char *name;
    const char *ctype;
    const char *body;
    int rc;              /* expected result */
    const char *summary; /* rc == 0: "group:METHOD url[#id][+bodylen]" per request */
    const char *msg;     /* rc != 0: fragment of the message */
} Row;

static const Row rows[] = {
    /* ---- valid multipart */
    {"one GET, CRLF", MP, PART "GET Things(1) HTTP/1.1" CRLF CRLF CRLF "--b--", 0,
     "-:GET Things(1)", NULL},
    {"one GET, LF only", MP,
     "--b\nContent-Type: application/http\n\nGET Things HTTP/1.1\n\n\n--b--\n", 0,
     "-:GET Things", NULL},
    {"preamble and epilogue ignored", MP,
     "this is a preamble\r\n" PART "GET Things HTTP/1.1\r\n\r\n\r\n--b--\r\nepilogue", 0,
     "-:GET Things", NULL},
    {"no blank line after the request line", MP, PART "GET Things HTTP/1.1\r\n--b--", 0,
     "-:GET Things", NULL},
    {"no HTTP version", MP, PART "get /v1.1/Things\r\n--b--", 0, "-:GET /v1.1/Things", NULL},
    {"quoted boundary", "multipart/mixed; boundary=\"b\"", PART "GET Things HTTP/1.1\r\n\r\n--b--",
     0, "-:GET Things", NULL},
    {"other parameters before the boundary", "Multipart/Mixed;charset=utf-8;boundary=b",
     PART "GET Things HTTP/1.1\r\n\r\n--b--", 0, "-:GET Things", NULL},
    {"POST with body and Content-Length", MP,
     PART "POST /v1.1/Things HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 8\r\n"
          "\r\n{\"a\":1}  \r\n--b--",
     0, "-:POST /v1.1/Things+8", NULL},
    {"body without Content-Length runs to the delimiter", MP,
     PART "POST Things HTTP/1.1\r\n\r\n{\"a\":1}\r\n--b--", 0, "-:POST Things+7", NULL},
    {"change set with Content-IDs and a reference", MP,
     "--b\r\nContent-Type: multipart/mixed;boundary=cs\r\n\r\n"
     "--cs\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\n"
     "POST Things HTTP/1.1\r\n\r\n{}\r\n"
     "--cs\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n"
     "Content-ID: 2\r\n\r\nPOST $1/Datastreams HTTP/1.1\r\n\r\n{}\r\n"
     "--cs--\r\n" PART "GET Things HTTP/1.1\r\n\r\n\r\n--b--\r\n",
     0, "0:POST Things#1+2 0:POST $1/Datastreams#2+2 -:GET Things", NULL},
    {"two change sets", MP,
     "--b\r\nContent-Type: multipart/mixed; boundary=c1\r\n\r\n--c1\r\nContent-Type: "
     "application/http\r\n\r\nDELETE Things(1) HTTP/1.1\r\n\r\n--c1--\r\n"
     "--b\r\nContent-Type: multipart/mixed; boundary=c2\r\n\r\n--c2\r\nContent-Type: "
     "application/http\r\n\r\nPATCH Things(2) HTTP/1.1\r\n\r\n{}\r\n--c2--\r\n--b--",
     0, "0:DELETE Things(1) 1:PATCH Things(2)+2", NULL},
    {"Content-ID inside the embedded request", MP,
     "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: "
     "application/http\r\n\r\nPOST Things HTTP/1.1\r\nContent-ID: x\r\n\r\n{}\r\n--c--\r\n--b--",
     0, "0:POST Things#x+2", NULL},
    {"a longer boundary is not the delimiter", MP,
     PART "POST Things HTTP/1.1\r\n\r\n--b-1 is body text\r\n--b--", 0, "-:POST Things+18",
     NULL},

    /* ---- valid JSON */
    {"JSON: GET and group", JS,
     "{\"requests\":[{\"id\":\"0\",\"method\":\"get\",\"url\":\"Things(1)\"},"
     "{\"id\":\"1\",\"atomicityGroup\":\"g\",\"method\":\"post\",\"url\":\"Things\","
     "\"body\":{\"name\":\"n\"}},{\"id\":\"2\",\"atomicityGroup\":\"g\",\"method\":\"PATCH\","
     "\"url\":\"$1\",\"headers\":{\"Content-Type\":\"application/json\"},\"body\":{}}]}",
     0, "-:GET Things(1)#0 0:POST Things#1+12 0:PATCH $1#2+2", NULL},
    {"JSON: dependsOn an earlier group", JS,
     "{\"requests\":[{\"id\":\"1\",\"atomicityGroup\":\"g\",\"method\":\"delete\",\"url\":"
     "\"Things(1)\"},{\"id\":\"2\",\"dependsOn\":[\"g\",\"1\"],\"method\":\"get\",\"url\":"
     "\"Things\"}]}",
     0, "0:DELETE Things(1)#1 -:GET Things#2", NULL},

    /* ---- malformed multipart */
    {"no boundary parameter", "multipart/mixed", PART "GET Things HTTP/1.1\r\n\r\n--b--",
     ERR_BAD_REQUEST, NULL, "needs a boundary"},
    {"empty boundary", "multipart/mixed; boundary=", "--\r\n", ERR_BAD_REQUEST, NULL,
     "1 to 70 characters"},
    {"boundary too long", "multipart/mixed; boundary=" "0123456789012345678901234567890123456789"
                          "0123456789012345678901234567890123456789",
     "x", ERR_BAD_REQUEST, NULL, "1 to 70 characters"},
    {"unclosed quoted boundary", "multipart/mixed; boundary=\"b", "x", ERR_BAD_REQUEST, NULL,
     "not closed"},
    {"wrong boundary", "multipart/mixed; boundary=zz", PART "GET Things HTTP/1.1\r\n\r\n--b--",
     ERR_BAD_REQUEST, NULL, "no delimiter line '--zz'"},
    {"empty body", MP, "", ERR_BAD_REQUEST, NULL, "no delimiter line"},
    {"no requests", MP, "--b--\r\n", ERR_BAD_REQUEST, NULL, "holds no requests"},
    {"truncated: no close delimiter", MP, PART "GET Things HTTP/1.1\r\n\r\n", ERR_BAD_REQUEST,
     NULL, "part 1 is not closed"},
    {"truncated after a delimiter", MP, PART "GET Things HTTP/1.1\r\n\r\n--b", ERR_BAD_REQUEST,
     NULL, "truncated"},
    {"truncated inside part headers", MP, "--b\r\nContent-Type: application/ht", ERR_BAD_REQUEST,
     NULL, "part 1 is not closed"},
    {"part headers not ended", MP, "--b\r\nContent-Type: application/http\r\n--b--",
     ERR_BAD_REQUEST, NULL, "not followed by an empty line"},
    {"part without Content-Type", MP, "--b\r\nContent-ID: 1\r\n\r\nGET Things HTTP/1.1\r\n--b--",
     ERR_BAD_REQUEST, NULL, "part 1 has no Content-Type"},
    {"wrong part Content-Type", MP,
     "--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b--", ERR_BAD_REQUEST, NULL,
     "must be application/http or multipart/mixed, not application/json"},
    {"base64 transfer encoding", MP,
     "--b\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: base64\r\n\r\nR0VU\r\n"
     "--b--",
     ERR_BAD_REQUEST, NULL, "must be binary"},
    {"malformed part header line", MP, "--b\r\nContent-Type application/http\r\n\r\nGET x\r\n--b--",
     ERR_BAD_REQUEST, NULL, "is not a header line"},
    {"empty application/http part", MP, PART "\r\n--b--", ERR_BAD_REQUEST, NULL,
     "part 1 holds no request"},
    {"bad request line", MP, PART "GET\r\n\r\n--b--", ERR_BAD_REQUEST, NULL,
     "expected a request line"},
    {"bad HTTP version", MP, PART "GET Things HTTP/2\r\n\r\n--b--", ERR_BAD_REQUEST, NULL,
     "expected HTTP/1.1"},
    {"garbage after delimiter", MP, "--b junk\r\n", ERR_BAD_REQUEST, NULL,
     "not followed by a line break"},
    {"Content-Length beyond the part", MP,
     PART "POST Things HTTP/1.1\r\nContent-Length: 100\r\n\r\n{}\r\n--b--", ERR_BAD_REQUEST, NULL,
     "Content-Length 100 exceeds"},
    {"Content-Length not a number", MP,
     PART "POST Things HTTP/1.1\r\nContent-Length: 1x\r\n\r\n{}\r\n--b--", ERR_BAD_REQUEST, NULL,
     "Content-Length must be a number"},
    {"header in request not a header", MP, PART "POST Things HTTP/1.1\r\n{}\r\n--b--",
     ERR_BAD_REQUEST, NULL, "part 1: '{}' is not a header line"},
    {"nested change sets", MP,
     "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: "
     "multipart/mixed; boundary=d\r\n\r\n--d--\r\n--c--\r\n--b--",
     ERR_BAD_REQUEST, NULL, "part 1.1: change sets cannot be nested"},
    {"change set without boundary", MP,
     "--b\r\nContent-Type: multipart/mixed\r\n\r\n--c--\r\n--b--", ERR_BAD_REQUEST, NULL,
     "part 1: multipart/mixed needs a boundary"},
    {"empty change set", MP,
     "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c--\r\n--b--", ERR_BAD_REQUEST,
     NULL, "the change set is empty"},
    {"unclosed change set", MP,
     "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: "
     "application/http\r\n\r\nDELETE Things(1) HTTP/1.1\r\n\r\n--b--",
     ERR_BAD_REQUEST, NULL, "part 1.1 is not closed"},
    {"GET inside a change set", MP,
     "--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: "
     "application/http\r\n\r\nGET Things HTTP/1.1\r\n\r\n--c--\r\n--b--",
     ERR_BAD_REQUEST, NULL, "change set holds only POST"},
    {"duplicate Content-ID", MP,
     "--b\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nGET A HTTP/1.1\r\n\r\n"
     "--b\r\nContent-Type: application/http\r\nContent-ID: 1\r\n\r\nGET B HTTP/1.1\r\n\r\n--b--",
     ERR_BAD_REQUEST, NULL, "Content-ID '1' is used twice"},
    {"control character in URL", MP, PART "GET Thi\001ngs HTTP/1.1\r\n\r\n--b--",
     ERR_BAD_REQUEST, NULL, "control character in the URL"},

    /* ---- wrong content types */
    {"no Content-Type", NULL, "{}", ERR_MEDIA_TYPE, NULL, "(none)"},
    {"text/plain", "text/plain", "x", ERR_MEDIA_TYPE, NULL, "not text/plain"},
    {"multipart/form-data", "multipart/form-data; boundary=b", PART "--b--", ERR_MEDIA_TYPE,
     NULL, "multipart/mixed;boundary=... or application/json"},

    /* ---- malformed JSON */
    {"JSON syntax", JS, "{\"requests\":[", ERR_BAD_JSON, NULL, "malformed JSON"},
    {"JSON empty", JS, "", ERR_BAD_JSON, NULL, "empty"},
    {"JSON without requests", JS, "{\"reqs\":[]}", ERR_BAD_REQUEST, NULL, "{\"requests\": [...]}"},
    {"JSON requests empty", JS, "{\"requests\":[]}", ERR_BAD_REQUEST, NULL, "holds no requests"},
    {"JSON request not an object", JS, "{\"requests\":[1]}", ERR_BAD_REQUEST, NULL,
     "requests[0] must be an object"},
    {"JSON missing id", JS, "{\"requests\":[{\"method\":\"get\",\"url\":\"Things\"}]}",
     ERR_BAD_REQUEST, NULL, "requests[0].id must be"},
    {"JSON missing url", JS, "{\"requests\":[{\"id\":\"a\",\"method\":\"get\"}]}",
     ERR_BAD_REQUEST, NULL, "requests[0].url must be"},
    {"JSON method not a string", JS,
     "{\"requests\":[{\"id\":\"a\",\"method\":1,\"url\":\"Things\"}]}", ERR_BAD_REQUEST, NULL,
     "requests[0].method"},
    {"JSON duplicate id", JS,
     "{\"requests\":[{\"id\":\"a\",\"method\":\"get\",\"url\":\"A\"},{\"id\":\"a\",\"method\":"
     "\"get\",\"url\":\"B\"}]}",
     ERR_BAD_REQUEST, NULL, "requests[1].id 'a' is the id of an earlier request"},
    {"JSON group not adjacent", JS,
     "{\"requests\":[{\"id\":\"1\",\"atomicityGroup\":\"g\",\"method\":\"post\",\"url\":\"A\"},"
     "{\"id\":\"2\",\"method\":\"get\",\"url\":\"B\"},{\"id\":\"3\",\"atomicityGroup\":\"g\","
     "\"method\":\"post\",\"url\":\"C\"}]}",
     ERR_BAD_REQUEST, NULL, "must be adjacent"},
    {"JSON GET in a group", JS,
     "{\"requests\":[{\"id\":\"1\",\"atomicityGroup\":\"g\",\"method\":\"get\",\"url\":\"A\"}]}",
     ERR_BAD_REQUEST, NULL, "atomicity group holds only POST"},
    {"JSON dependsOn a later request", JS,
     "{\"requests\":[{\"id\":\"1\",\"dependsOn\":[\"2\"],\"method\":\"get\",\"url\":\"A\"},"
     "{\"id\":\"2\",\"method\":\"get\",\"url\":\"B\"}]}",
     ERR_BAD_REQUEST, NULL, "'2' is not the id or atomicity group of an earlier request"},
    {"JSON group named like a request", JS,
     "{\"requests\":[{\"id\":\"g\",\"method\":\"get\",\"url\":\"A\"},{\"id\":\"2\","
     "\"atomicityGroup\":\"g\",\"method\":\"post\",\"url\":\"B\"}]}",
     ERR_BAD_REQUEST, NULL, "also the name of an atomicity group"},
    {"JSON headers not an object", JS,
     "{\"requests\":[{\"id\":\"1\",\"method\":\"get\",\"url\":\"A\",\"headers\":[]}]}",
     ERR_BAD_REQUEST, NULL, "requests[0].headers must be an object"},
};

/* "group:METHOD url[#id][+bodylen]" per request, space-separated. */
static void summarise(const StaBatch *b, Buf *out)
{
    for (size_t i = 0; i < b->nparts; i++) {
        const StaBatchPart *p = &b->parts[i];
        if (i)
            buf_putc(out, ' ');
        if (p->group < 0)
            buf_putc(out, '-');
        else
            buf_printf(out, "%d", p->group);
        buf_printf(out, ":%s %s", p->method, p->url);
        if (p->id)
            buf_printf(out, "#%s", p->id);
        if (p->body_len)
            buf_printf(out, "+%zu", p->body_len);
    }
}

/* Parses body from a heap copy of exactly its length. */
static int parse(Arena *a, const char *ctype, const char *body, size_t len, StaBatch *b, Err *err)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, body, len);
    int rc = sta_batch_parse(a, ctype, copy, len, b, err);
    /* Part bodies point into the input: check them before it goes. */
    for (size_t i = 0; !rc && i < b->nparts; i++)
        if (b->parts[i].body && !b->json)
            assert_true(b->parts[i].body >= copy && b->parts[i].body + b->parts[i].body_len <=
                                                        copy + len);
    free(copy);
    return rc;
}

static void test_rows(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const Row *r = &rows[i];
        Arena a;
        arena_init(&a, 1 << 20);
        StaBatch b;
        memset(&b, 0, sizeof b);
        Err err;
        err_init(&err);
        int rc = parse(&a, r->ctype, r->body, strlen(r->body), &b, &err);
        if (rc != r->rc)
            fail_msg("row '%s': rc %d (%s), expected %d", r->name, rc, err.msg, r->rc);
        if (rc == 0) {
            Buf s;
            buf_init(&s);
            summarise(&b, &s);
            if (strcmp(s.data ? s.data : "", r->summary) != 0)
                fail_msg("row '%s': parsed '%s', expected '%s'", r->name, s.data, r->summary);
            buf_fini(&s);
        } else if (!strstr(err.msg, r->msg)) {
            fail_msg("row '%s': message '%s' lacks '%s'", r->name, err.msg, r->msg);
        }
        arena_fini(&a);
    }
}

/* The multipart body of n GET requests. */
static void many(Buf *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf_printf(b, PART "GET Things(%zu) HTTP/1.1\r\n\r\n", i + 1);
    buf_puts(b, "--b--\r\n");
}

static void test_request_limit(void **state)
{
    (void)state;
    for (int extra = 0; extra <= 1; extra++) {
        Buf body;
        buf_init(&body);
        many(&body, STA_BATCH_MAX_REQUESTS + (size_t)extra);
        Arena a;
        arena_init(&a, 8 << 20);
        StaBatch b;
        Err err;
        err_init(&err);
        int rc = parse(&a, MP, body.data, body.len, &b, &err);
        if (extra) {
            assert_int_equal(rc, ERR_BAD_REQUEST);
            assert_non_null(strstr(err.msg, "at most 1000 requests"));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(b.nparts, STA_BATCH_MAX_REQUESTS);
        }
        arena_fini(&a);
        buf_fini(&body);
    }
    /* The same limit in JSON. */
    Buf body;
    buf_init(&body);
    buf_puts(&body, "{\"requests\":[");
    for (int i = 0; i <= STA_BATCH_MAX_REQUESTS; i++)
        buf_printf(&body, "%s{\"id\":\"%d\",\"method\":\"get\",\"url\":\"Things\"}", i ? "," : "",
                   i);
    buf_puts(&body, "]}");
    Arena a;
    arena_init(&a, 8 << 20);
    StaBatch b;
    Err err;
    err_init(&err);
    assert_int_equal(parse(&a, JS, body.data, body.len, &b, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "at most 1000 requests"));
    arena_fini(&a);
    buf_fini(&body);
}

static void test_huge_headers(void **state)
{
    (void)state;
    const char *where[] = {"part", "request", "line"};
    for (int w = 0; w < 3; w++) {
        Buf body, big;
        buf_init(&body);
        buf_init(&big);
        for (int i = 0; i < STA_BATCH_MAX_HEADERS + 10; i++)
            buf_putc(&big, 'x');
        if (w == 0)
            buf_printf(&body, "--b\r\nContent-Type: application/http\r\nX-Big: %s\r\n\r\n"
                              "GET Things HTTP/1.1\r\n\r\n--b--", big.data);
        else if (w == 1)
            buf_printf(&body, PART "GET Things HTTP/1.1\r\nX-Big: %s\r\n\r\n--b--", big.data);
        else
            buf_printf(&body, PART "GET Things?%s HTTP/1.1\r\n\r\n--b--", big.data);
        Arena a;
        arena_init(&a, 1 << 20);
        StaBatch b;
        Err err;
        err_init(&err);
        int rc = parse(&a, MP, body.data, body.len, &b, &err);
        if (rc != ERR_BAD_REQUEST || !strstr(err.msg, "longer than 8192 bytes"))
            fail_msg("huge %s header: rc %d '%s'", where[w], rc, err.msg);
        assert_true(err.position > 0);
        arena_fini(&a);
        buf_fini(&body);
        buf_fini(&big);
    }
    /* Too many header lines. */
    Buf body;
    buf_init(&body);
    buf_puts(&body, PART "GET Things HTTP/1.1\r\n");
    for (int i = 0; i <= STA_BATCH_MAX_LINES; i++)
        buf_printf(&body, "X-%d: y\r\n", i);
    buf_puts(&body, "\r\n--b--");
    Arena a;
    arena_init(&a, 1 << 20);
    StaBatch b;
    Err err;
    err_init(&err);
    assert_int_equal(parse(&a, MP, body.data, body.len, &b, &err), ERR_BAD_REQUEST);
    assert_non_null(strstr(err.msg, "more than 100 header lines"));
    arena_fini(&a);
    buf_fini(&body);
}

/* Positions name the byte where the fault is. */
static void test_positions(void **state)
{
    (void)state;
    const char *body =
        PART "GET Things HTTP/1.1\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--";
    Arena a;
    arena_init(&a, 1 << 20);
    StaBatch b;
    Err err;
    err_init(&err);
    assert_int_equal(parse(&a, MP, body, strlen(body), &b, &err), ERR_BAD_REQUEST);
    const char *ct = strstr(body, "text/plain");
    assert_int_equal(err.position, (long)(ct - body) + 1);
    assert_non_null(strstr(err.msg, "part 2"));
    arena_fini(&a);
}

/* Raising the arena cap step by step: every failure is ERR_TOO_LARGE, then it parses. */
static void test_arena_cap(void **state)
{
    (void)state;
    const char *bodies[] = {rows[9].body, rows[13].body};
    const char *types[] = {MP, JS};
    for (int k = 0; k < 2; k++) {
        int ok = 0;
        for (size_t cap = 64; cap < (1 << 16) && !ok; cap += 64) {
            Arena a;
            arena_init(&a, cap);
            StaBatch b;
            Err err;
            err_init(&err);
            int rc = parse(&a, types[k], bodies[k], strlen(bodies[k]), &b, &err);
            if (rc == 0)
                ok = 1;
            else
                assert_int_equal(rc, ERR_TOO_LARGE);
            arena_fini(&a);
        }
        assert_true(ok);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows),
        cmocka_unit_test(test_request_limit),
        cmocka_unit_test(test_huge_headers),
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_arena_cap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
