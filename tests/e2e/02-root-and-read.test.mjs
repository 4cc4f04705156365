// Service root, conformance, the full JSON of every entity type with its
// links, navigation paths, and links built from Host / X-Forwarded-* or the
// configured base URL.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
    test, startServer, getWithHeaders, assertEntity, fixtures, OT, ENTITY_SETS, UTC_MS,
} from './lib/harness.mjs';

const CONF = 'http://www.opengis.net/spec/iot_sensing/1.1/req/';

let s;
const g = {}; // ids of the graph
const bodies = {};

before(async () => {
    s = await startServer();
    bodies.thing = {
        name: 'Pegel Volme Hagen-Eckesey',
        description: 'Water level gauge on the Volme',
        properties: { owner: 'WBH', tags: ['water', 'level'], nested: { depth: 2, ok: true, none: null } },
        Locations: [{
            name: 'Volme bridge',
            description: 'Gauge at the Volme bridge',
            encodingType: 'application/geo+json',
            location: { type: 'Point', coordinates: [7.4631, 51.3541] },
            properties: { district: 'Mitte' },
        }],
    };
    const thing = await s.create('Things', bodies.thing);
    g.thing = thing['@iot.id'];
    const locs = await s.getJson(`Things(${g.thing})/Locations`);
    g.location = locs.value[0]['@iot.id'];
    const hls = await s.getJson(`Things(${g.thing})/HistoricalLocations`);
    g.hl = hls.value[0]['@iot.id'];
    bodies.sensor = { ...fixtures.sensor(1), properties: { vendor: 'OTT', model: 'RLS' } };
    g.sensor = (await s.create('Sensors', bodies.sensor))['@iot.id'];
    bodies.op = { ...fixtures.observedProperty(1), name: 'Wasserstand', properties: { kind: 'hydro' } };
    g.op = (await s.create('ObservedProperties', bodies.op))['@iot.id'];
    bodies.ds = {
        name: 'Wasserstand Volme',
        description: 'Water level of the Volme in cm',
        unitOfMeasurement: { name: 'Centimetre', symbol: 'cm', definition: 'http://unitsofmeasure.org/ucum.html#cm' },
        observationType: OT.measurement,
        properties: { interval: 'PT15M' },
        Thing: { '@iot.id': g.thing },
        Sensor: { '@iot.id': g.sensor },
        ObservedProperty: { '@iot.id': g.op },
    };
    g.ds = (await s.create('Datastreams', bodies.ds))['@iot.id'];
    bodies.foi = { ...fixtures.featureOfInterest(1, [7.4631, 51.3541]), properties: { river: 'Volme' } };
    g.foi = (await s.create('FeaturesOfInterest', bodies.foi))['@iot.id'];
    bodies.obs1 = {
        phenomenonTime: '2024-05-01T10:00:00.000Z',
        resultTime: '2024-05-01T10:00:05.000Z',
        validTime: '2024-05-01T10:00:00.000Z/2024-05-01T11:00:00.000Z',
        result: 21.5,
        resultQuality: 'good',
        parameters: { rssi: -70, gateway: 'gw-1' },
        Datastream: { '@iot.id': g.ds },
        FeatureOfInterest: { '@iot.id': g.foi },
    };
    g.obs1 = (await s.create('Observations', bodies.obs1))['@iot.id'];
    bodies.obs2 = {
        phenomenonTime: '2024-05-01T10:15:00.000Z',
        resultTime: '2024-05-01T10:15:05.000Z',
        result: 23,
        Datastream: { '@iot.id': g.ds },
        FeatureOfInterest: { '@iot.id': g.foi },
    };
    g.obs2 = (await s.create('Observations', bodies.obs2))['@iot.id'];
    g.thing2 = (await s.create('Things', fixtures.thing(2)))['@iot.id'];
});

after(async () => {
    if (s) assert.equal(await s.stop(), 0);
});

test('service root lists every entity set with absolute URLs, and the conformance classes', async () => {
    const r = await s.get('/v1.1');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    assert.deepEqual(Object.keys(r.json).sort(), ['serverSettings', 'value']);
    const names = r.json.value.map((v) => v.name).sort();
    assert.deepEqual(names, [...ENTITY_SETS].sort());
    for (const v of r.json.value) {
        assert.deepEqual(Object.keys(v).sort(), ['name', 'url']);
        assert.equal(v.url, `${s.root}/${v.name}`);
    }
    const conf = r.json.serverSettings.conformance;
    assert.ok(Array.isArray(conf));
    for (const c of ['datamodel', 'resource-path/resource-path-to-entities', 'request-data',
        'create-update-delete', 'multi-datastream', 'data-array/data-array',
        'batch-request/batch-request']) {
        assert.ok(conf.includes(CONF + c), `conformance lists ${c}: ${JSON.stringify(conf)}`);
    }
    // not implemented in this version -> must not be claimed
    for (const c of [
        'create-observations-via-mqtt/observations-creation', 'receive-updates-via-mqtt/receive-updates']) {
        assert.ok(!conf.includes(CONF + c), `conformance must not claim ${c}`);
    }
    assert.equal(new Set(conf).size, conf.length, 'no duplicates');
});

test('Thing: full JSON with properties and links', async () => {
    const r = await s.get(`Things(${g.thing})`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    assertEntity(assert, r.json, 'Things', g.thing, {
        name: bodies.thing.name, description: bodies.thing.description, properties: bodies.thing.properties,
    }, { base: s.root });
});

test('Thing without properties: properties absent or null', async () => {
    const r = await s.get(`Things(${g.thing2})`);
    assert.equal(r.status, 200);
    assertEntity(assert, r.json, 'Things', g.thing2, { name: 'Thing 2', description: 'Description of thing 2' }, { base: s.root });
});

test('Location: full JSON', async () => {
    const r = await s.get(`Locations(${g.location})`);
    assert.equal(r.status, 200);
    const l = bodies.thing.Locations[0];
    assertEntity(assert, r.json, 'Locations', g.location, {
        name: l.name, description: l.description, encodingType: l.encodingType, location: l.location, properties: l.properties,
    }, { base: s.root });
});

test('HistoricalLocation: full JSON, time in UTC', async () => {
    const r = await s.get(`HistoricalLocations(${g.hl})`);
    assert.equal(r.status, 200);
    assertEntity(assert, r.json, 'HistoricalLocations', g.hl, {}, { base: s.root });
    assert.match(r.json.time, UTC_MS);
});

test('Sensor: full JSON', async () => {
    const r = await s.get(`Sensors(${g.sensor})`);
    assert.equal(r.status, 200);
    const { name, description, encodingType, metadata, properties } = bodies.sensor;
    assertEntity(assert, r.json, 'Sensors', g.sensor, { name, description, encodingType, metadata, properties }, { base: s.root });
});

test('ObservedProperty: full JSON', async () => {
    const r = await s.get(`ObservedProperties(${g.op})`);
    assert.equal(r.status, 200);
    const { name, definition, description, properties } = bodies.op;
    assertEntity(assert, r.json, 'ObservedProperties', g.op, { name, definition, description, properties }, { base: s.root });
});

test('Datastream: full JSON incl. phenomenonTime/resultTime extent of its observations', async () => {
    const r = await s.get(`Datastreams(${g.ds})`);
    assert.equal(r.status, 200);
    const { name, description, unitOfMeasurement, observationType, properties } = bodies.ds;
    assertEntity(assert, r.json, 'Datastreams', g.ds, {
        name, description, unitOfMeasurement, observationType, properties,
        phenomenonTime: '2024-05-01T10:00:00.000Z/2024-05-01T10:15:00.000Z',
        resultTime: '2024-05-01T10:00:05.000Z/2024-05-01T10:15:05.000Z',
    }, { base: s.root, ignore: ['observedArea'] });
});

test('FeatureOfInterest: full JSON', async () => {
    const r = await s.get(`FeaturesOfInterest(${g.foi})`);
    assert.equal(r.status, 200);
    const { name, description, encodingType, feature, properties } = bodies.foi;
    assertEntity(assert, r.json, 'FeaturesOfInterest', g.foi, { name, description, encodingType, feature, properties }, { base: s.root });
});

test('Observation: full JSON with parameters, validTime, resultQuality', async () => {
    const r = await s.get(`Observations(${g.obs1})`);
    assert.equal(r.status, 200);
    const { phenomenonTime, resultTime, validTime, result, resultQuality, parameters } = bodies.obs1;
    assertEntity(assert, r.json, 'Observations', g.obs1,
        { phenomenonTime, resultTime, validTime, result, resultQuality, parameters },
        { base: s.root, requireNav: ['Datastream'] });
    const r2 = await s.get(`Observations(${g.obs2})`);
    assertEntity(assert, r2.json, 'Observations', g.obs2,
        { phenomenonTime: bodies.obs2.phenomenonTime, resultTime: bodies.obs2.resultTime, result: 23 },
        { base: s.root, requireNav: ['Datastream'] });
});

test('collections: value array of the same entity JSON, no count or nextLink unless asked', async () => {
    for (const [set, id] of [['Things', g.thing], ['Locations', g.location], ['HistoricalLocations', g.hl],
        ['Sensors', g.sensor], ['ObservedProperties', g.op], ['Datastreams', g.ds],
        ['FeaturesOfInterest', g.foi], ['Observations', g.obs1]]) {
        const c = await s.get(set);
        assert.equal(c.status, 200, set);
        assert.deepEqual(Object.keys(c.json), ['value'], `${set}: only "value" expected: ${c.text}`);
        const one = await s.getJson(`${set}(${id})`);
        const inList = c.json.value.find((e) => e['@iot.id'] === id);
        assert.deepEqual(inList, one, `${set}(${id}) in the collection equals the entity`);
    }
    const md = await s.get('MultiDatastreams');
    assert.equal(md.status, 200);
    assert.deepEqual(md.json, { value: [] });
});

test('navigation paths to collections and single entities', async () => {
    const ids = async (p) => {
        const r = await s.get(p);
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        assert.ok(Array.isArray(r.json.value), `${p}: value array`);
        return r.json.value.map((e) => e['@iot.id']).sort((a, b) => a - b);
    };
    const one = async (p, set, id) => {
        const r = await s.get(p);
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        assert.equal(r.json['@iot.id'], id, p);
        assert.equal(r.json['@iot.selfLink'], s.link(`${set}(${id})`), `${p}: canonical selfLink`);
        assert.deepEqual(r.json, await s.getJson(`${set}(${id})`), `${p} equals ${set}(${id})`);
    };
    const obs = [g.obs1, g.obs2].sort((a, b) => a - b);
    assert.deepEqual(await ids(`Things(${g.thing})/Locations`), [g.location]);
    assert.deepEqual(await ids(`Things(${g.thing})/HistoricalLocations`), [g.hl]);
    assert.deepEqual(await ids(`Things(${g.thing})/Datastreams`), [g.ds]);
    assert.deepEqual(await ids(`Things(${g.thing})/MultiDatastreams`), []);
    assert.deepEqual(await ids(`Things(${g.thing2})/Datastreams`), []);
    assert.deepEqual(await ids(`Locations(${g.location})/Things`), [g.thing]);
    assert.deepEqual(await ids(`Locations(${g.location})/HistoricalLocations`), [g.hl]);
    assert.deepEqual(await ids(`HistoricalLocations(${g.hl})/Locations`), [g.location]);
    await one(`HistoricalLocations(${g.hl})/Thing`, 'Things', g.thing);
    await one(`Datastreams(${g.ds})/Thing`, 'Things', g.thing);
    await one(`Datastreams(${g.ds})/Sensor`, 'Sensors', g.sensor);
    await one(`Datastreams(${g.ds})/ObservedProperty`, 'ObservedProperties', g.op);
    assert.deepEqual(await ids(`Datastreams(${g.ds})/Observations`), obs);
    assert.deepEqual(await ids(`Sensors(${g.sensor})/Datastreams`), [g.ds]);
    assert.deepEqual(await ids(`Sensors(${g.sensor})/MultiDatastreams`), []);
    assert.deepEqual(await ids(`ObservedProperties(${g.op})/Datastreams`), [g.ds]);
    await one(`Observations(${g.obs1})/Datastream`, 'Datastreams', g.ds);
    await one(`Observations(${g.obs1})/FeatureOfInterest`, 'FeaturesOfInterest', g.foi);
    assert.deepEqual(await ids(`FeaturesOfInterest(${g.foi})/Observations`), obs);
});

test('multi-level navigation paths', async () => {
    const r1 = await s.getJson(`Things(${g.thing})/Datastreams(${g.ds})/Observations`);
    assert.deepEqual(r1.value.map((e) => e['@iot.id']).sort((a, b) => a - b), [g.obs1, g.obs2].sort((a, b) => a - b));
    const r2 = await s.getJson(`Datastreams(${g.ds})/Thing/Locations`);
    assert.deepEqual(r2.value.map((e) => e['@iot.id']), [g.location]);
    const r3 = await s.getJson(`Observations(${g.obs1})/Datastream/Thing`);
    assert.equal(r3['@iot.id'], g.thing);
    assert.equal(r3['@iot.selfLink'], s.link(`Things(${g.thing})`));
    const r4 = await s.getJson(`Things(${g.thing})/Datastreams(${g.ds})`);
    assert.deepEqual(r4, await s.getJson(`Datastreams(${g.ds})`));
    const r5 = await s.getJson(`Things(${g.thing})/Datastreams(${g.ds})/Sensor`);
    assert.equal(r5['@iot.id'], g.sensor);
    // an entity that exists but is not related along the path
    const r6 = await s.get(`Things(${g.thing2})/Datastreams(${g.ds})`);
    assert.equal(r6.status, 404, r6.text);
    const r7 = await s.get(`Things(${g.thing2})/Datastreams(${g.ds})/Observations`);
    assert.equal(r7.status, 404, r7.text);
});

test('property, $value and $ref paths', async () => {
    let r = await s.get(`Things(${g.thing})/name`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { name: bodies.thing.name });
    r = await s.get(`Things(${g.thing})/name/$value`);
    assert.equal(r.status, 200);
    assert.equal(r.text, bodies.thing.name);
    assert.match(r.headers.get('content-type') || '', /^text\/plain/);
    r = await s.get(`Things(${g.thing})/properties`);
    assert.deepEqual(r.json, { properties: bodies.thing.properties });
    r = await s.get(`Locations(${g.location})/location`);
    assert.deepEqual(r.json, { location: bodies.thing.Locations[0].location });
    r = await s.get(`Locations(${g.location})/location/$value`);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.text), bodies.thing.Locations[0].location);
    r = await s.get(`Observations(${g.obs1})/result`);
    assert.deepEqual(r.json, { result: 21.5 });
    r = await s.get(`Observations(${g.obs1})/result/$value`);
    assert.equal(r.text, '21.5');
    r = await s.get(`Observations(${g.obs1})/phenomenonTime/$value`);
    assert.equal(r.text, '2024-05-01T10:00:00.000Z');
    r = await s.get(`Datastreams(${g.ds})/unitOfMeasurement`);
    assert.deepEqual(r.json, { unitOfMeasurement: bodies.ds.unitOfMeasurement });
    r = await s.get(`Datastreams(${g.ds})/Thing/name`);
    assert.deepEqual(r.json, { name: bodies.thing.name });
    r = await s.get(`Observations(${g.obs1})/parameters`);
    assert.deepEqual(r.json, { parameters: bodies.obs1.parameters });

    r = await s.get(`Things(${g.thing})/Datastreams/$ref`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { value: [{ '@iot.selfLink': s.link(`Datastreams(${g.ds})`) }] });
    r = await s.get(`Datastreams(${g.ds})/Thing/$ref`);
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { '@iot.selfLink': s.link(`Things(${g.thing})`) });
    r = await s.get('Things/$ref');
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.value.map((v) => v['@iot.selfLink']).sort(),
        [s.link(`Things(${g.thing})`), s.link(`Things(${g.thing2})`)].sort());
    for (const v of r.json.value) assert.deepEqual(Object.keys(v), ['@iot.selfLink']);
});

test('links follow the Host header', async () => {
    const r = await getWithHeaders(s, `/v1.1/Things(${g.thing})`, { Host: 'sta.example.com:8443' });
    assert.equal(r.status, 200);
    const base = 'http://sta.example.com:8443/v1.1';
    assertEntity(assert, r.json, 'Things', g.thing, { name: bodies.thing.name }, { base, partial: true });
    const root = await getWithHeaders(s, '/v1.1', { Host: 'sta.example.com:8443' });
    for (const v of root.json.value) assert.equal(v.url, `${base}/${v.name}`);
    const ref = await getWithHeaders(s, `/v1.1/Datastreams(${g.ds})/Thing/$ref`, { Host: 'sta.example.com:8443' });
    assert.deepEqual(ref.json, { '@iot.selfLink': `${base}/Things(${g.thing})` });
});

test('X-Forwarded-Proto and X-Forwarded-Host override scheme and host', async () => {
    let r = await getWithHeaders(s, `/v1.1/Datastreams(${g.ds})`, {
        Host: '127.0.0.1:9', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'proxy.example.org',
    });
    assert.equal(r.status, 200);
    assertEntity(assert, r.json, 'Datastreams', g.ds, { name: bodies.ds.name },
        { base: 'https://proxy.example.org/v1.1', partial: true });
    r = await getWithHeaders(s, `/v1.1/Things(${g.thing})`, { Host: 'inner.example.net:8080', 'X-Forwarded-Proto': 'https' });
    assertEntity(assert, r.json, 'Things', g.thing, {}, { base: 'https://inner.example.net:8080/v1.1', partial: true });
    r = await getWithHeaders(s, `/v1.1/Things(${g.thing})`, { Host: 'inner.example.net:8080', 'X-Forwarded-Host': 'outer.example.net' });
    assertEntity(assert, r.json, 'Things', g.thing, {}, { base: 'http://outer.example.net/v1.1', partial: true });
    r = await getWithHeaders(s, '/v1.1/Things?$top=1', { Host: 'x', 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'p.example.org' });
    assert.ok(r.json['@iot.nextLink'].startsWith('https://p.example.org/v1.1/Things?'), r.json['@iot.nextLink']);
    // the POST Location header too
    const body = JSON.stringify(fixtures.thing(99));
    const raw = await s.raw([
        'POST /v1.1/Things HTTP/1.1', 'Host: 127.0.0.1:9', 'X-Forwarded-Proto: https',
        'X-Forwarded-Host: proxy.example.org', 'Content-Type: application/json',
        `Content-Length: ${Buffer.byteLength(body)}`, 'Connection: close', '', body,
    ].join('\r\n'));
    assert.equal(raw.status, 201);
    const id = raw.json['@iot.id'];
    assert.equal(raw.headers.get('location'), `https://proxy.example.org/v1.1/Things(${id})`);
    assert.equal(raw.json['@iot.selfLink'], `https://proxy.example.org/v1.1/Things(${id})`);
    assert.equal((await s.del(`Things(${id})`)).status, 200);
});

for (const baseUrl of ['https://data.example.org/sta', 'https://data.example.org/sta/']) {
    test(`--base-url ${baseUrl}: every link starts with https://data.example.org/sta/v1.1/`, async () => {
        const b = await startServer({ args: ['--base-url', baseUrl] });
        try {
            const base = 'https://data.example.org/sta/v1.1';
            const root = await b.getJson('/v1.1');
            for (const v of root.value) assert.equal(v.url, `${base}/${v.name}`);
            const created = await b.post('Things', fixtures.thing(1));
            assert.equal(created.status, 201);
            const id = created.json['@iot.id'];
            assert.equal(created.headers.get('location'), `${base}/Things(${id})`);
            assertEntity(assert, created.json, 'Things', id, { name: 'Thing 1' }, { base });
            // the configured URL wins over Host and X-Forwarded-*
            const r = await getWithHeaders(b, `/v1.1/Things(${id})`, {
                Host: 'other.example.com', 'X-Forwarded-Proto': 'http', 'X-Forwarded-Host': 'proxy.example.com',
            });
            assertEntity(assert, r.json, 'Things', id, { name: 'Thing 1' }, { base });
            await b.create('Things', fixtures.thing(2));
            const page = await b.getJson('Things?$top=1');
            assert.ok(page['@iot.nextLink'].startsWith(`${base}/Things?`), page['@iot.nextLink']);
            const ref = await b.getJson('Things/$ref');
            for (const v of ref.value) assert.match(v['@iot.selfLink'], /^https:\/\/data\.example\.org\/sta\/v1\.1\/Things\(\d+\)$/);
        } finally {
            assert.equal(await b.stop(), 0);
        }
    });
}

test('properties that are null or unset: 200 {"p": null} or 204; $value of null: 204', async () => {
    let r = await s.get(`Observations(${g.obs2})/resultQuality`);
    assert.ok(r.status === 204 || (r.status === 200 && r.text !== '' && JSON.stringify(r.json) === '{"resultQuality":null}'),
        `unset resultQuality: ${r.status} ${r.text}`);
    r = await s.get(`Things(${g.thing2})/properties`);
    assert.ok(r.status === 204 || (r.status === 200 && JSON.stringify(r.json) === '{"properties":null}'), `unset properties: ${r.status} ${r.text}`);
    const o = await s.create('Observations', { result: 1, phenomenonTime: '2024-05-02T00:00:00Z', Datastream: { '@iot.id': g.ds }, FeatureOfInterest: { '@iot.id': g.foi } });
    r = await s.get(`Observations(${o['@iot.id']})/resultTime`);
    assert.equal(r.status, 200, 'mandatory resultTime: 200 even when null');
    assert.deepEqual(r.json, { resultTime: null });
    r = await s.get(`Observations(${o['@iot.id']})/resultTime/$value`);
    assert.equal(r.status, 204);
    assert.equal(r.text, '');
    assert.equal((await s.del(`Observations(${o['@iot.id']})`)).status, 200);
});

test('$value of object-valued properties is JSON, of others raw text', async () => {
    let r = await s.get(`Things(${g.thing})/properties/$value`);
    assert.equal(r.status, 200);
    assert.equal(r.text.indexOf('{'), 0);
    assert.deepEqual(JSON.parse(r.text), bodies.thing.properties);
    r = await s.get(`Datastreams(${g.ds})/unitOfMeasurement/$value`);
    assert.deepEqual(JSON.parse(r.text), bodies.ds.unitOfMeasurement);
    r = await s.get(`Datastreams(${g.ds})/observationType/$value`);
    assert.equal(r.text, OT.measurement);
    r = await s.get(`Observations(${g.obs2})/result/$value`);
    assert.equal(r.text, '23');
    r = await s.get(`HistoricalLocations(${g.hl})/time/$value`);
    assert.match(r.text, UTC_MS);
});

test('resource paths four levels deep with ids on every plural segment, and their $ref', async () => {
    const paths = [
        [`Things(${g.thing})/Datastreams(${g.ds})/Observations(${g.obs1})/FeatureOfInterest`, 'FeaturesOfInterest', g.foi],
        [`Locations(${g.location})/Things(${g.thing})/HistoricalLocations(${g.hl})/Thing`, 'Things', g.thing],
        [`Datastreams(${g.ds})/Thing/Datastreams(${g.ds})/Sensor`, 'Sensors', g.sensor],
        [`Observations(${g.obs1})/FeatureOfInterest/Observations(${g.obs2})/Datastream`, 'Datastreams', g.ds],
    ];
    for (const [p, set, id] of paths) {
        const r = await s.get(p);
        assert.equal(r.status, 200, `${p}: ${r.text}`);
        assert.equal(r.json['@iot.id'], id, p);
        const ref = await s.get(`${p}/$ref`);
        assert.equal(ref.status, 200, `${p}/$ref`);
        assert.deepEqual(ref.json, { '@iot.selfLink': s.link(`${set}(${id})`) });
    }
    const c = await s.getJson(`Things(${g.thing})/Datastreams(${g.ds})/Sensor/Datastreams`);
    assert.deepEqual(c.value.map((d) => d['@iot.id']), [g.ds]);
    const c2 = await s.getJson(`HistoricalLocations(${g.hl})/Thing/HistoricalLocations`);
    assert.deepEqual(c2.value.map((d) => d['@iot.id']), [g.hl]);
    const bad = await s.get(`Locations(${g.location})/Things(${g.thing2})/HistoricalLocations`);
    assert.equal(bad.status, 404, 'Thing 2 is not at that Location');
});
