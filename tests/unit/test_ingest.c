/*
 * test_ingest.c - unit tests for the LoRaWAN ingest layers: every worked hex
 * example of the vendors' payload layouts through its decoder, malformed payloads,
 * prefixes of every example (no read beyond the payload), the ChirpStack and
 * TTS examples of lorawan.md and table-driven mutations of them, base64,
 * MQTT topics, the decoder-spec parser and decoder, and the range checks.
 *
 * Payloads are copied into heap blocks of exactly their length, so that ASan
 * reports any read past n.
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

/* ------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------- */

/* Hex (blanks ignored) -> heap block of exactly the decoded length; free() it. */
static uint8_t *unhex(const char *hex, size_t *n)
{
    size_t len = 0;
    uint8_t *p = malloc(strlen(hex) / 2 + 1);
    assert_non_null(p);
    int hi = -1;
    for (const char *s = hex; *s; s++) {
        if (*s == ' ')
            continue;
        int v = *s <= '9' ? *s - '0' : (*s | 0x20) - 'a' + 10;
        assert_true(v >= 0 && v < 16);
        if (hi < 0) {
            hi = v;
        } else {
            p[len++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_int_equal(hi, -1);
    uint8_t *exact = malloc(len ? len : 1);
    assert_non_null(exact);
    memcpy(exact, p, len);
    free(p);
    *n = len;
    return exact;
}

/*
 * Compares values with an expectation "field=value unit; ..." where value may
 * start with '~' to mean "rounded as printed" (tolerance half a unit of the
 * last printed digit) and "bool" as unit means is_bool with unit "1".
 * Returns 0 when they match, else prints the difference and returns 1.
 */
static int match(const char *label, const DecodedValue *v, size_t n, const char *want)
{
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", want);
    size_t k = 0;
    char *save = NULL;
    for (char *it = strtok_r(buf, ";", &save); it; it = strtok_r(NULL, ";", &save), k++) {
        while (*it == ' ')
            it++;
        char field[64], value[32], unit[32];
        if (sscanf(it, "%63[^=]=%31s %31s", field, value, unit) != 3) {
            print_error("%s: bad expectation '%s'\n", label, it);
            return 1;
        }
        if (k >= n) {
            print_error("%s: missing value %zu (%s); got %zu values\n", label, k, field, n);
            return 1;
        }
        int rounded = value[0] == '~';
        double x = strtod(value + rounded, NULL);
        double tol = 1e-9 * (fabs(x) > 1 ? fabs(x) : 1);
        if (rounded) {
            const char *dot = strchr(value, '.');
            int decimals = dot ? (int)strlen(dot + 1) : 0;
            tol = 0.5 * pow(10, -decimals);
        }
        int is_bool = strcmp(unit, "bool") == 0;
        const char *u = is_bool ? "1" : unit;
        if (strcmp(v[k].field, field) != 0 || fabs(v[k].value - x) > tol ||
            strcmp(v[k].unit, u) != 0 || v[k].is_bool != is_bool) {
            print_error("%s: value %zu is %s=%.9g %s%s, want %s=%s %s\n", label, k, v[k].field,
                        v[k].value, v[k].unit, v[k].is_bool ? " (bool)" : "", field, value, unit);
            return 1;
        }
    }
    if (k != n) {
        print_error("%s: %zu values, want %zu (extra: %s)\n", label, n, k, v[k].field);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------
 * Built-in decoders: good payloads
 * ---------------------------------------------------------------------- */

typedef struct DecGood {
    const char *decoder; /* built-in decoder */
    int port;            /* fPort */
    const char *hex;     /* payload */
    const char *want;    /* expectation, see match() */
} DecGood;

static const DecGood dec_good[] = {
    /* Every example of sensors.md. */
    {"decentlab-dl-mbx", 1, "02 1267 0003 04D2 000A 0BC4",
     "distance=1234 mm; valid_samples=10 {count}; battery=3.012 V"},
    {"decentlab-dl-pr26", 1, "02 1267 0003 4AAC 4FA0 0C7F",
     "water_column=~0.850 m; temperature=12.5 Cel; battery=3.199 V"},
    {"decentlab-dl-tbrg", 1, "02 0A3C 0003 0012 0258 2EE0 0000 0BB8",
     "precipitation=1.8 mm; interval=600 s; cumulative_precipitation=1200.0 mm; battery=3.000 V"},
    {"milesight-em500-swl", 85, "017564 03774E00", "battery=100 %; depth=78 cm"},
    {"milesight-em310-udl", 85, "01755A 03825E01 040000",
     "battery=90 %; distance=350 mm; tilt=0 bool"},
    {"dragino-ldds75", 2, "0CE4 0546 00 00E1 01",
     "battery=3.300 V; distance=1350 mm; interrupt=0 bool; temperature=22.5 Cel"},
    {"bosch-tps110", 2, "00 F6", "occupied=0 bool; temperature=-10 Cel"},
    {"bosch-tps110", 1, "01", "occupied=1 bool"},
    {"parametric-pcr2", 14, "BE0104 002A 0025 0C35 0BB8 0000 0000 00C3",
     "left_to_right=42 {count}; right_to_left=37 {count}; left_to_right_total=3125 {count}; "
     "right_to_left_total=3000 {count}; cpu_temperature=19.5 Cel"},
    {"milesight-vs133", 85, "05CC 0C00 0900 03D2 E8030000",
     "line_1_period_in=12 {count}; line_1_period_out=9 {count}; line_1_total_in=1000 {count}"},
    {"elsys", 5, "01 00D7 02 2D 04 0064 05 02 06 036B 07 0E10",
     "temperature=21.5 Cel; humidity=45 %; illuminance=100 lx; motion=2 {count}; "
     "co2=875 [ppm]; battery=3.600 V"},
    {"milesight-em500-co2", 85, "01755F 03677C00 0468A0 057DA401 0673BA27",
     "battery=95 %; temperature=12.4 Cel; humidity=80.0 %; co2=420 [ppm]; pressure=1017.0 hPa"},
    {"elsys", 1, "14 000F84D0", "pressure=1017.04 hPa"},
    {"dragino-lse01", 2, "0CE4 00C8 0A8C 0618 00E6 00",
     "battery=3.3 V; temperature=20.0 Cel; soil_moisture=27.00 %; soil_temperature=15.60 Cel; "
     "soil_conductivity=230 uS/cm; interrupt=0 bool"},
    {"milesight-gs524n", 85, "22115A05125C",
     "smoke_alarm=1 bool; event=1 1; battery=90 %; smoke_concentration=5 %; temperature=18 Cel"},
    {"milesight-em300-di", 85, "01755F 0367E100 046890 05C8A0860100",
     "battery=95 %; temperature=22.5 Cel; humidity=72.0 %; pulse_total=100000 {count}"},

    /* Variants. */
    {"decentlab-dl-mbx", 1, "02 1267 0002 0BC4", "battery=3.012 V"},
    {"decentlab-dl-mbx", 1, "02 1267 0001 04D2 000A", "distance=1234 mm; valid_samples=10 {count}"},
    {"decentlab-dl-pr26", 1, "02 0001 0003 4000 3380 0C00",
     "water_column=0 m; temperature=-10 Cel; battery=3.072 V"},
    {"decentlab-dl-tbrg", 1, "02 0A3C 0001 0000 0258 0001 0001",
     "precipitation=0 mm; interval=600 s; cumulative_precipitation=6553.7 mm"},
    {"dragino-ldds75", 2, "CCE4 0546 01", "battery=3.300 V; distance=1350 mm; interrupt=1 bool"},
    {"dragino-ldds75", 2, "0CE4 0014 00 FF9C 01",
     "battery=3.300 V; distance=20 mm; interrupt=0 bool; temperature=-10.0 Cel"},
    {"dragino-lse01", 2, "0CE4 FF9C 0A8C FE0C 00E6 1F",
     "battery=3.3 V; temperature=-10.0 Cel; soil_moisture=27.00 %; soil_temperature=-5.00 Cel; "
     "soil_conductivity=230 uS/cm; interrupt=1 bool"},
    {"dragino-lse01", 2, "0CE4 00C8 0190 0064 0032 80",
     "battery=3.3 V; temperature=20.0 Cel; soil_dielectric_constant=40.0 1; "
     "soil_moisture_raw=100 1; soil_conductivity_raw=50 1; interrupt=0 bool"},
    /* device information first, as after a join */
    {"milesight-em310-udl", 85, "FF0BFF FF0101 FF166136C4171234ABCD FF090140 FF0A0114 FF0F00 "
                                "01755A 03825E01 040001",
     "battery=90 %; distance=350 mm; tilt=1 bool"},
    {"milesight-em500-swl", 85, "FF0101 FFFF0100", ""},
    {"milesight-em500-co2", 85, "0367F6FF", "temperature=-1.0 Cel"},
    {"milesight-em300-di", 85, "050001", "gpio=1 bool"},
    {"milesight-vs133", 85, "06D2 01000000 07D2 02000000 08CC 0300 0400 0CD2 00000000 "
                            "0FE3 01020304 10E4 02 1E00 3C00",
     "line_2_total_in=1 {count}; line_2_total_out=2 {count}; line_2_period_in=3 {count}; "
     "line_2_period_out=4 {count}; line_4_total_in=0 {count}; region_1_count=1 {count}; "
     "region_2_count=2 {count}; region_3_count=3 {count}; region_4_count=4 {count}; "
     "region_2_avg_dwell=30 s; region_2_max_dwell=60 s"},
    {"milesight-gs524n", 3, "22176400EC77",
     "smoke_alarm=0 bool; event=7 1; battery=100 %; smoke_concentration=0 %; temperature=-20 Cel"},
    {"milesight-gs524n", 1, "221E640A0052",
     "smoke_alarm=0 bool; event=14 1; battery=100 %; smoke_concentration=10 %; temperature=0 Cel"},
    {"elsys", 2, "01 FF9C 0D 01 03 3F C1 00 0E 0FA0 0B 00010000",
     "temperature=-10.0 Cel; digital=1 bool; acceleration_x=1 [g]; acceleration_y=-1 [g]; "
     "acceleration_z=0 [g]; distance=4000 mm; pulse_total=65536 {count}"},
    {"elsys", 7, "0C 00FA 10 00C8 FF38 15 3C 28 1C 00C8",
     "external_temperature=25.0 Cel; ir_internal_temperature=20.0 Cel; "
     "ir_external_temperature=-20.0 Cel; sound_peak=60 dB; sound_average=40 dB; tvoc=200 [ppb]"},
    {"bosch-tps110", 3, "00000000 00000000 00000000 010203 02 01", "occupied=1 bool"},
    {"bosch-tps110", 2, "03", "occupied=1 bool"},
    {"parametric-pcr2", 14, "BE0104 0001 0002 0003 0004 0F3C 01F4 FF9C",
     "left_to_right=1 {count}; right_to_left=2 {count}; left_to_right_total=3 {count}; "
     "right_to_left_total=4 {count}; battery=3.900 V; solar_power=0.5 W; "
     "cpu_temperature=-10.0 Cel"},
    {"parametric-pcr2", 14, "0A 002A 16 0025 01 00C3",
     "left_to_right=42 {count}; right_to_left=37 {count}; cpu_temperature=19.5 Cel"},
};

/* Runs one good case; returns the number of failures (0 or 1). */
static int run_good(const DecGood *t)
{
    size_t n, count = 999;
    uint8_t *p = unhex(t->hex, &n);
    DecodedValue out[INGEST_VALUES_MAX];
    Err err;
    err_init(&err);
    int rc = ingest_decode(t->decoder, t->port, p, n, out, COUNT(out), &count, &err);
    free(p);
    char label[160];
    snprintf(label, sizeof label, "%s port %d '%s'", t->decoder, t->port, t->hex);
    if (rc != 0 || err.code != 0) {
        print_error("%s: rc %d (%s) msg '%s'\n", label, rc, err_name(rc), err.msg);
        return 1;
    }
    if (t->want[0] == '\0') {
        if (count != 0)
            print_error("%s: %zu values, want none\n", label, count);
        return count != 0;
    }
    return match(label, out, count, t->want);
}

static void test_decoders_good(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(dec_good); i++)
        failures += run_good(&dec_good[i]);
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------------------
 * Built-in decoders: malformed payloads
 * ---------------------------------------------------------------------- */

typedef struct DecBad {
    const char *decoder; /* built-in decoder */
    int port;            /* fPort */
    const char *hex;     /* payload */
    int code;            /* expected ERR_* */
    const char *msg;     /* fragment of the expected message */
} DecBad;

static const DecBad dec_bad[] = {
    {"no-such-device", 1, "00", ERR_NOT_FOUND, "unknown decoder 'no-such-device'"},
    {"elsys", 1, "", ERR_INVALID, "empty payload"},
    {"elsys", 0, "0100D7", ERR_INVALID, "fPort 0 carries no application payload"},
    {"elsys", 256, "0100D7", ERR_INVALID, "fPort 256"},
    /* Decentlab */
    {"decentlab-dl-mbx", 2, "02 1267 0003 04D2 000A 0BC4", ERR_INVALID, "fPort 2, expected 1"},
    {"decentlab-dl-mbx", 1, "02 1267", ERR_INVALID, "byte 0: header needs 5 bytes, payload has 3"},
    {"decentlab-dl-mbx", 1, "03 1267 0003 04D2 000A 0BC4", ERR_INVALID, "protocol version 3"},
    {"decentlab-dl-mbx", 1, "02 1267 0007 04D2 000A 0BC4", ERR_INVALID, "flags 0x0007"},
    {"decentlab-dl-mbx", 1, "02 1267 0003 04D2 000A 0B", ERR_INVALID,
     "payload has 10 bytes, flags 0x0003 need 11"},
    {"decentlab-dl-mbx", 1, "02 1267 0003 04D2 000A 0BC4 00", ERR_INVALID, "need 11"},
    {"decentlab-dl-pr26", 1, "02 1267 0003 4AAC 4FA0", ERR_INVALID, "need 11"},
    {"decentlab-dl-tbrg", 1, "02 0A3C 0003 0012 0258 2EE0 0000", ERR_INVALID, "need 15"},
    {"decentlab-dl-tbrg", 1, "02 0A3C 0000", ERR_INVALID, "flags 0x0000 name no sensor group"},
    /* Milesight TLV */
    {"milesight-em310-udl", 1, "01755A", ERR_INVALID, "fPort 1, expected 85"},
    {"milesight-em310-udl", 85, "01755A 0382", ERR_INVALID, "byte 5: channel data needs 2 bytes"},
    {"milesight-em310-udl", 85, "01755A 03", ERR_INVALID, "byte 3: channel header needs 2 bytes"},
    {"milesight-em310-udl", 85, "01755A 0567 0000", ERR_INVALID,
     "byte 3: unknown channel 0x05 0x67"},
    {"milesight-em310-udl", 85, "01755A 01755A", ERR_INVALID, "battery appears twice"},
    {"milesight-em310-udl", 85, "040002", ERR_INVALID, "tilt value 2, expected 0 or 1"},
    {"milesight-em310-udl", 85, "FE02 0A00", ERR_INVALID, "unknown channel 0xfe 0x02"},
    {"milesight-em500-swl", 85, "017564 0377FFFF", ERR_INVALID, "collection failed"},
    {"milesight-em500-swl", 85, "0377FDFF", ERR_INVALID, "out of range"},
    {"milesight-em500-swl", 85, "FF16 0102", ERR_INVALID, "channel data needs 8 bytes"},
    {"milesight-em500-co2", 85, "057DA4", ERR_INVALID, "byte 2: channel data needs 2 bytes"},
    {"milesight-em500-co2", 85, "20CE 00000000", ERR_INVALID, "unknown channel 0x20 0xce"},
    {"milesight-em300-di", 85, "05C8A08601", ERR_INVALID, "needs 4 bytes, payload has 5"},
    {"milesight-vs133", 85, "10E4 05 1E00 3C00", ERR_INVALID, "region 5, expected 1..4"},
    {"milesight-vs133", 85, "11D2 00000000", ERR_INVALID, "unknown channel 0x11 0xd2"},
    /* GS524N */
    {"milesight-gs524n", 85, "22115A05125D", ERR_INVALID, "byte 5: checksum 0x5d"},
    {"milesight-gs524n", 85, "22115A0512", ERR_INVALID, "payload has 5 bytes, expected 6"},
    {"milesight-gs524n", 85, "22115A05125C00", ERR_INVALID, "payload has 7 bytes"},
    {"milesight-gs524n", 85, "22215A05124C", ERR_INVALID, "sensor type 2, expected 1"},
    {"milesight-gs524n", 85, "22135A05125A", ERR_INVALID, "unknown message type 3"},
    /* Dragino */
    {"dragino-ldds75", 1, "0CE4 0546 00 00E1 01", ERR_INVALID, "fPort 1, expected 2"},
    {"dragino-ldds75", 2, "0CE4 0546 00 00E1", ERR_INVALID, "payload has 7 bytes, expected 8"},
    {"dragino-ldds75", 2, "0CE4 0000 00 00E1 01", ERR_INVALID, "distance 0 mm"},
    {"dragino-ldds75", 2, "0CE4 0013 00", ERR_INVALID, "invalid-reading"},
    {"dragino-ldds75", 2, "0CE4 0546 02 00E1 01", ERR_INVALID, "interrupt flag 2"},
    {"dragino-lse01", 2, "0CE4 00C8 0A8C 0618 00E6", ERR_INVALID,
     "payload has 10 bytes, expected 11"},
    {"dragino-lse01", 85, "0CE4 00C8 0A8C 0618 00E6 00", ERR_INVALID, "fPort 85, expected 2"},
    /* Elsys */
    {"elsys", 5, "01 00D7 3D 00000000", ERR_INVALID, "byte 3: unknown Elsys type 0x3d"},
    {"elsys", 5, "09 000000000000", ERR_INVALID, "unknown Elsys type 0x09"},
    {"elsys", 5, "01 00", ERR_INVALID, "byte 1: temperature needs 2 bytes, payload has 2"},
    {"elsys", 5, "14 000F84", ERR_INVALID, "pressure needs 4 bytes"},
    {"elsys", 5, "02 2D 02 2E", ERR_INVALID, "humidity appears twice"},
    {"elsys", 5, "0D 02", ERR_INVALID, "digital value 2"},
    /* Bosch */
    {"bosch-tps110", 4, "00", ERR_INVALID, "fPort 4, expected 1, 2 or 3"},
    {"bosch-tps110", 1, "0100", ERR_INVALID, "expected 1 on fPort 1"},
    {"bosch-tps110", 2, "00F600", ERR_INVALID, "expected 1 or 2 on fPort 2"},
    {"bosch-tps110", 3, "00000000 00000000 00000000 010203 02", ERR_INVALID,
     "payload has 16 bytes, expected 17"},
    /* Parametric */
    {"parametric-pcr2", 190, "BE0104 002A 0025 0C35 0BB8 0000 0000 00C3", ERR_INVALID,
     "fPort 190, expected 14"},
    {"parametric-pcr2", 14, "BE0103 002A 0025 0C35 0BB8 00 0000 00C3", ERR_INVALID,
     "neither 0a (default) nor be 01 04"},
    {"parametric-pcr2", 14, "BE0104 002A 0025 0C35 0BB8 0000 0000 00", ERR_INVALID,
     "payload has 16 bytes, extended v4"},
    {"parametric-pcr2", 14, "BE", ERR_INVALID, "neither"},
    {"parametric-pcr2", 14, "0A 002A 16 00", ERR_INVALID, "right_to_left needs 2 bytes"},
    {"parametric-pcr2", 14, "0A 002A 17 0025", ERR_INVALID, "byte 3: unknown PCR2 type 0x17"},
};

static void test_decoders_bad(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(dec_bad); i++) {
        const DecBad *t = &dec_bad[i];
        size_t n, count = 777;
        uint8_t *p = unhex(t->hex, &n);
        DecodedValue out[INGEST_VALUES_MAX];
        Err err;
        err_init(&err);
        int rc = ingest_decode(t->decoder, t->port, n ? p : NULL, n, out, COUNT(out), &count,
                               &err);
        free(p);
        if (rc != t->code || err.code != t->code || !strstr(err.msg, t->msg) || count != 777 ||
            err.msg[0] == '\0') {
            print_error("%s port %d '%s': rc %d (%s) msg '%s'; want %s '%s'\n", t->decoder, t->port,
                        t->hex, rc, err_name(rc), err.msg, err_name(t->code), t->msg);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/*
 * Every prefix of every good example: the decoder must return 0 or
 * ERR_INVALID, with a message, and never read beyond the prefix (ASan).  For
 * fixed-layout devices every proper prefix is an error.
 */
static void test_decoders_prefixes(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(dec_good); i++) {
        const DecGood *t = &dec_good[i];
        size_t n;
        uint8_t *full = unhex(t->hex, &n);
        bool fixed = strncmp(t->decoder, "milesight-", 10) != 0 && strcmp(t->decoder, "elsys") != 0;
        if (strcmp(t->decoder, "milesight-gs524n") == 0)
            fixed = true;
        if (strcmp(t->decoder, "parametric-pcr2") == 0 && full[0] == 0x0a)
            fixed = false; /* TLV style */
        for (size_t k = 0; k < n; k++) {
            uint8_t *p = malloc(k ? k : 1);
            memcpy(p, full, k);
            DecodedValue out[INGEST_VALUES_MAX];
            size_t count;
            Err err;
            err_init(&err);
            int rc = ingest_decode(t->decoder, t->port, p, k, out, COUNT(out), &count, &err);
            free(p);
            if (rc != 0 && (rc != ERR_INVALID || err.msg[0] == '\0'))
                fail_msg("%s prefix %zu of '%s': rc %d msg '%s'", t->decoder, k, t->hex, rc,
                         err.msg);
            if (fixed && rc == 0 && !(strcmp(t->decoder, "dragino-ldds75") == 0 && k == 5) &&
                !(strcmp(t->decoder, "bosch-tps110") == 0 && t->port == 2 && k == 1))
                fail_msg("%s prefix %zu of '%s' decoded", t->decoder, k, t->hex);
        }
        free(full);
    }
}

/* Output array smaller than the values: ERR_TOO_LARGE, out and count untouched. */
static void test_decoders_small_out(void **state)
{
    (void)state;
    size_t n, count = 5;
    uint8_t *p = unhex("01755F 03677C00 0468A0 057DA401 0673BA27", &n);
    DecodedValue out[3];
    memset(out, 0, sizeof out);
    Err err;
    err_init(&err);
    assert_int_equal(ingest_decode("milesight-em500-co2", 85, p, n, out, 3, &count, &err),
                     ERR_TOO_LARGE);
    assert_int_equal(count, 5);
    assert_null(out[0].field);
    assert_non_null(strstr(err.msg, "yields 5 values, room for 3"));
    free(p);
}

/* The decoder list and ingest_decoder_known agree. */
static void test_decoders_names(void **state)
{
    (void)state;
    const char *const *names = ingest_decoder_names();
    size_t k = 0;
    for (; names[k]; k++)
        assert_true(ingest_decoder_known(names[k]));
    assert_int_equal(k, 14);
    assert_false(ingest_decoder_known("elsys2"));
    assert_false(ingest_decoder_known(NULL));
    assert_false(ingest_decoder_known(""));
}

/* ------------------------------------------------------------------------
 * Network-server messages
 * ---------------------------------------------------------------------- */

static const char tts_example[] =
    "{\"end_device_ids\":{\"device_id\":\"volme-pegel-eilpe-01\",\"application_ids\":{"
    "\"application_id\":\"hagen-udp-wasser\"},\"dev_eui\":\"70B3D57BA0001267\",\"join_eui\":"
    "\"70B3D57ED0000000\",\"dev_addr\":\"260B3F1A\"},\"correlation_ids\":[\"as:up:"
    "01JWQ4K3M7R2S8T6V0X9Y1Z2A3\",\"gs:uplink:01JWQ4K3F0B7C5D4E3F2G1H0J9\"],\"received_at\":"
    "\"2025-06-03T14:21:07.412903117Z\",\"uplink_message\":{\"session_key_id\":"
    "\"AZc2kq8vQ1mJx0P4s3rT7w==\",\"f_port\":1,\"f_cnt\":4711,\"frm_payload\":"
    "\"AhJnAAME0gAKC8Q=\",\"decoded_payload\":{\"protocol_version\":2,\"device_id\":4711,"
    "\"distance\":{\"displayName\":\"Distance\",\"unit\":\"mm\",\"value\":1234},"
    "\"number_of_valid_samples\":{\"displayName\":\"Number of valid samples\",\"value\":10},"
    "\"battery_voltage\":{\"displayName\":\"Battery voltage\",\"unit\":\"V\",\"value\":3.012}},"
    "\"rx_metadata\":[{\"gateway_ids\":{\"gateway_id\":\"enervie-gw-rathaus\",\"eui\":"
    "\"B827EBFFFE6A1C02\"},\"time\":\"2025-06-03T14:21:07.161Z\",\"timestamp\":2117452780,"
    "\"rssi\":-107,\"channel_rssi\":-107,\"snr\":3.5,\"location\":{\"latitude\":51.3596,"
    "\"longitude\":7.4747,\"altitude\":140,\"source\":\"SOURCE_REGISTRY\"},\"uplink_token\":"
    "\"CiAKHgoSZW5lcnZpZS1ndy1yYXRoYXVzEgi4J+v//mocAhDs6dfxBw==\",\"channel_index\":4,"
    "\"received_at\":\"2025-06-03T14:21:07.183Z\"}],\"settings\":{\"data_rate\":{\"lora\":{"
    "\"bandwidth\":125000,\"spreading_factor\":9,\"coding_rate\":\"4/5\"}},\"frequency\":"
    "\"867300000\",\"timestamp\":2117452780,\"time\":\"2025-06-03T14:21:07.161Z\"},"
    "\"received_at\":\"2025-06-03T14:21:07.198541012Z\",\"consumed_airtime\":\"0.205824s\","
    "\"network_ids\":{\"net_id\":\"000013\",\"tenant_id\":\"ttn\",\"cluster_id\":\"eu1\"}}}";

static const char cs_example[] =
    "{\"deduplicationId\":\"6f1c2a0e-93b4-4c55-8d21-0b7e5a9f4c12\",\"time\":"
    "\"2025-06-03T05:12:44.905812+00:00\",\"deviceInfo\":{\"tenantId\":"
    "\"52f14cd4-c6f1-4fbd-8f87-4025e1d49242\",\"tenantName\":\"Stadt Hagen\","
    "\"applicationId\":\"2d0a4a1c-7f3e-4b41-9c1a-5b6f0e2d9a11\",\"applicationName\":"
    "\"hagen-udp-abfall\",\"deviceProfileId\":\"b3e9c1d2-5a6f-4e70-8c91-2f3a4b5c6d7e\","
    "\"deviceProfileName\":\"Milesight EM310-UDL\",\"deviceName\":\"papiercontainer-emst-017\","
    "\"devEui\":\"24e124713b421234\",\"deviceClassEnabled\":\"CLASS_A\",\"tags\":{"
    "\"stadtbezirk\":\"Hagen-Mitte\",\"behaelter_hoehe_mm\":\"1100\"}},\"devAddr\":\"01a3c4f2\","
    "\"adr\":true,\"dr\":5,\"fCnt\":1832,\"fPort\":85,\"data\":\"AXVaA4JeAQQAAA==\",\"object\":{"
    "\"battery\":90.0,\"distance\":350.0,\"position\":\"normal\"},\"rxInfo\":[{\"gatewayId\":"
    "\"24e124fffef4a9c1\",\"uplinkId\":18374,\"nsTime\":\"2025-06-03T05:12:44.687311Z\","
    "\"rssi\":-98,\"snr\":7.25,\"channel\":2,\"rfChain\":1,\"location\":{\"latitude\":51.3693,"
    "\"longitude\":7.4871,\"altitude\":210.0},\"context\":\"k3Fh2A==\",\"metadata\":{"
    "\"region_config_id\":\"eu868\",\"region_common_name\":\"EU868\"},\"crcStatus\":\"CRC_OK\"}],"
    "\"txInfo\":{\"frequency\":868500000,\"modulation\":{\"lora\":{\"bandwidth\":125000,"
    "\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\"}}},\"regionConfigId\":\"eu868\"}";

typedef int (*Parser)(Arena *, const json_t *, Uplink *, Err *);

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &je);
    if (!j)
        fail_msg("test JSON does not parse: %s at %d: %s", je.text, je.position, text);
    return j;
}

static void test_tts_example(void **state)
{
    (void)state;
    json_t *msg = load(tts_example);
    Arena a;
    arena_init(&a, 1 << 16);
    Uplink u;
    Err err;
    err_init(&err);
    assert_int_equal(ingest_parse_tts(&a, msg, &u, &err), 0);
    assert_string_equal(u.source, "tts");
    assert_string_equal(u.dev_eui, "70B3D57BA0001267");
    assert_string_equal(u.device, "volme-pegel-eilpe-01");
    assert_string_equal(u.application, "hagen-udp-wasser");
    assert_int_equal(u.f_port, 1);
    assert_int_equal(u.f_cnt, 4711);
    assert_int_equal(u.payload_len, 11);
    static const uint8_t want[] = {0x02, 0x12, 0x67, 0x00, 0x03, 0x04,
                                   0xD2, 0x00, 0x0A, 0x0B, 0xC4};
    assert_memory_equal(u.payload, want, sizeof want);
    assert_false(u.no_payload);
    assert_int_equal(u.received, INT64_C(1748960467412903));
    assert_non_null(u.decoded);
    assert_int_equal(json_integer_value(json_object_get(u.decoded, "device_id")), 4711);
    assert_false(u.confirmed);
    assert_false(u.simulated);
    assert_int_equal(u.gateway_count, 1);
    assert_string_equal(u.gateway_id, "enervie-gw-rathaus");
    assert_true(u.rssi == -107.0);
    assert_true(u.snr == 3.5);
    assert_int_equal(u.spreading_factor, 9);
    assert_int_equal(u.bandwidth, 125000);
    assert_int_equal(u.frequency, 867300000);
    assert_int_equal(u.data_rate, -1);
    assert_string_equal(u.coding_rate, "4/5");

    /* The payload decodes to the DL-MBX example values. */
    DecodedValue v[INGEST_VALUES_MAX];
    size_t n;
    assert_int_equal(ingest_decode("decentlab-dl-mbx", u.f_port, u.payload, u.payload_len, v,
                                   COUNT(v), &n, &err),
                     0);
    assert_int_equal(match("tts example", v, n,
                           "distance=1234 mm; valid_samples=10 {count}; battery=3.012 V"),
                     0);
    arena_fini(&a);
    json_decref(msg);
}

static void test_chirpstack_example(void **state)
{
    (void)state;
    json_t *msg = load(cs_example);
    Arena a;
    arena_init(&a, 1 << 16);
    Uplink u;
    Err err;
    err_init(&err);
    assert_int_equal(ingest_parse_chirpstack(&a, msg, &u, &err), 0);
    assert_string_equal(u.source, "chirpstack");
    assert_string_equal(u.dev_eui, "24E124713B421234");
    assert_string_equal(u.device, "papiercontainer-emst-017");
    assert_string_equal(u.application, "2d0a4a1c-7f3e-4b41-9c1a-5b6f0e2d9a11");
    assert_int_equal(u.f_port, 85);
    assert_int_equal(u.f_cnt, 1832);
    assert_int_equal(u.payload_len, 10);
    static const uint8_t want[] = {0x01, 0x75, 0x5A, 0x03, 0x82, 0x5E, 0x01, 0x04, 0x00, 0x00};
    assert_memory_equal(u.payload, want, sizeof want);
    assert_false(u.no_payload);
    assert_int_equal(u.received, INT64_C(1748927564905812));
    assert_non_null(u.decoded);
    assert_string_equal(json_string_value(json_object_get(u.decoded, "position")), "normal");
    assert_false(u.confirmed);
    assert_false(u.simulated);
    assert_int_equal(u.gateway_count, 1);
    assert_string_equal(u.gateway_id, "24e124fffef4a9c1");
    assert_true(u.rssi == -98.0);
    assert_true(u.snr == 7.25);
    assert_int_equal(u.spreading_factor, 7);
    assert_int_equal(u.bandwidth, 125000);
    assert_int_equal(u.frequency, 868500000);
    assert_int_equal(u.data_rate, 5);
    assert_string_equal(u.coding_rate, "4/5");

    DecodedValue v[INGEST_VALUES_MAX];
    size_t n;
    assert_int_equal(ingest_decode("milesight-em310-udl", u.f_port, u.payload, u.payload_len, v,
                                   COUNT(v), &n, &err),
                     0);
    assert_int_equal(match("chirpstack example", v, n, "battery=90 %; distance=350 mm; tilt=0 bool"),
                     0);
    arena_fini(&a);
    json_decref(msg);
}

/*
 * Sets (value != NULL, JSON text) or deletes the member at path ("a.b[0].c")
 * of root.  The parent must exist.
 */
static void mutate(json_t *root, const char *path, const char *value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    json_t *cur = root;
    char *s = buf;
    for (;;) {
        char *dot = strpbrk(s, ".[");
        if (!dot)
            break;
        char sep = *dot;
        *dot = '\0';
        if (*s)
            cur = json_object_get(cur, s);
        if (sep == '[') {
            char *end;
            long i = strtol(dot + 1, &end, 10);
            cur = json_array_get(cur, (size_t)i);
            s = end + 1;
            if (*s == '.')
                s++;
            if (*s == '\0') {
                fail_msg("path '%s' ends in an index", path);
            }
        } else {
            s = dot + 1;
        }
        assert_non_null(cur);
    }
    if (value)
        assert_int_equal(json_object_set_new(cur, s, load(value)), 0);
    else
        assert_int_equal(json_object_del(cur, s), 0);
}

typedef struct Mut {
    const char *path;  /* member to change */
    const char *value; /* JSON text, NULL = delete */
    const char *msg;   /* expected fragment of the ERR_INVALID message */
} Mut;

static const Mut tts_bad[] = {
    {"end_device_ids", NULL, "end_device_ids is missing"},
    {"end_device_ids", "[]", "end_device_ids is not a JSON object"},
    {"end_device_ids.device_id", NULL, "end_device_ids.device_id is missing"},
    {"end_device_ids.device_id", "17", "end_device_ids.device_id is not a string"},
    {"end_device_ids.dev_eui", NULL, "end_device_ids.dev_eui is missing"},
    {"end_device_ids.dev_eui", "\"70B3D57BA000126\"", "end_device_ids.dev_eui is not 16 hex digits"},
    {"end_device_ids.dev_eui", "\"70B3D57BA000126G\"", "end_device_ids.dev_eui is not 16 hex"},
    {"end_device_ids.dev_eui", "\"70B3D57BA0001267 \"", "not 16 hex digits"},
    {"end_device_ids.application_ids", NULL, "end_device_ids.application_ids is missing"},
    {"end_device_ids.application_ids.application_id", "true",
     "end_device_ids.application_ids.application_id is not a string"},
    {"uplink_message", NULL, "uplink_message is missing"},
    {"uplink_message", "\"x\"", "uplink_message is not a JSON object"},
    {"received_at", "\"yesterday\"", "received_at is not an RFC 3339 time"},
    {"received_at", "1748960467", "received_at is not a string"},
    {"uplink_message.f_port", "\"1\"", "uplink_message.f_port must be an integer 0..255"},
    {"uplink_message.f_port", "256", "uplink_message.f_port must be an integer 0..255"},
    {"uplink_message.f_port", "-1", "uplink_message.f_port must be an integer"},
    {"uplink_message.f_port", "1.5", "uplink_message.f_port must be an integer"},
    {"uplink_message.f_cnt", "4294967296", "uplink_message.f_cnt must be an integer 0..4294967295"},
    {"uplink_message.f_cnt", "[1]", "uplink_message.f_cnt must be an integer"},
    {"uplink_message.frm_payload", "\"AhJnAAME0gAKC8Q\"",
     "uplink_message.frm_payload is not valid base64"},
    {"uplink_message.frm_payload", "\"AhJn!AME0gAKC8Q=\"",
     "uplink_message.frm_payload is not valid base64: invalid character 0x21 at position 5"},
    {"uplink_message.frm_payload", "\"AhJn AME0gAKC8Q=\"", "is not valid base64"},
    {"uplink_message.frm_payload", "\"AhJ=AAME0gAKC8Q=\"", "'=' before the end"},
    {"uplink_message.frm_payload", "7", "uplink_message.frm_payload is not a string"},
    {"uplink_message.decoded_payload", "\"distance\"",
     "uplink_message.decoded_payload is not a JSON object"},
    {"uplink_message.confirmed", "1", "uplink_message.confirmed is not a boolean"},
    {"uplink_message.rx_metadata", "{}", "uplink_message.rx_metadata is not an array"},
    {"uplink_message.rx_metadata[0].rssi", "\"-107\"",
     "uplink_message.rx_metadata[0].rssi is not a number"},
    {"uplink_message.rx_metadata[0].snr", "{}", "uplink_message.rx_metadata[0].snr is not a number"},
    {"uplink_message.rx_metadata[0].gateway_ids", "\"gw\"",
     "uplink_message.rx_metadata[0].gateway_ids is not a JSON object"},
    {"uplink_message.rx_metadata[0].gateway_ids.gateway_id", "5",
     "uplink_message.rx_metadata[0].gateway_ids.gateway_id is not a string"},
    {"uplink_message.settings", "[]", "uplink_message.settings is not a JSON object"},
    {"uplink_message.settings.frequency", "\"867.3 MHz\"",
     "uplink_message.settings.frequency is not a frequency in Hz"},
    {"uplink_message.settings.frequency", "\"\"", "settings.frequency is not a frequency"},
    {"uplink_message.settings.frequency", "-1", "uplink_message.settings.frequency must be"},
    {"uplink_message.settings.data_rate.lora.spreading_factor", "13",
     "uplink_message.settings.data_rate.lora.spreading_factor must be an integer 0..12"},
    {"uplink_message.settings.data_rate.lora", "1",
     "uplink_message.settings.data_rate.lora is not a JSON object"},
    {"uplink_message.settings.data_rate.lora.coding_rate", "45",
     "uplink_message.settings.data_rate.lora.coding_rate is not a string"},
    {"simulated", "\"true\"", "simulated is not a boolean"},
};

static const Mut cs_bad[] = {
    {"deviceInfo", NULL, "deviceInfo is missing"},
    {"deviceInfo", "\"24e124713b421234\"", "deviceInfo is not a JSON object"},
    {"deviceInfo.devEui", NULL, "deviceInfo.devEui is missing"},
    {"deviceInfo.devEui", "null", "deviceInfo.devEui is missing"},
    {"deviceInfo.devEui", "\"24e124713b42123\"", "deviceInfo.devEui is not 16 hex digits"},
    {"deviceInfo.devEui", "\"24e124713b42123x\"", "deviceInfo.devEui is not 16 hex digits"},
    {"deviceInfo.devEui", "2412471342123", "deviceInfo.devEui is not a string"},
    {"deviceInfo.deviceName", "[]", "deviceInfo.deviceName is not a string"},
    {"deviceInfo.applicationId", "{}", "deviceInfo.applicationId is not a string"},
    {"time", NULL, "time is missing"},
    {"time", "\"2025-06-03 05:12:44\"", "time is not an RFC 3339 time"},
    {"time", "\"2025-06-03T05:12:44\"", "time is not an RFC 3339 time"},
    {"fPort", "\"85\"", "fPort must be an integer 0..255"},
    {"fPort", "300", "fPort must be an integer 0..255"},
    {"fPort", "true", "fPort must be an integer"},
    {"fCnt", "-5", "fCnt must be an integer 0..4294967295"},
    {"fCnt", "1.25", "fCnt must be an integer"},
    {"dr", "16", "dr must be an integer 0..15"},
    {"confirmed", "\"false\"", "confirmed is not a boolean"},
    {"data", "\"AXVaA4JeAQQAAA=\"", "data is not valid base64: length 15 is not a multiple of 4"},
    {"data", "\"AXVaA4JeAQQAAA==AAAA\"", "data is not valid base64"},
    {"data", "\"AXVa-4JeAQQAAA==\"", "data is not valid base64: invalid character 0x2d"},
    {"data", "\"AXVaA4JeAQQAAB==\"", "data is not valid base64: non-zero padding bits"},
    {"data", "12", "data is not a string"},
    {"object", "[1,2]", "object is not a JSON object"},
    {"rxInfo", "{}", "rxInfo is not an array"},
    {"rxInfo[0].rssi", "\"strong\"", "rxInfo[0].rssi is not a number"},
    {"rxInfo[0].snr", "true", "rxInfo[0].snr is not a number"},
    {"rxInfo[0].gatewayId", "1", "rxInfo[0].gatewayId is not a string"},
    {"txInfo", "5", "txInfo is not a JSON object"},
    {"txInfo.frequency", "\"868500000\"", "txInfo.frequency must be an integer"},
    {"txInfo.modulation", "[]", "txInfo.modulation is not a JSON object"},
    {"txInfo.modulation.lora.spreadingFactor", "-7",
     "txInfo.modulation.lora.spreadingFactor must be an integer 0..12"},
    {"txInfo.modulation.lora.codeRate", "5", "txInfo.modulation.lora.codeRate is not a string"},
};

static int run_mutations(const char *example, Parser parse, const Mut *t, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *msg = load(example);
        mutate(msg, t[i].path, t[i].value);
        Arena a;
        arena_init(&a, 1 << 16);
        Uplink u;
        memset(&u, 0x5a, sizeof u);
        Err err;
        err_init(&err);
        int rc = parse(&a, msg, &u, &err);
        if (rc != ERR_INVALID || err.code != ERR_INVALID || !strstr(err.msg, t[i].msg) ||
            u.f_port != 0x5a5a5a5a) {
            print_error("%s = %s: rc %d (%s) msg '%s'; want '%s'\n", t[i].path,
                        t[i].value ? t[i].value : "(deleted)", rc, err_name(rc), err.msg, t[i].msg);
            failures++;
        }
        arena_fini(&a);
        json_decref(msg);
    }
    return failures;
}

static void test_tts_bad(void **state)
{
    (void)state;
    assert_int_equal(run_mutations(tts_example, ingest_parse_tts, tts_bad, COUNT(tts_bad)), 0);
    /* rx_metadata[0] not an object */
    json_t *msg = load(tts_example);
    json_array_set_new(json_object_get(json_object_get(msg, "uplink_message"), "rx_metadata"), 0,
                       json_integer(3));
    Arena a;
    arena_init(&a, 1 << 16);
    Uplink u;
    Err err;
    err_init(&err);
    assert_int_equal(ingest_parse_tts(&a, msg, &u, &err), ERR_INVALID);
    assert_string_equal(err.msg, "uplink_message.rx_metadata[0] is not a JSON object");
    assert_string_equal(err.field, "uplink_message.rx_metadata[0]");
    arena_fini(&a);
    json_decref(msg);
}

static void test_chirpstack_bad(void **state)
{
    (void)state;
    assert_int_equal(run_mutations(cs_example, ingest_parse_chirpstack, cs_bad, COUNT(cs_bad)), 0);
}

/* Parses example after the mutations (path, JSON text or NULL to delete), pairs. */
static int parse_mutated(const char *example, Parser parse, Arena *a, json_t **msg, Uplink *u,
                         Err *err, size_t nmut, const char *const *mut)
{
    *msg = load(example);
    for (size_t i = 0; i + 1 < nmut * 2; i += 2)
        mutate(*msg, mut[i], mut[i + 1]);
    err_init(err);
    return parse(a, *msg, u, err);
}

static void test_uplink_variants(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 1 << 16);
    json_t *msg;
    Uplink u;
    Err err;

    /* TTS: no f_port and no payload (MAC only), no decoded_payload, simulated. */
    const char *m1[] = {"uplink_message.f_port", NULL, "uplink_message.frm_payload", NULL,
                        "uplink_message.decoded_payload", NULL, "simulated", "true"};
    assert_int_equal(parse_mutated(tts_example, ingest_parse_tts, &a, &msg, &u, &err, 4, m1), 0);
    assert_true(u.no_payload);
    assert_int_equal(u.f_port, 0);
    assert_int_equal(u.payload_len, 0);
    assert_null(u.payload);
    assert_null(u.decoded);
    assert_true(u.simulated);
    json_decref(msg);

    /* TTS: f_port set, payload empty -> still nothing to decode. */
    const char *m2[] = {"uplink_message.frm_payload", "\"\""};
    assert_int_equal(parse_mutated(tts_example, ingest_parse_tts, &a, &msg, &u, &err, 1, m2), 0);
    assert_true(u.no_payload);
    assert_int_equal(u.f_port, 1);
    json_decref(msg);

    /* TTS: older servers put coding_rate under settings; frequency as a number; received_at
     * only in uplink_message; data_rate_index; confirmed. */
    const char *m3[] = {"uplink_message.settings.data_rate.lora.coding_rate", NULL,
                        "uplink_message.settings.coding_rate", "\"4/7\"",
                        "uplink_message.settings.frequency", "868100000",
                        "received_at", NULL,
                        "uplink_message.settings.data_rate_index", "3",
                        "uplink_message.confirmed", "true"};
    assert_int_equal(parse_mutated(tts_example, ingest_parse_tts, &a, &msg, &u, &err, 6, m3), 0);
    assert_string_equal(u.coding_rate, "4/7");
    assert_int_equal(u.frequency, 868100000);
    assert_int_equal(u.received, INT64_C(1748960467198541));
    assert_int_equal(u.data_rate, 3);
    assert_true(u.confirmed);
    json_decref(msg);

    /* TTS: three gateways, the best by RSSI then SNR; rssi missing -> channel_rssi. */
    const char *m4[] = {"uplink_message.rx_metadata",
                        "[{\"gateway_ids\":{\"gateway_id\":\"a\"},\"rssi\":-110,\"snr\":9},"
                        "{\"gateway_ids\":{\"gateway_id\":\"b\"},\"channel_rssi\":-90,\"snr\":-2},"
                        "{\"gateway_ids\":{\"gateway_id\":\"c\"},\"rssi\":-90,\"snr\":1.5}]"};
    assert_int_equal(parse_mutated(tts_example, ingest_parse_tts, &a, &msg, &u, &err, 1, m4), 0);
    assert_int_equal(u.gateway_count, 3);
    assert_string_equal(u.gateway_id, "c");
    assert_true(u.rssi == -90 && u.snr == 1.5);
    json_decref(msg);

    /* TTS: no received_at at all. */
    const char *m5[] = {"received_at", NULL, "uplink_message.received_at", NULL};
    assert_int_equal(parse_mutated(tts_example, ingest_parse_tts, &a, &msg, &u, &err, 2, m5),
                     ERR_INVALID);
    assert_string_equal(err.msg, "received_at is missing");
    json_decref(msg);

    /* ChirpStack: defaults omitted (fPort, fCnt, data, dr), nulls as absent, no radio. */
    const char *m6[] = {"fPort", NULL, "fCnt", NULL, "data", NULL, "dr", NULL, "object", "null",
                        "rxInfo", NULL, "txInfo", NULL, "deviceInfo.deviceName", NULL};
    assert_int_equal(parse_mutated(cs_example, ingest_parse_chirpstack, &a, &msg, &u, &err, 8, m6),
                     0);
    assert_true(u.no_payload);
    assert_int_equal(u.f_cnt, 0);
    assert_int_equal(u.data_rate, -1);
    assert_null(u.decoded);
    assert_int_equal(u.gateway_count, 0);
    assert_null(u.gateway_id);
    assert_true(u.rssi == 0 && u.snr == 0);
    assert_int_equal(u.frequency, 0);
    assert_string_equal(u.coding_rate, "");
    assert_string_equal(u.device, "");
    json_decref(msg);

    /* ChirpStack: fPort 0 with data (MAC commands), two gateways tied on RSSI, integral real. */
    const char *m7[] = {"fPort", "0", "fCnt", "4294967295.0",
                        "rxInfo",
                        "[{\"gatewayId\":\"g1\",\"rssi\":-100,\"snr\":2},"
                        "{\"gatewayId\":\"g2\",\"rssi\":-100,\"snr\":4.5},{\"rssi\":-120}]",
                        "confirmed", "true"};
    assert_int_equal(parse_mutated(cs_example, ingest_parse_chirpstack, &a, &msg, &u, &err, 4, m7),
                     0);
    assert_true(u.no_payload);
    assert_int_equal(u.payload_len, 10);
    assert_int_equal(u.f_cnt, UINT32_MAX);
    assert_int_equal(u.gateway_count, 3);
    assert_string_equal(u.gateway_id, "g2");
    assert_true(u.confirmed);
    json_decref(msg);

    /* Upper-case DevEUI and a 242-byte payload (the LoRaWAN maximum). */
    char data[400];
    memset(data, 'A', 324);
    data[324] = '\0';
    char quoted[420];
    snprintf(quoted, sizeof quoted, "\"%s\"", data);
    const char *m8[] = {"deviceInfo.devEui", "\"24E124713B421234\"", "data", quoted};
    assert_int_equal(parse_mutated(cs_example, ingest_parse_chirpstack, &a, &msg, &u, &err, 2, m8),
                     0);
    assert_string_equal(u.dev_eui, "24E124713B421234");
    assert_int_equal(u.payload_len, 243);
    json_decref(msg);

    /* 260 bytes: too long. */
    memset(data, 'A', 348);
    data[348] = '\0';
    snprintf(quoted, sizeof quoted, "\"%s\"", data);
    const char *m9[] = {"data", quoted};
    assert_int_equal(parse_mutated(cs_example, ingest_parse_chirpstack, &a, &msg, &u, &err, 1, m9),
                     ERR_INVALID);
    assert_string_equal(err.msg, "data is longer than 256 bytes");
    json_decref(msg);

    /* Not an object at all. */
    msg = load("[1]");
    err_init(&err);
    assert_int_equal(ingest_parse_chirpstack(&a, msg, &u, &err), ERR_INVALID);
    assert_string_equal(err.msg, "message is not a JSON object");
    err_init(&err);
    assert_int_equal(ingest_parse_tts(&a, msg, &u, &err), ERR_INVALID);
    json_decref(msg);

    /* Each parser rejects the other server's message. */
    msg = load(cs_example);
    err_init(&err);
    assert_int_equal(ingest_parse_tts(&a, msg, &u, &err), ERR_INVALID);
    assert_string_equal(err.msg, "end_device_ids is missing");
    json_decref(msg);
    msg = load(tts_example);
    err_init(&err);
    assert_int_equal(ingest_parse_chirpstack(&a, msg, &u, &err), ERR_INVALID);
    assert_string_equal(err.msg, "deviceInfo is missing");
    json_decref(msg);
    arena_fini(&a);
}

/* The arena cap is an ordinary error, raised step by step until parsing succeeds. */
static void test_uplink_arena_cap(void **state)
{
    (void)state;
    json_t *msg = load(tts_example);
    int succeeded = 0;
    for (size_t cap = 1; cap < 4096 && !succeeded; cap += 8) {
        Arena a;
        arena_init(&a, cap);
        Uplink u;
        Err err;
        err_init(&err);
        int rc = ingest_parse_tts(&a, msg, &u, &err);
        if (rc == 0)
            succeeded = 1;
        else
            assert_int_equal(rc, ERR_TOO_LARGE);
        arena_fini(&a);
    }
    assert_true(succeeded);
    json_decref(msg);
}

/* ------------------------------------------------------------------------
 * Base64
 * ---------------------------------------------------------------------- */

typedef struct B64 {
    const char *in;  /* base64 text */
    const char *hex; /* decoded bytes, or NULL for an error */
    int code;        /* expected code when hex is NULL */
    long col;        /* expected position (0 = not checked) */
} B64;

static const B64 b64[] = {
    {"", "", 0, 0},
    {"AA==", "00", 0, 0},
    {"AAA=", "0000", 0, 0},
    {"AAAA", "000000", 0, 0},
    {"////", "FFFFFF", 0, 0},
    {"+/+/", "FBFFBF", 0, 0},
    {"AhJnAAME0gAKC8Q=", "02126700 0304D2000A0BC4", 0, 0},
    {"AXVaA4JeAQQAAA==", "01755A03825E0104 0000", 0, 0},
    {"Zm9vYmFy", "666F6F626172", 0, 0},
    {"Zg==", "66", 0, 0},
    {"A", NULL, ERR_INVALID, 2},
    {"AA=", NULL, ERR_INVALID, 4},
    {"AAAAA", NULL, ERR_INVALID, 6},
    {"A===", NULL, ERR_INVALID, 2},
    {"====", NULL, ERR_INVALID, 1},
    {"AA=A", NULL, ERR_INVALID, 3},
    {"=AAA", NULL, ERR_INVALID, 1},
    {"AB==", NULL, ERR_INVALID, 2},
    {"AAB=", NULL, ERR_INVALID, 3},
    {"AA==AAA=", NULL, ERR_INVALID, 3},
    {"AA A", NULL, ERR_INVALID, 3},
    {"AA\nA", NULL, ERR_INVALID, 3},
    {"AA-_", NULL, ERR_INVALID, 3},
    {"AAA\x80", NULL, ERR_INVALID, 4},
    {"AAAAAAAA", NULL, ERR_TOO_LARGE, 0}, /* 6 bytes, max 5 */
};

static void test_base64(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(b64); i++) {
        const B64 *t = &b64[i];
        size_t len = strlen(t->in), n = 99;
        char *in = malloc(len ? len : 1);
        memcpy(in, t->in, len);
        uint8_t out[5];
        Err err;
        err_init(&err);
        int rc = ingest_base64_decode(in, len, out, sizeof out, &n, &err);
        free(in);
        if (t->hex) {
            size_t wn;
            uint8_t *want = unhex(t->hex, &wn);
            if (wn > sizeof out) {
                /* longer than the small buffer: decode again with room */
                uint8_t big[64];
                err_init(&err);
                rc = ingest_base64_decode(t->in, len, big, sizeof big, &n, &err);
                if (rc || n != wn || memcmp(big, want, wn)) {
                    print_error("base64 '%s': rc %d n %zu msg '%s'\n", t->in, rc, n, err.msg);
                    failures++;
                }
            } else if (rc || n != wn || memcmp(out, want, wn)) {
                print_error("base64 '%s': rc %d n %zu msg '%s'\n", t->in, rc, n, err.msg);
                failures++;
            }
            free(want);
        } else if (rc != t->code || n != 99 || (t->col && err.position != t->col)) {
            print_error("base64 '%s': rc %d col %ld msg '%s'; want %s col %ld\n", t->in, rc,
                        err.position, err.msg, err_name(t->code), t->col);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------------------
 * Topics
 * ---------------------------------------------------------------------- */

typedef struct Topic {
    const char *in;     /* topic */
    const char *source; /* expected source, NULL = error */
    const char *app, *tenant, *device; /* expected ids (tenant NULL = none) */
} Topic;

static const Topic topics[] = {
    {"application/2d0a4a1c-7f3e-4b41-9c1a-5b6f0e2d9a11/device/24e124713b421234/event/up",
     "chirpstack", "2d0a4a1c-7f3e-4b41-9c1a-5b6f0e2d9a11", NULL, "24e124713b421234"},
    {"v3/hagen-udp-wasser@ttn/devices/volme-pegel-eilpe-01/up", "tts", "hagen-udp-wasser", "ttn",
     "volme-pegel-eilpe-01"},
    {"v3/hagen-udp-wasser/devices/volme-pegel-eilpe-01/up", "tts", "hagen-udp-wasser", NULL,
     "volme-pegel-eilpe-01"},
    {"application/app/device/24E124713B421234/event/up", "chirpstack", "app", NULL,
     "24E124713B421234"},
    {"application/app/device/24e124713b421234/event/join", NULL, NULL, NULL, NULL},
    {"application/app/device/24e124713b42123/event/up", NULL, NULL, NULL, NULL},
    {"application/app/device/24e124713b42123z/event/up", NULL, NULL, NULL, NULL},
    {"application//device/24e124713b421234/event/up", NULL, NULL, NULL, NULL},
    {"application/+/device/24e124713b421234/event/up", NULL, NULL, NULL, NULL},
    {"application/app/device/24e124713b421234/event/up/x", NULL, NULL, NULL, NULL},
    {"v3/app@ttn/devices/dev/join", NULL, NULL, NULL, NULL},
    {"v3/app@ttn/devices/dev/down/push", NULL, NULL, NULL, NULL},
    {"v3/app@/devices/dev/up", NULL, NULL, NULL, NULL},
    {"v3/@ttn/devices/dev/up", NULL, NULL, NULL, NULL},
    {"v3/a@b@c/devices/dev/up", NULL, NULL, NULL, NULL},
    {"v3/app/devices//up", NULL, NULL, NULL, NULL},
    {"v3/app/devices/#/up", NULL, NULL, NULL, NULL},
    {"v1.1/Datastreams(1)/Observations", NULL, NULL, NULL, NULL},
    {"", NULL, NULL, NULL, NULL},
};

static bool span_is(const char *s, size_t n, const char *want)
{
    if (!want)
        return s == NULL && n == 0;
    return s && strlen(want) == n && memcmp(s, want, n) == 0;
}

static void test_topics(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(topics); i++) {
        const Topic *t = &topics[i];
        IngestTopic it;
        Err err;
        err_init(&err);
        int rc = ingest_parse_topic(t->in, &it, &err);
        bool ok;
        if (t->source)
            ok = rc == 0 && strcmp(it.source, t->source) == 0 &&
                 span_is(it.app, it.app_len, t->app) &&
                 span_is(it.tenant, it.tenant_len, t->tenant) &&
                 span_is(it.device, it.device_len, t->device);
        else
            ok = rc == ERR_INVALID && err.code == ERR_INVALID && strstr(err.msg, "topic");
        if (!ok) {
            print_error("topic '%s': rc %d msg '%s'\n", t->in, rc, err.msg);
            failures++;
        }
    }
    assert_int_equal(failures, 0);
}

/* ------------------------------------------------------------------------
 * Decoder specs
 * ---------------------------------------------------------------------- */

typedef struct SpecGood {
    const char *spec; /* text */
    int port;         /* fPort of the payload */
    const char *hex;  /* payload */
    const char *want; /* expectation, see match() */
} SpecGood;

static const SpecGood spec_good[] = {
    {"name=my-level; port=2; level:u16be@2*0.001 m; temp:s16be@4/10 Cel; "
     "battery:u16be@0&0x3FFF*0.001 V",
     2, "CCE4 04D2 FF9C", "level=1.234 m; temp=-10 Cel; battery=3.3 V"},
    /* the LDDS75 layout, declared instead of built in */
    {"name=ldds75-like\nport=2\nlength=8\n"
     "battery:u16be@0&0x3fff/1000 V   # top bits are flags\n"
     "distance:u16be@2 mm\n"
     "interrupt:u8@4 bool\n"
     "temperature:s16be@5/10 Cel\n",
     2, "0CE4 0546 00 00E1 01",
     "battery=3.3 V; distance=1350 mm; interrupt=0 bool; temperature=22.5 Cel"},
    {"name=le; a:u16le@0; b:s16le@2; c:u32le@4; d:s32le@8; e:s8@12; f:u8@13",
     9, "3412 FEFF 78563412 FFFFFFFF 80 FF",
     "a=4660 1; b=-2 1; c=305419896 1; d=-1 1; e=-128 1; f=255 1"},
    {"name=floats; x:f32be@0 m; y:float32le@4 Cel", 1, "3FC00000 0000C0BF",
     "x=1.5 m; y=-1.5 Cel"},
    {"name=bits; flag:u8@0&0x80>>7 bool; mode:u8@0&0x70>>4; level:u8@0&0x0F*10-5 %", 1, "D7",
     "flag=1 bool; mode=5 1; level=65 %"},
    {"name=offsets;t:s16be@0/100+273.15 K;p:u32be@2/1000 hPa", 1, "09C4 000F84D0",
     "t=298.15 K; p=1017.04 hPa"},
    {"name=sci; v:u16be@0*1e-3 V; w:u16be@0*2.5E+1 1", 1, "0BB8", "v=3 V; w=75000 1"},
    {"  # comment only line\nname=x.y_z-1 ;; ;\n\tv:u8@10 {count}  \n", 1, "00000000000000000000 07",
     "v=7 {count}"},
};

typedef struct SpecBad {
    const char *spec; /* text */
    long col;         /* expected 1-based column, 0 = not checked */
    const char *msg;  /* fragment of the message */
} SpecBad;

static const SpecBad spec_bad[] = {
    {"", 1, "name= is missing"},
    {"level:u16be@0", 1, "name= is missing"},
    {"name=x", 1, "decoder 'x' has no fields"},
    {"name=X; a:u8@0", 6, "decoder names use a-z 0-9"},
    {"name=; a:u8@0", 6, "empty decoder name"},
    {"name=x; name=y; a:u8@0", 9, "name= appears twice"},
    {"name=x; port=0; a:u8@0", 14, "port: expected a number 1..223"},
    {"name=x; port=224; a:u8@0", 14, "port is too large"},
    {"name=x; port=2x; a:u8@0", 14, "expected a number 1..223"},
    {"name=x; port=1; port=2; a:u8@0", 17, "port= appears twice"},
    {"name=x; length=0; a:u8@0", 16, "length: expected a number 1..255"},
    {"name=x; length=2; a:u16be@1", 1, "field 'a' reaches beyond length=2"},
    {"name=x; a:u12be@0", 11, "unknown type 'u12be'"},
    {"name=x; a:u16@0", 11, "unknown type 'u16'"},
    {"name=x; a:u8", 13, "expected '@offset'"},
    {"name=x; a:u8@", 14, "offset: expected a decimal number"},
    {"name=x; a:u8@256", 14, "offset is too large"},
    {"name=x; a:u32be@252", 20, "bytes beyond 255"},
    {"name=x; A:u8@0", 9, "expected name=, port=, length= or a field"},
    {"name=x; 1a:u8@0", 9, "expected name=, port=, length= or a field"},
    {"name=x; a u8@0", 10, "expected ':' after the field name"},
    {"name=x; a:u8@0; a:u8@1", 17, "field 'a' appears twice"},
    {"name=x; a:s16be@0&0xFF", 18, "a mask needs an unsigned type"},
    {"name=x; a:u8@0&0x100", 21, "mask wider than the type"},
    {"name=x; a:u8@0&0x", 16, "expected hex digits after 0x"},
    {"name=x; a:u32be@0&0x1FFFFFFFF", 19, "mask does not fit in 32 bits"},
    {"name=x; a:u8@0>>8", 17, "shift is too large"},
    {"name=x; a:f32be@0>>1", 18, "a shift needs an unsigned type"},
    {"name=x; a:u8@0*0", 17, "scale must not be 0"},
    {"name=x; a:u8@0*", 16, "scale: expected a number"},
    {"name=x; a:u8@0*1e", 17, "exponent without digits"},
    {"name=x; a:u8@0*inf", 16, "scale: expected a number"},
    {"name=x; a:u8@0+", 16, "offset: expected a number"},
    {"name=x; a:u8@0 mm cm", 19, "the unit must be the last word"},
    {"name=x; a:u8@0x", 15, "unexpected 'x'"},
    {"name=x; a:u8@0*2 bool", 18, "a bool field takes no scale"},
    {"name=x; a:u8@0 abcdefghijklmnopqrstuvwxyz0123456", 16, "unit longer than 31"},
    {"name=x; a:u8@0*1" "000000000000000000000000000000000000000000000000000", 16,
     "number too long"},
    {"name=x; a:u8@0*1e999", 16, "number out of range"},
};

static void test_spec_good(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(spec_good); i++) {
        const SpecGood *t = &spec_good[i];
        Arena a;
        arena_init(&a, 1 << 16);
        DecoderSpec spec;
        Err err;
        err_init(&err);
        int rc = ingest_decoder_spec_parse(&a, t->spec, &spec, &err);
        if (rc) {
            print_error("spec '%s': rc %d col %ld msg '%s'\n", t->spec, rc, err.position, err.msg);
            failures++;
            arena_fini(&a);
            continue;
        }
        size_t n, count;
        uint8_t *p = unhex(t->hex, &n);
        DecodedValue out[INGEST_VALUES_MAX];
        rc = ingest_decode_spec(&spec, t->port, p, n, out, COUNT(out), &count, &err);
        free(p);
        if (rc) {
            print_error("spec '%s' on '%s': rc %d msg '%s'\n", t->spec, t->hex, rc, err.msg);
            failures++;
        } else {
            failures += match(t->spec, out, count, t->want);
        }
        arena_fini(&a);
    }
    assert_int_equal(failures, 0);
}

static void test_spec_bad(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(spec_bad); i++) {
        const SpecBad *t = &spec_bad[i];
        Arena a;
        arena_init(&a, 1 << 16);
        DecoderSpec spec;
        memset(&spec, 0x5a, sizeof spec);
        Err err;
        err_init(&err);
        int rc = ingest_decoder_spec_parse(&a, t->spec, &spec, &err);
        if (rc != ERR_INVALID || !strstr(err.msg, t->msg) || (t->col && err.position != t->col) ||
            spec.port != 0x5a5a5a5a) {
            print_error("spec '%s': rc %d col %ld msg '%s'; want col %ld '%s'\n", t->spec, rc,
                        err.position, err.msg, t->col, t->msg);
            failures++;
        }
        arena_fini(&a);
    }
    assert_int_equal(failures, 0);
}

/* Decoding errors of a parsed spec: port, length, field beyond the payload, NaN floats. */
static void test_spec_decode_errors(void **state)
{
    (void)state;
    Arena a;
    arena_init(&a, 1 << 16);
    DecoderSpec spec, f;
    Err err;
    err_init(&err);
    assert_int_equal(ingest_decoder_spec_parse(
                         &a, "name=lvl; port=2; level:u16be@2*0.001 m; temp:s16be@4/10 Cel", &spec,
                         &err),
                     0);
    assert_string_equal(spec.name, "lvl");
    assert_int_equal(spec.nfields, 2);
    assert_string_equal(spec.fields[1].unit, "Cel");
    assert_true(spec.fields[1].divide);
    DecodedValue out[4];
    size_t count = 9;
    uint8_t p[6] = {0, 0, 1, 2, 3, 4};

    err_init(&err);
    assert_int_equal(ingest_decode_spec(&spec, 3, p, 6, out, 4, &count, &err), ERR_INVALID);
    assert_string_equal(err.msg, "fPort 3, expected 2 for lvl");
    err_init(&err);
    uint8_t *q = malloc(5);
    memcpy(q, p, 5);
    assert_int_equal(ingest_decode_spec(&spec, 2, q, 5, out, 4, &count, &err), ERR_INVALID);
    assert_string_equal(err.msg, "field 'temp' needs bytes 4..5, payload has 5 bytes");
    free(q);
    err_init(&err);
    assert_int_equal(ingest_decode_spec(&spec, 2, p, 6, out, 1, &count, &err), ERR_TOO_LARGE);
    assert_int_equal(count, 9);

    assert_int_equal(ingest_decoder_spec_parse(&a, "name=f; length=4; x:f32be@0", &f, &err), 0);
    uint8_t nan[4] = {0x7f, 0xc0, 0, 0};
    err_init(&err);
    assert_int_equal(ingest_decode_spec(&f, 1, nan, 4, out, 4, &count, &err), ERR_INVALID);
    assert_string_equal(err.msg, "x is not a finite number");
    err_init(&err);
    assert_int_equal(ingest_decode_spec(&f, 1, nan, 3, out, 4, &count, &err), ERR_INVALID);
    assert_string_equal(err.msg, "payload has 3 bytes, expected 4 for f");
    err_init(&err);
    assert_int_equal(ingest_decode_spec(&f, 0, nan, 4, out, 4, &count, &err), ERR_INVALID);

    /* 32 fields fit, the 33rd does not. */
    char text[2048] = "name=many";
    for (int i = 0; i < 33; i++)
        snprintf(text + strlen(text), sizeof text - strlen(text), "; f%d:u8@%d", i, i);
    err_init(&err);
    assert_int_equal(ingest_decoder_spec_parse(&a, text, &f, &err), ERR_INVALID);
    assert_non_null(strstr(err.msg, "more than 32 fields"));
    *strrchr(text, ';') = '\0';
    err_init(&err);
    assert_int_equal(ingest_decoder_spec_parse(&a, text, &f, &err), 0);
    assert_int_equal(f.nfields, 32);

    /* A tiny arena: ERR_TOO_LARGE, not a crash. */
    Arena small;
    arena_init(&small, 4);
    err_init(&err);
    assert_int_equal(ingest_decoder_spec_parse(&small, "name=abcdefgh; a:u8@0", &f, &err),
                     ERR_TOO_LARGE);
    arena_fini(&small);
    arena_fini(&a);
}

/* ------------------------------------------------------------------------
 * Range checks
 * ---------------------------------------------------------------------- */

typedef struct Range {
    const char *field, *unit; /* quantity */
    double v;                 /* value */
    int ok;                   /* 1 = plausible */
} Range;

static const Range ranges[] = {
    {"temperature", "Cel", 21.5, 1},
    {"temperature", "Cel", -40, 1},
    {"temperature", "Cel", 85, 1},
    {"temperature", "Cel", 85.1, 0},
    {"temperature", "Cel", -40.5, 0},
    {"soil_temperature", "Cel", -10, 1},
    {"cpu_temperature", "Cel", 327.67, 0},
    {"humidity", "%", 100, 1},
    {"humidity", "%", 100.5, 0},
    {"humidity", "%", -1, 0},
    {"battery", "V", 3.012, 1},
    {"battery", "V", 6.5, 0},
    {"battery", "%", 90, 1},
    {"battery", "%", 129, 0},
    {"water_column", "m", 0.85, 1},
    {"water_column", "m", 25, 0},
    {"distance", "mm", 1234, 1},
    {"distance", "mm", 10001, 0},
    {"co2", "[ppm]", 420, 1},
    {"co2", "[ppm]", 65535, 0},
    {"pressure", "hPa", 1017.04, 1},
    {"pressure", "hPa", 0.5, 0},
    {"pressure", "hPa", 1200, 0},
    {"precipitation", "mm", 1.8, 1},
    {"precipitation", "mm", 6553.5, 0},
    {"cumulative_precipitation", "mm", 6553.7, 1},
    {"depth", "cm", 78, 1},
    {"soil_moisture", "%", 27, 1},
    {"soil_conductivity", "uS/cm", 230, 1},
    {"left_to_right", "{count}", 42, 1},
    {"pulse_total", "{count}", -1, 0},
    {"smoke_concentration", "%", 5, 1},
    {"temperature", "K", 298, 1},  /* no row for kelvin: passes */
    {"mystery", "1", 1e9, 1},      /* unknown quantity: passes */
    {"temperature", "Cel", NAN, 0},
    {"mystery", "1", INFINITY, 0},
};

static void test_ranges(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < COUNT(ranges); i++) {
        const Range *t = &ranges[i];
        Err err;
        err_init(&err);
        int rc = ingest_check_range(t->field, t->unit, t->v, &err);
        bool ok = t->ok ? rc == 0 && err.code == 0
                        : rc == ERR_INVALID && strstr(err.msg, t->field) &&
                              strcmp(err.field, t->field) == 0;
        if (!ok) {
            print_error("range %s %g %s: rc %d msg '%s'\n", t->field, t->v, t->unit, rc, err.msg);
            failures++;
        }
    }
    Err err;
    err_init(&err);
    ingest_check_range("temperature", "Cel", 99.5, &err);
    assert_string_equal(err.msg, "temperature 99.5 Cel is outside -40..85 Cel");
    assert_int_equal(failures, 0);
}

/* Every value of every good example passes the range check. */
static void test_examples_in_range(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(dec_good); i++) {
        size_t n, count;
        uint8_t *p = unhex(dec_good[i].hex, &n);
        DecodedValue out[INGEST_VALUES_MAX];
        Err err;
        err_init(&err);
        assert_int_equal(ingest_decode(dec_good[i].decoder, dec_good[i].port, p, n, out,
                                       COUNT(out), &count, &err),
                         0);
        free(p);
        for (size_t k = 0; k < count; k++) {
            if (ingest_check_range(out[k].field, out[k].unit, out[k].value, &err))
                fail_msg("%s: %s", dec_good[i].decoder, err.msg);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decoders_good),
        cmocka_unit_test(test_decoders_bad),
        cmocka_unit_test(test_decoders_prefixes),
        cmocka_unit_test(test_decoders_small_out),
        cmocka_unit_test(test_decoders_names),
        cmocka_unit_test(test_tts_example),
        cmocka_unit_test(test_chirpstack_example),
        cmocka_unit_test(test_tts_bad),
        cmocka_unit_test(test_chirpstack_bad),
        cmocka_unit_test(test_uplink_variants),
        cmocka_unit_test(test_uplink_arena_cap),
        cmocka_unit_test(test_base64),
        cmocka_unit_test(test_topics),
        cmocka_unit_test(test_spec_good),
        cmocka_unit_test(test_spec_bad),
        cmocka_unit_test(test_spec_decode_errors),
        cmocka_unit_test(test_ranges),
        cmocka_unit_test(test_examples_in_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
