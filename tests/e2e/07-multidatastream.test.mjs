// MultiDatastream extension: create (linked and deep), full JSON, relations
// in both directions, ordered ObservedProperties with duplicates,
// Observations with array results, validation, and delete cascades.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, assertEntity, assertError, fixtures, OT, countAll } from './lib/harness.mjs';

let s;
const g = {};

const UOMS = [
    { name: 'Degree Celsius', symbol: '°C', definition: 'http://unitsofmeasure.org/ucum.html#Cel' },
    { name: 'Percent', symbol: '%', definition: 'http://unitsofmeasure.org/ucum.html#%' },
];

function mdsBody(extra = {}) {
    return {
        name: 'Klima multi', description: 'temperature and humidity',
        observationType: OT.complex,
        multiObservationDataTypes: [OT.measurement, OT.measurement],
        unitOfMeasurements: UOMS,
        Thing: { '@iot.id': g.thing }, Sensor: { '@iot.id': g.sensor },
        ObservedProperties: [{ '@iot.id': g.op1 }, { '@iot.id': g.op2 }],
        ...extra,
    };
}

before(async () => {
    s = await startServer();
    g.thing = (await s.create('Things', { ...fixtures.thing(1), Locations: [fixtures.location(1, [7.45, 51.35])] }))['@iot.id'];
    g.sensor = (await s.create('Sensors', fixtures.sensor(1)))['@iot.id'];
    g.op1 = (await s.create('ObservedProperties', { ...fixtures.observedProperty(1), name: 'Temperature' }))['@iot.id'];
    g.op2 = (await s.create('ObservedProperties', { ...fixtures.observedProperty(2), name: 'Humidity' }))['@iot.id'];
    g.ds = (await s.create('Datastreams', fixtures.datastream(1, g.thing, g.sensor, g.op1)))['@iot.id'];
});

after(async () => { if (s) assert.equal(await s.stop(), 0); });

test('POST MultiDatastream: 201, Location header, full JSON', async () => {
    const r = await s.post('MultiDatastreams', mdsBody({ properties: { station: 'Rathaus' } }));
    assert.equal(r.status, 201, r.text);
    g.mds = r.json['@iot.id'];
    assert.equal(r.headers.get('location'), s.link(`MultiDatastreams(${g.mds})`));
    const expected = {
        name: 'Klima multi', description: 'temperature and humidity', observationType: OT.complex,
        multiObservationDataTypes: [OT.measurement, OT.measurement], unitOfMeasurements: UOMS, properties: { station: 'Rathaus' },
    };
    assertEntity(assert, r.json, 'MultiDatastreams', g.mds, expected, { base: s.root, ignore: ['observedArea', 'phenomenonTime', 'resultTime'] });
    const got = await s.getJson(`MultiDatastreams(${g.mds})`);
    assert.deepEqual(got, r.json);
});

test('MultiDatastream relations in both directions', async () => {
    assert.equal((await s.getJson(`MultiDatastreams(${g.mds})/Thing`))['@iot.id'], g.thing);
    assert.equal((await s.getJson(`MultiDatastreams(${g.mds})/Sensor`))['@iot.id'], g.sensor);
    assert.deepEqual((await s.getJson(`MultiDatastreams(${g.mds})/ObservedProperties`)).value.map((o) => o['@iot.id']), [g.op1, g.op2]);
    assert.deepEqual((await s.getJson(`Things(${g.thing})/MultiDatastreams`)).value.map((m) => m['@iot.id']), [g.mds]);
    assert.deepEqual((await s.getJson(`Sensors(${g.sensor})/MultiDatastreams`)).value.map((m) => m['@iot.id']), [g.mds]);
    assert.deepEqual((await s.getJson(`ObservedProperties(${g.op2})/MultiDatastreams`)).value.map((m) => m['@iot.id']), [g.mds]);
    assert.deepEqual((await s.getJson(`ObservedProperties(${g.op2})/Datastreams`)).value, [], 'op2 is used by no Datastream');
    // the Things, Sensors and ObservedProperties carry the MultiDatastreams link
    const t = await s.getJson(`Things(${g.thing})`);
    assert.equal(t['MultiDatastreams@iot.navigationLink'], s.link(`Things(${g.thing})/MultiDatastreams`));
    const sen = await s.getJson(`Sensors(${g.sensor})`);
    assert.equal(sen['MultiDatastreams@iot.navigationLink'], s.link(`Sensors(${g.sensor})/MultiDatastreams`));
    const op = await s.getJson(`ObservedProperties(${g.op1})`);
    assert.equal(op['MultiDatastreams@iot.navigationLink'], s.link(`ObservedProperties(${g.op1})/MultiDatastreams`));
    const ref = await s.getJson(`MultiDatastreams(${g.mds})/ObservedProperties/$ref`);
    assert.deepEqual(ref.value, [g.op1, g.op2].map((id) => ({ '@iot.selfLink': s.link(`ObservedProperties(${id})`) })));
});

test('Observations of a MultiDatastream: array results, FoI generated, both paths of creation', async () => {
    const r = await s.post('Observations', { result: [21.5, 60], phenomenonTime: '2024-07-01T12:00:00Z', MultiDatastream: { '@iot.id': g.mds } });
    assert.equal(r.status, 201, r.text);
    g.mobs = r.json['@iot.id'];
    assert.deepEqual(r.json.result, [21.5, 60]);
    assert.equal(r.json['MultiDatastream@iot.navigationLink'], s.link(`Observations(${g.mobs})/MultiDatastream`));
    assertEntity(assert, r.json, 'Observations', g.mobs, { result: [21.5, 60], phenomenonTime: '2024-07-01T12:00:00.000Z', resultTime: null },
        { base: s.root, requireNav: ['MultiDatastream'] });
    const r2 = await s.post(`MultiDatastreams(${g.mds})/Observations`, { result: [22, 58.5], phenomenonTime: '2024-07-01T12:10:00Z' });
    assert.equal(r2.status, 201, r2.text);
    // no phenomenonTime -> now
    const r3 = await s.post('Observations', { result: [4.0, 1.0], MultiDatastream: { '@iot.id': g.mds } });
    assert.equal(r3.status, 201, r3.text);
    assert.ok(Math.abs(Date.parse(r3.json.phenomenonTime) - Date.now()) < 120000);
    const list = await s.getJson(`MultiDatastreams(${g.mds})/Observations?$orderby=phenomenonTime asc&$top=2`);
    assert.deepEqual(list.value.map((o) => o.result), [[21.5, 60], [22, 58.5]]);
    assert.equal((await s.getJson(`Observations(${g.mobs})/MultiDatastream`))['@iot.id'], g.mds);
    const foi = await s.getJson(`Observations(${g.mobs})/FeatureOfInterest`);
    assert.deepEqual(foi.feature, { type: 'Point', coordinates: [7.45, 51.35] });
    const nav = await s.get(`Observations(${g.mobs})/Datastream`);
    assert.ok(nav.status === 404 || nav.status === 204, `Datastream of an MDS observation: ${nav.status}`);
    const dsObs = await s.create('Observations', { result: 1, phenomenonTime: '2024-07-01T12:00:00Z', Datastream: { '@iot.id': g.ds } });
    const nav2 = await s.get(`Observations(${dsObs['@iot.id']})/MultiDatastream`);
    assert.ok(nav2.status === 404 || nav2.status === 204, `MultiDatastream of a DS observation: ${nav2.status}`);
    const cnt = await s.getJson(`MultiDatastreams(${g.mds})/Observations?$count=true&$top=1`);
    assert.equal(cnt['@iot.count'], 3);
});

test('MultiDatastream phenomenonTime extent follows its observations', async () => {
    const m = await s.getJson(`MultiDatastreams(${g.mds})`);
    assert.match(m.phenomenonTime, /^2024-07-01T12:00:00\.000Z\/\d{4}-/);
});

test('ObservedProperties keep their order and may repeat', async () => {
    const r = await s.post('MultiDatastreams', mdsBody({ name: 'reversed', ObservedProperties: [{ '@iot.id': g.op2 }, { '@iot.id': g.op1 }] }));
    assert.equal(r.status, 201, r.text);
    assert.deepEqual((await s.getJson(`MultiDatastreams(${r.json['@iot.id']})/ObservedProperties`)).value.map((o) => o['@iot.id']), [g.op2, g.op1]);
    const d = await s.post('MultiDatastreams', mdsBody({ name: 'twice', ObservedProperties: [{ '@iot.id': g.op1 }, { '@iot.id': g.op1 }] }));
    assert.equal(d.status, 201, d.text);
    assert.deepEqual((await s.getJson(`MultiDatastreams(${d.json['@iot.id']})/ObservedProperties`)).value.map((o) => o['@iot.id']), [g.op1, g.op1]);
    const back = (await s.getJson(`ObservedProperties(${g.op1})/MultiDatastreams`)).value.map((m) => m['@iot.id']);
    assert.equal(back.filter((id) => id === d.json['@iot.id']).length, 1, 'each MultiDatastream once');
});

test('deep insert: Thing with a MultiDatastream with new Sensor, ObservedProperties and Observations', async () => {
    const before = await countAll(s);
    const r = await s.post('Things', {
        ...fixtures.thing(50), Locations: [fixtures.location(50)],
        MultiDatastreams: [{
            name: 'wind', description: 'speed and direction', observationType: OT.complex,
            multiObservationDataTypes: [OT.measurement, OT.measurement],
            unitOfMeasurements: [
                { name: 'metre per second', symbol: 'm/s', definition: 'http://unitsofmeasure.org/ucum.html#m/s' },
                { name: 'degree', symbol: 'deg', definition: 'http://unitsofmeasure.org/ucum.html#deg' },
            ],
            Sensor: fixtures.sensor(50),
            ObservedProperties: [fixtures.observedProperty(50), fixtures.observedProperty(51)],
            Observations: [{ result: [3.5, 270], phenomenonTime: '2024-07-01T00:00:00Z' }],
        }],
    });
    assert.equal(r.status, 201, r.text);
    const after = await countAll(s);
    assert.deepEqual(after, {
        ...before,
        Things: before.Things + 1, Locations: before.Locations + 1, HistoricalLocations: before.HistoricalLocations + 1,
        MultiDatastreams: before.MultiDatastreams + 1, Sensors: before.Sensors + 1, ObservedProperties: before.ObservedProperties + 2,
        Observations: before.Observations + 1, FeaturesOfInterest: before.FeaturesOfInterest + 1,
    });
    const m = (await s.getJson(`Things(${r.json['@iot.id']})/MultiDatastreams`)).value[0];
    assert.deepEqual((await s.getJson(`MultiDatastreams(${m['@iot.id']})/ObservedProperties`)).value.map((o) => o.name), ['Property 50', 'Property 51']);
    assert.deepEqual((await s.getJson(`MultiDatastreams(${m['@iot.id']})/Observations`)).value.map((o) => o.result), [[3.5, 270]]);
});

test('$expand and $select on MultiDatastreams', async () => {
    const r = await s.getJson(`MultiDatastreams(${g.mds})?$select=name,unitOfMeasurements&$expand=ObservedProperties($select=name),Observations($orderby=phenomenonTime asc;$top=1;$select=result)`);
    const next = r['Observations@iot.nextLink'];
    assert.equal(typeof next, 'string', 'the expanded Observations are truncated by $top=1: nextLink expected');
    delete r['Observations@iot.nextLink'];
    assert.deepEqual(r, {
        name: 'Klima multi', unitOfMeasurements: UOMS,
        ObservedProperties: [{ name: 'Temperature' }, { name: 'Humidity' }],
        Observations: [{ result: [21.5, 60] }],
    });
    const t = await s.getJson(`Things(${g.thing})?$expand=MultiDatastreams($select=id)`);
    assert.ok(t.MultiDatastreams.some((m) => m['@iot.id'] === g.mds));
});

test('invalid MultiDatastreams: 400 and nothing written', async () => {
    const LEN = ['unitOfMeasurements', 'multiObservationDataTypes', 'ObservedProperties'];
    const cases = [
        [mdsBody({ unitOfMeasurements: [UOMS[0]] }), LEN],
        [mdsBody({ multiObservationDataTypes: [OT.measurement] }), LEN],
        [mdsBody({ ObservedProperties: [{ '@iot.id': g.op1 }] }), LEN],
        [mdsBody({ observationType: OT.measurement }), 'observationType'],
        [mdsBody({ multiObservationDataTypes: [OT.measurement, 'http://example.org/nonsense'] }), 'multiObservationDataTypes'],
        [mdsBody({ unitOfMeasurements: 'cm' }), 'unitOfMeasurements'],
        [mdsBody({ Thing: undefined }), 'Thing'],
        [mdsBody({ Sensor: undefined }), 'Sensor'],
        [mdsBody({ ObservedProperties: undefined }), 'ObservedProperties'],
        [mdsBody({ ObservedProperties: [{ '@iot.id': g.op1 }, { '@iot.id': 987654321 }] }), 'ObservedProperties'],
        [mdsBody({ unitOfMeasurement: UOMS[0] }), 'unitOfMeasurement'],
    ];
    for (const [body, field] of cases) {
        const before = await countAll(s);
        const r = await s.post('MultiDatastreams', JSON.parse(JSON.stringify(body)));
        if (Array.isArray(field)) {
            assertError(assert, r, 400, { where: JSON.stringify(body) });
            assert.ok(field.includes(r.json.field), `field names one of the mismatched lists: ${r.text}`);
        } else {
            assertError(assert, r, 400, { field, where: JSON.stringify(body) });
        }
        assert.deepEqual(await countAll(s), before);
    }
    const p = await s.patch(`MultiDatastreams(${g.mds})`, { observationType: OT.measurement });
    assertError(assert, p, 400, { field: 'observationType' });
    const p2 = await s.patch(`MultiDatastreams(${g.mds})`, { unitOfMeasurements: [UOMS[0]], multiObservationDataTypes: [OT.measurement, OT.measurement] });
    assert.equal(p2.status, 400, p2.text);
    const ok = await s.patch(`MultiDatastreams(${g.mds})`, { description: 'patched' });
    assert.equal(ok.status, 200, ok.text);
    assert.equal(ok.json.description, 'patched');
});

test('invalid MultiDatastream Observations: 400', async () => {
    const cases = [
        [{ result: 1, MultiDatastream: { '@iot.id': g.mds } }, 'result'],
        [{ result: [1], MultiDatastream: { '@iot.id': g.mds } }, 'result'],
        [{ result: [1, 2, 3], MultiDatastream: { '@iot.id': g.mds } }, 'result'],
        [{ result: [1, 'wet'], MultiDatastream: { '@iot.id': g.mds } }, 'result'],
        [{ result: [1, 2], MultiDatastream: { '@iot.id': g.mds }, Datastream: { '@iot.id': g.ds } }, undefined],
        [{ result: [1, 2], phenomenonTime: '2024-01-01T00:00:00Z' }, undefined],
        [{ result: [1, 2], MultiDatastream: { '@iot.id': 987654321 } }, 'MultiDatastream'],
    ];
    for (const [body, field] of cases) {
        const before = await countAll(s);
        const r = await s.post('Observations', body);
        assertError(assert, r, 400, { field, where: JSON.stringify(body) });
        assert.deepEqual(await countAll(s), before);
    }
    // an Observation of a Datastream cannot be moved into a MultiDatastream as well
    const o = await s.create('Observations', { result: 2, phenomenonTime: '2024-07-01T12:00:00Z', Datastream: { '@iot.id': g.ds } });
    const p = await s.patch(`Observations(${o['@iot.id']})`, { '@iot.id': o['@iot.id'], MultiDatastream: { '@iot.id': g.mds } });
    assert.equal(p.status, 400, p.text);
    // adding a MultiDatastream to an ObservedProperty is not allowed
    const p2 = await s.patch(`ObservedProperties(${g.op2})`, { '@iot.id': g.op2, MultiDatastreams: [{ '@iot.id': g.mds }] });
    assert.equal(p2.status, 400, p2.text);
});

async function mdsGraph(n) {
    const thing = (await s.create('Things', { ...fixtures.thing(n), Locations: [fixtures.location(n)] }))['@iot.id'];
    const sensor = (await s.create('Sensors', fixtures.sensor(n)))['@iot.id'];
    const op1 = (await s.create('ObservedProperties', fixtures.observedProperty(n)))['@iot.id'];
    const op2 = (await s.create('ObservedProperties', fixtures.observedProperty(n + 1)))['@iot.id'];
    const mds = (await s.create('MultiDatastreams', {
        ...mdsBody(), Thing: { '@iot.id': thing }, Sensor: { '@iot.id': sensor }, ObservedProperties: [{ '@iot.id': op1 }, { '@iot.id': op2 }],
    }))['@iot.id'];
    const obs = [];
    for (let i = 0; i < 2; i++) {
        obs.push((await s.create('Observations', { result: [i, i], phenomenonTime: `2024-01-01T00:0${i}:00Z`, MultiDatastream: { '@iot.id': mds } }))['@iot.id']);
    }
    return { thing, sensor, op1, op2, mds, obs };
}

async function gone(set, id) {
    const r = await s.get(`${set}(${id})`);
    return r.status === 404;
}

test('DELETE MultiDatastream cascades to its Observations only', async () => {
    const m = await mdsGraph(100);
    assert.equal((await s.del(`MultiDatastreams(${m.mds})`)).status, 200);
    assert.ok(await gone('MultiDatastreams', m.mds));
    for (const o of m.obs) assert.ok(await gone('Observations', o));
    for (const [set, id] of [['Things', m.thing], ['Sensors', m.sensor], ['ObservedProperties', m.op1], ['ObservedProperties', m.op2]]) {
        assert.ok(!(await gone(set, id)), `${set}(${id}) remains`);
    }
});

for (const [set, key] of [['Things', 'thing'], ['Sensors', 'sensor'], ['ObservedProperties', 'op2']]) {
    test(`DELETE ${set} cascades to its MultiDatastreams and their Observations`, async () => {
        const m = await mdsGraph(200 + key.length);
        const other = await s.create('Observations', { result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': g.ds } });
        assert.equal((await s.del(`${set}(${m[key]})`)).status, 200);
        assert.ok(await gone('MultiDatastreams', m.mds));
        for (const o of m.obs) assert.ok(await gone('Observations', o));
        assert.ok(!(await gone('Observations', other['@iot.id'])), 'other observations untouched');
    });
}
