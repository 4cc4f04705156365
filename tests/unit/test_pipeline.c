/*
 * test_pipeline.c - unit tests for the pure parts of LoRaWAN ingest around
 * the device registry and the pipeline: DevEUI normalisation, the decoder
 * field table (checked against what the decoders really yield for every
 * sensors.md example), registration parsing with its precise errors, the
 * duplicate window, decoding through a device (built-in, spec, network
 * server object), range checks of mapped values, and the CreateObservations
 * body.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ingest/ingest.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static size_t unhex(const char *hex, uint8_t *out)
{
    size_t n = 0;
    int hi = -1;
    for (const char *s = hex; *s; s++) {
        if (*s == ' ')
            continue;
        int v = *s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10;
        if (hi < 0) {
            hi = v;
        } else {
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    return n;
}

/* ------------------------------------------------------------- DevEUI */

static void test_eui(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
        long code;
    } cases[] = {
        {"70b3d57ba0001267", "70B3D57BA0001267", 0},
        {"70-B3-D5-7B-A0-00-12-67", "70B3D57BA0001267", 0},
        {"70:b3:d5:7b:a0:00:12:67", "70B3D57BA0001267", 0},
        {"70B3D57BA00012", NULL, ERR_INVALID},
        {"70B3D57BA000126700", NULL, ERR_INVALID},
        {"70B3D57BA00012G7", NULL, ERR_INVALID},
        {"", NULL, ERR_INVALID},
        {"-70B3D57BA0001267", NULL, ERR_INVALID},
        {"70B3D57BA0001267-", NULL, ERR_INVALID},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char out[17] = "unchanged";
        Err err;
        err_init(&err);
        int rc = ingest_eui_parse(cases[i].in, out, &err);
        assert_int_equal(rc, cases[i].code);
        if (cases[i].out)
            assert_string_equal(out, cases[i].out);
        else {
            assert_string_equal(out, "unchanged");
            assert_string_equal(err.field, "devEui");
        }
    }
}

/* ------------------------------------------------ decoder field table */

static void test_field_table_matches_decoders(void **state)
{
    (void)state;
    static const struct {
        const char *decoder;
        int port;
        const char *hex;
    } ex[] = {
        {"decentlab-dl-mbx", 1, "02 1267 0003 04D2 000A 0BC4"},
        {"decentlab-dl-pr26", 1, "02 1267 0003 4AAC 4FA0 0C7F"},
        {"decentlab-dl-tbrg", 1, "02 0A3C 0003 0012 0258 2EE0 0000 0BB8"},
        {"milesight-em310-udl", 85, "01755A 03825E01 040000"},
        {"milesight-em500-swl", 85, "017564 03774E00"},
        {"milesight-em500-co2", 85, "01755F 03677C00 0468A0 057DA401 0673BA27"},
        {"milesight-em300-di", 85, "01755F 0367E100 046890 05C8A0860100"},
        {"milesight-vs133", 85, "05CC 0C00 0900 03D2 E8030000"},
        {"milesight-gs524n", 85, "22115A05125C"},
        {"dragino-ldds75", 2, "0CE4 0546 00 00E1 01"},
        {"dragino-lse01", 2, "0CE4 00C8 0A8C 0618 00E6 00"},
        {"elsys", 5, "01 00D7 02 2D 04 0064 05 02 06 036B 07 0E10"},
        {"elsys", 5, "14 000F84D0"},
        {"bosch-tps110", 2, "00 F6"},
        {"bosch-tps110", 1, "01"},
        {"parametric-pcr2", 14, "BE0104 002A 0025 0C35 0BB8 0000 0000 00C3"},
    };
    for (size_t i = 0; i < COUNT(ex); i++) {
        uint8_t p[64];
        size_t n = unhex(ex[i].hex, p), cnt = 0;
        DecodedValue v[INGEST_VALUES_MAX];
        Err err;
        err_init(&err);
        int rc = ingest_decode(ex[i].decoder, ex[i].port, p, n, v, INGEST_VALUES_MAX, &cnt, &err);
        if (rc)
            fail_msg("%s: %s", ex[i].decoder, err.msg);
        for (size_t k = 0; k < cnt; k++) {
            const char *unit = NULL;
            bool is_bool = false;
            if (!ingest_decoder_field(ex[i].decoder, v[k].field, &unit, &is_bool))
                fail_msg("%s: field %s missing from the table", ex[i].decoder, v[k].field);
            assert_string_equal(unit, v[k].unit);
            assert_int_equal(is_bool, v[k].is_bool != 0);
        }
    }
    const char *unit;
    bool b;
    assert_false(ingest_decoder_field("elsys", "nonsense", &unit, &b));
    assert_false(ingest_decoder_field("no-such-decoder", "battery", &unit, &b));
    /* every built-in decoder has a row */
    for (const char *const *n = ingest_decoder_names(); *n; n++)
        assert_true(ingest_decoder_field(*n, "battery", &unit, &b) ||
                    ingest_decoder_field(*n, "occupied", &unit, &b) ||
                    ingest_decoder_field(*n, "line_1_total_in", &unit, &b));
}

/* ------------------------------------------------------- registration */

static int parse(const char *json, const char *path_eui, IngestDevice *d, Err *err, Arena *a)
{
    json_error_t je;
    json_t *j = json_loads(json, 0, &je);
    assert_non_null(j);
    err_init(err);
    int rc = ingest_device_parse(a, j, path_eui, d, err);
    json_decref(j);
    return rc;
}

static void test_device_parse_errors(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int code;
        const char *field;
        const char *msg; /* substring */
    } cases[] = {
        {"[]", ERR_INVALID, "", "JSON object"},
        {"{\"decoder\":\"elsys\",\"mapping\":{\"co2\":{\"datastream\":1}}}", ERR_MISSING, "devEui",
         "missing"},
        {"{\"devEui\":\"0102\",\"decoder\":\"elsys\",\"mapping\":{\"co2\":{\"datastream\":1}}}",
         ERR_INVALID, "devEui", "4 hex digits"},
        {"{\"devEui\":\"0102030405060708\",\"mapping\":{\"co2\":{\"datastream\":1}}}", ERR_MISSING,
         "decoder", "decoder is missing"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"acme\",\"mapping\":{}}", ERR_INVALID,
         "decoder", "unknown decoder 'acme'"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"spec\",\"mapping\":{}}", ERR_MISSING,
         "decoderSpec", "needs decoderSpec"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"spec\",\"decoderSpec\":\"name=x;a:u12be@0\","
         "\"mapping\":{\"a\":{\"datastream\":1}}}",
         ERR_INVALID, "decoderSpec", "column"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"none\",\"mapping\":{}}", ERR_INVALID,
         "decoder", "useNsDecoded"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\"}", ERR_MISSING, "mapping", ""},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"mapping\":{}}", ERR_INVALID,
         "mapping", "non-empty"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"mapping\":{\"co2\":5}}",
         ERR_INVALID, "mapping.co2", "object"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"mapping\":{\"co2\":{}}}",
         ERR_MISSING, "mapping.co2.datastream", "Datastream"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"mapping\":{\"co2\":{\"datastream\":0}}}",
         ERR_INVALID, "mapping.co2.datastream", "Datastream"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"mapping\":{\"fill\":{\"datastream\":1}}}",
         ERR_INVALID, "mapping.fill", "has no field 'fill'"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"mapping\":{\"co2\":{\"datastream\":1,"
         "\"unit\":\"%\"}}}",
         ERR_INVALID, "mapping.co2.unit", "[ppm]"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"color\":1,\"mapping\":{}}",
         ERR_UNKNOWN_PROPERTY, "color", "unknown member"},
        {"{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\",\"thingId\":-1,\"mapping\":{}}",
         ERR_INVALID, "thingId", "positive"},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        Arena a;
        arena_init(&a, 1 << 20);
        IngestDevice d;
        Err err;
        int rc = parse(cases[i].json, NULL, &d, &err, &a);
        if (rc != cases[i].code || strcmp(err.field, cases[i].field) != 0 ||
            !strstr(err.msg, cases[i].msg))
            fail_msg("case %zu: rc %d field '%s' msg '%s'", i, rc, err.field, err.msg);
        arena_fini(&a);
    }
}

static void test_device_parse_ok(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 1 << 20);
    IngestDevice d;
    Err err;
    assert_int_equal(parse("{\"decoder\":\"spec\",\"decoderSpec\":\"name=lvl; port=2\\n"
                           "level:u16be@0*0.001 m\\nok:u8@2 bool\","
                           "\"mapping\":{\"level\":{\"datastream\":4},\"ok\":{\"datastream\":5}}}",
                           "70-b3-d5-7b-a0-00-12-67", &d, &err, &a),
                     0);
    assert_string_equal(d.dev_eui, "70B3D57BA0001267");
    assert_int_equal(d.nmap, 2);
    assert_string_equal(d.map[0].unit, "m");
    assert_string_equal(d.map[1].unit, "1");
    assert_int_equal(d.map[0].datastream, 4);
    /* the URL and the body must agree */
    assert_int_equal(parse("{\"devEui\":\"0102030405060708\",\"decoder\":\"elsys\","
                           "\"mapping\":{\"co2\":{\"datastream\":1}}}",
                           "0102030405060709", &d, &err, &a),
                     ERR_INVALID);
    /* NS-decoded fields need not exist in a decoder */
    assert_int_equal(parse("{\"devEui\":\"0102030405060708\",\"decoder\":\"none\",\"useNsDecoded\":true,"
                           "\"mapping\":{\"fill_level\":{\"datastream\":1,\"unit\":\"%\"}}}",
                           NULL, &d, &err, &a),
                     0);
    assert_string_equal(d.map[0].unit, "%");
    arena_fini(&a);
}

/* ------------------------------------------------------ pipeline steps */

static void test_duplicate_window(void **state)
{
    (void)state;
    int64_t h = 3600LL * 1000000;
    assert_true(ingest_is_duplicate(1000, 1000));
    assert_true(ingest_is_duplicate(1000, 1000 + 23 * h));
    assert_true(ingest_is_duplicate(1000 + 5 * h, 1000)); /* webhook copy a moment earlier */
    assert_false(ingest_is_duplicate(1000, 1000 + 24 * h));
    assert_false(ingest_is_duplicate(1000, 1000 + 30 * 24 * h));
}

static void device(IngestDevice *d, Arena *a, const char *json)
{
    Err err;
    if (parse(json, NULL, d, &err, a))
        fail_msg("%s", err.msg);
}

static Uplink uplink(const uint8_t *p, size_t n, int port)
{
    Uplink u;
    memset(&u, 0, sizeof u);
    u.source = "chirpstack";
    memcpy(u.dev_eui, "24E124713B421234", 17);
    u.f_port = port;
    u.f_cnt = 1832;
    u.payload = p;
    u.payload_len = n;
    u.received = 1748927564905812LL; /* 2025-06-03T05:12:44.905812Z */
    u.gateway_count = 2;
    u.gateway_id = "24e124fffef4a9c1";
    u.rssi = -98;
    u.snr = 7.25;
    u.spreading_factor = 7;
    u.frequency = 868500000;
    return u;
}

static void test_decode_build(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 1 << 20);
    IngestDevice d;
    device(&d, &a,
           "{\"devEui\":\"24E124713B421234\",\"decoder\":\"milesight-em310-udl\",\"mapping\":"
           "{\"distance\":{\"datastream\":3},\"tilt\":{\"datastream\":4,\"truth\":true}}}");
    uint8_t p[16];
    size_t n = unhex("01755A 03825E01 040000", p), cnt;
    Uplink u = uplink(p, n, 85);
    DecodedValue v[INGEST_VALUES_MAX];
    Err err;
    err_init(&err);
    assert_int_equal(ingest_device_decode(&d, &u, v, INGEST_VALUES_MAX, &cnt, &err), 0);
    assert_int_equal(cnt, 3);
    assert_int_equal(ingest_check_mapped(&d, v, cnt, &err), 0);
    Buf b;
    buf_init(&b);
    size_t groups;
    ingest_build_request(&d, &u, v, cnt, &b, &groups);
    assert_int_equal(groups, 2);
    json_t *j = json_loads(b.data, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(j), 2);
    json_t *g0 = json_array_get(j, 0), *g1 = json_array_get(j, 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(g0, "Datastream"), "@iot.id")), 3);
    json_t *row = json_array_get(json_object_get(g0, "dataArray"), 0);
    assert_string_equal(json_string_value(json_array_get(row, 0)), "2025-06-03T05:12:44.905812Z");
    assert_true(json_number_value(json_array_get(row, 1)) == 350.0);
    json_t *par = json_array_get(row, 2);
    assert_string_equal(json_string_value(json_object_get(par, "devEui")), "24E124713B421234");
    assert_int_equal(json_integer_value(json_object_get(par, "fCnt")), 1832);
    assert_int_equal(json_integer_value(json_object_get(par, "fPort")), 85);
    assert_true(json_number_value(json_object_get(par, "rssi")) == -98.0);
    assert_true(json_number_value(json_object_get(par, "snr")) == 7.25);
    assert_string_equal(json_string_value(json_object_get(par, "gateway")), "24e124fffef4a9c1");
    assert_int_equal(json_integer_value(json_object_get(par, "gateways")), 2);
    assert_int_equal(json_integer_value(json_object_get(par, "spreadingFactor")), 7);
    assert_int_equal(json_integer_value(json_object_get(par, "frequency")), 868500000);
    /* a truth Datastream gets a boolean */
    assert_true(json_is_false(json_array_get(json_array_get(json_object_get(g1, "dataArray"), 0), 1)));
    json_decref(j);
    buf_fini(&b);

    /* nothing mapped: no request */
    IngestDevice d2;
    device(&d2, &a,
           "{\"devEui\":\"24E124713B421234\",\"decoder\":\"milesight-em310-udl\",\"mapping\":"
           "{\"battery\":{\"datastream\":3}}}");
    buf_init(&b);
    ingest_build_request(&d2, &u, v + 1, 1, &b, &groups); /* only distance */
    assert_int_equal(groups, 0);
    assert_int_equal(b.len, 0);
    buf_fini(&b);

    /* undecodable */
    Uplink bad = uplink(p, 2, 85);
    err_init(&err);
    assert_int_equal(ingest_device_decode(&d, &bad, v, INGEST_VALUES_MAX, &cnt, &err), ERR_INVALID);
    assert_true(err.msg[0] != '\0');
    arena_fini(&a);
}

static void test_range_and_ns_object(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 1 << 20);
    IngestDevice d;
    device(&d, &a,
           "{\"devEui\":\"A81758FFFE031234\",\"decoder\":\"elsys\",\"mapping\":"
           "{\"temperature\":{\"datastream\":1}}}");
    uint8_t p[16];
    size_t n = unhex("01 03E7 06 036B", p), cnt;
    Uplink u = uplink(p, n, 5);
    DecodedValue v[INGEST_VALUES_MAX];
    Err err;
    err_init(&err);
    assert_int_equal(ingest_device_decode(&d, &u, v, INGEST_VALUES_MAX, &cnt, &err), 0);
    assert_int_equal(ingest_check_mapped(&d, v, cnt, &err), ERR_INVALID);
    assert_string_equal(err.field, "temperature");
    assert_non_null(strstr(err.msg, "temperature = 99.9"));
    /* an implausible value of an unmapped field does not matter */
    IngestDevice d2;
    device(&d2, &a,
           "{\"devEui\":\"A81758FFFE031234\",\"decoder\":\"elsys\",\"mapping\":"
           "{\"co2\":{\"datastream\":1}}}");
    err_init(&err);
    assert_int_equal(ingest_check_mapped(&d2, v, cnt, &err), 0);

    /* the network server's object: numbers, booleans, {"value": ...} */
    IngestDevice d3;
    device(&d3, &a,
           "{\"devEui\":\"70B3D57BA0001267\",\"decoder\":\"decentlab-dl-mbx\",\"useNsDecoded\":true,"
           "\"mapping\":{\"distance\":{\"datastream\":1},\"battery_voltage\":{\"datastream\":2,"
           "\"unit\":\"V\"},\"open\":{\"datastream\":3}}}");
    json_t *obj = json_loads("{\"distance\":{\"value\":1234,\"unit\":\"mm\"},"
                             "\"battery_voltage\":{\"value\":3.012},\"open\":true,\"x\":\"y\"}",
                             0, NULL);
    u.decoded = obj;
    err_init(&err);
    assert_int_equal(ingest_device_decode(&d3, &u, v, INGEST_VALUES_MAX, &cnt, &err), 0);
    assert_int_equal(cnt, 3);
    assert_string_equal(v[0].field, "distance");
    assert_true(v[0].value == 1234);
    assert_string_equal(v[0].unit, "mm");
    assert_true(v[1].value == 3.012);
    assert_true(v[2].is_bool && v[2].value == 1);
    /* a string where a number is mapped is an error */
    json_decref(obj);
    obj = json_loads("{\"distance\":\"far\"}", 0, NULL);
    u.decoded = obj;
    err_init(&err);
    assert_int_equal(ingest_device_decode(&d3, &u, v, INGEST_VALUES_MAX, &cnt, &err), ERR_INVALID);
    json_decref(obj);
    arena_fini(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_eui),
        cmocka_unit_test(test_field_table_matches_decoders),
        cmocka_unit_test(test_device_parse_errors),
        cmocka_unit_test(test_device_parse_ok),
        cmocka_unit_test(test_duplicate_window),
        cmocka_unit_test(test_decode_build),
        cmocka_unit_test(test_range_and_ns_object),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
