/*
 * demo.h - the Hagen demo: seeds a realistic sensor network and runs a
 * simulator that keeps posting plausible observations.
 *
 * Both talk to the server only through DemoApi.request, which runs a request
 * through the same handlers as HTTP, so the demo exercises the real write path.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#ifndef KLAMMER_DEMO_H
#define KLAMMER_DEMO_H

#include "util/err.h"

typedef struct DemoApi {
    /*
     * Executes one request.  method is "GET", "POST", "PATCH" or "DELETE";
     * path is relative to the service root and may carry a query, e.g.
     * "/Datastreams(3)/Observations" or "/Things?$top=1"; body may be NULL.
     * On return 0, *status holds the HTTP status and *resp a malloc'd,
     * NUL-terminated response body the caller frees with free().  Returns a
     * negative ERR_* only when the request could not be executed at all.
     */
    int (*request)(void *data, const char *method, const char *path, const char *body,
                   int *status, char **resp);
    void *data; /* borrowed, passed to request */
} DemoApi;

/*
 * Creates the Hagen sensor network described in the JSON file seed_path
 * (an array of Things for deep insert) unless the store already holds a
 * Thing.  Returns 0, or ERR_IO / ERR_INVALID with detail in err.
 */
int demo_seed(const DemoApi *api, const char *seed_path, Err *err);

typedef struct DemoSim DemoSim;

/*
 * Starts the simulator thread: every interval_ms it posts one observation
 * per datastream (values by observed property: daily temperature cycle, a
 * rain event that raises the streams, bins filling and being emptied, ...).
 * Simulated time runs speed times faster than the wall clock, starting now.
 * api must outlive the simulator.  Returns NULL on failure (detail in err).
 */
DemoSim *demo_sim_start(const DemoApi *api, int interval_ms, double speed, Err *err);

/* Stops the simulator thread and frees it; accepts NULL. */
void demo_sim_stop(DemoSim *sim);

#endif
