/*
 * transfer.c - klammer export and klammer import (see transfer.h).
 *
 * Export reads the database inside one read transaction (a consistent
 * snapshot while a server keeps writing), page by page by id, and writes
 * each line as it goes: memory stays bounded by one page.  Import reads a
 * line at a time and applies it inside one writer job, so the whole import
 * is one transaction: it is either complete or, after any error or a crash,
 * absent.  Only the store.h interface and the SensorThings serialisation
 * are used, so both work with every backend.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "app/transfer.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app/routes.h"
#include "ingest/ingest.h"
#include "util/isotime.h"
#include "util/jsonw.h"
#include "util/log.h"

#define PAGE 1000                 /* entities read per query */
#define LINE_MAX_BYTES (256u << 20) /* longest line import accepts */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ================================================================ export */

typedef struct Out {
    FILE *f;
    const char *name; /* for messages */
    int64_t lines;
} Out;

static int put_line(void *data, const char *line, size_t len, Err *err)
{
    Out *o = data;
    if (fwrite(line, 1, len, o->f) != len)
        return err_set(err, ERR_IO, NULL, "cannot write %s: %s", o->name, strerror(errno));
    o->lines++;
    return 0;
}

static int export_devices(StoreConn *c, Out *o, int64_t *n, Err *err)
{
    Buf b;
    buf_init(&b);
    int rc = 0;
    bool more = true;
    for (int64_t skip = 0; !rc && more; skip += PAGE) {
        Arena a;
        arena_init(&a, 64u << 20);
        StoreDevice *d;
        size_t nd;
        rc = store_devices_read(c, &a, PAGE, skip, &d, &nd, &more, err);
        for (size_t i = 0; !rc && i < nd; i++) {
            buf_clear(&b);
            ingest_device_format(&d[i], &b);
            Buf line;
            buf_init(&line);
            buf_puts(&line, "{\"type\":\"Device\",");
            buf_append(&line, b.data + 1, b.len - 1);
            buf_putc(&line, '\n');
            rc = put_line(o, line.data, line.len, err);
            buf_fini(&line);
            (*n)++;
        }
        arena_fini(&a);
    }
    buf_fini(&b);
    return rc;
}

static void put_time_or_null(Buf *b, int64_t t)
{
    char s[ISOTIME_MAX];
    if (!t) {
        buf_puts(b, "null");
        return;
    }
    isotime_format(t, s);
    jw_str(b, s);
}

/* Dead letters oldest first (the store lists them newest first), so that
 * import adds them in their original order. */
static int export_dead_letters(StoreConn *c, Out *o, int64_t *n, Err *err)
{
    int64_t total;
    int rc = store_dead_letters_count(c, &total, err);
    Buf b;
    buf_init(&b);
    /* Entries [skip, hi) counted from the newest, oldest window first. */
    for (int64_t hi = total; !rc && hi > 0; hi -= PAGE) {
        int64_t top = hi < PAGE ? hi : PAGE, skip = hi - top;
        Arena a;
        arena_init(&a, 256u << 20);
        StoreDeadLetter *d;
        size_t nd;
        bool more;
        rc = store_dead_letters_read(c, &a, top, skip, &d, &nd, &more, err);
        for (size_t k = nd; !rc && k-- > 0;) {
            const StoreDeadLetter *l = &d[k];
            buf_clear(&b);
            buf_puts(&b, "{\"type\":\"DeadLetter\",\"time\":");
            put_time_or_null(&b, l->time);
            buf_puts(&b, ",\"source\":");
            jw_str(&b, l->source ? l->source : "");
            buf_puts(&b, ",\"topic\":");
            if (l->topic)
                jw_str(&b, l->topic);
            else
                buf_puts(&b, "null");
            bool text = routes_utf8_valid(l->payload, l->len);
            buf_puts(&b, text ? ",\"encoding\":\"utf-8\",\"payload\":"
                              : ",\"encoding\":\"base64\",\"payload\":\"");
            if (text) {
                jw_strn(&b, l->payload, l->len);
            } else {
                routes_base64(&b, l->payload, l->len);
                buf_putc(&b, '"');
            }
            buf_puts(&b, ",\"reason\":");
            jw_str(&b, l->reason ? l->reason : "");
            buf_puts(&b, ",\"replayed_at\":");
            put_time_or_null(&b, l->replayed_at);
            buf_puts(&b, "}\n");
            rc = put_line(o, b.data, b.len, err);
            (*n)++;
        }
        arena_fini(&a);
    }
    buf_fini(&b);
    return rc;
}

static int export_all(Store *s, Out *o, Err *err)
{
    StoreConn *c;
    int rc = store_read_begin(s, &c, err);
    if (rc)
        return rc;
    Buf b;
    buf_init(&b);
    char t[ISOTIME_MAX];
    isotime_format(now_us(), t);
    buf_printf(&b,
               "{\"type\":\"klammer-export\",\"format\":\"%s\",\"formatVersion\":%d,"
               "\"klammer\":\"%s\",\"exported\":\"%s\"}\n",
               TRANSFER_FORMAT, TRANSFER_FORMAT_VERSION, KLAMMER_VERSION, t);
    rc = put_line(o, b.data, b.len, err);
    buf_clear(&b);
    buf_puts(&b, "{\"type\":\"end\",\"lines\":");
    Buf counts;
    buf_init(&counts);
    buf_puts(&counts, ",\"counts\":{");
    for (int i = 0; !rc && sta_dump_order(i); i++) {
        const EntityDef *def = sta_dump_order(i);
        double t0 = now_s();
        int64_t n = 0;
        rc = sta_dump_write(c, def, PAGE, put_line, o, &n, err);
        LOG(LOG_INFO, "msg=\"exported\" type=%s n=%lld seconds=%.2f", def->name, (long long)n,
            now_s() - t0);
        buf_printf(&counts, "\"%s\":%lld,", def->name, (long long)n);
    }
    int64_t nd = 0, nl = 0;
    if (!rc)
        rc = export_devices(c, o, &nd, err);
    if (!rc)
        rc = export_dead_letters(c, o, &nl, err);
    /* The ids the source would give next, so that deleted ids stay unused. */
    buf_printf(&counts, "\"Device\":%lld,\"DeadLetter\":%lld},\"nextIds\":{", (long long)nd,
               (long long)nl);
    for (int i = 0; !rc && sta_dump_order(i); i++) {
        int64_t next;
        rc = store_ids_next(c, sta_dump_order(i), &next, err);
        buf_printf(&counts, "%s\"%s\":%lld", i ? "," : "", sta_dump_order(i)->name,
                   (long long)next);
    }
    buf_puts(&counts, "}}\n");
    store_read_end(s, c);
    jw_int(&b, o->lines + 1);
    buf_append(&b, counts.data, counts.len);
    if (!rc)
        rc = put_line(o, b.data, b.len, err);
    buf_fini(&counts);
    buf_fini(&b);
    return rc;
}

int transfer_export(const Config *cfg)
{
    Err err;
    err_init(&err);
    char db[sizeof cfg->db];
    store_db_redacted(cfg->db, db, sizeof db);
    if (!store_db_is_url(cfg->db) && access(cfg->db, F_OK) != 0) {
        fprintf(stderr, "klammer: export: there is no database %s\n", cfg->db);
        return 1;
    }
    bool to_stdout = strcmp(cfg->out, "-") == 0;
    char part[sizeof cfg->out + 8];
    snprintf(part, sizeof part, "%s.part", cfg->out);
    Out o = {to_stdout ? stdout : fopen(part, "w"), to_stdout ? "standard output" : cfg->out,
             0};
    if (!o.f) {
        fprintf(stderr, "klammer: export: cannot create %s: %s\n", part, strerror(errno));
        return 1;
    }
    Store *s = NULL;
    StoreConfig sc = {cfg->db, 1, 16, false};
    double t0 = now_s();
    int rc = store_open(&sc, &s, &err);
    if (!rc)
        rc = export_all(s, &o, &err);
    store_close(s);
    if (!rc && fflush(o.f) != 0)
        rc = err_set(&err, ERR_IO, NULL, "cannot write %s: %s", o.name, strerror(errno));
    if (!to_stdout) {
        if (fclose(o.f) != 0 && !rc)
            rc = err_set(&err, ERR_IO, NULL, "cannot write %s: %s", o.name, strerror(errno));
        if (!rc && rename(part, cfg->out) != 0)
            rc = err_set(&err, ERR_IO, NULL, "cannot rename %s to %s: %s", part, cfg->out,
                         strerror(errno));
        if (rc)
            unlink(part);
    }
    if (rc) {
        fprintf(stderr, "klammer: export of %s failed: %s\n", db, err.msg);
        return 1;
    }
    LOG(LOG_INFO, "msg=\"export done\" db=\"%s\" out=\"%s\" lines=%lld seconds=%.2f", db,
        o.name, (long long)o.lines, now_s() - t0);
    return 0;
}

/* ================================================================ import */

static const char *str_member(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Checks that obj has no member outside keys (NULL-terminated). */
static int only_members(const json_t *obj, const char *const *keys, const char *what, Err *err)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) {
        size_t i = 0;
        while (keys[i] && strcmp(keys[i], k) != 0)
            i++;
        if (!keys[i])
            return err_set(err, ERR_UNKNOWN_PROPERTY, k, "a %s line has no member '%s'", what,
                           k);
    }
    return 0;
}

/* An ISO 8601 instant member; null (when allowed) gives 0. */
static int time_member(const json_t *obj, const char *key, bool nullable, int64_t *out, Err *err)
{
    const json_t *j = json_object_get(obj, key);
    if (nullable && (!j || json_is_null(j))) {
        *out = 0;
        return 0;
    }
    Err e;
    err_init(&e);
    if (!json_is_string(j) || isotime_parse(json_string_value(j), json_string_length(j), out, &e))
        return err_set(err, ERR_INVALID, key, "%s must be an ISO 8601 time%s", key,
                       nullable ? " or null" : "");
    return 0;
}

static int header_line(TransferState *st, const json_t *obj, Err *err)
{
    const char *format = str_member(obj, "format");
    const json_t *v = json_object_get(obj, "formatVersion");
    if (!format || strcmp(format, TRANSFER_FORMAT) != 0)
        return err_set(err, ERR_INVALID, "format", "this is no klammer export (format is not %s)",
                       TRANSFER_FORMAT);
    if (!json_is_integer(v) || json_integer_value(v) < 1 ||
        json_integer_value(v) > TRANSFER_FORMAT_VERSION)
        return err_set(err, ERR_INVALID, "formatVersion",
                       "formatVersion must be 1 to %d; a newer klammer wrote this file",
                       TRANSFER_FORMAT_VERSION);
    st->header = true;
    return 0;
}

static int device_line(StoreConn *c, Arena *a, TransferState *st, const json_t *obj, Err *err)
{
    static const char *const keys[] = {"type",   "devEui",  "name",    "thingId",
                                       "decoder", "decoderSpec", "useNsDecoded", "mapping",
                                       "created", "updated", NULL};
    int rc = only_members(obj, keys, "Device", err);
    if (rc)
        return rc;
    StoreDevice row;
    memset(&row, 0, sizeof row);
    const char *eui = str_member(obj, "devEui");
    if (!eui || strlen(eui) != 16)
        return err_set(err, ERR_INVALID, "devEui", "devEui must be 16 hexadecimal digits");
    memcpy(row.dev_eui, eui, 17);
    row.name = str_member(obj, "name");
    if (!row.name)
        return err_set(err, ERR_INVALID, "name", "name must be a string");
    const json_t *thing = json_object_get(obj, "thingId");
    if (json_is_integer(thing) && json_integer_value(thing) > 0)
        row.thing_id = json_integer_value(thing);
    else if (thing && !json_is_null(thing))
        return err_set(err, ERR_INVALID, "thingId", "thingId must be a positive integer or null");
    if (row.thing_id && !sta_dump_known(st->ents, ENT_THING, row.thing_id))
        return err_set(err, ERR_INVALID, "thingId", "thingId: Thing %lld does not come before "
                       "this line", (long long)row.thing_id);
    row.decoder = str_member(obj, "decoder");
    row.decoder_spec = str_member(obj, "decoderSpec");
    row.use_ns_decoded = json_is_true(json_object_get(obj, "useNsDecoded"));
    const json_t *map = json_object_get(obj, "mapping");
    if (!json_is_object(map))
        return err_set(err, ERR_INVALID, "mapping", "mapping must be an object");
    char *text = json_dumps(map, JSON_COMPACT | JSON_PRESERVE_ORDER);
    row.mapping = arena_strdup(a, text ? text : "{}");
    free(text);
    if ((rc = time_member(obj, "created", false, &row.created, err)) ||
        (rc = time_member(obj, "updated", false, &row.updated, err)))
        return rc;
    /* The checks a stored row passes when the pipeline loads it. */
    IngestDevice dev;
    if ((rc = ingest_device_load(a, &row, &dev, err)))
        return rc;
    for (size_t i = 0; i < dev.nmap; i++)
        if (!sta_dump_known(st->ents, ENT_DATASTREAM, dev.map[i].datastream))
            return err_set(err, ERR_INVALID, "mapping",
                           "mapping.%s: Datastream %lld does not come before this line",
                           dev.map[i].field, (long long)dev.map[i].datastream);
    /* Insert with created as its time, then set updated: store_device_put
     * keeps the created time of the row it replaces. */
    int64_t updated = row.updated;
    row.updated = row.created;
    if ((rc = store_device_put(c, &row, err)))
        return rc;
    if (updated != row.created) {
        row.updated = updated;
        row.replace = true;
        if ((rc = store_device_put(c, &row, err)))
            return rc;
    }
    st->devices++;
    return 0;
}

static int b64_value(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

/* Decodes RFC 4648 base64 (with padding) into a; -1 when malformed. */
static long b64_decode(Arena *a, const char *s, size_t n, unsigned char **out)
{
    if (n % 4)
        return -1;
    unsigned char *p = arena_alloc(a, n / 4 * 3 + 1);
    if (!p)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            v[j] = s[i + j] == '=' && i + 4 == n && j >= 2 ? 0 : b64_value(s[i + j]);
            if (v[j] < 0)
                return -1;
        }
        unsigned x = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
                     (unsigned)v[3];
        p[k++] = (unsigned char)(x >> 16);
        if (s[i + 2] != '=')
            p[k++] = (unsigned char)(x >> 8);
        if (s[i + 3] != '=')
            p[k++] = (unsigned char)x;
        else if (s[i + 2] != '=' && i + 4 != n)
            return -1;
    }
    *out = p;
    return (long)k;
}

static int dead_letter_line(StoreConn *c, Arena *a, TransferState *st, const json_t *obj,
                            Err *err)
{
    static const char *const keys[] = {"type",    "time",   "source",      "topic", "encoding",
                                       "payload", "reason", "replayed_at", NULL};
    int rc = only_members(obj, keys, "DeadLetter", err);
    if (rc)
        return rc;
    StoreDeadLetter dl;
    memset(&dl, 0, sizeof dl);
    if ((rc = time_member(obj, "time", false, &dl.time, err)) ||
        (rc = time_member(obj, "replayed_at", true, &dl.replayed_at, err)))
        return rc;
    dl.source = str_member(obj, "source");
    dl.reason = str_member(obj, "reason");
    dl.topic = str_member(obj, "topic");
    if (!dl.source || !dl.reason)
        return err_set(err, ERR_INVALID, dl.source ? "reason" : "source",
                       "source and reason must be strings");
    const char *enc = str_member(obj, "encoding");
    const json_t *p = json_object_get(obj, "payload");
    if (!json_is_string(p) || !enc || (strcmp(enc, "utf-8") && strcmp(enc, "base64")))
        return err_set(err, ERR_INVALID, "payload",
                       "payload must be a string, encoding \"utf-8\" or \"base64\"");
    if (enc[0] == 'u') {
        dl.payload = json_string_value(p);
        dl.len = json_string_length(p);
    } else {
        unsigned char *bytes;
        long n = b64_decode(a, json_string_value(p), json_string_length(p), &bytes);
        if (n < 0)
            return err_set(err, ERR_INVALID, "payload", "payload is not valid base64");
        dl.payload = bytes;
        dl.len = (size_t)n;
    }
    if ((rc = store_dead_letter_add(c, &dl, err)))
        return rc;
    st->dead_letters++;
    return 0;
}

static int end_line(TransferState *st, const json_t *obj, Err *err)
{
    const json_t *counts = json_object_get(obj, "counts");
    const json_t *lines = json_object_get(obj, "lines");
    if (!json_is_integer(lines) || !json_is_object(counts))
        return err_set(err, ERR_INVALID, "counts", "the end line needs lines and counts");
    if (json_integer_value(lines) != st->lines + 1)
        return err_set(err, ERR_INVALID, "lines",
                       "the end line counts %lld lines, the file has %lld",
                       (long long)json_integer_value(lines), (long long)st->lines + 1);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)counts, k, v) {
        const EntityDef *def = model_entity_by_name(k, strlen(k));
        int64_t have = def                              ? sta_dump_count(st->ents, def->type)
                       : strcmp(k, "Device") == 0     ? st->devices
                       : strcmp(k, "DeadLetter") == 0 ? st->dead_letters
                                                      : -1;
        if (have < 0 || !json_is_integer(v) || json_integer_value(v) != have)
            return err_set(err, ERR_INVALID, "counts",
                           "the end line counts %lld %s, the file has %lld",
                           (long long)json_integer_value(v), k, (long long)have);
    }
    const json_t *next = json_object_get(obj, "nextIds");
    if (next && !json_is_object(next))
        return err_set(err, ERR_INVALID, "nextIds", "nextIds must be an object");
    json_object_foreach((json_t *)next, k, v) {
        const EntityDef *def = model_entity_by_name(k, strlen(k));
        if (!def || !json_is_integer(v) || json_integer_value(v) < 1)
            return err_set(err, ERR_INVALID, "nextIds",
                           "nextIds.%s must be a positive integer of an entity type", k);
        st->next[def->type] = json_integer_value(v);
    }
    st->end = true;
    return 0;
}

int transfer_line(StoreConn *c, Arena *a, TransferState *st, json_t *obj, Err *err)
{
    if (!json_is_object(obj))
        return err_set(err, ERR_INVALID, NULL, "a line must be a JSON object");
    const char *type = str_member(obj, "type");
    if (!type)
        return err_set(err, ERR_MISSING, "type", "the line has no \"type\"");
    if (st->end)
        return err_set(err, ERR_INVALID, "type", "nothing may follow the end line");
    int rc;
    if (!st->header) {
        if (strcmp(type, "klammer-export") != 0)
            return err_set(err, ERR_INVALID, "type",
                           "the first line must be the header {\"type\":\"klammer-export\",...}");
        rc = header_line(st, obj, err);
    } else if (strcmp(type, "Device") == 0) {
        rc = device_line(c, a, st, obj, err);
    } else if (strcmp(type, "DeadLetter") == 0) {
        rc = dead_letter_line(c, a, st, obj, err);
    } else if (strcmp(type, "end") == 0) {
        /* Ids given later lie above the imported ones and the source's. */
        if (!(rc = end_line(st, obj, err)))
            rc = store_ids_sync(c, st->next, err);
    } else {
        StaDumpEntity e;
        rc = sta_dump_parse(a, obj, &e, err);
        if (!rc)
            rc = sta_dump_apply(c, st->ents, &e, err);
    }
    if (!rc)
        st->lines++;
    return rc;
}

typedef struct Import {
    FILE *in;
    const char *name;
    long lineno;
    TransferState st;
} Import;

/* Refuses a database that holds anything. */
static int check_empty(StoreConn *c, const char *db, Err *err)
{
    QueryLimits lim = {1, 1};
    QueryParam qp[1] = {{"$top", "1"}};
    int rc = 0;
    for (int i = 0; !rc && sta_dump_order(i); i++) {
        const EntityDef *def = sta_dump_order(i);
        Arena a;
        arena_init(&a, 16u << 20);
        QueryOptions o;
        StoreScope sc = {.def = def};
        StoreRowSet *rs;
        rc = query_parse_options(&a, def, qp, 1, &lim, &o, err);
        if (!rc)
            rc = store_read(c, &a, &sc, &o, &rs, err);
        if (!rc && rs->n)
            rc = err_set(err, ERR_CONFLICT, NULL,
                         "the database %s is not empty (it holds %s): import only into a new "
                         "database", db, def->set);
        arena_fini(&a);
    }
    int64_t n = 0;
    if (!rc && !(rc = store_devices_count(c, &n, err)) && n)
        rc = err_set(err, ERR_CONFLICT, NULL,
                     "the database %s is not empty (it holds LoRaWAN devices): import only "
                     "into a new database", db);
    if (!rc && !(rc = store_dead_letters_count(c, &n, err)) && n)
        rc = err_set(err, ERR_CONFLICT, NULL,
                     "the database %s is not empty (it holds dead letters): import only into "
                     "a new database", db);
    return rc;
}

typedef struct ImportJob {
    Import *im;
    const char *db;
} ImportJob;

static int import_job(StoreConn *c, void *data, Err *err)
{
    ImportJob *job = data;
    Import *im = job->im;
    int rc = check_empty(c, job->db, err);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (!rc && (len = getline(&line, &cap, im->in)) >= 0) {
        im->lineno++;
        if ((size_t)len > LINE_MAX_BYTES) {
            rc = err_set(err, ERR_TOO_LARGE, NULL, "line longer than %u bytes", LINE_MAX_BYTES);
            break;
        }
        json_error_t je;
        json_t *obj = json_loadb(line, (size_t)len, JSON_ALLOW_NUL, &je);
        if (!obj) {
            rc = err_set(err, ERR_BAD_JSON, NULL, "column %d: %s", je.column, je.text);
            err->position = je.column;
            break;
        }
        Arena a;
        arena_init(&a, 512u << 20);
        rc = transfer_line(c, &a, &im->st, obj, err);
        arena_fini(&a);
        json_decref(obj);
        if (im->lineno % 1000000 == 0)
            LOG(LOG_INFO, "msg=\"importing\" line=%ld", im->lineno);
    }
    free(line);
    if (!rc && ferror(im->in))
        rc = err_set(err, ERR_IO, NULL, "cannot read %s: %s", im->name, strerror(errno));
    if (!rc && !im->st.end) {
        im->lineno++;
        rc = err_set(err, ERR_INVALID, NULL,
                     im->lineno == 1 ? "the file is empty"
                                     : "the file ends without its end line: it was cut short");
    }
    return rc;
}

int transfer_import(const Config *cfg)
{
    Err err;
    err_init(&err);
    bool from_stdin = strcmp(cfg->in, "-") == 0;
    Import im = {from_stdin ? stdin : fopen(cfg->in, "r"),
                 from_stdin ? "standard input" : cfg->in, 0, {0}};
    if (!im.in) {
        fprintf(stderr, "klammer: import: cannot read %s: %s\n", cfg->in, strerror(errno));
        return 1;
    }
    im.st.ents = sta_dump_state_new();
    char db[sizeof cfg->db];
    store_db_redacted(cfg->db, db, sizeof db);
    Store *s = NULL;
    StoreConfig sc = {cfg->db, 1, 16, cfg->sync_full != 0};
    double t0 = now_s();
    int rc = store_open(&sc, &s, &err);
    if (rc) {
        fprintf(stderr, "klammer: import: cannot open the database %s: %s\n", db, err.msg);
    } else {
        ImportJob job = {&im, db};
        rc = store_run(s, import_job, &job, &err);
        if (rc && err.code == ERR_CONFLICT && im.lineno == 0)
            fprintf(stderr, "klammer: import: %s\n", err.msg);
        else if (rc) {
            bool named = err.field[0] && !strstr(err.msg, err.field);
            fprintf(stderr, "klammer: import of %s failed at line %ld: %s%s%s; nothing was "
                    "imported\n", im.name, im.lineno, named ? err.field : "",
                    named ? ": " : "", err.msg);
        }
    }
    store_close(s);
    if (!from_stdin)
        fclose(im.in);
    if (!rc) {
        printf("imported %lld lines into %s in %.1f s:", (long long)im.st.lines, db,
               now_s() - t0);
        for (int i = 0; sta_dump_order(i); i++)
            printf(" %lld %s,", (long long)sta_dump_count(im.st.ents, sta_dump_order(i)->type),
                   sta_dump_order(i)->set);
        printf(" %lld devices, %lld dead letters\n", (long long)im.st.devices,
               (long long)im.st.dead_letters);
    }
    sta_dump_state_free(im.st.ents);
    return rc ? 1 : 0;
}
