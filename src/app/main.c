/*
 * main.c - the klammer command: serve, demo, check-config, help.
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
#include "events/events.h"
#include "http/http.h"
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
            "  help          this text\n"
            "\n"
            "options (flag, environment variable, meaning); precedence:\n"
            "default < --config FILE (or KLAMMER_CONFIG) < environment < flag\n"
            "  --config FILE    KLAMMER_CONFIG         configuration file of 'name = value' "
            "lines\n");
    cfg_help(f);
}

typedef struct App {
    Config cfg;
    Store *store;
    Events *events;
    MqttSink *mqtt;
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
    if (store_open(&sc, &app->store, &err)) {
        LOG(LOG_ERROR, "msg=\"cannot open the database\" db=\"%s\" error=\"%s\"", cfg->db,
            err.msg);
        return 1;
    }
    app->events = events_new();
    if (cfg->mqtt[0]) {
        MqttConfig mc = {cfg->mqtt,           cfg->mqtt_username,
                         cfg->mqtt_password,  cfg->mqtt_ca_file,
                         cfg->mqtt_client_id, cfg->mqtt_session_expiry,
                         mqtt_create,         mqtt_dead_letter,
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
    StaConfig stc = {cfg->base_url, cfg->top_default, cfg->top_max, app->events,
                     cfg->mqtt[0] ? cfg->mqtt : NULL};
    app->sta = sta_new(app->store, &stc);
    app->routes = (Routes){app->sta, app->store, app->mqtt, cfg->top_max};
    HttpConfig hc = {cfg->listen, (int)cfg->threads, (size_t)cfg->body_limit, 256u << 20};
    if (http_start(&hc, routes_handle, &app->routes, &app->http, &err)) {
        LOG(LOG_ERROR, "msg=\"cannot start the HTTP server\" listen=\"%s\" error=\"%s\"",
            cfg->listen, err.msg);
        sta_free(app->sta);
        events_mqtt_free(app->mqtt);
        events_free(app->events);
        store_close(app->store);
        return 1;
    }
    LOG(LOG_INFO, "msg=\"listening\" url=http://%s/v1.1 db=\"%s\" threads=%lld", cfg->listen,
        cfg->db, (long long)cfg->threads);
    if (app->mqtt) {
        if (events_mqtt_start(app->mqtt, &err))
            LOG(LOG_ERROR, "msg=\"cannot start MQTT\" error=\"%s\"", err.msg);
        else
            LOG(LOG_INFO, "msg=\"mqtt\" url=\"%s\" client_id=\"%s\"", cfg->mqtt,
                cfg->mqtt_client_id);
    }

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
    events_mqtt_stop(app->mqtt);
    http_stop(app->http, 10000);
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
    if (!serve && !demo && !check) {
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
    if (cfg_load(&app.cfg, argc - 2, argv + 2, &err)) {
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
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return run(&app, demo);
}
