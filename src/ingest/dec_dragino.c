/*
 * dec_dragino.c - Dragino LDDS75 (ultrasonic distance) and LSE01 (soil
 * moisture, temperature, conductivity), both fPort 2, big-endian
 * (dragino/dragino-end-node-decoder).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ingest/ingest_int.h"

/* Bytes 0-1: battery, the two top bits are flags, the rest is mV. */
static int battery(const uint8_t *p, DecOut *o)
{
    return dec_emit(o, "battery", (rd_u16be(p) & 0x3fff) / 1000.0, "V");
}

/*
 * LDDS75, firmware >= 1.1.4 (8 bytes): battery, distance u16 mm, interrupt
 * flag u8, DS18B20 temperature s16/10 Cel, sensor flag u8.  Old firmware (5
 * bytes): battery, distance, interrupt flag.  Distances below 20 mm are the
 * device's "invalid reading" (0 = no sensor), not a measurement.
 */
int dec_dragino_ldds75(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    int rc = dec_port(o, f_port, 2, "dragino-ldds75");
    if (rc)
        return rc;
    if (n != 8 && n != 5)
        return err_set(o->err, ERR_INVALID, "payload",
                       "payload has %zu bytes, expected 8 (or 5 from old firmware)", n);
    uint32_t distance = rd_u16be(p + 2);
    if (distance < 20)
        return err_set(o->err, ERR_INVALID, "distance",
                       "bytes 2-3: distance %u mm is the sensor's invalid-reading code (< 20 mm)",
                       (unsigned)distance);
    if (p[4] > 1)
        return err_set(o->err, ERR_INVALID, "interrupt", "byte 4: interrupt flag %u, expected 0 or 1",
                       p[4]);
    if ((rc = battery(p, o)) || (rc = dec_emit(o, "distance", distance, "mm")) ||
        (rc = dec_emit_bool(o, "interrupt", p[4])))
        return rc;
    if (n == 8)
        rc = dec_emit(o, "temperature", rd_s16be(p + 5) / 10.0, "Cel");
    return rc;
}

/*
 * LSE01 (11 bytes): battery, DS18B20 temperature s16/10 Cel, then in mode 0
 * soil moisture u16/100 %, soil temperature s16/100 Cel, conductivity u16
 * uS/cm; in mode 1 the raw dielectric constant u16/10 and raw moisture and
 * conductivity counts.  Byte 10: bit 7 mode, bit 4 sensor flag, bits 0-3
 * interrupt flag.  (The vendor script computes negative soil temperatures as
 * (v - 0xFFFF) / 100, one count off; we use two's complement.)
 */
int dec_dragino_lse01(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    int rc = dec_port(o, f_port, 2, "dragino-lse01");
    if (rc)
        return rc;
    if (n != 11)
        return err_set(o->err, ERR_INVALID, "payload", "payload has %zu bytes, expected 11", n);
    if ((rc = battery(p, o)) || (rc = dec_emit(o, "temperature", rd_s16be(p + 2) / 10.0, "Cel")))
        return rc;
    if (p[10] & 0x80) {
        if ((rc = dec_emit(o, "soil_dielectric_constant", rd_u16be(p + 4) / 10.0, "1")) ||
            (rc = dec_emit(o, "soil_moisture_raw", rd_u16be(p + 6), "1")) ||
            (rc = dec_emit(o, "soil_conductivity_raw", rd_u16be(p + 8), "1")))
            return rc;
    } else {
        if ((rc = dec_emit(o, "soil_moisture", rd_u16be(p + 4) / 100.0, "%")) ||
            (rc = dec_emit(o, "soil_temperature", rd_s16be(p + 6) / 100.0, "Cel")) ||
            (rc = dec_emit(o, "soil_conductivity", rd_u16be(p + 8), "uS/cm")))
            return rc;
    }
    return dec_emit_bool(o, "interrupt", p[10] & 0x0f);
}
