/*
 * fuzz_decoder_spec.c - libFuzzer target for the decoder-spec parser.  The
 * input is the spec text; a failure must be ERR_INVALID (or ERR_TOO_LARGE
 * from the arena cap) with a column inside the text, and an accepted spec
 * must be consistent and decode fixed payloads (all zero, all 0xff, a
 * counting pattern, each of several lengths) without reading past them.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text); /* an embedded NUL ends the spec */
    Arena a;
    arena_init(&a, 1 << 14);
    DecoderSpec spec;
    Err err;
    err_init(&err);
    int rc = ingest_decoder_spec_parse(&a, text, &spec, &err);
    if (rc != 0) {
        check((rc == ERR_INVALID || rc == ERR_TOO_LARGE) && err.code == rc);
        if (rc == ERR_INVALID)
            check(err.msg[0] && err.position >= 1 && (size_t)err.position <= len + 1);
        goto done;
    }
    check(spec.name && spec.name[0] && spec.nfields >= 1 &&
          spec.nfields <= INGEST_SPEC_FIELDS_MAX);
    check(spec.port >= 0 && spec.port <= 223 && spec.length >= 0 && spec.length <= 255);
    for (size_t i = 0; i < spec.nfields; i++) {
        const DecoderSpecField *f = &spec.fields[i];
        check(f->name && f->unit && f->unit[0]);
        check(f->width == 1 || f->width == 2 || f->width == 4);
        check(f->offset + f->width <= 255);
        check(isfinite(f->scale) && f->scale != 0 && isfinite(f->add));
    }
    static const size_t lens[] = {0, 1, 2, 4, 8, 16, 64, 255};
    for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
        for (int pat = 0; pat < 3; pat++) {
            size_t n = lens[li];
            uint8_t *p = malloc(n ? n : 1);
            for (size_t i = 0; i < n; i++)
                p[i] = pat == 0 ? 0 : pat == 1 ? 0xff : (uint8_t)(i * 37 + 11);
            DecodedValue out[INGEST_VALUES_MAX];
            size_t count;
            int port = spec.port ? spec.port : 1;
            err_init(&err);
            rc = ingest_decode_spec(&spec, port, n ? p : NULL, n, out, INGEST_VALUES_MAX, &count,
                                    &err);
            if (rc == 0) {
                check(count == spec.nfields);
                for (size_t i = 0; i < count; i++)
                    check(isfinite(out[i].value));
            } else {
                check(rc == ERR_INVALID && err.msg[0]);
            }
            free(p);
        }
    }
done:
    arena_fini(&a);
    free(text);
    return 0;
}
