/*
 * batch.c - POST /v1.1/$batch (OGC 18-088 §11): many requests in one HTTP
 * request, in the multipart/mixed format of OData 4.0 Part 1 §11.7 and in
 * the JSON format of OData 4.01 (JSON Format §19).
 *
 * The body is parsed completely before anything runs, so a malformed batch
 * changes nothing and is answered 400 naming the part and byte offset at
 * fault.  Then the requests run in order.  A request outside a change set
 * runs alone: a read on the normal read path, in this thread; a write as
 * its own writer job.  A change set (multipart) or atomicity group (JSON)
 * runs as one writer job, all its writes inside the job's savepoint, so one
 * failure leaves nothing of the set behind.  While a job runs the request
 * is suspended; on resume the answers of the job are written and the next
 * request is started.  Requests in a change set may name an entity created
 * by an earlier request of the same set by its Content-ID: "$1/Datastreams"
 * as the URL, {"@iot.id": "$1"} in the body.
 *
 * The response is accumulated in the HttpResp body (it lives across
 * suspensions) and is sent when the last request has run: status 200, each
 * request's own status inside.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <assert.h>
#include <ctype.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "sta/sta_int.h"
#include "util/jsonw.h"

#define PREFIX "/" STA_VERSION
#define MAX_BOUNDARY 70 /* RFC 2046 §5.1.1 */

/* =========================================================== media types */

/* True when the media type of ct[0..n) (parameters ignored) is type. */
static bool media_is(const char *ct, size_t n, const char *type)
{
    while (n && (*ct == ' ' || *ct == '\t'))
        ct++, n--;
    size_t t = 0;
    while (t < n && ct[t] != ';' && ct[t] != ' ' && ct[t] != '\t')
        t++;
    return t == strlen(type) && strncasecmp(ct, type, t) == 0;
}

/* The boundary parameter of a multipart Content-Type, or ERR_BAD_REQUEST. */
static int boundary_of(const char *ct, size_t n, const char **b, size_t *bn, const char *where,
                       long pos, Err *err)
{
    const char *p = ct, *end = ct + n;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            break;
        p = semi + 1;
        while (p < end && (*p == ' ' || *p == '\t'))
            p++;
        if ((size_t)(end - p) < 9 || strncasecmp(p, "boundary=", 9) != 0)
            continue;
        p += 9;
        const char *v = p, *ve;
        if (p < end && *p == '"') {
            v = ++p;
            ve = memchr(p, '"', (size_t)(end - p));
            if (!ve)
                return err_set_at(err, ERR_BAD_REQUEST, pos,
                                  "%s: the quoted boundary parameter is not closed", where);
        } else {
            ve = p;
            while (ve < end && *ve != ';' && *ve != ' ' && *ve != '\t')
                ve++;
        }
        size_t len = (size_t)(ve - v);
        if (len == 0 || len > MAX_BOUNDARY)
            return err_set_at(err, ERR_BAD_REQUEST, pos,
                              "%s: the boundary must have 1 to %d characters, not %zu", where,
                              MAX_BOUNDARY, len);
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)v[i] < 0x20 || (unsigned char)v[i] > 0x7e)
                return err_set_at(err, ERR_BAD_REQUEST, pos,
                                  "%s: the boundary holds a control or non-ASCII character",
                                  where);
        *b = v;
        *bn = len;
        return 0;
    }
    return err_set_at(err, ERR_BAD_REQUEST, pos,
                      "%s: multipart/mixed needs a boundary parameter "
                      "(multipart/mixed;boundary=...)", where);
}

/* ============================================================ multipart */

typedef struct Mp {
    Arena *a;
    const char *base, *end; /* the whole batch body */
    StaBatch *out;
    size_t cap;             /* of out->parts */
    Err *err;
} Mp;

static long at(const Mp *m, const char *p)
{
    return (long)(p - m->base) + 1;
}

/* End of the line starting at p (the '\n', or end); *next is the start of the next line. */
static const char *line_end(const char *p, const char *end, const char **next)
{
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    *next = nl ? nl + 1 : end;
    const char *e = nl ? nl : end;
    if (e > p && e[-1] == '\r')
        e--;
    return e;
}

/*
 * The next delimiter line "--boundary" at or after p, which must be the
 * start of a line.  Returns the position of its "--" (or NULL) and in
 * *content_end the end of what precedes it: the line break before a
 * delimiter belongs to the delimiter (RFC 2046 §5.1.1).
 */
static const char *find_delim(const char *p, const char *end, const char *b, size_t bn,
                              const char **content_end)
{
    for (const char *d = p;;) {
        if ((size_t)(end - d) >= bn + 2 && d[0] == '-' && d[1] == '-' &&
            memcmp(d + 2, b, bn) == 0) {
            /* "--b" must end there ("--b--" closes): "--b-1" is another boundary. */
            const char *t = d + 2 + bn;
            if (t == end || *t == ' ' || *t == '\t' || *t == '\r' || *t == '\n' ||
                (end - t >= 2 && t[0] == '-' && t[1] == '-')) {
                const char *ce = d;
                if (ce > p && ce[-1] == '\n')
                    ce--;
                if (ce > p && ce[-1] == '\r')
                    ce--;
                *content_end = ce;
                return d;
            }
        }
        const char *nl = memchr(d, '\n', (size_t)(end - d));
        if (!nl)
            return NULL;
        d = nl + 1;
    }
}

/* Headers of one block that the batch uses. */
typedef struct Head {
    const char *ctype;
    size_t ctype_n;
    const char *cid;
    size_t cid_n;
    const char *cte;
    size_t cte_n;
    const char *clen;
    size_t clen_n;
} Head;

static bool is_tchar(unsigned char c)
{
    return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static void trim(const char **v, size_t *n)
{
    while (*n && ((*v)[0] == ' ' || (*v)[0] == '\t'))
        (*v)++, (*n)--;
    while (*n && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
        (*n)--;
}

/*
 * Reads header lines from *pp up to an empty line (consumed) or end.
 * *ended tells whether the empty line was seen.  Limits: STA_BATCH_MAX_HEADERS
 * bytes, STA_BATCH_MAX_LINES lines.
 */
static int headers(Mp *m, const char **pp, const char *end, const char *what, Head *h,
                   bool *ended)
{
    const char *p = *pp, *start = p;
    int lines = 0;
    memset(h, 0, sizeof *h);
    *ended = false;
    while (p < end) {
        const char *next, *e = line_end(p, end, &next);
        if ((size_t)(next - start) > STA_BATCH_MAX_HEADERS)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p),
                              "%s: headers longer than %d bytes", what, STA_BATCH_MAX_HEADERS);
        if (e == p) {
            *ended = true;
            p = next;
            break;
        }
        if (++lines > STA_BATCH_MAX_LINES)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p), "%s: more than %d header lines",
                              what, STA_BATCH_MAX_LINES);
        const char *colon = p;
        while (colon < e && is_tchar((unsigned char)*colon))
            colon++;
        if (colon == p || colon == e || *colon != ':')
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p),
                              "%s: '%.*s' is not a header line (Name: value)", what,
                              (int)(e - p > 40 ? 40 : e - p), p);
        const char *v = colon + 1;
        size_t vn = (size_t)(e - v), nn = (size_t)(colon - p);
        trim(&v, &vn);
        for (size_t i = 0; i < vn; i++)
            if ((unsigned char)v[i] < 0x20 && v[i] != '\t')
                return err_set_at(m->err, ERR_BAD_REQUEST, at(m, v + i),
                                  "%s: control character in header %.*s", what, (int)nn, p);
        if (nn == 12 && strncasecmp(p, "Content-Type", 12) == 0)
            h->ctype = v, h->ctype_n = vn;
        else if (nn == 10 && strncasecmp(p, "Content-ID", 10) == 0)
            h->cid = v, h->cid_n = vn;
        else if (nn == 25 && strncasecmp(p, "Content-Transfer-Encoding", 25) == 0)
            h->cte = v, h->cte_n = vn;
        else if (nn == 14 && strncasecmp(p, "Content-Length", 14) == 0)
            h->clen = v, h->clen_n = vn;
        p = next;
    }
    *pp = p;
    return 0;
}

static int add_part(Mp *m, const char *pos, StaBatchPart **out)
{
    StaBatch *b = m->out;
    if (b->nparts == STA_BATCH_MAX_REQUESTS)
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, pos),
                          "a batch holds at most %d requests", STA_BATCH_MAX_REQUESTS);
    if (b->nparts == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        StaBatchPart *np = arena_alloc(m->a, cap * sizeof *np);
        if (!np)
            return err_set(m->err, ERR_TOO_LARGE, NULL, "batch too large");
        if (b->nparts)
            memcpy(np, b->parts, b->nparts * sizeof *np);
        b->parts = np;
        m->cap = cap;
    }
    *out = &b->parts[b->nparts++];
    memset(*out, 0, sizeof **out);
    (*out)->offset = (size_t)(pos - m->base);
    return 0;
}

/* An application/http part: one HTTP request (OData 4.0 Part 1 §11.7.2). */
static int http_part(Mp *m, const char *p, const char *end, const Head *ph, int group,
                     const char *what)
{
    Arena *a = m->a;
    if (ph->cte && !(ph->cte_n == 6 && strncasecmp(ph->cte, "binary", 6) == 0) &&
        !(ph->cte_n == 4 && strncasecmp(ph->cte, "8bit", 4) == 0) &&
        !(ph->cte_n == 4 && strncasecmp(ph->cte, "7bit", 4) == 0))
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, ph->cte),
                          "%s: Content-Transfer-Encoding must be binary, not %.*s", what,
                          (int)(ph->cte_n > 40 ? 40 : ph->cte_n), ph->cte);
    /* Clients may leave empty lines before the request line. */
    while (p < end && (*p == '\r' || *p == '\n'))
        p++;
    if (p == end)
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p), "%s holds no request", what);
    const char *next, *e = line_end(p, end, &next);
    if (e - p > STA_BATCH_MAX_HEADERS)
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p),
                          "%s: request line longer than %d bytes", what, STA_BATCH_MAX_HEADERS);
    /* METHOD SP request-target [SP HTTP/1.x] */
    const char *sp1 = p;
    while (sp1 < e && isalpha((unsigned char)*sp1))
        sp1++;
    if (sp1 == p || sp1 == e || *sp1 != ' ')
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p),
                          "%s: expected a request line 'METHOD URL HTTP/1.1', not '%.*s'", what,
                          (int)(e - p > 40 ? 40 : e - p), p);
    const char *u = sp1 + 1, *ue = u;
    while (ue < e && *ue != ' ')
        ue++;
    if (ue == u)
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, u), "%s: the request line has no URL",
                          what);
    for (const char *c = u; c < ue; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c == 0x7f)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, c),
                              "%s: control character in the URL", what);
    if (ue < e) {
        const char *v = ue + 1;
        if (!(e - v == 8 && memcmp(v, "HTTP/1.", 7) == 0 && (v[7] == '0' || v[7] == '1')))
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, v),
                              "%s: expected HTTP/1.1 after the URL, not '%.*s'", what,
                              (int)(e - v > 20 ? 20 : e - v), v);
    }
    StaBatchPart *part = NULL;
    int rc = add_part(m, p, &part);
    if (rc)
        return rc;
    char *meth = arena_strndup(a, p, (size_t)(sp1 - p));
    part->url = arena_strndup(a, u, (size_t)(ue - u));
    if (!meth || !part->url)
        return err_set(m->err, ERR_TOO_LARGE, NULL, "batch too large");
    for (char *c = meth; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    part->method = meth;
    part->group = group;

    /* The embedded request's headers; a request without any may end right here. */
    Head rh;
    bool ended;
    const char *q = next;
    if ((rc = headers(m, &q, end, what, &rh, &ended)))
        return rc;
    const char *cid = ph->cid ? ph->cid : rh.cid; /* some clients put it inside */
    size_t cid_n = ph->cid ? ph->cid_n : rh.cid_n;
    if (cid && cid_n) {
        part->id = arena_strndup(a, cid, cid_n);
        if (!part->id)
            return err_set(m->err, ERR_TOO_LARGE, NULL, "batch too large");
    }
    if (rh.ctype) {
        part->content_type = arena_strndup(a, rh.ctype, rh.ctype_n);
        if (!part->content_type)
            return err_set(m->err, ERR_TOO_LARGE, NULL, "batch too large");
    }
    size_t avail = (size_t)(end - q);
    size_t len = avail;
    if (rh.clen) {
        unsigned long long n = 0;
        if (rh.clen_n == 0 || rh.clen_n > 12)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, rh.clen),
                              "%s: Content-Length must be a number of bytes", what);
        for (size_t i = 0; i < rh.clen_n; i++) {
            if (!isdigit((unsigned char)rh.clen[i]))
                return err_set_at(m->err, ERR_BAD_REQUEST, at(m, rh.clen),
                                  "%s: Content-Length must be a number of bytes", what);
            n = n * 10 + (unsigned)(rh.clen[i] - '0');
        }
        if (n > avail)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, q),
                              "%s: Content-Length %llu exceeds the %zu bytes of the part", what,
                              n, avail);
        len = (size_t)n;
    }
    if (len) {
        part->body = q;
        part->body_len = len;
    }
    return 0;
}

static int multipart(Mp *m, const char *p, const char *end, const char *b, size_t bn, int depth,
                     int group, const char *what);

/* One body part of a batch or change set. */
static int body_part(Mp *m, const char *p, const char *end, int depth, int group,
                     const char *what)
{
    Head h;
    bool ended;
    int rc = headers(m, &p, end, what, &h, &ended);
    if (rc)
        return rc;
    if (!ended)
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p),
                          "%s: its headers are not followed by an empty line", what);
    if (!h.ctype)
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p),
                          "%s has no Content-Type (application/http or multipart/mixed)", what);
    if (media_is(h.ctype, h.ctype_n, "application/http"))
        return http_part(m, p, end, &h, group, what);
    if (media_is(h.ctype, h.ctype_n, "multipart/mixed")) {
        if (depth > 0)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, h.ctype),
                              "%s: change sets cannot be nested", what);
        const char *cb;
        size_t cbn;
        if ((rc = boundary_of(h.ctype, h.ctype_n, &cb, &cbn, what, at(m, h.ctype), m->err)))
            return rc;
        int g = m->out->ngroups++;
        size_t before = m->out->nparts;
        if ((rc = multipart(m, p, end, cb, cbn, depth + 1, g, what)))
            return rc;
        if (m->out->nparts == before)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p), "%s: the change set is empty",
                              what);
        return 0;
    }
    return err_set_at(m->err, ERR_BAD_REQUEST, at(m, h.ctype),
                      "%s: Content-Type must be application/http or multipart/mixed, not %.*s",
                      what, (int)(h.ctype_n > 60 ? 60 : h.ctype_n), h.ctype);
}

/* The body parts of a multipart body p..end with boundary b (RFC 2046 §5.1.1). */
static int multipart(Mp *m, const char *p, const char *end, const char *b, size_t bn, int depth,
                     int group, const char *what)
{
    const char *ce;
    const char *d = find_delim(p, end, b, bn, &ce);
    if (!d)
        return err_set_at(m->err, ERR_BAD_REQUEST, at(m, p),
                          "%s: no delimiter line '--%.*s' found; does the boundary match?",
                          depth ? what : "batch", (int)bn, b);
    for (int n = 1;; n++) {
        const char *q = d + 2 + bn;
        if (end - q >= 2 && q[0] == '-' && q[1] == '-')
            return 0; /* close delimiter; the epilogue is ignored */
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < end && *q == '\r')
            q++;
        if (q >= end || *q != '\n')
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, q),
                              "%s: the delimiter '--%.*s' is not followed by a line break%s",
                              depth ? what : "batch", (int)bn, b,
                              q >= end ? " (body truncated?)" : "");
        q++;
        char label[48];
        if (depth)
            snprintf(label, sizeof label, "%s.%d", what, n);
        else
            snprintf(label, sizeof label, "part %d", n);
        const char *next = find_delim(q, end, b, bn, &ce);
        if (!next)
            return err_set_at(m->err, ERR_BAD_REQUEST, at(m, q),
                              "%s is not closed by '--%.*s' or '--%.*s--' (body truncated?)",
                              label, (int)bn, b, (int)bn, b);
        int rc = body_part(m, q, ce, depth, group, label);
        if (rc)
            return rc;
        d = next;
    }
}

static int parse_multipart(Arena *a, const char *ct, const char *body, size_t len,
                           StaBatch *out, Err *err)
{
    const char *b;
    size_t bn;
    int rc = boundary_of(ct, strlen(ct), &b, &bn, "Content-Type", 0, err);
    if (rc)
        return rc;
    Mp m = {a, body, body + len, out, 0, err};
    return multipart(&m, body, body + len, b, bn, 0, -1, "batch");
}

/* ================================================================= JSON */

/* An error in request i of a JSON batch, naming the member: "requests[3].url: ...". */
static int fail_at(Err *err, size_t i, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail_at(Err *err, size_t i, const char *member, const char *fmt, ...)
{
    char field[64], msg[200];
    snprintf(field, sizeof field, "requests[%zu]%s%s", i, member ? "." : "", member ? member : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(err, ERR_BAD_REQUEST, field, "%s %s", field, msg);
}

static const char *json_str_dup(Arena *a, const json_t *j)
{
    return arena_strndup(a, json_string_value(j), json_string_length(j));
}

static bool is_write(const char *m)
{
    return strcmp(m, "POST") == 0 || strcmp(m, "PATCH") == 0 || strcmp(m, "PUT") == 0 ||
           strcmp(m, "DELETE") == 0;
}

/* OData JSON Format 4.01 §19.1: {"requests": [{id, method, url, atomicityGroup, ...}]}. */
static int parse_json(Arena *a, const char *body, size_t len, StaBatch *out, Err *err)
{
    json_error_t je;
    json_t *root = json_loadb(body, len, 0, &je);
    int rc = 0;
    if (!root)
        return err_set_at(err, ERR_BAD_JSON, je.position > 0 ? je.position : je.column,
                          "malformed JSON at line %d, column %d: %s", je.line, je.column,
                          je.text);
    json_t *reqs = json_object_get(root, "requests");
    size_t n = json_array_size(reqs);
    if (!json_is_object(root) || !json_is_array(reqs)) {
        rc = err_set(err, ERR_BAD_REQUEST, "requests",
                     "a JSON batch is an object {\"requests\": [...]}");
        goto done;
    }
    if (n > STA_BATCH_MAX_REQUESTS) {
        rc = err_set(err, ERR_BAD_REQUEST, "requests", "a batch holds at most %d requests, not %zu",
                     STA_BATCH_MAX_REQUESTS, n);
        goto done;
    }
    out->parts = arena_zalloc(a, (n ? n : 1) * sizeof *out->parts);
    out->groups = arena_zalloc(a, (n ? n : 1) * sizeof *out->groups);
    if (!out->parts || !out->groups) {
        rc = err_set(err, ERR_TOO_LARGE, NULL, "batch too large");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *r = json_array_get(reqs, i);
        StaBatchPart *p = &out->parts[i];
        p->group = -1;
        if (!json_is_object(r)) {
            rc = fail_at(err, i, NULL, "must be an object");
            goto done;
        }
        json_t *id = json_object_get(r, "id"), *meth = json_object_get(r, "method"),
               *url = json_object_get(r, "url"), *grp = json_object_get(r, "atomicityGroup"),
               *hdrs = json_object_get(r, "headers"), *deps = json_object_get(r, "dependsOn"),
               *jb = json_object_get(r, "body");
        if (!json_is_string(id) || json_string_length(id) == 0) {
            rc = fail_at(err, i, "id", "must be a non-empty string");
            goto done;
        }
        if (!json_is_string(meth) || json_string_length(meth) == 0) {
            rc = fail_at(err, i, "method", "must be a string such as \"get\" or \"post\"");
            goto done;
        }
        if (!json_is_string(url) || json_string_length(url) == 0) {
            rc = fail_at(err, i, "url", "must be a non-empty string");
            goto done;
        }
        if (grp && (!json_is_string(grp) || json_string_length(grp) == 0)) {
            rc = fail_at(err, i, "atomicityGroup", "must be a non-empty string");
            goto done;
        }
        if (hdrs && !json_is_object(hdrs)) {
            rc = fail_at(err, i, "headers", "must be an object");
            goto done;
        }
        char *m = arena_strndup(a, json_string_value(meth), json_string_length(meth));
        p->id = json_str_dup(a, id);
        p->url = json_str_dup(a, url);
        if (!m || !p->id || !p->url) {
            rc = err_set(err, ERR_TOO_LARGE, NULL, "batch too large");
            goto done;
        }
        for (char *c = m; *c; c++)
            *c = (char)toupper((unsigned char)*c);
        p->method = m;
        for (size_t k = 0; k < i; k++)
            if (strcmp(out->parts[k].id, p->id) == 0) {
                rc = fail_at(err, i, "id", "'%s' is the id of an earlier request", p->id);
                goto done;
            }
        if (grp) {
            const char *g = json_string_value(grp);
            int last = i ? out->parts[i - 1].group : -1;
            if (last >= 0 && strcmp(out->groups[last], g) == 0) {
                p->group = last;
            } else {
                for (int k = 0; k < out->ngroups; k++)
                    if (strcmp(out->groups[k], g) == 0) {
                        rc = fail_at(err, i, "atomicityGroup",
                                     "'%s': the requests of an atomicity group must be adjacent",
                                     g);
                        goto done;
                    }
                p->group = out->ngroups;
                out->groups[out->ngroups++] = json_str_dup(a, grp);
                if (!out->groups[p->group]) {
                    rc = err_set(err, ERR_TOO_LARGE, NULL, "batch too large");
                    goto done;
                }
            }
            if (!is_write(p->method)) {
                rc = fail_at(err, i, "method",
                             "%s: an atomicity group holds only POST, PATCH, PUT and DELETE",
                             p->method);
                goto done;
            }
        }
        if (deps) {
            /* We run requests in order, so dependsOn only has to name earlier ones. */
            size_t d;
            json_t *dv;
            if (!json_is_array(deps)) {
                rc = fail_at(err, i, "dependsOn", "must be an array of request ids");
                goto done;
            }
            json_array_foreach(deps, d, dv) {
                const char *s = json_string_value(dv);
                bool found = false;
                for (size_t k = 0; s && k < i && !found; k++)
                    found = strcmp(out->parts[k].id, s) == 0 ||
                            (out->parts[k].group >= 0 &&
                             strcmp(out->groups[out->parts[k].group], s) == 0);
                if (!found) {
                    rc = fail_at(err, i, "dependsOn",
                                 "'%s' is not the id or atomicity group of an earlier request",
                                 s ? s : "(not a string)");
                    goto done;
                }
            }
        }
        const char *k;
        json_t *hv;
        json_object_foreach(hdrs, k, hv) {
            if (strcasecmp(k, "content-type") == 0 && json_is_string(hv)) {
                p->content_type = json_str_dup(a, hv);
                if (!p->content_type) {
                    rc = err_set(err, ERR_TOO_LARGE, NULL, "batch too large");
                    goto done;
                }
            }
        }
        if (jb && !json_is_null(jb)) {
            /* The body is written again as text: the writers parse their own. */
            bool raw = json_is_string(jb) && p->content_type &&
                       !media_is(p->content_type, strlen(p->content_type), "application/json");
            char *text = raw ? NULL : json_dumps(jb, JSON_COMPACT | JSON_ENCODE_ANY);
            const char *src = raw ? json_string_value(jb) : text;
            size_t sn = raw ? json_string_length(jb) : text ? strlen(text) : 0;
            p->body = src ? arena_strndup(a, src, sn) : NULL;
            p->body_len = sn;
            free(text);
            if (!p->body) {
                rc = err_set(err, ERR_TOO_LARGE, NULL, "batch too large");
                goto done;
            }
        }
    }
    /* An atomicity group and a request may not share a name (OData JSON 4.01 §19.1). */
    for (int g = 0; g < out->ngroups; g++)
        for (size_t i = 0; i < n; i++)
            if (strcmp(out->groups[g], out->parts[i].id) == 0) {
                rc = fail_at(err, i, "id", "'%s' is also the name of an atomicity group",
                             out->parts[i].id);
                goto done;
            }
    out->nparts = n;
done:
    json_decref(root);
    return rc;
}

/* ============================================================== parsing */

int sta_batch_parse(Arena *a, const char *content_type, const char *body, size_t len,
                    StaBatch *out, Err *err)
{
    StaBatch b;
    memset(&b, 0, sizeof b);
    int rc;
    const char *ct = content_type ? content_type : "";
    if (media_is(ct, strlen(ct), "multipart/mixed")) {
        rc = parse_multipart(a, ct, body ? body : "", body ? len : 0, &b, err);
    } else if (media_is(ct, strlen(ct), "application/json")) {
        if (!body || !len)
            return err_set(err, ERR_BAD_JSON, NULL, "the batch body is empty");
        b.json = true;
        rc = parse_json(a, body, len, &b, err);
    } else {
        return err_set(err, ERR_MEDIA_TYPE, "Content-Type",
                       "a $batch request is multipart/mixed;boundary=... or application/json, "
                       "not %.60s", content_type ? content_type : "(none)");
    }
    if (rc)
        return rc;
    if (b.nparts == 0)
        return err_set(err, ERR_BAD_REQUEST, NULL, "the batch holds no requests");
    if (!b.json) {
        /* Content-IDs are unique within the batch (OData 4.0 Part 1 §11.7.3.1). */
        for (size_t i = 1; i < b.nparts; i++)
            for (size_t k = 0; b.parts[i].id && k < i; k++)
                if (b.parts[k].id && strcmp(b.parts[k].id, b.parts[i].id) == 0)
                    return err_set_at(err, ERR_BAD_REQUEST, (long)b.parts[i].offset + 1,
                                      "Content-ID '%.40s' is used twice", b.parts[i].id);
        for (size_t i = 0; i < b.nparts; i++)
            if (b.parts[i].group >= 0 && !is_write(b.parts[i].method))
                return err_set_at(err, ERR_BAD_REQUEST, (long)b.parts[i].offset + 1,
                                  "a change set holds only POST, PATCH, PUT and DELETE, not %.20s",
                                  b.parts[i].method);
    }
    *out = b;
    return 0;
}

const StaRef *sta_refs_find(const StaRefs *refs, const char *name, size_t n)
{
    for (size_t i = 0; i < refs->n; i++)
        if (strlen(refs->v[i].name) == n && memcmp(refs->v[i].name, name, n) == 0)
            return &refs->v[i];
    return NULL;
}

/* ============================================================ execution */

typedef struct BatchRun {
    StoreJob job;          /* first member: the writer hands it back */
    Sta *sta;
    HttpReq *req;
    StaBatch b;
    size_t next;           /* first request not started */
    size_t g0, gn;         /* the requests of the job in flight: [g0, g0 + gn) */
    WriteCtx **w;          /* their prepared writes; arena-owned */
    size_t failed;         /* index in [0, gn] of the write that failed, gn = none/commit */
    StaRefs refs;          /* entities created so far by the change set in flight */
    const char *boundary;  /* of the multipart response */
    unsigned nsets;        /* change-set responses written (their boundaries are numbered) */
    bool first;            /* JSON: no response written yet */
} BatchRun;

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 424: return "Failed Dependency";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 500 ? "Client Error" : "Server Error";
    }
}

/* Writes one answer: an application/http part, or a JSON response object. */
static void emit(BatchRun *r, Buf *out, const StaBatchPart *p, const HttpResp *pr,
                 const char *boundary)
{
    const char *ct = pr->content_type ? pr->content_type : "application/json";
    if (!r->b.json) {
        buf_printf(out, "--%s\r\nContent-Type: application/http\r\n"
                        "Content-Transfer-Encoding: binary\r\n", boundary);
        if (p && p->id)
            buf_printf(out, "Content-ID: %s\r\n", p->id);
        buf_printf(out, "\r\nHTTP/1.1 %d %s\r\n", pr->status, reason(pr->status));
        if (pr->location)
            buf_printf(out, "Location: %s\r\n", pr->location);
        if (pr->body.len)
            buf_printf(out, "Content-Type: %s\r\n", ct);
        buf_printf(out, "Content-Length: %zu\r\n\r\n", pr->body.len);
        buf_append(out, pr->body.data, pr->body.len);
        buf_puts(out, "\r\n");
        return;
    }
    if (!r->first)
        buf_putc(out, ',');
    r->first = false;
    buf_puts(out, "{\"id\":");
    jw_str(out, p->id);
    if (p->group >= 0) {
        buf_puts(out, ",\"atomicityGroup\":");
        jw_str(out, r->b.groups[p->group]);
    }
    buf_printf(out, ",\"status\":%d", pr->status);
    if (pr->location || pr->body.len) {
        buf_puts(out, ",\"headers\":{");
        if (pr->body.len) {
            buf_puts(out, "\"content-type\":");
            jw_str(out, ct);
        }
        if (pr->location) {
            buf_puts(out, pr->body.len ? ",\"location\":" : "\"location\":");
            jw_str(out, pr->location);
        }
        buf_putc(out, '}');
    }
    if (pr->body.len) {
        buf_puts(out, ",\"body\":");
        if (strncmp(ct, "application/json", 16) == 0)
            buf_append(out, pr->body.data, pr->body.len);
        else
            jw_strn(out, pr->body.data, pr->body.len);
    }
    buf_putc(out, '}');
}

static void resp_init(HttpResp *pr)
{
    memset(pr, 0, sizeof *pr);
    buf_init(&pr->body);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes s[0..n) into the arena ('+' is a space when plus); NULL over the cap. */
static char *decode(Arena *a, const char *s, size_t n, bool plus, Err *err)
{
    char *d = arena_alloc(a, n + 1);
    if (!d) {
        err_set(err, ERR_TOO_LARGE, NULL, "request too large");
        return NULL;
    }
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0) {
            if (!hi && !lo) {
                err_set(err, ERR_BAD_REQUEST, NULL, "%%00 in a URL");
                return NULL;
            }
            d[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[o++] = plus && s[i] == '+' ? ' ' : s[i];
        }
    }
    d[o] = '\0';
    return d;
}

/*
 * The path (decoded, from the server root: "/v1.1/Things(1)", or
 * "$1/Datastreams" for a reference) and query parameters of a request URL,
 * which may be absolute ("http://host/v1.1/Things"), absolute-path
 * ("/v1.1/Things") or relative to the service root ("Things") - OData 4.0
 * Part 1 §11.7.2.
 */
static int target(Arena *a, const char *url, const char **path, HttpParam **params, size_t *np,
                  Err *err)
{
    const char *u = url;
    const char *scheme = strstr(u, "://");
    if (scheme && (size_t)(scheme - u) <= 5 && (strncasecmp(u, "http", 4) == 0)) {
        u = scheme + 3;
        u += strcspn(u, "/?");
    }
    size_t pn = strcspn(u, "?");
    const char *prefix = u[0] == '/' || u[0] == '$' ? "" : PREFIX "/";
    if (u[0] == '?' || u[0] == '\0')
        prefix = PREFIX;
    char *dp = decode(a, u, pn, false, err);
    if (!dp)
        return err->code;
    *path = prefix[0] ? arena_printf(a, "%s%s", prefix, dp) : dp;
    if (!*path)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    *params = NULL;
    *np = 0;
    if (!u[pn])
        return 0;
    const char *q = u + pn + 1;
    size_t count = 1;
    for (const char *c = q; *c; c++)
        count += *c == '&';
    HttpParam *ps = arena_alloc(a, count * sizeof *ps);
    if (!ps)
        return err_set(err, ERR_TOO_LARGE, NULL, "request too large");
    while (*q) {
        size_t n = strcspn(q, "&");
        if (n) {
            const char *eq = memchr(q, '=', n);
            size_t kn = eq ? (size_t)(eq - q) : n;
            ps[*np].key = decode(a, q, kn, true, err);
            ps[*np].value = eq ? decode(a, eq + 1, n - kn - 1, true, err) : "";
            if (!ps[*np].key || !ps[*np].value)
                return err->code;
            (*np)++;
        }
        q += n + (q[n] == '&');
    }
    *params = ps;
    return 0;
}

/* A read (GET, HEAD) runs through the normal dispatch, as its own request. */
static void run_read(BatchRun *r, const StaBatchPart *p, HttpResp *pr)
{
    Err err;
    err_init(&err);
    HttpReq sub = *r->req;
    sub.method = p->method;
    sub.body = NULL;
    sub.body_len = 0;
    sub.content_type = NULL;
    sub.state = NULL;
    sub.resumed = false;
    if (target(r->req->arena, p->url, &sub.path, &sub.params, &sub.nparams, &err)) {
        http_reply_error(pr, &err);
        return;
    }
    if (sub.path[0] == '$') {
        http_reply_errorf(pr, ERR_BAD_REQUEST, NULL,
                          "a reference such as '%.40s' is only allowed inside a change set",
                          sub.path);
        return;
    }
    int rc = sta_handle(r->sta, &sub, pr);
    assert(rc == HTTP_DONE); /* reads never wait for the writer */
    (void)rc;
}

static int prepare_write(BatchRun *r, const StaBatchPart *p, WriteCtx **w, Err *err)
{
    const char *path;
    HttpParam *params;
    size_t np;
    int rc = target(r->req->arena, p->url, &path, &params, &np, err);
    if (rc)
        return rc;
    size_t plen = strlen(PREFIX);
    if (path[0] != '$') {
        if (strncmp(path, PREFIX, plen) != 0 || (path[plen] && path[plen] != '/'))
            return err_set(err, ERR_NOT_FOUND, NULL,
                           "no resource at %.60s; the SensorThings API is at " PREFIX, path);
        path += plen;
    }
    return sta_write_prepare(r->sta, r->req, p->method, path, p->group >= 0 ? &r->refs : NULL,
                             p->content_type, p->body, p->body_len, w, err);
}

/* The writer job of a change set: its writes in order, inside one savepoint. */
static int group_job(StoreConn *c, void *data, Err *err)
{
    BatchRun *r = data;
    r->failed = r->gn;
    r->refs.n = 0;
    for (size_t i = 0; i < r->gn; i++) {
        int rc = sta_write_run(c, r->w[i], err);
        if (rc) {
            r->failed = i;
            return rc;
        }
        const StaBatchPart *p = &r->b.parts[r->g0 + i];
        StaRef ref = {p->id, NULL, 0};
        if (p->id && r->refs.n < r->refs.cap && sta_write_created(r->w[i], &ref.def, &ref.id))
            r->refs.v[r->refs.n++] = ref;
    }
    return 0;
}

static void group_done(StoreJob *job)
{
    BatchRun *r = (BatchRun *)job;
    http_resume(r->req);
}

static void failed_dependency(HttpResp *pr, const StaBatchPart *culprit, const char *group)
{
    buf_clear(&pr->body);
    buf_puts(&pr->body, "{\"code\":424,\"type\":\"error\",\"error\":\"FAILED_DEPENDENCY\","
                        "\"message\":");
    char msg[160];
    if (culprit)
        snprintf(msg, sizeof msg, "not applied: request '%.40s' of atomicity group '%.40s' failed",
                 culprit->id, group);
    else
        snprintf(msg, sizeof msg, "not applied: atomicity group '%.40s' failed", group);
    jw_str(&pr->body, msg);
    buf_putc(&pr->body, '}');
    pr->status = 424;
}

/*
 * The answer to a change set that failed (err): in multipart one response
 * for the whole set (OData 4.0 Part 1 §11.7.4); in JSON one per request,
 * 424 Failed Dependency for all but the one that failed (JSON Format §19.2).
 */
static void emit_failure(BatchRun *r, Buf *out, const Err *err)
{
    const StaBatchPart *parts = &r->b.parts[r->g0];
    const StaBatchPart *culprit = r->failed < r->gn ? &parts[r->failed] : NULL;
    HttpResp pr;
    resp_init(&pr);
    if (!r->b.json) {
        http_reply_error(&pr, err);
        emit(r, out, culprit ? culprit : parts[0].group < 0 ? &parts[0] : NULL, &pr, r->boundary);
    } else {
        for (size_t i = 0; i < r->gn; i++) {
            if (i == r->failed || !culprit || parts[i].group < 0)
                http_reply_error(&pr, err);
            else
                failed_dependency(&pr, culprit, r->b.groups[parts[i].group]);
            emit(r, out, &parts[i], &pr, r->boundary);
        }
    }
    buf_fini(&pr.body);
}

/* After the job of [g0, g0 + gn) committed or failed: its answers. */
static void finish_job(BatchRun *r, HttpResp *resp)
{
    Buf *out = &resp->body;
    const StaBatchPart *parts = &r->b.parts[r->g0];
    if (r->job.rc) {
        for (size_t i = 0; i < r->gn; i++)
            sta_write_release(r->w[i]);
        emit_failure(r, out, &r->job.err);
        return;
    }
    bool set = parts[0].group >= 0 && !r->b.json;
    const char *cs = NULL;
    if (set) {
        cs = arena_printf(r->req->arena, "changeset%s_%u", r->boundary + 5, ++r->nsets);
        buf_printf(out, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n",
                   r->boundary, cs ? cs : "changeset");
    }
    for (size_t i = 0; i < r->gn; i++) {
        HttpResp pr;
        resp_init(&pr);
        sta_write_answer(r->sta, r->req, r->w[i], &pr);
        emit(r, out, &parts[i], &pr, set ? cs : r->boundary);
        buf_fini(&pr.body);
    }
    if (set)
        buf_printf(out, "--%s--\r\n", cs ? cs : "changeset");
}

/* Runs requests from r->next until one has to wait for the writer, or all are done. */
static int step(BatchRun *r, HttpResp *resp)
{
    Buf *out = &resp->body;
    StaBatch *b = &r->b;
    while (r->next < b->nparts) {
        const StaBatchPart *p = &b->parts[r->next];
        if (p->group < 0 && (strcmp(p->method, "GET") == 0 || strcmp(p->method, "HEAD") == 0)) {
            HttpResp pr;
            resp_init(&pr);
            run_read(r, p, &pr);
            emit(r, out, p, &pr, r->boundary);
            buf_fini(&pr.body);
            r->next++;
            continue;
        }
        /* One writer job: a change set, or a single write outside any. */
        size_t gn = 1;
        while (p->group >= 0 && r->next + gn < b->nparts &&
               b->parts[r->next + gn].group == p->group)
            gn++;
        r->g0 = r->next;
        r->gn = gn;
        r->next += gn;
        Err err;
        err_init(&err);
        r->w = arena_zalloc(r->req->arena, gn * sizeof *r->w);
        r->refs = (StaRefs){arena_zalloc(r->req->arena, gn * sizeof *r->refs.v), 0, gn};
        if (!r->w || !r->refs.v) {
            err_set(&err, ERR_TOO_LARGE, NULL, "batch too large");
            r->failed = 0;
            emit_failure(r, out, &err);
            continue;
        }
        size_t i;
        for (i = 0; i < gn; i++)
            if (prepare_write(r, &b->parts[r->g0 + i], &r->w[i], &err))
                break;
        if (i < gn) {
            for (size_t k = 0; k < i; k++)
                sta_write_release(r->w[k]);
            r->failed = i;
            emit_failure(r, out, &err);
            continue;
        }
        r->job = (StoreJob){.fn = group_job, .done = group_done, .data = r};
        http_suspend(r->req);
        store_submit(r->sta->store, &r->job);
        return HTTP_SUSPENDED;
    }
    if (b->json) {
        buf_puts(out, "]}");
        resp->content_type = "application/json";
    } else {
        buf_printf(out, "--%s--\r\n", r->boundary);
        resp->content_type =
            arena_printf(r->req->arena, "multipart/mixed; boundary=%s", r->boundary);
    }
    resp->status = 200;
    return HTTP_DONE;
}

/* A response boundary no request can guess, so that no stored value can fake a part. */
static const char *new_boundary(HttpReq *req)
{
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != (ssize_t)sizeof rnd) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        memcpy(rnd, &ts, sizeof rnd < sizeof ts ? sizeof rnd : sizeof ts);
    }
    char hex[2 * sizeof rnd + 1];
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
    return arena_printf(req->arena, "batchresponse_%s_%s", req->id, hex);
}

int sta_batch(Sta *sta, HttpReq *req, HttpResp *resp)
{
    if (req->resumed) {
        BatchRun *r = req->state;
        finish_job(r, resp);
        return step(r, resp);
    }
    if (strcmp(req->method, "POST") != 0) {
        resp->allow = "POST";
        http_reply_errorf(resp, ERR_METHOD, NULL, "$batch only takes POST");
        return HTTP_DONE;
    }
    Err err;
    err_init(&err);
    BatchRun *r = arena_zalloc(req->arena, sizeof *r);
    if (!r) {
        http_reply_errorf(resp, ERR_TOO_LARGE, NULL, "request too large");
        return HTTP_DONE;
    }
    if (sta_batch_parse(req->arena, req->content_type, req->body, req->body_len, &r->b, &err)) {
        http_reply_error(resp, &err);
        return HTTP_DONE;
    }
    r->sta = sta;
    r->req = req;
    r->first = true;
    r->boundary = new_boundary(req);
    if (!r->boundary) {
        http_reply_errorf(resp, ERR_TOO_LARGE, NULL, "request too large");
        return HTTP_DONE;
    }
    req->state = r;
    buf_clear(&resp->body);
    if (r->b.json)
        buf_puts(&resp->body, "{\"responses\":[");
    return step(r, resp);
}
