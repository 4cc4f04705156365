/*
 * fuzz_mqtt_wire.c - libFuzzer target for events/mqtt_wire: the input is a
 * byte stream from a broker, parsed packet by packet as the ingest
 * subscriber does (with a maximum packet size taken from the first byte).
 * Invariants: a packet never claims more bytes than given or than the
 * maximum, every pointer it returns lies inside the packet, a PUBLISH topic
 * is non-empty and free of NUL and wildcards, a QoS 1 PUBLISH has a packet
 * id, and a malformed packet always says why.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "events/mqtt_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond)
{
    if (!cond)
        abort();
}

static void check_inside(const void *p, size_t n, const uint8_t *lo, size_t len)
{
    if (n == 0)
        return;
    const uint8_t *q = p;
    check(q >= lo && q + n <= lo + len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    size_t max = 2 + (size_t)data[0] * 64;
    const uint8_t *p = data + 1;
    size_t n = size - 1;
    while (n > 0) {
        MqwPacket pk;
        size_t used = 0;
        const char *why = NULL;
        MqwStatus st = mqw_parse(p, n, max, &pk, &used, &why);
        if (st == MQW_MORE)
            break;
        if (st == MQW_MALFORMED) {
            check(why && why[0]);
            break;
        }
        check(st == MQW_OK && used >= 2 && used <= n && used <= max);
        check_inside(pk.topic, pk.topic_len, p, used);
        check_inside(pk.payload, pk.payload_len, p, used);
        check_inside(pk.codes, pk.ncodes, p, used);
        if (pk.type == MQW_PUBLISH) {
            check(pk.topic_len > 0 && !memchr(pk.topic, 0, pk.topic_len));
            check(!memchr(pk.topic, '+', pk.topic_len) && !memchr(pk.topic, '#', pk.topic_len));
            check(pk.qos >= 0 && pk.qos <= 2 && (pk.qos == 0) == (pk.mid == 0));
        }
        check(mqw_reason_name(pk.reason) != NULL);
        p += used;
        n -= used;
    }
    /* The builders on input-derived values must produce parseable lengths. */
    Buf b;
    buf_init(&b);
    char id[64];
    size_t idn = size - 1 < sizeof id - 1 ? size - 1 : sizeof id - 1;
    memcpy(id, data + 1, idn);
    id[idn] = '\0';
    mqw_connect(&b, id, id, id, (uint16_t)size, data[0] & 1, (uint32_t)size, (uint16_t)data[0],
                (uint32_t)max);
    check(b.len >= 2 && (uint8_t)b.data[0] == 0x10);
    buf_fini(&b);
    return 0;
}
