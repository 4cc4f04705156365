// Bad input: broken JSON, wrong types, missing mandatory properties, unknown
// properties, results that do not fit the observationType, invalid times and
// GeoJSON, links to missing ids -> 400 naming the field; unknown paths and
// entities -> 404; wrong method -> 405 with Allow; body over the limit ->
// 413; not JSON -> 415. Never a 5xx, never a crash, and nothing half-written:
// every collection is counted before and after each rejected request.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { test, startServer, assertError, fixtures, OT, countAll } from './lib/harness.mjs';

let s;
const g = {};

before(async () => {
    s = await startServer();
    const thing = await s.create('Things', { ...fixtures.thing(1), Locations: [fixtures.location(1)] });
    g.thing = thing['@iot.id'];
    g.location = (await s.getJson(`Things(${g.thing})/Locations`)).value[0]['@iot.id'];
    g.sensor = (await s.create('Sensors', fixtures.sensor(1)))['@iot.id'];
    g.op = (await s.create('ObservedProperties', fixtures.observedProperty(1)))['@iot.id'];
    g.foi = (await s.create('FeaturesOfInterest', fixtures.featureOfInterest(1)))['@iot.id'];
    for (const [k, ot] of [['meas', OT.measurement], ['count', OT.count], ['truth', OT.truth], ['cat', OT.category]]) {
        g[k] = (await s.create('Datastreams', fixtures.datastream(k, g.thing, g.sensor, g.op, { observationType: ot })))['@iot.id'];
    }
    g.obs = (await s.create('Observations', {
        result: 1.5, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': g.meas }, FeatureOfInterest: { '@iot.id': g.foi },
    }))['@iot.id'];
    g.thing2 = (await s.create('Things', fixtures.thing(2)))['@iot.id'];
});

after(async () => {
    if (!s) return;
    // still alive and answering after every bad request
    assert.equal((await s.get('/v1.1')).status, 200);
    assert.equal(await s.stop(), 0);
});

const MISSING = 987654321;

// Sends a bad request, expects `status` with the JSON error body (and
// `field` when given), and checks that no collection changed.
async function rejects(method, path, body, status, { field, opts, fieldRe } = {}) {
    const before = await countAll(s);
    const r = await s.request(method, path, body, opts);
    const where = `${method} ${path} ${typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body)?.slice(0, 300)}`;
    assertError(assert, r, status, { field, where });
    if (fieldRe) assert.match(String(r.json.field), fieldRe, `field of ${where}: ${r.text}`);
    assert.deepEqual(await countAll(s), before, `nothing written by ${where}`);
    return r;
}

const obs = (extra) => ({ result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': g.meas }, FeatureOfInterest: { '@iot.id': g.foi }, ...extra });
// a field name, possibly as the last step of a path into the nested body
const nested = (name) => new RegExp(`(^|[/.\\]])${name}$`);
const without = (o, k) => { const c = { ...o }; delete c[k]; return c; };
const ds = (extra) => fixtures.datastream('x', g.thing, g.sensor, g.op, extra);

test('broken JSON: 400 with the position of the error', async () => {
    for (const body of [
        '{"name": "x", "description": ',
        '{"name": "x" "description": "y"}',
        '{"name": "x", "description": "y",}',
        'not json at all',
        '{"name": \'single\', "description": "y"}',
        '{"name":"a\\x","description":"b"}',
    ]) {
        const r = await rejects('POST', 'Things', body, 400);
        assert.equal(typeof r.json.position, 'number', `position for ${body}: ${r.text}`);
    }
    for (const body of ['', '[]', '"a string"', '42', 'null', '{"name":"a","description":"b"} {"x":1}',
        '{"name":"a","description":"b","properties":{"x":NaN}}']) {
        await rejects('POST', 'Things', body, 400);
    }
    await rejects('PATCH', `Things(${g.thing})`, '{"name": ', 400);
    await rejects('POST', 'Observations', '{"result": 1, "Datastream": {"@iot.id": ', 400);
});

test('invalid UTF-8 and absurd nesting: 400, no crash', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('","description":"d"}')]);
    await rejects('POST', 'Things', new Uint8Array(bytes), 400);
    const deep = `{"name":"a","description":"b","properties":{"x":${'['.repeat(100000)}${']'.repeat(100000)}}}`;
    const r = await s.post('Things', deep);
    assert.ok(r.status === 400 || r.status === 201, `deep nesting: ${r.status}`);
    if (r.status === 201) assert.equal((await s.del(`Things(${r.json['@iot.id']})`)).status, 200);
    assert.equal((await s.get('/v1.1')).status, 200, 'server alive');
});

test('wrong property types: 400 naming the field', async () => {
    const cases = [
        ['Things', { name: 5, description: 'd' }, 'name'],
        ['Things', { name: 'n', description: true }, 'description'],
        ['Things', { name: null, description: 'd' }, 'name'],
        ['Things', { name: ['n'], description: 'd' }, 'name'],
        ['Things', { name: 'n', description: 'd', properties: 'str' }, 'properties'],
        ['Things', { name: 'n', description: 'd', properties: [1, 2] }, 'properties'],
        ['Locations', { ...fixtures.location(9), encodingType: 5 }, 'encodingType'],
        ['Locations', { ...fixtures.location(9), name: {} }, 'name'],
        ['Sensors', { ...fixtures.sensor(9), encodingType: 5 }, 'encodingType'],
        ['Sensors', { ...fixtures.sensor(9), properties: 'x' }, 'properties'],
        ['ObservedProperties', { ...fixtures.observedProperty(9), definition: 5 }, 'definition'],
        ['FeaturesOfInterest', { ...fixtures.featureOfInterest(9), encodingType: false }, 'encodingType'],
        ['Datastreams', ds({ unitOfMeasurement: 'cm' }), 'unitOfMeasurement'],
        ['Datastreams', ds({ unitOfMeasurement: [1] }), 'unitOfMeasurement'],
        ['Datastreams', ds({ observationType: 5 }), 'observationType'],
        ['Datastreams', ds({ observationType: 'http://example.org/not-an-observation-type' }), 'observationType'],
        ['Datastreams', ds({ name: 17 }), 'name'],
        ['Datastreams', ds({ Thing: 5 }), 'Thing'],
        ['Datastreams', ds({ Thing: [{ '@iot.id': 1 }] }), 'Thing'],
        ['Observations', obs({ phenomenonTime: 12345 }), 'phenomenonTime'],
        ['Observations', obs({ resultTime: true }), 'resultTime'],
        ['Observations', obs({ validTime: 7 }), 'validTime'],
        ['Observations', obs({ parameters: 'x' }), 'parameters'],
        ['Observations', obs({ parameters: [1] }), 'parameters'],
        ['Observations', obs({ Datastream: 5 }), 'Datastream'],
        ['Observations', obs({ FeatureOfInterest: 'here' }), 'FeatureOfInterest'],
        ['HistoricalLocations', { time: 5, Thing: { '@iot.id': 1 }, Locations: [{ '@iot.id': 1 }] }, 'time'],
        ['Things', { name: 'n', description: 'd', Locations: { '@iot.id': 1 } }, 'Locations'],
    ];
    for (const [set, body, field] of cases) await rejects('POST', set, body, 400, { field });
    // ids must be integers
    await rejects('POST', 'Observations', obs({ Datastream: { '@iot.id': 'abc' } }), 400);
    await rejects('POST', 'Observations', obs({ Datastream: { '@iot.id': 1.5 } }), 400);
    // PATCH validates types the same way
    await rejects('PATCH', `Things(${g.thing})`, { name: 5 }, 400, { field: 'name' });
    await rejects('PATCH', `Datastreams(${g.meas})`, { observationType: 'nonsense' }, 400, { field: 'observationType' });
    await rejects('PATCH', `Observations(${g.obs})`, { phenomenonTime: false }, 400, { field: 'phenomenonTime' });
});

test('result that does not fit the Datastream\'s observationType: 400 naming result', async () => {
    const cases = [
        [g.meas, ['21.5', 'abc', true, { v: 1 }, [1, 2]]],
        [g.count, [1.5, '3', true, { v: 1 }]],
        [g.truth, [1, 'true', 0, {}]],
        [g.cat, [5, true, { uri: 'http://example.org' }]],
    ];
    for (const [dsid, results] of cases) {
        for (const result of results) {
            await rejects('POST', 'Observations', obs({ result, Datastream: { '@iot.id': dsid } }), 400, { field: 'result' });
            await rejects('POST', `Datastreams(${dsid})/Observations`, { result, phenomenonTime: '2024-01-01T00:00:00Z' }, 400, { field: 'result' });
        }
    }
    // and in PATCH
    await rejects('PATCH', `Observations(${g.obs})`, { result: 'twenty' }, 400, { field: 'result' });
    assert.equal((await s.getJson(`Observations(${g.obs})`)).result, 1.5);
});

test('missing mandatory properties and relations: 400 naming the field', async () => {
    const cases = [
        ['Things', without(fixtures.thing(9), 'name'), 'name'],
        ['Things', without(fixtures.thing(9), 'description'), 'description'],
        ['Locations', without(fixtures.location(9), 'name'), 'name'],
        ['Locations', without(fixtures.location(9), 'encodingType'), 'encodingType'],
        ['Locations', without(fixtures.location(9), 'location'), 'location'],
        ['Sensors', without(fixtures.sensor(9), 'metadata'), 'metadata'],
        ['Sensors', without(fixtures.sensor(9), 'encodingType'), 'encodingType'],
        ['ObservedProperties', without(fixtures.observedProperty(9), 'definition'), 'definition'],
        ['ObservedProperties', without(fixtures.observedProperty(9), 'name'), 'name'],
        ['FeaturesOfInterest', without(fixtures.featureOfInterest(9), 'feature'), 'feature'],
        ['FeaturesOfInterest', without(fixtures.featureOfInterest(9), 'encodingType'), 'encodingType'],
        ['Datastreams', without(ds(), 'unitOfMeasurement'), 'unitOfMeasurement'],
        ['Datastreams', without(ds(), 'observationType'), 'observationType'],
        ['Datastreams', without(ds(), 'name'), 'name'],
        ['Datastreams', without(ds(), 'Thing'), 'Thing'],
        ['Datastreams', without(ds(), 'Sensor'), 'Sensor'],
        ['Datastreams', without(ds(), 'ObservedProperty'), 'ObservedProperty'],
        ['Observations', without(obs(), 'Datastream'), 'Datastream'],
        ['Observations', without(obs(), 'result'), 'result'],
        ['HistoricalLocations', { Thing: { '@iot.id': g.thing }, Locations: [{ '@iot.id': g.location }] }, 'time'],
        ['HistoricalLocations', { time: '2024-01-01T00:00:00Z', Locations: [{ '@iot.id': g.location }] }, 'Thing'],
    ];
    for (const [set, body, field] of cases) await rejects('POST', set, body, 400, { field });
    await rejects('POST', 'Things', {}, 400);
});

test('unknown properties: 400 naming them', async () => {
    await rejects('POST', 'Things', { ...fixtures.thing(9), colour: 'red' }, 400, { field: 'colour' });
    await rejects('POST', 'Observations', obs({ reslt: 5 }), 400, { field: 'reslt' });
    await rejects('POST', 'Datastreams', ds({ unitOfMeasurements: [fixtures.uom(1)] }), 400, { field: 'unitOfMeasurements' });
    await rejects('POST', 'Things', { ...fixtures.thing(9), Sensors: [fixtures.sensor(9)] }, 400, { field: 'Sensors' });
    await rejects('POST', 'Things', { ...fixtures.thing(9), Locations: [{ ...fixtures.location(9), foo: 1 }] }, 400, { fieldRe: /foo$/ });
    await rejects('PATCH', `Things(${g.thing})`, { nmae: 'typo' }, 400, { field: 'nmae' });
    await rejects('PATCH', `Sensors(${g.sensor})`, { Thing: { '@iot.id': g.thing } }, 400, { field: 'Thing' });
});

test('invalid times: 400 naming the field', async () => {
    const bad = [
        '2024-13-01T00:00:00Z', '2024-02-30T00:00:00Z', '2023-02-29T00:00:00Z', '2024-01-01T24:00:01Z',
        '2024-01-01T23:60:00Z', '2024-01-01T23:59:61Z', '2024-01-01T00:00:00+25:00', 'not a time', '', 'T',
        '2024-01-01T00:00:00Z/', '/2024-01-01T00:00:00Z', '2024-01-02T00:00:00Z/2024-01-01T00:00:00Z',
        '2024-01-01T00:00:00Zjunk', '2024-01-01 00:00:00Z junk', '2024-1-1T0:0:0Z', '2024-01-01T00:00:00.Z',
        '2024-01-01T00:00:00Z/2024-01-02T00:00:00Z/2024-01-03T00:00:00Z',
    ];
    for (const t of bad) {
        await rejects('POST', 'Observations', obs({ phenomenonTime: t }), 400, { field: 'phenomenonTime' });
    }
    for (const t of ['2024-13-01T00:00:00Z', 'soon', '2024-01-01T00:00:00Z/2024-01-02T00:00:00Z']) {
        await rejects('POST', 'Observations', obs({ resultTime: t }), 400, { field: 'resultTime' });
    }
    for (const t of ['2024-01-01T00:00:00Z/x', 'always', '2024-01-02T00:00:00Z/2024-01-01T00:00:00Z']) {
        await rejects('POST', 'Observations', obs({ validTime: t }), 400, { field: 'validTime' });
    }
    await rejects('POST', 'HistoricalLocations', { time: '2024-02-31T00:00:00Z', Thing: { '@iot.id': g.thing }, Locations: [{ '@iot.id': g.location }] }, 400, { field: 'time' });
    await rejects('PATCH', `Observations(${g.obs})`, { phenomenonTime: '2024-00-10T00:00:00Z' }, 400, { field: 'phenomenonTime' });
});

test('invalid GeoJSON: 400 naming location / feature', async () => {
    const geoms = [
        { type: 'Point' },
        { type: 'Point', coordinates: 'x' },
        { type: 'Point', coordinates: [1] },
        { type: 'Point', coordinates: [1, '2'] },
        { type: 'Point', coordinates: [[1, 2]] },
        { type: 'Pointy', coordinates: [1, 2] },
        { coordinates: [1, 2] },
        { type: 'LineString', coordinates: [[0, 0]] },
        { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1]]] },
        { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1]]] },
        { type: 'MultiPoint', coordinates: [1, 2] },
        { type: 'GeometryCollection' },
        42,
        'POINT(1 2)',
        [7.4, 51.3],
    ];
    for (const geo of geoms) {
        await rejects('POST', 'Locations', { ...fixtures.location(9), location: geo }, 400, { field: 'location' });
        await rejects('POST', 'FeaturesOfInterest', { ...fixtures.featureOfInterest(9), feature: geo }, 400, { field: 'feature' });
    }
    await rejects('PATCH', `Locations(${g.location})`, { location: { type: 'Point', coordinates: [] } }, 400, { field: 'location' });
    // valid geometries of every type are accepted
    for (const geo of [
        { type: 'Point', coordinates: [7.4, 51.3, 120.5] },
        { type: 'MultiPoint', coordinates: [[7.4, 51.3], [7.5, 51.4]] },
        { type: 'LineString', coordinates: [[7.4, 51.3], [7.5, 51.4]] },
        { type: 'MultiLineString', coordinates: [[[7.4, 51.3], [7.5, 51.4]]] },
        { type: 'Polygon', coordinates: [[[7, 51], [8, 51], [8, 52], [7, 51]]] },
        { type: 'MultiPolygon', coordinates: [[[[7, 51], [8, 51], [8, 52], [7, 51]]]] },
        { type: 'GeometryCollection', geometries: [{ type: 'Point', coordinates: [7, 51] }] },
        { type: 'Feature', geometry: { type: 'Point', coordinates: [7, 51] }, properties: { a: 1 } },
    ]) {
        const r = await s.post('Locations', { ...fixtures.location(9), location: geo });
        assert.equal(r.status, 201, `valid ${geo.type}: ${r.text}`);
        assert.deepEqual(r.json.location, geo);
        assert.equal((await s.del(`Locations(${r.json['@iot.id']})`)).status, 200);
    }
});

test('links to missing ids: 400 naming the relation', async () => {
    await rejects('POST', 'Datastreams', ds({ Thing: { '@iot.id': MISSING } }), 400, { field: 'Thing' });
    await rejects('POST', 'Datastreams', ds({ Sensor: { '@iot.id': MISSING } }), 400, { field: 'Sensor' });
    await rejects('POST', 'Datastreams', ds({ ObservedProperty: { '@iot.id': MISSING } }), 400, { field: 'ObservedProperty' });
    await rejects('POST', 'Observations', obs({ Datastream: { '@iot.id': MISSING } }), 400, { field: 'Datastream' });
    await rejects('POST', 'Observations', obs({ FeatureOfInterest: { '@iot.id': MISSING } }), 400, { field: 'FeatureOfInterest' });
    await rejects('POST', 'Things', { ...fixtures.thing(9), Locations: [{ '@iot.id': MISSING }] }, 400, { field: 'Locations' });
    await rejects('POST', 'Things', { ...fixtures.thing(9), Locations: [fixtures.location(9), { '@iot.id': MISSING }] }, 400, { field: 'Locations' });
    await rejects('POST', 'Locations', { ...fixtures.location(9), Things: [{ '@iot.id': MISSING }] }, 400, { field: 'Things' });
    await rejects('POST', 'HistoricalLocations', { time: '2024-01-01T00:00:00Z', Thing: { '@iot.id': MISSING }, Locations: [{ '@iot.id': g.location }] }, 400, { field: 'Thing' });
    await rejects('POST', 'HistoricalLocations', { time: '2024-01-01T00:00:00Z', Thing: { '@iot.id': g.thing }, Locations: [{ '@iot.id': MISSING }] }, 400, { field: 'Locations' });
    await rejects('PATCH', `Datastreams(${g.meas})`, { Thing: { '@iot.id': MISSING } }, 400, { field: 'Thing' });
    await rejects('PATCH', `Things(${g.thing})`, { Locations: [{ '@iot.id': MISSING }] }, 400, { field: 'Locations' });
    assert.equal((await s.getJson(`Datastreams(${g.meas})/Thing`))['@iot.id'], g.thing);
    assert.deepEqual((await s.getJson(`Things(${g.thing})/Locations`)).value.map((l) => l['@iot.id']), [g.location]);
});

test('Observation without FeatureOfInterest on a Thing without Location: 400', async () => {
    const d = (await s.create('Datastreams', fixtures.datastream('nl', g.thing2, g.sensor, g.op)))['@iot.id'];
    await rejects('POST', 'Observations', { result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': d } }, 400);
    assert.equal((await s.del(`Datastreams(${d})`)).status, 200);
});

test('conflicting parent in the URL and the body: 400', async () => {
    await rejects('POST', `Datastreams(${g.meas})/Observations`, { result: 1, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': g.count } }, 400);
    await rejects('POST', `Things(${g.thing})/Datastreams`, ds({ Thing: { '@iot.id': g.thing2 } }), 400);
});

test('failed deep inserts leave nothing behind', async () => {
    const goodDs = (n) => ({
        name: `DS ${n}`, description: 'd', unitOfMeasurement: fixtures.uom(n), observationType: OT.measurement,
        Sensor: fixtures.sensor(n), ObservedProperty: fixtures.observedProperty(n),
    });
    // Thing + Location + Datastream without Sensor (as in the OGC test suite)
    await rejects('POST', 'Things', { ...fixtures.thing(9), Locations: [fixtures.location(9)], Datastreams: [without(goodDs(1), 'Sensor')] }, 400, { fieldRe: nested('Sensor') });
    // the last of several nested entities is invalid
    await rejects('POST', 'Things', {
        ...fixtures.thing(9), Locations: [fixtures.location(9)],
        Datastreams: [goodDs(1), goodDs(2), { ...goodDs(3), observationType: 'bogus' }],
    }, 400, { fieldRe: nested('observationType') });
    // an invalid Observation deep inside
    await rejects('POST', 'Things', {
        ...fixtures.thing(9), Locations: [fixtures.location(9)],
        Datastreams: [{ ...goodDs(1), Observations: [{ result: 1, phenomenonTime: '2024-01-01T00:00:00Z' }, { result: 'abc', phenomenonTime: '2024-01-01T00:01:00Z' }] }],
    }, 400, { fieldRe: nested('result') });
    // a link to a missing id deep inside
    await rejects('POST', 'Things', {
        ...fixtures.thing(9), Locations: [fixtures.location(9)],
        Datastreams: [goodDs(1), { ...goodDs(2), Sensor: { '@iot.id': MISSING } }],
    }, 400, { fieldRe: nested('Sensor') });
    // an invalid Location after valid Datastreams
    await rejects('POST', 'Things', {
        ...fixtures.thing(9), Datastreams: [goodDs(1)], Locations: [fixtures.location(9), { ...fixtures.location(10), location: { type: 'Point' } }],
    }, 400, { fieldRe: nested('location') });
    // Datastream deep inserts missing Sensor / ObservedProperty / Thing, each with Observations
    const dsDeep = {
        name: 'DS', description: 'd', unitOfMeasurement: fixtures.uom(1), observationType: OT.measurement,
        Thing: { '@iot.id': g.thing }, Sensor: fixtures.sensor(9), ObservedProperty: fixtures.observedProperty(9),
        Observations: [{ phenomenonTime: '2015-03-01T00:10:00Z', result: 10 }],
    };
    for (const k of ['Sensor', 'ObservedProperty', 'Thing']) {
        await rejects('POST', 'Datastreams', without(dsDeep, k), 400, { field: k });
    }
    // Observation with a new FeatureOfInterest missing its encodingType
    await rejects('POST', 'Observations', obs({ FeatureOfInterest: without(fixtures.featureOfInterest(9), 'encodingType') }), 400, { fieldRe: nested('encodingType') });
    // Observation in a new Datastream in a new Thing, the Observation invalid
    await rejects('POST', 'Things', {
        ...fixtures.thing(9), Locations: [fixtures.location(9)],
        Datastreams: [{ ...goodDs(1), Observations: [{ result: 1, phenomenonTime: '2024-99-01T00:00:00Z', FeatureOfInterest: fixtures.featureOfInterest(9) }] }],
    }, 400, { fieldRe: nested('phenomenonTime') });
});

test('unknown paths and entities: 404 with a JSON error', async () => {
    for (const p of [
        'Nothings', 'Things(999999999)', 'Things(9223372036854775807)', `Things(${g.thing})/Nope`,
        `Things(${g.thing})/nosuchproperty`, `Things(${g.thing})/Datastreams(${MISSING})`, `Datastreams(${MISSING})/Observations`,
        `Datastreams(${MISSING})/Thing`, `Things(${MISSING})/name`, `Things(${MISSING})/name/$value`, `Things(${g.thing})/name/$value/extra`,
        `Things(${g.thing})/Sensor`, `Observations(${g.obs})/Datastreams`, '/nope', '/v1.0/Things', '/v2/Things', '/v1.1/things',
        `Things(${g.thing})/Datastreams(${g.meas})/Sensor/Nope`,
    ]) {
        const r = await s.get(p);
        assertError(assert, r, 404, { where: `GET ${p}` });
    }
    for (const [m, p, b] of [['POST', 'Nothings', fixtures.thing(9)], ['PATCH', `Things(${MISSING})`, { name: 'x' }],
        ['DELETE', `Things(${MISSING})`, undefined], ['DELETE', 'Things(9223372036854775807)', undefined],
        ['POST', `Things(${MISSING})/Datastreams`, ds({})]]) {
        const r = await s.request(m, p, b);
        assert.ok(r.status === 404 || (p.endsWith('/Datastreams') && r.status === 400), `${m} ${p}: ${r.status}`);
        assert.equal(r.json?.code, r.status);
    }
    for (const p of ['Things(abc)', "Things('1')", 'Things(1.5)', 'Things()', 'Things(-1)', 'Things(99999999999999999999999)']) {
        const r = await s.get(p);
        assert.ok(r.status === 404 || r.status === 400, `GET ${p}: ${r.status}`);
        assertError(assert, r, r.status, { where: `GET ${p}` });
    }
});

test('wrong method: 405 with an Allow header', async () => {
    const cases = [
        ['DELETE', 'Things', ['GET', 'POST']],
        ['PATCH', 'Things', ['GET', 'POST']],
        ['PUT', 'Things', ['GET', 'POST']],
        ['POST', `Things(${g.thing})`, ['GET', 'PATCH', 'DELETE']],
        ['POST', '/v1.1', ['GET']],
        ['DELETE', '/v1.1', ['GET']],
        ['POST', `Things(${g.thing})/name`, ['GET']],
        ['DELETE', `Things(${g.thing})/name/$value`, ['GET']],
        ['POST', `Datastreams(${g.meas})/Thing`, ['GET']],
        ['PATCH', `Things(${g.thing})/Datastreams`, ['GET', 'POST']],
    ];
    for (const [m, p, allow] of cases) {
        const body = m === 'POST' || m === 'PATCH' || m === 'PUT' ? fixtures.thing(9) : undefined;
        const r = await rejects(m, p, body, 405);
        const hdr = (r.headers.get('allow') || '').split(',').map((x) => x.trim().toUpperCase()).filter(Boolean);
        for (const a of allow) assert.ok(hdr.includes(a), `${m} ${p}: Allow "${r.headers.get('allow')}" lacks ${a}`);
        assert.ok(!hdr.includes(m), `${m} ${p}: Allow must not list ${m}`);
    }
});

test('Content-Type other than JSON: 415; application/json with charset is fine', async () => {
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/xml', 'multipart/form-data; boundary=x']) {
        await rejects('POST', 'Things', JSON.stringify(fixtures.thing(9)), 415, { opts: { headers: { 'Content-Type': ct } } });
        await rejects('PATCH', `Things(${g.thing})`, JSON.stringify({ name: 'x' }), 415, { opts: { headers: { 'Content-Type': ct } } });
    }
    const r = await s.post('Things', JSON.stringify(fixtures.thing(9)), { headers: { 'Content-Type': 'application/json; charset=utf-8' } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await s.del(`Things(${r.json['@iot.id']})`)).status, 200);
});

test('body over the configured limit: 413, also when chunked; under the limit is fine', async () => {
    const small = await startServer({ args: ['--body-limit', '1024'] });
    try {
        const big = { name: 'big', description: 'x'.repeat(2000) };
        let r = await small.post('Things', big);
        assertError(assert, r, 413, { where: 'POST 2 KB' });
        r = await small.post('Things', { name: 'ok', description: 'x'.repeat(500) });
        assert.equal(r.status, 201, r.text);
        const id = r.json['@iot.id'];
        r = await small.patch(`Things(${id})`, big);
        assertError(assert, r, 413, { where: 'PATCH 2 KB' });
        assert.equal((await small.getJson(`Things(${id})`)).description, 'x'.repeat(500));
        // chunked, no Content-Length
        const payload = JSON.stringify(big);
        const chunks = [];
        for (let i = 0; i < payload.length; i += 300) {
            const c = payload.slice(i, i + 300);
            chunks.push(`${Buffer.byteLength(c).toString(16)}\r\n${c}\r\n`);
        }
        const raw = await small.raw([
            'POST /v1.1/Things HTTP/1.1', `Host: ${small.host}`, 'Content-Type: application/json',
            'Transfer-Encoding: chunked', 'Connection: close', '', chunks.join('') + '0\r\n\r\n',
        ].join('\r\n'));
        assert.equal(raw.status, 413, `chunked: ${raw.status} ${raw.text}`);
        // a Content-Length over the limit is refused without reading the body
        const raw2 = await small.raw([
            'POST /v1.1/Things HTTP/1.1', `Host: ${small.host}`, 'Content-Type: application/json',
            'Content-Length: 100000000', 'Connection: close', '', '{"name":',
        ].join('\r\n'), { timeoutMs: 10000 }).catch((e) => ({ status: `error ${e.message}` }));
        assert.equal(raw2.status, 413, `announced 100 MB: ${raw2.status}`);
        assert.equal(await small.count('Things'), 1);
        assert.equal((await small.get('/v1.1')).status, 200);
    } finally {
        assert.equal(await small.stop(), 0);
    }
});

test('invalid query options: 400, never a 5xx', async () => {
    for (const p of ['Things?$top=99999999999999999999', 'Things?$skip=99999999999999999999', 'Things?$top=1e3',
        'Things?$expand=Datastreams($expand=Observations($top=-1))', 'Things?$select=', 'Things?$orderby=name asc desc']) {
        const r = await s.get(p);
        assertError(assert, r, 400, { where: p });
    }
});

test('no client mistake is a 5xx: a grab bag of odd requests', async () => {
    const odd = [
        ['GET', 'Things?$top=1&$top=2'],
        ['GET', 'Things?%24top=1'],
        ['GET', 'Things?$orderby=name%20asc'],
        ['GET', `Things(${g.thing})?$select=name,name`],
        ['GET', 'Things?$expand=Datastreams,Datastreams'],
        ['GET', `Things(${g.thing})/$ref?$top=1`],
        ['GET', 'Things/$value'],
        ['GET', `Things(${g.thing})/$value`],
        ['GET', `Things(${g.thing})/Datastreams/$value`],
        ['GET', 'Things/$ref/$ref'],
        ['GET', 'Things%28' + g.thing + '%29'],
        ['GET', `Things(${g.thing})//name`],
        ['GET', `Things(${g.thing})/name/`],
        ['POST', 'Things/$ref', fixtures.thing(9)],
        ['POST', 'Observations', { result: 1, Datastream: null, FeatureOfInterest: { '@iot.id': g.foi } }],
        ['POST', 'Observations', { result: 1, Datastream: {}, FeatureOfInterest: { '@iot.id': g.foi } }],
        ['POST', 'Things', { name: 'a'.repeat(100000), description: 'long' }],
        ['POST', 'Things', { name: 'nul\u0000byte', description: 'x' }],
        ['POST', 'Things', { '@iot.id': 5, name: 'with id', description: 'x' }],
        ['POST', 'Things', { '@iot.selfLink': 'http://x/Things(1)', name: 'with selfLink', description: 'x' }],
        ['PATCH', `Things(${g.thing})`, { '@iot.id': g.thing + 1 }],
        ['PATCH', `Things(${g.thing})`, []],
        ['PATCH', `Things(${g.thing})`, null],
        ['GET', `Things?$select=${Array(2000).fill('name').join(',')}`],
        ['GET', `Things?$orderby=${Array(1000).fill('name asc').join(',')}`],
        ['GET', `Things?$expand=${'Datastreams($expand='.repeat(200)}Thing${')'.repeat(200)}`],
        ['GET', `Things(${g.thing})/${'Datastreams(1)/Thing/'.repeat(100)}name`],
    ];
    for (const [m, p, b] of odd) {
        const r = await s.request(m, p, b === null ? 'null' : b);
        assert.ok(r.status < 500, `${m} ${p} -> ${r.status} ${r.text.slice(0, 300)}`);
        if (r.status >= 400) {
            assert.equal(r.json?.code, r.status, `${m} ${p}: JSON error body: ${r.text.slice(0, 300)}`);
        }
        if (m === 'POST' && r.status === 201 && r.json?.['@iot.id'] && p === 'Things') {
            assert.equal((await s.del(`Things(${r.json['@iot.id']})`)).status, 200);
        }
    }
    assert.equal((await s.get('/v1.1')).status, 200);
    assert.equal((await s.getJson(`Things(${g.thing})`))['@iot.id'], g.thing);
});

test('malformed HTTP does not hang or kill the server', async () => {
    const r1 = await s.raw('GARBAGE\r\n\r\n').catch(() => ({ status: 'closed' }));
    assert.ok(r1.status === 'closed' || (r1.status >= 400 && r1.status < 500), `garbage: ${r1.status}`);
    const r2 = await s.raw(`POST /v1.1/Things HTTP/1.1\r\nHost: ${s.host}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nConnection: close\r\n\r\n{"na`, { end: true }).catch(() => ({ status: 'closed' }));
    assert.ok(r2.status === 'closed' || r2.status === 400, `short body: ${r2.status}`);
    assert.equal((await s.get('/v1.1')).status, 200);
});

test('a client that stalls in the middle of its body does not hold up a stop', async () => {
    const own = await startServer();
    const sock = net.connect(own.port, '127.0.0.1');
    await new Promise((resolve, reject) => { sock.on('connect', resolve); sock.on('error', reject); });
    sock.on('error', () => {});
    sock.write(`POST /v1.1/Things HTTP/1.1\r\nHost: ${own.host}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"name":`);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    assert.equal(await own.stop({ timeoutMs: 5000 }), 0);
    assert.ok(Date.now() - t0 < 3000, `stop took ${Date.now() - t0} ms`);
    sock.destroy();
});
