/*
 * routes.h - the top-level HTTP handler: /v1.1 goes to the SensorThings
 * handlers, /health reports the state of the database and the MQTT link,
 * /api/dead-letters lists the dead-letter store.  Everything else gets the
 * SensorThings handler's 404.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_ROUTES_H
#define KLAMMER_ROUTES_H

#include "events/events.h"
#include "http/http.h"
#include "sta/sta.h"
#include "store/store.h"

typedef struct Routes {
    Sta *sta;       /* SensorThings handlers; borrowed */
    Store *store;   /* for /health and /api/dead-letters; borrowed */
    MqttSink *mqtt; /* NULL when MQTT is off; borrowed */
    int64_t top_max; /* largest page of /api/dead-letters */
    struct Ingest *ingest;    /* LoRaWAN pipeline, NULL when off; borrowed */
    MqttIn **ingest_mqtt;       /* connections to the LoRaWAN broker; borrowed */
    size_t ningest_mqtt;      /* entries of ingest_mqtt */
    const char *webhook_token; /* shared secret of POST /api/ingest/tts, "" = none */
} Routes;

/* The HttpHandler for every request (data = Routes*, which must outlive the server). */
int routes_handle(void *data, HttpReq *req, HttpResp *resp);

/*
 * LoRaWAN (lorawan.c): handles /api/devices[/{devEui}],
 * /api/dead-letters/{id}/replay and /api/ingest/tts; returns false for any
 * other path.
 */
bool lorawan_route(Routes *r, HttpReq *req, HttpResp *resp);

/* Appends ,"ingest":{...} to the health body; false when a connection is down. */
bool lorawan_health(Routes *r, Buf *b);

/* False when a connection to the LoRaWAN broker is down (health "degraded"). */
bool lorawan_ingest_up(Routes *r);

/* True when s[0..n) is valid UTF-8 (no overlongs, no surrogates). */
bool routes_utf8_valid(const unsigned char *s, size_t n);

/* Appends s[0..n) to b in base64 (RFC 4648, with padding). */
void routes_base64(Buf *b, const unsigned char *s, size_t n);

/* Reads a non-negative integer query parameter (def when absent); ERR_BAD_REQUEST if malformed. */
int routes_param_int(const HttpReq *req, const char *key, int64_t def, int64_t *out, Err *err);

#endif
