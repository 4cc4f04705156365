/*
 * test_mqtt_wire.c - unit tests for the MQTT v5 packets of the ingest
 * subscriber (events/mqtt_wire.c): the bytes of CONNECT, SUBSCRIBE, PUBACK,
 * PINGREQ and DISCONNECT against MQTT 5.0 chapter 3, parsing every packet a
 * server sends, partial input, and malformed packets with their reasons.
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

#include "events/mqtt_wire.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void expect_bytes(const Buf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    for (size_t i = 0; i < n; i++)
        if ((uint8_t)b->data[i] != want[i])
            fail_msg("byte %zu: got 0x%02x, want 0x%02x", i, (uint8_t)b->data[i], want[i]);
}

/* ------------------------------------------------------------- building */

static void test_connect(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    mqw_connect(&b, "k1", "u", "pw", 30, true, 3600, 256, 1048576);
    static const uint8_t want[] = {
        0x10, 35,                               /* CONNECT, remaining length */
        0, 4, 'M', 'Q', 'T', 'T', 5,            /* protocol name, level 5 */
        0xc0,                                   /* user name + password, clean start 0 */
        0, 30,                                  /* keep alive */
        13,                                     /* properties */
        0x11, 0, 0, 0x0e, 0x10,                 /* session expiry 3600 */
        0x21, 0x01, 0x00,                       /* receive maximum 256 */
        0x27, 0x00, 0x10, 0x00, 0x00,           /* maximum packet size 1 MiB */
        0, 2, 'k', '1', 0, 1, 'u', 0, 2, 'p', 'w'};
    expect_bytes(&b, want, sizeof want);
    buf_clear(&b);
    mqw_connect(&b, "k", NULL, "", 0, false, 0, 0, 1000);
    assert_int_equal((uint8_t)b.data[9], 0x02); /* clean start, no credentials */
    assert_int_equal((uint8_t)b.data[18], 0x21);
    assert_int_equal((uint8_t)b.data[20], 1); /* receive maximum at least 1 */
    buf_fini(&b);
}

static void test_small_packets(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    const char *topics[] = {"application/+/device/+/event/up", "v3/+/devices/+/up"};
    mqw_subscribe(&b, 7, topics, 2, 1);
    assert_int_equal((uint8_t)b.data[0], 0x82);
    assert_int_equal((uint8_t)b.data[1], 2 + 1 + 2 + 31 + 1 + 2 + 17 + 1);
    assert_int_equal((uint8_t)b.data[3], 7);
    assert_int_equal((uint8_t)b.data[4], 0); /* no properties */
    assert_memory_equal(b.data + 7, topics[0], 31);
    assert_int_equal((uint8_t)b.data[38], 1); /* QoS 1 */
    buf_clear(&b);
    mqw_puback(&b, 0x1234);
    mqw_pingreq(&b);
    mqw_disconnect(&b);
    static const uint8_t want[] = {0x40, 2, 0x12, 0x34, 0xc0, 0, 0xe0, 0};
    expect_bytes(&b, want, sizeof want);
    buf_fini(&b);
}

/* The remaining length over 127 takes two bytes. */
static void test_long_varint(void **state)
{
    (void)state;
    Buf b;
    buf_init(&b);
    char id[200];
    memset(id, 'x', sizeof id - 1);
    id[sizeof id - 1] = '\0';
    mqw_connect(&b, id, NULL, NULL, 60, true, 0, 10, 1000);
    size_t rl = 10 + 1 + 13 + 2 + 199;
    assert_int_equal((uint8_t)b.data[1], (rl % 128) | 0x80);
    assert_int_equal((uint8_t)b.data[2], rl / 128);
    assert_int_equal(b.len, 3 + rl);
    buf_fini(&b);
}

/* -------------------------------------------------------------- parsing */

static MqwStatus parse(const uint8_t *p, size_t n, MqwPacket *pk, size_t *used, const char **why)
{
    return mqw_parse(p, n, 1 << 20, pk, used, why);
}

static void test_parse_server_packets(void **state)
{
    (void)state;
    MqwPacket pk;
    size_t used;
    const char *why;
    /* CONNACK, session present, success, 3 bytes of properties */
    static const uint8_t connack[] = {0x20, 6, 0x01, 0x00, 3, 0x21, 0x00, 0x14};
    assert_int_equal(parse(connack, sizeof connack, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.type, MQW_CONNACK);
    assert_true(pk.session_present);
    assert_int_equal(pk.reason, 0);
    assert_int_equal(used, sizeof connack);
    /* CONNACK refusing: bad user name or password */
    static const uint8_t refused[] = {0x20, 3, 0x00, 0x86, 0};
    assert_int_equal(parse(refused, sizeof refused, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.reason, 0x86);
    assert_string_equal(mqw_reason_name(pk.reason), "bad user name or password");
    /* PUBLISH QoS 1, DUP, topic "a/b", id 9, one property, payload "{}" */
    static const uint8_t pub[] = {0x3a, 12, 0, 3, 'a', '/', 'b', 0, 9, 2, 0x01, 0x01, '{', '}'};
    assert_int_equal(parse(pub, sizeof pub, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.type, MQW_PUBLISH);
    assert_int_equal(pk.qos, 1);
    assert_true(pk.dup);
    assert_false(pk.retain);
    assert_int_equal(pk.topic_len, 3);
    assert_memory_equal(pk.topic, "a/b", 3);
    assert_int_equal(pk.mid, 9);
    assert_int_equal(pk.payload_len, 2);
    assert_memory_equal(pk.payload, "{}", 2);
    /* PUBLISH QoS 0, retained, empty payload: no packet id */
    static const uint8_t pub0[] = {0x31, 4, 0, 1, 'x', 0};
    assert_int_equal(parse(pub0, sizeof pub0, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.qos, 0);
    assert_true(pk.retain);
    assert_int_equal(pk.mid, 0);
    assert_int_equal(pk.payload_len, 0);
    /* SUBACK granting QoS 1 and refusing the second filter */
    static const uint8_t suback[] = {0x90, 5, 0, 1, 0, 0x01, 0x87};
    assert_int_equal(parse(suback, sizeof suback, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.type, MQW_SUBACK);
    assert_int_equal(pk.mid, 1);
    assert_int_equal(pk.ncodes, 2);
    assert_int_equal(pk.codes[1], 0x87);
    /* PINGRESP; DISCONNECT without and with a reason; PUBACK short form */
    static const uint8_t ping[] = {0xd0, 0};
    assert_int_equal(parse(ping, 2, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.type, MQW_PINGRESP);
    static const uint8_t disc0[] = {0xe0, 0};
    assert_int_equal(parse(disc0, 2, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.reason, 0);
    static const uint8_t disc[] = {0xe0, 2, 0x8b, 0};
    assert_int_equal(parse(disc, sizeof disc, &pk, &used, &why), MQW_OK);
    assert_string_equal(mqw_reason_name(pk.reason), "server shutting down");
    static const uint8_t puback[] = {0x40, 2, 0, 5};
    assert_int_equal(parse(puback, sizeof puback, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.mid, 5);
}

/* Every proper prefix of a packet asks for more; two packets parse one by one. */
static void test_partial_and_stream(void **state)
{
    (void)state;
    static const uint8_t two[] = {0x32, 8, 0, 1, 't', 0, 3, 0, 'h', 'i', 0xd0, 0};
    MqwPacket pk;
    size_t used;
    const char *why;
    for (size_t n = 0; n < 10; n++)
        assert_int_equal(parse(two, n, &pk, &used, &why), MQW_MORE);
    assert_int_equal(parse(two, sizeof two, &pk, &used, &why), MQW_OK);
    assert_int_equal(used, 10);
    assert_int_equal(pk.mid, 3);
    assert_int_equal(parse(two + used, sizeof two - used, &pk, &used, &why), MQW_OK);
    assert_int_equal(pk.type, MQW_PINGRESP);
}

static void test_malformed(void **state)
{
    (void)state;
    static const struct {
        uint8_t bytes[16];
        size_t n;
        const char *why;
    } cases[] = {
        {{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, 6, "remaining length longer than four bytes"},
        {{0x36, 5, 0, 1, 't', 0, 1}, 7, "PUBLISH with QoS 3"},
        {{0x38, 3, 0, 1, 't'}, 5, "PUBLISH with DUP set at QoS 0"},
        {{0x30, 3, 0, 9, 't'}, 5, "PUBLISH topic longer than the packet"},
        {{0x30, 3, 0, 0, 0}, 5, "PUBLISH without a topic (topic aliases are not accepted)"},
        {{0x30, 4, 0, 1, 0xc3, 0}, 6, "PUBLISH topic is not well-formed UTF-8"},
        {{0x30, 4, 0, 1, 0, 0}, 6, "PUBLISH topic is not well-formed UTF-8"},
        {{0x30, 4, 0, 1, '+', 0}, 6, "PUBLISH topic contains a wildcard"},
        {{0x32, 3, 0, 1, 't'}, 5, "PUBLISH without a packet identifier"},
        {{0x32, 6, 0, 1, 't', 0, 0, 0}, 8, "PUBLISH with packet identifier 0"},
        {{0x32, 6, 0, 1, 't', 0, 1, 9}, 8, "PUBLISH properties longer than the packet"},
        {{0x21, 3, 0, 0, 0}, 5, "reserved flags of the fixed header are set"},
        {{0x20, 1, 0}, 3, "CONNACK shorter than two bytes"},
        {{0x20, 3, 2, 0, 0}, 5, "CONNACK with reserved acknowledge flags set"},
        {{0x90, 3, 0, 1, 0}, 5, "SUBACK without reason codes"},
        {{0xd0, 1, 0}, 3, "bytes after the end of the packet"},
        {{0x10, 0}, 2, "a packet type a server does not send to a client"},
        {{0x80, 0}, 2, "a packet type a server does not send to a client"},
        {{0x82, 0}, 2, "reserved flags of the fixed header are set"},
        {{0xf0, 0}, 2, "a packet type a server does not send to a client"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        MqwPacket pk;
        size_t used;
        const char *why = NULL;
        MqwStatus st = parse(cases[i].bytes, cases[i].n, &pk, &used, &why);
        if (st != MQW_MALFORMED || strcmp(why, cases[i].why) != 0)
            fail_msg("case %zu: status %d, reason \"%s\", want \"%s\"", i, st, why ? why : "",
                     cases[i].why);
    }
    /* Too large is known from the header alone: no need to buffer the rest. */
    static const uint8_t big[] = {0x30, 0x80, 0x80, 0x40};
    MqwPacket pk;
    size_t used;
    const char *why;
    assert_int_equal(mqw_parse(big, sizeof big, 1000, &pk, &used, &why), MQW_MALFORMED);
    assert_string_equal(why, "packet too large");
}

/* A valid multi-byte UTF-8 topic passes; surrogates and overlong forms do not. */
static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *topic;
        int ok;
    } cases[] = {
        {"stadt/hagen/pegel/\xc3\xa4", 1},  /* ä */
        {"\xe2\x82\xac", 1},                /* € */
        {"\xf0\x9f\x8c\x8a", 1},            /* a four-byte character */
        {"\xc0\xaf", 0},                    /* overlong / */
        {"\xed\xa0\x80", 0},                /* surrogate */
        {"\xe0\x80\xaf", 0},                /* overlong */
        {"\xf4\x90\x80\x80", 0},            /* above U+10FFFF */
        {"\xe2\x82", 0},                    /* cut short */
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        uint8_t p[64];
        size_t tl = strlen(cases[i].topic);
        p[0] = 0x30;
        p[1] = (uint8_t)(2 + tl + 1);
        p[2] = 0;
        p[3] = (uint8_t)tl;
        memcpy(p + 4, cases[i].topic, tl);
        p[4 + tl] = 0;
        MqwPacket pk;
        size_t used;
        const char *why;
        MqwStatus st = parse(p, 5 + tl, &pk, &used, &why);
        if ((st == MQW_OK) != cases[i].ok)
            fail_msg("case %zu: status %d (%s)", i, st, why);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_connect),
        cmocka_unit_test(test_small_packets),
        cmocka_unit_test(test_long_varint),
        cmocka_unit_test(test_parse_server_packets),
        cmocka_unit_test(test_partial_and_stream),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
