/*
 * dec_elsys.c - the Elsys TLV payload (ERS, ERS CO2, ELT, EMS ...): repeated
 * type(1) value(n), values big-endian, independent of fPort.  Types and
 * lengths follow vendor/elsys/elsys.js of TheThingsNetwork/lorawan-devices;
 * the GPS (09), Grid-EYE (13), load-cell (1B) and debug (3D) types are not
 * decoded and, like any unknown type, stop decoding with an error: skipping
 * them would need a guess at their length.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ingest/ingest_int.h"

enum { K_U8, K_S8, K_U16, K_S16, K_U32, K_BOOL };

typedef struct Type {
    uint8_t type;          /* type byte */
    uint8_t len;           /* value bytes */
    uint8_t kind;          /* K_*: how each value is read */
    const char *fields[3]; /* one per value, NULL after the last; values are len/count bytes */
    const char *unit;      /* UCUM */
    double div;            /* divisor */
} Type;

static const Type types[] = {
    {0x01, 2, K_S16, {"temperature"}, "Cel", 10},
    {0x02, 1, K_U8, {"humidity"}, "%", 1},
    {0x03, 3, K_S8, {"acceleration_x", "acceleration_y", "acceleration_z"}, "[g]", 63},
    {0x04, 2, K_U16, {"illuminance"}, "lx", 1},
    {0x05, 1, K_U8, {"motion"}, "{count}", 1},
    {0x06, 2, K_U16, {"co2"}, "[ppm]", 1},
    {0x07, 2, K_U16, {"battery"}, "V", 1000},
    {0x08, 2, K_U16, {"analog_1"}, "V", 1000},
    {0x0a, 2, K_U16, {"pulses"}, "{count}", 1},
    {0x0b, 4, K_U32, {"pulse_total"}, "{count}", 1},
    {0x0c, 2, K_S16, {"external_temperature"}, "Cel", 10},
    {0x0d, 1, K_BOOL, {"digital"}, "1", 1},
    {0x0e, 2, K_U16, {"distance"}, "mm", 1},
    {0x0f, 1, K_U8, {"vibration"}, "{count}", 1},
    {0x10, 4, K_S16, {"ir_internal_temperature", "ir_external_temperature"}, "Cel", 10},
    {0x11, 1, K_U8, {"occupancy"}, "1", 1},
    {0x12, 1, K_U8, {"water_leak"}, "1", 1},
    {0x14, 4, K_U32, {"pressure"}, "hPa", 1000},
    {0x15, 2, K_U8, {"sound_peak", "sound_average"}, "dB", 1},
    {0x16, 2, K_U16, {"pulses_2"}, "{count}", 1},
    {0x17, 4, K_U32, {"pulse_total_2"}, "{count}", 1},
    {0x18, 2, K_U16, {"analog_2"}, "V", 1000},
    {0x19, 2, K_S16, {"external_temperature_2"}, "Cel", 10},
    {0x1a, 1, K_BOOL, {"digital_2"}, "1", 1},
    {0x1c, 2, K_U16, {"tvoc"}, "[ppb]", 1},
};

#define NTYPES (sizeof types / sizeof types[0])

static int values(const Type *t, const uint8_t *d, size_t at, DecOut *o)
{
    int rc = 0;
    if (t->kind == K_BOOL) {
        if (d[0] > 1)
            return err_set(o->err, ERR_INVALID, t->fields[0], "byte %zu: %s value %u, expected 0 or 1",
                           at, t->fields[0], d[0]);
        return dec_emit_bool(o, t->fields[0], d[0]);
    }
    for (int i = 0; i < 3 && t->fields[i] && !rc; i++) {
        double v;
        switch (t->kind) {
        case K_U8: v = d[i]; break;
        case K_S8: v = (int8_t)d[i]; break;
        case K_U16: v = rd_u16be(d + 2 * i); break;
        case K_S16: v = rd_s16be(d + 2 * i); break;
        default: v = rd_u32be(d + 4 * i); break;
        }
        rc = dec_emit(o, t->fields[i], v / t->div, t->unit);
    }
    return rc;
}

int dec_elsys(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    (void)f_port;
    int rc = 0;
    for (size_t i = 0; !rc && i < n;) {
        const Type *t = NULL;
        for (size_t k = 0; k < NTYPES && !t; k++)
            if (types[k].type == p[i])
                t = &types[k];
        if (!t)
            return err_set(o->err, ERR_INVALID, "payload", "byte %zu: unknown Elsys type 0x%02x", i,
                           p[i]);
        if ((rc = dec_need(o, n, i + 1, t->len, t->fields[0])))
            break;
        rc = values(t, p + i + 1, i + 1, o);
        i += 1 + (size_t)t->len;
    }
    return rc;
}
