/*
 * mqtt_wire.c - MQTT v5 packets of the ingest client (see mqtt_wire.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "events/mqtt_wire.h"

#include <string.h>

/* ------------------------------------------------------------- building */

static void put_u16(Buf *b, unsigned v)
{
    buf_putc(b, (char)(v >> 8 & 0xff));
    buf_putc(b, (char)(v & 0xff));
}

static void put_u32(Buf *b, uint32_t v)
{
    put_u16(b, v >> 16);
    put_u16(b, v & 0xffff);
}

/* §1.5.5 Variable Byte Integer. */
static void put_varint(Buf *b, size_t v)
{
    do {
        unsigned char c = v % 128;
        v /= 128;
        if (v)
            c |= 0x80;
        buf_putc(b, (char)c);
    } while (v);
}

/* §1.5.4 UTF-8 Encoded String (callers keep strings under 64 KiB). */
static void put_str(Buf *b, const char *s)
{
    size_t n = strlen(s);
    if (n > 0xffff)
        n = 0xffff;
    put_u16(b, (unsigned)n);
    buf_append(b, s, n);
}

/* Appends the fixed header and the variable part body[0..n). */
static void put_packet(Buf *b, unsigned first, const Buf *body)
{
    buf_putc(b, (char)first);
    put_varint(b, body->len);
    buf_append(b, body->data, body->len);
}

void mqw_connect(Buf *b, const char *client_id, const char *user, const char *pass,
                 uint16_t keepalive, bool persistent, uint32_t session_expiry,
                 uint16_t receive_max, uint32_t max_packet)
{
    bool has_user = user && *user, has_pass = pass && *pass;
    Buf v;
    buf_init(&v);
    put_str(&v, "MQTT");
    buf_putc(&v, 5);
    unsigned flags = (persistent ? 0 : 0x02) | (has_pass ? 0x40 : 0) | (has_user ? 0x80 : 0);
    buf_putc(&v, (char)flags);
    put_u16(&v, keepalive);
    Buf props;
    buf_init(&props);
    buf_putc(&props, 0x11); /* Session Expiry Interval */
    put_u32(&props, session_expiry);
    buf_putc(&props, 0x21); /* Receive Maximum */
    put_u16(&props, receive_max ? receive_max : 1);
    buf_putc(&props, 0x27); /* Maximum Packet Size */
    put_u32(&props, max_packet);
    put_varint(&v, props.len);
    buf_append(&v, props.data, props.len);
    buf_fini(&props);
    put_str(&v, client_id);
    if (has_user)
        put_str(&v, user);
    if (has_pass)
        put_str(&v, pass);
    put_packet(b, MQW_CONNECT << 4, &v);
    buf_fini(&v);
}

void mqw_subscribe(Buf *b, uint16_t mid, const char *const *topics, size_t n, int qos)
{
    Buf v;
    buf_init(&v);
    put_u16(&v, mid);
    buf_putc(&v, 0); /* no properties */
    for (size_t i = 0; i < n; i++) {
        put_str(&v, topics[i]);
        buf_putc(&v, (char)(qos & 3));
    }
    put_packet(b, MQW_SUBSCRIBE << 4 | 0x2, &v);
    buf_fini(&v);
}

void mqw_puback(Buf *b, uint16_t mid)
{
    buf_putc(b, (char)(MQW_PUBACK << 4));
    buf_putc(b, 2); /* reason code 0 and no properties may be left out (§3.4.2.1) */
    put_u16(b, mid);
}

void mqw_pingreq(Buf *b)
{
    buf_putc(b, (char)(MQW_PINGREQ << 4));
    buf_putc(b, 0);
}

void mqw_disconnect(Buf *b)
{
    buf_putc(b, (char)(MQW_DISCONNECT << 4));
    buf_putc(b, 0);
}

/* -------------------------------------------------------------- parsing */

typedef struct Reader {
    const uint8_t *p;
    size_t n, at;
} Reader;

static bool rd_u8(Reader *r, unsigned *v)
{
    if (r->at >= r->n)
        return false;
    *v = r->p[r->at++];
    return true;
}

static bool rd_u16(Reader *r, unsigned *v)
{
    if (r->n - r->at < 2)
        return false;
    *v = (unsigned)r->p[r->at] << 8 | r->p[r->at + 1];
    r->at += 2;
    return true;
}

/* A Variable Byte Integer; *v over four bytes is malformed (-1), short input 0. */
static int varint(const uint8_t *p, size_t n, size_t *v, size_t *len)
{
    size_t x = 0, mul = 1;
    for (size_t i = 0; i < 4; i++) {
        if (i >= n)
            return 0;
        x += (size_t)(p[i] & 0x7f) * mul;
        if (!(p[i] & 0x80)) {
            *v = x;
            *len = i + 1;
            return 1;
        }
        mul *= 128;
    }
    return -1;
}

/* Skips a property block (its length, then that many bytes). */
static bool rd_props(Reader *r)
{
    size_t len, vl;
    if (varint(r->p + r->at, r->n - r->at, &len, &vl) != 1)
        return false;
    r->at += vl;
    if (len > r->n - r->at)
        return false;
    r->at += len;
    return true;
}

/* Well-formed UTF-8 without U+0000 or surrogates (§1.5.4). */
static bool utf8_ok(const uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k;
        unsigned cp;
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf) {
            k = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            k = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

#define BAD(msg)                                                                     \
    do {                                                                             \
        *why = msg;                                                                  \
        return MQW_MALFORMED;                                                        \
    } while (0)

static MqwStatus parse_publish(Reader *r, unsigned flags, MqwPacket *out, const char **why)
{
    out->qos = (int)(flags >> 1 & 3);
    out->dup = flags & 0x8;
    out->retain = flags & 0x1;
    if (out->qos == 3)
        BAD("PUBLISH with QoS 3");
    if (out->dup && out->qos == 0)
        BAD("PUBLISH with DUP set at QoS 0");
    unsigned tl, mid = 0;
    if (!rd_u16(r, &tl) || tl > r->n - r->at)
        BAD("PUBLISH topic longer than the packet");
    if (tl == 0)
        BAD("PUBLISH without a topic (topic aliases are not accepted)");
    out->topic = (const char *)r->p + r->at;
    out->topic_len = tl;
    if (!utf8_ok(r->p + r->at, tl))
        BAD("PUBLISH topic is not well-formed UTF-8");
    if (memchr(out->topic, '+', tl) || memchr(out->topic, '#', tl))
        BAD("PUBLISH topic contains a wildcard");
    r->at += tl;
    if (out->qos > 0) {
        if (!rd_u16(r, &mid))
            BAD("PUBLISH without a packet identifier");
        if (mid == 0)
            BAD("PUBLISH with packet identifier 0");
    }
    out->mid = (uint16_t)mid;
    if (!rd_props(r))
        BAD("PUBLISH properties longer than the packet");
    out->payload = r->p + r->at;
    out->payload_len = r->n - r->at;
    r->at = r->n;
    return MQW_OK;
}

MqwStatus mqw_parse(const uint8_t *p, size_t n, size_t max, MqwPacket *out, size_t *used,
                    const char **why)
{
    memset(out, 0, sizeof *out);
    *why = "";
    if (n < 2)
        return MQW_MORE;
    size_t rl, vl;
    int v = varint(p + 1, n - 1, &rl, &vl);
    if (v < 0)
        BAD("remaining length longer than four bytes");
    if (v == 0)
        return MQW_MORE;
    size_t total = 1 + vl + rl;
    if (total > max)
        BAD("packet too large");
    if (n < total)
        return MQW_MORE;
    *used = total;
    unsigned type = p[0] >> 4, flags = p[0] & 0xf;
    Reader r = {p + 1 + vl, rl, 0};
    out->type = (int)type;
    if (type == MQW_PUBLISH)
        return parse_publish(&r, flags, out, why);
    if (flags != 0)
        BAD("reserved flags of the fixed header are set");
    unsigned a, b;
    switch (type) {
    case MQW_CONNACK:
        if (!rd_u8(&r, &a) || !rd_u8(&r, &b))
            BAD("CONNACK shorter than two bytes");
        if (a & 0xfe)
            BAD("CONNACK with reserved acknowledge flags set");
        out->session_present = a & 1;
        out->reason = (int)b;
        if (r.at < r.n && !rd_props(&r))
            BAD("CONNACK properties longer than the packet");
        break;
    case MQW_PUBACK:
        if (!rd_u16(&r, &a))
            BAD("PUBACK without a packet identifier");
        out->mid = (uint16_t)a;
        if (rd_u8(&r, &b))
            out->reason = (int)b;
        if (r.at < r.n && !rd_props(&r))
            BAD("PUBACK properties longer than the packet");
        break;
    case MQW_SUBACK:
        if (!rd_u16(&r, &a))
            BAD("SUBACK without a packet identifier");
        out->mid = (uint16_t)a;
        if (!rd_props(&r))
            BAD("SUBACK properties longer than the packet");
        if (r.at == r.n)
            BAD("SUBACK without reason codes");
        out->codes = r.p + r.at;
        out->ncodes = r.n - r.at;
        r.at = r.n;
        break;
    case MQW_PINGRESP:
        break;
    case MQW_DISCONNECT:
        if (rd_u8(&r, &b))
            out->reason = (int)b;
        if (r.at < r.n && !rd_props(&r))
            BAD("DISCONNECT properties longer than the packet");
        break;
    default:
        BAD("a packet type a server does not send to a client");
    }
    if (r.at != r.n)
        BAD("bytes after the end of the packet");
    return MQW_OK;
}

const char *mqw_reason_name(int code)
{
    switch (code) {
    case 0x00: return "success";
    case 0x01: return "granted QoS 1";
    case 0x02: return "granted QoS 2";
    case 0x04: return "disconnect with will message";
    case 0x80: return "unspecified error";
    case 0x81: return "malformed packet";
    case 0x82: return "protocol error";
    case 0x83: return "implementation specific error";
    case 0x84: return "unsupported protocol version";
    case 0x85: return "client identifier not valid";
    case 0x86: return "bad user name or password";
    case 0x87: return "not authorized";
    case 0x88: return "server unavailable";
    case 0x89: return "server busy";
    case 0x8a: return "banned";
    case 0x8b: return "server shutting down";
    case 0x8c: return "bad authentication method";
    case 0x8d: return "keep alive timeout";
    case 0x8e: return "session taken over";
    case 0x8f: return "topic filter invalid";
    case 0x90: return "topic name invalid";
    case 0x91: return "packet identifier in use";
    case 0x93: return "receive maximum exceeded";
    case 0x94: return "topic alias invalid";
    case 0x95: return "packet too large";
    case 0x97: return "quota exceeded";
    case 0x98: return "administrative action";
    case 0x99: return "payload format invalid";
    case 0x9a: return "retain not supported";
    case 0x9b: return "QoS not supported";
    case 0x9c: return "use another server";
    case 0x9d: return "server moved";
    case 0x9e: return "shared subscriptions not supported";
    case 0x9f: return "connection rate exceeded";
    case 0xa0: return "maximum connect time";
    case 0xa1: return "subscription identifiers not supported";
    case 0xa2: return "wildcard subscriptions not supported";
    default: return "unknown reason code";
    }
}
