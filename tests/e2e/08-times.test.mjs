// Times: ISO 8601 instants and intervals with offsets are written back in
// UTC as YYYY-MM-DDTHH:MM:SS.sssZ, with 6 fractional digits when there is
// sub-millisecond precision; ordering uses the instant, not the text.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, fixtures } from './lib/harness.mjs';

let s;
const g = {};

before(async () => {
    s = await startServer();
    g.thing = (await s.create('Things', { ...fixtures.thing(1), Locations: [fixtures.location(1)] }))['@iot.id'];
    g.sensor = (await s.create('Sensors', fixtures.sensor(1)))['@iot.id'];
    g.op = (await s.create('ObservedProperties', fixtures.observedProperty(1)))['@iot.id'];
});

after(async () => { if (s) assert.equal(await s.stop(), 0); });

let dsn = 0;
async function newDs() {
    dsn++;
    return (await s.create('Datastreams', fixtures.datastream(dsn, g.thing, g.sensor, g.op)))['@iot.id'];
}

// POSTs an Observation with the given time properties, returns POST body and GET.
async function roundTrip(props, ds) {
    const r = await s.post('Observations', { result: 1, Datastream: { '@iot.id': ds || g.ds }, ...props });
    assert.equal(r.status, 201, `${JSON.stringify(props)}: ${r.text}`);
    const got = await s.getJson(`Observations(${r.json['@iot.id']})`);
    return { posted: r.json, got };
}

const INSTANTS = [
    // input -> output
    ['2024-03-10T10:34:56Z', '2024-03-10T10:34:56.000Z'],
    ['2024-03-10T10:34:56.000Z', '2024-03-10T10:34:56.000Z'],
    ['2024-03-10T12:34:56+02:00', '2024-03-10T10:34:56.000Z'],
    ['2024-03-10T12:34:56.789-05:30', '2024-03-10T18:04:56.789Z'],
    ['2024-03-10T12:34:56+00:00', '2024-03-10T12:34:56.000Z'],
    ['2024-03-10T12:34:56-00:00', '2024-03-10T12:34:56.000Z'],
    ['2024-03-10T12:34:56.5Z', '2024-03-10T12:34:56.500Z'],
    ['2024-03-10T12:34:56.12Z', '2024-03-10T12:34:56.120Z'],
    ['2024-03-10T12:34:56.123Z', '2024-03-10T12:34:56.123Z'],
    ['2024-03-10T12:34:56.123000Z', '2024-03-10T12:34:56.123Z'],
    ['2024-03-10T12:34:56.1234Z', '2024-03-10T12:34:56.123400Z'],
    ['2024-03-10T12:34:56.123456Z', '2024-03-10T12:34:56.123456Z'],
    ['2024-03-10T12:34:56.000001Z', '2024-03-10T12:34:56.000001Z'],
    ['2024-03-10T12:34:56.123456+01:00', '2024-03-10T11:34:56.123456Z'],
    ['2024-03-10T12:34:56.999999-01:00', '2024-03-10T13:34:56.999999Z'],
    ['2024-01-01T00:30:00+01:00', '2023-12-31T23:30:00.000Z'],
    ['2024-03-01T00:30:00+01:00', '2024-02-29T23:30:00.000Z'],
    ['2023-03-01T00:30:00+01:00', '2023-02-28T23:30:00.000Z'],
    ['2024-12-31T23:30:00-01:00', '2025-01-01T00:30:00.000Z'],
    ['2024-06-15T05:45:00+05:45', '2024-06-15T00:00:00.000Z'],
    ['2024-06-15T12:00:00+14:00', '2024-06-14T22:00:00.000Z'],
    ['2024-06-15T12:00:00-12:00', '2024-06-16T00:00:00.000Z'],
    ['1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
    ['1900-02-28T12:00:00+01:00', '1900-02-28T11:00:00.000Z'],
    ['2099-12-31T23:59:59.999999Z', '2099-12-31T23:59:59.999999Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
];

test('instants with offsets are normalised to UTC, milliseconds and microseconds preserved', async () => {
    g.ds = await newDs();
    for (const [input, want] of INSTANTS) {
        const { posted, got } = await roundTrip({ phenomenonTime: input, resultTime: input });
        assert.equal(posted.phenomenonTime, want, `phenomenonTime ${input} (POST response)`);
        assert.equal(got.phenomenonTime, want, `phenomenonTime ${input} (GET)`);
        assert.equal(got.resultTime, want, `resultTime ${input}`);
    }
});

test('basic-format offsets and lower-case designators are accepted as ISO 8601', async () => {
    const ds = await newDs();
    for (const [input, want] of [
        ['2024-03-10T12:34:56+0200', '2024-03-10T10:34:56.000Z'],
        ['2024-03-10t10:34:56z', '2024-03-10T10:34:56.000Z'],
    ]) {
        const r = await s.post('Observations', { result: 1, phenomenonTime: input, Datastream: { '@iot.id': ds } });
        // either accepted and normalised, or rejected as a client error - never stored verbatim
        assert.ok(r.status === 201 || r.status === 400, `${input}: ${r.status}`);
        if (r.status === 201) assert.equal(r.json.phenomenonTime, want, input);
        else assert.equal(r.json.field, 'phenomenonTime');
    }
});

test('intervals: each end normalised to UTC', async () => {
    const ds = await newDs();
    const cases = [
        ['2024-03-10T10:00:00+01:00/2024-03-10T11:00:00+01:00', '2024-03-10T09:00:00.000Z/2024-03-10T10:00:00.000Z'],
        ['2024-03-10T10:00:00Z/2024-03-10T10:00:00.001Z', '2024-03-10T10:00:00.000Z/2024-03-10T10:00:00.001Z'],
        ['2024-03-10T10:00:00.000001Z/2024-03-10T10:00:00.000002Z', '2024-03-10T10:00:00.000001Z/2024-03-10T10:00:00.000002Z'],
        ['2024-03-10T23:30:00-01:00/2024-03-11T01:30:00+01:00', '2024-03-11T00:30:00.000Z/2024-03-11T00:30:00.000Z'],
        ['2023-12-31T23:00:00-02:00/2024-01-01T03:00:00+02:00', '2024-01-01T01:00:00.000Z/2024-01-01T01:00:00.000Z'],
        ['2024-03-10T10:00:00.123Z/2024-03-10T12:00:00.123456+02:00', '2024-03-10T10:00:00.123Z/2024-03-10T10:00:00.123456Z'],
    ];
    for (const [input, want] of cases) {
        const { posted, got } = await roundTrip({ phenomenonTime: input, validTime: input }, ds);
        assert.equal(posted.phenomenonTime, want, `phenomenonTime ${input}`);
        assert.equal(got.phenomenonTime, want, `phenomenonTime ${input} (GET)`);
        assert.equal(got.validTime, want, `validTime ${input}`);
    }
});

test('HistoricalLocation time and PATCHed times are normalised too', async () => {
    const loc = (await s.getJson(`Things(${g.thing})/Locations`)).value[0]['@iot.id'];
    const h = await s.post('HistoricalLocations', { time: '2020-05-05T05:05:05.5+05:00', Thing: { '@iot.id': g.thing }, Locations: [{ '@iot.id': loc }] });
    assert.equal(h.status, 201, h.text);
    assert.equal(h.json.time, '2020-05-05T00:05:05.500Z');
    const hid = h.json['@iot.id'];
    const p = await s.patch(`HistoricalLocations(${hid})`, { time: '2020-05-05T05:05:05.000123-01:00' });
    assert.equal(p.status, 200, p.text);
    assert.equal(p.json.time, '2020-05-05T06:05:05.000123Z');
    assert.equal((await s.getJson(`HistoricalLocations(${hid})`)).time, '2020-05-05T06:05:05.000123Z');
    const ds = await newDs();
    const { posted } = await roundTrip({ phenomenonTime: '2024-01-01T00:00:00Z' }, ds);
    const q = await s.patch(`Observations(${posted['@iot.id']})`, { phenomenonTime: '2024-01-01T10:00:00+10:00', resultTime: '2024-01-01T00:00:00.25-00:30' });
    assert.equal(q.status, 200, q.text);
    assert.equal(q.json.phenomenonTime, '2024-01-01T00:00:00.000Z');
    assert.equal(q.json.resultTime, '2024-01-01T00:30:00.250Z');
});

test('$orderby on phenomenonTime orders by instant, not by the offset text', async () => {
    const ds = await newDs();
    const inputs = [
        '2024-01-01T10:00:00+05:00', // 05:00Z
        '2024-01-01T06:00:00Z', // 06:00Z
        '2024-01-01T04:30:00+00:00', // 04:30Z
        '2024-01-01T00:00:00-04:00', // 04:00Z
        '2024-01-01T04:30:00.000001Z', // 04:30:00.000001Z
        '2024-01-01T04:29:59.999999Z',
    ];
    for (const t of inputs) await roundTrip({ phenomenonTime: t }, ds);
    const r = await s.getJson(`Datastreams(${ds})/Observations?$orderby=phenomenonTime asc&$select=phenomenonTime`);
    assert.deepEqual(r.value.map((o) => o.phenomenonTime), [
        '2024-01-01T04:00:00.000Z',
        '2024-01-01T04:29:59.999999Z',
        '2024-01-01T04:30:00.000Z',
        '2024-01-01T04:30:00.000001Z',
        '2024-01-01T05:00:00.000Z',
        '2024-01-01T06:00:00.000Z',
    ]);
    const latest = await s.getJson(`Datastreams(${ds})?$expand=Observations($top=1;$orderby=phenomenonTime desc)`);
    assert.equal(latest.Observations[0].phenomenonTime, '2024-01-01T06:00:00.000Z');
    const d = await s.getJson(`Datastreams(${ds})`);
    assert.equal(d.phenomenonTime, '2024-01-01T04:00:00.000Z/2024-01-01T06:00:00.000Z');
});

test('the Datastream extent keeps sub-millisecond precision and uses interval ends', async () => {
    const ds = await newDs();
    await roundTrip({ phenomenonTime: '2024-05-05T00:00:00.000001+02:00', resultTime: '2024-05-05T00:00:00.5Z' }, ds);
    await roundTrip({ phenomenonTime: '2024-05-05T00:00:00Z/2024-05-05T01:00:00.000002+01:00', resultTime: '2024-05-05T00:00:00.75Z' }, ds);
    const d = await s.getJson(`Datastreams(${ds})`);
    assert.equal(d.phenomenonTime, '2024-05-04T22:00:00.000001Z/2024-05-05T00:00:00.000002Z');
    assert.equal(d.resultTime, '2024-05-05T00:00:00.500Z/2024-05-05T00:00:00.750Z');
});

test('times survive a restart unchanged', async () => {
    const ds = await newDs();
    const { posted } = await roundTrip({ phenomenonTime: '2024-07-07T07:07:07.123456+07:00', resultTime: '2024-07-07T00:00:00.001Z' }, ds);
    assert.equal(await s.stop(), 0);
    s = await startServer({ dbPath: s.dbPath });
    const got = await s.getJson(`Observations(${posted['@iot.id']})`);
    assert.equal(got.phenomenonTime, '2024-07-07T00:07:07.123456Z');
    assert.equal(got.resultTime, '2024-07-07T00:00:00.001Z');
});
