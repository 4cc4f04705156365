/*
 * ingest.h - LoRaWAN ingest: network-server messages in, measured values out.
 *
 * Four pure layers, none of which does I/O, logs or keeps state:
 *
 *   1. Topics: recognise the MQTT uplink topics of ChirpStack v4
 *      (application/{app}/device/{dev_eui}/event/up) and The Things Stack v3
 *      (v3/{app}[@{tenant}]/devices/{device}/up) and extract the ids.
 *   2. Network-server formats: turn a ChirpStack `up` event or a TTS uplink
 *      message (parsed JSON) into one Uplink that does not depend on the
 *      network server: DevEUI, fPort, fCnt, payload bytes, time, the
 *      server-side decoded object if any, and the radio metadata of the best
 *      gateway.
 *   3. Decoders: turn the payload bytes of a known device type into
 *      DecodedValues (field, number, UCUM unit).  Built-in decoders cover every
 *      device of the Hagen sensor network (docs/lorawan.md); devices without code are declared
 *      with a DecoderSpec in configuration.
 *   4. Plausibility: ingest_check_range() says whether a value is physically
 *      possible for its quantity, so that the caller can send implausible
 *      values to the dead-letter store instead of a Datastream.
 *
 * Wiring these to MQTT, the device registry and the store is the caller's job.
 * Every function here is reentrant; results go out through pointer
 * parameters, written only on success; failures return a negative ERR_* code
 * and fill the caller's Err (util/err.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_INGEST_H
#define KLAMMER_INGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "util/arena.h"
#include "util/err.h"

/* ---------------------------------------------------------------------------
 * Limits
 * ------------------------------------------------------------------------- */

#define INGEST_EUI_LEN 16       /* hex digits in a DevEUI */
#define INGEST_PAYLOAD_MAX 256  /* bytes of FRMPayload accepted (LoRaWAN max is 242) */
#define INGEST_VALUES_MAX 64    /* DecodedValues one payload can yield; size out[] with it */
#define INGEST_SPEC_FIELDS_MAX 32 /* fields in one DecoderSpec */
#define INGEST_NAME_MAX 63      /* characters in a decoder or field name */

/* ---------------------------------------------------------------------------
 * MQTT topics
 * ------------------------------------------------------------------------- */

/*
 * The ids found in an uplink topic.  All pointers are borrowed from the topic
 * string passed to ingest_parse_topic() and are not NUL-terminated: use the
 * lengths.
 */
typedef struct IngestTopic {
    const char *source; /* static: "chirpstack" or "tts" */
    const char *app;    /* ChirpStack application UUID, TTS application id */
    size_t app_len;     /* bytes at app */
    const char *tenant; /* TTS tenant after '@' ("ttn"); NULL when absent or ChirpStack */
    size_t tenant_len;  /* bytes at tenant, 0 when absent */
    const char *device; /* ChirpStack DevEUI (hex, usually lower-case), TTS device id */
    size_t device_len;  /* bytes at device */
} IngestTopic;

/*
 * Recognises "application/{app}/device/{dev_eui}/event/up" (ChirpStack v4;
 * dev_eui must be 16 hex digits) and "v3/{app}[@{tenant}]/devices/{device}/up"
 * (TTS v3).  Segments must be non-empty and free of MQTT wildcards.  topic is
 * NUL-terminated.  On success writes *out (pointing into topic).
 * Errors: ERR_INVALID ("topic ... is not a ChirpStack or TTS uplink topic", or
 * which segment is wrong).
 */
int ingest_parse_topic(const char *topic, IngestTopic *out, Err *err);

/* ---------------------------------------------------------------------------
 * Uplinks
 * ------------------------------------------------------------------------- */

/*
 * One uplink, independent of the network server.  Strings and payload are
 * allocated in the arena passed to the parser; `decoded` is borrowed from the
 * parsed message and lives as long as the caller keeps that json_t.
 *
 * Radio fields describe the gateway with the strongest RSSI (ties: higher
 * SNR) and are meaningful only when gateway_count > 0; otherwise they are 0
 * and gateway_id is NULL.  Absent numbers inside a gateway entry count as 0,
 * as both servers omit default values.
 */
typedef struct Uplink {
    const char *source;                /* static: "chirpstack" or "tts" */
    char dev_eui[INGEST_EUI_LEN + 1];  /* upper-case hex, NUL-terminated */
    const char *device;                /* arena: ChirpStack deviceName, TTS device_id; "" if absent */
    const char *application;           /* arena: ChirpStack applicationId, TTS application_id; "" if absent */
    int f_port;                        /* 0..255; 0 = MAC commands only */
    uint32_t f_cnt;                    /* uplink frame counter, 0 when omitted */
    const uint8_t *payload;            /* arena: FRMPayload bytes; NULL when payload_len == 0 */
    size_t payload_len;                /* 0..INGEST_PAYLOAD_MAX */
    bool no_payload;                   /* nothing to decode (f_port 0 or empty payload): skip it */
    int64_t received;                  /* µs since the epoch, UTC: ChirpStack time, TTS received_at */
    const json_t *decoded;             /* borrowed: ChirpStack object / TTS decoded_payload, or NULL */
    bool confirmed;                    /* confirmed data uplink */
    bool simulated;                    /* TTS console simulation: do not store as a measurement */
    int gateway_count;                 /* entries in rxInfo / rx_metadata */
    const char *gateway_id;            /* arena: id of the best gateway, NULL if none or unnamed */
    double rssi;                       /* dBm at the best gateway */
    double snr;                        /* dB at the best gateway */
    int spreading_factor;              /* 5..12, 0 when unknown or not LoRa */
    uint32_t bandwidth;                /* Hz, 0 when unknown */
    uint64_t frequency;                /* Hz, 0 when unknown */
    int data_rate;                     /* regional DR index, -1 when unknown */
    char coding_rate[8];               /* "4/5" etc., "" when unknown */
} Uplink;

/*
 * Parses a ChirpStack v4 `up` event (protobuf JSON mapping, camelCase).
 * Mandatory: deviceInfo.devEui (16 hex digits) and time (RFC 3339).  Optional,
 * default 0/false/absent: fPort, fCnt, data (base64), object, confirmed, dr,
 * deviceInfo.deviceName, deviceInfo.applicationId, rxInfo[] (gatewayId, rssi,
 * snr), txInfo.frequency, txInfo.modulation.lora (spreadingFactor, bandwidth,
 * codeRate "CR_4_5").  JSON null counts as absent.
 * Arena memory: the payload (at most INGEST_PAYLOAD_MAX bytes) and strings.
 * Errors: ERR_INVALID naming the JSON path ("data is not valid base64: ...",
 * "deviceInfo.devEui is missing", "fPort must be an integer 0..255");
 * ERR_TOO_LARGE when the arena cap is reached.  *out is written on success.
 */
int ingest_parse_chirpstack(Arena *a, const json_t *msg, Uplink *out, Err *err);

/*
 * Parses a TTS v3 uplink message (MQTT `.../up` or webhook body).
 * Mandatory: end_device_ids.device_id, end_device_ids.dev_eui,
 * end_device_ids.application_ids.application_id, uplink_message, and
 * received_at (falls back to uplink_message.received_at).  Optional:
 * uplink_message.f_port, .f_cnt, .frm_payload, .decoded_payload, .confirmed,
 * .rx_metadata[] (gateway_ids.gateway_id, rssi or channel_rssi, snr),
 * .settings (frequency as string or number, data_rate_index,
 * data_rate.lora.{spreading_factor,bandwidth,coding_rate}, and coding_rate
 * directly under settings as older servers send it), top-level simulated.
 * Errors and ownership as ingest_parse_chirpstack().
 */
int ingest_parse_tts(Arena *a, const json_t *msg, Uplink *out, Err *err);

/*
 * Decodes standard base64 (RFC 4648 §4: alphabet A-Z a-z 0-9 + /, '='
 * padding to a multiple of four characters, no whitespace, unused bits zero)
 * from s[0..len) into out, which holds max bytes.  Writes *out_len.
 * Errors: ERR_INVALID with the 1-based position of the first bad character;
 * ERR_TOO_LARGE when the decoded size would exceed max.
 */
int ingest_base64_decode(const char *s, size_t len, uint8_t *out, size_t max, size_t *out_len,
                         Err *err);

/* ---------------------------------------------------------------------------
 * Decoded values and decoders
 * ------------------------------------------------------------------------- */

/*
 * One measured value.  field and unit are static strings for built-in
 * decoders and borrowed from the DecoderSpec for spec decoders.  Booleans
 * (occupied, alarm, tilt, interrupt) have is_bool = 1, value 0 or 1 and unit
 * "1".  Counters use "{count}".
 */
typedef struct DecodedValue {
    const char *field; /* snake_case quantity: "distance", "battery", "temperature" */
    double value;      /* finite */
    int is_bool;       /* 1: value is 0 or 1 and means false/true */
    const char *unit;  /* UCUM code: "mm", "V", "%", "Cel", "[ppm]", "hPa", "1" */
} DecodedValue;

/*
 * Built-in decoders, by name (fPort, fields):
 *   decentlab-dl-mbx     1   distance mm, valid_samples {count}, battery V
 *   decentlab-dl-pr26    1   water_column m (Pmin 0, Pmax 1 bar; gauge), temperature Cel, battery V
 *   decentlab-dl-tbrg    1   precipitation mm (0.1 mm/tip), interval s,
 *                            cumulative_precipitation mm, battery V
 *   milesight-em310-udl  85  battery %, distance mm, tilt bool
 *   milesight-em500-swl  85  battery %, depth cm
 *   milesight-em500-co2  85  battery %, temperature Cel, humidity %, co2 [ppm], pressure hPa
 *   milesight-em300-di   85  battery %, temperature Cel, humidity %, pulse_total {count}, gpio bool
 *   milesight-vs133      85  line_N_total_in/_total_out/_period_in/_period_out {count} (N 1-4),
 *                            region_N_count {count}, region_N_avg_dwell/_max_dwell s
 *   milesight-gs524n     any smoke_alarm bool, event 1 (message type), battery %,
 *                            smoke_concentration %, temperature Cel (checksum verified)
 *   dragino-ldds75       2   battery V, distance mm, interrupt bool, temperature Cel
 *                            (8 bytes; the old 5-byte firmware has no temperature)
 *   dragino-lse01        2   battery V, temperature Cel, interrupt bool, and in mode 0
 *                            soil_moisture %, soil_temperature Cel, soil_conductivity uS/cm,
 *                            in mode 1 soil_dielectric_constant, soil_moisture_raw,
 *                            soil_conductivity_raw (unit 1)
 *   elsys                any TLV (see dec_elsys.c for the types): temperature, humidity,
 *                            illuminance, motion, co2, battery V, pulses, pulse_total,
 *                            distance, pressure, ...
 *   bosch-tps110         1-3 occupied bool; fPort 2 adds temperature Cel
 *   parametric-pcr2      14  left_to_right, right_to_left, left_to_right_total,
 *                            right_to_left_total {count}, cpu_temperature Cel, and with
 *                            an SBX solar charger battery V, solar_power W
 * Milesight TLV decoders skip the device-information channels (ff 01, 09, 0a,
 * 0b, 0f, 16, fe, ff); any other unknown channel is an error, since its length
 * is unknown.  Sensor error codes (a distance below 20 mm on the LDDS75,
 * depth 0xFFFF/0xFFFD on the EM500-SWL) are errors too, so that the message
 * reaches the dead-letter store with its reason instead of storing a
 * fake value.
 */

/* True when name is a built-in decoder. */
bool ingest_decoder_known(const char *name);

/*
 * Names of the built-in decoders, NULL-terminated, static.
 */
const char *const *ingest_decoder_names(void);

/*
 * Decodes payload p[0..n) received on f_port with the built-in decoder named
 * decoder.  Writes up to max values to out and their number to *count, which
 * is 0 when the payload carries only device information (Milesight ff
 * channels).  Every decoder checks lengths and never reads p beyond n.  A
 * field appears at most once per payload.
 * Errors: ERR_NOT_FOUND for an unknown decoder name; ERR_INVALID for an
 * empty payload, fPort 0, or when the
 * payload does not match the device (message names the byte or field: "byte
 * 3: unknown channel 0x05 0x99", "fPort 3, expected 85", "payload has 7
 * bytes, expected 8", "checksum 0x5d, expected sum 0 mod 256");
 * ERR_TOO_LARGE when the values do not fit in max.
 */
int ingest_decode(const char *decoder, int f_port, const uint8_t *p, size_t n, DecodedValue *out,
                  size_t max, size_t *count, Err *err);

/* ---------------------------------------------------------------------------
 * Decoders declared in configuration
 * ------------------------------------------------------------------------- */

typedef enum {
    INGEST_SPEC_U8,
    INGEST_SPEC_S8,
    INGEST_SPEC_U16,
    INGEST_SPEC_S16,
    INGEST_SPEC_U32,
    INGEST_SPEC_S32,
    INGEST_SPEC_F32 /* IEEE 754 binary32 */
} IngestSpecType;

typedef struct DecoderSpecField {
    const char *name;  /* arena: snake_case field name */
    const char *unit;  /* arena: UCUM code, "1" when not given */
    uint16_t offset;   /* first byte in the payload */
    uint8_t type;      /* IngestSpecType */
    uint8_t width;     /* bytes read: 1, 2 or 4 */
    bool big_endian;   /* byte order of multi-byte types */
    bool is_bool;      /* unit was "bool": value = (raw != 0), unit "1" */
    bool has_mask;     /* mask applies (unsigned types only) */
    uint32_t mask;     /* ANDed with the raw value */
    uint8_t shift;     /* then shifted right by this many bits */
    double scale;      /* then multiplied (or divided), 1 when not given */
    bool divide;       /* scale was written "/k": divide, which keeps /10 exact */
    double add;        /* then added, 0 when not given */
} DecoderSpecField;

typedef struct DecoderSpec {
    const char *name;                                /* arena: decoder name */
    int port;                                        /* fPort filter 1..223, 0 = any */
    int length;                                      /* exact payload length, 0 = any */
    size_t nfields;                                  /* used entries of fields */
    DecoderSpecField fields[INGEST_SPEC_FIELDS_MAX]; /* in declaration order */
} DecoderSpec;

/*
 * Parses the compact text form of a decoder.  Items are separated by ';' or
 * newlines; blanks around items are ignored, '#' starts a comment that runs to
 * the end of the line.
 *
 *   name=<name>        mandatory; [a-z0-9._-], 1-63 characters
 *   port=<n>           optional fPort filter, 1..223
 *   length=<n>         optional exact payload length, 1..255
 *   <field>:<type>@<offset>[&<mask>][>><shift>][*<k>|/<k>][+<c>|-<c>] [<unit>]
 *
 *   field   [a-z][a-z0-9_]*, at most 63 characters, unique
 *   type    u8 s8 | u16 s16 u32 s32 f32 (or float32) followed by be or le
 *   offset  first byte, decimal; offset + width must be <= 255
 *   mask    decimal or 0x-hex; mask and shift only on unsigned types
 *   k, c    decimal numbers (1.5, 1e-3); value = ((raw & mask) >> shift) * k + c,
 *           or / k for a divisor
 *   unit    UCUM code, default "1"; the word "bool" makes a boolean field
 *           (no scaling allowed)
 *
 * Example (a level logger):
 *   name=my-level; port=2; length=6
 *   battery:u16be@0&0x3FFF*0.001 V
 *   level:u16be@2*0.001 m
 *   temp:s16be@4/10 Cel
 *
 * text is NUL-terminated.  Names and units are copied into the arena; *out is
 * written on success.
 * Errors: ERR_INVALID with the 1-based column of the problem in Err.position
 * ("unknown type 'u12'", "field 'temp' appears twice", "name= is missing");
 * ERR_TOO_LARGE when the arena cap is reached.
 */
int ingest_decoder_spec_parse(Arena *a, const char *text, DecoderSpec *out, Err *err);

/*
 * Decodes p[0..n) received on f_port with spec.  Values borrow field and unit
 * from spec.  Errors: ERR_INVALID for a wrong fPort or length, a field beyond
 * the payload, or a float that is not finite; ERR_TOO_LARGE when the values do
 * not fit in max.
 */
int ingest_decode_spec(const DecoderSpec *spec, int f_port, const uint8_t *p, size_t n,
                       DecodedValue *out, size_t max, size_t *count, Err *err);

/* ---------------------------------------------------------------------------
 * Plausibility
 * ------------------------------------------------------------------------- */

/*
 * Checks v against the physically plausible range of the quantity (field,
 * unit), e.g. temperature -40..85 Cel, humidity 0..100 %, battery 0..5 V,
 * water_column 0..20 m, distance 0..10000 mm, co2 0..10000 [ppm], pressure
 * 300..1100 hPa, precipitation 0..500 mm, counters ({count}) >= 0.
 * A field named like "soil_temperature" uses the row of "temperature".
 * Quantities without a known range pass; NaN and infinities never do.
 * Errors: ERR_INVALID ("temperature 99.5 Cel is outside -40..85 Cel").
 */
int ingest_check_range(const char *field, const char *unit, double v, Err *err);

/* ---------------------------------------------------------------------------
 * Device registry (registry.c): what a registration says, checked
 * ------------------------------------------------------------------------- */

#include "store/store.h"
#include "util/buf.h"

/*
 * Normalises a DevEUI: exactly 16 hex digits, any case, optionally
 * separated by '-' or ':' between byte pairs ("70-B3-D5-..."); writes 16
 * upper-case digits and a NUL to out.  Errors: ERR_INVALID naming the
 * character or the length.
 */
int ingest_eui_parse(const char *s, char out[INGEST_EUI_LEN + 1], Err *err);

/*
 * The UCUM unit of field as the built-in decoder yields it, in *unit
 * (static); *is_bool for boolean fields.  Returns false when the decoder
 * never yields that field.
 */
bool ingest_decoder_field(const char *decoder, const char *field, const char **unit,
                          bool *is_bool);

/* Writes the fields of a built-in decoder, comma-separated, to b (for error messages). */
void ingest_decoder_fields_list(const char *decoder, Buf *b);

/* One mapped field of a device. */
typedef struct IngestMapEntry {
    const char *field;      /* arena: decoded field name */
    int64_t datastream;     /* Datastream id */
    const char *unit;       /* arena: unit the field arrives in, NULL = not known (NS object) */
    bool truth;             /* the Datastream is an OM_TruthObservation: result true/false */
    bool count;             /* the Datastream is an OM_CountObservation: integer result */
} IngestMapEntry;

#define INGEST_MAP_MAX INGEST_VALUES_MAX

/* A registered device, ready for the pipeline. */
typedef struct IngestDevice {
    char dev_eui[INGEST_EUI_LEN + 1]; /* upper-case hex */
    const char *name;                 /* arena, "" if none */
    int64_t thing_id;                 /* 0 = none */
    const char *decoder;              /* arena: built-in name, "spec", or "none" (NS object only) */
    const char *decoder_spec;         /* arena: spec text when decoder is "spec", else NULL */
    DecoderSpec spec;                 /* parsed decoder_spec */
    bool use_ns_decoded;              /* prefer the network server's decoded object */
    size_t nmap;                      /* used entries of map */
    IngestMapEntry map[INGEST_MAP_MAX]; /* in registration order */
} IngestDevice;

/*
 * Parses and checks a registration object (pure: no Datastream look-up):
 *   {"devEui": "70B3D57BA0001267", "name": "...", "thingId": 3,
 *    "decoder": "decentlab-dl-mbx" | "spec" | "none",
 *    "decoderSpec": "name=...; level:u16be@2*0.001 m",   (decoder "spec")
 *    "useNsDecoded": false,                     ("none" requires true)
 *    "mapping": {"distance": {"datastream": 5}, ...}}
 * A mapping entry may give "unit" (needed to check an NS-decoded field's
 * unit; for decoder fields it must agree with the decoder).  path_eui, when
 * not NULL, is the DevEUI of the URL, which the body must repeat or omit.
 * Fields of the mapping must exist in the decoder.  Strings go to a.
 * Errors: ERR_INVALID / ERR_MISSING / ERR_UNKNOWN_PROPERTY with Err.field
 * naming the member ("mapping.distance.datastream", "decoderSpec" with the
 * column of the spec error in Err.position), ERR_TOO_LARGE.
 */
int ingest_device_parse(Arena *a, const json_t *obj, const char *path_eui, IngestDevice *out,
                        Err *err);

/*
 * Builds an IngestDevice from a stored row (mapping JSON and spec parsed
 * again; the row was checked on registration).  Errors: ERR_INVALID when the
 * stored row is damaged, ERR_TOO_LARGE.
 */
int ingest_device_load(Arena *a, const StoreDevice *row, IngestDevice *out, Err *err);

/*
 * Checks the Datastream of each mapping entry and its unit, completes the
 * entries (truth/count from the observationType), and writes the registry
 * row.  c is a read connection; the caller writes out with store_device_put.
 * mapping JSON of out is arena-owned.  Errors: ERR_INVALID naming
 * "mapping.<field>.datastream" for a missing Datastream and a unit mismatch
 * ("field distance is in mm, Datastream 5 has unitOfMeasurement.symbol m").
 */
int ingest_device_check(StoreConn *c, Arena *a, IngestDevice *dev, StoreDevice *out, Err *err);

/* Writes the device row as the API's JSON object to b. */
void ingest_device_format(const StoreDevice *row, Buf *b);

/* ---------------------------------------------------------------------------
 * Pipeline steps that are pure (pipeline.c)
 * ------------------------------------------------------------------------- */

#define INGEST_RESET_US (24LL * 3600 * 1000000) /* a counter seen longer ago is a reset */

/*
 * True when an uplink received at `received` with a DevEUI and frame
 * counter already stored at `seen` is the same uplink: within 24 hours of
 * each other.  Older means the device restarted its counter.
 */
bool ingest_is_duplicate(int64_t seen, int64_t received);

/*
 * Decodes u for dev: the network server's decoded object when the device
 * says so and the uplink has one (numbers, booleans, and objects with a
 * numeric "value" member, for mapped fields only), else the device's
 * decoder (built-in or spec).  Errors as ingest_decode.
 */
int ingest_device_decode(const IngestDevice *dev, const Uplink *u, DecodedValue *out, size_t max,
                         size_t *count, Err *err);

/*
 * Range-checks the values of v[0..n) that dev maps (ingest_check_range).
 * The first implausible one fails: ERR_INVALID, Err.field = the field,
 * message naming field and value.
 */
int ingest_check_mapped(const IngestDevice *dev, const DecodedValue *v, size_t n, Err *err);

/*
 * Appends the groups of a CreateObservations body for the mapped values to
 * b (no brackets; a comma before the first when comma): one group per
 * mapped field present in v, phenomenonTime = u->received, parameters =
 * radio metadata.  Returns the number of groups (0: nothing mapped, b
 * untouched).
 */
size_t ingest_append_groups(const IngestDevice *dev, const Uplink *u, const DecodedValue *v,
                            size_t n, Buf *b, bool comma);

/*
 * The whole CreateObservations body (a JSON array of the groups above).
 * per mapped field present in v, phenomenonTime = u->received, parameters =
 * radio metadata.  Writes the number of groups to *groups (0: nothing
 * mapped, b untouched).
 */
void ingest_build_request(const IngestDevice *dev, const Uplink *u, const DecodedValue *v,
                          size_t n, Buf *b, size_t *groups);

/* ---------------------------------------------------------------------------
 * The pipeline (pipeline.c)
 * ------------------------------------------------------------------------- */

/*
 * Work done inside the transaction of a create request: ids[0..n) are the
 * ids it created (one per CreateObservations row, 0 for a failed row).
 */
typedef int (*IngestTxFn)(StoreConn *c, void *data, const int64_t *ids, size_t n, Err *err);

/*
 * Runs a request through the HTTP write path (POST path with body) with tx
 * (when not NULL) run in the same transaction, waiting for the commit;
 * *status and a malloc'd body in *resp.
 */
typedef int (*IngestCreateFn)(void *data, const char *path, const char *body, IngestTxFn tx,
                              void *tx_data, int *status, char **resp);

typedef struct IngestConfig {
    Store *store;          /* borrowed */
    IngestCreateFn create; /* the HTTP write path */
    void *data;            /* passed to create; borrowed */
} IngestConfig;

typedef struct Ingest Ingest;

typedef enum {
    INGEST_STORED,     /* observations created */
    INGEST_SKIPPED,    /* simulated, no payload, or nothing mapped */
    INGEST_DUPLICATE,  /* same DevEUI + fCnt stored before */
    INGEST_DEAD,       /* kept in the dead-letter store */
    INGEST_REJECTED,   /* not an uplink at all (INGEST_REJECT_INVALID), or replay failed */
    INGEST_FAILED,     /* could not even be dead-lettered (database down) */
} IngestOutcome;

typedef struct IngestResult {
    IngestOutcome outcome;
    char reason[512];     /* why, for every outcome but STORED */
    int64_t dead_letter;  /* id of the dead letter (INGEST_DEAD) */
    size_t observations;  /* created (INGEST_STORED) */
    char dev_eui[INGEST_EUI_LEN + 1]; /* "" until parsed */
    uint32_t f_cnt;
} IngestResult;

#define INGEST_NO_DEAD_LETTER 1u /* replay: report failures (INGEST_REJECTED), keep nothing */
#define INGEST_REJECT_INVALID 2u /* webhook: a body that is no uplink is INGEST_REJECTED */

typedef struct IngestStats {
    uint64_t received, stored, observations, skipped_simulated, skipped_no_payload,
        skipped_unmapped, duplicates, dead_lettered, unknown_device, undecodable, out_of_range,
        invalid, store_errors, rejected, failed, replayed;
} IngestStats;

/* Creates the pipeline (cfg copied).  Free with ingest_free (accepts NULL). */
Ingest *ingest_new(const IngestConfig *cfg);
void ingest_free(Ingest *ing);

/*
 * Runs one raw message through the pipeline: JSON, network-server format
 * (source "chirpstack" or "tts"; NULL = from the topic), skip simulated and
 * empty uplinks, device look-up, duplicate check, decode, range check of the
 * mapped values, one CreateObservations request, mark as seen.  An uplink
 * is stored whole or not at all: one implausible mapped value sends the
 * whole message to the dead letters.  Uplinks of one device are processed
 * one at a time (a lock per DevEUI hash), so the duplicate check cannot race.
 * topic: MQTT topic or an origin such as "webhook" (may be NULL).
 * Returns 0 with *res filled (every outcome), or an ERR_* only for
 * INGEST_FAILED.  Thread-safe.
 */
int ingest_uplink(Ingest *ing, const char *source, const char *topic, const void *payload,
                  size_t len, unsigned flags, IngestResult *res);

/* One raw message for ingest_uplinks; strings borrowed for the call. */
typedef struct IngestMsg {
    const char *source; /* "chirpstack", "tts", or NULL = from the topic */
    const char *topic;
    const void *payload;
    size_t len;
} IngestMsg;

/*
 * ingest_uplink for msgs[0..n) at once, filling res[0..n): the uplinks to
 * store go into one CreateObservations request, so one transaction, and
 * are marked seen by one writer job.  Should that request fail as a whole,
 * each uplink is tried alone and only the bad ones go to the dead letters.
 * Returns 0, or the first ERR_* of an INGEST_FAILED outcome.  Thread-safe.
 */
int ingest_uplinks(Ingest *ing, const IngestMsg *msgs, size_t n, unsigned flags,
                   IngestResult *res);

/*
 * Tells the pipeline that the device registry changed (a device was
 * registered, replaced or removed): parsed devices it keeps in memory are
 * read again.  Changes made elsewhere (another node) are seen within 5 s.
 * Accepts NULL.
 */
void ingest_devices_changed(Ingest *ing);

/* Copies the counters. */
void ingest_stats(Ingest *ing, IngestStats *out);

/* Counts a successful replay (the API marks the letter). */
void ingest_count_replay(Ingest *ing);

/*
 * Registers a device from a JSON object (ingest_device_parse, then
 * ingest_device_check on a read connection, then store_device_put through
 * the writer).  replace: PUT semantics.  *created is set when the row is new.
 * a holds the strings.  Errors as those functions; ERR_CONFLICT.
 */
int ingest_device_register(Store *s, Arena *a, const json_t *obj, const char *path_eui,
                           bool replace, bool *created, StoreDevice *out, Err *err);

/*
 * Registers every object of the JSON array arr in one transaction (insert
 * or replace).  Nothing is written when one of them is invalid; Err.field is
 * prefixed with "[i].".  Writes the number registered to *n.
 */
int ingest_devices_import(Store *s, Arena *a, const json_t *arr, size_t *n, Err *err);

#endif
