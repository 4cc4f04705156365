/*
 * fuzz_config.c - libFuzzer target for cfg_load_file.  The input is written
 * to a temporary file made once at start; loading must fail with
 * ERR_CONFIG naming the problem, or leave every option within its bounds:
 * strings terminated inside their buffers, integers in range, a log level
 * that parses.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/config.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];
static int fd = -1;

static void check(int cond)
{
    if (!cond)
        abort();
}

static void remove_file(void)
{
    if (fd >= 0)
        close(fd);
    unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(path, sizeof path, "/tmp/klammer-fuzz-config-XXXXXX");
    fd = mkstemp(path);
    if (fd < 0)
        abort();
    atexit(remove_file);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check(ftruncate(fd, 0) == 0);
    check(pwrite(fd, data, size, 0) == (ssize_t)size);
    Config cfg;
    cfg_defaults(&cfg);
    Err err;
    err_init(&err);
    int rc = cfg_load_file(&cfg, path, &err);
    if (rc) {
        check(rc == ERR_CONFIG && err.code == ERR_CONFIG && err.msg[0] != '\0');
        return 0;
    }
    check(memchr(cfg.db, 0, sizeof cfg.db) && memchr(cfg.listen, 0, sizeof cfg.listen));
    check(memchr(cfg.base_url, 0, sizeof cfg.base_url) && memchr(cfg.seed, 0, sizeof cfg.seed));
    check(memchr(cfg.log_level, 0, sizeof cfg.log_level) && log_level_parse(cfg.log_level) >= 0);
    check(cfg.top_default >= 1 && cfg.top_default <= 1000000);
    check(cfg.top_max >= 1 && cfg.top_max <= 1000000);
    check(cfg.body_limit >= 1024 && cfg.body_limit <= 1073741824);
    check(cfg.threads >= 1 && cfg.threads <= 256);
    check(cfg.sync_full == 0 || cfg.sync_full == 1);
    return 0;
}
