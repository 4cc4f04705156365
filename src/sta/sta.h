/*
 * sta.h - the SensorThings API v1.1 handlers: service root, reads with all
 * query options, create (deep insert), update, delete; serialisation.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_STA_H
#define KLAMMER_STA_H

#include <stdint.h>

#include "events/events.h"
#include "http/http.h"
#include "store/store.h"

typedef struct StaConfig {
    const char *base_url;  /* public service root without version, or NULL = from request */
    int64_t top_default;   /* $top when none is given */
    int64_t top_max;       /* largest $top served */
    Events *events;        /* where committed changes are published, or NULL; borrowed */
    const char *mqtt;      /* MQTT broker URL clients use (claims the MQTT classes), or NULL */
} StaConfig;

typedef struct Sta Sta;

/* Creates the handler set over store (borrowed; must outlive the Sta). */
Sta *sta_new(Store *store, const StaConfig *cfg);

/* Frees; accepts NULL. */
void sta_free(Sta *sta);

/* The HttpHandler for every request (data = Sta*). */
int sta_handle(void *data, HttpReq *req, HttpResp *resp);

#endif
