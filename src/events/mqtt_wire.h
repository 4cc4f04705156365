/*
 * mqtt_wire.h - the MQTT v5 packets the ingest client (mqtt_in.c) sends and
 * receives, as pure functions: building CONNECT, SUBSCRIBE, PUBACK,
 * PINGREQ and DISCONNECT into a Buf, and parsing CONNACK, PUBLISH, PUBACK,
 * SUBACK, PINGRESP and DISCONNECT out of received bytes (MQTT 5.0, OASIS
 * Standard, chapters 2 and 3).
 *
 * The parser never trusts a length: every field is checked against the
 * packet's remaining length and against the caller's maximum, and a
 * malformed packet is reported with the reason (the connection is then
 * closed, as §4.13 asks).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_EVENTS_MQTT_WIRE_H
#define KLAMMER_EVENTS_MQTT_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum {
    MQW_CONNECT = 1,
    MQW_CONNACK = 2,
    MQW_PUBLISH = 3,
    MQW_PUBACK = 4,
    MQW_SUBSCRIBE = 8,
    MQW_SUBACK = 9,
    MQW_PINGREQ = 12,
    MQW_PINGRESP = 13,
    MQW_DISCONNECT = 14,
};

/* A received packet; pointers point into the bytes given to mqw_parse. */
typedef struct MqwPacket {
    int type;                /* MQW_* */
    /* CONNACK */
    bool session_present;
    /* CONNACK, PUBACK, DISCONNECT: the reason code (0 = success / normal) */
    int reason;
    /* PUBLISH, PUBACK, SUBACK: the packet identifier (0 for QoS 0 PUBLISH) */
    uint16_t mid;
    /* PUBLISH */
    int qos;
    bool dup, retain;
    const char *topic;       /* not NUL-terminated */
    size_t topic_len;
    const uint8_t *payload;
    size_t payload_len;
    /* SUBACK: one reason code per topic filter of the SUBSCRIBE */
    const uint8_t *codes;
    size_t ncodes;
} MqwPacket;

typedef enum {
    MQW_MORE = 0,      /* the bytes hold no complete packet yet */
    MQW_OK = 1,        /* *out is a packet of *used bytes */
    MQW_MALFORMED = -1 /* *why says what is wrong; close the connection */
} MqwStatus;

/*
 * Parses the packet at p[0..n).  A packet longer than max bytes (fixed
 * header included) is malformed ("packet too large") as soon as its length
 * is known, so a caller never buffers more than max.  Packets a client must
 * never receive (CONNECT, SUBSCRIBE, PINGREQ, ...) are malformed too.
 */
MqwStatus mqw_parse(const uint8_t *p, size_t n, size_t max, MqwPacket *out, size_t *used,
                    const char **why);

/*
 * CONNECT with MQTT v5, clean start = !persistent, the given keep-alive (s),
 * and the properties Session Expiry Interval, Receive Maximum and Maximum
 * Packet Size.  user and pass: NULL or "" = none.
 */
void mqw_connect(Buf *b, const char *client_id, const char *user, const char *pass,
                 uint16_t keepalive, bool persistent, uint32_t session_expiry,
                 uint16_t receive_max, uint32_t max_packet);

/* SUBSCRIBE to topics[0..n) with maximum QoS qos (retain handling 0). */
void mqw_subscribe(Buf *b, uint16_t mid, const char *const *topics, size_t n, int qos);

/* PUBACK with reason code 0 (success). */
void mqw_puback(Buf *b, uint16_t mid);

void mqw_pingreq(Buf *b);

/* DISCONNECT with reason code 0: normal; the broker keeps the session. */
void mqw_disconnect(Buf *b);

/* The name of a CONNACK / DISCONNECT / SUBACK reason code, for logs. */
const char *mqw_reason_name(int code);

#endif
