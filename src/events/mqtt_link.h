/*
 * mqtt_link.h - private to events/: the connection state both MQTT clients
 * share (the SensorThings sink in mqtt.c and the ingest subscriber in
 * mqtt_in.c): whether to stop, whether connected, the last error, and the
 * reconnection backoff (1, 2, 4 ... 30 s) that a stop cuts short.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_EVENTS_MQTT_LINK_H
#define KLAMMER_EVENTS_MQTT_LINK_H

#include <pthread.h>
#include <stdbool.h>

#include "events/events.h"

typedef struct MqttLink {
    pthread_mutex_t mu;    /* guards the fields below but backoff, and what the owner says */
    pthread_cond_t cv;     /* wakes a backoff sleep on stop; the owner may use it too */
    bool stopping;
    bool connected;
    char last_error[192];
    unsigned backoff;      /* seconds of the next wait; network thread only */
    const char *what;      /* names the client in log lines: "mqtt", "lorawan mqtt" */
    const char *url;       /* borrowed from the owner */
} MqttLink;

/*
 * Checks a client's broker URL (events_mqtt_url_parse) and that it has a
 * client id.  Errors: ERR_CONFIG.
 */
int mqtt_link_target(const char *url, const char *client_id, char *host, size_t hostsz,
                     int *port, bool *tls, Err *err);

void mqtt_link_init(MqttLink *l, const char *what, const char *url);
void mqtt_link_fini(MqttLink *l);

/* Whether mqtt_link_stop was called. */
bool mqtt_link_stopping(MqttLink *l);

/* Sets stopping and wakes a backoff sleep. */
void mqtt_link_stop(MqttLink *l);

/* Sets connected (and, when connected, clears the error and the backoff). */
void mqtt_link_connected(MqttLink *l, bool up);

/* Records the last error; logs it when it differs from the one before. */
void mqtt_link_error(MqttLink *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears *out and fills connected, url and last_error. */
void mqtt_link_stats(MqttLink *l, MqttStats *out);

/* Sleeps for the backoff, or until stop; doubles it up to 30 s. */
void mqtt_link_backoff(MqttLink *l);

#endif
