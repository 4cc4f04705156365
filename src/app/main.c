/*
 * main.c - the klammer command: serve, demo, check-config, export, import, help.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/config.h"
#include "app/demo.h"
#include "app/routes.h"
#include "app/transfer.h"
#include "events/events.h"
#include "http/http.h"
#include "ingest/ingest.h"
#include "sta/sta.h"
#include "store/store.h"
#include "util/log.h"

/* The shutdown flag: the only global besides the log level. */
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *f)
{
    fprintf(f,
            "klammer - the Urban Data Platform of Hagen (OGC SensorThings API v1.1)\n"
            "\n"
            "usage: klammer <command> [options]\n"
            "\n"
            "commands:\n"
            "  serve         serve the SensorThings API at http://LISTEN/v1.1\n"
            "  demo          seed the Hagen demo network (once) and serve it with a simulator\n"
            "  check-config  print the effective configuration and exit (2 if invalid)\n"
            "  import-devices FILE  register the LoRaWAN devices of a JSON array (docs/lorawan.md)\n"
            "  export        write the whole database as SensorThings JSON lines to --out\n"
            "  import        read an export from --in into a new, empty database\n"
            "  help          this text\n"
            "\n"
            "options (flag, environment variable, meaning); precedence:\n"
            "default < --config FILE (or KLAMMER_CONFIG) < environment < flag\n"
            "  --config FILE    KLAMMER_CONFIG         configuration file of 'name = value' "
            "lines\n");
    cfg_help(f);
}

/* One connection to the LoRaWAN broker. */
typedef struct IngestClient {
    struct App *app;
    unsigned index, n; /* partition index of n (unshared subscriptions) */
    bool shared;       /* the broker spreads messages ($share/...): no partitioning */
} IngestClient;

typedef struct App {
    Config cfg;
    Store *store;
    Events *events;
    MqttSink *mqtt;
    Ingest *ingest;             /* LoRaWAN pipeline */
    MqttIn *ingest_mqtt[64];    /* connections to the LoRaWAN broker */
    IngestClient ingest_clients[64];
    size_t ningest_mqtt;
    Sta *sta;
    Routes routes;
    HttpServer *http;
} App;

/* MQTT create requests (OGC 18-088 §14.3) take exactly the HTTP write path. */
static int mqtt_create(void *data, const char *path, const char *body, int *status,
                       char **resp)
{
    App *app = data;
    return http_internal(app->http, "POST", path, body, status, resp);
}

/* The write path of the LoRaWAN ingest. */
static int ingest_create(void *data, const char *path, const char *body, IngestTxFn tx,
                         void *tx_data, int *status, char **resp)
{
    App *app = data;
    return http_internal_tx(app->http, "POST", path, body, tx, tx_data, status, resp);
}

/* Keeps a rejected MQTT message in the dead-letter store; returns after the commit. */
static int mqtt_dead_letter(void *data, const char *topic, const void *payload, size_t len,
                            const char *reason)
{
    App *app = data;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    StoreDeadLetter dl = {0, (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000, "mqtt", topic,
                          payload, len, reason, 0};
    Err err;
    err_init(&err);
    return store_run(app->store, store_dead_letter_add, &dl, &err);
}

/*
 * Uplinks from the LoRaWAN broker, stored before their PUBACKs go out.
 * Without a shared subscription every connection receives every uplink and
 * handles those of its partition: the devices whose topic segment hashes
 * to its index (so one device always goes through one connection).
 */
static size_t ingest_batch(void *data, const MqttInMsg *msgs, size_t n)
{
    IngestClient *ic = data;
    IngestMsg *in = xcalloc(n, sizeof *in);
    IngestResult *res = xcalloc(n, sizeof *res);
    size_t k = 0, dropped = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ic->shared && ic->n > 1) {
            IngestTopic t;
            Err err;
            err_init(&err);
            uint32_t h = 2166136261u;
            if (ingest_parse_topic(msgs[i].topic, &t, &err) == 0)
                for (size_t j = 0; j < t.device_len; j++)
                    h = (h ^ (unsigned char)(t.device[j] | 0x20)) * 16777619u;
            if (h % ic->n != ic->index)
                continue;
        }
        in[k++] = (IngestMsg){NULL, msgs[i].topic, msgs[i].payload, msgs[i].len};
    }
    if (k)
        ingest_uplinks(ic->app->ingest, in, k, 0, res);
    for (size_t i = 0; i < k; i++)
        dropped += res[i].outcome == INGEST_FAILED;
    free(in);
    free(res);
    return dropped;
}

/*
 * The LoRaWAN transports: ingest_mqtt_clients connections to the network
 * server's broker, each with ingest_mqtt_inflight uplinks in flight, which
 * the writer commits together.  Each keeps its own persistent session.  With
 * ingest_mqtt_shared the connections share one MQTT v5 subscription per
 * topic filter ($share/klammer/...) and the broker spreads the uplinks;
 * without (the default) each subscribes normally and handles its partition
 * of the devices.  Mosquitto 2.0 drops shared-subscription messages while
 * no member of the group is connected (a klammer restart, a reconnect after
 * a broker restart) and queues them for nobody, so only plain persistent
 * subscriptions lose nothing there (docs/lorawan.md).
 */
static int ingest_setup(App *app, Err *err)
{
    Config *cfg = &app->cfg;
    IngestConfig ic = {app->store, ingest_create, app};
    app->ingest = ingest_new(&ic);
    if (!cfg->ingest_mqtt[0])
        return 0;
    char topics_buf[sizeof cfg->ingest_mqtt_topics];
    char shared[8][600];
    const char *topics[8];
    size_t nt = 0;
    snprintf(topics_buf, sizeof topics_buf, "%s", cfg->ingest_mqtt_topics);
    for (char *save = NULL, *t = strtok_r(topics_buf, ", ", &save); t && nt < 8;
         t = strtok_r(NULL, ", ", &save)) {
        if (strncmp(t, "$share/", 7) == 0 || !cfg->ingest_mqtt_shared)
            snprintf(shared[nt], sizeof shared[nt], "%s", t);
        else
            snprintf(shared[nt], sizeof shared[nt], "$share/klammer/%s", t);
        topics[nt] = shared[nt];
        nt++;
    }
    if (nt == 0)
        return err_set(err, ERR_CONFIG, "ingest_mqtt_topics", "ingest_mqtt_topics is empty");
    for (int64_t i = 0; i < cfg->ingest_mqtt_clients; i++) {
        char id[160];
        snprintf(id, sizeof id, "%s-lorawan-%lld", cfg->mqtt_client_id, (long long)i + 1);
        MqttInConfig mc = {cfg->ingest_mqtt,
                           cfg->ingest_mqtt_username,
                           cfg->ingest_mqtt_password,
                           cfg->ingest_mqtt_ca_file,
                           id,
                           cfg->mqtt_session_expiry,
                           topics,
                           nt,
                           (int)cfg->ingest_mqtt_inflight,
                           ingest_batch,
                           &app->ingest_clients[i]};
        app->ingest_clients[i] = (IngestClient){app, (unsigned)i,
                                                (unsigned)cfg->ingest_mqtt_clients,
                                                cfg->ingest_mqtt_shared != 0};
        MqttIn *m = events_mqtt_in_new(&mc, err);
        if (!m)
            return err->code;
        app->ingest_mqtt[app->ningest_mqtt++] = m;
    }
    return 0;
}

static void ingest_teardown(App *app)
{
    for (size_t i = 0; i < app->ningest_mqtt; i++)
        events_mqtt_in_stop(app->ingest_mqtt[i]);
}

static void ingest_free_all(App *app)
{
    for (size_t i = 0; i < app->ningest_mqtt; i++)
        events_mqtt_in_free(app->ingest_mqtt[i]);
    app->ningest_mqtt = 0;
    ingest_free(app->ingest);
    app->ingest = NULL;
}

static int demo_request(void *data, const char *method, const char *path, const char *body,
                        int *status, char **resp)
{
    App *app = data;
    char full[2048];
    snprintf(full, sizeof full, "/v1.1%s", path);
    return http_internal(app->http, method, full, body, status, resp);
}

static int run(App *app, bool demo)
{
    Config *cfg = &app->cfg;
    Err err;
    err_init(&err);
    StoreConfig sc = {cfg->db, (int)cfg->threads + 2, 1024, cfg->sync_full != 0};
    char db[sizeof cfg->db];
    store_db_redacted(cfg->db, db, sizeof db);
    if (store_open(&sc, &app->store, &err)) {
        LOG(LOG_ERROR, "msg=\"cannot open the database\" db=\"%s\" error=\"%s\"", db, err.msg);
        return 1;
    }
    app->events = events_new();
    if (cfg->mqtt[0]) {
        MqttConfig mc = {cfg->mqtt,
                         cfg->mqtt_username,
                         cfg->mqtt_password,
                         cfg->mqtt_ca_file,
                         cfg->mqtt_client_id,
                         cfg->mqtt_session_expiry,
                         cfg->mqtt_create ? mqtt_create : NULL,
                         cfg->mqtt_create_shared != 0,
                         mqtt_dead_letter,
                         app};
        app->mqtt = events_mqtt_new(&mc, &err);
        if (!app->mqtt) {
            LOG(LOG_ERROR, "msg=\"cannot set up MQTT\" mqtt=\"%s\" error=\"%s\"", cfg->mqtt,
                err.msg);
            events_free(app->events);
            store_close(app->store);
            return 1;
        }
        events_add_sink(app->events, events_mqtt_sink, app->mqtt);
    }
    if (ingest_setup(app, &err)) {
        LOG(LOG_ERROR, "msg=\"cannot set up LoRaWAN ingest\" error=\"%s\"", err.msg);
        ingest_free_all(app);
        events_mqtt_free(app->mqtt);
        events_free(app->events);
        store_close(app->store);
        return 1;
    }
    StaConfig stc = {cfg->base_url, cfg->top_default, cfg->top_max, app->events,
                     cfg->mqtt[0] ? cfg->mqtt : NULL};
    app->sta = sta_new(app->store, &stc);
    app->routes = (Routes){app->sta,          app->store,        app->mqtt,
                           cfg->top_max,      app->ingest,       app->ingest_mqtt,
                           app->ningest_mqtt, cfg->ingest_webhook_token};
    HttpConfig hc = {cfg->listen, (int)cfg->threads, (size_t)cfg->body_limit, 256u << 20};
    if (http_start(&hc, routes_handle, &app->routes, &app->http, &err)) {
        LOG(LOG_ERROR, "msg=\"cannot start the HTTP server\" listen=\"%s\" error=\"%s\"",
            cfg->listen, err.msg);
        sta_free(app->sta);
        ingest_free_all(app);
        events_mqtt_free(app->mqtt);
        events_free(app->events);
        store_close(app->store);
        return 1;
    }
    LOG(LOG_INFO, "msg=\"listening\" url=http://%s/v1.1 db=\"%s\" threads=%lld", cfg->listen,
        db, (long long)cfg->threads);
    if (app->mqtt) {
        if (events_mqtt_start(app->mqtt, &err))
            LOG(LOG_ERROR, "msg=\"cannot start MQTT\" error=\"%s\"", err.msg);
        else
            LOG(LOG_INFO, "msg=\"mqtt\" url=\"%s\" client_id=\"%s\"", cfg->mqtt,
                cfg->mqtt_client_id);
    }

    for (size_t i = 0; i < app->ningest_mqtt; i++)
        if (events_mqtt_in_start(app->ingest_mqtt[i], &err))
            LOG(LOG_ERROR, "msg=\"cannot start LoRaWAN MQTT\" error=\"%s\"", err.msg);
    if (app->ningest_mqtt)
        LOG(LOG_INFO, "msg=\"lorawan ingest\" url=\"%s\" clients=%zu topics=\"%s\"",
            cfg->ingest_mqtt, app->ningest_mqtt, cfg->ingest_mqtt_topics);

    DemoSim *sim = NULL;
    DemoApi api = {demo_request, app};
    if (demo) {
        if (demo_seed(&api, cfg->seed, &err)) {
            LOG(LOG_ERROR, "msg=\"demo seed failed\" error=\"%s\"", err.msg);
        } else {
            sim = demo_sim_start(&api, 5000, 60.0, &err);
            if (!sim)
                LOG(LOG_ERROR, "msg=\"simulator failed\" error=\"%s\"", err.msg);
        }
        const char *l = cfg->listen;
        printf("\nKlammer demo is running: http://%s/v1.1\n\n"
               "Try:\n"
               "  curl -s 'http://%s/v1.1/Things?$top=5&$select=name,description'\n"
               "  curl -s 'http://%s/v1.1/Datastreams?$top=3&$expand=Observations($top=1;"
               "$orderby=phenomenonTime%%20desc)'\n"
               "  curl -s 'http://%s/v1.1/Things?$expand=Locations,Datastreams($select=name)"
               "&$count=true'\n\n"
               "The simulator posts new observations every 5 s. Ctrl-C stops.\n\n",
               l, l, l, l);
        char mh[256] = "";
        int mp = 0;
        bool mtls = false;
        Err uerr;
        err_init(&uerr);
        if (cfg->mqtt[0] &&
            events_mqtt_url_parse(cfg->mqtt, mh, sizeof mh, &mp, &mtls, &uerr) == 0)
            printf("MQTT is on: every change is published to %s (docs/mqtt.md). Try:\n"
                   "  mosquitto_sub -h %s -p %d -v -t 'v1.1/Observations'\n"
                   "  mosquitto_sub -h %s -p %d -v -t 'v1.1/Datastreams(1)/Observations"
                   "?$select=result,phenomenonTime'\n\n",
                   cfg->mqtt, mh, mp, mh, mp);
        else
            printf("MQTT is off (no broker configured; install mosquitto and run make demo "
                   "again for a live feed).\n\n");
        fflush(stdout);
    }

    while (!stop_requested)
        pause();
    LOG(LOG_INFO, "msg=\"shutting down\"");
    demo_sim_stop(sim);
    /* MQTT first: the message being handled finishes through the HTTP path,
     * later ones stay with the broker for the next start. */
    ingest_teardown(app);
    events_mqtt_stop(app->mqtt);
    http_stop(app->http, 10000);
    ingest_free_all(app);
    events_mqtt_free(app->mqtt);
    uint64_t jobs, commits;
    store_writer_stats(app->store, &jobs, &commits);
    LOG(LOG_INFO, "msg=\"writer\" writes=%llu commits=%llu", (unsigned long long)jobs,
        (unsigned long long)commits);
    sta_free(app->sta);
    events_free(app->events);
    store_close(app->store);
    LOG(LOG_INFO, "msg=\"stopped\"");
    return 0;
}

/* klammer import-devices FILE: the JSON array of POST /api/devices, in one transaction. */
static int import_devices(App *app, const char *file)
{
    Err err;
    err_init(&err);
    json_error_t je;
    json_t *arr = json_load_file(file, 0, &je);
    if (!arr) {
        fprintf(stderr, "klammer: %s:%d:%d: %s\n", file, je.line, je.column, je.text);
        return 2;
    }
    StoreConfig sc = {app->cfg.db, 2, 1024, app->cfg.sync_full != 0};
    char db[sizeof app->cfg.db];
    store_db_redacted(app->cfg.db, db, sizeof db);
    if (store_open(&sc, &app->store, &err)) {
        fprintf(stderr, "klammer: cannot open the database %s: %s\n", db, err.msg);
        json_decref(arr);
        return 1;
    }
    Arena a;
    arena_init(&a, 256u << 20);
    size_t n = 0;
    int rc = ingest_devices_import(app->store, &a, arr, &n, &err);
    if (rc)
        fprintf(stderr, "klammer: %s: %s%s%s\n", file, err.field[0] ? err.field : "",
                err.field[0] ? ": " : "", err.msg);
    else
        printf("imported %zu devices into %s\n", n, db);
    arena_fini(&a);
    json_decref(arr);
    store_close(app->store);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    bool serve = strcmp(cmd, "serve") == 0, demo = strcmp(cmd, "demo") == 0;
    bool check = strcmp(cmd, "check-config") == 0;
    bool import = strcmp(cmd, "import-devices") == 0;
    bool dump = strcmp(cmd, "export") == 0, restore = strcmp(cmd, "import") == 0;
    if (!serve && !demo && !check && !import && !dump && !restore) {
        fprintf(stderr, "klammer: unknown command '%s' (see klammer --help)\n", cmd);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return 0;
        }
    App app;
    memset(&app, 0, sizeof app);
    Err err;
    err_init(&err);
    int first = 2;
    if (import) {
        if (argc < 3 || strncmp(argv[2], "--", 2) == 0) {
            fprintf(stderr, "klammer: usage: klammer import-devices FILE [options]\n");
            return 2;
        }
        first = 3;
    }
    if (cfg_load(&app.cfg, argc - first, argv + first, &err)) {
        fprintf(stderr, "klammer: configuration error: %s\n", err.msg);
        return 2;
    }
    log_level = log_level_parse(app.cfg.log_level);
    if (http_check_listen(app.cfg.listen, &err)) {
        fprintf(stderr, "klammer: configuration error: %s\n", err.msg);
        return 2;
    }
    if (check) {
        cfg_print(&app.cfg, stdout);
        return 0;
    }
    if (import)
        return import_devices(&app, argv[2]);
    if (dump)
        return transfer_export(&app.cfg);
    if (restore)
        return transfer_import(&app.cfg);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return run(&app, demo);
}
