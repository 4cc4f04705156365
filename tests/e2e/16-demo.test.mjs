// `klammer demo`: seeds the Hagen sensor network once and keeps posting
// plausible observations through the same write path as any client.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { KLAMMER_BIN, PG, Server, freePort, pgFreshDb, sleep, test, tmpDir, waitFor } from './lib/harness.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEED = path.resolve(here, '../../demo/hagen.json');

let s;

// dbPath: a fresh database unless given (a restart on the same one).
async function startDemo(dir, dbPath = PG ? pgFreshDb() : path.join(dir, 'demo.db')) {
    const port = await freePort();
    const argv = ['demo', '--db', dbPath, '--listen', `127.0.0.1:${port}`, '--seed', SEED];
    const proc = spawn(KLAMMER_BIN, argv, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH, ASAN_OPTIONS: process.env.ASAN_OPTIONS || '' } });
    const srv = new Server({ port, dir, dbPath, args: argv, env: {}, proc });
    await waitFor(async () => {
        try {
            const r = await fetch(`${srv.root}`);
            await r.arrayBuffer();
            return r.status === 200;
        } catch { return false; }
    }, { timeoutMs: 20000, what: 'demo listening' });
    return srv;
}

before(async () => { s = await startDemo(tmpDir('klammer-demo-')); });
after(async () => { if (s) await s.stop(); });

async function count(set, filter = '') {
    const r = await s.get(`${set}?$count=true&$top=0${filter}`);
    assert.equal(r.status, 200, r.text);
    return r.json['@iot.count'];
}

test('the demo seeds the Hagen network: gauges on four rivers, bins, parking, climate, soil, rain', async () => {
    await waitFor(async () => (await count('Things')) >= 50, { timeoutMs: 20000, what: 'seeded Things' });
    assert.ok((await count('Datastreams')) >= 100);
    for (const river of ['Volme', 'Lenne', 'Ennepe', 'Ruhr']) {
        const n = await count('Things', `&$filter=substringof('${river}', name)`);
        assert.ok(n >= 1, `a gauge on the ${river}`);
    }
    for (const prop of ['Wasserstand', 'Füllstand', 'Lufttemperatur', 'Bodenfeuchte', 'Niederschlag']) {
        const n = await count('Datastreams', `&$filter=startswith(ObservedProperty/name, '${encodeURIComponent(prop)}')`);
        assert.ok(n >= 1, `a datastream observing ${prop}`);
    }
    // Every Location lies in Hagen.
    const r = await s.get('Locations?$top=1000&$select=location');
    for (const l of r.json.value) {
        const [lon, lat] = l.location.coordinates;
        assert.ok(lon > 7.3 && lon < 7.7 && lat > 51.25 && lat < 51.45, JSON.stringify(l.location));
    }
});

test('the simulator posts plausible observations through the write path', async () => {
    await waitFor(async () => (await count('Observations')) >= 100, { timeoutMs: 20000, what: 'simulated observations' });
    const r = await s.get("Datastreams?$filter=ObservedProperty/name eq 'Wasserstand' and unitOfMeasurement/symbol eq 'm'"
        + '&$expand=Observations($top=1;$orderby=phenomenonTime desc)&$top=100');
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.value.length >= 3, r.text);
    const now = Date.now();
    for (const ds of r.json.value) {
        const o = ds.Observations[0];
        assert.ok(o, `${ds.name} has an observation`);
        assert.equal(typeof o.result, 'number');
        assert.ok(o.result >= 0 && o.result < 8, `${ds.name}: ${o.result} m`);
        // Stamped with the wall clock, never in the future.
        assert.ok(Date.parse(o.phenomenonTime) <= now + 1000, o.phenomenonTime);
    }
    await sleep(10);
});

test('a second start on the same database does not seed again', async () => {
    const things = await count('Things');
    const { dir, dbPath } = s;
    await s.stop();
    s = await startDemo(dir, dbPath);
    await sleep(300);
    assert.equal(await count('Things'), things);
});
