/*
 * mqtt_in.c - the subscriber of the LoRaWAN ingest (see events.h): an MQTT
 * v5 client of its own (packets in mqtt_wire.c) that keeps many QoS 1
 * messages in flight and acknowledges each only after it is stored.
 *
 * libmosquitto queues a PUBACK as soon as its message callback returns, so
 * with it a client that acknowledges after the commit holds one message at
 * a time and waits a whole commit for each.  Here the network thread reads
 * PUBLISH packets into a ring of `inflight` slots (also the Receive Maximum
 * the broker is told), worker threads store them concurrently - the store's
 * writer commits them together - and the network thread sends the PUBACKs
 * in the order the messages arrived (§4.6) once they are done.
 *
 * A lost connection waits for the messages being stored, forgets the ones
 * not started (the broker has them: persistent session, no PUBACK) and
 * reconnects with backoff; the broker redelivers everything unacknowledged
 * and the ingest pipeline recognises what it stored already.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "events/events.h"
#include "events/mqtt_link.h"
#include "events/mqtt_wire.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"

#define KEEPALIVE 30            /* seconds */
#define CONNECT_TIMEOUT_MS 10000
#define MAX_PACKET (1u << 20)   /* largest PUBLISH we accept (uplinks are ~1-3 kB) */
#define TOPICS_MAX 8
#define WORKERS_MAX 4           /* threads storing batches at once */

typedef struct Item {
    char *topic;   /* malloc'd, NUL-terminated */
    char *payload; /* malloc'd, NUL-terminated */
    size_t len;
    uint16_t mid;  /* 0 for QoS 0: nothing to acknowledge */
    bool done;
} Item;

struct MqttIn {
    /* configuration (immutable after new) */
    char *url, *host, *username, *password, *ca_file, *client_id;
    int port;
    bool tls;
    uint32_t session_expiry;
    char *topics[TOPICS_MAX];
    size_t ntopics;
    MqttBatchFn handle;
    void *data;

    /* threads */
    pthread_t net;
    bool started;
    pthread_t *workers;
    size_t nworkers, nworkers_max;
    int wake_fd;            /* eventfd: a worker finished, or stop */

    /* under link.mu: the ring, the state, the counters; link.cv: an item
     * done, or stop */
    MqttLink link;
    pthread_cond_t work_cv; /* workers: an item to take, or quit */
    Item *ring;
    size_t cap;
    uint64_t head, next, tail; /* head..next taken by workers, next..tail waiting */
    bool quit;
    uint64_t connects, received, created, dropped;

    /* the connection (network thread only) */
    int fd;
    SSL_CTX *ctx;
    SSL *ssl;
    uint8_t *rbuf;
    size_t roff, rlen;      /* unparsed bytes: rbuf[roff..rlen) */
    Buf wbuf;
    size_t woff;
    bool ssl_wants_write;
    struct timespec last_write, ping_sent;
    bool ping_out;
};

static double elapsed(const struct timespec *since)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - since->tv_sec) + (double)(now.tv_nsec - since->tv_nsec) / 1e9;
}

/* ------------------------------------------------------------- workers */

/*
 * Takes what waits in the ring (at most a share of it, so that the other
 * workers get some while this batch is stored) and hands it to handle.
 */
static void *worker(void *arg)
{
    MqttIn *m = arg;
    pthread_setname_np(pthread_self(), "klammer-ingest");
    size_t share = m->cap / m->nworkers_max;
    MqttInMsg *msgs = xcalloc(share ? share : 1, sizeof *msgs);
    pthread_mutex_lock(&m->link.mu);
    for (;;) {
        while (!m->quit && m->next == m->tail)
            pthread_cond_wait(&m->work_cv, &m->link.mu);
        if (m->next == m->tail)
            break;
        uint64_t first = m->next;
        size_t n = 0;
        while (m->next < m->tail && n < (share ? share : 1)) {
            Item *it = &m->ring[m->next++ % m->cap];
            msgs[n++] = (MqttInMsg){it->topic, it->payload, it->len};
        }
        pthread_mutex_unlock(&m->link.mu);
        size_t dropped = m->handle(m->data, msgs, n);
        pthread_mutex_lock(&m->link.mu);
        for (size_t i = 0; i < n; i++)
            m->ring[(first + i) % m->cap].done = true;
        m->dropped += dropped;
        m->created += n - dropped;
        pthread_cond_broadcast(&m->link.cv);
        uint64_t one = 1;
        if (write(m->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
            LOG(LOG_ERROR, "msg=\"lorawan mqtt: cannot wake the network thread\" error=\"%s\"",
                strerror(errno));
    }
    pthread_mutex_unlock(&m->link.mu);
    free(msgs);
    return NULL;
}

/* -------------------------------------------------------------- socket I/O */

static void conn_close(MqttIn *m)
{
    if (m->ssl) {
        SSL_free(m->ssl);
        m->ssl = NULL;
    }
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
    m->roff = m->rlen = 0;
    buf_clear(&m->wbuf);
    m->woff = 0;
    m->ssl_wants_write = false;
    m->ping_out = false;
}

/* Non-blocking TCP connect to host:port within the timeout. */
static int tcp_connect(MqttIn *m)
{
    char port[16];
    snprintf(port, sizeof port, "%d", m->port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_socktype = SOCK_STREAM;
    int g = getaddrinfo(m->host, port, &hints, &res);
    if (g) {
        mqtt_link_error(&m->link, "cannot resolve %s: %s", m->host, gai_strerror(g));
        return -1;
    }
    int fd = -1, err = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 || errno == EINPROGRESS) {
            struct pollfd p = {fd, POLLOUT, 0};
            socklen_t sl = sizeof err;
            int pr = poll(&p, 1, CONNECT_TIMEOUT_MS);
            if (pr == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0 && err == 0)
                break;
            if (pr == 0)
                err = ETIMEDOUT;
        } else {
            err = errno;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        mqtt_link_error(&m->link, "cannot reach the broker at %s:%d: %s", m->host, m->port, strerror(err));
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    m->fd = fd;
    return 0;
}

static bool is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

static void ssl_error(MqttIn *m, const char *what)
{
    unsigned long e = ERR_get_error();
    char msg[120] = "";
    if (e)
        ERR_error_string_n(e, msg, sizeof msg);
    ERR_clear_error();
    long v = m->ssl ? SSL_get_verify_result(m->ssl) : X509_V_OK;
    if (v != X509_V_OK)
        mqtt_link_error(&m->link, "%s: certificate: %s", what, X509_verify_cert_error_string(v));
    else
        mqtt_link_error(&m->link, "%s: %s", what, msg[0] ? msg : "connection closed");
}

/* TLS handshake on the connected socket, with the broker's name checked. */
static int tls_start(MqttIn *m)
{
    m->ssl = SSL_new(m->ctx);
    if (!m->ssl) {
        ssl_error(m, "TLS");
        return -1;
    }
    SSL_set_fd(m->ssl, m->fd);
    SSL_set_mode(m->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    if (is_ip_literal(m->host)) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(m->ssl), m->host);
    } else {
        SSL_set_tlsext_host_name(m->ssl, m->host);
        SSL_set1_host(m->ssl, m->host);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        int r = SSL_connect(m->ssl);
        if (r == 1)
            return 0;
        int e = SSL_get_error(m->ssl, r);
        double left = CONNECT_TIMEOUT_MS / 1000.0 - elapsed(&t0);
        if ((e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) || left <= 0) {
            ssl_error(m, left <= 0 ? "TLS handshake timed out" : "TLS handshake failed");
            return -1;
        }
        struct pollfd p = {m->fd, e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, 0};
        poll(&p, 1, (int)(left * 1000) + 1);
    }
}

/* Writes what wbuf holds; 0 (possibly not all written) or -1. */
static int flush_some(MqttIn *m)
{
    while (m->woff < m->wbuf.len) {
        size_t n = m->wbuf.len - m->woff;
        ssize_t w;
        if (m->ssl) {
            int r = SSL_write(m->ssl, m->wbuf.data + m->woff, n > INT32_MAX ? INT32_MAX : (int)n);
            if (r <= 0) {
                int e = SSL_get_error(m->ssl, r);
                if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
                    return 0;
                ssl_error(m, "TLS write failed");
                return -1;
            }
            w = r;
        } else {
            w = send(m->fd, m->wbuf.data + m->woff, n, MSG_NOSIGNAL);
            if (w < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    return 0;
                mqtt_link_error(&m->link, "connection to %s:%d lost: %s", m->host, m->port, strerror(errno));
                return -1;
            }
        }
        m->woff += (size_t)w;
        clock_gettime(CLOCK_MONOTONIC, &m->last_write);
    }
    buf_clear(&m->wbuf);
    m->woff = 0;
    return 0;
}

/* Reads what the socket has into rbuf; 1 = got bytes, 0 = nothing yet, -1 = closed/error. */
static int read_some(MqttIn *m)
{
    if (m->roff) {
        memmove(m->rbuf, m->rbuf + m->roff, m->rlen - m->roff);
        m->rlen -= m->roff;
        m->roff = 0;
    }
    size_t room = MAX_PACKET + 8 - m->rlen;
    if (room == 0)
        return 0;
    ssize_t r;
    if (m->ssl) {
        int k = SSL_read(m->ssl, m->rbuf + m->rlen, (int)room);
        if (k <= 0) {
            int e = SSL_get_error(m->ssl, k);
            m->ssl_wants_write = e == SSL_ERROR_WANT_WRITE;
            if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                return 0;
            ssl_error(m, "TLS read failed");
            return -1;
        }
        r = k;
    } else {
        r = recv(m->fd, m->rbuf + m->rlen, room, 0);
        if (r < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        if (r <= 0) {
            mqtt_link_error(&m->link, "connection to %s:%d lost: %s", m->host, m->port,
                      r == 0 ? "closed by the broker" : strerror(errno));
            return -1;
        }
    }
    m->rlen += (size_t)r;
    return 1;
}

/* Waits (until deadline, ms from t0) for one packet while flushing wbuf. */
static int await_packet(MqttIn *m, MqwPacket *pk, size_t *used, const struct timespec *t0)
{
    for (;;) {
        const char *why;
        MqwStatus st = mqw_parse(m->rbuf + m->roff, m->rlen - m->roff, MAX_PACKET, pk, used, &why);
        if (st == MQW_OK)
            return 0;
        if (st == MQW_MALFORMED) {
            mqtt_link_error(&m->link, "malformed packet from the broker: %s", why);
            return -1;
        }
        double left = CONNECT_TIMEOUT_MS / 1000.0 - elapsed(t0);
        if (left <= 0 || mqtt_link_stopping(&m->link)) {
            mqtt_link_error(&m->link, "no CONNACK from the broker at %s:%d", m->host, m->port);
            return -1;
        }
        if (flush_some(m))
            return -1;
        struct pollfd p = {m->fd, POLLIN | (m->woff < m->wbuf.len ? POLLOUT : 0), 0};
        if (!(m->ssl && SSL_pending(m->ssl)))
            poll(&p, 1, left > 0.25 ? 250 : (int)(left * 1000) + 1);
        if (read_some(m) < 0)
            return -1;
    }
}

static void consume(MqttIn *m, size_t used)
{
    m->roff += used;
}

/* ------------------------------------------------------------- a session */

/* Sends the PUBACKs of the finished messages at the head of the ring, in order. */
static void collect_done(MqttIn *m)
{
    pthread_mutex_lock(&m->link.mu);
    while (m->head < m->next && m->ring[m->head % m->cap].done) {
        Item *it = &m->ring[m->head % m->cap];
        if (it->mid)
            mqw_puback(&m->wbuf, it->mid);
        free(it->topic);
        free(it->payload);
        memset(it, 0, sizeof *it);
        m->head++;
    }
    pthread_mutex_unlock(&m->link.mu);
}

/* Puts a received PUBLISH into the ring for the workers. */
static int take_publish(MqttIn *m, const MqwPacket *pk)
{
    if (pk->qos == 2) {
        mqtt_link_error(&m->link, "the broker sent QoS 2 on a QoS 1 subscription");
        return -1;
    }
    Item it = {xmalloc(pk->topic_len + 1), xmalloc(pk->payload_len + 1),
               pk->payload_len, pk->qos ? pk->mid : 0, false};
    memcpy(it.topic, pk->topic, pk->topic_len);
    it.topic[pk->topic_len] = '\0';
    memcpy(it.payload, pk->payload, pk->payload_len);
    it.payload[pk->payload_len] = '\0';
    pthread_mutex_lock(&m->link.mu);
    m->ring[m->tail++ % m->cap] = it;
    m->received++;
    pthread_cond_signal(&m->work_cv);
    pthread_mutex_unlock(&m->link.mu);
    return 0;
}

/* Handles the packets in rbuf while the ring has room; -1 ends the session. */
static int handle_packets(MqttIn *m)
{
    for (;;) {
        pthread_mutex_lock(&m->link.mu);
        bool full = m->tail - m->head >= m->cap;
        pthread_mutex_unlock(&m->link.mu);
        if (full)
            return 0;
        MqwPacket pk;
        size_t used;
        const char *why;
        MqwStatus st =
            mqw_parse(m->rbuf + m->roff, m->rlen - m->roff, MAX_PACKET, &pk, &used, &why);
        if (st == MQW_MORE)
            return 0;
        if (st == MQW_MALFORMED) {
            mqtt_link_error(&m->link, "malformed packet from the broker: %s", why);
            return -1;
        }
        int rc = 0;
        switch (pk.type) {
        case MQW_PUBLISH:
            rc = take_publish(m, &pk);
            break;
        case MQW_SUBACK:
            for (size_t i = 0; i < pk.ncodes; i++)
                if (pk.codes[i] >= 0x80)
                    mqtt_link_error(&m->link, "the broker refused the subscription to %s: %s",
                              i < m->ntopics ? m->topics[i] : "?", mqw_reason_name(pk.codes[i]));
            break;
        case MQW_PINGRESP:
            m->ping_out = false;
            break;
        case MQW_DISCONNECT:
            mqtt_link_error(&m->link, "the broker closed the connection: %s", mqw_reason_name(pk.reason));
            rc = -1;
            break;
        default: /* PUBACK (we publish nothing), a second CONNACK */
            mqtt_link_error(&m->link, "unexpected packet type %d from the broker", pk.type);
            rc = -1;
        }
        consume(m, used);
        if (rc)
            return rc;
    }
}

/* Connects, subscribes and serves until the connection ends or stop. */
static void session(MqttIn *m)
{
    if (tcp_connect(m))
        return;
    if (m->tls && tls_start(m))
        return;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    mqw_connect(&m->wbuf, m->client_id, m->username, m->password, KEEPALIVE, true,
                m->session_expiry, (uint16_t)m->cap, MAX_PACKET);
    MqwPacket pk;
    size_t used;
    if (await_packet(m, &pk, &used, &t0))
        return;
    if (pk.type != MQW_CONNACK) {
        mqtt_link_error(&m->link, "the broker answered CONNECT with packet type %d", pk.type);
        return;
    }
    if (pk.reason != 0) {
        mqtt_link_error(&m->link, "the broker refused the connection: %s", mqw_reason_name(pk.reason));
        return;
    }
    consume(m, used);
    pthread_mutex_lock(&m->link.mu);
    m->connects++;
    pthread_mutex_unlock(&m->link.mu);
    mqtt_link_connected(&m->link, true);
    LOG(LOG_INFO, "msg=\"lorawan mqtt connected\" url=%s client_id=%s session_present=%d",
        m->url, m->client_id, pk.session_present);
    /* Subscribing again to a kept session changes nothing and covers a
     * broker that lost it. */
    mqw_subscribe(&m->wbuf, 1, (const char *const *)m->topics, m->ntopics, 1);

    bool draining = false;
    for (;;) {
        collect_done(m);
        pthread_mutex_lock(&m->link.mu);
        bool stop = m->link.stopping, full = m->tail - m->head >= m->cap;
        bool idle = m->head == m->tail;
        pthread_mutex_unlock(&m->link.mu);
        if (stop && !draining) {
            /* Stop reading; what is in the ring is finished and acknowledged. */
            draining = true;
            m->roff = m->rlen = 0;
        }
        if (draining && idle) {
            mqw_disconnect(&m->wbuf);
            for (int i = 0; i < 20 && m->wbuf.len > m->woff && flush_some(m) == 0; i++) {
                struct pollfd p = {m->fd, POLLOUT, 0};
                poll(&p, 1, 50);
            }
            return;
        }
        if (flush_some(m))
            return;
        if (!draining && !full && handle_packets(m))
            return;
        if (!draining && elapsed(&m->last_write) >= KEEPALIVE) {
            if (!m->ping_out) {
                mqw_pingreq(&m->wbuf);
                m->ping_out = true;
                clock_gettime(CLOCK_MONOTONIC, &m->ping_sent);
            } else if (elapsed(&m->ping_sent) >= KEEPALIVE) {
                mqtt_link_error(&m->link, "no PINGRESP from the broker within %d s", KEEPALIVE);
                return;
            }
        }
        struct pollfd p[2] = {{m->fd, 0, 0}, {m->wake_fd, POLLIN, 0}};
        if (!draining && !full)
            p[0].events |= POLLIN;
        if (m->woff < m->wbuf.len || m->ssl_wants_write)
            p[0].events |= POLLOUT;
        bool pending = m->ssl && SSL_pending(m->ssl) > 0 && !draining && !full;
        if (!pending)
            poll(p, 2, 250);
        if (p[1].revents & POLLIN) {
            uint64_t v;
            if (read(m->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                LOG(LOG_ERROR, "msg=\"lorawan mqtt: wake-up lost\" error=\"%s\"", strerror(errno));
        }
        if (pending || (p[0].revents & (POLLIN | POLLHUP | POLLERR)) ||
            (m->ssl_wants_write && (p[0].revents & POLLOUT))) {
            if (draining) {
                if (p[0].revents & (POLLHUP | POLLERR))
                    return;
            } else if (read_some(m) < 0) {
                return;
            }
        }
    }
}

/* After a session: waits for the messages being stored, drops the rest. */
static void session_end(MqttIn *m)
{
    conn_close(m);
    pthread_mutex_lock(&m->link.mu);
    m->link.connected = false;
    for (uint64_t i = m->next; i < m->tail; i++) {
        Item *it = &m->ring[i % m->cap];
        free(it->topic);
        free(it->payload);
        memset(it, 0, sizeof *it);
    }
    m->tail = m->next;
    for (;;) {
        bool busy = false;
        for (uint64_t i = m->head; i < m->next && !busy; i++)
            busy = !m->ring[i % m->cap].done;
        if (!busy)
            break;
        pthread_cond_wait(&m->link.cv, &m->link.mu);
    }
    for (uint64_t i = m->head; i < m->tail; i++) {
        Item *it = &m->ring[i % m->cap];
        free(it->topic);
        free(it->payload);
        memset(it, 0, sizeof *it);
    }
    m->head = m->next = m->tail;
    pthread_mutex_unlock(&m->link.mu);
}

static void *run(void *arg)
{
    MqttIn *m = arg;
    pthread_setname_np(pthread_self(), "klammer-mqtt-in");
    while (!mqtt_link_stopping(&m->link)) {
        session(m);
        session_end(m);
        if (mqtt_link_stopping(&m->link))
            break;
        mqtt_link_backoff(&m->link);
    }
    return NULL;
}

/* ------------------------------------------------------------- lifecycle */

MqttIn *events_mqtt_in_new(const MqttInConfig *cfg, Err *err)
{
    char host[256];
    int port;
    bool tls;
    if (mqtt_link_target(cfg->url, cfg->client_id, host, sizeof host, &port, &tls, err))
        return NULL;
    if (cfg->ntopics == 0 || cfg->ntopics > TOPICS_MAX || !cfg->handle) {
        err_set(err, ERR_CONFIG, "ingest_mqtt_topics", "between 1 and %d topic filters needed",
                TOPICS_MAX);
        return NULL;
    }
    MqttIn *m = xcalloc(1, sizeof *m);
    m->fd = -1;
    m->wake_fd = -1;
    m->url = xstrdup(cfg->url);
    m->host = xstrdup(host);
    m->port = port;
    m->tls = tls;
    m->username = xstrdup(cfg->username ? cfg->username : "");
    m->password = xstrdup(cfg->password ? cfg->password : "");
    m->ca_file = xstrdup(cfg->ca_file ? cfg->ca_file : "");
    m->client_id = xstrdup(cfg->client_id);
    m->session_expiry = cfg->session_expiry < 0 ? 0
                        : cfg->session_expiry > UINT32_MAX ? UINT32_MAX
                                                          : (uint32_t)cfg->session_expiry;
    for (size_t i = 0; i < cfg->ntopics; i++)
        m->topics[m->ntopics++] = xstrdup(cfg->topics[i]);
    m->handle = cfg->handle;
    m->data = cfg->data;
    m->cap = cfg->inflight < 1 ? 1 : cfg->inflight > 1024 ? 1024 : (size_t)cfg->inflight;
    m->ring = xcalloc(m->cap, sizeof *m->ring);
    m->nworkers_max = m->cap < WORKERS_MAX ? m->cap : WORKERS_MAX;
    m->rbuf = xmalloc(MAX_PACKET + 8);
    buf_init(&m->wbuf);
    mqtt_link_init(&m->link, "lorawan mqtt", m->url);
    pthread_cond_init(&m->work_cv, NULL);
    if (tls) {
        m->ctx = SSL_CTX_new(TLS_client_method());
        if (!m->ctx) {
            err_set(err, ERR_CONFIG, "ingest_mqtt", "cannot set up TLS");
            events_mqtt_in_free(m);
            return NULL;
        }
        SSL_CTX_set_min_proto_version(m->ctx, TLS1_2_VERSION);
        SSL_CTX_set_verify(m->ctx, SSL_VERIFY_PEER, NULL);
        int ok = m->ca_file[0] ? SSL_CTX_load_verify_locations(m->ctx, m->ca_file, NULL)
                               : SSL_CTX_set_default_verify_paths(m->ctx);
        if (ok != 1) {
            ERR_clear_error();
            err_set(err, ERR_CONFIG, "ingest_mqtt_ca_file", "cannot read the CA file %s",
                    m->ca_file[0] ? m->ca_file : "(system)");
            events_mqtt_in_free(m);
            return NULL;
        }
    }
    return m;
}

int events_mqtt_in_start(MqttIn *m, Err *err)
{
    m->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (m->wake_fd < 0)
        return err_set(err, ERR_IO, "ingest_mqtt", "eventfd: %s", strerror(errno));
    clock_gettime(CLOCK_MONOTONIC, &m->last_write);
    m->workers = xcalloc(m->nworkers_max, sizeof *m->workers);
    for (size_t i = 0; i < m->nworkers_max; i++) {
        if (pthread_create(&m->workers[i], NULL, worker, m))
            break;
        m->nworkers++;
    }
    if (m->nworkers == 0 || pthread_create(&m->net, NULL, run, m)) {
        events_mqtt_in_stop(m);
        return err_set(err, ERR_IO, "ingest_mqtt", "cannot start the MQTT threads");
    }
    m->started = true;
    return 0;
}

void events_mqtt_in_stop(MqttIn *m)
{
    if (!m)
        return;
    mqtt_link_stop(&m->link);
    if (m->started) {
        uint64_t one = 1;
        if (write(m->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
            LOG(LOG_ERROR, "msg=\"lorawan mqtt: cannot wake the network thread\"");
        pthread_join(m->net, NULL);
        m->started = false;
        LOG(LOG_INFO, "msg=\"lorawan mqtt stopped\" client_id=%s received=%llu stored=%llu "
                      "dropped=%llu",
            m->client_id, (unsigned long long)m->received, (unsigned long long)m->created,
            (unsigned long long)m->dropped);
    }
    pthread_mutex_lock(&m->link.mu);
    m->quit = true;
    pthread_cond_broadcast(&m->work_cv);
    pthread_mutex_unlock(&m->link.mu);
    for (size_t i = 0; i < m->nworkers; i++)
        pthread_join(m->workers[i], NULL);
    m->nworkers = 0;
}

void events_mqtt_in_free(MqttIn *m)
{
    if (!m)
        return;
    events_mqtt_in_stop(m);
    conn_close(m);
    if (m->wake_fd >= 0)
        close(m->wake_fd);
    SSL_CTX_free(m->ctx);
    for (size_t i = 0; i < m->cap; i++) {
        free(m->ring[i].topic);
        free(m->ring[i].payload);
    }
    for (size_t i = 0; i < m->ntopics; i++)
        free(m->topics[i]);
    free(m->ring);
    free(m->workers);
    free(m->rbuf);
    buf_fini(&m->wbuf);
    mqtt_link_fini(&m->link);
    pthread_cond_destroy(&m->work_cv);
    free(m->url);
    free(m->host);
    free(m->username);
    free(m->password);
    free(m->ca_file);
    free(m->client_id);
    free(m);
}

void events_mqtt_in_stats(MqttIn *m, MqttStats *out)
{
    mqtt_link_stats(&m->link, out);
    pthread_mutex_lock(&m->link.mu);
    out->connects = m->connects;
    out->received = m->received;
    out->created = m->created;
    out->dropped = m->dropped;
    pthread_mutex_unlock(&m->link.mu);
}
