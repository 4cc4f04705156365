/*
 * events.c - fan-out of changes to the registered sinks (see events.h).
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include "events/events.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "util/arena.h"

#define MAX_SINKS 8

struct Events {
    struct {
        EventSink fn;
        void *data;
    } sinks[MAX_SINKS];
    int nsinks;
    atomic_uint_fast64_t count;
};

Events *events_new(void)
{
    return xcalloc(1, sizeof(Events));
}

void events_free(Events *e)
{
    free(e);
}

int events_add_sink(Events *e, EventSink fn, void *data)
{
    if (e->nsinks == MAX_SINKS)
        return -1;
    e->sinks[e->nsinks].fn = fn;
    e->sinks[e->nsinks].data = data;
    e->nsinks++;
    return 0;
}

bool events_active(const Events *e)
{
    return e && e->nsinks > 0;
}

void events_publish(Events *e, const Event *ev)
{
    if (!e)
        return;
    atomic_fetch_add(&e->count, 1);
    for (int i = 0; i < e->nsinks; i++)
        e->sinks[i].fn(e->sinks[i].data, ev);
}

uint64_t events_count(const Events *e)
{
    return e ? atomic_load(&e->count) : 0;
}
