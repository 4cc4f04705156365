/*
 * fuzz_import_line.c - libFuzzer target for the lines of klammer import:
 * each input is split into lines and applied after a valid header, as
 * klammer import applies a file (transfer_line: the JSON object, its type,
 * sta_dump_parse, the order and reference checks, the store), inside one
 * writer job on a store in a fresh temporary directory.  The job always
 * fails at its end, so its savepoint is rolled back and every input starts
 * from the empty database.  A line may be refused for what it says, never
 * with a storage or internal error, and nothing may crash.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/transfer.h"
#include "store/store.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 32
#define HEADER                                                                          \
    "{\"type\":\"klammer-export\",\"format\":\"klammer-sensorthings-jsonl\","           \
    "\"formatVersion\":1}"

static char dir[64], path[96];
static Store *store;

static void cleanup(void)
{
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
    log_level = LOG_FATAL;
    snprintf(dir, sizeof dir, "/tmp/klammer-fuzz-import-XXXXXX");
    if (!mkdtemp(dir))
        abort();
    snprintf(path, sizeof path, "%s/fuzz.db", dir);
    StoreConfig scfg = {path, 1, 16, false};
    Err err;
    err_init(&err);
    if (store_open(&scfg, &store, &err))
        abort();
    atexit(cleanup);
    return 0;
}

typedef struct Input {
    const char *data;
    size_t size;
} Input;

static int apply(StoreConn *c, Arena *a, TransferState *st, const char *s, size_t n, Err *err)
{
    json_error_t je;
    json_t *obj = json_loadb(s, n, JSON_ALLOW_NUL, &je);
    if (!obj)
        return ERR_BAD_JSON;
    int rc = transfer_line(c, a, st, obj, err);
    json_decref(obj);
    return rc;
}

static int job(StoreConn *c, void *data, Err *err)
{
    Input *in = data;
    TransferState st = {.ents = sta_dump_state_new()};
    Arena a;
    arena_init(&a, 16u << 20);
    int rc = apply(c, &a, &st, HEADER, strlen(HEADER), err);
    const char *p = in->data, *end = in->data + in->size;
    for (int i = 0; !rc && p < end && i < MAX_LINES; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        Err e;
        err_init(&e);
        int r = apply(c, &a, &st, p, n, &e);
        if (r == ERR_STORAGE || r == ERR_INTERNAL || r == ERR_IO) {
            fprintf(stderr, "line %d: %s: %s\n", i + 1, e.field, e.msg);
            abort();
        }
        p += n + 1;
    }
    arena_fini(&a);
    sta_dump_state_free(st.ents);
    return rc ? rc : err_set(err, ERR_CONFLICT, NULL, "rolled back");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Input in = {(const char *)data, size};
    Err err;
    err_init(&err);
    if (store_run(store, job, &in, &err) != ERR_CONFLICT)
        abort(); /* the header must pass; the job always ends rolled back */
    return 0;
}
