// LoRaWAN ingest over MQTT with TLS and credentials: a private CA made with
// the openssl tool signs the certificate of a Mosquitto TLS listener for
// 127.0.0.1 that wants a user name and password.  klammer trusting that CA
// (ingest_mqtt_ca_file) with the right credentials connects and stores
// uplinks; trusting another CA, or with a wrong password, it is refused and
// /health says why.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test, startServer, freePort, tmpDir, waitFor, KLAMMER_BIN } from './lib/harness.mjs';
import { Broker, findBin } from './lib/broker.mjs';

let dir, broker, ca, otherCa;

// A CA (key + self-signed certificate) in dir/name.{key,pem}.
function makeCa(name) {
    const key = path.join(dir, `${name}.key`), pem = path.join(dir, `${name}.pem`);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', pem,
        '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
    return { key, pem };
}

before(async () => {
    assert.ok(findBin('openssl'), 'the openssl tool must be installed');
    dir = tmpDir('klammer-tls-');
    ca = makeCa('hagen-test-ca');
    otherCa = makeCa('other-ca');
    const key = path.join(dir, 'broker.key'), csr = path.join(dir, 'broker.csr'), pem = path.join(dir, 'broker.pem');
    const ext = path.join(dir, 'san.ext');
    fs.writeFileSync(ext, 'subjectAltName=IP:127.0.0.1\n');
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', '/CN=broker'], { stdio: 'ignore' });
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.pem, '-CAkey', ca.key, '-CAcreateserial', '-out', pem,
        '-days', '2', '-extfile', ext], { stdio: 'ignore' });
    const passwd = path.join(dir, 'passwd');
    execFileSync(findBin('mosquitto_passwd'), ['-b', '-c', passwd, 'klammer', 'pegel-2026'], { stdio: 'ignore' });
    execFileSync(findBin('mosquitto_passwd'), ['-b', passwd, 'publisher', 'pub-secret'], { stdio: 'ignore' });
    broker = new Broker(await freePort(), dir, { tls: { certfile: pem, keyfile: key }, passwordFile: passwd });
    await broker.start();
});

after(async () => {
    if (broker) await broker.stop();
});

// Publishes one message over TLS with mosquitto_pub at QoS 1.
function publish(topic, msg) {
    return new Promise((resolve) => {
        const p = spawn(findBin('mosquitto_pub'), ['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', ca.pem,
            '-u', 'publisher', '-P', 'pub-secret', '-q', '1', '-t', topic, '-s'], { stdio: ['pipe', 'ignore', 'ignore'] });
        p.on('exit', (code) => resolve(code === 0));
        p.stdin.end(JSON.stringify(msg));
    });
}

const EUI = '24E1247100000600';
function uplink(fCnt) {
    return {
        topic: `application/tls-app/device/${EUI.toLowerCase()}/event/up`,
        msg: { time: new Date(Date.UTC(2025, 8, 1) + fCnt * 1000).toISOString(), deviceInfo: { devEui: EUI.toLowerCase(), deviceName: 'tls-bin' },
            fCnt, fPort: 85, data: Buffer.from('01755A03825E01040000', 'hex').toString('base64') },
    };
}

async function streamFor(s) {
    const t = await s.create('Things', {
        name: 'tls bin', description: 'd',
        Locations: [{ name: 'l', description: 'd', encodingType: 'application/geo+json', location: { type: 'Point', coordinates: [7.47, 51.36] } }],
        Datastreams: [{ name: 'fill', description: 'd', observationType: 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement',
            unitOfMeasurement: { name: 'mm', symbol: 'mm', definition: 'ucum:mm' },
            Sensor: { name: 's', description: 'd', encodingType: 'text/plain', metadata: 'm' },
            ObservedProperty: { name: 'distance', definition: 'd', description: 'd' } }],
    });
    const ds = (await s.getJson(`Things(${t['@iot.id']})/Datastreams`)).value[0]['@iot.id'];
    const r = await s.post('/api/devices', { devEui: EUI, decoder: 'milesight-em310-udl', mapping: { distance: { datastream: ds } } });
    assert.equal(r.status, 201, r.text);
    return ds;
}

test('mqtts:// with the broker\'s CA: connects and stores uplinks', async () => {
    const s = await startServer({ args: ['--ingest-mqtt', `mqtts://127.0.0.1:${broker.port}`, '--ingest-mqtt-ca-file', ca.pem,
        '--ingest-mqtt-username', 'klammer', '--mqtt-client-id', `klammer-tls-${process.pid}`],
    env: { KLAMMER_INGEST_MQTT_PASSWORD: 'pegel-2026' } });
    try {
        const ds = await streamFor(s);
        await waitFor(async () => (await s.getJson('/health')).ingest.state === 'connected', { timeoutMs: 10000, what: 'TLS connection' });
        for (let f = 1; f <= 3; f++) {
            const u = uplink(f);
            assert.ok(await publish(u.topic, u.msg), 'published over TLS');
        }
        await waitFor(async () => (await s.count(`Datastreams(${ds})/Observations`)) === 3, { timeoutMs: 10000, what: '3 uplinks stored' });
        const obs = (await s.getJson(`Datastreams(${ds})/Observations?$orderby=phenomenonTime`)).value;
        assert.deepEqual(obs.map((o) => o.result), [350, 350, 350]);
    } finally {
        await s.stop();
    }
});

test('mqtts:// with another CA: the broker is refused, /health says why', async () => {
    const s = await startServer({ args: ['--ingest-mqtt', `mqtts://127.0.0.1:${broker.port}`, '--ingest-mqtt-ca-file', otherCa.pem,
        '--mqtt-client-id', `klammer-tls-bad-${process.pid}`] });
    try {
        await waitFor(async () => (await s.getJson('/health')).ingest.clients[0].last_error !== '', { timeoutMs: 10000, what: 'a TLS error' });
        const h = (await s.getJson('/health')).ingest;
        assert.equal(h.state, 'disconnected');
        assert.match(h.clients[0].last_error, /TLS handshake failed: certificate: .*(unable to get local issuer|self.signed)/i, h.clients[0].last_error);
    } finally {
        await s.stop();
    }
});

test('mqtts:// with a wrong password: refused, /health names the reason', async () => {
    const s = await startServer({ args: ['--ingest-mqtt', `mqtts://127.0.0.1:${broker.port}`, '--ingest-mqtt-ca-file', ca.pem,
        '--ingest-mqtt-username', 'klammer', '--ingest-mqtt-password', 'wrong', '--mqtt-client-id', `klammer-pw-${process.pid}`] });
    try {
        await waitFor(async () => (await s.getJson('/health')).ingest.clients[0].last_error !== '', { timeoutMs: 10000, what: 'a refusal' });
        const h = (await s.getJson('/health')).ingest;
        assert.equal(h.state, 'disconnected');
        assert.match(h.clients[0].last_error, /refused the connection: (bad user name or password|not authorized)/, h.clients[0].last_error);
    } finally {
        await s.stop();
    }
});

test('a CA file that cannot be read stops serve at start with the reason', async () => {
    const missing = path.join(dir, 'missing.pem');
    const r = spawn(KLAMMER_BIN, ['serve', '--db', path.join(dir, 'x.db'), '--listen', `127.0.0.1:${await freePort()}`,
        '--ingest-mqtt', 'mqtts://127.0.0.1:1', '--ingest-mqtt-ca-file', missing], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    r.stderr.on('data', (d) => { err += d; });
    const code = await new Promise((resolve) => r.on('exit', resolve));
    assert.equal(code, 1, err);
    assert.ok(err.includes(`cannot read the CA file ${missing}`), err);
});
