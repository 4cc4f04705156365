/*
 * fuzz_batch.c - libFuzzer target for the $batch body parser
 * (sta_batch_parse).  The first byte chooses the format: odd = JSON, even =
 * multipart/mixed with boundary "b" (or, with bit 1 set, the quoted
 * boundary "batch_1").  The rest, copied to a buffer of exactly its size so
 * that a read past it is caught, is the body.  Invariants on success: at
 * least one and at most STA_BATCH_MAX_REQUESTS requests, each with a
 * method and a URL, group numbers below ngroups, and multipart bodies that
 * lie inside the input.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sta/sta_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    const char *ct = data[0] & 1   ? "application/json"
                     : data[0] & 2 ? "multipart/mixed; boundary=\"batch_1\""
                                   : "multipart/mixed; boundary=b";
    size_t len = size - 1;
    char *body = malloc(len ? len : 1);
    memcpy(body, data + 1, len);
    Arena a;
    arena_init(&a, 4 << 20);
    StaBatch b;
    Err err;
    err_init(&err);
    int rc = sta_batch_parse(&a, ct, body, len, &b, &err);
    if (rc == 0) {
        if (b.nparts == 0 || b.nparts > STA_BATCH_MAX_REQUESTS)
            abort();
        for (size_t i = 0; i < b.nparts; i++) {
            const StaBatchPart *p = &b.parts[i];
            if (!p->method || !p->url || p->group >= b.ngroups || p->group < -1)
                abort();
            if (!b.json && p->body && (p->body < body || p->body + p->body_len > body + len))
                abort();
        }
    } else if (!err.code || !err.msg[0]) {
        abort(); /* every failure says what is wrong */
    }
    arena_fini(&a);
    free(body);
    return 0;
}
