// PATCH of every entity type (incl. a Thing's Locations -> HistoricalLocation)
// and DELETE with the cascades of OGC 18-088 (as checked by the OGC test
// suite: Thing -> Datastreams, HistoricalLocations, Observations; Location ->
// HistoricalLocations; Datastream -> Observations; Sensor / ObservedProperty
// -> Datastreams -> Observations; FeatureOfInterest -> Observations).

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, assertEntity, fixtures, OT, countAll } from './lib/harness.mjs';

let s;
before(async () => { s = await startServer(); });
after(async () => { if (s) assert.equal(await s.stop(), 0); });

// A fresh small graph: Thing(+Location, HL) with a Datastream (own Sensor,
// ObservedProperty) with 2 Observations on an explicit FoI.
let n = 0;
async function graph() {
    n++;
    const thing = await s.create('Things', { ...fixtures.thing(n), Locations: [fixtures.location(n)] });
    const t = thing['@iot.id'];
    const location = (await s.getJson(`Things(${t})/Locations`)).value[0]['@iot.id'];
    const hl = (await s.getJson(`Things(${t})/HistoricalLocations`)).value[0]['@iot.id'];
    const sensor = (await s.create('Sensors', fixtures.sensor(n)))['@iot.id'];
    const op = (await s.create('ObservedProperties', fixtures.observedProperty(n)))['@iot.id'];
    const ds = (await s.create('Datastreams', fixtures.datastream(n, t, sensor, op)))['@iot.id'];
    const foi = (await s.create('FeaturesOfInterest', fixtures.featureOfInterest(n)))['@iot.id'];
    const obs = [];
    for (let i = 0; i < 2; i++) {
        obs.push((await s.create('Observations', {
            result: i, phenomenonTime: `2024-01-01T00:0${i}:00Z`, Datastream: { '@iot.id': ds }, FeatureOfInterest: { '@iot.id': foi },
        }))['@iot.id']);
    }
    return { thing: t, location, hl, sensor, op, ds, foi, obs };
}

async function exists(set, id) {
    const r = await s.get(`${set}(${id})`);
    assert.ok(r.status === 200 || r.status === 404, `GET ${set}(${id}) -> ${r.status}`);
    return r.status === 200;
}

// PATCH, expect 200 with the full updated entity, equal to a later GET.
async function patchCheck(set, id, body, expected, opts = {}) {
    const before = await s.getJson(`${set}(${id})`);
    const r = await s.patch(`${set}(${id})`, body);
    assert.equal(r.status, 200, `PATCH ${set}(${id}): ${r.text}`);
    const want = { ...before, ...expected };
    for (const k of Object.keys(want)) if (k.startsWith('@iot') || k.includes('@iot.')) delete want[k];
    assertEntity(assert, r.json, set, id, want, { base: s.root, ...opts });
    const g = await s.getJson(`${set}(${id})`);
    assert.deepEqual(g, r.json, 'GET after PATCH equals the PATCH response');
    return r.json;
}

test('PATCH every entity type: 200, changed properties updated, others kept', async () => {
    const g = await graph();
    await patchCheck('Things', g.thing, { description: 'patched', properties: { b: 2 } }, { description: 'patched', properties: { b: 2 } });
    // properties is replaced as a whole
    await patchCheck('Things', g.thing, { properties: { c: [3] } }, { properties: { c: [3] } });
    await patchCheck('Locations', g.location, { location: { type: 'Point', coordinates: [114.05, -50] } },
        { location: { type: 'Point', coordinates: [114.05, -50] } });
    await patchCheck('HistoricalLocations', g.hl, { time: '2015-07-01T00:00:00.000Z' }, { time: '2015-07-01T00:00:00.000Z' });
    await patchCheck('Sensors', g.sensor, { metadata: 'PATCHED', name: 'renamed' }, { metadata: 'PATCHED', name: 'renamed' });
    await patchCheck('ObservedProperties', g.op, { description: 'PATCHED' }, { description: 'PATCHED' });
    await patchCheck('FeaturesOfInterest', g.foi, { feature: { type: 'Point', coordinates: [114.05, -51.05] } },
        { feature: { type: 'Point', coordinates: [114.05, -51.05] } });
    await patchCheck('Datastreams', g.ds, { description: 'Patched Description' }, { description: 'Patched Description' }, { ignore: ['observedArea'] });
    await patchCheck('Datastreams', g.ds,
        { unitOfMeasurement: { name: 'Entropy2', symbol: 'S2', definition: 'http://qudt.org/vocab/unit#Entropy2' } },
        { unitOfMeasurement: { name: 'Entropy2', symbol: 'S2', definition: 'http://qudt.org/vocab/unit#Entropy2' } },
        { ignore: ['observedArea'] });
    await patchCheck('Observations', g.obs[0], { result: 99.5, parameters: { fixed: true } }, { result: 99.5, parameters: { fixed: true } },
        { requireNav: ['Datastream'] });
    await patchCheck('Observations', g.obs[0], { phenomenonTime: '2015-07-01T00:40:00.000Z' }, { phenomenonTime: '2015-07-01T00:40:00.000Z' },
        { requireNav: ['Datastream'] });
});

test('PATCH relations by @iot.id: Datastream to another Thing, Sensor, ObservedProperty; Observation to another FoI', async () => {
    const a = await graph();
    const b = await graph();
    for (const [nav, id] of [['Thing', b.thing], ['Sensor', b.sensor], ['ObservedProperty', b.op]]) {
        const r = await s.patch(`Datastreams(${a.ds})`, { [nav]: { '@iot.id': id } });
        assert.equal(r.status, 200, r.text);
        assert.equal((await s.getJson(`Datastreams(${a.ds})/${nav}`))['@iot.id'], id, nav);
    }
    assert.equal((await s.getJson(`Things(${b.thing})/Datastreams`)).value.length, 2);
    assert.equal((await s.getJson(`Things(${a.thing})/Datastreams`)).value.length, 0);
    const r = await s.patch(`Observations(${a.obs[0]})`, { FeatureOfInterest: { '@iot.id': b.foi } });
    assert.equal(r.status, 200, r.text);
    assert.equal((await s.getJson(`Observations(${a.obs[0]})/FeatureOfInterest`))['@iot.id'], b.foi);
});

test('PATCH a Thing\'s Locations: Locations replaced, one new HistoricalLocation', async () => {
    const g = await graph();
    const l2 = (await s.create('Locations', fixtures.location(500)))['@iot.id'];
    const l3 = (await s.create('Locations', fixtures.location(501)))['@iot.id'];
    const hlTotal = await s.count('HistoricalLocations');
    const r = await s.patch(`Things(${g.thing})`, { Locations: [{ '@iot.id': l2 }, { '@iot.id': l3 }] });
    assert.equal(r.status, 200, r.text);
    const locs = (await s.getJson(`Things(${g.thing})/Locations`)).value.map((l) => l['@iot.id']).sort((x, y) => x - y);
    assert.deepEqual(locs, [l2, l3].sort((x, y) => x - y));
    assert.equal(await s.count('HistoricalLocations'), hlTotal + 1);
    const hls = (await s.getJson(`Things(${g.thing})/HistoricalLocations?$orderby=time desc`)).value;
    assert.equal(hls.length, 2);
    const newest = hls.find((h) => h['@iot.id'] !== g.hl);
    const hlLocs = (await s.getJson(`HistoricalLocations(${newest['@iot.id']})/Locations`)).value.map((l) => l['@iot.id']).sort((x, y) => x - y);
    assert.deepEqual(hlLocs, [l2, l3].sort((x, y) => x - y));
    // the old HistoricalLocation still points at the old Location
    assert.deepEqual((await s.getJson(`HistoricalLocations(${g.hl})/Locations`)).value.map((l) => l['@iot.id']), [g.location]);
    // the old Location still exists, unlinked from the Thing
    assert.equal(await exists('Locations', g.location), true);
    assert.deepEqual((await s.getJson(`Locations(${g.location})/Things`)).value, []);
});

test('PATCH with related entities inline is rejected with 400 (as the OGC test suite requires)', async () => {
    const g = await graph();
    const cases = [
        ['Things', g.thing, { Locations: [fixtures.location(600)] }],
        ['Things', g.thing, { Datastreams: [{ unitOfMeasurement: fixtures.uom(1) }] }],
        ['Sensors', g.sensor, { Datastreams: [{ unitOfMeasurement: fixtures.uom(1), Thing: { '@iot.id': g.thing } }] }],
        ['ObservedProperties', g.op, { Datastreams: [{ unitOfMeasurement: fixtures.uom(1), Thing: { '@iot.id': g.thing } }] }],
        ['Datastreams', g.ds, { ObservedProperty: { name: 'Count', definition: 'x', description: 'y' } }],
        ['Datastreams', g.ds, { Sensor: fixtures.sensor(601) }],
        ['Datastreams', g.ds, { Thing: { name: 'test', description: 'test' } }],
        ['Datastreams', g.ds, { Observations: [{ phenomenonTime: '2015-03-01T00:00:00Z', result: 92122 }] }],
    ];
    const before = await countAll(s);
    for (const [set, id, body] of cases) {
        const pre = await s.getJson(`${set}(${id})`);
        const r = await s.patch(`${set}(${id})`, body);
        assert.equal(r.status, 400, `PATCH ${set}(${id}) ${JSON.stringify(body)} -> ${r.status} ${r.text}`);
        assert.equal(r.json?.code, 400);
        assert.deepEqual(await s.getJson(`${set}(${id})`), pre, 'entity unchanged');
    }
    assert.deepEqual(await countAll(s), before, 'nothing created');
});

test('PATCH and DELETE of missing entities: 404', async () => {
    for (const set of ['Things', 'Locations', 'HistoricalLocations', 'Sensors', 'ObservedProperties',
        'Datastreams', 'MultiDatastreams', 'Observations', 'FeaturesOfInterest']) {
        const p = await s.patch(`${set}(99999999)`, { name: 'x' });
        assert.equal(p.status, 404, `PATCH ${set}: ${p.text}`);
        assert.equal(p.json?.code, 404);
        const d = await s.del(`${set}(99999999)`);
        assert.equal(d.status, 404, `DELETE ${set}: ${d.text}`);
        assert.equal(d.json?.code, 404);
    }
});

test('DELETE: 200 with empty body, then 404 on GET and on a second DELETE', async () => {
    const g = await graph();
    for (const [set, id] of [['Observations', g.obs[0]], ['HistoricalLocations', g.hl], ['FeaturesOfInterest', g.foi],
        ['Datastreams', g.ds], ['Sensors', g.sensor], ['ObservedProperties', g.op], ['Locations', g.location], ['Things', g.thing]]) {
        const r = await s.del(`${set}(${id})`);
        assert.equal(r.status, 200, `DELETE ${set}(${id}): ${r.text}`);
        assert.equal(r.text, '', 'empty body');
        assert.equal((await s.get(`${set}(${id})`)).status, 404);
        assert.equal((await s.del(`${set}(${id})`)).status, 404);
    }
});

// Deletes `set(id)` of a fresh graph and checks which of the graph's
// entities are gone and which remain.
async function cascade(set, key, gone, kept) {
    const g = await graph();
    const r = await s.del(`${set}(${g[key]})`);
    assert.equal(r.status, 200, r.text);
    const check = async (k, want) => {
        const pairs = {
            thing: ['Things', [g.thing]], location: ['Locations', [g.location]], hl: ['HistoricalLocations', [g.hl]],
            sensor: ['Sensors', [g.sensor]], op: ['ObservedProperties', [g.op]], ds: ['Datastreams', [g.ds]],
            foi: ['FeaturesOfInterest', [g.foi]], obs: ['Observations', g.obs],
        }[k];
        for (const id of pairs[1]) {
            assert.equal(await exists(pairs[0], id), want, `after DELETE ${set}: ${pairs[0]}(${id}) ${want ? 'must remain' : 'must be gone'}`);
        }
    };
    for (const k of gone) await check(k, false);
    for (const k of kept) await check(k, true);
}

test('DELETE Thing cascades to its Datastreams, Observations and HistoricalLocations', async () => {
    await cascade('Things', 'thing', ['thing', 'ds', 'obs', 'hl'], ['location', 'sensor', 'op', 'foi']);
});

test('DELETE Datastream cascades to its Observations', async () => {
    await cascade('Datastreams', 'ds', ['ds', 'obs'], ['thing', 'sensor', 'op', 'foi', 'location', 'hl']);
});

test('DELETE Location cascades to its HistoricalLocations', async () => {
    await cascade('Locations', 'location', ['location', 'hl'], ['thing', 'sensor', 'op', 'foi', 'ds', 'obs']);
});

test('DELETE HistoricalLocation deletes only itself', async () => {
    await cascade('HistoricalLocations', 'hl', ['hl'], ['thing', 'sensor', 'op', 'foi', 'ds', 'obs', 'location']);
});

test('DELETE Sensor cascades to its Datastreams and their Observations', async () => {
    await cascade('Sensors', 'sensor', ['sensor', 'ds', 'obs'], ['thing', 'op', 'foi', 'location', 'hl']);
});

test('DELETE ObservedProperty cascades to its Datastreams and their Observations', async () => {
    await cascade('ObservedProperties', 'op', ['op', 'ds', 'obs'], ['thing', 'sensor', 'foi', 'location', 'hl']);
});

test('DELETE FeatureOfInterest cascades to its Observations', async () => {
    await cascade('FeaturesOfInterest', 'foi', ['foi', 'obs'], ['thing', 'sensor', 'op', 'location', 'hl', 'ds']);
});

test('DELETE Observation deletes only itself', async () => {
    const g = await graph();
    assert.equal((await s.del(`Observations(${g.obs[0]})`)).status, 200);
    assert.equal(await exists('Observations', g.obs[0]), false);
    assert.equal(await exists('Observations', g.obs[1]), true);
    for (const [set, id] of [['Things', g.thing], ['Datastreams', g.ds], ['FeaturesOfInterest', g.foi], ['Sensors', g.sensor]]) {
        assert.equal(await exists(set, id), true, `${set}(${id}) remains`);
    }
});

test('DELETE cascades leave no dangling rows: collection counts add up', async () => {
    const before = await countAll(s);
    const g = await graph();
    assert.equal((await s.del(`Things(${g.thing})`)).status, 200);
    const after1 = await countAll(s);
    assert.deepEqual(after1, {
        ...before,
        Locations: before.Locations + 1,
        Sensors: before.Sensors + 1,
        ObservedProperties: before.ObservedProperties + 1,
        FeaturesOfInterest: before.FeaturesOfInterest + 1,
    });
    // the Datastream's observations are gone from the FoI's navigation too
    assert.deepEqual((await s.getJson(`FeaturesOfInterest(${g.foi})/Observations`)).value, []);
    assert.deepEqual((await s.getJson(`Sensors(${g.sensor})/Datastreams`)).value, []);
    assert.deepEqual((await s.getJson(`Locations(${g.location})/HistoricalLocations`)).value, []);
});

test('Datastream phenomenonTime/resultTime extent follows POST, PATCH and DELETE of its Observations', async () => {
    const g = await graph();
    // graph observations: 00:00 and 00:01 with resultTime null
    let ds = await s.getJson(`Datastreams(${g.ds})`);
    assert.equal(ds.phenomenonTime, '2024-01-01T00:00:00.000Z/2024-01-01T00:01:00.000Z');
    const o3 = await s.create('Observations', {
        result: 5, phenomenonTime: '2024-01-01T00:05:00Z', resultTime: '2024-01-01T00:06:00Z', Datastream: { '@iot.id': g.ds },
        FeatureOfInterest: { '@iot.id': g.foi },
    });
    const o4 = await s.create('Observations', {
        result: 6, phenomenonTime: '2023-12-31T23:00:00Z', resultTime: '2024-01-01T00:07:00Z', Datastream: { '@iot.id': g.ds },
        FeatureOfInterest: { '@iot.id': g.foi },
    });
    ds = await s.getJson(`Datastreams(${g.ds})`);
    assert.equal(ds.phenomenonTime, '2023-12-31T23:00:00.000Z/2024-01-01T00:05:00.000Z');
    assert.equal(ds.resultTime, '2024-01-01T00:06:00.000Z/2024-01-01T00:07:00.000Z');
    assert.equal((await s.patch(`Observations(${o3['@iot.id']})`, { phenomenonTime: '2024-02-01T00:00:00Z' })).status, 200);
    ds = await s.getJson(`Datastreams(${g.ds})`);
    assert.equal(ds.phenomenonTime, '2023-12-31T23:00:00.000Z/2024-02-01T00:00:00.000Z');
    assert.equal((await s.del(`Observations(${o4['@iot.id']})`)).status, 200);
    ds = await s.getJson(`Datastreams(${g.ds})`);
    assert.equal(ds.phenomenonTime, '2024-01-01T00:00:00.000Z/2024-02-01T00:00:00.000Z');
    const cnt = await s.getJson(`Datastreams(${g.ds})/Observations?$count=true&$top=1`);
    assert.equal(cnt['@iot.count'], 3);
});

test('PATCH with an empty object changes nothing', async () => {
    const g = await graph();
    const before = await s.getJson(`Things(${g.thing})`);
    const r = await s.patch(`Things(${g.thing})`, {});
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, before);
    void OT;
});

test('PATCH body carrying the entity\'s own @iot.id and links by id (client style) is accepted', async () => {
    const g = await graph();
    const r = await s.patch(`Datastreams(${g.ds})`, {
        '@iot.id': g.ds, name: 'client-style', Thing: { '@iot.id': g.thing }, Sensor: { '@iot.id': g.sensor },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, 'client-style');
    assert.equal(r.json['@iot.id'], g.ds);
});

test('Datastream phenomenonTime is an interval even for a single observation', async () => {
    const t = await s.create('Things', { ...fixtures.thing(700), Locations: [fixtures.location(700)] });
    const sensor = await s.create('Sensors', fixtures.sensor(700));
    const op = await s.create('ObservedProperties', fixtures.observedProperty(700));
    const ds = await s.create('Datastreams', fixtures.datastream(700, t['@iot.id'], sensor['@iot.id'], op['@iot.id']));
    let d = await s.getJson(`Datastreams(${ds['@iot.id']})`);
    assert.ok(d.phenomenonTime === undefined || d.phenomenonTime === null, `no observations yet: ${d.phenomenonTime}`);
    await s.create('Observations', { result: 1, phenomenonTime: '2024-04-04T04:04:04.004Z', Datastream: { '@iot.id': ds['@iot.id'] } });
    d = await s.getJson(`Datastreams(${ds['@iot.id']})`);
    assert.equal(d.phenomenonTime, '2024-04-04T04:04:04.004Z/2024-04-04T04:04:04.004Z');
    assert.ok(d.resultTime === undefined || d.resultTime === null, `no resultTime yet: ${d.resultTime}`);
    // an interval phenomenonTime widens the extent to its end
    await s.create('Observations', { result: 2, phenomenonTime: '2024-04-05T00:00:00Z/2024-04-06T00:00:00Z', Datastream: { '@iot.id': ds['@iot.id'] } });
    d = await s.getJson(`Datastreams(${ds['@iot.id']})`);
    assert.equal(d.phenomenonTime, '2024-04-04T04:04:04.004Z/2024-04-06T00:00:00.000Z');
});

test('PATCH an Observation result to null in an OM_Observation stream; wrong-typed PATCH is rejected', async () => {
    const t = await s.create('Things', { ...fixtures.thing(710), Locations: [fixtures.location(710)] });
    const sensor = await s.create('Sensors', fixtures.sensor(710));
    const op = await s.create('ObservedProperties', fixtures.observedProperty(710));
    const any = await s.create('Datastreams', fixtures.datastream(710, t['@iot.id'], sensor['@iot.id'], op['@iot.id'], { observationType: OT.observation }));
    const o = await s.create('Observations', { result: 'x', phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': any['@iot.id'] } });
    const r = await s.patch(`Observations(${o['@iot.id']})`, { result: null });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.result, null);
    const g = await graph(); // OM_Measurement
    const bad = await s.patch(`Observations(${g.obs[0]})`, { result: 'not a number' });
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.field, 'result');
    assert.equal((await s.getJson(`Observations(${g.obs[0]})`)).result, 0);
});

test('latest observation, count and extent stay right when observations go away by cascade', async () => {
    const g = await graph();
    const foi2 = (await s.create('FeaturesOfInterest', fixtures.featureOfInterest(800)))['@iot.id'];
    const late = await s.create('Observations', {
        result: 9, phenomenonTime: '2024-06-01T00:00:00Z', resultTime: '2024-06-01T00:00:01Z',
        Datastream: { '@iot.id': g.ds }, FeatureOfInterest: { '@iot.id': foi2 },
    });
    const latestOf = async () => (await s.getJson(`Datastreams(${g.ds})?$expand=Observations($top=1;$orderby=phenomenonTime desc)`)).Observations.map((o) => o['@iot.id']);
    const countOf = async () => (await s.getJson(`Datastreams(${g.ds})/Observations?$count=true&$top=1`))['@iot.count'];
    assert.deepEqual(await latestOf(), [late['@iot.id']]);
    assert.equal(await countOf(), 3);
    // deleting the FoI deletes the latest observation
    assert.equal((await s.del(`FeaturesOfInterest(${foi2})`)).status, 200);
    assert.deepEqual(await latestOf(), [g.obs[1]]);
    assert.equal(await countOf(), 2);
    let d = await s.getJson(`Datastreams(${g.ds})`);
    assert.equal(d.phenomenonTime, '2024-01-01T00:00:00.000Z/2024-01-01T00:01:00.000Z');
    assert.ok(d.resultTime === undefined || d.resultTime === null, `no resultTime left: ${d.resultTime}`);
    // deleting the latest directly
    assert.equal((await s.del(`Observations(${g.obs[1]})`)).status, 200);
    assert.deepEqual(await latestOf(), [g.obs[0]]);
    assert.equal(await countOf(), 1);
    // moving an old observation to the front by PATCH
    const o = await s.create('Observations', { result: 3, phenomenonTime: '2024-03-01T00:00:00Z', Datastream: { '@iot.id': g.ds }, FeatureOfInterest: { '@iot.id': g.foi } });
    assert.deepEqual(await latestOf(), [o['@iot.id']]);
    assert.equal((await s.patch(`Observations(${g.obs[0]})`, { phenomenonTime: '2025-01-01T00:00:00Z' })).status, 200);
    assert.deepEqual(await latestOf(), [g.obs[0]]);
    // the map query agrees
    const map = await s.getJson(`Things(${g.thing})?$expand=Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc))`);
    assert.deepEqual(map.Datastreams.map((x) => x.Observations.map((y) => y['@iot.id'])), [[g.obs[0]]]);
    // deleting the last one leaves an empty datastream
    for (const id of [g.obs[0], o['@iot.id']]) assert.equal((await s.del(`Observations(${id})`)).status, 200);
    assert.deepEqual(await latestOf(), []);
    assert.equal(await countOf(), 0);
    d = await s.getJson(`Datastreams(${g.ds})`);
    assert.ok(d.phenomenonTime === undefined || d.phenomenonTime === null, `empty datastream has no phenomenonTime: ${d.phenomenonTime}`);
});

test('PATCH and DELETE through navigation paths check every parent in the path', async () => {
    const a = await graph();
    const b = await graph();
    // wrong parent: 404, nothing changed
    let r = await s.patch(`Things(${b.thing})/Datastreams(${a.ds})`, { description: 'via wrong parent' });
    assert.equal(r.status, 404, r.text);
    r = await s.del(`Things(${b.thing})/Datastreams(${a.ds})/Observations(${a.obs[0]})`);
    assert.equal(r.status, 404, r.text);
    assert.equal((await s.getJson(`Datastreams(${a.ds})`)).description, 'Description of datastream ' + (n - 1));
    assert.equal((await s.get(`Observations(${a.obs[0]})`)).status, 200);
    // right parents: 200
    r = await s.patch(`Things(${a.thing})/Datastreams(${a.ds})`, { description: 'via path' });
    assert.equal(r.status, 200, r.text);
    assert.equal((await s.getJson(`Datastreams(${a.ds})`)).description, 'via path');
    r = await s.del(`Things(${a.thing})/Datastreams(${a.ds})/Observations(${a.obs[0]})`);
    assert.equal(r.status, 200, r.text);
    assert.equal((await s.get(`Observations(${a.obs[0]})`)).status, 404);
});
