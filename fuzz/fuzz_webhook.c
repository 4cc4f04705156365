/*
 * fuzz_webhook.c - libFuzzer target for the body of POST /api/ingest/tts
 * through the pure parts of the LoRaWAN pipeline: JSON (jansson) ->
 * ingest_parse_tts -> decode with a fixed registry entry (a Decentlab DL-MBX
 * mapped to two Datastreams, once with our decoder and once with the network
 * server's decoded_payload) -> range check -> CreateObservations body, which
 * must be valid JSON with one group per mapped value.
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

static const char *const registry[] = {
    "{\"devEui\":\"70B3D57BA0001267\",\"decoder\":\"decentlab-dl-mbx\","
    "\"mapping\":{\"distance\":{\"datastream\":1},\"battery\":{\"datastream\":2}}}",
    "{\"devEui\":\"70B3D57BA0001267\",\"decoder\":\"none\",\"useNsDecoded\":true,"
    "\"mapping\":{\"distance\":{\"datastream\":1,\"unit\":\"mm\"},"
    "\"battery_voltage\":{\"datastream\":2,\"unit\":\"V\"}}}",
};

static void run(const IngestDevice *dev, const Uplink *u)
{
    DecodedValue v[INGEST_VALUES_MAX];
    size_t n = 0;
    Err err;
    err_init(&err);
    int rc = ingest_device_decode(dev, u, v, INGEST_VALUES_MAX, &n, &err);
    if (rc) {
        check(err.code == rc && err.msg[0]);
        return;
    }
    check(n <= INGEST_VALUES_MAX);
    err_init(&err);
    if (ingest_check_mapped(dev, v, n, &err)) {
        check(err.msg[0]);
        return;
    }
    Buf b;
    buf_init(&b);
    size_t groups = 0;
    ingest_build_request(dev, u, v, n, &b, &groups);
    if (groups) {
        json_t *j = json_loadb(b.data, b.len, 0, NULL);
        check(j && json_array_size(j) == groups);
        json_decref(j);
    } else {
        check(b.len == 0);
    }
    buf_fini(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static IngestDevice devs[2];
    static Arena reg;
    static int ready;
    if (!ready) {
        arena_init(&reg, 1 << 20);
        for (int i = 0; i < 2; i++) {
            json_t *j = json_loads(registry[i], 0, NULL);
            Err err;
            err_init(&err);
            check(j && ingest_device_parse(&reg, j, NULL, &devs[i], &err) == 0);
            json_decref(j);
        }
        ready = 1;
    }
    json_t *root = json_loadb((const char *)data, size, 0, NULL);
    if (!root)
        return 0;
    Arena a;
    arena_init(&a, 1 << 20);
    Uplink u;
    Err err;
    err_init(&err);
    int rc = ingest_parse_tts(&a, root, &u, &err);
    if (rc == 0 && !u.no_payload) {
        run(&devs[0], &u);
        run(&devs[1], &u);
    } else if (rc) {
        check((rc == ERR_INVALID || rc == ERR_TOO_LARGE) && err.code == rc);
    }
    arena_fini(&a);
    json_decref(root);
    return 0;
}
