/*
 * test_mqtt.c - unit tests for the pure parts of the MQTT sink (events/mqtt.c):
 * broker URLs, the topics and payloads of OGC 18-088 §14.2 for each kind of
 * event (collection, navigation, entity, property, $select), finding a
 * member in the entity JSON, and classifying received messages (§14.3).
 * No broker is involved.
 *
 * SPDX-License-Identifier: Apache-2.0
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "events/events.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const char OBS[] =
    "{\"@iot.selfLink\":\"http://h/v1.1/Observations(5)\",\"@iot.id\":5,"
    "\"phenomenonTime\":\"2024-01-01T00:00:00.000Z\",\"resultTime\":null,"
    "\"result\":{\"a\":[1,\"x,}]\"]},\"parameters\":{\"k\":\"v\\\"\"},"
    "\"Datastream@iot.navigationLink\":\"http://h/v1.1/Observations(5)/Datastream\","
    "\"FeatureOfInterest@iot.navigationLink\":\"http://h/v1.1/Observations(5)/FeatureOfInterest\"}";

/* ------------------------------------------------------------------ URLs */

static void test_url(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        int ok;
        const char *host;
        int port;
        bool tls;
    } cases[] = {
        {"mqtt://127.0.0.1:1883", 1, "127.0.0.1", 1883, false},
        {"mqtt://broker", 1, "broker", 1883, false},
        {"mqtt://broker/", 1, "broker", 1883, false},
        {"mqtts://broker.example:8884", 1, "broker.example", 8884, true},
        {"mqtts://broker", 1, "broker", 8883, true},
        {"mqtt://[::1]:1999", 1, "::1", 1999, false},
        {"http://broker:1883", 0, NULL, 0, false},
        {"mqtt://", 0, NULL, 0, false},
        {"mqtt://h:0", 0, NULL, 0, false},
        {"mqtt://h:65536", 0, NULL, 0, false},
        {"mqtt://h:12x", 0, NULL, 0, false},
        {"mqtt://h:1883/path", 0, NULL, 0, false},
        {"mqtt://[::1:1883", 0, NULL, 0, false},
        {"", 0, NULL, 0, false},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char host[64] = "";
        int port = -1;
        bool tls = false;
        Err err;
        err_init(&err);
        int rc = events_mqtt_url_parse(cases[i].url, host, sizeof host, &port, &tls, &err);
        if (cases[i].ok) {
            assert_int_equal(rc, 0);
            assert_string_equal(host, cases[i].host);
            assert_int_equal(port, cases[i].port);
            assert_int_equal(tls, cases[i].tls);
        } else {
            assert_int_not_equal(rc, 0);
            assert_int_equal(err.code, ERR_CONFIG);
            assert_true(strlen(err.msg) > 0);
        }
    }
}

/* ------------------------------------------------------------ JSON member */

static void test_member(void **state)
{
    (void)state;
    static const struct {
        const char *key, *value; /* NULL value: absent */
    } cases[] = {
        {"@iot.id", "5"},
        {"resultTime", "null"},
        {"result", "{\"a\":[1,\"x,}]\"]}"},
        {"parameters", "{\"k\":\"v\\\"\"}"},
        {"phenomenonTime", "\"2024-01-01T00:00:00.000Z\""},
        {"a", NULL}, /* nested keys are not top-level members */
        {"k", NULL},
        {"resultQuality", NULL},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        const char *v = NULL;
        size_t n = 0;
        bool found = events_json_member(OBS, strlen(OBS), cases[i].key, &v, &n);
        if (!cases[i].value) {
            assert_false(found);
            continue;
        }
        assert_true(found);
        assert_int_equal(n, strlen(cases[i].value));
        assert_memory_equal(v, cases[i].value, n);
    }
    const char *v;
    size_t n;
    assert_false(events_json_member("[1,2]", 5, "a", &v, &n));
    assert_false(events_json_member("{\"a\":", 5, "a", &v, &n));
    assert_false(events_json_member("", 0, "a", &v, &n));
    assert_true(events_json_member(" { \"a\" : true } ", 16, "a", &v, &n));
    assert_int_equal(n, 4);
}

/* ---------------------------------------------------------------- topics */

static const MqttMsg *find(const MqttMsgs *m, const char *topic)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->v[i].topic, topic) == 0)
            return &m->v[i];
    return NULL;
}

static Event obs_event(EventKind kind, const int64_t *parents, uint32_t changed)
{
    Event ev = {kind, model_entity(ENT_OBSERVATION), 5, OBS, strlen(OBS), "v1.1", parents,
                changed};
    return ev;
}

static void test_created(void **state)
{
    (void)state;
    /* Observation rels: Datastream, MultiDatastream, FeatureOfInterest. */
    int64_t parents[16] = {3, 0, 7};
    Event ev = obs_event(EV_CREATED, parents, 0xffffffffu);
    MqttMsgs m = {0};
    events_mqtt_messages(&ev, NULL, 0, &m);
    static const char *const want[] = {
        "v1.1/Observations",
        "v1.1/Datastreams(3)/Observations",
        "v1.1/FeaturesOfInterest(7)/Observations",
    };
    assert_int_equal(m.n, COUNT(want));
    for (size_t i = 0; i < COUNT(want); i++) {
        const MqttMsg *msg = find(&m, want[i]);
        assert_non_null(msg);
        assert_int_equal(msg->len, strlen(OBS));
        assert_string_equal(msg->payload, OBS);
    }
    events_mqtt_msgs_fini(&m);
    assert_int_equal(m.n, 0);

    /* A Datastream has three parents: Thing, Sensor, ObservedProperty. */
    const char *ds = "{\"@iot.id\":2,\"name\":\"n\"}";
    int64_t dp[16] = {1, 4, 9};
    Event dev = {EV_CREATED, model_entity(ENT_DATASTREAM), 2, ds, strlen(ds), "v1.1", dp, 0};
    events_mqtt_messages(&dev, NULL, 0, &m);
    assert_non_null(find(&m, "v1.1/Datastreams"));
    assert_non_null(find(&m, "v1.1/Things(1)/Datastreams"));
    assert_non_null(find(&m, "v1.1/Sensors(4)/Datastreams"));
    assert_non_null(find(&m, "v1.1/ObservedProperties(9)/Datastreams"));
    assert_int_equal(m.n, 4);
    events_mqtt_msgs_fini(&m);

    /* Without parents: the collection only. */
    Event none = obs_event(EV_CREATED, NULL, 0);
    events_mqtt_messages(&none, NULL, 0, &m);
    assert_int_equal(m.n, 1);
    events_mqtt_msgs_fini(&m);
}

static void test_select(void **state)
{
    (void)state;
    int64_t parents[16] = {3, 0, 7};
    Event ev = obs_event(EV_CREATED, parents, 0);
    static const char *const selects[] = {
        "v1.1/Datastreams(3)/Observations?$select=result,phenomenonTime",
        "v1.1/+/Observations?$select=result,phenomenonTime", /* same topic for stream 3: once */
        "v1.1/Observations?$select=id, parameters ,nosuch",
        "v1.1/Datastreams(4)/Observations?$select=result",   /* another stream: nothing */
        "v1.1/Observations?$select=Datastream",
        "v1.1/Things?$select=name",                          /* another set: nothing */
        "no-select-mark",
        "?$select=result",
        "v1.1/Observations?$select=",
    };
    MqttMsgs m = {0};
    events_mqtt_messages(&ev, selects, COUNT(selects), &m);
    const MqttMsg *a = find(&m, "v1.1/Datastreams(3)/Observations?$select=result,phenomenonTime");
    assert_non_null(a);
    assert_string_equal(a->payload,
                        "{\"result\":{\"a\":[1,\"x,}]\"]},\"phenomenonTime\":"
                        "\"2024-01-01T00:00:00.000Z\"}");
    const MqttMsg *b =
        find(&m, "v1.1/FeaturesOfInterest(7)/Observations?$select=result,phenomenonTime");
    assert_non_null(b);
    assert_string_equal(b->payload, a->payload);
    const MqttMsg *c = find(&m, "v1.1/Observations?$select=id, parameters ,nosuch");
    assert_non_null(c);
    assert_string_equal(c->payload, "{\"@iot.id\":5,\"parameters\":{\"k\":\"v\\\"\"}}");
    const MqttMsg *d = find(&m, "v1.1/Observations?$select=Datastream");
    assert_non_null(d);
    assert_string_equal(d->payload, "{\"Datastream@iot.navigationLink\":"
                                    "\"http://h/v1.1/Observations(5)/Datastream\"}");
    /* 3 plain + 2 for the result,phenomenonTime list + id list + Datastream list. */
    assert_int_equal(m.n, 7);
    for (size_t i = 0; i < m.n; i++)
        for (size_t k = i + 1; k < m.n; k++)
            assert_string_not_equal(m.v[i].topic, m.v[k].topic);
    events_mqtt_msgs_fini(&m);
}

static void test_updated(void **state)
{
    (void)state;
    /* Observation props: phenomenonTime 0, resultTime 1, result 2, resultQuality 3. */
    int64_t parents[16] = {3, 0, 7};
    Event ev = obs_event(EV_UPDATED, parents, (1u << 2) | (1u << 1) | (1u << 3));
    static const char *const selects[] = {"v1.1/Observations?$select=result"};
    MqttMsgs m = {0};
    events_mqtt_messages(&ev, selects, COUNT(selects), &m);
    assert_int_equal(m.n, 4);
    const MqttMsg *e = find(&m, "v1.1/Observations(5)");
    assert_non_null(e);
    assert_string_equal(e->payload, OBS);
    const MqttMsg *r = find(&m, "v1.1/Observations(5)/result");
    assert_non_null(r);
    assert_string_equal(r->payload, "{\"result\":{\"a\":[1,\"x,}]\"]}}");
    const MqttMsg *t = find(&m, "v1.1/Observations(5)/resultTime");
    assert_non_null(t);
    assert_string_equal(t->payload, "{\"resultTime\":null}");
    /* A property the JSON leaves out is published as null. */
    const MqttMsg *q = find(&m, "v1.1/Observations(5)/resultQuality");
    assert_non_null(q);
    assert_string_equal(q->payload, "{\"resultQuality\":null}");
    assert_null(find(&m, "v1.1/Observations"));
    events_mqtt_msgs_fini(&m);

    Event del = {EV_DELETED, model_entity(ENT_THING), 1, NULL, 0, "v1.1", NULL, 0};
    events_mqtt_messages(&del, NULL, 0, &m);
    assert_int_equal(m.n, 0);
    events_mqtt_msgs_fini(&m);
}

/* ------------------------------------------------------------- classify */

static void test_classify(void **state)
{
    (void)state;
    static const struct {
        const char *topic;
        const char *payload;
        size_t len; /* 0 = strlen */
        MqttInKind kind;
        const char *path;
    } cases[] = {
        {"v1.1/Datastreams(1)/Observations", "{\"result\":1}", 0, MQTT_IN_CREATE,
         "/v1.1/Datastreams(1)/Observations"},
        {"v1.1/Observations", "{\"result\":1,\"Datastream\":{\"@iot.id\":1}}", 0,
         MQTT_IN_CREATE, "/v1.1/Observations"},
        {"v1.1/Observations", "{\"@iot.id\":9,\"result\":1}", 0, MQTT_IN_NOTIFICATION, NULL},
        {"v1.1/Observations", "not json", 0, MQTT_IN_CREATE, "/v1.1/Observations"},
        {"v1.1/Observations", "", 0, MQTT_IN_INVALID, NULL},
        {"v1.1/Observations", "{\"a\":\"\0\"}", 9, MQTT_IN_INVALID, NULL},
        {"v1.0/Observations", "{}", 0, MQTT_IN_INVALID, NULL},
        {"v1.1/Observations?$select=result", "{}", 0, MQTT_IN_INVALID, NULL},
    };
    for (size_t i = 0; i < COUNT(cases); i++) {
        char path[256] = "";
        const char *why = NULL;
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].payload);
        MqttInKind k =
            events_mqtt_classify(cases[i].topic, cases[i].payload, len, path, sizeof path, &why);
        assert_int_equal(k, cases[i].kind);
        if (k == MQTT_IN_INVALID)
            assert_non_null(why);
        if (cases[i].path)
            assert_string_equal(path, cases[i].path);
    }
    char small[8];
    const char *why = NULL;
    assert_int_equal(events_mqtt_classify("v1.1/Observations", "{}", 2, small, sizeof small, &why),
                     MQTT_IN_INVALID);
    assert_non_null(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_url),      cmocka_unit_test(test_member),
        cmocka_unit_test(test_created),  cmocka_unit_test(test_select),
        cmocka_unit_test(test_updated),  cmocka_unit_test(test_classify),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
