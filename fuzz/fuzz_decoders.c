/*
 * fuzz_decoders.c - libFuzzer target for the LoRaWAN payload decoders.  The
 * low nibble of the first byte picks one of the built-in decoders (15 = a
 * decoder declared with a DecoderSpec), the high nibble picks the fPort from
 * a table of the ports the devices use plus some they do not; the rest of the
 * input is the payload, copied to a block of exactly its size so that ASan
 * catches any read past n.  Every decoder must return 0 or ERR_INVALID
 * (a message, the caller's array untouched on failure), and on success
 * return finite values with a field and a unit.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
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

static const int ports[16] = {1, 2, 3, 14, 85, 85, 1, 2, 5, 190, 0, 4, 224, 255, 100, 85};

static const char spec_text[] =
    "name=fuzz; battery:u16be@0&0x3FFF/1000 V; level:u16le@2*0.001 m; t:s16be@4/10 Cel;"
    "f:f32le@6; on:u8@10&0x01 bool; c:u32be@11; s:s8@15; k:s32le@16-5 {count}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static DecoderSpec spec;
    static int spec_ready;
    if (!spec_ready) {
        static Arena a; /* lives for the whole run: spec borrows from it */
        arena_init(&a, 0);
        Err e;
        err_init(&e);
        check(ingest_decoder_spec_parse(&a, spec_text, &spec, &e) == 0);
        spec_ready = 1;
    }
    if (size == 0)
        return 0;
    const char *const *names = ingest_decoder_names();
    size_t ndec = 0;
    while (names[ndec])
        ndec++;
    unsigned pick = data[0] & 0x0f;
    int port = ports[data[0] >> 4];
    size_t n = size - 1;
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, data + 1, n);

    DecodedValue out[INGEST_VALUES_MAX];
    memset(out, 0, sizeof out);
    size_t count = SIZE_MAX;
    Err err;
    err_init(&err);
    int rc;
    if (pick < ndec)
        rc = ingest_decode(names[pick], port, p, n, out, INGEST_VALUES_MAX, &count, &err);
    else
        rc = ingest_decode_spec(&spec, port, p, n, out, INGEST_VALUES_MAX, &count, &err);
    if (rc == 0) {
        check(err.code == 0 && count <= INGEST_VALUES_MAX);
        for (size_t i = 0; i < count; i++) {
            check(out[i].field && out[i].field[0] && out[i].unit && out[i].unit[0]);
            check(isfinite(out[i].value));
            check(!out[i].is_bool || out[i].value == 0 || out[i].value == 1);
            for (size_t k = 0; k < i; k++)
                check(strcmp(out[i].field, out[k].field) != 0);
            Err r;
            err_init(&r);
            int rr = ingest_check_range(out[i].field, out[i].unit, out[i].value, &r);
            check(rr == 0 || (rr == ERR_INVALID && r.msg[0]));
        }
    } else {
        check(rc == ERR_INVALID && err.code == ERR_INVALID && err.msg[0] != '\0');
        check(count == SIZE_MAX && out[0].field == NULL);
    }
    free(p);
    return 0;
}
