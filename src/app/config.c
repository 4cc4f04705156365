/*
 * config.c - the option table and its readers (see config.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "app/config.h"

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/log.h"

typedef enum { OPT_STR, OPT_INT, OPT_LEVEL, OPT_BOOL } OptType;

typedef struct Option {
    const char *name;  /* file key; flag is --name with '_' -> '-' */
    OptType type;
    size_t off;        /* offset in Config */
    size_t size;       /* OPT_STR: buffer size */
    const char *def;   /* default as text */
    int64_t min, max;  /* OPT_INT bounds */
    const char *env;
    const char *help;
} Option;

/* Replaced by "klammer-" and the host name in cfg_defaults. */
#define CLIENT_ID_DEFAULT "klammer-<hostname>"

#define STR(f) OPT_STR, offsetof(Config, f), sizeof(((Config *)0)->f)
#define INT(f) OPT_INT, offsetof(Config, f), 0

static const Option options[] = {
    {"db", STR(db), "klammer.db", 0, 0, "KLAMMER_DB",
     "SQLite database file (created if missing), or a postgresql:// URL"},
    {"listen", STR(listen), "127.0.0.1:8080", 0, 0, "KLAMMER_LISTEN",
     "address and port to serve HTTP on"},
    {"base_url", STR(base_url), "", 0, 0, "KLAMMER_BASE_URL",
     "public URL of the service root without /v1.1 (behind a proxy); empty = from the request"},
    {"top_default", INT(top_default), "100", 1, 1000000, "KLAMMER_TOP_DEFAULT",
     "page size when a request gives no $top"},
    {"top_max", INT(top_max), "10000", 1, 1000000, "KLAMMER_TOP_MAX",
     "largest page size served; larger $top values are reduced"},
    {"body_limit", INT(body_limit), "16777216", 1024, 1073741824, "KLAMMER_BODY_LIMIT",
     "largest request body in bytes (413 above)"},
    {"threads", INT(threads), "2", 1, 256, "KLAMMER_THREADS", "HTTP worker threads"},
    {"sync_full", OPT_BOOL, offsetof(Config, sync_full), 0, "true", 0, 1, "KLAMMER_SYNC_FULL",
     "fsync every commit (true) or rely on the OS after a crash of the machine (false)"},
    {"log_level", OPT_LEVEL, offsetof(Config, log_level), sizeof(((Config *)0)->log_level),
     "info", 0, 0, "KLAMMER_LOG_LEVEL", "debug, info, warn or error"},
    {"seed", STR(seed), "demo/hagen.json", 0, 0, "KLAMMER_SEED", "seed file for klammer demo"},
    {"mqtt", STR(mqtt), "", 0, 0, "KLAMMER_MQTT",
     "MQTT broker URL mqtt://host:port or mqtts://host:port; empty = MQTT off"},
    {"mqtt_username", STR(mqtt_username), "", 0, 0, "KLAMMER_MQTT_USERNAME",
     "MQTT user name; empty = anonymous"},
    {"mqtt_password", STR(mqtt_password), "", 0, 0, "KLAMMER_MQTT_PASSWORD", "MQTT password"},
    {"mqtt_ca_file", STR(mqtt_ca_file), "", 0, 0, "KLAMMER_MQTT_CA_FILE",
     "CA certificates (PEM) for mqtts://; empty = the system's"},
    {"mqtt_client_id", STR(mqtt_client_id), CLIENT_ID_DEFAULT, 0, 0, "KLAMMER_MQTT_CLIENT_ID",
     "MQTT client id, stable across restarts (the broker keeps the session under it)"},
    {"mqtt_session_expiry", INT(mqtt_session_expiry), "604800", 0, 4294967295LL,
     "KLAMMER_MQTT_SESSION_EXPIRY",
     "seconds the broker keeps klammer's MQTT session and queued messages while it is away"},
    {"mqtt_create", OPT_BOOL, offsetof(Config, mqtt_create), 0, "true", 0, 1,
     "KLAMMER_MQTT_CREATE",
     "store Observations published to v1.1/.../Observations (OGC 18-088 14.3) on this node"},
    {"mqtt_create_shared", OPT_BOOL, offsetof(Config, mqtt_create_shared), 0, "false", 0, 1,
     "KLAMMER_MQTT_CREATE_SHARED",
     "take those creates through the shared subscription $share/klammer/..., so that of "
     "several nodes one stores each (docs/scaling.md)"},
    {"ingest_mqtt", STR(ingest_mqtt), "", 0, 0, "KLAMMER_INGEST_MQTT",
     "broker of the LoRaWAN network server (ChirpStack, TTS) mqtt://host:port; empty = off"},
    {"ingest_mqtt_username", STR(ingest_mqtt_username), "", 0, 0,
     "KLAMMER_INGEST_MQTT_USERNAME", "user name at the LoRaWAN broker (TTS: app@tenant)"},
    {"ingest_mqtt_password", STR(ingest_mqtt_password), "", 0, 0,
     "KLAMMER_INGEST_MQTT_PASSWORD", "password at the LoRaWAN broker (TTS: API key)"},
    {"ingest_mqtt_ca_file", STR(ingest_mqtt_ca_file), "", 0, 0, "KLAMMER_INGEST_MQTT_CA_FILE",
     "CA certificates (PEM) for an mqtts:// LoRaWAN broker; empty = the system's"},
    {"ingest_mqtt_topics", STR(ingest_mqtt_topics),
     "application/+/device/+/event/up,v3/+/devices/+/up", 0, 0, "KLAMMER_INGEST_MQTT_TOPICS",
     "comma-separated uplink topic filters (ChirpStack v4, TTS v3)"},
    {"ingest_mqtt_clients", INT(ingest_mqtt_clients), "1", 1, 64, "KLAMMER_INGEST_MQTT_CLIENTS",
     "connections to the LoRaWAN broker, each handling a partition of the devices"},
    {"ingest_mqtt_inflight", INT(ingest_mqtt_inflight), "1024", 1, 1024,
     "KLAMMER_INGEST_MQTT_INFLIGHT",
     "uplinks per connection stored at once and not yet acknowledged (the MQTT v5 Receive "
     "Maximum; one worker thread each)"},
    {"ingest_mqtt_shared", OPT_BOOL, offsetof(Config, ingest_mqtt_shared), 0, "false", 0, 1,
     "KLAMMER_INGEST_MQTT_SHARED",
     "use one MQTT v5 shared subscription ($share/klammer/...) for the connections; only with "
     "a broker that queues shared messages while klammer is away (not Mosquitto 2.0)"},
    {"ingest_webhook_token", STR(ingest_webhook_token), "", 0, 0,
     "KLAMMER_INGEST_WEBHOOK_TOKEN",
     "shared secret of POST /api/ingest/tts (X-Webhook-Token or Authorization: Bearer)"},
    {"out", STR(out), "-", 0, 0, "KLAMMER_OUT",
     "klammer export: file to write (- = standard output)"},
    {"in", STR(in), "-", 0, 0, "KLAMMER_IN", "klammer import: file to read (- = standard input)"},
};

#define NOPT (sizeof options / sizeof options[0])

static int set_opt(Config *cfg, const Option *o, const char *v, const char *where, Err *err)
{
    char *p = (char *)cfg + o->off;
    switch (o->type) {
    case OPT_STR:
    case OPT_LEVEL:
        if (strlen(v) >= o->size)
            return err_set(err, ERR_CONFIG, o->name, "%s: value for %s is too long", where,
                           o->name);
        if (o->type == OPT_LEVEL && log_level_parse(v) < 0)
            return err_set(err, ERR_CONFIG, o->name,
                           "%s: %s must be debug, info, warn or error, not '%s'", where, o->name,
                           v);
        memcpy(p, v, strlen(v) + 1);
        return 0;
    case OPT_INT: {
        char *end;
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || x < o->min || x > o->max)
            return err_set(err, ERR_CONFIG, o->name,
                           "%s: %s must be an integer from %lld to %lld, not '%s'", where,
                           o->name, (long long)o->min, (long long)o->max, v);
        *(int64_t *)p = x;
        return 0;
    }
    case OPT_BOOL:
        if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0)
            *(int64_t *)p = 1;
        else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0)
            *(int64_t *)p = 0;
        else
            return err_set(err, ERR_CONFIG, o->name, "%s: %s must be true or false, not '%s'",
                           where, o->name, v);
        return 0;
    }
    return 0;
}

static const Option *find(const char *name, size_t n)
{
    for (size_t i = 0; i < NOPT; i++)
        if (strlen(options[i].name) == n && strncmp(options[i].name, name, n) == 0)
            return &options[i];
    return NULL;
}

void cfg_defaults(Config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < NOPT; i++)
        set_opt(cfg, &options[i], options[i].def, "default", NULL);
    char host[64] = "localhost";
    if (gethostname(host, sizeof host - 1) != 0 || !host[0])
        snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    snprintf(cfg->mqtt_client_id, sizeof cfg->mqtt_client_id, "klammer-%s", host);
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

int cfg_load_file(Config *cfg, const char *path, Err *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(err, ERR_CONFIG, "config", "cannot read config file %s", path);
    char line[1024], where[600];
    int lineno = 0, rc = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n' && !feof(f)) {
            rc = err_set(err, ERR_CONFIG, "config", "%s:%d: line longer than %zu bytes", path,
                         lineno, sizeof line - 2);
            break;
        }
        char *s = trim(line);
        if (!*s || *s == '#')
            continue;
        snprintf(where, sizeof where, "%s:%d", path, lineno);
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = err_set(err, ERR_CONFIG, "config", "%s: expected 'name = value'", where);
            break;
        }
        *eq = '\0';
        char *name = trim(s), *value = trim(eq + 1);
        size_t vn = strlen(value);
        if (vn >= 2 && value[0] == '"' && value[vn - 1] == '"')
            value[vn - 1] = '\0', value++;
        const Option *o = find(name, strlen(name));
        rc = o ? set_opt(cfg, o, value, where, err)
               : err_set(err, ERR_CONFIG, name, "%s: unknown option '%s'", where, name);
    }
    fclose(f);
    return rc;
}

int cfg_load_env(Config *cfg, Err *err)
{
    for (size_t i = 0; i < NOPT; i++) {
        const char *v = getenv(options[i].env);
        int rc = v ? set_opt(cfg, &options[i], v, options[i].env, err) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

/* Flag name for an option: --top-default. */
static bool flag_is(const char *arg, size_t n, const char *name)
{
    if (strlen(name) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (arg[i] != (name[i] == '_' ? '-' : name[i]))
            return false;
    return true;
}

int cfg_load_flags(Config *cfg, int argc, char **argv, Err *err)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0)
            return err_set(err, ERR_CONFIG, a, "unexpected argument '%s'", a);
        a += 2;
        const char *eq = strchr(a, '=');
        size_t n = eq ? (size_t)(eq - a) : strlen(a);
        const char *v = eq ? eq + 1 : NULL;
        bool is_config = n == 6 && strncmp(a, "config", 6) == 0;
        const Option *o = NULL;
        for (size_t k = 0; k < NOPT && !o; k++)
            if (flag_is(a, n, options[k].name))
                o = &options[k];
        if (!o && !is_config)
            return err_set(err, ERR_CONFIG, argv[i], "unknown option '%s'", argv[i]);
        if (!v) {
            if (i + 1 >= argc)
                return err_set(err, ERR_CONFIG, argv[i], "option '%s' needs a value", argv[i]);
            v = argv[++i];
        }
        if (is_config)
            continue;
        char where[64];
        snprintf(where, sizeof where, "--%.*s", (int)n, a);
        int rc = set_opt(cfg, o, v, where, err);
        if (rc)
            return rc;
    }
    return 0;
}

int cfg_load(Config *cfg, int argc, char **argv, Err *err)
{
    cfg_defaults(cfg);
    const char *file = getenv("KLAMMER_CONFIG");
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
            file = argv[i + 1];
        else if (strncmp(argv[i], "--config=", 9) == 0)
            file = argv[i] + 9;
    }
    int rc = 0;
    if (file && *file)
        rc = cfg_load_file(cfg, file, err);
    if (!rc)
        rc = cfg_load_env(cfg, err);
    if (!rc)
        rc = cfg_load_flags(cfg, argc, argv, err);
    return rc;
}

void cfg_print(const Config *cfg, FILE *f)
{
    for (size_t i = 0; i < NOPT; i++) {
        const Option *o = &options[i];
        const char *p = (const char *)cfg + o->off;
        if (o->type == OPT_INT)
            fprintf(f, "%s = %lld\n", o->name, (long long)*(const int64_t *)p);
        else if (o->type == OPT_BOOL)
            fprintf(f, "%s = %s\n", o->name, *(const int64_t *)p ? "true" : "false");
        else if ((strstr(o->name, "password") || strstr(o->name, "token")) && *p)
            fprintf(f, "%s = ********\n", o->name);
        else if (p == cfg->db) {
            char db[sizeof cfg->db];
            fprintf(f, "%s = %s\n", o->name, store_db_redacted(p, db, sizeof db));
        }
        else
            fprintf(f, "%s = %s\n", o->name, p);
    }
}

void cfg_help(FILE *f)
{
    for (size_t i = 0; i < NOPT; i++) {
        const Option *o = &options[i];
        char flag[64];
        snprintf(flag, sizeof flag, "--%s", o->name);
        for (char *c = flag; *c; c++)
            if (*c == '_')
                *c = '-';
        fprintf(f, "  %-16s %-22s %s (default: %s)\n", flag, o->env, o->help,
                o->def[0] ? o->def : "\"\"");
    }
}
