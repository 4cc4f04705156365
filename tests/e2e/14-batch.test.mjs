// $batch (OGC 18-088 §11) in both formats: multipart/mixed (OData 4.0) and
// JSON (OData 4.01).  Reads and writes in one batch, change sets that create
// a Thing and then use its Content-ID ("POST $1/Datastreams", {"@iot.id":
// "$1"}), a failing change set that leaves nothing of itself while the
// requests around it succeed, status codes and Location headers inside the
// response parts, and malformed batches answered 400 as a whole.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, fixtures, OT } from './lib/harness.mjs';

let s;
before(async () => { s = await startServer(); });
after(async () => { if (s) assert.equal(await s.stop(), 0); });

const CRLF = '\r\n';

// A multipart batch body from a list of items: {method, url, body, id} for a
// request, or {changeset: [...]} for a change set.
function multipart(items, { boundary = 'batch_1', eol = CRLF } = {}) {
    const out = [];
    const req = (r) => {
        out.push('Content-Type: application/http', 'Content-Transfer-Encoding: binary');
        if (r.id) out.push(`Content-ID: ${r.id}`);
        out.push('', `${r.method} ${r.url} HTTP/1.1`);
        if (r.body !== undefined) out.push('Content-Type: application/json');
        out.push('', r.body === undefined ? '' : (typeof r.body === 'string' ? r.body : JSON.stringify(r.body)));
    };
    let n = 0;
    for (const it of items) {
        out.push(`--${boundary}`);
        if (it.changeset) {
            const cs = `changeset_${++n}`;
            out.push(`Content-Type: multipart/mixed; boundary=${cs}`, '');
            for (const r of it.changeset) {
                out.push(`--${cs}`);
                req(r);
            }
            out.push(`--${cs}--`);
        } else {
            req(it);
        }
    }
    out.push(`--${boundary}--`, '');
    return out.join(eol);
}

function splitOnce(text, sep) {
    const i = text.indexOf(sep);
    return i < 0 ? [text, ''] : [text.slice(0, i), text.slice(i + sep.length)];
}

function headerMap(block) {
    const h = {};
    for (const line of block.split(CRLF)) {
        const i = line.indexOf(':');
        if (i > 0) h[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
    }
    return h;
}

// Parses a multipart/mixed batch response into [{status, headers, body, json,
// contentId}] and, for a change set, {changeset: [...]}.
function parseResponse(text, contentType) {
    const m = /boundary=([^;\s]+)/.exec(contentType);
    assert.ok(m, `no boundary in ${contentType}`);
    const segs = text.split(`--${m[1]}`);
    assert.equal(segs[0], '', 'no preamble expected');
    const out = [];
    let closed = false;
    for (const seg of segs.slice(1)) {
        if (seg.startsWith('--')) { closed = true; break; }
        assert.ok(seg.startsWith(CRLF), 'delimiter followed by CRLF');
        const part = seg.slice(2).replace(/\r\n$/, '');
        const [head, rest] = splitOnce(part, CRLF + CRLF);
        const ph = headerMap(head);
        if (ph['content-type'].startsWith('multipart/mixed')) {
            out.push({ changeset: parseResponse(rest.replace(/\r\n$/, ''), ph['content-type']) });
            continue;
        }
        assert.equal(ph['content-type'], 'application/http');
        const [rhead, body] = splitOnce(rest, CRLF + CRLF);
        const lines = rhead.split(CRLF);
        const sm = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0]);
        assert.ok(sm, `status line: ${lines[0]}`);
        const headers = headerMap(lines.slice(1).join(CRLF));
        let json;
        try { json = body ? JSON.parse(body) : undefined; } catch { json = undefined; }
        out.push({ status: Number(sm[1]), headers, body, json, contentId: ph['content-id'] });
    }
    assert.ok(closed, 'close delimiter present');
    return out;
}

async function batch(items, opts) {
    const r = await s.post('$batch', multipart(items, opts), {
        contentType: `multipart/mixed; boundary=${(opts && opts.boundary) || 'batch_1'}`,
    });
    assert.equal(r.status, 200, r.text);
    return parseResponse(r.text, r.headers.get('content-type'));
}

async function jsonBatch(requests) {
    const r = await s.post('$batch', { requests });
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^application\/json/);
    return r.json.responses;
}

const datastream = (n, extra = {}) => ({
    name: `Batch DS ${n}`,
    description: 'made in a batch',
    observationType: OT.measurement,
    unitOfMeasurement: fixtures.uom(n),
    Sensor: fixtures.sensor(n),
    ObservedProperty: fixtures.observedProperty(n),
    ...extra,
});

async function countNamed(set, name) {
    const r = await s.getJson(`${set}?$count=true&$top=0&$filter=name eq '${name}'`);
    return r['@iot.count'];
}

test('multipart: GETs and POSTs outside change sets, with statuses and Location', async () => {
    const thing = await s.create('Things', fixtures.thing(100));
    const id = thing['@iot.id'];
    const res = await batch([
        { method: 'GET', url: `Things(${id})?$select=name` },
        { method: 'POST', url: '/v1.1/Things', body: fixtures.thing(101) },
        { method: 'GET', url: `${s.root}/Things(${id})/name` },
        { method: 'GET', url: 'Things(999999)' },
        { method: 'PATCH', url: `Things(${id})`, body: { description: 'patched in a batch' } },
        { method: 'DELETE', url: 'Things(999998)' },
        { method: 'GET', url: "Things?$filter=name%20eq%20'Thing%20101'&$select=name" },
    ]);
    assert.equal(res.length, 7);
    assert.deepEqual(res[0].json, { name: 'Thing 100' });
    assert.equal(res[0].headers['content-type'], 'application/json');
    assert.equal(res[1].status, 201);
    assert.match(res[1].headers.location, new RegExp(`^${s.root.replace(/[.]/g, '\\.')}/Things\\(\\d+\\)$`));
    assert.equal(res[1].json.name, 'Thing 101');
    assert.equal(res[1].headers.location, res[1].json['@iot.selfLink']);
    assert.deepEqual(res[2].json, { name: 'Thing 100' });
    assert.equal(res[3].status, 404);
    assert.equal(res[3].json.code, 404);
    assert.equal(res[4].status, 200);
    assert.equal(res[4].json.description, 'patched in a batch');
    assert.equal(res[5].status, 404);
    assert.deepEqual(res[6].json, { value: [{ name: 'Thing 101' }] });
    assert.equal((await s.getJson(`Things(${id})`)).description, 'patched in a batch');
});

test('multipart: a change set creates a Thing and uses $1 in URLs and bodies', async () => {
    const res = await batch([
        {
            changeset: [
                { id: '1', method: 'POST', url: 'Things', body: fixtures.thing(200) },
                { id: '2', method: 'POST', url: '$1/Datastreams', body: datastream(200) },
                { id: '3', method: 'POST', url: '$2/Observations', body: { result: 21.5, phenomenonTime: '2024-05-01T12:00:00Z', FeatureOfInterest: fixtures.featureOfInterest(200) } },
                { id: '4', method: 'POST', url: 'Datastreams', body: datastream(201, { Thing: { '@iot.id': '$1' } }) },
                { id: '5', method: 'PATCH', url: '$1', body: { description: 'patched through $1' } },
            ],
        },
        { method: 'GET', url: "Things?$filter=name%20eq%20'Thing%20200'&$expand=Datastreams($select=name;$orderby=id)" },
    ]);
    assert.equal(res.length, 2);
    const cs = res[0].changeset;
    assert.ok(cs, 'a change set response');
    assert.deepEqual(cs.map((p) => p.status), [201, 201, 201, 201, 200]);
    assert.deepEqual(cs.map((p) => p.contentId), ['1', '2', '3', '4', '5']);
    const thingId = cs[0].json['@iot.id'];
    assert.equal(cs[0].headers.location, s.link(`Things(${thingId})`));
    assert.match(cs[1].headers.location, /\/Datastreams\(\d+\)$/);
    assert.match(cs[2].headers.location, /\/Observations\(\d+\)$/);
    assert.equal(cs[4].json.description, 'patched through $1');
    const after = res[1].json.value;
    assert.equal(after.length, 1);
    assert.equal(after[0]['@iot.id'], thingId);
    assert.deepEqual(after[0].Datastreams.map((d) => d.name), ['Batch DS 200', 'Batch DS 201']);
    const ds = cs[1].json['@iot.id'];
    const obs = await s.getJson(`Datastreams(${ds})/Observations`);
    assert.equal(obs.value.length, 1);
    assert.equal(obs.value[0].result, 21.5);
});

test('multipart: a failing change set leaves nothing; requests around it succeed', async () => {
    const res = await batch([
        { method: 'POST', url: 'Things', body: fixtures.thing(300) },
        {
            changeset: [
                { id: 'a', method: 'POST', url: 'Things', body: fixtures.thing(301) },
                { id: 'b', method: 'POST', url: '$a/Datastreams', body: datastream(301) },
                { id: 'c', method: 'POST', url: 'Sensors', body: { name: 'no description' } },
                { id: 'd', method: 'POST', url: 'Things', body: fixtures.thing(302) },
            ],
        },
        { method: 'POST', url: 'Things', body: fixtures.thing(303) },
    ]);
    assert.equal(res.length, 3);
    assert.equal(res[0].status, 201);
    // One response for the whole failed change set (OData 4.0 §11.7.4), naming the request.
    assert.equal(res[1].changeset, undefined);
    assert.equal(res[1].status, 400);
    assert.equal(res[1].contentId, 'c');
    assert.equal(res[1].json.field, 'description');
    assert.equal(res[2].status, 201);
    assert.equal(await countNamed('Things', 'Thing 300'), 1);
    assert.equal(await countNamed('Things', 'Thing 301'), 0);
    assert.equal(await countNamed('Things', 'Thing 302'), 0);
    assert.equal(await countNamed('Datastreams', 'Batch DS 301'), 0);
    assert.equal(await countNamed('Sensors', 'Sensor 301'), 0);
    assert.equal(await countNamed('Things', 'Thing 303'), 1);
});

test('multipart: references fail outside their change set and for unknown ids', async () => {
    const res = await batch([
        { changeset: [{ id: 'x', method: 'POST', url: 'Things', body: fixtures.thing(400) }] },
        { changeset: [{ id: 'y', method: 'POST', url: '$x/Datastreams', body: datastream(400) }] },
        { method: 'POST', url: '$x/Locations', body: fixtures.location(400) },
        { changeset: [{ id: 'z', method: 'POST', url: 'Datastreams', body: datastream(401, { Thing: { '@iot.id': '$nope' } }) }] },
        { changeset: [
            { id: 'p', method: 'POST', url: 'ObservedProperties', body: fixtures.observedProperty(402) },
            { id: 'q', method: 'POST', url: 'Datastreams', body: datastream(402, { Thing: { '@iot.id': '$p' } }) },
        ] },
    ]);
    assert.equal(res[0].changeset[0].status, 201);
    assert.equal(res[1].status, 400);
    assert.match(res[1].json.message, /\$x.*earlier request of this change set/);
    assert.equal(res[2].status, 400);
    assert.match(res[2].json.message, /only allowed inside a change set/);
    assert.equal(res[3].status, 400);
    assert.match(res[3].json.message, /\$nope/);
    assert.equal(res[4].status, 400);
    assert.match(res[4].json.message, /is a ObservedProperty, not a Thing/);
    assert.equal(await countNamed('ObservedProperties', 'Property 402'), 0);
});

test('multipart: LF line endings, preamble and quoted boundary are accepted', async () => {
    const body = 'preamble' + '\n' + multipart([
        { method: 'GET', url: 'Things?$top=1&$select=name' },
        { changeset: [{ id: '1', method: 'POST', url: 'Things', body: fixtures.thing(500) }] },
    ], { boundary: 'b-lf', eol: '\n' });
    const r = await s.post('$batch', body, { contentType: 'multipart/mixed; boundary="b-lf"' });
    assert.equal(r.status, 200, r.text);
    const res = parseResponse(r.text, r.headers.get('content-type'));
    assert.equal(res[0].status, 200);
    assert.equal(res[1].changeset[0].status, 201);
    assert.equal(await countNamed('Things', 'Thing 500'), 1);
});

test('JSON: reads, writes and an atomicity group with $-references', async () => {
    const thing = await s.create('Things', fixtures.thing(600));
    const id = thing['@iot.id'];
    const res = await jsonBatch([
        { id: 'r0', method: 'get', url: `Things(${id})?$select=name` },
        { id: 'sensor1', atomicityGroup: 'g1', method: 'post', url: 'Sensors', body: fixtures.sensor(601) },
        { id: 'op1', atomicityGroup: 'g1', method: 'post', url: 'ObservedProperties', body: fixtures.observedProperty(601) },
        {
            id: 'ds1', atomicityGroup: 'g1', method: 'post', url: `Things(${id})/Datastreams`,
            body: { name: 'JSON DS 601', description: 'd', observationType: OT.measurement, unitOfMeasurement: fixtures.uom(1), Sensor: { '@iot.id': '$sensor1' }, ObservedProperty: { '@iot.id': '$op1' } },
        },
        { id: 'o1', atomicityGroup: 'g1', method: 'post', url: '$ds1/Observations', body: { result: 3, FeatureOfInterest: fixtures.featureOfInterest(601) } },
        { id: 'r1', method: 'get', url: `/v1.1/Things(${id})/Datastreams?$select=name`, dependsOn: ['g1'] },
        { id: 'r2', method: 'get', url: 'Things(999999)' },
        { id: 'del', method: 'delete', url: `Things(${id})/Datastreams` },
    ]);
    assert.deepEqual(res.map((r) => r.id), ['r0', 'sensor1', 'op1', 'ds1', 'o1', 'r1', 'r2', 'del']);
    assert.deepEqual(res.map((r) => r.status), [200, 201, 201, 201, 201, 200, 404, 405]);
    assert.deepEqual(res[0].body, { name: 'Thing 600' });
    assert.equal(res[0].atomicityGroup, undefined);
    assert.equal(res[1].atomicityGroup, 'g1');
    assert.equal(res[1].headers.location, res[1].body['@iot.selfLink']);
    assert.match(res[3].headers.location, /\/Datastreams\(\d+\)$/);
    assert.deepEqual(res[5].body, { value: [{ name: 'JSON DS 601' }] });
    const ds = res[3].body['@iot.id'];
    assert.equal((await s.getJson(`Datastreams(${ds})/Sensor`))['@iot.id'], res[1].body['@iot.id']);
    assert.equal((await s.getJson(`Datastreams(${ds})/ObservedProperty`))['@iot.id'], res[2].body['@iot.id']);
    assert.equal((await s.getJson(`Datastreams(${ds})/Observations`)).value[0].result, 3);
});

test('JSON: a failing atomicity group rolls back; others get 424', async () => {
    const res = await jsonBatch([
        { id: '1', method: 'post', url: 'Things', body: fixtures.thing(700) },
        { id: '2', atomicityGroup: 'bad', method: 'post', url: 'Things', body: fixtures.thing(701) },
        { id: '3', atomicityGroup: 'bad', method: 'post', url: '$2/Locations', body: { name: 'no encodingType' } },
        { id: '4', atomicityGroup: 'bad', method: 'post', url: 'Things', body: fixtures.thing(702) },
        { id: '5', atomicityGroup: 'good', method: 'post', url: 'Things', body: fixtures.thing(703) },
    ]);
    assert.deepEqual(res.map((r) => [r.id, r.status]), [['1', 201], ['2', 424], ['3', 400], ['4', 424], ['5', 201]]);
    assert.equal(res[1].body.code, 424);
    assert.match(res[1].body.message, /'3'/);
    assert.equal(res[2].atomicityGroup, 'bad');
    assert.equal(await countNamed('Things', 'Thing 700'), 1);
    assert.equal(await countNamed('Things', 'Thing 701'), 0);
    assert.equal(await countNamed('Things', 'Thing 702'), 0);
    assert.equal(await countNamed('Things', 'Thing 703'), 1);
});

test('malformed batches are answered 400 as a whole and change nothing', async () => {
    const valid = multipart([{ method: 'POST', url: 'Things', body: fixtures.thing(800) }]);
    const cases = [
        ['no boundary', valid, 'multipart/mixed', 400, /boundary/],
        ['wrong boundary', valid, 'multipart/mixed; boundary=other', 400, /no delimiter line '--other'/],
        ['truncated', valid.slice(0, valid.length - 20), 'multipart/mixed; boundary=batch_1', 400, /not closed|truncated/],
        ['trailing part truncated', valid.replace('--batch_1--\r\n', '--batch_1\r\nContent-Type: application/http\r\n\r\nGET Things'), 'multipart/mixed; boundary=batch_1', 400, /part 2 is not closed/],
        ['nested change sets', '--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: multipart/mixed; boundary=d\r\n\r\n--d--\r\n--c--\r\n--b--', 'multipart/mixed; boundary=b', 400, /cannot be nested/],
        ['part type', '--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--', 'multipart/mixed; boundary=b', 400, /application\/http or multipart\/mixed/],
        ['huge header', valid.replace('Content-Transfer-Encoding: binary', `X-Big: ${'x'.repeat(9000)}`), 'multipart/mixed; boundary=batch_1', 400, /longer than 8192 bytes/],
        ['wrong media type', valid, 'text/plain', 415, /multipart\/mixed/],
        ['JSON syntax', '{"requests":[', 'application/json', 400, /malformed JSON/],
        ['JSON without requests', '{}', 'application/json', 400, /requests/],
        ['JSON missing url', '{"requests":[{"id":"1","method":"post","body":{}}]}', 'application/json', 400, /requests\[0\]\.url/],
    ];
    for (const [name, body, ct, status, re] of cases) {
        const r = await s.post('$batch', body, { contentType: ct });
        assert.equal(r.status, status, `${name}: ${r.text}`);
        assert.equal(r.json.code, status, name);
        assert.match(r.json.message, re, name);
    }
    assert.equal(await countNamed('Things', 'Thing 800'), 0);
    const tooMany = { requests: Array.from({ length: 1001 }, (_, i) => ({ id: `${i}`, method: 'get', url: 'Things' })) };
    const r = await s.post('$batch', tooMany);
    assert.equal(r.status, 400);
    assert.match(r.json.message, /at most 1000 requests/);
    const g = await s.get('$batch');
    assert.equal(g.status, 405);
    assert.equal(g.headers.get('allow'), 'POST');
});

test('concurrent batches and single writes all commit', async () => {
    const jobs = [];
    for (let i = 0; i < 6; i++) {
        jobs.push(batch([
            { changeset: [
                { id: '1', method: 'POST', url: 'Things', body: fixtures.thing(900 + i) },
                { id: '2', method: 'POST', url: '$1/Datastreams', body: datastream(900 + i) },
            ] },
            { method: 'GET', url: 'Things?$top=1' },
        ]));
        jobs.push(s.create('Things', fixtures.thing(950 + i)));
    }
    const all = await Promise.all(jobs);
    for (let i = 0; i < 12; i += 2) {
        assert.deepEqual(all[i][0].changeset.map((p) => p.status), [201, 201]);
        assert.equal(all[i][1].status, 200);
    }
    for (let i = 0; i < 6; i++) {
        assert.equal(await countNamed('Things', `Thing ${900 + i}`), 1);
        assert.equal(await countNamed('Things', `Thing ${950 + i}`), 1);
    }
});
