/*
 * ceiling_http.c - the HTTP ceiling: the smallest useful libmicrohttpd server.
 *
 * It answers every request (any method, any path) with the same 300-byte
 * JSON document, status 200, keep-alive.  Nothing Klammer does per request
 * (routing, parsing, SQL, serialisation, logging) happens here, so its rate
 * is what libmicrohttpd itself allows on this machine with this thread
 * configuration; bench/run.sh divides Klammer's figures by it.
 *
 *   ceiling_http PORT [THREADS]      (THREADS: thread pool size, default 2)
 *
 * Listens on 127.0.0.1 only and runs until SIGINT or SIGTERM.
 *
 * The access handler uses the documented two-call pattern: the first call
 * for a request only marks the connection (*con_cls); the response is
 * queued on a later call.  Queueing on the first call makes libmicrohttpd
 * close every keep-alive connection (it has not yet read the request body,
 * so it cannot reuse the connection), which cut throughput to ~25k req/s.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <microhttpd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#if MHD_VERSION < 0x00097002
typedef int MhdResult;
#else
typedef enum MHD_Result MhdResult;
#endif

/* Exactly 300 bytes, checked at start-up. */
static const char body[] =
    "{\"@iot.id\":1,\"@iot.selfLink\":\"http://127.0.0.1/v1.1/Observations(1)\","
    "\"phenomenonTime\":\"2024-01-01T00:00:00Z\",\"result\":7,"
    "\"Datastream@iot.navigationLink\":\"http://127.0.0.1/v1.1/Observations(1)/Datastream\","
    "\"FeatureOfInterest@iot.navigationLink\":"
    "\"http://127.0.0.1/v1.1/Observations(1)/FeatureOfInterest\"}";

static struct MHD_Response *response;
static int request_marker; /* *con_cls points here once a request has been seen */

static MhdResult on_request(void *cls, struct MHD_Connection *conn, const char *url,
                            const char *method, const char *version,
                            const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)upload_data;
    if (*con_cls == NULL) { /* first call: headers only */
        *con_cls = &request_marker;
        return MHD_YES;
    }
    if (*upload_data_size != 0) { /* a chunk of a request body: consume it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(conn, MHD_HTTP_OK, response);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    *con_cls = NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
        return 2;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (*end != '\0' || port < 1 || port > 65535) {
        fprintf(stderr, "ceiling_http: bad port '%s'\n", argv[1]);
        return 2;
    }
    long threads = 2;
    if (argc == 3) {
        threads = strtol(argv[2], &end, 10);
        if (*end != '\0' || threads < 1 || threads > 256) {
            fprintf(stderr, "ceiling_http: bad thread count '%s'\n", argv[2]);
            return 2;
        }
    }
    if (sizeof body - 1 != 300) {
        fprintf(stderr, "ceiling_http: body is %zu bytes, not 300\n", sizeof body - 1);
        return 1;
    }

    /* Block the stop signals in every thread; main waits for them below. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    response = MHD_create_response_from_buffer(sizeof body - 1, (void *)body,
                                               MHD_RESPMEM_PERSISTENT);
    if (response == NULL ||
        MHD_add_response_header(response, "Content-Type", "application/json") != MHD_YES) {
        fprintf(stderr, "ceiling_http: cannot create the response\n");
        return 1;
    }

    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL, NULL,
        on_request, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)10000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "ceiling_http: cannot listen on 127.0.0.1:%ld\n", port);
        return 1;
    }
    fprintf(stderr, "ceiling_http: listening on 127.0.0.1:%ld, %ld threads\n", port, threads);

    int sig = 0;
    if (sigwait(&stop, &sig) != 0)
        fprintf(stderr, "ceiling_http: sigwait failed\n");
    MHD_stop_daemon(d);
    MHD_destroy_response(response);
    return 0;
}
