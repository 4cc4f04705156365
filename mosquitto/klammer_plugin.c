/*
 * klammer_plugin.c - a Mosquitto 2.0 plugin that tells Klammer which
 * SensorThings $select topics (OGC 18-088 §14.2.4) clients subscribe to.
 *
 * A $select topic such as v1.1/Datastreams(1)/Observations?$select=result
 * carries a payload that depends on the select list, so Klammer can only
 * publish the lists someone asked for.  This plugin watches SUBSCRIBE and
 * UNSUBSCRIBE (through the ACL check) for topic filters containing
 * "?$select=", keeps the set of clients per filter, drops a client's
 * filters when it disconnects with a clean session, and publishes the
 * current set of filters as a retained JSON message
 *     $klammer/select-topics  {"topics":["v1.1/...?$select=...", ...]}
 * at most once per broker loop iteration.  Klammer subscribes to it.
 *
 * ACL: Mosquitto treats "every plugin deferred" as a denial, so a plugin
 * alone cannot stay neutral.  plugin_opt_acl chooses:
 *   defer  (default) decide nothing; another ACL (acl_file, an auth plugin)
 *          must allow or deny, as without this plugin;
 *   allow  allow everything, as Mosquitto does without any ACL; for a broker
 *          where this plugin is the only ACL (the demo, the tests).
 *
 * Build: make build/klammer_mosquitto.so (needs Debian's mosquitto-dev).
 * Load:  plugin /path/to/klammer_mosquitto.so
 *        plugin_opt_acl allow
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>

#define SELECT_MARK "?$select="
#define SELECT_TOPIC "$klammer/select-topics"

typedef struct Client {
    char *id;
    struct Client *next;
} Client;

typedef struct Filter {
    char *topic;     /* the subscribed filter, "...?$select=..." */
    Client *clients; /* distinct client ids subscribed to it */
    struct Filter *next;
} Filter;

typedef struct State {
    mosquitto_plugin_id_t *id;
    bool allow;     /* plugin_opt_acl allow */
    bool dirty;     /* the set changed since it was last published */
    Filter *filters;
} State;

static State state;

static void filter_free(Filter *f)
{
    while (f->clients) {
        Client *c = f->clients;
        f->clients = c->next;
        free(c->id);
        free(c);
    }
    free(f->topic);
    free(f);
}

static void add(const char *topic, const char *client)
{
    Filter *f = state.filters;
    while (f && strcmp(f->topic, topic) != 0)
        f = f->next;
    if (!f) {
        f = calloc(1, sizeof *f);
        if (!f || !(f->topic = strdup(topic))) {
            free(f);
            return;
        }
        f->next = state.filters;
        state.filters = f;
        state.dirty = true;
    }
    for (Client *c = f->clients; c; c = c->next)
        if (strcmp(c->id, client) == 0)
            return; /* a repeated SUBSCRIBE replaces the subscription */
    Client *c = calloc(1, sizeof *c);
    if (!c || !(c->id = strdup(client))) {
        free(c);
        return;
    }
    c->next = f->clients;
    f->clients = c;
}

/* Removes client from topic (or from every filter when topic is NULL). */
static void remove_client(const char *topic, const char *client)
{
    Filter **fp = &state.filters;
    while (*fp) {
        Filter *f = *fp;
        if (!topic || strcmp(f->topic, topic) == 0) {
            for (Client **cp = &f->clients; *cp; cp = &(*cp)->next) {
                if (strcmp((*cp)->id, client) == 0) {
                    Client *c = *cp;
                    *cp = c->next;
                    free(c->id);
                    free(c);
                    break;
                }
            }
            if (!f->clients) {
                *fp = f->next;
                filter_free(f);
                state.dirty = true;
                continue;
            }
        }
        fp = &f->next;
    }
}

/* Appends s as a JSON string to buf[*len..cap); returns false when full. */
static bool put_json_string(char *buf, size_t *len, size_t cap, const char *s)
{
    size_t n = *len;
    if (n + 1 >= cap)
        return false;
    buf[n++] = '"';
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (n + 7 >= cap)
            return false;
        if (ch == '"' || ch == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)ch;
        } else if (ch < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", ch);
        } else {
            buf[n++] = (char)ch;
        }
    }
    buf[n++] = '"';
    *len = n;
    return true;
}

static void publish(void)
{
    size_t cap = 64;
    for (Filter *f = state.filters; f; f = f->next)
        cap += 6 * strlen(f->topic) + 4;
    char *buf = malloc(cap);
    if (!buf)
        return;
    size_t len = (size_t)snprintf(buf, cap, "{\"topics\":[");
    for (Filter *f = state.filters; f; f = f->next) {
        if (f != state.filters)
            buf[len++] = ',';
        if (!put_json_string(buf, &len, cap, f->topic))
            break;
    }
    len += (size_t)snprintf(buf + len, cap - len, "]}");
    /* Retained, so that Klammer gets the current set whenever it subscribes. */
    int rc = mosquitto_broker_publish_copy(NULL, SELECT_TOPIC, (int)len, buf, 1, true, NULL);
    free(buf);
    if (rc == MOSQ_ERR_SUCCESS)
        state.dirty = false;
    else
        mosquitto_log_printf(MOSQ_LOG_WARNING, "klammer: cannot publish %s: %s", SELECT_TOPIC,
                             mosquitto_strerror(rc));
}

static int on_acl_check(int event, void *event_data, void *userdata)
{
    (void)event;
    (void)userdata;
    struct mosquitto_evt_acl_check *ed = event_data;
    if ((ed->access == MOSQ_ACL_SUBSCRIBE || ed->access == MOSQ_ACL_UNSUBSCRIBE) && ed->topic &&
        strstr(ed->topic, SELECT_MARK)) {
        const char *client = mosquitto_client_id(ed->client);
        if (client) {
            if (ed->access == MOSQ_ACL_SUBSCRIBE)
                add(ed->topic, client);
            else
                remove_client(ed->topic, client);
        }
    }
    return state.allow ? MOSQ_ERR_SUCCESS : MOSQ_ERR_PLUGIN_DEFER;
}

static int on_disconnect(int event, void *event_data, void *userdata)
{
    (void)event;
    (void)userdata;
    struct mosquitto_evt_disconnect *ed = event_data;
    /* A clean session's subscriptions end with the connection; a persistent
     * session keeps them, and so do we. */
    const char *client = mosquitto_client_id(ed->client);
    if (client && mosquitto_client_clean_session(ed->client))
        remove_client(NULL, client);
    return MOSQ_ERR_SUCCESS;
}

static int on_tick(int event, void *event_data, void *userdata)
{
    (void)event;
    (void)event_data;
    (void)userdata;
    if (state.dirty)
        publish();
    return MOSQ_ERR_SUCCESS;
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
    for (int i = 0; i < supported_version_count; i++)
        if (supported_versions[i] == 5)
            return 5;
    return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
                          struct mosquitto_opt *options, int option_count)
{
    memset(&state, 0, sizeof state);
    state.id = identifier;
    /* Publish the (empty) set once at start: it replaces a stale retained
     * message restored from the broker's persistence file. */
    state.dirty = true;
    for (int i = 0; i < option_count; i++) {
        if (strcmp(options[i].key, "acl") != 0)
            continue;
        if (strcmp(options[i].value, "allow") == 0) {
            state.allow = true;
        } else if (strcmp(options[i].value, "defer") != 0) {
            mosquitto_log_printf(MOSQ_LOG_ERR, "klammer: plugin_opt_acl must be allow or defer");
            return MOSQ_ERR_INVAL;
        }
    }
    *userdata = &state;
    int rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, NULL);
    if (!rc)
        rc = mosquitto_callback_register(identifier, MOSQ_EVT_DISCONNECT, on_disconnect, NULL,
                                         NULL);
    if (!rc)
        rc = mosquitto_callback_register(identifier, MOSQ_EVT_TICK, on_tick, NULL, NULL);
    if (!rc)
        mosquitto_log_printf(MOSQ_LOG_INFO, "klammer: watching $select subscriptions (acl %s)",
                             state.allow ? "allow" : "defer");
    return rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
    (void)userdata;
    (void)options;
    (void)option_count;
    mosquitto_callback_unregister(state.id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
    mosquitto_callback_unregister(state.id, MOSQ_EVT_DISCONNECT, on_disconnect, NULL);
    mosquitto_callback_unregister(state.id, MOSQ_EVT_TICK, on_tick, NULL);
    while (state.filters) {
        Filter *f = state.filters;
        state.filters = f->next;
        filter_free(f);
    }
    return MOSQ_ERR_SUCCESS;
}
