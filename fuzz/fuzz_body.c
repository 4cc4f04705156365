/*
 * fuzz_body.c - libFuzzer target for JSON request bodies through the real
 * handler, in-process: LLVMFuzzerInitialize opens a store on a file in a
 * fresh temporary directory, starts sta on an HttpServer bound to
 * 127.0.0.1:0 and seeds one Thing with a Location and a Datastream (with
 * its Sensor and ObservedProperty).  Each input is POSTed, as the body, to
 * /v1.1/Things or /v1.1/Datastreams(1)/Observations (the first byte
 * chooses); the answer must be 201, 400, 413 or 415, never a 5xx.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http/http.h"
#include "sta/sta.h"
#include "store/store.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OM "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"

static const char seed[] =
    "{\"name\":\"t\",\"description\":\"d\",\"Locations\":[{\"name\":\"l\",\"description\":"
    "\"d\",\"encodingType\":\"application/geo+json\",\"location\":{\"type\":\"Point\","
    "\"coordinates\":[7.47,51.36]}}],\"Datastreams\":[{\"name\":\"ds\",\"description\":\"d\","
    "\"observationType\":\"" OM "\",\"unitOfMeasurement\":{\"name\":\"degree Celsius\","
    "\"symbol\":\"degC\",\"definition\":\"http://unitsofmeasure.org\"},\"Sensor\":{\"name\":"
    "\"s\",\"description\":\"d\",\"encodingType\":\"application/pdf\",\"metadata\":\"m\"},"
    "\"ObservedProperty\":{\"name\":\"T\",\"definition\":\"http://example.org/T\","
    "\"description\":\"d\"}}]}";

static char dir[64], path[96];
static Store *store;
static Sta *sta;
static HttpServer *server;

static void cleanup(void)
{
    http_stop(server, 0);
    sta_free(sta);
    store_close(store);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[128];
        snprintf(p, sizeof p, "%s%s", path, suffix[i]);
        unlink(p);
    }
    rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    log_level = LOG_FATAL; /* one line per request would drown the fuzzer's output */
    snprintf(dir, sizeof dir, "/tmp/klammer-fuzz-body-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/fuzz.db", dir);
    StoreConfig scfg = {path, 2, 64, false};
    Err err;
    err_init(&err);
    if (store_open(&scfg, &store, &err))
        abort();
    StaConfig tcfg = {NULL, 100, 1000, NULL, NULL};
    sta = sta_new(store, &tcfg);
    HttpConfig hcfg = {"127.0.0.1:0", 1, 1 << 20, 8 << 20};
    if (http_start(&hcfg, sta_handle, sta, &server, &err))
        abort();
    atexit(cleanup);
    int status = 0;
    char *out = NULL;
    http_internal(server, "POST", "/v1.1/Things", seed, &status, &out);
    if (status != 201) {
        fprintf(stderr, "seed failed: %d %s\n", status, out);
        abort();
    }
    free(out);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *target = data[0] & 1 ? "/v1.1/Datastreams(1)/Observations" : "/v1.1/Things";
    char *body = malloc(size);
    memcpy(body, data + 1, size - 1);
    body[size - 1] = '\0';
    int status = 0;
    char *out = NULL;
    http_internal(server, "POST", target, body, &status, &out);
    if (status != 201 && status != 400 && status != 413 && status != 415) {
        fprintf(stderr, "POST %s -> %d %s\n", target, status, out ? out : "");
        abort();
    }
    free(out);
    free(body);
    return 0;
}
