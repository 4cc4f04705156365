/*
 * mqtt_link.c - connection state of the MQTT clients (see mqtt_link.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "events/mqtt_link.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/log.h"

#define BACKOFF_MAX 30

int mqtt_link_target(const char *url, const char *client_id, char *host, size_t hostsz,
                     int *port, bool *tls, Err *err)
{
    int rc = events_mqtt_url_parse(url, host, hostsz, port, tls, err);
    if (rc)
        return rc;
    if (!client_id || !*client_id)
        return err_set(err, ERR_CONFIG, "mqtt_client_id", "MQTT needs a client id");
    return 0;
}

void mqtt_link_init(MqttLink *l, const char *what, const char *url)
{
    memset(l, 0, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cv, NULL);
    l->backoff = 1;
    l->what = what;
    l->url = url;
}

void mqtt_link_fini(MqttLink *l)
{
    pthread_mutex_destroy(&l->mu);
    pthread_cond_destroy(&l->cv);
}

bool mqtt_link_stopping(MqttLink *l)
{
    pthread_mutex_lock(&l->mu);
    bool s = l->stopping;
    pthread_mutex_unlock(&l->mu);
    return s;
}

void mqtt_link_stop(MqttLink *l)
{
    pthread_mutex_lock(&l->mu);
    l->stopping = true;
    pthread_cond_broadcast(&l->cv);
    pthread_mutex_unlock(&l->mu);
}

void mqtt_link_connected(MqttLink *l, bool up)
{
    pthread_mutex_lock(&l->mu);
    l->connected = up;
    if (up) {
        l->last_error[0] = '\0';
        l->backoff = 1;
    }
    pthread_mutex_unlock(&l->mu);
}

void mqtt_link_error(MqttLink *l, const char *fmt, ...)
{
    char msg[sizeof l->last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&l->mu);
    bool same = strcmp(l->last_error, msg) == 0;
    memcpy(l->last_error, msg, sizeof msg);
    pthread_mutex_unlock(&l->mu);
    if (!same)
        LOG(LOG_WARN, "msg=\"%s\" url=\"%s\" error=\"%s\"", l->what, l->url, msg);
}

void mqtt_link_stats(MqttLink *l, MqttStats *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&l->mu);
    out->connected = l->connected;
    snprintf(out->url, sizeof out->url, "%s", l->url);
    snprintf(out->last_error, sizeof out->last_error, "%s", l->last_error);
    pthread_mutex_unlock(&l->mu);
}

void mqtt_link_backoff(MqttLink *l)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += l->backoff;
    pthread_mutex_lock(&l->mu);
    while (!l->stopping && pthread_cond_timedwait(&l->cv, &l->mu, &ts) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&l->mu);
    l->backoff = l->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : l->backoff * 2;
}
