// Durability and concurrency: group commit answers a POST only after its
// transaction committed, so SIGKILL in the middle of a burst of concurrent
// POSTs loses no acknowledged observation; concurrent writes get distinct ids.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, fixtures, sleep, ASAN } from './lib/harness.mjs';

const servers = [];
after(async () => {
    for (const s of servers) if (s.running) await s.kill();
});

async function setup(s, n = 1) {
    const thing = (await s.create('Things', { ...fixtures.thing(n), Locations: [fixtures.location(n)] }))['@iot.id'];
    const sensor = (await s.create('Sensors', fixtures.sensor(n)))['@iot.id'];
    const op = (await s.create('ObservedProperties', fixtures.observedProperty(n)))['@iot.id'];
    const ds = (await s.create('Datastreams', fixtures.datastream(n, thing, sensor, op)))['@iot.id'];
    return { thing, ds };
}

// Every observation of a datastream as a Map id -> result (pages followed).
async function readAll(s, ds) {
    const out = new Map();
    let url = `Datastreams(${ds})/Observations?$select=id,result&$orderby=id asc&$top=10000`;
    for (let i = 0; url && i < 1000; i++) {
        const page = await s.getJson(url);
        for (const o of page.value) {
            assert.ok(!out.has(o['@iot.id']), `id ${o['@iot.id']} listed twice`);
            out.set(o['@iot.id'], o.result);
        }
        url = page['@iot.nextLink'];
    }
    return out;
}

const idFromLocation = (loc) => {
    const m = /\/Observations\((\d+)\)$/.exec(loc || '');
    return m ? Number(m[1]) : null;
};

test('SIGKILL during a burst of 32 concurrent POST loops: every acknowledged observation survives', { timeout: 90000 }, async (t) => {
    const s = await startServer();
    servers.push(s);
    const { ds } = await setup(s);
    const url = s.url('Observations');
    const acked = new Map(); // id -> result
    const unexpected = [];
    let killed = false;
    const loop = async (w) => {
        for (let i = 0; !killed; i++) {
            const result = w * 1000000 + i;
            const t = new Date(Date.UTC(2024, 0, 1) + result).toISOString();
            let r;
            try {
                r = await fetch(url, {
                    method: 'POST',
                    headers: { 'Content-Type': 'application/json' },
                    body: JSON.stringify({ result, phenomenonTime: t, Datastream: { '@iot.id': ds } }),
                });
            } catch (e) {
                if (!killed) unexpected.push(`worker ${w}: ${e.message}`);
                return;
            }
            if (r.status === 201) {
                // the status line and headers arrived: the server has committed
                const id = idFromLocation(r.headers.get('location'));
                if (id === null) unexpected.push(`201 without a usable Location: ${r.headers.get('location')}`);
                else acked.set(id, result);
            } else if (!killed) {
                unexpected.push(`status ${r.status}`);
            }
            try { await r.arrayBuffer(); } catch { /* cut by the kill */ }
        }
    };
    const loops = Array.from({ length: 32 }, (_, w) => loop(w));
    await sleep(ASAN ? 3000 : 2000);
    const ackedBeforeKill = acked.size;
    killed = true;
    s.proc.kill('SIGKILL');
    await Promise.allSettled(loops);
    await s.kill();
    assert.equal(s.exitSignal, 'SIGKILL');
    assert.deepEqual(unexpected, [], 'no errors before the kill');
    assert.ok(ackedBeforeKill >= 100, `the burst must have written something: ${ackedBeforeKill} acknowledged`);
    assert.equal(new Set(acked.keys()).size, acked.size);

    const s2 = await startServer({ dbPath: s.dbPath });
    servers.push(s2);
    const stored = await readAll(s2, ds);
    t.diagnostic(`acknowledged ${acked.size} (${ackedBeforeKill} before the kill), stored ${stored.size}`);
    const lost = [];
    const wrong = [];
    for (const [id, result] of acked) {
        if (!stored.has(id)) lost.push(id);
        else if (stored.get(id) !== result) wrong.push(`${id}: acked ${result}, stored ${stored.get(id)}`);
    }
    assert.deepEqual(lost.slice(0, 20), [], `${lost.length} of ${acked.size} acknowledged observations lost`);
    assert.deepEqual(wrong.slice(0, 20), [], 'stored results differ');
    // every stored row is one of ours (committed, maybe not yet acknowledged)
    for (const [id, result] of stored) {
        assert.ok(Number.isInteger(result) && result >= 0, `stored ${id}: ${result}`);
        assert.ok(Math.floor(result / 1000000) < 32, `plausible result ${result}`);
    }
    // the maintained count agrees with the rows after recovery
    const cnt = await s2.getJson(`Datastreams(${ds})/Observations?$count=true&$top=1`);
    assert.equal(cnt['@iot.count'], stored.size, 'maintained $count equals the stored rows after the crash');
    // the maintained latest observation agrees with the rows
    const maxTime = await s2.getJson(`Datastreams(${ds})/Observations?$orderby=phenomenonTime desc&$top=1&$select=id,phenomenonTime`);
    const latest = await s2.getJson(`Datastreams(${ds})?$expand=Observations($top=1;$orderby=phenomenonTime desc;$select=id,phenomenonTime)`);
    assert.deepEqual(latest.Observations, maxTime.value);
    // the server keeps working on the recovered database
    const after = await s2.post('Observations', { result: -1, phenomenonTime: '2025-01-01T00:00:00Z', Datastream: { '@iot.id': ds } });
    assert.equal(after.status, 201, after.text);
    assert.ok(!stored.has(after.json['@iot.id']), 'a new id, not one already used');
    assert.ok(!acked.has(after.json['@iot.id']), 'ids of acknowledged rows are never reused');
    assert.equal(await s2.stop(), 0);
});

test('200 parallel POSTs: all 201, distinct ids, all readable', { timeout: 60000 }, async () => {
    const s = await startServer();
    servers.push(s);
    const { ds } = await setup(s);
    const N = 200;
    const rs = await Promise.all(Array.from({ length: N }, (_, i) => s.post('Observations', {
        result: i, phenomenonTime: new Date(Date.UTC(2024, 5, 1, 0, 0, i)).toISOString(), Datastream: { '@iot.id': ds },
    })));
    const statuses = rs.map((r) => r.status);
    assert.deepEqual([...new Set(statuses)], [201], `statuses: ${JSON.stringify(statuses.filter((x) => x !== 201))}`);
    const ids = rs.map((r) => r.json['@iot.id']);
    assert.equal(new Set(ids).size, N, 'distinct ids');
    for (const r of rs) assert.equal(r.headers.get('location'), s.link(`Observations(${r.json['@iot.id']})`));
    const gets = await Promise.all(ids.map((id) => s.get(`Observations(${id})`)));
    for (let i = 0; i < N; i++) {
        assert.equal(gets[i].status, 200);
        assert.equal(gets[i].json.result, rs[i].json.result);
        assert.equal(gets[i].json.result, i);
    }
    const cnt = await s.getJson(`Datastreams(${ds})/Observations?$count=true&$top=1`);
    assert.equal(cnt['@iot.count'], N);
    const stored = await readAll(s, ds);
    assert.equal(stored.size, N);
    // concurrent creation of other entity types as well
    const things = await Promise.all(Array.from({ length: 50 }, (_, i) => s.post('Things', {
        ...fixtures.thing(1000 + i), Locations: [fixtures.location(1000 + i)],
    })));
    assert.deepEqual([...new Set(things.map((r) => r.status))], [201]);
    assert.equal(new Set(things.map((r) => r.json['@iot.id'])).size, 50);
    assert.equal(await s.count('HistoricalLocations'), 51);
    assert.equal(await s.stop(), 0);
});

test('concurrent reads during writes see only complete entities', { timeout: 60000 }, async () => {
    const s = await startServer();
    servers.push(s);
    const { ds } = await setup(s);
    let done = false;
    const bad = [];
    const reader = async () => {
        while (!done) {
            const r = await s.get(`Datastreams(${ds})/Observations?$top=50&$orderby=id desc`);
            if (r.status !== 200) { bad.push(`status ${r.status}`); continue; }
            for (const o of r.json.value) {
                if (typeof o.result !== 'number' || typeof o.phenomenonTime !== 'string') bad.push(JSON.stringify(o));
            }
        }
    };
    const readers = Array.from({ length: 4 }, reader);
    const writes = await Promise.all(Array.from({ length: 300 }, (_, i) => s.post(`Datastreams(${ds})/Observations`, {
        result: i + 0.5, phenomenonTime: new Date(Date.UTC(2024, 0, 1, 0, 0, i)).toISOString(),
    })));
    done = true;
    await Promise.all(readers);
    assert.deepEqual([...new Set(writes.map((w) => w.status))], [201]);
    assert.deepEqual(bad.slice(0, 10), []);
    assert.equal(await s.stop(), 0);
});

test('an acknowledged deep insert survives SIGKILL right after its 201', async () => {
    const s = await startServer();
    servers.push(s);
    const r = await s.post('Things', {
        ...fixtures.thing(7), Locations: [fixtures.location(7)],
        Datastreams: [{
            ...fixtures.datastream(7, 0, 0, 0), Thing: undefined,
            Sensor: fixtures.sensor(7), ObservedProperty: fixtures.observedProperty(7),
            Observations: [{ result: 42.25, phenomenonTime: '2024-01-01T00:00:00Z' }],
        }],
    });
    assert.equal(r.status, 201, r.text);
    await s.kill();
    const s2 = await startServer({ dbPath: s.dbPath });
    servers.push(s2);
    const t = await s2.getJson(`Things(${r.json['@iot.id']})?$expand=Locations,HistoricalLocations,Datastreams($expand=Observations,Sensor,ObservedProperty)`);
    assert.equal(t.name, 'Thing 7');
    assert.equal(t.Locations.length, 1);
    assert.equal(t.HistoricalLocations.length, 1);
    assert.equal(t.Datastreams.length, 1);
    assert.equal(t.Datastreams[0].Sensor.name, 'Sensor 7');
    assert.equal(t.Datastreams[0].ObservedProperty.name, 'Property 7');
    assert.deepEqual(t.Datastreams[0].Observations.map((o) => o.result), [42.25]);
    assert.equal(await s2.stop(), 0);
});
