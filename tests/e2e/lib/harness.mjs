// End-to-end test harness for Klammer: starts the real binary on a free
// loopback port with a fresh database and offers small HTTP helpers.
//
// Only Node built-ins are used (node:test, node:child_process, node:net,
// global fetch), so the suite runs on a plain Node 18 or 20.
//
// Paths given to the request helpers:
//   'Things(1)'          -> http://127.0.0.1:<port>/v1.1/Things(1)
//   '/v1.1/Things'       -> http://127.0.0.1:<port>/v1.1/Things   (origin-relative)
//   'http://host/...'    -> used as is (e.g. to follow @iot.nextLink)

import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test as nodeTest } from 'node:test';

const here = path.dirname(fileURLToPath(import.meta.url));

export const KLAMMER_BIN = process.env.KLAMMER_BIN
    ? path.resolve(process.env.KLAMMER_BIN)
    : path.resolve(here, '../../../build/klammer');
export const ASAN = !!process.env.KLAMMER_ASAN;
export const READY_TIMEOUT_MS = 20000;

// With KLAMMER_TEST_PG=postgresql://... (a cluster with PostGIS in template1,
// see tools/pg-cluster.sh) every server runs on PostgreSQL: each fresh start
// gets a database of its own, a restart reuses it (dbPath is then its URL).
export const PG_URL = process.env.KLAMMER_TEST_PG || '';
export const PG = !!PG_URL;
let pgDbSeq = 0;

// Creates an empty database on the test cluster and returns its URL.
export function pgFreshDb() {
    const name = `k${process.pid}_${++pgDbSeq}_${Date.now() % 100000}`;
    execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', PG_URL, '-c', `CREATE DATABASE ${name}`],
        { stdio: ['ignore', 'ignore', 'pipe'] });
    const u = new URL(PG_URL);
    u.pathname = `/${name}`;
    return u.toString();
}

// Runs SQL on the test database at url (a klammer database URL) with psql;
// returns its unaligned output.
export function pgQuery(url, sql) {
    return execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c', sql],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function isUrl(p) {
    return /^postgres(ql)?:\/\//.test(p || '');
}

export const OT = {
    measurement: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement',
    category: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation',
    count: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CountObservation',
    truth: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_TruthObservation',
    observation: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation',
    complex: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation',
};

export const ENTITY_SETS = [
    'Things', 'Locations', 'HistoricalLocations', 'Datastreams', 'MultiDatastreams',
    'Sensors', 'ObservedProperties', 'Observations', 'FeaturesOfInterest',
];

// Every server started by this process, so that a failing test can print
// their logs and a crashing test runner leaves no process behind.
const live = new Set();

process.on('exit', () => {
    for (const s of live) {
        try { s.proc.kill('SIGKILL'); } catch { /* already gone */ }
    }
});

export function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
}

export async function freePort() {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on('error', reject);
        srv.listen(0, '127.0.0.1', () => {
            const { port } = srv.address();
            srv.close(() => resolve(port));
        });
    });
}

export function tmpDir(prefix = 'klammer-e2e-') {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

// Waits until fn() returns a truthy value (or throws on timeout).
export async function waitFor(fn, { timeoutMs = 5000, intervalMs = 25, what = 'condition' } = {}) {
    const end = Date.now() + timeoutMs;
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await sleep(intervalMs);
    }
}

// Runs the binary to completion (for help / check-config); returns
// {code, signal, stdout, stderr}.
export function runCli(args, { env = {}, cwd, timeoutMs = 15000, input } = {}) {
    return new Promise((resolve, reject) => {
        const proc = spawn(KLAMMER_BIN, args, {
            env: cleanEnv(env),
            cwd: cwd || tmpDir('klammer-cli-'),
            stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '';
        let stderr = '';
        proc.stdout.on('data', (d) => { stdout += d; });
        proc.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => {
            proc.kill('SIGKILL');
            reject(new Error(`klammer ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stderr}`));
        }, timeoutMs);
        proc.on('error', (e) => { clearTimeout(timer); reject(e); });
        proc.on('close', (code, signal) => {
            clearTimeout(timer);
            resolve({ code, signal, stdout, stderr });
        });
        if (input !== undefined) proc.stdin.end(input);
        else proc.stdin.end();
    });
}

// The environment for a child: ours minus any KLAMMER_* setting (so that a
// developer's shell does not change the tests), plus the test's own.
function cleanEnv(extra) {
    const env = {};
    for (const [k, v] of Object.entries(process.env)) {
        if (k.startsWith('KLAMMER_') && k !== 'KLAMMER_BIN' && k !== 'KLAMMER_ASAN') continue;
        env[k] = v;
    }
    if (ASAN) {
        env.ASAN_OPTIONS = env.ASAN_OPTIONS || 'detect_leaks=1:abort_on_error=0';
        env.UBSAN_OPTIONS = env.UBSAN_OPTIONS || 'print_stacktrace=1';
    }
    return { ...env, ...extra };
}

export class Server {
    constructor({ port, dir, dbPath, args, env, proc }) {
        this.port = port;
        this.dir = dir;
        this.dbPath = dbPath;
        this.args = args;
        this.env = env;
        this.proc = proc;
        this.host = `127.0.0.1:${port}`;
        this.origin = `http://127.0.0.1:${port}`;
        this.root = `${this.origin}/v1.1`;
        this.stdout = '';
        this.stderr = '';
        this.exitCode = undefined;
        this.exitSignal = undefined;
        this.exited = new Promise((resolve) => {
            proc.on('exit', (code, signal) => {
                this.exitCode = code;
                this.exitSignal = signal;
                resolve({ code, signal });
            });
        });
        proc.stdout.on('data', (d) => { this.stdout += d; });
        proc.stderr.on('data', (d) => { this.stderr += d; });
        this.closed = new Promise((resolve) => proc.on('close', resolve));
    }

    get running() {
        return this.exitCode === undefined && this.exitSignal === undefined;
    }

    // Absolute URL for a helper path (see top of file).
    url(p) {
        if (/^https?:\/\//.test(p)) return p;
        if (p.startsWith('/')) return this.origin + p;
        return `${this.root}/${p}`;
    }

    // Link the server is expected to produce for a path below /v1.1
    // (request Host is 127.0.0.1:<port>).
    link(p) {
        return `${this.root}/${p}`;
    }

    async request(method, p, body, { headers = {}, contentType } = {}) {
        const h = { ...headers };
        let payload;
        if (body !== undefined && body !== null) {
            payload = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
            const hasCt = Object.keys(h).some((k) => k.toLowerCase() === 'content-type');
            if (!hasCt) h['Content-Type'] = contentType || 'application/json';
        }
        const res = await fetch(this.url(p), { method, headers: h, body: payload, redirect: 'manual' });
        const text = await res.text();
        let json;
        if (text.length > 0) {
            try { json = JSON.parse(text); } catch { json = undefined; }
        }
        return { status: res.status, headers: res.headers, json, text };
    }

    get(p, opts) { return this.request('GET', p, undefined, opts); }
    post(p, body, opts) { return this.request('POST', p, body, opts); }
    patch(p, body, opts) { return this.request('PATCH', p, body, opts); }
    put(p, body, opts) { return this.request('PUT', p, body, opts); }
    del(p, opts) { return this.request('DELETE', p, undefined, opts); }

    // Raw HTTP/1.1 over a socket, for requests fetch cannot make (a custom
    // Host header, malformed framing). Returns {status, headers, text, json}.
    raw(requestText, { timeoutMs = 10000, end = false } = {}) {
        return rawHttp(this.port, requestText, timeoutMs, end);
    }

    // POST that must succeed with 201; returns the created entity.
    async create(p, body) {
        const r = await this.post(p, body);
        if (r.status !== 201) {
            throw new Error(`POST ${p} expected 201, got ${r.status}: ${r.text}\nbody: ${JSON.stringify(body)}`);
        }
        return r.json;
    }

    // GET that must succeed with 200; returns the JSON.
    async getJson(p) {
        const r = await this.get(p);
        if (r.status !== 200) throw new Error(`GET ${p} expected 200, got ${r.status}: ${r.text}`);
        return r.json;
    }

    // Number of entities in a collection (follows every page).
    async count(set) {
        const r = await this.getJson(`${set}?$count=true&$top=1`);
        return r['@iot.count'];
    }

    // All entities of a collection, following @iot.nextLink.
    async all(p) {
        let url = p;
        const out = [];
        for (let i = 0; i < 10000 && url; i++) {
            const page = await this.getJson(url);
            out.push(...page.value);
            url = page['@iot.nextLink'];
        }
        return out;
    }

    logTail(lines = 60) {
        const all = this.stderr.split('\n');
        return all.slice(-lines).join('\n');
    }

    sanitizerReport() {
        const m = this.stderr.match(/(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:)[\s\S]*/);
        return m ? m[0] : null;
    }

    async _waitExit(ms) {
        let handle;
        const timer = new Promise((resolve) => { handle = setTimeout(() => resolve('timeout'), ms); });
        const r = await Promise.race([this.exited, timer]);
        clearTimeout(handle);
        return r !== 'timeout';
    }

    // Graceful stop; resolves to the exit code (null when killed by a signal).
    async stop({ timeoutMs = ASAN ? 20000 : 10000 } = {}) {
        if (this.running) {
            this.proc.kill('SIGTERM');
            if (!(await this._waitExit(timeoutMs))) {
                this.proc.kill('SIGKILL');
                await this.exited;
                live.delete(this);
                throw new Error(`server did not exit within ${timeoutMs} ms after SIGTERM\n${this.logTail()}`);
            }
        }
        await this.closed;
        live.delete(this);
        const rep = this.sanitizerReport();
        if (rep) throw new Error(`sanitizer report in server stderr:\n${rep.slice(0, 8000)}`);
        return this.exitCode;
    }

    async kill() {
        if (this.running) {
            this.proc.kill('SIGKILL');
            await this.exited;
        }
        await this.closed;
        live.delete(this);
        return this.exitSignal;
    }
}

// Starts `klammer serve` and waits until GET /v1.1 answers 200.
//   args: extra command-line arguments
//   env: extra environment
//   dir / dbPath: reuse a directory or database (restart on the same file)
// A new, empty database in dir, as --db takes it: where every server of the
// suite keeps its data, and what klammer import writes into.  On PostgreSQL
// (KLAMMER_TEST_PG) a fresh database on the test cluster, as its URL.
export function freshDatabase(dir = tmpDir()) {
    return PG ? pgFreshDb() : path.join(dir, 'k.db');
}

export async function startServer({ args = [], env = {}, dir, dbPath, port, timeoutMs = READY_TIMEOUT_MS } = {}) {
    dir = dir || (dbPath && !isUrl(dbPath) ? path.dirname(dbPath) : tmpDir());
    dbPath = dbPath || freshDatabase(dir);
    port = port || (await freePort());
    const argv = ['serve', '--db', dbPath, '--listen', `127.0.0.1:${port}`, ...args];
    if (!fs.existsSync(KLAMMER_BIN)) {
        throw new Error(`klammer binary not found at ${KLAMMER_BIN} (build it with make, or set KLAMMER_BIN)`);
    }
    const proc = spawn(KLAMMER_BIN, argv, { env: cleanEnv(env), cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    const srv = new Server({ port, dir, dbPath, args: argv, env, proc });
    live.add(srv);
    let spawnError;
    proc.on('error', (e) => { spawnError = e; });
    const end = Date.now() + timeoutMs;
    for (;;) {
        if (spawnError) {
            live.delete(srv);
            throw spawnError;
        }
        if (!srv.running) {
            await srv.closed;
            live.delete(srv);
            throw new Error(`klammer ${argv.join(' ')} exited (code ${srv.exitCode}, signal ${srv.exitSignal}) before it was ready\n${srv.stderr}`);
        }
        try {
            const r = await fetch(`${srv.root}`, { signal: AbortSignal.timeout(2000) });
            await r.arrayBuffer();
            if (r.status === 200) return srv;
        } catch { /* not listening yet */ }
        if (Date.now() > end) {
            await srv.kill();
            throw new Error(`klammer not ready within ${timeoutMs} ms\n${srv.stderr}`);
        }
        await sleep(50);
    }
}

// end: half-close the socket after the request (the server sees EOF).
export function rawHttp(port, requestText, timeoutMs = 10000, end = false) {
    return new Promise((resolve, reject) => {
        const sock = net.connect(port, '127.0.0.1');
        const chunks = [];
        const timer = setTimeout(() => {
            sock.destroy();
            reject(new Error('raw HTTP request timed out'));
        }, timeoutMs);
        sock.on('connect', () => (end ? sock.end(requestText) : sock.write(requestText)));
        sock.on('data', (d) => chunks.push(d));
        sock.on('error', (e) => { clearTimeout(timer); reject(e); });
        sock.on('close', () => {
            clearTimeout(timer);
            try {
                resolve(parseHttpResponse(Buffer.concat(chunks)));
            } catch (e) {
                reject(e);
            }
        });
    });
}

function parseHttpResponse(buf) {
    const sep = buf.indexOf('\r\n\r\n');
    if (sep < 0) throw new Error(`incomplete HTTP response: ${JSON.stringify(buf.toString())}`);
    const head = buf.subarray(0, sep).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
    if (!m) throw new Error(`bad status line: ${head[0]}`);
    const headers = new Map();
    for (const line of head.slice(1)) {
        const i = line.indexOf(':');
        if (i > 0) headers.set(line.slice(0, i).trim().toLowerCase(), line.slice(i + 1).trim());
    }
    let body = buf.subarray(sep + 4);
    if ((headers.get('transfer-encoding') || '').toLowerCase() === 'chunked') {
        const parts = [];
        let off = 0;
        for (;;) {
            const eol = body.indexOf('\r\n', off);
            if (eol < 0) break;
            const n = parseInt(body.subarray(off, eol).toString(), 16);
            if (!n) break;
            parts.push(body.subarray(eol + 2, eol + 2 + n));
            off = eol + 2 + n + 2;
        }
        body = Buffer.concat(parts);
    }
    const text = body.toString('utf8');
    let json;
    try { json = JSON.parse(text); } catch { json = undefined; }
    return { status: Number(m[1]), headers: { get: (k) => headers.get(k.toLowerCase()) ?? null }, text, json };
}

// A GET with an explicit Host (and other) headers, over a raw socket.
export function getWithHeaders(srv, p, headers) {
    const lines = [`GET ${p} HTTP/1.1`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    if (!Object.keys(headers).some((k) => k.toLowerCase() === 'host')) lines.push(`Host: ${srv.host}`);
    lines.push('Connection: close', '', '');
    return srv.raw(lines.join('\r\n'));
}

// Like node:test's test(), but when the test fails the stderr of every
// server still running is appended to the error, so the failure report
// shows what the server logged.
export function test(name, opts, fn) {
    if (typeof opts === 'function') { fn = opts; opts = {}; }
    return nodeTest(name, opts, async (t) => {
        try {
            return await fn(t);
        } catch (err) {
            const logs = [...live].map((s) => `--- server ${s.host} stderr (tail) ---\n${s.logTail(40)}`).join('\n');
            if (logs && err && typeof err === 'object') {
                try {
                    err.message = `${err.message}\n${logs}`;
                } catch { /* read-only message */ }
            }
            throw err;
        }
    });
}

// Assertion helpers --------------------------------------------------------

// Asserts the standard JSON error body of the contract.
export function assertError(assert, r, status, { field, where } = {}) {
    const ctx = `${where || ''} -> ${r.status} ${r.text}`;
    assert.equal(r.status, status, `status ${ctx}`);
    assert.ok(r.json && typeof r.json === 'object', `error body must be JSON: ${ctx}`);
    assert.equal(r.json.code, status, `error.code ${ctx}`);
    assert.equal(r.json.type, 'error', `error.type ${ctx}`);
    assert.equal(typeof r.json.error, 'string', `error.error ${ctx}`);
    assert.ok(r.json.error.length > 0, `error.error non-empty ${ctx}`);
    assert.equal(typeof r.json.message, 'string', `error.message ${ctx}`);
    assert.ok(r.json.message.length > 0, `error.message non-empty ${ctx}`);
    if (field !== undefined) {
        // the field may carry an index into an array: "Locations[0]"
        const f = r.json.field;
        const ok = f === field || (typeof f === 'string' && f.startsWith(`${field}[`) && /^\[\d+\]/.test(f.slice(field.length)));
        assert.ok(ok, `error.field: expected "${field}" (or "${field}[i]"), got ${JSON.stringify(f)}: ${ctx}`);
    }
}

// Fixture builders ----------------------------------------------------------

export const fixtures = {
    thing(n = 1, extra = {}) {
        return { name: `Thing ${n}`, description: `Description of thing ${n}`, ...extra };
    },
    location(n = 1, coords = [7.47 + n / 1000, 51.36], extra = {}) {
        return {
            name: `Location ${n}`,
            description: `Description of location ${n}`,
            encodingType: 'application/geo+json',
            location: { type: 'Point', coordinates: coords },
            ...extra,
        };
    },
    sensor(n = 1, extra = {}) {
        return {
            name: `Sensor ${n}`,
            description: `Description of sensor ${n}`,
            encodingType: 'application/pdf',
            metadata: `https://example.org/sensor-${n}.pdf`,
            ...extra,
        };
    },
    observedProperty(n = 1, extra = {}) {
        return {
            name: `Property ${n}`,
            definition: `https://example.org/def/property-${n}`,
            description: `Description of property ${n}`,
            ...extra,
        };
    },
    featureOfInterest(n = 1, coords = [7.5, 51.4], extra = {}) {
        return {
            name: `Feature ${n}`,
            description: `Description of feature ${n}`,
            encodingType: 'application/geo+json',
            feature: { type: 'Point', coordinates: coords },
            ...extra,
        };
    },
    uom(n = 1) {
        return { name: 'Degree Celsius', symbol: '°C', definition: `http://www.qudt.org/qudt/owl/1.0.0/unit/Instances.html#DegreeCelsius${n}` };
    },
    datastream(n, thingId, sensorId, opId, extra = {}) {
        return {
            name: `Datastream ${n}`,
            description: `Description of datastream ${n}`,
            unitOfMeasurement: fixtures.uom(n),
            observationType: OT.measurement,
            Thing: { '@iot.id': thingId },
            Sensor: { '@iot.id': sensorId },
            ObservedProperty: { '@iot.id': opId },
            ...extra,
        };
    },
};

// Creates Thing(with Location) + Sensor + ObservedProperty + Datastream and
// returns their ids.
export async function makeStream(srv, n = 1, { observationType = OT.measurement, withLocation = true } = {}) {
    const thingBody = fixtures.thing(n);
    if (withLocation) thingBody.Locations = [fixtures.location(n)];
    const thing = await srv.create('Things', thingBody);
    const sensor = await srv.create('Sensors', fixtures.sensor(n));
    const op = await srv.create('ObservedProperties', fixtures.observedProperty(n));
    const ds = await srv.create('Datastreams', fixtures.datastream(n, thing['@iot.id'], sensor['@iot.id'], op['@iot.id'], { observationType }));
    return { thing: thing['@iot.id'], sensor: sensor['@iot.id'], op: op['@iot.id'], ds: ds['@iot.id'], dsEntity: ds, thingEntity: thing };
}

// Counts every collection (for "nothing half-written" checks).
export async function countAll(srv) {
    const out = {};
    for (const set of ENTITY_SETS) out[set] = await srv.count(set);
    return out;
}

// Entity model: the properties and navigation links every entity of a set
// carries (req) or may carry (opt), per OGC 18-088 v1.1 and its
// MultiDatastream extension.
export const MODEL = {
    Things: {
        props: { req: ['name', 'description'], opt: ['properties'] },
        nav: { req: ['Locations', 'HistoricalLocations', 'Datastreams', 'MultiDatastreams'], opt: [] },
    },
    Locations: {
        props: { req: ['name', 'description', 'encodingType', 'location'], opt: ['properties'] },
        nav: { req: ['Things', 'HistoricalLocations'], opt: [] },
    },
    HistoricalLocations: {
        props: { req: ['time'], opt: [] },
        nav: { req: ['Thing', 'Locations'], opt: [] },
    },
    Datastreams: {
        props: {
            req: ['name', 'description', 'unitOfMeasurement', 'observationType'],
            opt: ['observedArea', 'phenomenonTime', 'resultTime', 'properties'],
        },
        nav: { req: ['Thing', 'Sensor', 'ObservedProperty', 'Observations'], opt: [] },
    },
    MultiDatastreams: {
        props: {
            req: ['name', 'description', 'unitOfMeasurements', 'observationType', 'multiObservationDataTypes'],
            opt: ['observedArea', 'phenomenonTime', 'resultTime', 'properties'],
        },
        nav: { req: ['Thing', 'Sensor', 'ObservedProperties', 'Observations'], opt: [] },
    },
    Sensors: {
        props: { req: ['name', 'description', 'encodingType', 'metadata'], opt: ['properties'] },
        nav: { req: ['Datastreams', 'MultiDatastreams'], opt: [] },
    },
    ObservedProperties: {
        props: { req: ['name', 'definition', 'description'], opt: ['properties'] },
        nav: { req: ['Datastreams', 'MultiDatastreams'], opt: [] },
    },
    Observations: {
        // resultTime is mandatory but may be null; it is always written.
        props: { req: ['phenomenonTime', 'result', 'resultTime'], opt: ['resultQuality', 'validTime', 'parameters'] },
        nav: { req: ['FeatureOfInterest'], opt: ['Datastream', 'MultiDatastream'] },
    },
    FeaturesOfInterest: {
        props: { req: ['name', 'description', 'encodingType', 'feature'], opt: ['properties'] },
        nav: { req: ['Observations'], opt: [] },
    },
};

// Asserts that `e` is the full JSON of entity `set(id)`:
//  - @iot.id, @iot.selfLink and every navigation link exactly (built on
//    `base`, default the server's http://127.0.0.1:<port>/v1.1),
//  - every property in `expected` deep-equal,
//  - every mandatory property present, optional ones absent or null unless
//    expected, and no other key at all.
// partial: only the properties in `expected` are checked for value (links
// and the key set still are).
export function assertEntity(assert, e, set, id, expected = {}, { base, requireNav = [], ignore = [], partial = false } = {}) {
    const m = MODEL[set];
    if (!m) throw new Error(`unknown set ${set}`);
    const ctx = `${set}(${id}): ${JSON.stringify(e)}`;
    assert.ok(e && typeof e === 'object' && !Array.isArray(e), `entity object expected: ${ctx}`);
    assert.equal(e['@iot.id'], id, `@iot.id ${ctx}`);
    if (base === undefined) throw new Error('assertEntity needs base');
    assert.equal(e['@iot.selfLink'], `${base}/${set}(${id})`, `@iot.selfLink ${ctx}`);
    for (const n of [...m.nav.req, ...requireNav]) {
        assert.equal(e[`${n}@iot.navigationLink`], `${base}/${set}(${id})/${n}`, `${n}@iot.navigationLink ${ctx}`);
    }
    for (const n of m.nav.opt) {
        if (`${n}@iot.navigationLink` in e) {
            assert.equal(e[`${n}@iot.navigationLink`], `${base}/${set}(${id})/${n}`, `${n}@iot.navigationLink ${ctx}`);
        }
    }
    for (const p of m.props.req) assert.ok(p in e, `mandatory property ${p} missing: ${ctx}`);
    for (const [k, v] of Object.entries(expected)) {
        assert.deepEqual(e[k], v, `property ${k} of ${ctx}`);
    }
    for (const p of m.props.opt) {
        if (!partial && !(p in expected) && !ignore.includes(p) && p in e) {
            assert.equal(e[p], null, `optional property ${p} was not set and must be absent or null: ${ctx}`);
        }
    }
    const allowed = new Set(['@iot.id', '@iot.selfLink', ...m.props.req, ...m.props.opt,
        ...[...m.nav.req, ...m.nav.opt].map((n) => `${n}@iot.navigationLink`)]);
    for (const k of Object.keys(e)) {
        assert.ok(allowed.has(k), `unexpected key ${k} in ${ctx}`);
    }
}

export const UTC_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
