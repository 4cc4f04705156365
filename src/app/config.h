/*
 * config.h - every option in one table: config file, environment, flags,
 * check-config and --help are all driven by it.
 *
 * Precedence: built-in default < config file < environment < flag.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_CONFIG_H
#define KLAMMER_CONFIG_H

#include <stdint.h>
#include <stdio.h>

#include "util/err.h"

/* The version klammer reports (export header). */
#define KLAMMER_VERSION "0.1.0"

typedef struct Config {
    char db[512];        /* SQLite database file or postgresql:// URL */
    char listen[128];    /* ADDR:PORT */
    char base_url[512];  /* public service root without version, "" = from request */
    int64_t top_default; /* $top default */
    int64_t top_max;     /* $top maximum */
    int64_t body_limit;  /* bytes */
    int64_t threads;     /* HTTP worker threads */
    int64_t sync_full;   /* 1 = fsync every commit */
    char log_level[16];  /* debug|info|warn|error */
    char seed[512];      /* demo seed file */
    char mqtt[512];      /* broker URL mqtt://host:port or mqtts://host:port, "" = MQTT off */
    char mqtt_username[128]; /* "" = none */
    char mqtt_password[256]; /* "" = none; printed masked by cfg_print */
    char mqtt_ca_file[512];  /* CA certificates (PEM) for mqtts://, "" = the system's */
    char mqtt_client_id[128]; /* stable client id; the broker keeps our session under it */
    int64_t mqtt_session_expiry; /* seconds the broker keeps our session while we are away */
    int64_t mqtt_create;         /* 1 = store Observations published by clients (§14.3) */
    int64_t mqtt_create_shared;  /* 1 = through $share/klammer/...: one node of several stores each */
    char ingest_mqtt[512];          /* LoRaWAN network server's broker URL, "" = off */
    char ingest_mqtt_username[128]; /* "" = none */
    char ingest_mqtt_password[256]; /* "" = none; printed masked */
    char ingest_mqtt_ca_file[512];  /* CA certificates (PEM) for mqtts:// */
    char ingest_mqtt_topics[512];   /* comma-separated topic filters */
    int64_t ingest_mqtt_clients;    /* parallel connections to the LoRaWAN broker */
    int64_t ingest_mqtt_shared;     /* 1 = one $share/klammer/ subscription for all of them */
    int64_t ingest_mqtt_inflight;   /* uplinks in flight (and being stored) per connection */
    char ingest_webhook_token[256]; /* shared secret of POST /api/ingest/tts, "" = none */
    char out[512];                  /* klammer export: file to write, "-" = standard output */
    char in[512];                   /* klammer import: file to read, "-" = standard input */
} Config;

/* Fills cfg with the built-in defaults. */
void cfg_defaults(Config *cfg);

/* Reads "name = value" lines from path.  ERR_CONFIG naming the line and option. */
int cfg_load_file(Config *cfg, const char *path, Err *err);

/* Applies KLAMMER_* environment variables. */
int cfg_load_env(Config *cfg, Err *err);

/*
 * Applies flags from argv[0..argc) ("--db PATH" or "--db=PATH"); --config is
 * skipped (handled by the caller first).  ERR_CONFIG for unknown flags.
 */
int cfg_load_flags(Config *cfg, int argc, char **argv, Err *err);

/* Full load: defaults, --config FILE (from argv), env, flags. */
int cfg_load(Config *cfg, int argc, char **argv, Err *err);

/* Writes "name = value" for every option. */
void cfg_print(const Config *cfg, FILE *f);

/* Writes the option table for --help. */
void cfg_help(FILE *f);

#endif
