// PostgreSQL only (skipped on SQLite): the database restarting under load,
// and several klammer nodes on one database.
//
// A restart cuts every session.  Requests in that window are answered 503
// with Retry-After, never with a wrong answer; afterwards every connection
// is re-established and everything works; no acknowledged write is lost.
// Nodes keep no state of their own: what one writes the other reads, and
// ids come from the database's sequences, so concurrent creates through two
// nodes never collide.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, startServer, runCli, tmpDir, fixtures, makeStream, OT, sleep, waitFor, freePort, PG, pgFreshDb, pgQuery, ENTITY_SETS } from './lib/harness.mjs';
import { Broker, findBin } from './lib/broker.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const CLUSTER = process.env.KLAMMER_TEST_PG_DIR || '';
const skip = !PG ? 'PostgreSQL only (KLAMMER_TEST_PG)' : false;

const servers = [];
after(async () => {
    for (const s of servers) if (s.running) await s.kill();
});

async function start(opts) {
    const s = await startServer(opts);
    servers.push(s);
    return s;
}

const idFromLocation = (loc) => {
    const m = /\((\d+)\)$/.exec(loc || '');
    return m ? Number(m[1]) : null;
};

// Asynchronous, so that the requests go on while the database is down.
function restartCluster() {
    return promisify(execFile)('sh', [path.resolve(here, '../../tools/pg-cluster.sh'), 'restart', CLUSTER]);
}

test('the database restarts under load: 503 with Retry-After meanwhile, nothing acknowledged lost, then everything works',
    { skip: skip || (!CLUSTER && 'needs KLAMMER_TEST_PG_DIR (make e2e-pg)') }, async () => {
        const s = await start({ args: ['--threads', '4'] });
        const { ds } = await makeStream(s);
        const acked = new Map(); // id -> result
        const seen = [];         // [phase, method, status, retryAfter]
        let phase = 'before';
        let stop = false;
        let n = 0;
        async function writer() {
            while (!stop) {
                const v = n++;
                let r;
                try {
                    r = await s.post('Observations', { result: v, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': ds } });
                } catch (e) {
                    seen.push([phase, 'POST', `fetch failed: ${e.message}`, null]);
                    continue;
                }
                seen.push([phase, 'POST', r.status, r.headers.get('retry-after')]);
                if (r.status === 201) acked.set(idFromLocation(r.headers.get('location')), v);
                if (r.status === 503) await sleep(20);
            }
        }
        async function reader() {
            while (!stop) {
                const r = await s.get(`Datastreams(${ds})/Observations?$top=5&$count=true`);
                seen.push([phase, 'GET', r.status, r.headers.get('retry-after')]);
                if (r.status === 200) assert.ok(r.json['@iot.count'] >= 0 && Array.isArray(r.json.value));
                if (r.status === 503) await sleep(20);
            }
        }
        const workers = [writer(), writer(), writer(), reader(), reader()];
        await sleep(400);
        phase = 'restart';
        await restartCluster();
        phase = 'after';
        // Every session is re-established: writes and reads succeed again.
        await waitFor(() => seen.filter(([p, m, st]) => p === 'after' && m === 'POST' && st === 201).length >= 20 &&
            seen.filter(([p, m, st]) => p === 'after' && m === 'GET' && st === 200).length >= 10,
        { timeoutMs: 20000, what: 'writes and reads after the restart' });
        stop = true;
        await Promise.all(workers);

        for (const [p, m, st, ra] of seen) {
            const ok = m === 'POST' ? [201, 503] : [200, 503];
            assert.ok(ok.includes(st), `${m} during phase ${p}: status ${st}`);
            if (st === 503) assert.ok(ra && Number(ra) > 0, `503 without Retry-After (${m}, phase ${p})`);
        }
        assert.ok(seen.some(([p, , st]) => p === 'before' && st !== 503), 'requests succeeded before the restart');
        assert.ok(seen.some(([p, , st]) => p !== 'before' && st === 503), 'requests met the restart');

        // Nothing acknowledged was lost, and each result is the one written.
        const stored = new Map();
        let url = `Datastreams(${ds})/Observations?$select=id,result&$orderby=id asc&$top=10000`;
        while (url) {
            const page = await s.getJson(url);
            for (const o of page.value) stored.set(o['@iot.id'], o.result);
            url = page['@iot.nextLink'];
        }
        for (const [id, v] of acked) assert.equal(stored.get(id), v, `acknowledged observation ${id}`);
        const d = await s.getJson(`Datastreams(${ds})/Observations?$count=true&$top=0`);
        assert.equal(d['@iot.count'], stored.size, 'obs_count kept by the trigger matches the rows');
        assert.equal(await s.stop(), 0);
    });

test('two nodes on one database: what one writes the other reads', { skip }, async () => {
    const a = await start();
    const b = await start({ dbPath: a.dbPath });
    const { thing, ds } = await makeStream(a);
    const t = await b.getJson(`Things(${thing})?$expand=Datastreams,Locations`);
    assert.equal(t.Datastreams[0]['@iot.id'], ds);
    assert.equal(t.Locations.length, 1);
    const o = await b.create('Observations', { result: 21.5, phenomenonTime: '2024-05-01T12:00:00Z', Datastream: { '@iot.id': ds } });
    const back = await a.getJson(`Observations(${o['@iot.id']})`);
    assert.equal(back.result, 21.5);
    const r = await a.del(`Things(${thing})`);
    assert.ok(r.status >= 200 && r.status < 300, `DELETE: ${r.status} ${r.text}`);
    assert.equal((await b.get(`Datastreams(${ds})`)).status, 404, 'the cascade is seen by the other node');
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
});

test('two nodes with mqtt_create_shared: an Observation published over MQTT is stored once, not once per node', { skip }, async () => {
    const dir = tmpDir('klammer-shared-');
    const broker = new Broker(await freePort(), dir);
    await broker.start();
    try {
        const mqtt = ['--mqtt', `mqtt://127.0.0.1:${broker.port}`, '--mqtt-create-shared', 'true'];
        const a = await start({ args: [...mqtt, '--mqtt-client-id', `node-a-${process.pid}`] });
        const b = await start({ dbPath: a.dbPath, args: [...mqtt, '--mqtt-client-id', `node-b-${process.pid}`] });
        for (const n of [a, b])
            await waitFor(async () => (await n.getJson('/health')).mqtt.state === 'connected', { timeoutMs: 10000, what: 'MQTT connected' });
        const { ds } = await makeStream(a);
        const N = 40;
        const lines = Array.from({ length: N }, (_, i) => JSON.stringify({ result: i, phenomenonTime: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString() }));
        await new Promise((resolve, reject) => {
            const p = spawn(findBin('mosquitto_pub'), ['-h', '127.0.0.1', '-p', String(broker.port), '-q', '1',
                '-t', `v1.1/Datastreams(${ds})/Observations`, '-l'], { stdio: ['pipe', 'ignore', 'inherit'] });
            p.on('error', reject);
            p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`mosquitto_pub exit ${code}`))));
            p.stdin.end(lines.join('\n') + '\n');
        });
        await waitFor(async () => (await a.count(`Datastreams(${ds})/Observations`)) >= N, { timeoutMs: 15000, what: `${N} observations` });
        await sleep(1000);
        const obs = await a.all(`Datastreams(${ds})/Observations?$select=result&$top=1000`);
        assert.equal(obs.length, N, 'each stored once');
        assert.equal(new Set(obs.map((o) => o.result)).size, N);
        const created = [(await a.getJson('/health')).mqtt.created, (await b.getJson('/health')).mqtt.created];
        assert.equal(created[0] + created[1], N, `split between the nodes: ${created}`);
        assert.equal(await a.stop(), 0);
        assert.equal(await b.stop(), 0);
    } finally {
        await broker.stop();
    }
});

test('two nodes on one database: concurrent creates through both never collide', { skip }, async () => {
    const a = await start();
    const b = await start({ dbPath: a.dbPath });
    const { ds } = await makeStream(a);
    const N = 60;
    const posts = [];
    for (let i = 0; i < N; i++) {
        const node = i % 2 ? a : b;
        posts.push(node.post('Things', fixtures.thing(1000 + i)));
        posts.push(node.post('Observations', { result: i, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': ds } }));
    }
    const rs = await Promise.all(posts);
    for (const r of rs) assert.equal(r.status, 201, r.text);
    const ids = rs.map((r) => r.json['@iot.id']);
    const things = ids.filter((_, i) => i % 2 === 0);
    const obs = ids.filter((_, i) => i % 2 === 1);
    assert.equal(new Set(things).size, N, 'Thing ids are distinct');
    assert.equal(new Set(obs).size, N, 'Observation ids are distinct');
    for (const node of [a, b]) {
        assert.equal(await node.count('Things'), N + 1);
        const d = await node.getJson(`Datastreams(${ds})/Observations?$count=true&$top=0`);
        assert.equal(d['@iot.count'], N);
    }
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
});

test('two nodes starting together on an empty database: one migrates, both serve', { skip }, async () => {
    const db = pgFreshDb();
    const [a, b] = await Promise.all([start({ dbPath: db }), start({ dbPath: db })]);
    assert.equal(pgQuery(db, 'SELECT count(*) FROM klammer_schema'), '1');
    const t = await a.create('Things', fixtures.thing(1));
    assert.equal((await b.getJson(`Things(${t['@iot.id']})`)).name, 'Thing 1');
    assert.equal(await a.stop(), 0);
    assert.equal(await b.stop(), 0);
});

test('moving from SQLite to PostgreSQL: export, import, the same data, new ids above the old', { skip }, async () => {
    const dir = tmpDir('klammer-move-');
    const lite = await start({ dbPath: path.join(dir, 'k.db') }); // a file: SQLite
    const { ds } = await makeStream(lite);
    for (let i = 0; i < 5; i++) {
        await lite.create('Observations', { result: i + 0.5, phenomenonTime: `2024-01-0${i + 1}T00:00:00Z`, Datastream: { '@iot.id': ds } });
    }
    const gone = await lite.create('Things', fixtures.thing(9));
    assert.equal((await lite.del(`Things(${gone['@iot.id']})`)).status, 200);
    assert.equal(await lite.stop(), 0);
    const file = path.join(dir, 'k.jsonl');
    let r = await runCli(['export', '--db', lite.dbPath, '--out', file]);
    assert.equal(r.code, 0, r.stderr);
    const db = pgFreshDb();
    r = await runCli(['import', '--db', db, '--in', file]);
    assert.equal(r.code, 0, r.stderr);
    const before = await start({ dbPath: lite.dbPath });
    const after = await start({ dbPath: db });
    for (const set of ENTITY_SETS) {
        const a = await before.getJson(`${set}?$orderby=id&$top=1000`);
        const b = await after.getJson(`${set}?$orderby=id&$top=1000`);
        assert.deepEqual(JSON.parse(JSON.stringify(b.value).split(after.root).join('R')),
            JSON.parse(JSON.stringify(a.value).split(before.root).join('R')), set);
    }
    // The sequences continue above the imported ids and the deleted one.
    const t = await after.create('Things', fixtures.thing(10));
    assert.ok(t['@iot.id'] > gone['@iot.id'], `new id ${t['@iot.id']} > ${gone['@iot.id']}`);
    assert.equal(await before.stop(), 0);
    assert.equal(await after.stop(), 0);
});

test('observations carry their stream in stream_id: POST, CreateObservations, PATCH of the Datastream, MultiDatastream', { skip }, async () => {
    const s = await start();
    const { thing, sensor, op, ds } = await makeStream(s);
    const ds2 = (await s.create('Datastreams', fixtures.datastream(2, thing, sensor, op)))['@iot.id'];
    const uom = { name: 'Grad Celsius', symbol: '°C', definition: 'http://unitsofmeasure.org/ucum.html#Cel' };
    const mds = (await s.create('MultiDatastreams', {
        name: 'Wetter', description: 'd', observationType: OT.complex,
        multiObservationDataTypes: [OT.measurement, OT.measurement], unitOfMeasurements: [uom, uom],
        Thing: { '@iot.id': thing }, Sensor: { '@iot.id': sensor },
        ObservedProperties: [{ '@iot.id': op }, { '@iot.id': op }],
    }))['@iot.id'];
    const a = (await s.create('Observations', { result: 1, phenomenonTime: '2024-05-01T12:00:00Z', Datastream: { '@iot.id': ds } }))['@iot.id'];
    const m = (await s.create('Observations', { result: [1, 2], phenomenonTime: '2024-05-01T12:00:00Z', MultiDatastream: { '@iot.id': mds } }))['@iot.id'];
    const rows = [];
    for (let i = 0; i < 70; i++) rows.push([`2024-05-02T00:${String(i % 60).padStart(2, '0')}:00Z`, i]);
    const r = await s.post('CreateObservations', [
        { Datastream: { '@iot.id': ds2 }, components: ['phenomenonTime', 'result'], dataArray: rows },
        { MultiDatastream: { '@iot.id': mds }, components: ['phenomenonTime', 'result'], dataArray: [['2024-05-03T00:00:00Z', [3, 4]]] },
    ]);
    assert.equal(r.status, 201, r.text);
    assert.ok(!r.json.includes('error'), r.text);
    const p = await s.patch(`Observations(${a})`, { Datastream: { '@iot.id': ds2 } });
    assert.ok(p.status >= 200 && p.status < 300, `PATCH: ${p.status} ${p.text}`);
    const db = s.dbPath;
    assert.equal(pgQuery(db, `SELECT stream_id FROM observations WHERE id = ${a}`), String(ds2));
    assert.equal(pgQuery(db, `SELECT stream_id FROM observations WHERE id = ${m}`), String(mds));
    assert.equal(pgQuery(db, `SELECT count(*) FROM observations WHERE stream_id = ${ds2} AND datastream_id = ${ds2}`), '71');
    assert.equal(pgQuery(db, `SELECT count(*) FROM observations WHERE stream_id = ${mds} AND multi_datastream_id = ${mds}`), '2');
    assert.equal(pgQuery(db, 'SELECT count(*) FROM observations WHERE stream_id IS DISTINCT FROM coalesce(datastream_id, multi_datastream_id)'), '0');
    // Read by id alone, and the statistics, as before.
    assert.equal((await s.getJson(`Observations(${a})/Datastream`))['@iot.id'], ds2);
    assert.equal(await s.count(`Datastreams(${ds2})/Observations`), 71);
    assert.equal(await s.count(`Datastreams(${ds})/Observations`), 0);
    assert.equal(await s.stop(), 0);
});
