/*
 * uplink.c - network-server formats: MQTT uplink topics, ChirpStack v4 `up`
 * events and The Things Stack v3 uplink messages turned into one Uplink, and
 * the base64 decoder for their payloads.  Field names and defaults follow
 * the ChirpStack v4 and TTS v3 integration documentation; both servers omit default values (0, false,
 * ""), so a missing number reads as 0 unless it is mandatory.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "util/isotime.h"

/* ------------------------------------------------------------------------
 * Base64 (RFC 4648 §4)
 * ---------------------------------------------------------------------- */

/* Value of a base64 character, -1 for anything else (padding included). */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int ingest_base64_decode(const char *s, size_t len, uint8_t *out, size_t max, size_t *out_len,
                         Err *err)
{
    if (len % 4 != 0)
        return err_set_at(err, ERR_INVALID, (long)len + 1,
                          "length %zu is not a multiple of 4 (padding missing?)", len);
    size_t pad = 0;
    if (len >= 1 && s[len - 1] == '=')
        pad = len >= 2 && s[len - 2] == '=' ? 2 : 1;
    size_t n = len / 4 * 3 - pad;
    if (n > max)
        return err_set(err, ERR_TOO_LARGE, NULL, "decodes to %zu bytes, at most %zu allowed", n,
                       max);
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        int v[4];
        bool last = i + 4 == len;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)s[i + (size_t)k];
            v[k] = b64_value(c);
            if (v[k] >= 0)
                continue;
            /* '=' only as the last one or two characters of the input. */
            if (c == '=' && last && (size_t)k >= 4 - pad)
                continue;
            if (c == '=')
                return err_set_at(err, ERR_INVALID, (long)(i + (size_t)k) + 1,
                                  "'=' before the end at position %zu", i + (size_t)k + 1);
            return err_set_at(err, ERR_INVALID, (long)(i + (size_t)k) + 1,
                              "invalid character 0x%02x at position %zu", c, i + (size_t)k + 1);
        }
        uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12;
        if (!(last && pad == 2))
            w |= (uint32_t)v[2] << 6;
        if (!(last && pad >= 1))
            w |= (uint32_t)v[3];
        /* Canonical form: the bits dropped by padding must be zero. */
        if (last && pad == 2 && (v[1] & 0x0f))
            return err_set_at(err, ERR_INVALID, (long)i + 2,
                              "non-zero padding bits at position %zu", i + 2);
        if (last && pad == 1 && (v[2] & 0x03))
            return err_set_at(err, ERR_INVALID, (long)i + 3,
                              "non-zero padding bits at position %zu", i + 3);
        out[o++] = (uint8_t)(w >> 16);
        if (o < n)
            out[o++] = (uint8_t)(w >> 8);
        if (o < n)
            out[o++] = (uint8_t)w;
    }
    *out_len = n;
    return 0;
}

/* ------------------------------------------------------------------------
 * Topics
 * ---------------------------------------------------------------------- */

/*
 * Splits topic at '/' into at most max segments; returns their number, or
 * max + 1 when there are more.
 */
static size_t split(const char *topic, const char **seg, size_t *len, size_t max)
{
    size_t k = 0;
    const char *s = topic;
    for (;;) {
        const char *e = strchr(s, '/');
        if (k == max)
            return max + 1;
        seg[k] = s;
        len[k] = e ? (size_t)(e - s) : strlen(s);
        k++;
        if (!e)
            return k;
        s = e + 1;
    }
}

static bool is_word(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

/* An id segment: non-empty, no MQTT wildcard. */
static bool is_id(const char *s, size_t n)
{
    return n > 0 && !memchr(s, '+', n) && !memchr(s, '#', n);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr("0123456789abcdefABCDEF", s[i]))
            return false;
    return true;
}

int ingest_parse_topic(const char *topic, IngestTopic *out, Err *err)
{
    const char *seg[7];
    size_t len[7];
    size_t k = split(topic, seg, len, 6);
    IngestTopic t;
    memset(&t, 0, sizeof t);

    if (k == 6 && is_word(seg[0], len[0], "application") && is_word(seg[2], len[2], "device") &&
        is_word(seg[4], len[4], "event") && is_word(seg[5], len[5], "up")) {
        if (!is_id(seg[1], len[1]))
            return err_set(err, ERR_INVALID, "topic", "topic: empty or wildcard application id");
        if (len[3] != INGEST_EUI_LEN || !is_hex(seg[3], len[3]))
            return err_set(err, ERR_INVALID, "topic",
                           "topic: device segment is not a 16-digit hex DevEUI");
        t.source = "chirpstack";
        t.app = seg[1];
        t.app_len = len[1];
        t.device = seg[3];
        t.device_len = len[3];
        *out = t;
        return 0;
    }
    if (k == 5 && is_word(seg[0], len[0], "v3") && is_word(seg[2], len[2], "devices") &&
        is_word(seg[4], len[4], "up")) {
        if (!is_id(seg[1], len[1]) || !is_id(seg[3], len[3]))
            return err_set(err, ERR_INVALID, "topic", "topic: empty or wildcard id segment");
        const char *at = memchr(seg[1], '@', len[1]);
        t.source = "tts";
        t.app = seg[1];
        t.app_len = at ? (size_t)(at - seg[1]) : len[1];
        if (at) {
            t.tenant = at + 1;
            t.tenant_len = len[1] - t.app_len - 1;
            if (t.app_len == 0 || t.tenant_len == 0 || memchr(t.tenant, '@', t.tenant_len))
                return err_set(err, ERR_INVALID, "topic",
                               "topic: expected {application id}@{tenant id}");
        }
        t.device = seg[3];
        t.device_len = len[3];
        *out = t;
        return 0;
    }
    return err_set(err, ERR_INVALID, "topic",
                   "topic is neither application/+/device/+/event/up (ChirpStack) nor "
                   "v3/+/devices/+/up (TTS)");
}

/* ------------------------------------------------------------------------
 * JSON access: members by path, with the path in every message
 * ---------------------------------------------------------------------- */

/* Member key of obj (NULL when obj is not an object); JSON null counts as absent. */
static const json_t *member(const json_t *obj, const char *key)
{
    const json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
    return json_is_null(v) ? NULL : v;
}

static int missing(Err *err, const char *path)
{
    return err_set(err, ERR_INVALID, path, "%s is missing", path);
}

/* *out = the object at key, NULL if absent (an error if required). */
static int get_object(const json_t *obj, const char *key, const char *path, bool required,
                      const json_t **out, Err *err)
{
    const json_t *v = member(obj, key);
    if (!v && required)
        return missing(err, path);
    if (v && !json_is_object(v))
        return err_set(err, ERR_INVALID, path, "%s is not a JSON object", path);
    *out = v;
    return 0;
}

static int get_string(const json_t *obj, const char *key, const char *path, bool required,
                      const char **out, size_t *len, Err *err)
{
    const json_t *v = member(obj, key);
    if (!v) {
        if (required)
            return missing(err, path);
        *out = NULL;
        *len = 0;
        return 0;
    }
    if (!json_is_string(v))
        return err_set(err, ERR_INVALID, path, "%s is not a string", path);
    *out = json_string_value(v);
    *len = json_string_length(v);
    return 0;
}

/* An integer in lo..hi, written as a JSON integer or an integral real; absent = dflt. */
static int get_int(const json_t *obj, const char *key, const char *path, int64_t lo, int64_t hi,
                   int64_t dflt, int64_t *out, Err *err)
{
    const json_t *v = member(obj, key);
    if (!v) {
        *out = dflt;
        return 0;
    }
    int64_t x;
    if (json_is_integer(v)) {
        x = (int64_t)json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (!(d >= (double)lo && d <= (double)hi) || d != floor(d))
            goto bad;
        x = (int64_t)d;
    } else {
        goto bad;
    }
    if (x < lo || x > hi)
        goto bad;
    *out = x;
    return 0;
bad:
    return err_set(err, ERR_INVALID, path, "%s must be an integer %lld..%lld", path,
                   (long long)lo, (long long)hi);
}

static int get_number(const json_t *obj, const char *key, const char *path, double *out, Err *err)
{
    const json_t *v = member(obj, key);
    if (!v) {
        *out = 0;
        return 0;
    }
    if (!json_is_number(v))
        return err_set(err, ERR_INVALID, path, "%s is not a number", path);
    *out = json_number_value(v);
    return 0;
}

static int get_bool(const json_t *obj, const char *key, const char *path, bool *out, Err *err)
{
    const json_t *v = member(obj, key);
    if (!v) {
        *out = false;
        return 0;
    }
    if (!json_is_boolean(v))
        return err_set(err, ERR_INVALID, path, "%s is not a boolean", path);
    *out = json_is_true(v);
    return 0;
}

static int copy_str(Arena *a, const char *s, size_t n, const char **out, Err *err)
{
    char *c = arena_strndup(a, s ? s : "", s ? n : 0);
    if (!c)
        return err_set(err, ERR_TOO_LARGE, NULL, "uplink too large for the arena");
    *out = c;
    return 0;
}

/* ------------------------------------------------------------------------
 * Shared steps
 * ---------------------------------------------------------------------- */

/* A DevEUI: 16 hex digits, written upper-case into u->dev_eui. */
static int dev_eui(const json_t *obj, const char *key, const char *path, Uplink *u, Err *err)
{
    const char *s;
    size_t n;
    int rc = get_string(obj, key, path, true, &s, &n, err);
    if (rc)
        return rc;
    if (n != INGEST_EUI_LEN || !is_hex(s, n))
        return err_set(err, ERR_INVALID, path, "%s is not 16 hex digits", path);
    for (size_t i = 0; i < n; i++)
        u->dev_eui[i] = (char)(s[i] >= 'a' && s[i] <= 'f' ? s[i] - 32 : s[i]);
    u->dev_eui[n] = '\0';
    return 0;
}

static int time_at(const json_t *obj, const char *key, const char *path, int64_t *out, Err *err)
{
    const char *s;
    size_t n;
    int rc = get_string(obj, key, path, true, &s, &n, err);
    if (rc)
        return rc;
    Err e;
    err_init(&e);
    if (isotime_parse(s, n, out, &e))
        return err_set(err, ERR_INVALID, path, "%s is not an RFC 3339 time: %s", path, e.msg);
    return 0;
}

/* Base64 payload at key into the arena; absent or "" leaves it empty. */
static int payload(Arena *a, const json_t *obj, const char *key, const char *path, Uplink *u,
                   Err *err)
{
    const char *s;
    size_t n;
    int rc = get_string(obj, key, path, false, &s, &n, err);
    if (rc || !s || n == 0)
        return rc;
    uint8_t *buf = arena_alloc(a, INGEST_PAYLOAD_MAX);
    if (!buf)
        return err_set(err, ERR_TOO_LARGE, NULL, "uplink too large for the arena");
    Err e;
    err_init(&e);
    size_t len;
    rc = ingest_base64_decode(s, n, buf, INGEST_PAYLOAD_MAX, &len, &e);
    if (rc == ERR_TOO_LARGE)
        return err_set(err, ERR_INVALID, path, "%s is longer than %d bytes", path,
                       INGEST_PAYLOAD_MAX);
    if (rc)
        return err_set(err, ERR_INVALID, path, "%s is not valid base64: %s", path, e.msg);
    u->payload = len ? buf : NULL;
    u->payload_len = len;
    return 0;
}

/* A gateway entry's signal; the best has the highest RSSI, then SNR. */
typedef struct Gw {
    const char *id;  /* borrowed from the message */
    size_t id_len;   /* bytes at id */
    double rssi, snr;
} Gw;

static bool better(const Gw *a, const Gw *b)
{
    return a->rssi > b->rssi || (a->rssi == b->rssi && a->snr > b->snr);
}

/* "CR_4_5" (ChirpStack) or "4/5" (TTS) -> "4/5"; anything else -> "". */
static void coding_rate(const char *s, char *out, size_t cap)
{
    out[0] = '\0';
    if (!s)
        return;
    if (strncmp(s, "CR_", 3) == 0)
        s += 3;
    size_t n = strlen(s);
    if (n < 3 || n >= cap)
        return;
    for (size_t i = 0; i < n; i++)
        out[i] = s[i] == '_' ? '/' : s[i];
    out[n] = '\0';
}

static int finish(Arena *a, Uplink *u, const Gw *best, Uplink *out, Err *err)
{
    if (best && best->id) {
        int rc = copy_str(a, best->id, best->id_len, &u->gateway_id, err);
        if (rc)
            return rc;
    }
    u->no_payload = u->f_port == 0 || u->payload_len == 0;
    *out = *u;
    return 0;
}

/* ------------------------------------------------------------------------
 * ChirpStack v4
 * ---------------------------------------------------------------------- */

static int cs_radio(const json_t *msg, Uplink *u, Gw *best, Err *err)
{
    const json_t *rx = member(msg, "rxInfo");
    if (rx && !json_is_array(rx))
        return err_set(err, ERR_INVALID, "rxInfo", "rxInfo is not an array");
    int rc;
    char path[ERR_FIELD_MAX];
    for (size_t i = 0; rx && i < json_array_size(rx); i++) {
        const json_t *g = json_array_get(rx, i);
        Gw gw = {NULL, 0, 0, 0};
        snprintf(path, sizeof path, "rxInfo[%zu]", i);
        if (!json_is_object(g))
            return err_set(err, ERR_INVALID, path, "%s is not a JSON object", path);
        snprintf(path, sizeof path, "rxInfo[%zu].gatewayId", i);
        if ((rc = get_string(g, "gatewayId", path, false, &gw.id, &gw.id_len, err)))
            return rc;
        snprintf(path, sizeof path, "rxInfo[%zu].rssi", i);
        if ((rc = get_number(g, "rssi", path, &gw.rssi, err)))
            return rc;
        snprintf(path, sizeof path, "rxInfo[%zu].snr", i);
        if ((rc = get_number(g, "snr", path, &gw.snr, err)))
            return rc;
        if (i == 0 || better(&gw, best))
            *best = gw;
        u->gateway_count++;
    }
    u->rssi = best->rssi;
    u->snr = best->snr;

    const json_t *tx, *mod, *lora;
    int64_t x;
    if ((rc = get_object(msg, "txInfo", "txInfo", false, &tx, err)) || !tx)
        return rc;
    if ((rc = get_int(tx, "frequency", "txInfo.frequency", 0, UINT32_MAX, 0, &x, err)))
        return rc;
    u->frequency = (uint64_t)x;
    if ((rc = get_object(tx, "modulation", "txInfo.modulation", false, &mod, err)) || !mod)
        return rc;
    if ((rc = get_object(mod, "lora", "txInfo.modulation.lora", false, &lora, err)) || !lora)
        return rc;
    if ((rc = get_int(lora, "spreadingFactor", "txInfo.modulation.lora.spreadingFactor", 0, 12, 0,
                      &x, err)))
        return rc;
    u->spreading_factor = (int)x;
    if ((rc = get_int(lora, "bandwidth", "txInfo.modulation.lora.bandwidth", 0, UINT32_MAX, 0, &x,
                      err)))
        return rc;
    u->bandwidth = (uint32_t)x;
    const char *cr;
    size_t crn;
    if ((rc = get_string(lora, "codeRate", "txInfo.modulation.lora.codeRate", false, &cr, &crn,
                         err)))
        return rc;
    coding_rate(cr, u->coding_rate, sizeof u->coding_rate);
    return 0;
}

int ingest_parse_chirpstack(Arena *a, const json_t *msg, Uplink *out, Err *err)
{
    Uplink u;
    memset(&u, 0, sizeof u);
    u.source = "chirpstack";
    u.data_rate = -1;
    Gw best = {NULL, 0, 0, 0};
    const json_t *info, *obj;
    const char *s;
    size_t n;
    int64_t x;
    int rc;

    if (!json_is_object(msg))
        return err_set(err, ERR_INVALID, NULL, "message is not a JSON object");
    if ((rc = get_object(msg, "deviceInfo", "deviceInfo", true, &info, err)) ||
        (rc = dev_eui(info, "devEui", "deviceInfo.devEui", &u, err)))
        return rc;
    if ((rc = get_string(info, "deviceName", "deviceInfo.deviceName", false, &s, &n, err)) ||
        (rc = copy_str(a, s, n, &u.device, err)))
        return rc;
    if ((rc = get_string(info, "applicationId", "deviceInfo.applicationId", false, &s, &n, err)) ||
        (rc = copy_str(a, s, n, &u.application, err)))
        return rc;
    if ((rc = time_at(msg, "time", "time", &u.received, err)))
        return rc;
    if ((rc = get_int(msg, "fPort", "fPort", 0, 255, 0, &x, err)))
        return rc;
    u.f_port = (int)x;
    if ((rc = get_int(msg, "fCnt", "fCnt", 0, UINT32_MAX, 0, &x, err)))
        return rc;
    u.f_cnt = (uint32_t)x;
    if ((rc = get_int(msg, "dr", "dr", 0, 15, -1, &x, err)))
        return rc;
    u.data_rate = (int)x;
    if ((rc = get_bool(msg, "confirmed", "confirmed", &u.confirmed, err)))
        return rc;
    if ((rc = payload(a, msg, "data", "data", &u, err)))
        return rc;
    if ((rc = get_object(msg, "object", "object", false, &obj, err)))
        return rc;
    u.decoded = obj;
    if ((rc = cs_radio(msg, &u, &best, err)))
        return rc;
    return finish(a, &u, &best, out, err);
}

/* ------------------------------------------------------------------------
 * The Things Stack v3
 * ---------------------------------------------------------------------- */

static int tts_radio(const json_t *up, Uplink *u, Gw *best, Err *err)
{
    const json_t *rx = member(up, "rx_metadata");
    if (rx && !json_is_array(rx))
        return err_set(err, ERR_INVALID, "uplink_message.rx_metadata",
                       "uplink_message.rx_metadata is not an array");
    int rc;
    char path[ERR_FIELD_MAX];
    for (size_t i = 0; rx && i < json_array_size(rx); i++) {
        const json_t *g = json_array_get(rx, i), *ids;
        Gw gw = {NULL, 0, 0, 0};
        snprintf(path, sizeof path, "uplink_message.rx_metadata[%zu]", i);
        if (!json_is_object(g))
            return err_set(err, ERR_INVALID, path, "%s is not a JSON object", path);
        snprintf(path, sizeof path, "uplink_message.rx_metadata[%zu].gateway_ids", i);
        if ((rc = get_object(g, "gateway_ids", path, false, &ids, err)))
            return rc;
        snprintf(path, sizeof path, "uplink_message.rx_metadata[%zu].gateway_ids.gateway_id", i);
        if ((rc = get_string(ids, "gateway_id", path, false, &gw.id, &gw.id_len, err)))
            return rc;
        /* rssi is left out by some gateways; channel_rssi is then the signal. */
        const char *key = member(g, "rssi") ? "rssi" : "channel_rssi";
        snprintf(path, sizeof path, "uplink_message.rx_metadata[%zu].%s", i, key);
        if ((rc = get_number(g, key, path, &gw.rssi, err)))
            return rc;
        snprintf(path, sizeof path, "uplink_message.rx_metadata[%zu].snr", i);
        if ((rc = get_number(g, "snr", path, &gw.snr, err)))
            return rc;
        if (i == 0 || better(&gw, best))
            *best = gw;
        u->gateway_count++;
    }
    u->rssi = best->rssi;
    u->snr = best->snr;

    const json_t *set, *dr, *lora, *f;
    int64_t x;
    if ((rc = get_object(up, "settings", "uplink_message.settings", false, &set, err)) || !set)
        return rc;
    /* frequency is a string of digits in TTS; accept a number too. */
    f = member(set, "frequency");
    if (f && json_is_string(f)) {
        const char *s = json_string_value(f);
        size_t n = json_string_length(f);
        uint64_t hz = 0;
        if (n == 0 || n > 12)
            goto bad_freq;
        for (size_t i = 0; i < n; i++) {
            if (s[i] < '0' || s[i] > '9')
                goto bad_freq;
            hz = hz * 10 + (uint64_t)(s[i] - '0');
        }
        u->frequency = hz;
    } else if (f) {
        if ((rc = get_int(set, "frequency", "uplink_message.settings.frequency", 0,
                          INT64_C(999999999999), 0, &x, err)))
            return rc;
        u->frequency = (uint64_t)x;
    }
    if ((rc = get_int(set, "data_rate_index", "uplink_message.settings.data_rate_index", 0, 15, -1,
                      &x, err)))
        return rc;
    u->data_rate = (int)x;
    const char *cr = NULL, *s;
    size_t n;
    /* Older servers put coding_rate directly under settings. */
    if ((rc = get_string(set, "coding_rate", "uplink_message.settings.coding_rate", false, &cr, &n,
                         err)))
        return rc;
    if ((rc = get_object(set, "data_rate", "uplink_message.settings.data_rate", false, &dr, err)))
        return rc;
    if ((rc = get_object(dr, "lora", "uplink_message.settings.data_rate.lora", false, &lora, err)))
        return rc;
    if (lora) {
        if ((rc = get_int(lora, "spreading_factor",
                          "uplink_message.settings.data_rate.lora.spreading_factor", 0, 12, 0, &x,
                          err)))
            return rc;
        u->spreading_factor = (int)x;
        if ((rc = get_int(lora, "bandwidth", "uplink_message.settings.data_rate.lora.bandwidth", 0,
                          UINT32_MAX, 0, &x, err)))
            return rc;
        u->bandwidth = (uint32_t)x;
        if ((rc = get_string(lora, "coding_rate",
                             "uplink_message.settings.data_rate.lora.coding_rate", false, &s, &n,
                             err)))
            return rc;
        if (s)
            cr = s;
    }
    coding_rate(cr, u->coding_rate, sizeof u->coding_rate);
    return 0;
bad_freq:
    return err_set(err, ERR_INVALID, "uplink_message.settings.frequency",
                   "uplink_message.settings.frequency is not a frequency in Hz");
}

int ingest_parse_tts(Arena *a, const json_t *msg, Uplink *out, Err *err)
{
    Uplink u;
    memset(&u, 0, sizeof u);
    u.source = "tts";
    u.data_rate = -1;
    Gw best = {NULL, 0, 0, 0};
    const json_t *ids, *app, *up, *obj;
    const char *s;
    size_t n;
    int64_t x;
    int rc;

    if (!json_is_object(msg))
        return err_set(err, ERR_INVALID, NULL, "message is not a JSON object");
    if ((rc = get_object(msg, "end_device_ids", "end_device_ids", true, &ids, err)) ||
        (rc = dev_eui(ids, "dev_eui", "end_device_ids.dev_eui", &u, err)))
        return rc;
    if ((rc = get_string(ids, "device_id", "end_device_ids.device_id", true, &s, &n, err)) ||
        (rc = copy_str(a, s, n, &u.device, err)))
        return rc;
    if ((rc = get_object(ids, "application_ids", "end_device_ids.application_ids", true, &app,
                         err)) ||
        (rc = get_string(app, "application_id", "end_device_ids.application_ids.application_id",
                         true, &s, &n, err)) ||
        (rc = copy_str(a, s, n, &u.application, err)))
        return rc;
    if ((rc = get_bool(msg, "simulated", "simulated", &u.simulated, err)))
        return rc;
    if ((rc = get_object(msg, "uplink_message", "uplink_message", true, &up, err)))
        return rc;
    if (member(msg, "received_at") || !member(up, "received_at"))
        rc = time_at(msg, "received_at", "received_at", &u.received, err);
    else
        rc = time_at(up, "received_at", "uplink_message.received_at", &u.received, err);
    if (rc)
        return rc;
    if ((rc = get_int(up, "f_port", "uplink_message.f_port", 0, 255, 0, &x, err)))
        return rc;
    u.f_port = (int)x;
    if ((rc = get_int(up, "f_cnt", "uplink_message.f_cnt", 0, UINT32_MAX, 0, &x, err)))
        return rc;
    u.f_cnt = (uint32_t)x;
    if ((rc = get_bool(up, "confirmed", "uplink_message.confirmed", &u.confirmed, err)))
        return rc;
    if ((rc = payload(a, up, "frm_payload", "uplink_message.frm_payload", &u, err)))
        return rc;
    if ((rc = get_object(up, "decoded_payload", "uplink_message.decoded_payload", false, &obj,
                         err)))
        return rc;
    u.decoded = obj;
    if ((rc = tts_radio(up, &u, &best, err)))
        return rc;
    return finish(a, &u, &best, out, err);
}
