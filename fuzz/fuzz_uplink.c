/*
 * fuzz_uplink.c - libFuzzer target for the network-server formats: the input
 * is parsed as JSON with jansson and run through the ChirpStack and the TTS
 * parser; it is also tried as an MQTT topic and as base64.  Parsers must
 * return 0, ERR_INVALID (with a message) or ERR_TOO_LARGE (arena cap); a
 * parsed Uplink must be self-consistent.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_uplink(int rc, const Uplink *u, const Err *err)
{
    if (rc != 0) {
        check((rc == ERR_INVALID || rc == ERR_TOO_LARGE) && err->code == rc);
        check(rc == ERR_TOO_LARGE || err->msg[0] != '\0');
        return;
    }
    check(strlen(u->dev_eui) == INGEST_EUI_LEN);
    for (int i = 0; i < INGEST_EUI_LEN; i++)
        check((u->dev_eui[i] >= '0' && u->dev_eui[i] <= '9') ||
              (u->dev_eui[i] >= 'A' && u->dev_eui[i] <= 'F'));
    check(u->f_port >= 0 && u->f_port <= 255);
    check(u->payload_len <= INGEST_PAYLOAD_MAX);
    check((u->payload_len == 0) == (u->payload == NULL));
    check(u->no_payload == (u->f_port == 0 || u->payload_len == 0));
    check(u->device && u->application);
    check(u->gateway_count >= 0);
    check(u->spreading_factor >= 0 && u->spreading_factor <= 12);
    check(u->data_rate >= -1 && u->data_rate <= 15);
    check(strlen(u->coding_rate) < sizeof u->coding_rate);
    check(u->decoded == NULL || json_is_object(u->decoded));
    /* Touch every payload byte so that ASan sees the block. */
    unsigned sum = 0;
    for (size_t i = 0; i < u->payload_len; i++)
        sum += u->payload[i];
    (void)sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Arena a;
    Uplink u;
    Err err;
    json_error_t je;
    json_t *msg = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
    if (msg) {
        /* A small cap on the first byte's whim exercises ERR_TOO_LARGE too. */
        size_t cap = size > 0 && data[0] == ' ' ? 64 : 1 << 16;
        arena_init(&a, cap);
        err_init(&err);
        check_uplink(ingest_parse_chirpstack(&a, msg, &u, &err), &u, &err);
        err_init(&err);
        check_uplink(ingest_parse_tts(&a, msg, &u, &err), &u, &err);
        arena_fini(&a);
        json_decref(msg);
    }

    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    IngestTopic t;
    err_init(&err);
    int rc = ingest_parse_topic(s, &t, &err);
    if (rc == 0) {
        check(t.app >= s && t.app + t.app_len <= s + size && t.app_len > 0);
        check(t.device >= s && t.device + t.device_len <= s + size && t.device_len > 0);
        check(!t.tenant || (t.tenant > s && t.tenant + t.tenant_len <= s + size));
    } else {
        check(rc == ERR_INVALID && err.msg[0]);
    }
    free(s);

    uint8_t out[INGEST_PAYLOAD_MAX];
    size_t n = 0;
    err_init(&err);
    char *b = malloc(size ? size : 1);
    memcpy(b, data, size);
    rc = ingest_base64_decode(b, size, out, sizeof out, &n, &err);
    check(rc == 0 || rc == ERR_INVALID || rc == ERR_TOO_LARGE);
    if (rc == 0)
        check(n <= sizeof out && n == size / 4 * 3 - (size && b[size - 1] == '=') -
                                         (size > 1 && b[size - 2] == '='));
    free(b);
    return 0;
}
