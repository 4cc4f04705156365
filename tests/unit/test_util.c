/*
 * test_util.c - unit tests for util/: the arena (alignment, cap, big
 * allocations, string helpers, overflow), Buf, the JSON writer (escaping,
 * UTF-8 passthrough, integers, doubles that read back exactly), the error
 * table and the sticky first error, and the logger's level handling.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <float.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/arena.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/jsonw.h"
#include "util/log.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ========================================================================== */
/* Arena                                                                      */
/* ========================================================================== */

static void test_arena_alignment(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 0);
    size_t total = 0;
    for (size_t n = 0; n < 300; n++) {
        unsigned char *p = arena_alloc(&a, n);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p % 16, 0);
        memset(p, 0xAB, n); /* ASan: the whole block is ours */
        total += (n + 15) & ~(size_t)15;
    }
    assert_int_equal(a.used, total);
    arena_fini(&a);
    assert_null(a.head);
    assert_int_equal(a.used, 0);
    arena_fini(&a); /* twice is fine */
    arena_fini(NULL);
}

static void test_arena_cap(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 100);
    assert_non_null(arena_alloc(&a, 90)); /* rounds to 96 */
    assert_int_equal(a.used, 96);
    assert_null(arena_alloc(&a, 1)); /* 96 + 16 > 100 */
    assert_int_equal(a.used, 96);    /* a failure costs nothing */
    assert_null(arena_zalloc(&a, 5));
    assert_null(arena_strdup(&a, "x"));
    assert_null(arena_printf(&a, "%d", 1));
    assert_non_null(arena_alloc(&a, 0)); /* zero bytes always fit */
    arena_fini(&a);

    /* Exactly at the cap. */
    arena_init(&a, 64);
    assert_non_null(arena_alloc(&a, 48));
    assert_non_null(arena_alloc(&a, 16));
    assert_int_equal(a.used, 64);
    assert_null(arena_alloc(&a, 1));
    arena_fini(&a);

    /* One request larger than the cap. */
    arena_init(&a, 1000);
    assert_null(arena_alloc(&a, 1001));
    assert_null(arena_alloc(&a, 993)); /* rounds to 1008 */
    assert_non_null(arena_alloc(&a, 992));
    arena_fini(&a);
}

static void test_arena_overflow(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 0);
    assert_null(arena_alloc(&a, SIZE_MAX));
    assert_null(arena_alloc(&a, SIZE_MAX - 14));
    assert_int_equal(a.used, 0);
    arena_init(&a, 1 << 20);
    assert_null(arena_alloc(&a, SIZE_MAX / 2));
    arena_fini(&a);
}

static void test_arena_big(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 0);
    char *small1 = arena_alloc(&a, 16);
    /* A big block goes behind the current one, which keeps filling. */
    char *big = arena_alloc(&a, 100000);
    assert_non_null(big);
    memset(big, 1, 100000);
    char *small2 = arena_alloc(&a, 16);
    assert_ptr_equal(small2, small1 + 16);
    char *big2 = arena_alloc(&a, 5000); /* > half a block, but fits the current one */
    assert_ptr_equal(big2, small2 + 16);
    memset(big2, 2, 5000);
    char *big3 = arena_alloc(&a, 5000); /* does not fit: a block of its own */
    memset(big3, 4, 5000);
    char *small3 = arena_alloc(&a, 16);
    assert_ptr_equal(small3, big2 + 5008);
    /* Many small ones cross block boundaries. */
    char *prev = NULL;
    for (int i = 0; i < 2000; i++) {
        char *p = arena_alloc(&a, 40);
        assert_non_null(p);
        memset(p, 3, 40);
        assert_true(p != prev);
        prev = p;
    }
    assert_int_equal(big[99999], 1);
    assert_int_equal(big2[0], 2);
    arena_fini(&a);
}

static void test_arena_strings(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 0);
    char *s = arena_strndup(&a, "hello world", 5);
    assert_string_equal(s, "hello");
    s = arena_strndup(&a, "abc", 0);
    assert_string_equal(s, "");
    s = arena_strndup(&a, "a\0b", 3); /* bytes copied as they are */
    assert_memory_equal(s, "a\0b\0", 4);
    assert_string_equal(arena_strdup(&a, "Klammer"), "Klammer");
    assert_string_equal(arena_printf(&a, "%s(%lld)", "Things", 42LL), "Things(42)");
    assert_string_equal(arena_printf(&a, "%s", ""), "");
    char long_text[5000];
    memset(long_text, 'x', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    char *p = arena_printf(&a, "<%s>", long_text);
    assert_int_equal(strlen(p), 5001);
    assert_int_equal(p[5000], '>');
    unsigned char *z = arena_zalloc(&a, 64);
    for (int i = 0; i < 64; i++)
        assert_int_equal(z[i], 0);
    arena_fini(&a);

    /* printf that does not fit: NULL, arena unchanged. */
    arena_init(&a, 32);
    assert_null(arena_printf(&a, "%s", long_text));
    assert_int_equal(a.used, 0);
    assert_string_equal(arena_printf(&a, "%d", 12345), "12345");
    arena_fini(&a);
}

/* libuv test-loop-oom: raise the cap until the work fits; each failure is clean. */
static void test_arena_cap_steps(void **state)
{
    (void)state;
    size_t cap;
    for (cap = 1; cap < 4096; cap++) {
        Arena a;
        arena_init(&a, cap);
        int ok = 1;
        for (int i = 0; ok && i < 20; i++)
            ok = arena_printf(&a, "item-%d", i) != NULL;
        assert_true(a.used <= cap);
        arena_fini(&a);
        if (ok)
            break;
    }
    assert_int_equal(cap, 20 * 16);
}

static void test_xalloc(void **state)
{
    (void)state;
    char *p = xmalloc(0);
    assert_non_null(p);
    free(p);
    p = xcalloc(0, 0);
    assert_non_null(p);
    free(p);
    int *v = xcalloc(10, sizeof *v);
    for (int i = 0; i < 10; i++)
        assert_int_equal(v[i], 0);
    v = xrealloc(v, 1000 * sizeof *v);
    v[999] = 7;
    free(v);
    char *s = xstrdup("dup");
    assert_string_equal(s, "dup");
    free(s);
}

/* ========================================================================== */
/* Buf                                                                        */
/* ========================================================================== */

static void test_buf(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    buf_puts(&b, "ab");
    buf_putc(&b, 'c');
    buf_append(&b, "d\0e", 3);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "abcd\0e\0", 7);
    buf_clear(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    assert_true(b.cap > 0); /* memory kept */
    buf_printf(&b, "%d-%s", 7, "x");
    assert_string_equal(b.data, "7-x");
    /* Longer than the printf fast path (128 bytes). */
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 3 + 1001);
    assert_int_equal(b.data[b.len], '\0');
    assert_int_equal(b.data[b.len - 1], ']');
    /* Growth keeps the content and the terminator. */
    for (int i = 0; i < 10000; i++)
        buf_putc(&b, (char)('a' + i % 26));
    assert_int_equal(b.len, 1004 + 10000);
    assert_int_equal(strlen(b.data), b.len);
    assert_true(b.cap > b.len);
    size_t len = 0;
    char *s = buf_steal(&b, &len);
    assert_int_equal(len, 11004);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    free(s);
    /* Stealing an empty buffer gives an empty string to free. */
    s = buf_steal(&b, NULL);
    assert_string_equal(s, "");
    free(s);
    buf_reserve(&b, 10);
    assert_true(b.cap > 10);
    assert_string_equal(b.data, "");
    buf_fini(&b);
    buf_fini(&b);
    buf_fini(NULL);
}

/* Exactly filling the capacity still leaves room for the terminator. */
static void test_buf_boundaries(void **state)
{
    (void)state;
    for (size_t n = 250; n < 260; n++) {
        Buf b;
        buf_init(&b);
        char *s = malloc(n);
        memset(s, 'z', n);
        buf_append(&b, s, n);
        assert_int_equal(b.len, n);
        assert_int_equal(b.data[n], '\0');
        assert_true(b.cap > n);
        buf_printf(&b, "%s", "");
        buf_append(&b, "", 0);
        assert_int_equal(b.len, n);
        free(s);
        buf_fini(&b);
    }
}

/* ========================================================================== */
/* JSON writer                                                                */
/* ========================================================================== */

static void test_jw_strings(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t n;
        const char *out;
    } cases[] = {
        {"", 0, "\"\""},
        {"plain", 5, "\"plain\""},
        {"q\"b\\s/", 6, "\"q\\\"b\\\\s/\""},
        {"\n\r\t\b\f", 5, "\"\\n\\r\\t\\b\\f\""},
        {"\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\""},
        {"a\0b", 3, "\"a\\u0000b\""},
        {"\x0b\x1b", 2, "\"\\u000b\\u001b\""},
        {"Gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80", 15,
         "\"Gr\xc3\xbc\xc3\x9f \xe2\x82\xac \xf0\x9f\x98\x80\""},
        {"\xff\xfe", 2, "\"\xff\xfe\""}, /* bytes pass through unvalidated */
        {"end\\", 4, "\"end\\\\\""},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        Buf b;
        buf_init(&b);
        jw_strn(&b, cases[i].in, cases[i].n);
        assert_string_equal(b.data, cases[i].out);
        assert_int_equal(b.len, strlen(cases[i].out));
        buf_fini(&b);
    }
    /* Every control character reads back through a JSON parser. */
    char all[32];
    for (int c = 0; c < 32; c++)
        all[c] = (char)c;
    Buf b;
    buf_init(&b);
    jw_strn(&b, all, sizeof all);
    json_error_t je;
    json_t *j = json_loads(b.data, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    assert_non_null(j);
    assert_int_equal(json_string_length(j), 32);
    assert_memory_equal(json_string_value(j), all, 32);
    json_decref(j);
    buf_clear(&b);
    jw_key(&b, "na\"me");
    jw_str(&b, "v");
    assert_string_equal(b.data, "\"na\\\"me\":\"v\"");
    buf_clear(&b);
    jw_raw(&b, "{}");
    assert_string_equal(b.data, "{}");
    buf_fini(&b);
}

static void test_jw_int(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *out;
    } cases[] = {
        {0, "0"},
        {-1, "-1"},
        {42, "42"},
        {INT64_MAX, "9223372036854775807"},
        {INT64_MIN, "-9223372036854775808"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        Buf b;
        buf_init(&b);
        jw_int(&b, cases[i].v);
        assert_string_equal(b.data, cases[i].out);
        buf_fini(&b);
    }
}

/* Writes v, checks it reads back exactly and as a JSON real; returns the text in b. */
static void real_roundtrip(Buf *b, double v)
{
    buf_clear(b);
    jw_real(b, v);
    char *end;
    double back = strtod(b->data, &end);
    if (*end != '\0' || memcmp(&back, &v, sizeof v) != 0)
        print_error("%.17g wrote '%s'\n", v, b->data);
    assert_true(*end == '\0');
    assert_memory_equal(&back, &v, sizeof v); /* bit-exact, -0.0 included */
    json_error_t je;
    json_t *j = json_loads(b->data, JSON_DECODE_ANY, &je);
    if (!j || !json_is_real(j))
        print_error("'%s' is not a JSON real\n", b->data);
    assert_non_null(j);
    assert_true(json_is_real(j));
    json_decref(j);
    assert_true(strlen(b->data) <= 24);
}

static void test_jw_real(void **state)
{
    (void)state;
    static const struct {
        double v;
        const char *out;
    } cases[] = {
        {0.1, "0.1"},
        {2.0, "2.0"},
        {-2.0, "-2.0"},
        {0.0, "0.0"},
        {-0.0, "-0.0"},
        {1e300, "1e+300"},
        {-1e-300, "-1e-300"},
        {21.5, "21.5"},
        {100.0, "100.0"},
        {123456789012345.0, "123456789012345.0"},
        {0.30000000000000004, "0.30000000000000004"},
        {1.0 / 3.0, "0.33333333333333331"},
        {1e21, "1e+21"},
        {DBL_MAX, "1.7976931348623157e+308"},
        {5e-324, "4.94065645841247e-324"},
    };
    Buf b;
    buf_init(&b);
    for (size_t i = 0; i < COUNT(cases); i++) {
        real_roundtrip(&b, cases[i].v);
        assert_string_equal(b.data, cases[i].out);
    }
    /* Non-finite values have no JSON spelling. */
    double bad[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < COUNT(bad); i++) {
        buf_clear(&b);
        jw_real(&b, bad[i]);
        assert_string_equal(b.data, "null");
    }
    /* Many doubles: decimal fractions, powers, and random bit patterns. */
    for (int i = -400; i <= 400; i++)
        real_roundtrip(&b, i / 10.0);
    for (int e = -320; e <= 308; e++) {
        real_roundtrip(&b, pow(10.0, e));
        if (isfinite(-3.7 * pow(10.0, e)))
            real_roundtrip(&b, -3.7 * pow(10.0, e));
    }
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double v;
        memcpy(&v, &x, sizeof v);
        if (!isfinite(v))
            continue;
        real_roundtrip(&b, v);
    }
    buf_fini(&b);
}

/* ========================================================================== */
/* Errors                                                                     */
/* ========================================================================== */

static void test_err_table(void **state)
{
    (void)state;
    static const struct {
        int code;
        const char *name;
        int status;
    } cases[] = {
        {ERR_OK, "OK", 200},
        {ERR_NOMEM, "NOMEM", 503},
        {ERR_TOO_LARGE, "TOO_LARGE", 400},
        {ERR_BAD_REQUEST, "BAD_REQUEST", 400},
        {ERR_BAD_JSON, "BAD_JSON", 400},
        {ERR_INVALID, "INVALID", 400},
        {ERR_MISSING, "MISSING", 400},
        {ERR_UNKNOWN_PROPERTY, "UNKNOWN_PROPERTY", 400},
        {ERR_NOT_FOUND, "NOT_FOUND", 404},
        {ERR_METHOD, "METHOD", 405},
        {ERR_CONFLICT, "CONFLICT", 409},
        {ERR_BODY_TOO_LARGE, "BODY_TOO_LARGE", 413},
        {ERR_MEDIA_TYPE, "MEDIA_TYPE", 415},
        {ERR_NOT_IMPLEMENTED, "NOT_IMPLEMENTED", 501},
        {ERR_UNAVAILABLE, "UNAVAILABLE", 503},
        {ERR_STORAGE, "STORAGE", 500},
        {ERR_INTERNAL, "INTERNAL", 500},
        {ERR_IO, "IO", 500},
        {ERR_CONFIG, "CONFIG", 400},
    };
    assert_int_equal(COUNT(cases), ERR__COUNT);
    for (size_t i = 0; i < COUNT(cases); i++) {
        assert_int_equal(cases[i].code, -(int)i);
        assert_string_equal(err_name(cases[i].code), cases[i].name);
        assert_int_equal(err_http_status(cases[i].code), cases[i].status);
        assert_true(strlen(err_text(cases[i].code)) > 0);
    }
    assert_string_equal(err_text(ERR_NOT_FOUND), "not found");
    int unknown[] = {1, 100, -(int)ERR__COUNT, -1000, INT32_MIN};
    for (size_t i = 0; i < COUNT(unknown); i++) {
        assert_string_equal(err_name(unknown[i]), "UNKNOWN");
        assert_string_equal(err_text(unknown[i]), "unknown error");
        assert_int_equal(err_http_status(unknown[i]), 500);
    }
}

static void test_err_sticky(void **state)
{
    (void)state;
    Err e;
    memset(&e, 0x5A, sizeof e);
    err_init(&e);
    assert_int_equal(e.code, 0);
    assert_int_equal(e.position, 0);
    assert_string_equal(e.field, "");
    assert_string_equal(e.msg, "");
    assert_int_equal(err_set(&e, ERR_INVALID, "result", "bad %s at %d", "value", 3),
                     ERR_INVALID);
    assert_int_equal(err_set(&e, ERR_NOT_FOUND, "other", "second"), ERR_NOT_FOUND);
    assert_int_equal(err_set_at(&e, ERR_BAD_REQUEST, 17, "third"), ERR_BAD_REQUEST);
    assert_int_equal(e.code, ERR_INVALID);
    assert_string_equal(e.field, "result");
    assert_string_equal(e.msg, "bad value at 3");
    assert_int_equal(e.position, 0);

    err_init(&e);
    assert_int_equal(err_set_at(&e, ERR_BAD_REQUEST, 17, "expected ')' at column %d", 17),
                     ERR_BAD_REQUEST);
    assert_int_equal(e.position, 17);
    assert_string_equal(e.field, "");
    assert_string_equal(e.msg, "expected ')' at column 17");

    /* NULL Err: the code still comes back. */
    assert_int_equal(err_set(NULL, ERR_IO, "f", "x"), ERR_IO);
    assert_int_equal(err_set_at(NULL, ERR_IO, 1, "x"), ERR_IO);

    /* Long field and message are truncated, still terminated. */
    char long_text[1000];
    memset(long_text, 'f', sizeof long_text - 1);
    long_text[sizeof long_text - 1] = '\0';
    err_init(&e);
    err_set(&e, ERR_INVALID, long_text, "%s", long_text);
    assert_int_equal(strlen(e.field), ERR_FIELD_MAX - 1);
    assert_int_equal(strlen(e.msg), ERR_MSG_MAX - 1);
}

/* ========================================================================== */
/* Log                                                                        */
/* ========================================================================== */

static int evaluated;

static int side_effect(void)
{
    return ++evaluated;
}

static void test_log_levels(void **state)
{
    (void)state;
    assert_int_equal(log_level_parse("debug"), LOG_DEBUG);
    assert_int_equal(log_level_parse("info"), LOG_INFO);
    assert_int_equal(log_level_parse("warn"), LOG_WARN);
    assert_int_equal(log_level_parse("error"), LOG_ERROR);
    assert_int_equal(log_level_parse("fatal"), -1);
    assert_int_equal(log_level_parse("INFO"), -1);
    assert_int_equal(log_level_parse("warning"), -1);
    assert_int_equal(log_level_parse(""), -1);
    assert_int_equal(log_level_parse("info "), -1);
    for (int l = LOG_DEBUG; l <= LOG_ERROR; l++)
        assert_int_equal(log_level_parse(log_level_name(l)), l);
    assert_string_equal(log_level_name(LOG_FATAL), "fatal");
    assert_string_equal(log_level_name(-1), "info");
    assert_string_equal(log_level_name(99), "info");
}

/* LOG skips its arguments below the level; a line is "time=... level=... fields\n". */
static void test_log_write(void **state)
{
    (void)state;
    char path[] = "/tmp/klammer-log-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    dup2(fd, STDERR_FILENO);

    int old = log_level;
    evaluated = 0;
    log_level = LOG_WARN;
    LOG(LOG_DEBUG, "n=%d", side_effect());
    LOG(LOG_INFO, "n=%d", side_effect());
    assert_int_equal(evaluated, 0);
    LOG(LOG_WARN, "n=%d", side_effect());
    LOG(LOG_ERROR, "msg=\"%s\"", "two");
    assert_int_equal(evaluated, 1);
    char huge[5000];
    memset(huge, 'h', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    LOG(LOG_ERROR, "big=%s", huge);
    log_level = old;

    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[8192];
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    close(fd);
    unlink(path);
    assert_true(n > 0);
    text[n] = '\0';
    char *l1 = text, *l2 = strchr(l1, '\n') + 1, *l3 = strchr(l2, '\n') + 1;
    assert_memory_equal(l1, "time=", 5);
    assert_non_null(strstr(l1, "Z level=warn n=1\n"));
    assert_true(strstr(l2, "Z level=error msg=\"two\"\n") != NULL);
    /* A long line is cut to the buffer, and still ends with its newline. */
    char *end = strchr(l3, '\n');
    assert_non_null(end);
    assert_int_equal(end + 1 - l3, 2047);
    assert_int_equal(end[1], '\0');
}

/*
 * BUG (unit-findings.md "arena: arena_strndup length overflow"): n + 1
 * wraps to 0 for n == SIZE_MAX, arena_alloc(0) succeeds and the copy runs
 * past the block.  Only reachable with a nonsensical length; run in a child.
 */
static void test_bug_strndup_overflow(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        Arena a;
        arena_init(&a, 0);
        char *p = arena_strndup(&a, "", SIZE_MAX);
        _exit(p == NULL ? 0 : 1);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena_alignment),
        cmocka_unit_test(test_arena_cap),
        cmocka_unit_test(test_arena_overflow),
        cmocka_unit_test(test_arena_big),
        cmocka_unit_test(test_arena_strings),
        cmocka_unit_test(test_arena_cap_steps),
        cmocka_unit_test(test_xalloc),
        cmocka_unit_test(test_buf),
        cmocka_unit_test(test_buf_boundaries),
        cmocka_unit_test(test_jw_strings),
        cmocka_unit_test(test_jw_int),
        cmocka_unit_test(test_jw_real),
        cmocka_unit_test(test_err_table),
        cmocka_unit_test(test_err_sticky),
        cmocka_unit_test(test_log_levels),
        cmocka_unit_test(test_log_write),
        cmocka_unit_test(test_bug_strndup_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
