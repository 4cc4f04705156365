/*
 * dec_decentlab.c - Decentlab protocol version 2 (DL-MBX, DL-PR26, DL-TBRG).
 *
 * Layout (big-endian, fPort 1): byte 0 version = 2, bytes 1-2 device id,
 * bytes 3-4 flags (bit i set = sensor group i present), then the words of the
 * present groups in order.  The last group is the battery voltage in mV.
 * Formulas follow decentlab/decentlab-decoders for each model.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <stdio.h>

#include "ingest/ingest_int.h"

#define MAX_GROUPS 2
#define MAX_WORDS 4

/* A device model: the number of 16-bit words of each sensor group and what they mean. */
typedef struct Model {
    const char *name;
    int ngroups;
    int words[MAX_GROUPS];
    int (*group)(int g, const uint32_t *w, DecOut *o);
} Model;

/*
 * Checks the header and length, then calls m->group for each present group.
 * Flags naming a group the model does not have are an error: we would not
 * know how many words it takes.
 */
static int decode(const Model *m, int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    int rc = dec_port(o, f_port, 1, m->name);
    if (rc)
        return rc;
    if ((rc = dec_need(o, n, 0, 5, "header")))
        return rc;
    if (p[0] != 2)
        return err_set(o->err, ERR_INVALID, "payload",
                       "byte 0: protocol version %u, expected 2", p[0]);
    uint32_t flags = rd_u16be(p + 3);
    if (flags == 0)
        return err_set(o->err, ERR_INVALID, "payload",
                       "bytes 3-4: flags 0x0000 name no sensor group");
    if (flags >> m->ngroups)
        return err_set(o->err, ERR_INVALID, "payload",
                       "bytes 3-4: flags 0x%04x name sensor groups %s does not have",
                       (unsigned)flags, m->name);
    size_t want = 5;
    for (int g = 0; g < m->ngroups; g++)
        if (flags & (1u << g))
            want += 2 * (size_t)m->words[g];
    if (n != want)
        return err_set(o->err, ERR_INVALID, "payload",
                       "payload has %zu bytes, flags 0x%04x need %zu", n, (unsigned)flags, want);
    size_t off = 5;
    for (int g = 0; g < m->ngroups; g++) {
        if (!(flags & (1u << g)))
            continue;
        uint32_t w[MAX_WORDS];
        for (int i = 0; i < m->words[g]; i++, off += 2)
            w[i] = rd_u16be(p + off);
        if ((rc = m->group(g, w, o)))
            return rc;
    }
    return 0;
}

static int battery(const uint32_t *w, DecOut *o)
{
    return dec_emit(o, "battery", w[0] / 1000.0, "V");
}

/* DL-MBX: G0 = distance mm, number of valid samples; G1 = battery. */
static int mbx_group(int g, const uint32_t *w, DecOut *o)
{
    if (g == 1)
        return battery(w, o);
    int rc = dec_emit(o, "distance", w[0], "mm");
    return rc ? rc : dec_emit(o, "valid_samples", w[1], "{count}");
}

/*
 * DL-PR26 with codec parameters Pmin = 0, Pmax = 1 bar (the 0-1 bar variant):
 * p = (w0 - 16384) / 32768 * (Pmax - Pmin) + Pmin [bar],
 * T = (w1 - 384) * 0.003125 - 50 [Cel].  The water column above the sensor is
 * p / (rho g) with rho = 1000 kg/m3 and standard gravity 9.80665 m/s2.
 */
static int pr26_group(int g, const uint32_t *w, DecOut *o)
{
    if (g == 1)
        return battery(w, o);
    const double pmin = 0.0, pmax = 1.0;
    double bar = ((double)w[0] - 16384.0) / 32768.0 * (pmax - pmin) + pmin;
    double column = bar * 1e5 / (1000.0 * 9.80665);
    int rc = dec_emit(o, "water_column", column, "m");
    return rc ? rc : dec_emit(o, "temperature", ((double)w[1] - 384.0) * 0.003125 - 50.0, "Cel");
}

/*
 * DL-TBRG with a resolution of 0.1 mm per tip: precipitation in this interval,
 * interval length in s, cumulative precipitation (w2 + w3 * 65536) tips.
 */
static int tbrg_group(int g, const uint32_t *w, DecOut *o)
{
    if (g == 1)
        return battery(w, o);
    const double tips_per_mm = 10; /* divide: 0.1 is not exact in binary */
    int rc = dec_emit(o, "precipitation", w[0] / tips_per_mm, "mm");
    if (!rc)
        rc = dec_emit(o, "interval", w[1], "s");
    if (!rc)
        rc = dec_emit(o, "cumulative_precipitation", (w[2] + w[3] * 65536.0) / tips_per_mm, "mm");
    return rc;
}

static const Model mbx = {"decentlab-dl-mbx", 2, {2, 1}, mbx_group};
static const Model pr26 = {"decentlab-dl-pr26", 2, {2, 1}, pr26_group};
static const Model tbrg = {"decentlab-dl-tbrg", 2, {4, 1}, tbrg_group};

int dec_decentlab_mbx(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return decode(&mbx, f_port, p, n, o);
}

int dec_decentlab_pr26(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return decode(&pr26, f_port, p, n, o);
}

int dec_decentlab_tbrg(int f_port, const uint8_t *p, size_t n, DecOut *o)
{
    return decode(&tbrg, f_port, p, n, o);
}
