/*
 * dec_bosch.c - Bosch Parking Lot Sensor TPS110 (vendor/bosch/tpl110-0292.js
 * of TheThingsNetwork/lorawan-devices).  fPort 1 = parking status change,
 * fPort 2 = heartbeat (with temperature in newer firmware), fPort 3 =
 * start-up message; all carry the occupancy.  Ports 4-6 (device information,
 * usage, debug) hold no measurement and are rejected like any other port.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ingest/ingest_int.h"

int dec_bosch_tps110(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    int rc;
    switch (f_port) {
    case 1: /* byte 0 bit 0: occupied */
        if (n != 1)
            return err_set(o->err, ERR_INVALID, "payload",
                           "payload has %zu bytes, expected 1 on fPort 1", n);
        return dec_emit_bool(o, "occupied", p[0] & 1);
    case 2: /* byte 0 bit 0: occupied, byte 1: temperature s8 Cel */
        if (n != 1 && n != 2)
            return err_set(o->err, ERR_INVALID, "payload",
                           "payload has %zu bytes, expected 1 or 2 on fPort 2", n);
        rc = dec_emit_bool(o, "occupied", p[0] & 1);
        if (!rc && n == 2)
            rc = dec_emit(o, "temperature", (int8_t)p[1], "Cel");
        return rc;
    case 3: /* bytes 0-11 debug codes, 12-14 firmware, 15 reset cause, 16 occupancy */
        if (n != 17)
            return err_set(o->err, ERR_INVALID, "payload",
                           "payload has %zu bytes, expected 17 on fPort 3", n);
        return dec_emit_bool(o, "occupied", p[16] & 1);
    default:
        return err_set(o->err, ERR_INVALID, "fPort",
                       "fPort %d, expected 1, 2 or 3 for bosch-tps110", f_port);
    }
}
