// The dataArray extension (OGC 18-088 §14.3): POST /v1.1/CreateObservations
// and $resultFormat=dataArray.
//
// Readings:
//  - CreateObservations answers 201 with a JSON array holding, per row and
//    in row order (groups one after the other), the selfLink of the created
//    Observation or the string "error" (§14.3.2; FROST DataArrayTests
//    test03/test04: a FeatureOfInterest id that does not exist, or a scalar
//    result for a MultiDatastream, gives "error" for that row while the
//    other rows are stored).  A row that is not an array of the length of
//    the components, or whose values are invalid, is such a row error.
//  - A body that is not an array of {Datastream|MultiDatastream, components,
//    dataArray} groups is a 400 and stores nothing.
//  - $resultFormat=dataArray without $select lists every Observation
//    property as a component: FROST DataArrayTests.test01GetDataArray
//    requires exactly id, phenomenonTime, result, resultTime,
//    resultQuality, validTime and parameters.  With $select, exactly the
//    selected ones.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, assertError, countAll, OT } from './lib/harness.mjs';

let s;
const g = {};

before(async () => {
    s = await startServer();
    const thing = await s.create('Things', {
        name: 'Pegel Volme', description: 'Pegel',
        Locations: [{ name: 'Eckesey', description: 'Pegelhaus', encodingType: 'application/geo+json', location: { type: 'Point', coordinates: [7.46, 51.37] } }],
    });
    g.thing = thing['@iot.id'];
    g.sensor = (await s.create('Sensors', { name: 'Sonde', description: 'd', encodingType: 'application/pdf', metadata: 'https://example.org/s.pdf' }))['@iot.id'];
    g.op1 = (await s.create('ObservedProperties', { name: 'Wasserstand', definition: 'https://example.org/wl', description: 'd' }))['@iot.id'];
    g.op2 = (await s.create('ObservedProperties', { name: 'Temperatur', definition: 'https://example.org/t', description: 'd' }))['@iot.id'];
    const uom = { name: 'Zentimeter', symbol: 'cm', definition: 'http://unitsofmeasure.org/ucum.html#cm' };
    g.ds1 = (await s.create('Datastreams', {
        name: 'Wasserstand', description: 'd', unitOfMeasurement: uom, observationType: OT.measurement,
        Thing: { '@iot.id': g.thing }, Sensor: { '@iot.id': g.sensor }, ObservedProperty: { '@iot.id': g.op1 },
    }))['@iot.id'];
    g.ds2 = (await s.create('Datastreams', {
        name: 'Status', description: 'd', unitOfMeasurement: { name: '', symbol: '', definition: '' }, observationType: OT.observation,
        Thing: { '@iot.id': g.thing }, Sensor: { '@iot.id': g.sensor }, ObservedProperty: { '@iot.id': g.op2 },
    }))['@iot.id'];
    g.mds = (await s.create('MultiDatastreams', {
        name: 'Wetter', description: 'd', observationType: OT.complex,
        multiObservationDataTypes: [OT.measurement, OT.measurement],
        unitOfMeasurements: [uom, { name: 'Grad Celsius', symbol: '°C', definition: 'http://unitsofmeasure.org/ucum.html#Cel' }],
        Thing: { '@iot.id': g.thing }, Sensor: { '@iot.id': g.sensor },
        ObservedProperties: [{ '@iot.id': g.op1 }, { '@iot.id': g.op2 }],
    }))['@iot.id'];
    g.foi = (await s.create('FeaturesOfInterest', {
        name: 'Volme', description: 'Fluss', encodingType: 'application/geo+json', feature: { type: 'Point', coordinates: [7.46, 51.37] },
    }))['@iot.id'];
});

after(async () => { if (s) assert.equal(await s.stop(), 0); });

const LINK = () => new RegExp(`^${s.root.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/Observations\\((\\d+)\\)$`);

function idOf(link) {
    const m = LINK().exec(link);
    assert.ok(m, `selfLink expected, got ${JSON.stringify(link)}`);
    return Number(m[1]);
}

async function createObs(body) {
    const r = await s.post('CreateObservations', body);
    assert.equal(r.status, 201, `POST CreateObservations -> ${r.status} ${r.text}`);
    assert.ok(Array.isArray(r.json), `array expected: ${r.text}`);
    return r.json;
}

// Observation `id` as JSON, plus the ids of its stream and FeatureOfInterest.
async function obs(id) {
    const o = await s.getJson(`Observations(${id})`);
    const foi = await s.getJson(`Observations(${id})/FeatureOfInterest`);
    o.foi = foi['@iot.id'];
    const ds = await s.get(`Observations(${id})/Datastream`);
    o.ds = ds.status === 200 ? ds.json['@iot.id'] : null;
    const md = await s.get(`Observations(${id})/MultiDatastream`);
    o.md = md.status === 200 ? md.json['@iot.id'] : null;
    return o;
}

// ------------------------------------------------------------------ CreateObservations

test('CreateObservations for a Datastream: 201, one selfLink per row in order, values stored', async () => {
    const n0 = await s.count('Observations');
    const links = await createObs([{
        Datastream: { '@iot.id': g.ds1 },
        components: ['phenomenonTime', 'result', 'FeatureOfInterest/id'],
        'dataArray@iot.count': 3,
        dataArray: [
            ['2026-03-01T00:00:00Z', 120, g.foi],
            ['2026-03-01T02:00:00+01:00', 121.5, g.foi],
            ['2026-03-01T02:00:00Z/2026-03-01T03:00:00Z', 0, g.foi],
        ],
    }]);
    assert.equal(links.length, 3);
    const ids = links.map(idOf);
    assert.equal(new Set(ids).size, 3);
    assert.equal(await s.count('Observations'), n0 + 3);
    const want = [
        ['2026-03-01T00:00:00.000Z', 120],
        ['2026-03-01T01:00:00.000Z', 121.5],
        ['2026-03-01T02:00:00.000Z/2026-03-01T03:00:00.000Z', 0],
    ];
    for (let i = 0; i < 3; i++) {
        const o = await obs(ids[i]);
        assert.equal(o.phenomenonTime, want[i][0], `row ${i}`);
        assert.equal(o.result, want[i][1], `row ${i}`);
        assert.equal(o.resultTime, null);
        assert.equal(o.foi, g.foi);
        assert.equal(o.ds, g.ds1);
        assert.equal(o.md, null);
    }
    g.firstIds = ids;
});

test('CreateObservations: components in any order, with resultTime, parameters, validTime, resultQuality', async () => {
    const links = await createObs([{
        Datastream: { '@iot.id': g.ds1 },
        components: ['result', 'parameters', 'FeatureOfInterest/id', 'resultTime', 'phenomenonTime', 'validTime', 'resultQuality'],
        'dataArray@iot.count': 2,
        dataArray: [
            [7, { rssi: -87, gateway: 'gw-eilpe' }, g.foi, '2026-03-02T00:00:05Z', '2026-03-02T00:00:00Z', '2026-03-02T00:00:00Z/2026-03-02T06:00:00Z', { flag: 'ok' }],
            [8, null, g.foi, null, '2026-03-02T01:00:00Z', null, null],
        ],
    }]);
    assert.equal(links.length, 2);
    const a = await obs(idOf(links[0]));
    assert.equal(a.result, 7);
    assert.deepEqual(a.parameters, { rssi: -87, gateway: 'gw-eilpe' });
    assert.equal(a.resultTime, '2026-03-02T00:00:05.000Z');
    assert.equal(a.phenomenonTime, '2026-03-02T00:00:00.000Z');
    assert.equal(a.validTime, '2026-03-02T00:00:00.000Z/2026-03-02T06:00:00.000Z');
    assert.deepEqual(a.resultQuality, { flag: 'ok' });
    assert.equal(a.foi, g.foi);
    const b = await obs(idOf(links[1]));
    assert.equal(b.result, 8);
    assert.equal(b.resultTime, null);
    assert.equal(b.phenomenonTime, '2026-03-02T01:00:00.000Z');
    assert.ok(b.parameters === undefined || b.parameters === null);
    assert.ok(b.validTime === undefined || b.validTime === null);
});

test('CreateObservations without phenomenonTime and FeatureOfInterest: now, and one FoI generated from the Location', async () => {
    const t0 = Date.now();
    const links = await createObs([{
        Datastream: { '@iot.id': g.ds1 }, components: ['result'], 'dataArray@iot.count': 2, dataArray: [[1001], [1002]],
    }]);
    const t1 = Date.now();
    assert.equal(links.length, 2);
    const a = await obs(idOf(links[0]));
    const b = await obs(idOf(links[1]));
    for (const o of [a, b]) {
        const t = Date.parse(o.phenomenonTime);
        assert.ok(t >= t0 - 2000 && t <= t1 + 2000, `phenomenonTime ${o.phenomenonTime} is now`);
    }
    assert.equal(a.foi, b.foi, 'the same generated FeatureOfInterest');
    const f = await s.getJson(`FeaturesOfInterest(${a.foi})`);
    assert.deepEqual(f.feature, { type: 'Point', coordinates: [7.46, 51.37] });
    assert.deepEqual([a.result, b.result], [1001, 1002]);
});

test('CreateObservations: bad rows give "error" in their place, the others are stored', async () => {
    const n0 = await s.count('Observations');
    const links = await createObs([{
        Datastream: { '@iot.id': g.ds1 },
        components: ['phenomenonTime', 'result', 'FeatureOfInterest/id'],
        'dataArray@iot.count': 8,
        dataArray: [
            ['2026-03-03T00:00:00Z', 2001, g.foi], // ok
            ['2026-03-03T01:00:00Z', 'high', g.foi], // string in an OM_Measurement stream
            ['2026-03-03T02:00:00Z', 2003, 999999], // FeatureOfInterest does not exist
            ['2026-03-03T03:00:00Z', 2004, 'probablyNotAValidId'], // FROST DataArrayTests.test03
            ['not a time', 2005, g.foi],
            ['2026-03-03T05:00:00Z', 2006], // too short
            'not an array',
            ['2026-03-03T07:00:00Z', 2008, g.foi], // ok
        ],
    }]);
    assert.equal(links.length, 8, JSON.stringify(links));
    for (const i of [1, 2, 3, 4, 5, 6]) assert.equal(links[i], 'error', `row ${i}: ${JSON.stringify(links)}`);
    const a = await obs(idOf(links[0]));
    const b = await obs(idOf(links[7]));
    assert.deepEqual([a.result, b.result], [2001, 2008]);
    assert.equal(b.phenomenonTime, '2026-03-03T07:00:00.000Z');
    assert.equal(await s.count('Observations'), n0 + 2);
});

test('CreateObservations for a MultiDatastream: array results; a scalar or a wrong length is an "error" row', async () => {
    const n0 = await s.count('Observations');
    const links = await createObs([{
        MultiDatastream: { '@iot.id': g.mds },
        components: ['phenomenonTime', 'result'],
        'dataArray@iot.count': 4,
        dataArray: [
            ['2026-03-04T00:00:00Z', [5, 20]],
            ['2026-03-04T01:00:00Z', 30],
            ['2026-03-04T02:00:00Z', [1, 2, 3]],
            ['2026-03-04T03:00:00Z', [6.5, 21]],
        ],
    }]);
    assert.equal(links.length, 4);
    assert.equal(links[1], 'error');
    assert.equal(links[2], 'error');
    const a = await obs(idOf(links[0]));
    const b = await obs(idOf(links[3]));
    assert.deepEqual(a.result, [5, 20]);
    assert.deepEqual(b.result, [6.5, 21]);
    assert.equal(a.md, g.mds);
    assert.equal(a.ds, null);
    assert.equal(await s.count('Observations'), n0 + 2);
});

test('CreateObservations with several groups: links in order across the groups', async () => {
    const links = await createObs([
        { Datastream: { '@iot.id': g.ds1 }, components: ['result', 'phenomenonTime'], dataArray: [[3001, '2026-03-05T00:00:00Z'], [3002, '2026-03-05T01:00:00Z']] },
        { MultiDatastream: { '@iot.id': g.mds }, components: ['result', 'phenomenonTime'], dataArray: [[[31, 32], '2026-03-05T00:00:00Z']] },
        { Datastream: { '@iot.id': g.ds2 }, components: ['phenomenonTime', 'result'],
            dataArray: [['2026-03-05T00:00:00Z', 'ok'], ['2026-03-05T01:00:00Z', { level: 3, text: 'warn' }]] },
    ]);
    assert.equal(links.length, 5);
    const os = [];
    for (const l of links) os.push(await obs(idOf(l)));
    assert.deepEqual(os.map((o) => o.result), [3001, 3002, [31, 32], 'ok', { level: 3, text: 'warn' }]);
    assert.deepEqual(os.map((o) => o.ds), [g.ds1, g.ds1, null, g.ds2, g.ds2]);
    assert.deepEqual(os.map((o) => o.md), [null, null, g.mds, null, null]);
});

const STRUCTURAL = [
    ['an object instead of an array', () => ({ Datastream: { '@iot.id': g.ds1 }, components: ['result'], dataArray: [[1]] })],
    ['a string', () => 'CreateObservations'],
    ['a number', () => 42],
    ['null', () => null],
    ['a group that is not an object', () => ['group']],
    ['components missing', () => [{ Datastream: { '@iot.id': g.ds1 }, dataArray: [[1]] }]],
    ['components not an array', () => [{ Datastream: { '@iot.id': g.ds1 }, components: 'result', dataArray: [[1]] }]],
    ['components empty', () => [{ Datastream: { '@iot.id': g.ds1 }, components: [], dataArray: [[1]] }]],
    ['components without result', () => [{ Datastream: { '@iot.id': g.ds1 }, components: ['phenomenonTime'], dataArray: [['2026-03-01T00:00:00Z']] }]],
    ['an unknown component', () => [{ Datastream: { '@iot.id': g.ds1 }, components: ['phenomenonTime', 'result', 'foo'], dataArray: [['2026-03-01T00:00:00Z', 1, 2]] }]],
    ['a navigation component other than FeatureOfInterest/id', () => [{ Datastream: { '@iot.id': g.ds1 }, components: ['result', 'Datastream/id'], dataArray: [[1, g.ds1]] }]],
    ['a component that is not a string', () => [{ Datastream: { '@iot.id': g.ds1 }, components: ['result', 7], dataArray: [[1, 2]] }]],
    ['both Datastream and MultiDatastream', () => [{ Datastream: { '@iot.id': g.ds1 }, MultiDatastream: { '@iot.id': g.mds }, components: ['result'], dataArray: [[1]] }]],
    ['neither Datastream nor MultiDatastream', () => [{ components: ['result'], dataArray: [[1]] }]],
    ['a Datastream without @iot.id', () => [{ Datastream: {}, components: ['result'], dataArray: [[1]] }]],
    ['a Datastream id that is not a number', () => [{ Datastream: { '@iot.id': 'abc' }, components: ['result'], dataArray: [[1]] }]],
    ['a Datastream that does not exist', () => [{ Datastream: { '@iot.id': 999999 }, components: ['result'], dataArray: [[1]] }]],
    ['dataArray missing', () => [{ Datastream: { '@iot.id': g.ds1 }, components: ['result'] }]],
    ['dataArray not an array', () => [{ Datastream: { '@iot.id': g.ds1 }, components: ['result'], dataArray: 'x' }]],
    ['a good group, then a bad one', () => [
        { Datastream: { '@iot.id': g.ds1 }, components: ['result'], dataArray: [[1], [2]] },
        { Datastream: { '@iot.id': g.ds1 }, components: ['nope'], dataArray: [[3]] },
    ]],
    ['a good group, then one with an unknown Datastream', () => [
        { Datastream: { '@iot.id': g.ds1 }, components: ['result'], dataArray: [[1], [2]] },
        { Datastream: { '@iot.id': 999999 }, components: ['result'], dataArray: [[3]] },
    ]],
];

for (const [what, body] of STRUCTURAL) {
    test(`CreateObservations with ${what}: 400, nothing stored`, async () => {
        const before = await countAll(s);
        const b = body();
        const r = await s.post('CreateObservations', b === null ? 'null' : b);
        assertError(assert, r, 400, { where: `CreateObservations with ${what}` });
        assert.deepEqual(await countAll(s), before);
    });
}

test('CreateObservations with malformed JSON: 400; with another Content-Type: 415; nothing stored', async () => {
    const before = await countAll(s);
    assertError(assert, await s.post('CreateObservations', '[{"Datastream":'), 400, { where: 'malformed JSON' });
    const r = await s.post('CreateObservations', JSON.stringify([{ Datastream: { '@iot.id': g.ds1 }, components: ['result'], dataArray: [[1]] }]),
        { contentType: 'text/plain' });
    assertError(assert, r, 415, { where: 'text/plain' });
    assert.deepEqual(await countAll(s), before);
});

// ------------------------------------------------------------------ $resultFormat=dataArray

// Checks a dataArray collection against the plain JSON of the same
// Observations; returns the ids listed (if "id" is a component).
async function checkDataArray(json, { components, navKey } = {}) {
    assert.ok(json && Array.isArray(json.value), `value array: ${JSON.stringify(json)}`);
    const ids = [];
    for (const grp of json.value) {
        const keys = Object.keys(grp).filter((k) => k.endsWith('@iot.navigationLink'));
        assert.equal(keys.length, 1, `one (Multi)Datastream link per group: ${JSON.stringify(grp)}`);
        if (navKey) assert.equal(keys[0], navKey);
        const m = /\/(Datastreams|MultiDatastreams)\((\d+)\)$/.exec(grp[keys[0]]);
        assert.ok(m, `navigation link ${grp[keys[0]]}`);
        assert.equal(grp[keys[0]], `${s.root}/${m[1]}(${m[2]})`);
        assert.ok(Array.isArray(grp.components));
        assert.equal(new Set(grp.components).size, grp.components.length, 'no duplicate components');
        if (components) assert.deepEqual([...grp.components].sort(), [...components].sort());
        assert.equal(grp['dataArray@iot.count'], grp.dataArray.length);
        const idCol = grp.components.indexOf('id');
        for (const row of grp.dataArray) {
            assert.equal(row.length, grp.components.length);
            if (idCol < 0) continue;
            const id = row[idCol];
            ids.push(id);
            const o = await s.getJson(`Observations(${id})`);
            grp.components.forEach((c, i) => {
                if (c === 'id') return;
                assert.deepEqual(row[i], o[c] === undefined ? null : o[c], `${c} of Observations(${id})`);
            });
            const st = await s.getJson(`Observations(${id})/${m[1] === 'Datastreams' ? 'Datastream' : 'MultiDatastream'}`);
            assert.equal(st['@iot.id'], Number(m[2]), `Observations(${id}) belongs to its group`);
        }
    }
    return ids;
}

test('$resultFormat=dataArray on Datastreams(n)/Observations with $select', async () => {
    const r = await s.get(`Datastreams(${g.ds1})/Observations?$resultFormat=dataArray&$select=id,phenomenonTime,result&$top=1000`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.value.length, 1, 'one group');
    const ids = await checkDataArray(r.json, { components: ['id', 'phenomenonTime', 'result'], navKey: 'Datastream@iot.navigationLink' });
    const plain = await s.all(`Datastreams(${g.ds1})/Observations?$select=id`);
    assert.deepEqual([...ids].sort((a, b) => a - b), plain.map((o) => o['@iot.id']).sort((a, b) => a - b));
});

test('$resultFormat=dataArray with $select of properties only (no id)', async () => {
    const r = await s.get(`Datastreams(${g.ds1})/Observations?$resultFormat=dataArray&$select=result,phenomenonTime&$orderby=phenomenonTime%20desc&$top=4&$count=true`);
    assert.equal(r.status, 200, r.text);
    await checkDataArray(r.json, { components: ['result', 'phenomenonTime'] });
    assert.equal(r.json.value[0].dataArray.length, 4);
    assert.equal(typeof r.json['@iot.count'], 'number');
    assert.ok(r.json['@iot.nextLink']);
});

test('$resultFormat=dataArray without $select lists every Observation property (FROST DataArrayTests.test01)', async () => {
    const r = await s.get('Observations?$resultFormat=dataArray&$count=true&$top=3');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json['@iot.nextLink'], '@iot.nextLink');
    assert.equal(typeof r.json['@iot.count'], 'number');
    await checkDataArray(r.json, { components: ['id', 'phenomenonTime', 'result', 'resultTime', 'resultQuality', 'validTime', 'parameters'] });
});

test('$resultFormat=dataArray on /Observations groups by Datastream and MultiDatastream', async () => {
    const r = await s.get('Observations?$resultFormat=dataArray&$select=id,result&$top=1000');
    assert.equal(r.status, 200, r.text);
    const ids = await checkDataArray(r.json, { components: ['id', 'result'] });
    const keys = r.json.value.map((grp) => Object.keys(grp).find((k) => k.endsWith('@iot.navigationLink')) + ' ' + grp[Object.keys(grp).find((k) => k.endsWith('@iot.navigationLink'))]);
    assert.equal(new Set(keys).size, keys.length, 'one group per stream on a page');
    assert.deepEqual(new Set(keys), new Set([
        `Datastream@iot.navigationLink ${s.root}/Datastreams(${g.ds1})`,
        `Datastream@iot.navigationLink ${s.root}/Datastreams(${g.ds2})`,
        `MultiDatastream@iot.navigationLink ${s.root}/MultiDatastreams(${g.mds})`,
    ]));
    assert.equal(ids.length, await s.count('Observations'));
});

test('$resultFormat=dataArray on MultiDatastreams(n)/Observations', async () => {
    const r = await s.get(`MultiDatastreams(${g.mds})/Observations?$resultFormat=dataArray&$select=id,result`);
    assert.equal(r.status, 200, r.text);
    const ids = await checkDataArray(r.json, { components: ['id', 'result'], navKey: 'MultiDatastream@iot.navigationLink' });
    assert.equal(ids.length, 3);
    for (const row of r.json.value[0].dataArray) assert.ok(Array.isArray(row[r.json.value[0].components.indexOf('result')]));
});

test('$resultFormat=dataArray paging: @iot.nextLink keeps $resultFormat, $count counts all, every row once', async () => {
    const total = await s.count('Observations');
    let url = 'Observations?$resultFormat=dataArray&$select=id,result&$top=3&$count=true';
    const seen = [];
    let pages = 0;
    while (url) {
        const r = await s.get(url);
        assert.equal(r.status, 200, `${url}: ${r.text}`);
        assert.equal(r.json['@iot.count'], total);
        const ids = await checkDataArray(r.json, { components: ['id', 'result'] });
        assert.ok(ids.length <= 3);
        seen.push(...ids);
        url = r.json['@iot.nextLink'];
        if (url) assert.match(url, /\$resultFormat=dataArray/, 'nextLink keeps $resultFormat');
        pages++;
        assert.ok(pages < 100);
    }
    assert.equal(seen.length, total);
    assert.equal(new Set(seen).size, total);
});

test('$resultFormat=dataArray with $filter and an empty result', async () => {
    const r = await s.get(`Datastreams(${g.ds1})/Observations?$resultFormat=dataArray&$select=id,result&$filter=${encodeURIComponent('result ge 120 and result lt 1000')}`);
    assert.equal(r.status, 200, r.text);
    const ids = await checkDataArray(r.json, { components: ['id', 'result'] });
    assert.deepEqual(ids.sort((a, b) => a - b), g.firstIds.slice(0, 2));
    const e = await s.get(`Observations?$resultFormat=dataArray&$filter=${encodeURIComponent('false')}&$count=true`);
    assert.equal(e.status, 200, e.text);
    assert.deepEqual(e.json.value, []);
    assert.equal(e.json['@iot.count'], 0);
});

test('$resultFormat=dataArray elsewhere, or another $resultFormat: 400', async () => {
    const oid = g.firstIds[0];
    for (const p of [
        'Things?$resultFormat=dataArray',
        'Datastreams?$resultFormat=dataArray',
        `Datastreams(${g.ds1})?$resultFormat=dataArray`,
        'FeaturesOfInterest?$resultFormat=dataArray',
        `Observations(${oid})?$resultFormat=dataArray`,
        'Observations?$resultFormat=csv',
        'Observations?$resultFormat=GeoJSON',
        'Observations?$resultFormat=',
        `Datastreams(${g.ds1})/Observations?$resultFormat=json`,
    ]) {
        const r = await s.get(p);
        assertError(assert, r, 400, { where: `GET ${p}` });
    }
});
