/*
 * decode.c - the decoder table behind ingest_decode(), the value collector the
 * decoders share, and the plausible ranges behind ingest_check_range().
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <math.h>
#include <string.h>

#include "ingest/ingest_int.h"

/* ------------------------------------------------------------------------
 * Dispatch
 * ---------------------------------------------------------------------- */

static const struct {
    const char *name;
    DecFn fn;
} decoders[] = {
    {"decentlab-dl-mbx", dec_decentlab_mbx},
    {"decentlab-dl-pr26", dec_decentlab_pr26},
    {"decentlab-dl-tbrg", dec_decentlab_tbrg},
    {"milesight-em310-udl", dec_milesight_em310_udl},
    {"milesight-em500-swl", dec_milesight_em500_swl},
    {"milesight-em500-co2", dec_milesight_em500_co2},
    {"milesight-em300-di", dec_milesight_em300_di},
    {"milesight-vs133", dec_milesight_vs133},
    {"milesight-gs524n", dec_milesight_gs524n},
    {"dragino-ldds75", dec_dragino_ldds75},
    {"dragino-lse01", dec_dragino_lse01},
    {"elsys", dec_elsys},
    {"bosch-tps110", dec_bosch_tps110},
    {"parametric-pcr2", dec_parametric_pcr2},
};

#define NDECODERS (sizeof decoders / sizeof decoders[0])

static const char *const names[NDECODERS + 1] = {
    "decentlab-dl-mbx",    "decentlab-dl-pr26",   "decentlab-dl-tbrg", "milesight-em310-udl",
    "milesight-em500-swl", "milesight-em500-co2", "milesight-em300-di", "milesight-vs133",
    "milesight-gs524n",    "dragino-ldds75",      "dragino-lse01",     "elsys",
    "bosch-tps110",        "parametric-pcr2",     NULL,
};

static DecFn lookup(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < NDECODERS; i++)
        if (strcmp(decoders[i].name, name) == 0)
            return decoders[i].fn;
    return NULL;
}

bool ingest_decoder_known(const char *name)
{
    return lookup(name) != NULL;
}

const char *const *ingest_decoder_names(void)
{
    return names;
}

int ingest_decode(const char *decoder, int f_port, const uint8_t *p, size_t n, DecodedValue *out,
                  size_t max, size_t *count, Err *err)
{
    DecFn fn = lookup(decoder);
    if (!fn)
        return err_set(err, ERR_NOT_FOUND, "decoder", "unknown decoder '%s'",
                       decoder ? decoder : "(null)");
    if (f_port < 1 || f_port > 255)
        return err_set(err, ERR_INVALID, "fPort", "fPort %d carries no application payload",
                       f_port);
    if (n == 0 || !p)
        return err_set(err, ERR_INVALID, "payload", "empty payload");
    DecOut o;
    o.n = 0;
    o.err = err;
    int rc = fn(f_port, p, n, &o);
    if (rc)
        return rc;
    rc = dec_finish(&o, out, max, count);
    if (rc)
        return err_set(err, rc, "payload", "payload yields %zu values, room for %zu", o.n, max);
    return 0;
}

/* ------------------------------------------------------------------------
 * Collector
 * ---------------------------------------------------------------------- */

int dec_emit(DecOut *o, const char *field, double value, const char *unit)
{
    if (!isfinite(value))
        return err_set(o->err, ERR_INVALID, field, "%s is not a finite number", field);
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->v[i].field, field) == 0)
            return err_set(o->err, ERR_INVALID, field, "%s appears twice in the payload", field);
    if (o->n == INGEST_VALUES_MAX)
        return err_set(o->err, ERR_INVALID, "payload", "payload yields more than %d values",
                       INGEST_VALUES_MAX);
    o->v[o->n].field = field;
    o->v[o->n].value = value;
    o->v[o->n].is_bool = 0;
    o->v[o->n].unit = unit;
    o->n++;
    return 0;
}

int dec_emit_bool(DecOut *o, const char *field, int on)
{
    int rc = dec_emit(o, field, on ? 1.0 : 0.0, "1");
    if (rc == 0)
        o->v[o->n - 1].is_bool = 1;
    return rc;
}

int dec_need(DecOut *o, size_t n, size_t off, size_t len, const char *what)
{
    if (off <= n && len <= n - off)
        return 0;
    return err_set(o->err, ERR_INVALID, "payload", "byte %zu: %s needs %zu byte%s, payload has %zu",
                   off, what, len, len == 1 ? "" : "s", n);
}

int dec_port(DecOut *o, int f_port, int want, const char *device)
{
    if (f_port == want)
        return 0;
    return err_set(o->err, ERR_INVALID, "fPort", "fPort %d, expected %d for %s", f_port, want,
                   device);
}

int dec_finish(const DecOut *o, DecodedValue *out, size_t max, size_t *count)
{
    if (o->n > max)
        return ERR_TOO_LARGE;
    if (o->n)
        memcpy(out, o->v, o->n * sizeof *out);
    *count = o->n;
    return 0;
}

/* ------------------------------------------------------------------------
 * Plausible ranges
 *
 * Rows are tried in order: exact field and unit, then the field as the last
 * word of a snake_case name ("soil_temperature" -> "temperature"), then
 * unit-only rows (field "*").  Limits are what the sensors we know can
 * physically report, a little wider than their data sheets, so that only
 * broken readings are rejected.
 * ---------------------------------------------------------------------- */

static const struct {
    const char *field;
    const char *unit;
    double lo, hi;
} ranges[] = {
    {"temperature", "Cel", -40, 85},
    {"humidity", "%", 0, 100},
    {"battery", "V", 0, 5},
    {"battery", "mV", 0, 5000},
    {"battery", "%", 0, 100},
    {"water_column", "m", 0, 20},
    {"depth", "m", 0, 20},
    {"depth", "cm", 0, 2000},
    {"level", "m", -20, 20},
    {"distance", "mm", 0, 10000},
    {"co2", "[ppm]", 0, 10000},
    {"pressure", "hPa", 300, 1100},
    {"precipitation", "mm", 0, 500},
    {"cumulative_precipitation", "mm", 0, 1e9},
    {"interval", "s", 0, 7 * 86400},
    {"illuminance", "lx", 0, 200000},
    {"moisture", "%", 0, 100},
    {"conductivity", "uS/cm", 0, 20000},
    {"smoke_concentration", "%", 0, 100},
    {"solar_power", "W", 0, 1000},
    {"dwell", "s", 0, 7 * 86400},
    {"*", "{count}", 0, INFINITY},
    {"*", "%", 0, 100},
};

#define NRANGES (sizeof ranges / sizeof ranges[0])

/* True when field is row, or ends in "_" row. */
static bool names_quantity(const char *field, const char *row)
{
    size_t fl = strlen(field), rl = strlen(row);
    if (fl == rl)
        return memcmp(field, row, fl) == 0;
    return fl > rl && field[fl - rl - 1] == '_' && memcmp(field + fl - rl, row, rl) == 0;
}

int ingest_check_range(const char *field, const char *unit, double v, Err *err)
{
    if (!field)
        field = "";
    if (!unit)
        unit = "";
    if (!isfinite(v))
        return err_set(err, ERR_INVALID, field, "%s is not a finite number", field);
    int row = -1;
    for (size_t i = 0; i < NRANGES && row < 0; i++)
        if (strcmp(ranges[i].unit, unit) == 0 && strcmp(ranges[i].field, field) == 0)
            row = (int)i;
    for (size_t i = 0; i < NRANGES && row < 0; i++)
        if (strcmp(ranges[i].unit, unit) == 0 && names_quantity(field, ranges[i].field))
            row = (int)i;
    for (size_t i = 0; i < NRANGES && row < 0; i++)
        if (strcmp(ranges[i].field, "*") == 0 && strcmp(ranges[i].unit, unit) == 0)
            row = (int)i;
    if (row < 0)
        return 0;
    if (v < ranges[row].lo || v > ranges[row].hi) {
        if (isinf(ranges[row].hi))
            return err_set(err, ERR_INVALID, field, "%s %g %s is below %g %s", field, v, unit,
                           ranges[row].lo, unit);
        return err_set(err, ERR_INVALID, field, "%s %g %s is outside %g..%g %s", field, v, unit,
                       ranges[row].lo, ranges[row].hi, unit);
    }
    return 0;
}
