// Create: POST of every entity type, Location header, deep insert, linking
// by @iot.id, POST through navigation paths, FeatureOfInterest generated
// from the Thing's Location, HistoricalLocation on every Location change,
// phenomenonTime defaulting to the server time.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, assertEntity, fixtures, OT, UTC_MS, countAll } from './lib/harness.mjs';

let s;
before(async () => { s = await startServer(); });
after(async () => { if (s) assert.equal(await s.stop(), 0); });

// POSTs and checks 201, Location header == selfLink, body == GET.
async function postCheck(set, body, expected, opts = {}) {
    const r = await s.post(set, body);
    assert.equal(r.status, 201, `POST ${set}: ${r.text}`);
    const id = r.json['@iot.id'];
    assert.equal(typeof id, 'number');
    assert.ok(Number.isInteger(id) && id > 0, `integer id: ${id}`);
    assert.equal(r.headers.get('location'), s.link(`${set}(${id})`), 'Location header');
    assertEntity(assert, r.json, set, id, expected, { base: s.root, ...opts });
    const g = await s.get(`${set}(${id})`);
    assert.equal(g.status, 200);
    assert.deepEqual(g.json, r.json, 'GET returns what POST returned');
    return r.json;
}

const within = (iso, ms = 120000) => Math.abs(Date.parse(iso) - Date.now()) < ms;

test('POST each entity type: 201, Location header, full entity in the body', async () => {
    const thing = await postCheck('Things', { name: 'T', description: 'd', properties: { a: [1, 2, { b: 'c' }] } },
        { name: 'T', description: 'd', properties: { a: [1, 2, { b: 'c' }] } });
    const loc = fixtures.location(1);
    const location = await postCheck('Locations', loc, loc);
    const sen = fixtures.sensor(1);
    const sensor = await postCheck('Sensors', sen, sen);
    const opb = fixtures.observedProperty(1);
    const op = await postCheck('ObservedProperties', opb, opb);
    const foib = { ...fixtures.featureOfInterest(1), properties: { k: 'v' } };
    const foi = await postCheck('FeaturesOfInterest', foib, foib);
    const dsb = fixtures.datastream(1, thing['@iot.id'], sensor['@iot.id'], op['@iot.id']);
    const { Thing, Sensor, ObservedProperty, ...dsProps } = dsb;
    void Thing; void Sensor; void ObservedProperty;
    const ds = await postCheck('Datastreams', dsb, dsProps, { ignore: ['observedArea', 'phenomenonTime', 'resultTime'] });
    const obs = await postCheck('Observations', {
        phenomenonTime: '2024-01-01T00:00:00.000Z', result: 1.25,
        Datastream: { '@iot.id': ds['@iot.id'] }, FeatureOfInterest: { '@iot.id': foi['@iot.id'] },
    }, { phenomenonTime: '2024-01-01T00:00:00.000Z', result: 1.25, resultTime: null }, { requireNav: ['Datastream'] });
    const hl = await postCheck('HistoricalLocations', {
        time: '2024-02-01T12:00:00.000Z', Thing: { '@iot.id': thing['@iot.id'] }, Locations: [{ '@iot.id': location['@iot.id'] }],
    }, { time: '2024-02-01T12:00:00.000Z' });
    // relations were made
    assert.equal((await s.getJson(`Datastreams(${ds['@iot.id']})/Thing`))['@iot.id'], thing['@iot.id']);
    assert.equal((await s.getJson(`Datastreams(${ds['@iot.id']})/Sensor`))['@iot.id'], sensor['@iot.id']);
    assert.equal((await s.getJson(`Datastreams(${ds['@iot.id']})/ObservedProperty`))['@iot.id'], op['@iot.id']);
    assert.equal((await s.getJson(`Observations(${obs['@iot.id']})/Datastream`))['@iot.id'], ds['@iot.id']);
    assert.equal((await s.getJson(`Observations(${obs['@iot.id']})/FeatureOfInterest`))['@iot.id'], foi['@iot.id']);
    assert.equal((await s.getJson(`HistoricalLocations(${hl['@iot.id']})/Thing`))['@iot.id'], thing['@iot.id']);
    assert.deepEqual((await s.getJson(`HistoricalLocations(${hl['@iot.id']})/Locations`)).value.map((e) => e['@iot.id']), [location['@iot.id']]);
});

test('result types per observationType are stored and returned as sent', async () => {
    const cases = [
        [OT.measurement, [0, -3.5, 1e-7, 123456789.125]],
        [OT.count, [0, 42, -7]],
        [OT.truth, [true, false]],
        [OT.category, ['http://example.org/category/full', 'https://example.org/c#x']],
        [OT.observation, ['free text', 3, { a: 1, b: [true, null] }, [1, 'two'], null]],
    ];
    let n = 100;
    for (const [ot, results] of cases) {
        const thing = await s.create('Things', { ...fixtures.thing(n), Locations: [fixtures.location(n)] });
        const sensor = await s.create('Sensors', fixtures.sensor(n));
        const op = await s.create('ObservedProperties', fixtures.observedProperty(n));
        const ds = await s.create('Datastreams', fixtures.datastream(n, thing['@iot.id'], sensor['@iot.id'], op['@iot.id'], { observationType: ot }));
        n++;
        for (const result of results) {
            const r = await s.post('Observations', { result, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': ds['@iot.id'] } });
            assert.equal(r.status, 201, `${ot} result ${JSON.stringify(result)}: ${r.text}`);
            assert.deepEqual(r.json.result, result);
            const g = await s.getJson(`Observations(${r.json['@iot.id']})`);
            assert.deepEqual(g.result, result, `${ot} result ${JSON.stringify(result)} read back`);
        }
    }
});

test('deep insert: Thing with Locations and Datastreams with Sensor, ObservedProperty, Observations and FeatureOfInterest', async () => {
    const before = await countAll(s);
    const body = {
        name: 'Klimastation Rathaus',
        description: 'Climate station at the town hall',
        properties: { dept: 'FB 15' },
        Locations: [fixtures.location(7, [7.4715, 51.3594])],
        Datastreams: [
            {
                name: 'Lufttemperatur', description: 'Air temperature',
                unitOfMeasurement: { name: 'Degree Celsius', symbol: '°C', definition: 'http://unitsofmeasure.org/ucum.html#Cel' },
                observationType: OT.measurement,
                Sensor: fixtures.sensor(7),
                ObservedProperty: fixtures.observedProperty(7),
                Observations: [
                    { phenomenonTime: '2024-06-01T12:00:00.000Z', result: 24.5, FeatureOfInterest: fixtures.featureOfInterest(7) },
                    { phenomenonTime: '2024-06-01T12:10:00.000Z', result: 24.75 },
                ],
            },
            {
                name: 'Luftfeuchte', description: 'Relative humidity',
                unitOfMeasurement: { name: 'Percent', symbol: '%', definition: 'http://unitsofmeasure.org/ucum.html#%' },
                observationType: OT.measurement,
                Sensor: fixtures.sensor(8),
                ObservedProperty: fixtures.observedProperty(8),
            },
        ],
    };
    const r = await s.post('Things', body);
    assert.equal(r.status, 201, r.text);
    const tid = r.json['@iot.id'];
    assert.equal(r.headers.get('location'), s.link(`Things(${tid})`));
    assertEntity(assert, r.json, 'Things', tid, { name: body.name, description: body.description, properties: body.properties }, { base: s.root });
    const after = await countAll(s);
    assert.deepEqual(after, {
        ...before,
        Things: before.Things + 1,
        Locations: before.Locations + 1,
        HistoricalLocations: before.HistoricalLocations + 1,
        Datastreams: before.Datastreams + 2,
        Sensors: before.Sensors + 2,
        ObservedProperties: before.ObservedProperties + 2,
        Observations: before.Observations + 2,
        // the second observation has no FoI: it gets one generated from the
        // Thing's Location, so there are two new features
        FeaturesOfInterest: before.FeaturesOfInterest + 2,
    });
    const locs = await s.getJson(`Things(${tid})/Locations`);
    assert.equal(locs.value.length, 1);
    assert.deepEqual(locs.value[0].location, body.Locations[0].location);
    const dss = await s.getJson(`Things(${tid})/Datastreams?$orderby=name asc`);
    assert.deepEqual(dss.value.map((d) => d.name), ['Lufttemperatur', 'Luftfeuchte'].sort());
    const temp = dss.value.find((d) => d.name === 'Lufttemperatur');
    assert.equal((await s.getJson(`Datastreams(${temp['@iot.id']})/Sensor`)).name, 'Sensor 7');
    assert.equal((await s.getJson(`Datastreams(${temp['@iot.id']})/ObservedProperty`)).name, 'Property 7');
    const obs = await s.getJson(`Datastreams(${temp['@iot.id']})/Observations?$orderby=phenomenonTime asc`);
    assert.deepEqual(obs.value.map((o) => o.result), [24.5, 24.75]);
    const f1 = await s.getJson(`Observations(${obs.value[0]['@iot.id']})/FeatureOfInterest`);
    assert.equal(f1.name, 'Feature 7');
    assert.deepEqual(f1.feature, body.Datastreams[0].Observations[0].FeatureOfInterest.feature);
    const f2 = await s.getJson(`Observations(${obs.value[1]['@iot.id']})/FeatureOfInterest`);
    assert.deepEqual(f2.feature, body.Locations[0].location, 'generated FoI from the Location');
    const hl = await s.getJson(`Things(${tid})/HistoricalLocations`);
    assert.equal(hl.value.length, 1);
    assert.ok(within(hl.value[0].time), `HistoricalLocation time is now: ${hl.value[0].time}`);
    assert.deepEqual((await s.getJson(`HistoricalLocations(${hl.value[0]['@iot.id']})/Locations`)).value.map((l) => l['@iot.id']),
        [locs.value[0]['@iot.id']]);
});

test('deep insert: Datastream with inline Thing, Sensor, ObservedProperty; Observation with inline FeatureOfInterest', async () => {
    const r = await s.post('Datastreams', {
        ...fixtures.datastream(20, 0, 0, 0),
        Thing: { ...fixtures.thing(20), Locations: [fixtures.location(20)] },
        Sensor: fixtures.sensor(20),
        ObservedProperty: fixtures.observedProperty(20),
        Observations: [{ phenomenonTime: '2024-01-01T00:00:00Z', result: 5 }],
    });
    assert.equal(r.status, 201, r.text);
    const id = r.json['@iot.id'];
    assert.equal((await s.getJson(`Datastreams(${id})/Thing`)).name, 'Thing 20');
    assert.equal((await s.getJson(`Datastreams(${id})/Thing/Locations`)).value.length, 1);
    assert.equal((await s.getJson(`Datastreams(${id})/Thing/HistoricalLocations`)).value.length, 1);
    assert.equal((await s.getJson(`Datastreams(${id})/Sensor`)).name, 'Sensor 20');
    assert.equal((await s.getJson(`Datastreams(${id})/ObservedProperty`)).name, 'Property 20');
    assert.deepEqual((await s.getJson(`Datastreams(${id})/Observations`)).value.map((o) => o.result), [5]);
    const o = await s.post('Observations', {
        result: 6, phenomenonTime: '2024-01-01T00:01:00Z', Datastream: { '@iot.id': id },
        FeatureOfInterest: fixtures.featureOfInterest(21, [1, 2]),
    });
    assert.equal(o.status, 201, o.text);
    const f = await s.getJson(`Observations(${o.json['@iot.id']})/FeatureOfInterest`);
    assert.equal(f.name, 'Feature 21');
    assert.deepEqual(f.feature, { type: 'Point', coordinates: [1, 2] });
});

test('linking existing entities by @iot.id', async () => {
    const l1 = await s.create('Locations', fixtures.location(30));
    const l2 = await s.create('Locations', fixtures.location(31));
    const t = await s.create('Things', { ...fixtures.thing(30), Locations: [{ '@iot.id': l1['@iot.id'] }, { '@iot.id': l2['@iot.id'] }] });
    const locs = await s.getJson(`Things(${t['@iot.id']})/Locations`);
    assert.deepEqual(locs.value.map((l) => l['@iot.id']).sort((a, b) => a - b), [l1['@iot.id'], l2['@iot.id']].sort((a, b) => a - b));
    const hl = await s.getJson(`Things(${t['@iot.id']})/HistoricalLocations`);
    assert.equal(hl.value.length, 1, 'one HistoricalLocation for the initial Locations');
    const hll = await s.getJson(`HistoricalLocations(${hl.value[0]['@iot.id']})/Locations`);
    assert.equal(hll.value.length, 2, 'the HistoricalLocation names both Locations');
    // Location linked to an existing Thing
    const t2 = await s.create('Things', fixtures.thing(32));
    const l3 = await s.create('Locations', { ...fixtures.location(32), Things: [{ '@iot.id': t2['@iot.id'] }] });
    assert.deepEqual((await s.getJson(`Things(${t2['@iot.id']})/Locations`)).value.map((l) => l['@iot.id']), [l3['@iot.id']]);
    const hl2 = await s.getJson(`Things(${t2['@iot.id']})/HistoricalLocations`);
    assert.equal(hl2.value.length, 1, 'linking a new Location to a Thing creates a HistoricalLocation');
    assert.deepEqual((await s.getJson(`HistoricalLocations(${hl2.value[0]['@iot.id']})/Locations`)).value.map((l) => l['@iot.id']), [l3['@iot.id']]);
});

test('POST through navigation paths links to the parent', async () => {
    const t = await s.create('Things', { ...fixtures.thing(40), Locations: [fixtures.location(40)] });
    const tid = t['@iot.id'];
    const sensor = await s.create('Sensors', fixtures.sensor(40));
    const op = await s.create('ObservedProperties', fixtures.observedProperty(40));
    const r = await s.post(`Things(${tid})/Datastreams`, {
        name: 'DS via Thing', description: 'x', unitOfMeasurement: fixtures.uom(40), observationType: OT.measurement,
        Sensor: { '@iot.id': sensor['@iot.id'] }, ObservedProperty: { '@iot.id': op['@iot.id'] },
    });
    assert.equal(r.status, 201, r.text);
    const dsid = r.json['@iot.id'];
    assert.equal(r.headers.get('location'), s.link(`Datastreams(${dsid})`));
    assert.equal((await s.getJson(`Datastreams(${dsid})/Thing`))['@iot.id'], tid);
    const o = await s.post(`Datastreams(${dsid})/Observations`, { result: 3.5, phenomenonTime: '2024-01-01T00:00:00Z' });
    assert.equal(o.status, 201, o.text);
    assert.equal(o.headers.get('location'), s.link(`Observations(${o.json['@iot.id']})`));
    assert.equal((await s.getJson(`Observations(${o.json['@iot.id']})/Datastream`))['@iot.id'], dsid);
    const hlBefore = (await s.getJson(`Things(${tid})/HistoricalLocations`)).value.length;
    const l = await s.post(`Things(${tid})/Locations`, fixtures.location(41));
    assert.equal(l.status, 201, l.text);
    assert.equal((await s.getJson(`Locations(${l.json['@iot.id']})/Things`)).value[0]['@iot.id'], tid);
    const hl = await s.getJson(`Things(${tid})/HistoricalLocations`);
    assert.equal(hl.value.length, hlBefore + 1, 'new Location of the Thing -> new HistoricalLocation');
    const foi = await s.create('FeaturesOfInterest', fixtures.featureOfInterest(42));
    const o2 = await s.post(`FeaturesOfInterest(${foi['@iot.id']})/Observations`, {
        result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': dsid },
    });
    assert.equal(o2.status, 201, o2.text);
    assert.equal((await s.getJson(`Observations(${o2.json['@iot.id']})/FeatureOfInterest`))['@iot.id'], foi['@iot.id']);
    // POST to a navigation path of a missing parent
    const bad = await s.post('Datastreams(987654)/Observations', { result: 1, phenomenonTime: '2024-01-01T00:00:00Z' });
    assert.ok(bad.status === 404 || bad.status === 400, `missing parent: ${bad.status}`);
});

test('FeatureOfInterest generated from the Thing\'s Location, reused, and renewed when the Location changes', async () => {
    const t = await s.create('Things', { ...fixtures.thing(50), Locations: [fixtures.location(50, [7.1, 51.1])] });
    const tid = t['@iot.id'];
    const loc = (await s.getJson(`Things(${tid})/Locations`)).value[0];
    const sensor = await s.create('Sensors', fixtures.sensor(50));
    const op = await s.create('ObservedProperties', fixtures.observedProperty(50));
    const ds = await s.create('Datastreams', fixtures.datastream(50, tid, sensor['@iot.id'], op['@iot.id']));
    const foiBefore = await s.count('FeaturesOfInterest');
    const o1 = await s.create('Observations', { result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': ds['@iot.id'] } });
    const f1 = await s.getJson(`Observations(${o1['@iot.id']})/FeatureOfInterest`);
    assert.deepEqual(f1.feature, loc.location);
    assert.equal(f1.encodingType, loc.encodingType);
    assert.equal(await s.count('FeaturesOfInterest'), foiBefore + 1);
    const o2 = await s.create('Observations', { result: 2, phenomenonTime: '2024-01-01T00:01:00Z', Datastream: { '@iot.id': ds['@iot.id'] } });
    const f2 = await s.getJson(`Observations(${o2['@iot.id']})/FeatureOfInterest`);
    assert.equal(f2['@iot.id'], f1['@iot.id'], 'the generated FoI is reused while the Location is unchanged');
    assert.equal(await s.count('FeaturesOfInterest'), foiBefore + 1);
    // move the Thing
    const newLoc = await s.create('Locations', fixtures.location(51, [8.2, 52.2]));
    const p = await s.patch(`Things(${tid})`, { Locations: [{ '@iot.id': newLoc['@iot.id'] }] });
    assert.equal(p.status, 200, p.text);
    const o3 = await s.create('Observations', { result: 3, phenomenonTime: '2024-01-01T00:02:00Z', Datastream: { '@iot.id': ds['@iot.id'] } });
    const f3 = await s.getJson(`Observations(${o3['@iot.id']})/FeatureOfInterest`);
    assert.deepEqual(f3.feature, { type: 'Point', coordinates: [8.2, 52.2] }, 'FoI from the current Location');
    assert.notEqual(f3['@iot.id'], f1['@iot.id']);
    // the old observations keep their FoI
    assert.equal((await s.getJson(`Observations(${o1['@iot.id']})/FeatureOfInterest`))['@iot.id'], f1['@iot.id']);
});

test('Observation without FoI on a Thing without Location: 400, nothing written', async () => {
    const t = await s.create('Things', fixtures.thing(60));
    const sensor = await s.create('Sensors', fixtures.sensor(60));
    const op = await s.create('ObservedProperties', fixtures.observedProperty(60));
    const ds = await s.create('Datastreams', fixtures.datastream(60, t['@iot.id'], sensor['@iot.id'], op['@iot.id']));
    const before = await countAll(s);
    const r = await s.post('Observations', { result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': ds['@iot.id'] } });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.code, 400);
    assert.deepEqual(await countAll(s), before);
});

test('HistoricalLocation on every Location change of a Thing', async () => {
    const t = await s.create('Things', { ...fixtures.thing(70), Locations: [fixtures.location(70)] });
    const tid = t['@iot.id'];
    let hl = await s.getJson(`Things(${tid})/HistoricalLocations`);
    assert.equal(hl.value.length, 1);
    const l2 = await s.create('Locations', fixtures.location(71));
    assert.equal((await s.patch(`Things(${tid})`, { Locations: [{ '@iot.id': l2['@iot.id'] }] })).status, 200);
    hl = await s.getJson(`Things(${tid})/HistoricalLocations?$orderby=time desc`);
    assert.equal(hl.value.length, 2);
    const latest = hl.value[0];
    assert.match(latest.time, UTC_MS);
    assert.ok(within(latest.time), latest.time);
    assert.deepEqual((await s.getJson(`HistoricalLocations(${latest['@iot.id']})/Locations`)).value.map((l) => l['@iot.id']), [l2['@iot.id']]);
    assert.deepEqual((await s.getJson(`Things(${tid})/Locations`)).value.map((l) => l['@iot.id']), [l2['@iot.id']]);
    // a PATCH that does not touch Locations makes no HistoricalLocation
    assert.equal((await s.patch(`Things(${tid})`, { description: 'changed' })).status, 200);
    assert.equal((await s.getJson(`Things(${tid})/HistoricalLocations`)).value.length, 2);
    // a Thing created without Locations has none
    const t2 = await s.create('Things', fixtures.thing(72));
    assert.equal((await s.getJson(`Things(${t2['@iot.id']})/HistoricalLocations`)).value.length, 0);
});

test('phenomenonTime defaults to the server time; resultTime stays null', async () => {
    const t = await s.create('Things', { ...fixtures.thing(80), Locations: [fixtures.location(80)] });
    const sensor = await s.create('Sensors', fixtures.sensor(80));
    const op = await s.create('ObservedProperties', fixtures.observedProperty(80));
    const ds = await s.create('Datastreams', fixtures.datastream(80, t['@iot.id'], sensor['@iot.id'], op['@iot.id']));
    const t0 = Date.now();
    const r = await s.post('Observations', { result: 9, Datastream: { '@iot.id': ds['@iot.id'] } });
    const t1 = Date.now();
    assert.equal(r.status, 201, r.text);
    assert.match(r.json.phenomenonTime, UTC_MS);
    const pt = Date.parse(r.json.phenomenonTime);
    assert.ok(pt >= t0 - 2000 && pt <= t1 + 2000, `phenomenonTime ${r.json.phenomenonTime} between request start and end`);
    assert.equal(r.json.resultTime, null);
    const g = await s.getJson(`Observations(${r.json['@iot.id']})`);
    assert.equal(g.phenomenonTime, r.json.phenomenonTime);
    assert.equal(g.resultTime, null);
});

test('ids are distinct integers and selfLinks resolve', async () => {
    const ids = [];
    for (let i = 0; i < 5; i++) ids.push((await s.create('Things', fixtures.thing(90 + i)))['@iot.id']);
    assert.equal(new Set(ids).size, 5);
    for (const id of ids) {
        const e = await s.getJson(`Things(${id})`);
        const again = await s.getJson(e['@iot.selfLink']);
        assert.deepEqual(again, e);
    }
});

test('the response body of POST Observation echoes every property sent', async () => {
    const { ds } = await (async () => {
        const t = await s.create('Things', { ...fixtures.thing(95), Locations: [fixtures.location(95)] });
        const sensor = await s.create('Sensors', fixtures.sensor(95));
        const op = await s.create('ObservedProperties', fixtures.observedProperty(95));
        return { ds: (await s.create('Datastreams', fixtures.datastream(95, t['@iot.id'], sensor['@iot.id'], op['@iot.id'])))['@iot.id'] };
    })();
    const body = {
        phenomenonTime: '2024-03-01T00:00:00.000Z/2024-03-01T01:00:00.000Z',
        resultTime: '2024-03-01T01:00:01.000Z',
        validTime: '2024-03-01T00:00:00.000Z/2024-03-02T00:00:00.000Z',
        result: 7.5,
        resultQuality: { accuracy: 0.1, flags: ['checked'] },
        parameters: { battery: 3.3, fw: '1.2.3', nested: { a: [1, 2] } },
        Datastream: { '@iot.id': ds },
    };
    const r = await s.post('Observations', body);
    assert.equal(r.status, 201, r.text);
    const { Datastream, ...props } = body;
    void Datastream;
    assertEntity(assert, r.json, 'Observations', r.json['@iot.id'], props, { base: s.root, requireNav: ['Datastream'] });
});

// A Datastream on a new Thing whose Locations are given (ids or bodies).
async function streamOn(locations, n) {
    const t = await s.create('Things', { ...fixtures.thing(n), Locations: locations });
    const sensor = await s.create('Sensors', fixtures.sensor(n));
    const op = await s.create('ObservedProperties', fixtures.observedProperty(n));
    const ds = await s.create('Datastreams', fixtures.datastream(n, t['@iot.id'], sensor['@iot.id'], op['@iot.id']));
    return { thing: t['@iot.id'], ds: ds['@iot.id'] };
}

async function obsFoi(ds, minute = 0) {
    const o = await s.create('Observations', {
        result: minute, phenomenonTime: `2024-01-01T00:${String(minute).padStart(2, '0')}:00Z`, Datastream: { '@iot.id': ds },
    });
    return (await s.getJson(`Observations(${o['@iot.id']})/FeatureOfInterest`))['@iot.id'];
}

test('generated FeatureOfInterest is shared by Things at the same Location, and recreated after it was deleted', async () => {
    const loc = await s.create('Locations', fixtures.location(110, [7.3, 51.3]));
    const a = await streamOn([{ '@iot.id': loc['@iot.id'] }], 110);
    const b = await streamOn([{ '@iot.id': loc['@iot.id'] }], 111);
    const fa = await obsFoi(a.ds, 1);
    const fb = await obsFoi(b.ds, 2);
    assert.equal(fb, fa, 'one generated FoI per Location');
    assert.equal((await s.del(`FeaturesOfInterest(${fa})`)).status, 200);
    const fc = await obsFoi(a.ds, 3);
    assert.notEqual(fc, fa);
    const f = await s.getJson(`FeaturesOfInterest(${fc})`);
    assert.deepEqual(f.feature, { type: 'Point', coordinates: [7.3, 51.3] });
});

test('generated FeatureOfInterest comes from the GeoJSON Location when a Thing has several', async () => {
    const a = await streamOn([
        { name: 'Address', description: 'postal address', encodingType: 'text/plain', location: 'Rathausstraße 11, 58095 Hagen' },
        fixtures.location(120, [7.4715, 51.3594]),
    ], 120);
    const f = await s.getJson(`FeaturesOfInterest(${await obsFoi(a.ds, 4)})`);
    assert.deepEqual(f.feature, { type: 'Point', coordinates: [7.4715, 51.3594] });
    // the text Location is stored as given
    const locs = await s.getJson(`Things(${a.thing})/Locations`);
    assert.ok(locs.value.some((l) => l.location === 'Rathausstraße 11, 58095 Hagen' && l.encodingType === 'text/plain'));
});

test('POST HistoricalLocation: a newer one moves the Thing, an older one does not', async () => {
    const t = await s.create('Things', fixtures.thing(130));
    const l1 = await s.create('Locations', fixtures.location(130));
    const l2 = await s.create('Locations', fixtures.location(131));
    const l3 = await s.create('Locations', fixtures.location(132));
    const tid = t['@iot.id'];
    assert.equal((await s.patch(`Things(${tid})`, { Locations: [{ '@iot.id': l1['@iot.id'] }] })).status, 200);
    assert.equal((await s.getJson(`Things(${tid})/HistoricalLocations`)).value.length, 1);
    const future = new Date(Date.now() + 3600e3).toISOString();
    const h = await s.post('HistoricalLocations', { time: future, Thing: { '@iot.id': tid }, Locations: [{ '@iot.id': l2['@iot.id'] }] });
    assert.equal(h.status, 201, h.text);
    assert.deepEqual((await s.getJson(`Things(${tid})/Locations`)).value.map((l) => l['@iot.id']), [l2['@iot.id']]);
    const old = await s.post('HistoricalLocations', { time: '2001-01-01T00:00:00Z', Thing: { '@iot.id': tid }, Locations: [{ '@iot.id': l3['@iot.id'] }] });
    assert.equal(old.status, 201, old.text);
    assert.deepEqual((await s.getJson(`Things(${tid})/Locations`)).value.map((l) => l['@iot.id']), [l2['@iot.id']]);
    assert.equal((await s.getJson(`Things(${tid})/HistoricalLocations`)).value.length, 3);
});

test('POST to a navigation path with the same parent also in the body: 201', async () => {
    const a = await streamOn([fixtures.location(140)], 140);
    const r = await s.post(`Datastreams(${a.ds})/Observations`, { result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': a.ds } });
    assert.equal(r.status, 201, r.text);
});

test('strings, numbers and JSON round-trip exactly (text and JSON types)', async () => {
    const a = await streamOn([fixtures.location(150)], 150);
    const any = (await s.create('Datastreams', fixtures.datastream(151, a.thing,
        (await s.getJson(`Datastreams(${a.ds})/Sensor`))['@iot.id'],
        (await s.getJson(`Datastreams(${a.ds})/ObservedProperty`))['@iot.id'], { observationType: OT.observation })))['@iot.id'];
    const name = 'Straße "quoted" \\ back\\slash\ttab\nnewline \u2028 ☔ 🚰 \u0001';
    const t = await s.post('Things', { name, description: '', properties: { 'key with space': 'v', ümlaut: 'ö', empty: {}, arr: [] } });
    assert.equal(t.status, 201, t.text);
    const got = await s.getJson(`Things(${t.json['@iot.id']})`);
    assert.equal(got.name, name);
    assert.equal(got.description, '');
    assert.deepEqual(got.properties, { 'key with space': 'v', ümlaut: 'ö', empty: {}, arr: [] });
    const v = await s.get(`Things(${t.json['@iot.id']})/name/$value`);
    assert.equal(v.text, name, '$value is the raw UTF-8 string');
    // numbers keep their JSON form: an integer is not turned into 3.0, doubles keep every digit
    for (const [text, value] of [['3', 3], ['-0.5', -0.5], ['0.30000000000000004', 0.30000000000000004],
        ['1.7976931348623157e+308', 1.7976931348623157e308], ['5e-324', 5e-324], ['9007199254740991', 9007199254740991]]) {
        const r = await s.post('Observations', `{"result": ${text}, "phenomenonTime": "2024-01-01T00:00:00Z", "Datastream": {"@iot.id": ${any}}}`);
        assert.equal(r.status, 201, `${text}: ${r.text}`);
        const g2 = await s.get(`Observations(${r.json['@iot.id']})`);
        assert.equal(g2.json.result, value, text);
        if (Number.isInteger(value) && Math.abs(value) < 1e15) {
            assert.match(g2.text, new RegExp(`"result"\\s*:\\s*${text}[,}]`), `integer ${text} stays an integer: ${g2.text}`);
        }
        const raw = await s.get(`Observations(${r.json['@iot.id']})/result/$value`);
        assert.equal(Number(raw.text), value, `$value of ${text}: ${raw.text}`);
    }
    const r = await s.post('Observations', { result: '99', phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': any } });
    assert.equal(r.status, 201);
    assert.equal((await s.getJson(`Observations(${r.json['@iot.id']})`)).result, '99', 'a string stays a string');
});

test('Prefer: return=minimal answers 204 with the Location and no body (OData, RFC 7240)', async () => {
    const r = await s.request('POST', 'Things', fixtures.thing(77), { headers: { Prefer: 'return=minimal' } });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
    assert.equal(r.headers.get('preference-applied'), 'return=minimal');
    const loc = r.headers.get('location');
    assert.match(loc, /\/v1\.1\/Things\(\d+\)$/);
    const g = await s.get(loc);
    assert.equal(g.status, 200);
    assert.equal(g.json.name, fixtures.thing(77).name);
    const p = await s.request('PATCH', loc, { description: 'minimal' }, { headers: { Prefer: 'return=minimal' } });
    assert.equal(p.status, 204);
    assert.equal((await s.get(loc)).json.description, 'minimal');
});
