/*
 * dec_parametric.c - Parametric PCR2 radar people/bike counter, application
 * payloads on fPort 14 (vendor/parametric/pcr2-decoder.js of
 * TheThingsNetwork/lorawan-devices).  fPort 190 carries configuration and is
 * rejected like any other port.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "ingest/ingest_int.h"

/*
 * Extended v4, 17 bytes big-endian: be 01 04, LTR u16, RTL u16 (since the last
 * uplink), LTR_SUM u16, RTL_SUM u16 (since power-up), SBX battery mV, SBX solar
 * power mW, CPU temperature s16/10 Cel.  Both SBX words are 0 without the
 * solar charger; then they are not measurements and are left out.  The TTN
 * codec floors the temperature to whole degrees; we keep the tenth.
 */
static int extended_v4(const uint8_t *p, size_t n, DecOut *o)
{
    if (n != 17)
        return err_set(o->err, ERR_INVALID, "payload",
                       "payload has %zu bytes, extended v4 (be 01 04) has 17", n);
    int rc;
    if ((rc = dec_emit(o, "left_to_right", rd_u16be(p + 3), "{count}")) ||
        (rc = dec_emit(o, "right_to_left", rd_u16be(p + 5), "{count}")) ||
        (rc = dec_emit(o, "left_to_right_total", rd_u16be(p + 7), "{count}")) ||
        (rc = dec_emit(o, "right_to_left_total", rd_u16be(p + 9), "{count}")))
        return rc;
    uint32_t batt = rd_u16be(p + 11), solar = rd_u16be(p + 13);
    if (batt || solar) {
        if ((rc = dec_emit(o, "battery", batt / 1000.0, "V")) ||
            (rc = dec_emit(o, "solar_power", solar / 1000.0, "W")))
            return rc;
    }
    return dec_emit(o, "cpu_temperature", rd_s16be(p + 15) / 10.0, "Cel");
}

/*
 * The default payload, in Elsys TLV style: 0a LTR u16, 16 RTL u16, 01 CPU
 * temperature s16/10.
 */
static int elsys_style(const uint8_t *p, size_t n, DecOut *o)
{
    int rc = 0;
    for (size_t i = 0; !rc && i < n; i += 3) {
        const char *field, *unit = "{count}";
        switch (p[i]) {
        case 0x0a: field = "left_to_right"; break;
        case 0x16: field = "right_to_left"; break;
        case 0x01: field = "cpu_temperature"; unit = "Cel"; break;
        default:
            return err_set(o->err, ERR_INVALID, "payload", "byte %zu: unknown PCR2 type 0x%02x", i,
                           p[i]);
        }
        if ((rc = dec_need(o, n, i + 1, 2, field)))
            break;
        double v = p[i] == 0x01 ? rd_s16be(p + i + 1) / 10.0 : rd_u16be(p + i + 1);
        rc = dec_emit(o, field, v, unit);
    }
    return rc;
}

int dec_parametric_pcr2(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    int rc = dec_port(o, f_port, 14, "parametric-pcr2");
    if (rc)
        return rc;
    if (p[0] == 0x0a)
        return elsys_style(p, n, o);
    if (n >= 3 && p[0] == 0xbe && p[1] == 0x01 && p[2] == 0x04)
        return extended_v4(p, n, o);
    return err_set(o->err, ERR_INVALID, "payload",
                   "bytes 0-2: PCR2 payload starts with neither 0a (default) nor be 01 04 "
                   "(extended v4)");
}
