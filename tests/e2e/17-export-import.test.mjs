// Moving house (docs/operations.md): a dataset built through the HTTP API -
// all nine entity types, MultiDatastream, HistoricalLocations, generated
// FeaturesOfInterest, geometry, JSON properties, id gaps, LoRaWAN devices and
// a dead letter - goes through klammer export and klammer import into a
// fresh database, and a server on it answers every collection, links
// expanded, exactly as the first one; new entities get ids above the
// imported ones.  A bad line, a cut-short file and a non-empty target are
// refused with the line number, and leave nothing behind.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, startServer, runCli, tmpDir, freshDatabase, fixtures, OT, ENTITY_SETS } from './lib/harness.mjs';

const TOKEN = 'export-test-token';

// Every relation of every set, expanded to the ids of its members.
const RELS = {
    Things: ['Locations', 'HistoricalLocations', 'Datastreams', 'MultiDatastreams'],
    Locations: ['Things', 'HistoricalLocations'],
    HistoricalLocations: ['Thing', 'Locations'],
    Datastreams: ['Thing', 'Sensor', 'ObservedProperty', 'Observations'],
    MultiDatastreams: ['Thing', 'Sensor', 'ObservedProperties', 'Observations'],
    Sensors: ['Datastreams', 'MultiDatastreams'],
    ObservedProperties: ['Datastreams', 'MultiDatastreams'],
    Observations: ['Datastream', 'MultiDatastream', 'FeatureOfInterest'],
    FeaturesOfInterest: ['Observations'],
};

let src;
let dst;
const work = tmpDir('klammer-export-');
const file = path.join(work, 'hagen.jsonl');
const g = {};

process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

function tts(devEui, fCnt, hex) {
    return {
        end_device_ids: {
            device_id: `dev-${devEui.toLowerCase()}`,
            application_ids: { application_id: 'hagen-udp' },
            dev_eui: devEui, join_eui: '70B3D57ED0000000', dev_addr: '260B3F1A',
        },
        received_at: '2025-06-03T14:21:07.412903Z',
        uplink_message: {
            f_port: 5, f_cnt: fCnt, frm_payload: Buffer.from(hex.replace(/ /g, ''), 'hex').toString('base64'),
            rx_metadata: [{ gateway_ids: { gateway_id: 'gw-rathaus' }, rssi: -107, snr: 3.5 }],
            settings: { data_rate: { lora: { bandwidth: 125000, spreading_factor: 9 } }, frequency: '867300000' },
            received_at: '2025-06-03T14:21:07.412903Z',
        },
    };
}

// Every entity of a set with its links expanded, selfLinks made comparable.
async function snapshot(s, set) {
    const expand = RELS[set].map((r) => `${r}($select=id;$top=1000)`).join(',');
    const all = await s.all(`${set}?$orderby=id&$top=1000&$expand=${expand}`);
    return JSON.parse(JSON.stringify(all).split(s.root).join('ROOT'));
}

async function build(s) {
    const post = async (p, body) => {
        const r = await s.post(p, body);
        assert.equal(r.status, 201, `POST ${p}: ${r.text}`);
        return r.json['@iot.id'];
    };
    g.sensor = await post('Sensors', fixtures.sensor(1, { properties: { serial: 'EN-4711', calibrated: ['2024-03-01'] } }));
    g.sensor2 = await post('Sensors', fixtures.sensor(2));
    g.op = [];
    for (let i = 1; i <= 3; i++) g.op.push(await post('ObservedProperties', fixtures.observedProperty(i)));
    // Thing 1 at a point: its Observations get a generated FeatureOfInterest.
    g.thing = await post('Things', fixtures.thing(1, {
        properties: { owner: 'WBH', tags: ['Volme', 'Pegel'], depth: { max: 2.5, unit: 'm' }, 'ü': 'ß' },
        Locations: [fixtures.location(1, [7.4747, 51.3596])],
    }));
    // Thing 2 with a polygon Location and a deleted Thing between them (an id gap).
    const gone = await post('Things', fixtures.thing(9));
    assert.equal((await s.del(`Things(${gone})`)).status, 200);
    g.thing2 = await post('Things', fixtures.thing(2, {
        Locations: [fixtures.location(2, undefined, {
            location: { type: 'Polygon', coordinates: [[[7.4, 51.3], [7.5, 51.3], [7.5, 51.4], [7.4, 51.3]]] },
        })],
    }));
    g.thing3 = await post('Things', fixtures.thing(3));
    // The Thing moves: a second Location and HistoricalLocation; one more in the past.
    g.loc2 = await post('Locations', fixtures.location(3, [7.48, 51.36]));
    const r = await s.patch(`Things(${g.thing})`, { Locations: [{ '@iot.id': g.loc2 }] });
    assert.equal(r.status, 200, r.text);
    const loc1 = (await s.getJson(`Things(${g.thing2})/Locations`)).value[0]['@iot.id'];
    await post('HistoricalLocations', { time: '2020-05-01T08:00:00.123456Z', Thing: { '@iot.id': g.thing3 }, Locations: [{ '@iot.id': loc1 }] });

    g.ds = await post('Datastreams', fixtures.datastream(1, g.thing, g.sensor, g.op[0], {
        unitOfMeasurement: { name: 'degree Celsius', symbol: 'Cel', definition: 'http://unitsofmeasure.org/ucum.html#Cel' },
        observedArea: { type: 'Polygon', coordinates: [[[7.47, 51.35], [7.48, 51.35], [7.48, 51.36], [7.47, 51.35]]] },
        properties: { interval: 'PT15M' },
    }));
    g.dsTruth = await post('Datastreams', fixtures.datastream(2, g.thing2, g.sensor2, g.op[1], { observationType: OT.truth }));
    g.dsAny = await post('Datastreams', fixtures.datastream(3, g.thing3, g.sensor2, g.op[2], { observationType: OT.observation }));
    g.dsMm = await post('Datastreams', fixtures.datastream(4, g.thing2, g.sensor, g.op[2], {
        unitOfMeasurement: { name: 'millimetre', symbol: 'mm', definition: 'http://unitsofmeasure.org/ucum.html#mm' },
    }));
    g.mds = await post('MultiDatastreams', {
        name: 'Klima', description: 'temperature and humidity', observationType: OT.complex,
        multiObservationDataTypes: [OT.measurement, OT.truth],
        unitOfMeasurements: [fixtures.uom(1), { name: 'flag', symbol: '', definition: 'x' }],
        Thing: { '@iot.id': g.thing }, Sensor: { '@iot.id': g.sensor },
        ObservedProperties: [{ '@iot.id': g.op[2] }, { '@iot.id': g.op[0] }],
    });

    // Observations: generated and given features, times, every result type.
    for (let i = 0; i < 30; i++) {
        await post(`Datastreams(${g.ds})/Observations`, {
            phenomenonTime: new Date(Date.UTC(2024, 0, 1, 0, i * 15)).toISOString(),
            resultTime: new Date(Date.UTC(2024, 0, 1, 0, i * 15, 5)).toISOString(),
            result: i % 3 === 0 ? i : i + 0.25,
        });
    }
    const dropped = await post(`Datastreams(${g.ds})/Observations`, { phenomenonTime: '2030-01-01T00:00:00Z', result: 99 });
    assert.equal((await s.del(`Observations(${dropped})`)).status, 200);
    await post('Observations', {
        phenomenonTime: '2024-02-01T00:00:00Z/2024-02-02T00:00:00Z', result: 7.5,
        validTime: '2024-02-01T00:00:00Z/2024-03-01T00:00:00Z', parameters: { method: 'manual', n: [1, 2] },
        resultQuality: { accuracy: 0.1 }, Datastream: { '@iot.id': g.ds },
        FeatureOfInterest: fixtures.featureOfInterest(1, [7.5, 51.4], { properties: { river: 'Volme' } }),
    });
    await post(`Datastreams(${g.dsTruth})/Observations`, { phenomenonTime: '2024-01-01T00:00:00Z', result: true,
        FeatureOfInterest: fixtures.featureOfInterest(2) });
    await post(`Datastreams(${g.dsAny})/Observations`, { phenomenonTime: '2024-01-01T00:00:00Z', result: { level: 'high', list: [1, 'a', null] },
        FeatureOfInterest: fixtures.featureOfInterest(3) });
    await post(`Datastreams(${g.dsAny})/Observations`, { phenomenonTime: '2024-01-02T00:00:00Z', result: 'text \u2603 "quoted"',
        FeatureOfInterest: fixtures.featureOfInterest(4) });
    await post(`Datastreams(${g.dsAny})/Observations`, { phenomenonTime: '2024-01-03T00:00:00.000001Z', result: null,
        FeatureOfInterest: fixtures.featureOfInterest(5) });
    for (let i = 0; i < 3; i++) {
        await post(`MultiDatastreams(${g.mds})/Observations`, { phenomenonTime: `2024-01-0${i + 1}T12:00:00Z`, result: [20 + i, i % 2 === 0] });
    }

    // LoRaWAN: two devices (one replaced later), an uplink, a dead letter.
    let d = await s.post('/api/devices', { devEui: 'A81758FFFE031234', name: 'Klima Rathaus', thingId: g.thing, decoder: 'elsys',
        mapping: { temperature: { datastream: g.ds } } });
    assert.equal(d.status, 201, d.text);
    d = await s.post('/api/devices', { devEui: '70B3D57BA0000002', decoder: 'spec',
        decoderSpec: 'name=lvl; port=2; length=2\nlevel:u16be@0 mm', mapping: { level: { datastream: g.dsMm } } });
    assert.equal(d.status, 201, d.text);
    await new Promise((resolve) => setTimeout(resolve, 5));
    d = await s.put('/api/devices/70B3D57BA0000002', { name: 'Pegel Volme', decoder: 'spec',
        decoderSpec: 'name=lvl; port=2; length=2\nlevel:u16be@0 mm', mapping: { level: { datastream: g.dsMm } } });
    assert.equal(d.status, 200, d.text);
    d = await s.post('/api/ingest/tts', tts('A81758FFFE031234', 7, '01 00D7 02 2D 04 0064 05 02 06 036B 07 0E10'), { headers: { 'X-Webhook-Token': TOKEN } });
    assert.equal(d.json.outcome, 'stored', d.text);
    d = await s.post('/api/ingest/tts', tts('0000000000000BAD', 1, '00'), { headers: { 'X-Webhook-Token': TOKEN } });
    assert.equal(d.json.outcome, 'dead_lettered', d.text);
    // The newest Sensor is deleted: its id must not be given again after the move.
    const last = await post('Sensors', fixtures.sensor(9));
    assert.equal((await s.del(`Sensors(${last})`)).status, 200);
    g.deletedSensor = last;
}

before(async () => {
    src = await startServer({ args: ['--ingest-webhook-token', TOKEN] });
    await build(src);
});

after(async () => {
    if (src) assert.equal(await src.stop(), 0);
    if (dst) assert.equal(await dst.stop(), 0);
});

test('klammer export writes a header, every entity type in order, devices, dead letters and counts', async () => {
    // The source server keeps running: the export reads one consistent snapshot.
    const r = await runCli(['export', '--db', src.dbPath, '--out', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!fs.existsSync(`${file}.part`));
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    const head = lines[0];
    assert.equal(head.type, 'klammer-export');
    assert.equal(head.format, 'klammer-sensorthings-jsonl');
    assert.equal(head.formatVersion, 1);
    assert.match(head.klammer, /^\d+\.\d+/);
    assert.ok(Math.abs(Date.parse(head.exported) - Date.now()) < 60000);
    const end = lines[lines.length - 1];
    assert.equal(end.type, 'end');
    assert.equal(end.lines, lines.length);
    assert.equal(end.nextIds.Sensor, g.deletedSensor + 1);
    // No line refers to a line after it.
    const order = ['Sensor', 'ObservedProperty', 'FeatureOfInterest', 'Location', 'Thing', 'HistoricalLocation',
        'Datastream', 'MultiDatastream', 'Observation', 'Device', 'DeadLetter'];
    const types = lines.slice(1, -1).map((l) => l.type);
    assert.deepEqual(types, [...types].sort((a, b) => order.indexOf(a) - order.indexOf(b)));
    for (const t of order) assert.equal(end.counts[t], types.filter((x) => x === t).length, t);
    for (const set of ENTITY_SETS) assert.equal(end.counts[set === 'FeaturesOfInterest' ? 'FeatureOfInterest' : set.replace(/ies$/, 'y').replace(/s$/, '')], await src.count(set), set);
    // An entity line is the API's entity with its link ids.
    const ds = lines.find((l) => l.type === 'Datastream' && l['@iot.id'] === g.ds);
    assert.deepEqual(ds.Thing, { '@iot.id': g.thing });
    assert.deepEqual(ds.Sensor, { '@iot.id': g.sensor });
    assert.deepEqual(ds.ObservedProperty, { '@iot.id': g.op[0] });
    assert.equal(ds['@iot.selfLink'], undefined);
    assert.deepEqual(ds.observedArea, (await src.getJson(`Datastreams(${g.ds})`)).observedArea);
    const mds = lines.find((l) => l.type === 'MultiDatastream');
    assert.deepEqual(mds.ObservedProperties, [{ '@iot.id': g.op[2] }, { '@iot.id': g.op[0] }]);
    const thing = lines.find((l) => l.type === 'Thing' && l['@iot.id'] === g.thing);
    assert.deepEqual(thing.Locations, [{ '@iot.id': g.loc2 }]);
    assert.equal(lines.filter((l) => l.type === 'Device').length, 2);
    const dl = lines.find((l) => l.type === 'DeadLetter');
    assert.equal(dl.source, (await src.getJson('/api/dead-letters')).value[0].source);
});

test('klammer import into a fresh database: every collection, links expanded, is the same', async () => {
    const target = freshDatabase(tmpDir('klammer-import-'));
    const r = await runCli(['import', '--db', target, '--in', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /imported \d+ lines/);
    dst = await startServer({ dbPath: target, args: ['--ingest-webhook-token', TOKEN] });
    for (const set of ENTITY_SETS) {
        const a = await snapshot(src, set);
        assert.ok(a.length > 0, `${set} has entities`);
        for (const rel of RELS[set]) {
            assert.ok(a.some((e) => (Array.isArray(e[rel]) ? e[rel].length > 0 : e[rel] && e[rel]['@iot.id'])), `${set} have ${rel}`);
        }
        assert.deepEqual(await snapshot(dst, set), a, set);
    }
    // The derived statistics of the streams, one by one.
    for (const p of [`Datastreams(${g.ds})`, `MultiDatastreams(${g.mds})`, `Things(${g.thing})?$expand=Locations,HistoricalLocations($expand=Locations)`]) {
        assert.deepEqual(JSON.parse(JSON.stringify(await dst.getJson(p)).split(dst.root).join('R')),
            JSON.parse(JSON.stringify(await src.getJson(p)).split(src.root).join('R')), p);
    }
    assert.deepEqual((await dst.getJson('/api/devices')).value, (await src.getJson('/api/devices')).value);
    const letters = async (s) => (await s.getJson('/api/dead-letters')).value.map(({ id, ...rest }) => rest);
    assert.deepEqual(await letters(dst), await letters(src));
});

test('after an import, new entities get the ids the old database would give, features are reused', async () => {
    for (const [set, body] of [['Things', fixtures.thing(5)], ['Sensors', fixtures.sensor(5)], ['ObservedProperties', fixtures.observedProperty(5)]]) {
        const max = Math.max(...(await src.all(`${set}?$select=id&$top=1000`)).map((e) => e['@iot.id']));
        const a = await src.post(set, body);
        const b = await dst.post(set, body);
        assert.equal(b.status, 201, b.text);
        assert.ok(b.json['@iot.id'] > max, `${set}: new id ${b.json['@iot.id']} > ${max}`);
        assert.equal(b.json['@iot.id'], a.json['@iot.id'], set);
    }
    assert.equal((await dst.get(`Sensors(${g.deletedSensor})`)).status, 404);
    // An Observation without a FeatureOfInterest gets the same generated
    // feature on both servers, and the same id.
    const post = (s) => s.post(`Datastreams(${g.ds})/Observations`, { phenomenonTime: '2025-01-01T00:00:00Z', result: 1 });
    const a = await post(src);
    const b = await post(dst);
    assert.equal(a.status, 201, a.text);
    assert.equal(b.status, 201, b.text);
    assert.equal(b.json['@iot.id'], a.json['@iot.id']);
    const foi = async (s, id) => (await s.getJson(`Observations(${id})/FeatureOfInterest`))['@iot.id'];
    assert.equal(await foi(dst, b.json['@iot.id']), await foi(src, a.json['@iot.id']));
});

test('standard output and standard input work as the file does', async () => {
    const out = await runCli(['export', '--db', src.dbPath, '--out', '-']);
    assert.equal(out.code, 0, out.stderr);
    const target = freshDatabase(tmpDir('klammer-import-'));
    const r = await runCli(['import', '--db', target], { input: out.stdout });
    assert.equal(r.code, 0, r.stderr);
    const again = await runCli(['export', '--db', target]);
    assert.equal(again.code, 0, again.stderr);
    const body = (t) => t.split('\n').slice(1).join('\n');
    assert.equal(body(again.stdout), body(out.stdout));
});

test('import refuses a database that holds data', async () => {
    const r = await runCli(['import', '--db', src.dbPath, '--in', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is not empty/);
});

test('a bad line is named with its number and leaves nothing behind', async () => {
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    const target = freshDatabase(tmpDir('klammer-import-'));
    const dsLine = lines.findIndex((l) => JSON.parse(l).type === 'Datastream');
    const cases = [
        [dsLine, lines[dsLine].replace(/"Thing":\{"@iot.id":\d+\}/, '"Thing":{"@iot.id":424242}'), /line \d+: .*Thing 424242 does not come before/],
        [dsLine, lines[dsLine].replace(/"name":/, '"colour":"red","name":'), /line \d+: .*no member 'colour'/],
        [dsLine, '{"type":"Datastream",', /line \d+: .*column/],
        [lines.length - 1, '', /cut short/],
    ];
    for (const [at, replacement, want] of cases) {
        const bad = [...lines];
        if (replacement === '') bad.splice(at, 1); else bad[at] = replacement;
        const r = await runCli(['import', '--db', target], { input: `${bad.join('\n')}\n` });
        assert.equal(r.code, 1, `${want}: ${r.stderr}`);
        assert.match(r.stderr, want);
        if (replacement !== '') assert.match(r.stderr, new RegExp(`line ${at + 1}:`));
        assert.match(r.stderr, /nothing was imported/);
    }
    // Nothing was kept: the whole file still imports into the same database.
    const r = await runCli(['import', '--db', target, '--in', file]);
    assert.equal(r.code, 0, r.stderr);
});

test('export of a missing database and import of a missing file fail clearly', async () => {
    let r = await runCli(['export', '--db', path.join(work, 'nope.db'), '--out', path.join(work, 'x.jsonl')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no database/);
    assert.ok(!fs.existsSync(path.join(work, 'nope.db')));
    r = await runCli(['import', '--db', freshDatabase(tmpDir('klammer-import-')), '--in', path.join(work, 'nope.jsonl')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /cannot read/);
});
