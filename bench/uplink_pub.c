/*
 * uplink_pub.c - the LoRaWAN publisher of bench/ingest.sh: publishes N
 * pre-built ChirpStack v4 `up` events (a Milesight EM310-UDL payload, DEVICES
 * DevEUIs round robin, a distinct frame counter each) at QoS 1 as fast as the
 * broker takes them, and exits once the broker has acknowledged all of them.
 *
 *   uplink_pub HOST PORT N DEVICES [INFLIGHT]
 *
 * Prints one line: "pub n=N seconds=S acked_per_s=R".  Messages are built
 * before the clock starts.  SPDX-License-Identifier: Apache-2.0
 */
#include <mosquitto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static atomic_long acked;

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    (void)obj;
    (void)mid;
    atomic_fetch_add(&acked, 1);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: uplink_pub HOST PORT N DEVICES [INFLIGHT]\n");
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]);
    long n = atol(argv[3]), devices = atol(argv[4]);
    int inflight = argc > 5 ? atoi(argv[5]) : 1000;
    if (n <= 0 || n > 200000 || devices <= 0 || devices > 65535) {
        fprintf(stderr, "uplink_pub: N must be 1..200000 and DEVICES 1..65535\n");
        return 2;
    }
    char **topics = malloc((size_t)n * sizeof *topics), **bodies = malloc((size_t)n * sizeof *bodies);
    for (long i = 0; i < n; i++) {
        long d = i % devices, fcnt = i / devices;
        char eui[17];
        snprintf(eui, sizeof eui, "24e12471%08lx", d);
        topics[i] = malloc(128);
        snprintf(topics[i], 128, "application/bench/device/%s/event/up", eui);
        bodies[i] = malloc(1024);
        snprintf(bodies[i], 1024,
                 "{\"deduplicationId\":\"b-%ld\",\"time\":\"2025-06-03T05:%02ld:%02ld.%06ld+00:00\","
                 "\"deviceInfo\":{\"applicationId\":\"bench\",\"deviceName\":\"bin-%ld\","
                 "\"devEui\":\"%s\"},\"fCnt\":%ld,\"fPort\":85,\"data\":\"AXVaA4JeAQQAAA==\","
                 "\"rxInfo\":[{\"gatewayId\":\"24e124fffef4a9c1\",\"rssi\":-98,\"snr\":7.25}],"
                 "\"txInfo\":{\"frequency\":868500000,\"modulation\":{\"lora\":{\"bandwidth\":"
                 "125000,\"spreadingFactor\":7,\"codeRate\":\"CR_4_5\"}}}}",
                 i, (fcnt / 60) % 60, fcnt % 60, i % 1000000, d, eui, fcnt);
    }
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    mosquitto_max_inflight_messages_set(m, (unsigned)inflight);
    mosquitto_publish_callback_set(m, on_publish);
    if (mosquitto_connect(m, host, port, 30) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "uplink_pub: cannot connect to %s:%d\n", host, port);
        return 1;
    }
    mosquitto_loop_start(m);
    double t0 = now();
    for (long i = 0; i < n; i++) {
        /* Keep at most a few inflight windows queued in the client. */
        while (i - atomic_load(&acked) > 4L * inflight)
            usleep(100);
        int rc = mosquitto_publish(m, NULL, topics[i], (int)strlen(bodies[i]), bodies[i], 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "uplink_pub: publish: %s\n", mosquitto_strerror(rc));
            return 1;
        }
    }
    while (atomic_load(&acked) < n && now() - t0 < 60)
        usleep(1000);
    double dt = now() - t0;
    printf("pub n=%ld acked=%ld seconds=%.3f acked_per_s=%.0f\n", n, atomic_load(&acked), dt,
           atomic_load(&acked) / dt);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    for (long i = 0; i < n; i++) {
        free(topics[i]);
        free(bodies[i]);
    }
    free(topics);
    free(bodies);
    return atomic_load(&acked) == n ? 0 : 1;
}
