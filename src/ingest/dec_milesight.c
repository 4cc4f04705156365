/*
 * dec_milesight.c - Milesight devices: the TLV family (EM310-UDL, EM500-SWL,
 * EM500-CO2, EM300-DI, VS133; fPort 85) and the fixed-layout GS524N smoke
 * detector.
 *
 * TLV layout: repeated channel_id(1) channel_type(1) data(n), data
 * little-endian (Milesight-IoT/SensorDecoders).  The length of a channel is
 * known only from its (id, type) pair, so an unknown pair stops decoding with
 * an error instead of a guess.  The device-information channels (ff xx) every
 * Milesight device sends after joining are skipped.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ingest/ingest_int.h"

/* How the data bytes of a channel are read. */
enum {
    K_SKIP,    /* device information: no value */
    K_U8,      /* fields[i] = u8 at byte i */
    K_U16,     /* fields[i] = u16 LE at byte 2i */
    K_S16,     /* fields[i] = s16 LE at byte 2i */
    K_U32,     /* fields[i] = u32 LE at byte 4i */
    K_BOOL,    /* fields[0] = u8 that must be 0 or 1 */
    K_DEPTH,   /* u16 LE with sensor error codes 0xFFFF and 0xFFFD */
    K_DWELL,   /* region(1) avg u16 LE, max u16 LE */
};

typedef struct Chan {
    uint8_t id, type; /* channel id and type */
    uint8_t len;      /* data bytes */
    uint8_t kind;     /* K_* */
    const char *fields[4]; /* value names, NULL after the last */
    const char *unit;      /* UCUM */
    double div;            /* divisor */
} Chan;

#define DEVICE_INFO                                                                         \
    {0xff, 0x01, 1, K_SKIP, {NULL}, NULL, 0}, /* IPSO version */                            \
    {0xff, 0x09, 2, K_SKIP, {NULL}, NULL, 0}, /* hardware version */                        \
    {0xff, 0x0a, 2, K_SKIP, {NULL}, NULL, 0}, /* firmware version */                        \
    {0xff, 0x0b, 1, K_SKIP, {NULL}, NULL, 0}, /* device status: power on */                 \
    {0xff, 0x0f, 1, K_SKIP, {NULL}, NULL, 0}, /* LoRaWAN class */                           \
    {0xff, 0x16, 8, K_SKIP, {NULL}, NULL, 0}, /* serial number */                           \
    {0xff, 0xfe, 1, K_SKIP, {NULL}, NULL, 0}, /* reset event */                             \
    {0xff, 0xff, 2, K_SKIP, {NULL}, NULL, 0}  /* TSL version */

#define BATTERY {0x01, 0x75, 1, K_U8, {"battery"}, "%", 1}
#define END {0, 0, 0, 0, {NULL}, NULL, 0} /* len 0 ends a table */

static const Chan em310_udl[] = {
    DEVICE_INFO,
    BATTERY,
    {0x03, 0x82, 2, K_U16, {"distance"}, "mm", 1},
    {0x04, 0x00, 1, K_BOOL, {"tilt"}, "1", 1}, /* position: 0 normal, 1 tilt */
    END,
};

static const Chan em500_swl[] = {
    DEVICE_INFO,
    BATTERY,
    {0x03, 0x77, 2, K_DEPTH, {"depth"}, "cm", 1},
    END,
};

static const Chan em500_co2[] = {
    DEVICE_INFO,
    BATTERY,
    {0x03, 0x67, 2, K_S16, {"temperature"}, "Cel", 10},
    {0x04, 0x68, 1, K_U8, {"humidity"}, "%", 2},
    {0x05, 0x7d, 2, K_U16, {"co2"}, "[ppm]", 1},
    {0x06, 0x73, 2, K_U16, {"pressure"}, "hPa", 10},
    END,
};

static const Chan em300_di[] = {
    DEVICE_INFO,
    BATTERY,
    {0x03, 0x67, 2, K_S16, {"temperature"}, "Cel", 10},
    {0x04, 0x68, 1, K_U8, {"humidity"}, "%", 2},
    {0x05, 0x00, 1, K_BOOL, {"gpio"}, "1", 1},
    {0x05, 0xc8, 4, K_U32, {"pulse_total"}, "{count}", 1},
    END,
};

static const Chan vs133[] = {
    DEVICE_INFO,
    {0x03, 0xd2, 4, K_U32, {"line_1_total_in"}, "{count}", 1},
    {0x04, 0xd2, 4, K_U32, {"line_1_total_out"}, "{count}", 1},
    {0x05, 0xcc, 4, K_U16, {"line_1_period_in", "line_1_period_out"}, "{count}", 1},
    {0x06, 0xd2, 4, K_U32, {"line_2_total_in"}, "{count}", 1},
    {0x07, 0xd2, 4, K_U32, {"line_2_total_out"}, "{count}", 1},
    {0x08, 0xcc, 4, K_U16, {"line_2_period_in", "line_2_period_out"}, "{count}", 1},
    {0x09, 0xd2, 4, K_U32, {"line_3_total_in"}, "{count}", 1},
    {0x0a, 0xd2, 4, K_U32, {"line_3_total_out"}, "{count}", 1},
    {0x0b, 0xcc, 4, K_U16, {"line_3_period_in", "line_3_period_out"}, "{count}", 1},
    {0x0c, 0xd2, 4, K_U32, {"line_4_total_in"}, "{count}", 1},
    {0x0d, 0xd2, 4, K_U32, {"line_4_total_out"}, "{count}", 1},
    {0x0e, 0xcc, 4, K_U16, {"line_4_period_in", "line_4_period_out"}, "{count}", 1},
    {0x0f, 0xe3, 4, K_U8,
     {"region_1_count", "region_2_count", "region_3_count", "region_4_count"}, "{count}", 1},
    {0x10, 0xe4, 5, K_DWELL, {NULL}, "s", 1},
    END,
};

static const char *const dwell_avg[] = {"region_1_avg_dwell", "region_2_avg_dwell",
                                        "region_3_avg_dwell", "region_4_avg_dwell"};
static const char *const dwell_max[] = {"region_1_max_dwell", "region_2_max_dwell",
                                        "region_3_max_dwell", "region_4_max_dwell"};

/* Emits the values of channel c whose data starts at d (c->len bytes, checked). */
static int channel(const Chan *c, const uint8_t *d, size_t at, DecOut *o)
{
    int rc = 0;
    switch (c->kind) {
    case K_SKIP:
        return 0;
    case K_BOOL:
        if (d[0] > 1)
            return err_set(o->err, ERR_INVALID, c->fields[0], "byte %zu: %s value %u, expected 0 or 1",
                           at, c->fields[0], d[0]);
        return dec_emit_bool(o, c->fields[0], d[0]);
    case K_DEPTH: {
        uint32_t v = rd_u16le(d);
        if (v == 0xffff || v == 0xfffd)
            return err_set(o->err, ERR_INVALID, c->fields[0], "byte %zu: %s sensor reports %s (0x%04x)",
                           at, c->fields[0], v == 0xffff ? "collection failed" : "out of range",
                           (unsigned)v);
        return dec_emit(o, c->fields[0], v / c->div, c->unit);
    }
    case K_DWELL:
        if (d[0] < 1 || d[0] > 4)
            return err_set(o->err, ERR_INVALID, "payload", "byte %zu: region %u, expected 1..4", at,
                           d[0]);
        rc = dec_emit(o, dwell_avg[d[0] - 1], rd_u16le(d + 1), c->unit);
        return rc ? rc : dec_emit(o, dwell_max[d[0] - 1], rd_u16le(d + 3), c->unit);
    }
    for (int i = 0; i < 4 && c->fields[i] && !rc; i++) {
        double v;
        switch (c->kind) {
        case K_U8: v = d[i]; break;
        case K_U16: v = rd_u16le(d + 2 * i); break;
        case K_S16: v = rd_s16le(d + 2 * i); break;
        default: v = rd_u32le(d + 4 * i); break;
        }
        rc = dec_emit(o, c->fields[i], v / c->div, c->unit);
    }
    return rc;
}

static int tlv(const Chan *table, const char *device, int f_port, const uint8_t *p, size_t n,
               DecOut *o)
{
    int rc = dec_port(o, f_port, 85, device);
    for (size_t i = 0; !rc && i < n;) {
        if ((rc = dec_need(o, n, i, 2, "channel header")))
            break;
        const Chan *c = table;
        while (c->len != 0 && !(c->id == p[i] && c->type == p[i + 1]))
            c++;
        if (c->len == 0)
            return err_set(o->err, ERR_INVALID, "payload", "byte %zu: unknown channel 0x%02x 0x%02x",
                           i, p[i], p[i + 1]);
        if ((rc = dec_need(o, n, i + 2, c->len, "channel data")))
            break;
        rc = channel(c, p + i + 2, i + 2, o);
        i += 2 + (size_t)c->len;
    }
    return rc;
}

int dec_milesight_em310_udl(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return tlv(em310_udl, "milesight-em310-udl", f_port, p, n, o);
}

int dec_milesight_em500_swl(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return tlv(em500_swl, "milesight-em500-swl", f_port, p, n, o);
}

int dec_milesight_em500_co2(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return tlv(em500_co2, "milesight-em500-co2", f_port, p, n, o);
}

int dec_milesight_em300_di(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return tlv(em300_di, "milesight-em300-di", f_port, p, n, o);
}

int dec_milesight_vs133(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return tlv(vs133, "milesight-vs133", f_port, p, n, o);
}

/*
 * GS524N smoke detector, 6 bytes on any fPort: byte 0 version << 4 |
 * protocol, byte 1 sensor type << 4 (1 = smoke) | message type, byte 2
 * battery %, byte 3 smoke concentration %, byte 4 temperature s8 Cel, byte 5
 * checksum chosen so that all six bytes sum to 0 mod 256.
 */
int dec_milesight_gs524n(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    (void)f_port;
    if (n != 6)
        return err_set(o->err, ERR_INVALID, "payload", "payload has %zu bytes, expected 6", n);
    unsigned sum = 0;
    for (size_t i = 0; i < 6; i++)
        sum += p[i];
    if (sum % 256 != 0)
        return err_set(o->err, ERR_INVALID, "payload",
                       "byte 5: checksum 0x%02x, bytes sum to 0x%02x instead of 0 mod 256", p[5],
                       sum % 256);
    if (p[1] >> 4 != 1)
        return err_set(o->err, ERR_INVALID, "payload", "byte 1: sensor type %u, expected 1 (smoke)",
                       p[1] >> 4);
    unsigned type = p[1] & 0x0f;
    switch (type) {
    case 1: case 2: case 4: case 5: case 7: case 10: case 11: case 14: case 15: break;
    default:
        return err_set(o->err, ERR_INVALID, "payload", "byte 1: unknown message type %u", type);
    }
    int rc = dec_emit_bool(o, "smoke_alarm", type == 1);
    if (!rc)
        rc = dec_emit(o, "event", type, "1");
    if (!rc)
        rc = dec_emit(o, "battery", p[2], "%");
    if (!rc)
        rc = dec_emit(o, "smoke_concentration", p[3], "%");
    if (!rc)
        rc = dec_emit(o, "temperature", (int8_t)p[4], "Cel");
    return rc;
}
