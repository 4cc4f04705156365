/*
 * fuzz_path.c - libFuzzer target for query_parse_path.  The input becomes a
 * NUL-terminated heap copy; failures must be 404 or 400 with a message, and
 * a parsed path must be well formed: a root has no segments, every segment
 * after the first follows a relation of the one before, and a property
 * comes with RES_PROPERTY or RES_VALUE only.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/query.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    ResourcePath rp;
    Err err;
    err_init(&err);
    int rc = query_parse_path(s, &rp, &err);
    if (rc) {
        check(rc == ERR_NOT_FOUND || rc == ERR_BAD_REQUEST);
        check(err.code == rc && err.msg[0] != '\0');
    } else {
        check(err.code == 0);
        check(rp.nsegs >= 0 && rp.nsegs <= QUERY_MAX_SEGS);
        check((rp.kind == RES_ROOT) == (rp.nsegs == 0));
        check((rp.prop != NULL) == (rp.kind == RES_PROPERTY || rp.kind == RES_VALUE));
        for (int i = 0; i < rp.nsegs; i++) {
            const PathSeg *g = &rp.segs[i];
            check(g->def != NULL && (i == 0) == (g->rel == NULL));
            check(!g->has_id || g->id >= 0);
            if (i > 0)
                check(g->rel->target == g->def->type &&
                      model_rel(rp.segs[i - 1].def, g->rel->name, strlen(g->rel->name)) ==
                          g->rel);
        }
        if (rp.prop)
            check(model_prop(rp.segs[rp.nsegs - 1].def, rp.prop->name,
                             strlen(rp.prop->name)) == rp.prop);
    }
    free(s);
    return 0;
}
