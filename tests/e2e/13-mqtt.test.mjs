// The SensorThings MQTT extension (OGC 18-088 §14) against a real Mosquitto
// broker started here on a free loopback port, with the klammer plugin that
// reports $select subscriptions: every topic kind receives a change exactly
// once with the JSON a GET returns; Observations published over MQTT are
// stored as if POSTed; invalid ones land in the dead-letter store; klammer's
// own notifications are not created again; and a broker restart in the
// middle of a stream loses and duplicates nothing that the broker
// acknowledged.
//
// MQTT is spoken by a small MQTT 3.1.1 client over node:net (below), so the
// test sees every PUBACK.  Mosquitto must be installed (make test installs
// it); without it these tests fail rather than skip.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test, startServer, freePort, tmpDir, sleep, waitFor, OT } from './lib/harness.mjs';
import { Broker, findBin } from './lib/broker.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const PLUGIN = process.env.KLAMMER_MOSQUITTO_PLUGIN
    ? path.resolve(process.env.KLAMMER_MOSQUITTO_PLUGIN)
    : path.resolve(here, '../../build/klammer_mosquitto.so');

// ---------------------------------------------------------------- broker

process.on('exit', () => {
    if (broker && broker.proc && broker.proc.exitCode === null) {
        try { broker.proc.kill('SIGKILL'); } catch { /* gone */ }
    }
});

// ------------------------------------------------- a small MQTT 3.1.1 client

function str(s) {
    const b = Buffer.from(s, 'utf8');
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    return Buffer.concat([len, b]);
}

function packet(type, flags, body) {
    const len = [];
    let n = body.length;
    do {
        let d = n % 128;
        n = Math.floor(n / 128);
        if (n > 0) d |= 128;
        len.push(d);
    } while (n > 0);
    return Buffer.concat([Buffer.from([(type << 4) | flags, ...len]), body]);
}

class Mqtt {
    static connect(port, clientId) {
        return new Promise((resolve, reject) => {
            const c = new Mqtt();
            c.sock = net.connect(port, '127.0.0.1');
            c.buf = Buffer.alloc(0);
            c.messages = [];
            c.acks = new Map();
            c.subacks = new Map();
            c.nextId = 1;
            c.closed = false;
            c.onConnack = (rc) => (rc === 0 ? resolve(c) : reject(new Error(`CONNACK ${rc}`)));
            c.sock.on('connect', () => {
                const vh = Buffer.concat([str('MQTT'), Buffer.from([4, 0x02, 0, 60])]);
                c.sock.write(packet(1, 0, Buffer.concat([vh, str(clientId)])));
            });
            c.sock.on('data', (d) => c.onData(d));
            c.sock.on('error', (e) => { if (!c.connected) reject(e); });
            c.sock.on('close', () => {
                c.closed = true;
                for (const [, a] of c.acks) a.reject(new Error('connection closed'));
                c.acks.clear();
                if (!c.connected) reject(new Error('connection closed before CONNACK'));
            });
            c.ping = setInterval(() => { if (!c.closed) c.sock.write(Buffer.from([0xc0, 0])); }, 20000);
            c.ping.unref();
        });
    }

    onData(d) {
        this.buf = Buffer.concat([this.buf, d]);
        for (;;) {
            if (this.buf.length < 2) return;
            let mult = 1;
            let len = 0;
            let i = 1;
            let byte;
            do {
                if (i >= this.buf.length) return;
                byte = this.buf[i++];
                len += (byte & 127) * mult;
                mult *= 128;
            } while (byte & 128);
            if (this.buf.length < i + len) return;
            const type = this.buf[0] >> 4;
            const flags = this.buf[0] & 15;
            const body = this.buf.subarray(i, i + len);
            this.buf = this.buf.subarray(i + len);
            this.handle(type, flags, body);
        }
    }

    handle(type, flags, body) {
        if (type === 2) {
            this.connected = true;
            this.onConnack(body[1]);
        } else if (type === 3) {
            const tlen = body.readUInt16BE(0);
            const topic = body.subarray(2, 2 + tlen).toString('utf8');
            const qos = (flags >> 1) & 3;
            let off = 2 + tlen;
            if (qos > 0) {
                const id = body.readUInt16BE(off);
                off += 2;
                const ack = Buffer.alloc(2);
                ack.writeUInt16BE(id);
                this.sock.write(packet(4, 0, ack));
            }
            this.messages.push({ topic, payload: body.subarray(off).toString('utf8') });
        } else if (type === 4) {
            const id = body.readUInt16BE(0);
            const a = this.acks.get(id);
            if (a) {
                this.acks.delete(id);
                a.resolve();
            }
        } else if (type === 9) {
            const id = body.readUInt16BE(0);
            const a = this.subacks.get(id);
            if (a) {
                this.subacks.delete(id);
                a(body[2]);
            }
        }
    }

    id() {
        const id = this.nextId;
        this.nextId = this.nextId === 65535 ? 1 : this.nextId + 1;
        return id;
    }

    async subscribe(filter, qos = 1) {
        const id = this.id();
        const idb = Buffer.alloc(2);
        idb.writeUInt16BE(id);
        const granted = await new Promise((resolve) => {
            this.subacks.set(id, resolve);
            this.sock.write(packet(8, 2, Buffer.concat([idb, str(filter), Buffer.from([qos])])));
        });
        if (granted >= 0x80) throw new Error(`subscription to ${filter} refused`);
    }

    // QoS 1: resolves when the broker acknowledged (PUBACK), rejects when the
    // connection closes first.  QoS 0: resolves once written.
    publish(topic, payload, qos = 1) {
        const p = Buffer.isBuffer(payload) ? payload : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
        if (qos === 0) {
            this.sock.write(packet(3, 0, Buffer.concat([str(topic), p])));
            return Promise.resolve();
        }
        const id = this.id();
        const idb = Buffer.alloc(2);
        idb.writeUInt16BE(id);
        return new Promise((resolve, reject) => {
            if (this.closed) {
                reject(new Error('connection closed'));
                return;
            }
            this.acks.set(id, { resolve, reject });
            this.sock.write(packet(3, 2, Buffer.concat([str(topic), idb, p])));
        });
    }

    on(topic) {
        return this.messages.filter((m) => m.topic === topic);
    }

    close() {
        clearInterval(this.ping);
        if (!this.closed) {
            try { this.sock.write(Buffer.from([0xe0, 0])); } catch { /* gone */ }
            this.sock.end();
        }
    }
}

// ------------------------------------------------------------------ setup

let broker;
let s;
let thing;
let ds;
const clients = [];

async function client(name) {
    const c = await Mqtt.connect(broker.port, `${name}-${process.pid}-${clients.length}`);
    clients.push(c);
    return c;
}

async function health() {
    const r = await s.get('/health');
    assert.equal(r.status, 200, r.text);
    return r.json;
}

async function makeStream(name) {
    const t = await s.create('Things', {
        name: `MQTT ${name}`, description: 'thing for the MQTT tests',
        Locations: [{ name: 'L', description: 'l', encodingType: 'application/geo+json', location: { type: 'Point', coordinates: [7.47, 51.36] } }],
    });
    const d = await s.create('Datastreams', {
        name: `level ${name}`, description: 'water level', observationType: OT.measurement,
        unitOfMeasurement: { name: 'centimetre', symbol: 'cm', definition: 'http://unitsofmeasure.org/ucum.html#cm' },
        Thing: { '@iot.id': t['@iot.id'] },
        Sensor: { name: 'gauge', description: 'g', encodingType: 'text/plain', metadata: 'm' },
        ObservedProperty: { name: 'water level', definition: 'http://example.org/wl', description: 'w' },
    });
    return { thing: t, ds: d };
}

async function streamCount(id) {
    return (await s.getJson(`Datastreams(${id})/Observations?$count=true&$top=1`))['@iot.count'];
}

before(async () => {
    if (!findBin('mosquitto')) {
        throw new Error('the mosquitto broker is not installed (Debian package mosquitto; make test installs it)');
    }
    if (!fs.existsSync(PLUGIN)) {
        throw new Error(`the klammer Mosquitto plugin is not built at ${PLUGIN} (make build/klammer_mosquitto.so)`);
    }
    broker = new Broker(await freePort(), tmpDir('klammer-mosq-'), { plugin: PLUGIN });
    await broker.start();
    s = await startServer({ args: ['--mqtt', `mqtt://127.0.0.1:${broker.port}`, '--mqtt-client-id', `klammer-e2e-${process.pid}`] });
    await waitFor(async () => (await health()).mqtt.state === 'connected', { timeoutMs: 10000, what: 'klammer to connect to mosquitto' });
    ({ thing, ds } = await makeStream('A'));
});

after(async () => {
    for (const c of clients) c.close();
    try {
        if (s) assert.equal(await s.stop(), 0);
    } finally {
        if (broker) await broker.stop();
    }
});

// ------------------------------------------------------------------ tests

test('/health reports the database and a connected broker', async () => {
    const h = await health();
    assert.equal(h.status, 'ok');
    assert.equal(h.database, 'ok');
    assert.equal(h.mqtt.state, 'connected');
    assert.equal(h.mqtt.url, `mqtt://127.0.0.1:${broker.port}`);
    for (const k of ['connects', 'published', 'received', 'created', 'dead_lettered', 'select_topics']) {
        assert.equal(typeof h.mqtt[k], 'number', k);
    }
    const r = await s.post('/health', {});
    assert.equal(r.status, 405);
    const nf = await s.get('/nothing-here');
    assert.equal(nf.status, 404);
    assert.equal(nf.json.code, 404);
});

test('each topic kind receives a creation or update exactly once, as GET returns it', async () => {
    const d = ds['@iot.id'];
    const t = thing['@iot.id'];
    const topics = {
        collection: 'v1.1/Observations',
        navigation: `v1.1/Datastreams(${d})/Observations`,
        entity: `v1.1/Things(${t})`,
        property: `v1.1/Things(${t})/name`,
        select: `v1.1/Datastreams(${d})/Observations?$select=result,phenomenonTime`,
    };
    const subs = {};
    for (const [kind, topic] of Object.entries(topics)) {
        subs[kind] = await client(kind);
        await subs[kind].subscribe(topic);
    }
    // The plugin reports the $select subscription; klammer must know it
    // before the creation, or it has no reason to publish that topic.
    await waitFor(async () => (await health()).mqtt.select_topics >= 1, { what: 'klammer to learn the $select topic' });

    const created = await s.create(`Datastreams(${d})/Observations`, { phenomenonTime: '2024-03-01T12:00:00.000Z', result: 17.25 });
    const id = created['@iot.id'];
    const get = await s.get(`Observations(${id})`);
    assert.equal(get.status, 200);
    await waitFor(() => subs.collection.on(topics.collection).length >= 1 && subs.navigation.on(topics.navigation).length >= 1 &&
        subs.select.on(topics.select).length >= 1, { what: 'the creation on every topic' });

    const patched = await s.patch(`Things(${t})`, { name: 'MQTT A renamed' });
    assert.equal(patched.status, 200, patched.text);
    const tget = await s.get(`Things(${t})`);
    await waitFor(() => subs.entity.on(topics.entity).length >= 1 && subs.property.on(topics.property).length >= 1,
        { what: 'the update on the entity and property topics' });
    await sleep(500); // a duplicate would arrive by now

    for (const kind of ['collection', 'navigation']) {
        const msgs = subs[kind].on(topics[kind]);
        assert.equal(msgs.length, 1, `${kind}: exactly one message`);
        assert.equal(msgs[0].payload, get.text, `${kind}: the JSON of GET`);
    }
    const sel = subs.select.on(topics.select);
    assert.equal(sel.length, 1, '$select: exactly one message');
    assert.deepEqual(JSON.parse(sel[0].payload), { result: 17.25, phenomenonTime: '2024-03-01T12:00:00.000Z' });
    assert.equal(subs.select.messages.length, 1, '$select subscriber gets nothing else');

    const ent = subs.entity.on(topics.entity);
    assert.equal(ent.length, 1, 'entity: exactly one message');
    assert.equal(ent[0].payload, tget.text, 'entity: the JSON of GET');
    const prop = subs.property.on(topics.property);
    assert.equal(prop.length, 1, 'property: exactly one message');
    assert.deepEqual(JSON.parse(prop[0].payload), { name: 'MQTT A renamed' });
    // An update does not show up as a creation.
    assert.equal(subs.collection.messages.length, 1);
    for (const c of Object.values(subs)) c.close();
});

test('an Observation published to v1.1/Datastreams(n)/Observations is stored as if POSTed', async () => {
    const d = ds['@iot.id'];
    const watcher = await client('watch');
    await watcher.subscribe(`v1.1/Datastreams(${d})/Observations`);
    const pub = await client('pub');
    const before = await streamCount(d);
    const body = { phenomenonTime: '2024-04-01T08:15:00.000Z', result: 42.5, parameters: { via: 'mqtt' } };
    await pub.publish(`v1.1/Datastreams(${d})/Observations`, body);
    await waitFor(async () => (await streamCount(d)) === before + 1, { what: 'the MQTT observation to be stored' });
    const latest = (await s.getJson(`Datastreams(${d})/Observations?$orderby=id desc&$top=1`)).value[0];
    assert.equal(latest.result, 42.5);
    assert.equal(latest.phenomenonTime, '2024-04-01T08:15:00.000Z');
    assert.deepEqual(latest.parameters, { via: 'mqtt' });
    // The same body POSTed over HTTP gives the same entity, apart from its id.
    const viaHttp = await s.create(`Datastreams(${d})/Observations`, body);
    const strip = (o) => Object.fromEntries(Object.entries(o).filter(([k]) => !k.startsWith('@iot') && !k.endsWith('@iot.navigationLink')));
    assert.deepEqual(strip(latest), strip(viaHttp));
    const foiA = await s.getJson(`Observations(${latest['@iot.id']})/FeatureOfInterest`);
    const foiB = await s.getJson(`Observations(${viaHttp['@iot.id']})/FeatureOfInterest`);
    assert.equal(foiA['@iot.id'], foiB['@iot.id'], 'FeatureOfInterest generated from the Location, as over HTTP');
    // The creation is announced like any other (the publisher's own message
    // without @iot.id, then klammer's notification with it).
    await waitFor(() => watcher.messages.some((m) => JSON.parse(m.payload)['@iot.id'] === latest['@iot.id']), { what: 'the notification' });
    const h = await health();
    assert.ok(h.mqtt.created >= 1);
});

test('invalid Observations over MQTT land in the dead-letter store with their reason', async () => {
    const d = ds['@iot.id'];
    const pub = await client('bad');
    const before = await streamCount(d);
    const dlBefore = (await s.getJson('/api/dead-letters'))['@iot.count'];
    const h0 = await health();
    const bad = [
        { topic: `v1.1/Datastreams(${d})/Observations`, payload: '{"result":"high","phenomenonTime":"2024-04-01T09:00:00Z"}', reason: /result/ },
        { topic: `v1.1/Datastreams(${d})/Observations`, payload: '{"result": 1,', reason: /JSON|json/ },
        { topic: 'v1.1/Datastreams(999999)/Observations', payload: '{"result":1}', reason: /404|999999|not found|no Datastream/i },
        { topic: `v1.1/Datastreams(${d})/Observations`, payload: Buffer.from([0xff, 0xfe, 0x00, 0x41]), reason: /NUL/ },
    ];
    for (const b of bad) await pub.publish(b.topic, b.payload);
    await waitFor(async () => (await s.getJson('/api/dead-letters'))['@iot.count'] === dlBefore + bad.length, { what: 'the dead letters' });
    assert.equal(await streamCount(d), before, 'nothing stored');
    const list = (await s.getJson(`/api/dead-letters?$top=${bad.length}`)).value.reverse();
    for (let i = 0; i < bad.length; i++) {
        const dl = list[i];
        assert.equal(dl.source, 'mqtt');
        assert.equal(dl.topic, bad[i].topic);
        assert.match(dl.reason, bad[i].reason, `reason of ${dl.payload}: ${dl.reason}`);
        assert.ok(!Number.isNaN(Date.parse(dl.time)));
        if (Buffer.isBuffer(bad[i].payload)) {
            assert.equal(dl.encoding, 'base64');
            assert.equal(dl.payload, bad[i].payload.toString('base64'));
        } else {
            assert.equal(dl.encoding, 'utf-8');
            assert.equal(dl.payload, bad[i].payload);
        }
    }
    const h = await health();
    assert.equal(h.mqtt.dead_lettered, h0.mqtt.dead_lettered + bad.length);
    assert.equal(h.dead_letters, dlBefore + bad.length);
    // Paging.
    const p1 = await s.getJson('/api/dead-letters?$top=1');
    assert.equal(p1.value.length, 1);
    assert.equal(p1['@iot.nextLink'], '/api/dead-letters?$top=1&$skip=1');
    const p2 = await s.getJson(p1['@iot.nextLink']);
    assert.ok(p2.value[0].id < p1.value[0].id);
    assert.equal((await s.get('/api/dead-letters?$top=x')).status, 400);
});

test("klammer's own and other nodes' notifications are not created again", async () => {
    const d = ds['@iot.id'];
    const before = await streamCount(d);
    const h0 = await health();
    for (let i = 0; i < 5; i++) {
        await s.create(`Datastreams(${d})/Observations`, { phenomenonTime: `2024-05-01T00:0${i}:00.000Z`, result: i });
    }
    // A notification from another node carries @iot.id: not a create request.
    const other = await client('node2');
    const last = (await s.getJson(`Datastreams(${d})/Observations?$orderby=id desc&$top=1`)).value[0];
    await other.publish(`v1.1/Datastreams(${d})/Observations`, last);
    await other.publish('v1.1/Observations', last);
    await waitFor(async () => (await health()).mqtt.ignored >= h0.mqtt.ignored + 2, { what: 'the notifications to be seen' });
    await waitFor(async () => (await health()).mqtt.acknowledged >= h0.mqtt.published + 10, { what: 'klammer publications acknowledged' });
    await sleep(500);
    assert.equal(await streamCount(d), before + 5);
    const h = await health();
    assert.equal(h.mqtt.created, h0.mqtt.created, 'no creation from MQTT');
    assert.equal(h.mqtt.dead_lettered, h0.mqtt.dead_lettered);
});

test('a broker restart mid-stream: klammer reconnects, and every acknowledged observation is stored once', async () => {
    const { ds: ds2 } = await makeStream('B');
    const d = ds2['@iot.id'];
    const topic = `v1.1/Datastreams(${d})/Observations`;
    const TOTAL = 300;
    const RESTART_AT = 100;
    const acked = new Set();
    const unknown = new Set(); // sent, connection lost before the PUBACK
    let sent = 0;
    let pub = await Mqtt.connect(broker.port, `stream-${process.pid}`);
    let restarted = false;
    let sawDegraded = false;

    const restart = (async () => {
        await waitFor(() => acked.size >= RESTART_AT, { timeoutMs: 20000, what: 'the first part of the stream' });
        await broker.stop();
        await waitFor(async () => {
            const h = await health();
            return h.mqtt.state === 'disconnected' && h.status === 'degraded';
        }, { timeoutMs: 5000, what: '/health to show the broker gone' });
        sawDegraded = true;
        await sleep(300);
        await broker.start();
        restarted = true;
    })();

    while (sent < TOTAL) {
        const seq = sent++;
        const body = { phenomenonTime: new Date(Date.UTC(2024, 5, 1, 0, 0, seq)).toISOString(), result: seq, parameters: { seq } };
        try {
            await pub.publish(topic, body);
            acked.add(seq);
        } catch {
            unknown.add(seq);
            // Reconnect to the restarted broker and go on with the next one.
            for (;;) {
                try {
                    pub = await Mqtt.connect(broker.port, `stream-${process.pid}`);
                    break;
                } catch {
                    await sleep(100);
                }
            }
        }
        if (seq % 20 === 0) await sleep(1); // let the restart task run
    }
    await restart;
    pub.close();
    assert.ok(restarted && sawDegraded);
    assert.ok(acked.size >= TOTAL - 5, `most messages acknowledged (${acked.size})`);

    await waitFor(async () => {
        const h = await health();
        return h.mqtt.state === 'connected' && h.mqtt.connects >= 2 && h.status === 'ok';
    }, { timeoutMs: 40000, what: 'klammer to reconnect' });

    const seqs = async () => (await s.all(`Datastreams(${d})/Observations?$select=parameters&$top=1000`)).map((o) => o.parameters.seq);
    try {
        await waitFor(async () => {
            const have = new Set(await seqs());
            return [...acked].every((q) => have.has(q));
        }, { timeoutMs: 40000, intervalMs: 200, what: 'every acknowledged observation to be stored' });
    } catch (e) {
        const have = new Set(await seqs());
        const missing = [...acked].filter((q) => !have.has(q));
        e.message += `\nmissing (acknowledged, not stored): ${missing.join(',')}; unknown: ${[...unknown].join(',')}` +
            `\nhealth: ${JSON.stringify(await health())}\nbroker log tail:\n${broker.log.split('\n').slice(-30).join('\n')}`;
        throw e;
    }
    await sleep(1000); // redeliveries, if any, arrive by now
    const all = await seqs();
    const counts = new Map();
    for (const q of all) counts.set(q, (counts.get(q) || 0) + 1);
    const dup = [...counts].filter(([, n]) => n > 1).map(([q]) => q);
    assert.deepEqual(dup, [], 'no observation stored twice');
    for (const q of acked) assert.equal(counts.get(q), 1, `acknowledged observation ${q} stored once`);
    for (const q of all) assert.ok(acked.has(q) || unknown.has(q), `stored ${q} was sent`);
    const h = await health();
    assert.equal(h.mqtt.dead_lettered, (await s.getJson('/api/dead-letters'))['@iot.count'], 'no dead letters from the stream');
});
