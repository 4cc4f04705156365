/*
 * registry.c - the LoRaWAN device registry as the ingest module sees it:
 * DevEUIs, what each built-in decoder yields (field and UCUM unit), and the
 * checks of a registration before it is written (see ingest.h).
 *
 * A registration is checked in two steps: ingest_device_parse is pure (the
 * shape of the JSON, the decoder and its fields, the spec), and
 * ingest_device_check looks the mapped Datastreams up on a read connection
 * and compares units, so that a wrong unit is refused when the device is
 * registered rather than discovered in the data months later.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "ingest/ingest.h"
#include "util/isotime.h"
#include "util/jsonw.h"

/* ================================================================ DevEUI */

int ingest_eui_parse(const char *s, char out[INGEST_EUI_LEN + 1], Err *err)
{
    char tmp[INGEST_EUI_LEN + 1];
    size_t n = 0;
    if (!s)
        return err_set(err, ERR_MISSING, "devEui", "devEui is missing");
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c == '-' || c == ':') && n > 0 && n % 2 == 0 && s[i + 1])
            continue;
        if (!isxdigit(c))
            return err_set(err, ERR_INVALID, "devEui",
                           "devEui '%.40s' is malformed: character %zu is not a hex digit", s,
                           i + 1);
        if (n == INGEST_EUI_LEN)
            return err_set(err, ERR_INVALID, "devEui",
                           "devEui '%.40s' is malformed: more than 16 hex digits", s);
        tmp[n++] = (char)toupper(c);
    }
    if (n != INGEST_EUI_LEN)
        return err_set(err, ERR_INVALID, "devEui",
                       "devEui '%.40s' is malformed: %zu hex digits, expected 16", s, n);
    tmp[n] = '\0';
    memcpy(out, tmp, sizeof tmp);
    return 0;
}

/* ===================================================== decoder fields */

/*
 * What every built-in decoder can yield, "field:unit" separated by
 * commas; unit "bool" marks a boolean (UCUM "1").  Kept next to the
 * decoders' own tables by test_pipeline.c, which decodes the sensors.md
 * examples and checks every value against this list.
 */
static const struct {
    const char *decoder;
    const char *fields;
} fields[] = {
    {"decentlab-dl-mbx", "distance:mm,valid_samples:{count},battery:V"},
    {"decentlab-dl-pr26", "water_column:m,temperature:Cel,battery:V"},
    {"decentlab-dl-tbrg",
     "precipitation:mm,interval:s,cumulative_precipitation:mm,battery:V"},
    {"milesight-em310-udl", "battery:%,distance:mm,tilt:bool"},
    {"milesight-em500-swl", "battery:%,depth:cm"},
    {"milesight-em500-co2", "battery:%,temperature:Cel,humidity:%,co2:[ppm],pressure:hPa"},
    {"milesight-em300-di", "battery:%,temperature:Cel,humidity:%,pulse_total:{count},gpio:bool"},
    {"milesight-vs133",
     "line_1_total_in:{count},line_1_total_out:{count},line_1_period_in:{count},"
     "line_1_period_out:{count},line_2_total_in:{count},line_2_total_out:{count},"
     "line_2_period_in:{count},line_2_period_out:{count},line_3_total_in:{count},"
     "line_3_total_out:{count},line_3_period_in:{count},line_3_period_out:{count},"
     "line_4_total_in:{count},line_4_total_out:{count},line_4_period_in:{count},"
     "line_4_period_out:{count},region_1_count:{count},region_2_count:{count},"
     "region_3_count:{count},region_4_count:{count},region_1_avg_dwell:s,region_1_max_dwell:s,"
     "region_2_avg_dwell:s,region_2_max_dwell:s,region_3_avg_dwell:s,region_3_max_dwell:s,"
     "region_4_avg_dwell:s,region_4_max_dwell:s"},
    {"milesight-gs524n",
     "smoke_alarm:bool,event:1,battery:%,smoke_concentration:%,temperature:Cel"},
    {"dragino-ldds75", "battery:V,distance:mm,interrupt:bool,temperature:Cel"},
    {"dragino-lse01",
     "battery:V,temperature:Cel,interrupt:bool,soil_moisture:%,soil_temperature:Cel,"
     "soil_conductivity:uS/cm,soil_dielectric_constant:1,soil_moisture_raw:1,"
     "soil_conductivity_raw:1"},
    {"elsys",
     "temperature:Cel,humidity:%,acceleration_x:[g],acceleration_y:[g],acceleration_z:[g],"
     "illuminance:lx,motion:{count},co2:[ppm],battery:V,analog_1:V,pulses:{count},"
     "pulse_total:{count},external_temperature:Cel,digital:bool,distance:mm,vibration:{count},"
     "ir_internal_temperature:Cel,ir_external_temperature:Cel,occupancy:1,water_leak:1,"
     "pressure:hPa,sound_peak:dB,sound_average:dB,pulses_2:{count},pulse_total_2:{count},"
     "analog_2:V,external_temperature_2:Cel,digital_2:bool,tvoc:[ppb]"},
    {"bosch-tps110", "occupied:bool,temperature:Cel"},
    {"parametric-pcr2",
     "left_to_right:{count},right_to_left:{count},left_to_right_total:{count},"
     "right_to_left_total:{count},cpu_temperature:Cel,battery:V,solar_power:W"},
};

#define NFIELDS (sizeof fields / sizeof fields[0])

static const char *fields_of(const char *decoder)
{
    for (size_t i = 0; decoder && i < NFIELDS; i++)
        if (strcmp(fields[i].decoder, decoder) == 0)
            return fields[i].fields;
    return NULL;
}

bool ingest_decoder_field(const char *decoder, const char *field, const char **unit,
                          bool *is_bool)
{
    /* Units are static: point into a table of the ones used above. */
    static const char *const units[] = {"mm", "{count}", "V", "m", "Cel", "s", "%", "bool",
                                        "cm", "[ppm]", "hPa", "1", "uS/cm", "[g]", "lx",
                                        "dB", "[ppb]", "W", NULL};
    const char *list = fields_of(decoder);
    size_t fl = strlen(field);
    for (const char *p = list; p && *p;) {
        const char *colon = strchr(p, ':'), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if ((size_t)(colon - p) == fl && strncmp(p, field, fl) == 0) {
            size_t ul = (size_t)(end - colon - 1);
            for (int i = 0; units[i]; i++)
                if (strlen(units[i]) == ul && strncmp(units[i], colon + 1, ul) == 0) {
                    bool b = strcmp(units[i], "bool") == 0;
                    *unit = b ? "1" : units[i];
                    *is_bool = b;
                    return true;
                }
            return false;
        }
        p = *end ? end + 1 : end;
    }
    return false;
}

void ingest_decoder_fields_list(const char *decoder, Buf *b)
{
    const char *list = fields_of(decoder);
    bool first = true;
    for (const char *p = list; p && *p;) {
        const char *colon = strchr(p, ':'), *end = strchr(p, ',');
        if (!end)
            end = p + strlen(p);
        if (!first)
            buf_puts(b, ", ");
        buf_append(b, p, (size_t)(colon - p));
        first = false;
        p = *end ? end + 1 : end;
    }
}

/* ====================================================== registrations */

static const char *const members[] = {"devEui", "name", "thingId", "decoder", "decoderSpec",
                                      "useNsDecoded", "mapping", "created", "updated", NULL};

static bool field_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > INGEST_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

int ingest_device_parse(Arena *a, const json_t *obj, const char *path_eui, IngestDevice *out,
                        Err *err)
{
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, NULL, "a device must be a JSON object");
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        bool known = false;
        for (int i = 0; members[i] && !known; i++)
            known = strcmp(members[i], key) == 0;
        if (!known)
            return err_set(err, ERR_UNKNOWN_PROPERTY, key,
                           "unknown member '%s' (a device has devEui, name, thingId, decoder, "
                           "decoderSpec, useNsDecoded, mapping)",
                           key);
    }
    IngestDevice *d = arena_zalloc(a, sizeof *d);
    if (!d)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    json_t *jeui = json_object_get(obj, "devEui");
    if (jeui && !json_is_string(jeui))
        return err_set(err, ERR_INVALID, "devEui", "devEui must be a string of 16 hex digits");
    if (!jeui && !path_eui)
        return err_set(err, ERR_MISSING, "devEui", "devEui is missing");
    int rc = ingest_eui_parse(jeui ? json_string_value(jeui) : path_eui, d->dev_eui, err);
    if (rc)
        return rc;
    if (path_eui && jeui) {
        char p[INGEST_EUI_LEN + 1];
        if (ingest_eui_parse(path_eui, p, err))
            return ERR_INVALID;
        if (strcmp(p, d->dev_eui) != 0)
            return err_set(err, ERR_INVALID, "devEui",
                           "devEui %s differs from the DevEUI %s of the URL", d->dev_eui, p);
    }
    json_t *jname = json_object_get(obj, "name");
    if (jname && !json_is_string(jname) && !json_is_null(jname))
        return err_set(err, ERR_INVALID, "name", "name must be a string");
    d->name = arena_strdup(a, json_is_string(jname) ? json_string_value(jname) : "");
    json_t *jthing = json_object_get(obj, "thingId");
    if (jthing && !json_is_null(jthing)) {
        if (!json_is_integer(jthing) || json_integer_value(jthing) <= 0)
            return err_set(err, ERR_INVALID, "thingId", "thingId must be a positive integer");
        d->thing_id = json_integer_value(jthing);
    }
    json_t *jns = json_object_get(obj, "useNsDecoded");
    if (jns && !json_is_boolean(jns))
        return err_set(err, ERR_INVALID, "useNsDecoded", "useNsDecoded must be true or false");
    d->use_ns_decoded = json_is_true(jns);
    json_t *jdec = json_object_get(obj, "decoder");
    if (!jdec)
        return err_set(err, ERR_MISSING, "decoder",
                       "decoder is missing (a built-in decoder, \"spec\", or \"none\" with "
                       "useNsDecoded)");
    if (!json_is_string(jdec))
        return err_set(err, ERR_INVALID, "decoder", "decoder must be a string");
    const char *dec = json_string_value(jdec);
    json_t *jspec = json_object_get(obj, "decoderSpec");
    if (strcmp(dec, "spec") == 0) {
        if (!json_is_string(jspec))
            return err_set(err, ERR_MISSING, "decoderSpec",
                           "decoder \"spec\" needs decoderSpec, the decoder in the compact "
                           "spec syntax (docs/lorawan.md)");
        Err serr;
        err_init(&serr);
        if (ingest_decoder_spec_parse(a, json_string_value(jspec), &d->spec, &serr)) {
            err_set(err, serr.code, "decoderSpec", "decoderSpec, column %ld: %s",
                    serr.position, serr.msg);
            err->position = serr.position;
            return err->code;
        }
        d->decoder_spec = arena_strdup(a, json_string_value(jspec));
    } else if (jspec && !json_is_null(jspec)) {
        return err_set(err, ERR_INVALID, "decoderSpec",
                       "decoderSpec is only allowed with decoder \"spec\"");
    } else if (strcmp(dec, "none") == 0) {
        if (!d->use_ns_decoded)
            return err_set(err, ERR_INVALID, "decoder",
                           "decoder \"none\" needs useNsDecoded: true (the network server "
                           "decodes the payload)");
    } else if (!ingest_decoder_known(dec)) {
        return err_set(err, ERR_INVALID, "decoder",
                       "unknown decoder '%.63s': not a built-in decoder (docs/lorawan.md), "
                       "\"spec\" or \"none\"",
                       dec);
    }
    d->decoder = arena_strdup(a, dec);
    json_t *jmap = json_object_get(obj, "mapping");
    if (!jmap)
        return err_set(err, ERR_MISSING, "mapping",
                       "mapping is missing: {\"<field>\": {\"datastream\": <id>}, ...}");
    if (!json_is_object(jmap) || json_object_size(jmap) == 0)
        return err_set(err, ERR_INVALID, "mapping",
                       "mapping must be a non-empty object {\"<field>\": {\"datastream\": <id>}}");
    if (json_object_size(jmap) > INGEST_MAP_MAX)
        return err_set(err, ERR_INVALID, "mapping", "mapping has more than %d fields",
                       INGEST_MAP_MAX);
    json_object_foreach(jmap, key, val) {
        const char *f = arena_printf(a, "mapping.%.63s", key);
        if (!field_name_ok(key))
            return err_set(err, ERR_INVALID, f, "mapping: '%.63s' is not a field name", key);
        if (!json_is_object(val))
            return err_set(err, ERR_INVALID, f, "%s must be an object {\"datastream\": <id>}", f);
        json_t *jds = json_object_get(val, "datastream");
        const char *fds = arena_printf(a, "%s.datastream", f);
        if (!json_is_integer(jds) || json_integer_value(jds) <= 0)
            return err_set(err, jds ? ERR_INVALID : ERR_MISSING, fds,
                           "%s must be the @iot.id of a Datastream", fds);
        json_t *ju = json_object_get(val, "unit");
        if (ju && !json_is_string(ju))
            return err_set(err, ERR_INVALID, arena_printf(a, "%s.unit", f),
                           "%s.unit must be a UCUM code", f);
        IngestMapEntry *e = &d->map[d->nmap++];
        e->field = arena_strdup(a, key);
        e->datastream = json_integer_value(jds);
        e->unit = ju ? arena_strdup(a, json_string_value(ju)) : NULL;
        e->truth = json_is_true(json_object_get(val, "truth"));
        e->count = json_is_true(json_object_get(val, "count"));
        /* Where the field comes from a decoder of ours, it must exist there,
         * and its unit is the decoder's. */
        const char *unit = NULL;
        bool is_bool = false, found = false;
        if (strcmp(dec, "spec") == 0) {
            for (size_t i = 0; i < d->spec.nfields && !found; i++)
                if (strcmp(d->spec.fields[i].name, key) == 0) {
                    found = true;
                    unit = d->spec.fields[i].unit;
                }
        } else if (strcmp(dec, "none") != 0) {
            found = ingest_decoder_field(dec, key, &unit, &is_bool);
        }
        if (!found && !d->use_ns_decoded) {
            Buf b;
            buf_init(&b);
            if (strcmp(dec, "spec") == 0)
                for (size_t i = 0; i < d->spec.nfields; i++)
                    buf_printf(&b, "%s%s", i ? ", " : "", d->spec.fields[i].name);
            else
                ingest_decoder_fields_list(dec, &b);
            err_set(err, ERR_INVALID, f, "decoder %s has no field '%.63s' (fields: %s)", dec,
                    key, b.data ? b.data : "");
            buf_fini(&b);
            return ERR_INVALID;
        }
        if (found) {
            if (e->unit && strcmp(e->unit, unit) != 0)
                return err_set(err, ERR_INVALID, arena_printf(a, "%s.unit", f),
                               "%s.unit is %s, but decoder %s yields %s in %s", f, e->unit, dec,
                               key, unit);
            e->unit = unit;
        }
        if (!e->field || !e->field[0] || (ju && !e->unit))
            return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    }
    if (!d->name || !d->decoder)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    *out = *d;
    return 0;
}

/* The symbol of a unitOfMeasurement JSON text, in a; NULL if it has none. */
static const char *uom_symbol(Arena *a, const char *uom)
{
    json_t *j = uom ? json_loads(uom, 0, NULL) : NULL;
    const char *s = json_string_value(json_object_get(j, "symbol"));
    const char *r = s ? arena_strdup(a, s) : NULL;
    json_decref(j);
    return r;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

int ingest_device_check(StoreConn *c, Arena *a, IngestDevice *dev, StoreDevice *out, Err *err)
{
    Buf map;
    buf_init(&map);
    buf_putc(&map, '{');
    int rc = 0;
    for (size_t i = 0; i < dev->nmap && !rc; i++) {
        IngestMapEntry *e = &dev->map[i];
        const char *f = arena_printf(a, "mapping.%s.datastream", e->field);
        const char *uom, *type;
        Err derr;
        err_init(&derr);
        rc = store_datastream_unit(c, a, e->datastream, &uom, &type, &derr);
        if (rc == ERR_NOT_FOUND) {
            rc = err_set(err, ERR_INVALID, f, "%s: Datastream %lld does not exist", f,
                         (long long)e->datastream);
            break;
        }
        if (rc) {
            *err = derr;
            break;
        }
        const char *sym = uom_symbol(a, uom);
        if (e->unit && (!sym || strcmp(sym, e->unit) != 0)) {
            rc = err_set(err, ERR_INVALID, f,
                         "unit mismatch: field %s is in %s, but Datastream %lld has "
                         "unitOfMeasurement.symbol %s",
                         e->field, e->unit, (long long)e->datastream, sym ? sym : "(none)");
            break;
        }
        e->truth = type && ends_with(type, "OM_TruthObservation");
        e->count = type && ends_with(type, "OM_CountObservation");
        if (i)
            buf_putc(&map, ',');
        jw_key(&map, e->field);
        buf_puts(&map, "{\"datastream\":");
        jw_int(&map, e->datastream);
        if (e->unit) {
            buf_puts(&map, ",\"unit\":");
            jw_str(&map, e->unit);
        }
        if (e->truth)
            buf_puts(&map, ",\"truth\":true");
        if (e->count)
            buf_puts(&map, ",\"count\":true");
        buf_putc(&map, '}');
    }
    buf_putc(&map, '}');
    if (!rc) {
        memset(out, 0, sizeof *out);
        memcpy(out->dev_eui, dev->dev_eui, sizeof out->dev_eui);
        out->name = dev->name;
        out->thing_id = dev->thing_id;
        out->decoder = dev->decoder;
        out->decoder_spec = dev->decoder_spec;
        out->use_ns_decoded = dev->use_ns_decoded;
        out->mapping = arena_strndup(a, map.data, map.len);
        if (!out->mapping)
            rc = err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    }
    buf_fini(&map);
    return rc;
}

int ingest_device_load(Arena *a, const StoreDevice *row, IngestDevice *out, Err *err)
{
    json_t *obj = json_object();
    json_object_set_new(obj, "devEui", json_string(row->dev_eui));
    json_object_set_new(obj, "decoder", json_string(row->decoder ? row->decoder : ""));
    if (row->decoder_spec)
        json_object_set_new(obj, "decoderSpec", json_string(row->decoder_spec));
    json_object_set_new(obj, "useNsDecoded", json_boolean(row->use_ns_decoded));
    json_t *map = row->mapping ? json_loads(row->mapping, 0, NULL) : NULL;
    if (!map) {
        json_decref(obj);
        return err_set(err, ERR_INVALID, "mapping", "the stored mapping of %s is damaged",
                       row->dev_eui);
    }
    json_object_set_new(obj, "mapping", map);
    int rc = ingest_device_parse(a, obj, NULL, out, err);
    json_decref(obj);
    if (!rc) {
        out->name = row->name ? row->name : "";
        out->thing_id = row->thing_id;
    }
    return rc;
}

void ingest_device_format(const StoreDevice *d, Buf *b)
{
    char t[ISOTIME_MAX];
    buf_puts(b, "{\"devEui\":");
    jw_str(b, d->dev_eui);
    buf_puts(b, ",\"name\":");
    jw_str(b, d->name ? d->name : "");
    buf_puts(b, ",\"thingId\":");
    if (d->thing_id)
        jw_int(b, d->thing_id);
    else
        buf_puts(b, "null");
    buf_puts(b, ",\"decoder\":");
    jw_str(b, d->decoder ? d->decoder : "");
    buf_puts(b, ",\"decoderSpec\":");
    if (d->decoder_spec)
        jw_str(b, d->decoder_spec);
    else
        buf_puts(b, "null");
    buf_puts(b, d->use_ns_decoded ? ",\"useNsDecoded\":true" : ",\"useNsDecoded\":false");
    buf_puts(b, ",\"mapping\":");
    buf_puts(b, d->mapping ? d->mapping : "{}");
    isotime_format(d->created, t);
    buf_puts(b, ",\"created\":");
    jw_str(b, t);
    isotime_format(d->updated, t);
    buf_puts(b, ",\"updated\":");
    jw_str(b, t);
    buf_putc(b, '}');
}
