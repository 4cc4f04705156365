// Query options: $top (configured default and maximum), $skip, $count,
// @iot.nextLink, $orderby with several keys, $select (also navigation
// properties), $expand nested with its own options, options on navigation
// paths, property / $value / $ref paths, $filter -> 501, invalid options.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, fixtures, OT, assertError } from './lib/harness.mjs';

const TOP_DEFAULT = 10;
const TOP_MAX = 15;
const N_A = 25;

let s;
const g = {};
const minute = (i) => `2024-01-01T00:${String(i).padStart(2, '0')}:00.000Z`;

before(async () => {
    s = await startServer({ args: ['--top-default', String(TOP_DEFAULT), '--top-max', String(TOP_MAX)] });
    g.named = [];
    for (const [name, description] of [['b', 'g1'], ['a', 'g2'], ['c', 'g1'], ['a2', 'g2'], ['d', 'g1']]) {
        g.named.push((await s.create('Things', { name, description }))['@iot.id']);
    }
    const q = await s.create('Things', { name: 'zz-station', description: 'g3', Locations: [fixtures.location(1)] });
    g.q = q['@iot.id'];
    g.location = (await s.getJson(`Things(${g.q})/Locations`)).value[0]['@iot.id'];
    g.sensor = (await s.create('Sensors', fixtures.sensor(1)))['@iot.id'];
    g.op = (await s.create('ObservedProperties', fixtures.observedProperty(1)))['@iot.id'];
    g.a = (await s.create('Datastreams', { ...fixtures.datastream(1, g.q, g.sensor, g.op), name: 'A temperature' }))['@iot.id'];
    g.b = (await s.create('Datastreams', { ...fixtures.datastream(2, g.q, g.sensor, g.op), name: 'B humidity' }))['@iot.id'];
    g.obsA = [];
    // posted out of time order, so that id order != time order
    const order = [...Array(N_A).keys()].sort((x, y) => ((x * 7) % N_A) - ((y * 7) % N_A));
    for (const i of order) {
        const o = await s.create('Observations', { phenomenonTime: minute(i), result: i * 1.5, Datastream: { '@iot.id': g.a } });
        g.obsA[i] = o['@iot.id'];
    }
    g.obsB = [];
    for (const [i, result] of [[1, 5], [2, 5], [3, 7]]) {
        g.obsB.push((await s.create('Observations', { phenomenonTime: minute(i), result, Datastream: { '@iot.id': g.b } }))['@iot.id']);
    }
});

after(async () => { if (s) assert.equal(await s.stop(), 0); });

const nextOf = (page) => page['@iot.nextLink'];

// An expanded entity carries every property of the entity (as GET returns
// it) but no navigation links (FROST / OGC test suite rule); @iot.selfLink
// may be there or not.
function assertExpanded(exp, full) {
    const want = {};
    for (const [k, v] of Object.entries(full)) {
        if (!k.endsWith('@iot.navigationLink') && k !== '@iot.selfLink') want[k] = v;
    }
    const got = {};
    for (const [k, v] of Object.entries(exp)) {
        if (k !== '@iot.selfLink') got[k] = v;
    }
    assert.deepEqual(got, want, `expanded entity ${JSON.stringify(exp)} vs ${JSON.stringify(full)}`);
    if ('@iot.selfLink' in exp) assert.equal(exp['@iot.selfLink'], full['@iot.selfLink']);
}
const decoded = (link) => decodeURIComponent(link.replace(/\+/g, ' '));

async function followAll(first) {
    const pages = [];
    let url = first;
    while (url) {
        const r = await s.get(url);
        assert.equal(r.status, 200, `${url}: ${r.text}`);
        pages.push(r.json);
        url = nextOf(r.json);
        if (url) assert.ok(url.startsWith(`${s.root}/`), `nextLink is absolute: ${url}`);
        assert.ok(pages.length < 100, 'nextLink loop');
    }
    return pages;
}

test('$top default from configuration, nextLink followed to the end returns every entity once', async () => {
    const pages = await followAll(`Datastreams(${g.a})/Observations`);
    assert.deepEqual(pages.map((p) => p.value.length), [10, 10, 5]);
    const ids = pages.flatMap((p) => p.value.map((o) => o['@iot.id']));
    assert.equal(new Set(ids).size, N_A);
    assert.deepEqual([...ids].sort((x, y) => x - y), [...g.obsA].sort((x, y) => x - y));
    assert.equal(nextOf(pages.at(-1)), undefined, 'no nextLink on the last page');
});

test('$top=7 pages 7,7,7,4 and the nextLink carries $top and $skip', async () => {
    const first = await s.getJson(`Datastreams(${g.a})/Observations?$top=7&$orderby=phenomenonTime asc`);
    const link = decoded(nextOf(first));
    assert.ok(link.startsWith(`${s.root}/Datastreams(${g.a})/Observations?`), link);
    assert.match(link, /[?&]\$top=7(&|$)/);
    assert.match(link, /[?&]\$skip=7(&|$)/);
    assert.match(link, /[?&]\$orderby=phenomenonTime( asc)?(&|$)/);
    const pages = await followAll(`Datastreams(${g.a})/Observations?$top=7&$orderby=phenomenonTime asc`);
    assert.deepEqual(pages.map((p) => p.value.length), [7, 7, 7, 4]);
    const times = pages.flatMap((p) => p.value.map((o) => o.phenomenonTime));
    assert.deepEqual(times, [...Array(N_A).keys()].map(minute));
});

test('$top above the configured maximum is capped, with a nextLink', async () => {
    const r = await s.getJson(`Datastreams(${g.a})/Observations?$top=100`);
    assert.equal(r.value.length, TOP_MAX);
    assert.ok(nextOf(r), 'nextLink expected');
    const pages = await followAll(`Datastreams(${g.a})/Observations?$top=100`);
    assert.equal(pages.flatMap((p) => p.value).length, N_A);
});

test('$skip', async () => {
    let r = await s.getJson(`Datastreams(${g.a})/Observations?$skip=20&$orderby=phenomenonTime asc`);
    assert.deepEqual(r.value.map((o) => o.phenomenonTime), [20, 21, 22, 23, 24].map(minute));
    assert.equal(nextOf(r), undefined);
    r = await s.getJson(`Datastreams(${g.a})/Observations?$skip=3&$top=2&$orderby=phenomenonTime asc`);
    assert.deepEqual(r.value.map((o) => o.phenomenonTime), [3, 4].map(minute));
    r = await s.getJson(`Datastreams(${g.a})/Observations?$skip=25`);
    assert.deepEqual(r.value, []);
    r = await s.getJson(`Datastreams(${g.a})/Observations?$skip=1000`);
    assert.deepEqual(r.value, []);
    assert.equal(nextOf(r), undefined);
});

test('$count', async () => {
    let r = await s.getJson(`Datastreams(${g.a})/Observations?$count=true&$top=2`);
    assert.equal(r['@iot.count'], N_A);
    assert.equal(r.value.length, 2);
    r = await s.getJson(`Datastreams(${g.a})/Observations?$count=false&$top=2`);
    assert.ok(!('@iot.count' in r));
    r = await s.getJson(`Datastreams(${g.a})/Observations?$top=2`);
    assert.ok(!('@iot.count' in r));
    r = await s.getJson(`Datastreams(${g.a})/Observations?$count=true&$top=0`);
    assert.equal(r['@iot.count'], N_A);
    assert.deepEqual(r.value, []);
    r = await s.getJson('Things?$count=true');
    assert.equal(r['@iot.count'], 6);
    r = await s.getJson(`Datastreams(${g.a})/Observations?$count=true&$skip=20`);
    assert.equal(r['@iot.count'], N_A, '$count ignores $skip');
    r = await s.getJson('Observations?$count=true&$top=1');
    assert.equal(r['@iot.count'], N_A + 3);
});

test('$orderby asc/desc and several keys', async () => {
    let r = await s.getJson(`Datastreams(${g.a})/Observations?$orderby=phenomenonTime desc&$top=5`);
    assert.deepEqual(r.value.map((o) => o.phenomenonTime), [24, 23, 22, 21, 20].map(minute));
    r = await s.getJson(`Datastreams(${g.a})/Observations?$orderby=result&$top=3`);
    assert.deepEqual(r.value.map((o) => o.result), [0, 1.5, 3]);
    r = await s.getJson('Things?$orderby=description asc,name desc');
    assert.deepEqual(r.value.map((t) => t.name), ['d', 'c', 'b', 'a2', 'a', 'zz-station']);
    r = await s.getJson('Things?$orderby=description,name');
    assert.deepEqual(r.value.map((t) => t.name), ['b', 'c', 'd', 'a', 'a2', 'zz-station']);
    r = await s.getJson('Things?$orderby=description desc, name asc');
    assert.deepEqual(r.value.map((t) => t.name), ['zz-station', 'a', 'a2', 'b', 'c', 'd']);
    r = await s.getJson(`Datastreams(${g.b})/Observations?$orderby=result asc,phenomenonTime desc`);
    assert.deepEqual(r.value.map((o) => o['@iot.id']), [g.obsB[1], g.obsB[0], g.obsB[2]]);
    r = await s.getJson('Things?$orderby=id desc');
    const ids = r.value.map((t) => t['@iot.id']);
    assert.deepEqual(ids, [...ids].sort((x, y) => y - x));
});

test('$orderby is kept across pages', async () => {
    const pages = await followAll(`Datastreams(${g.a})/Observations?$orderby=result desc&$top=4`);
    const results = pages.flatMap((p) => p.value.map((o) => o.result));
    assert.deepEqual(results, [...Array(N_A).keys()].reverse().map((i) => i * 1.5));
});

test('$select of properties returns only those', async () => {
    let r = await s.getJson('Things?$select=name,description&$orderby=name');
    assert.equal(r.value.length, 6);
    for (const t of r.value) assert.deepEqual(Object.keys(t).sort(), ['description', 'name']);
    r = await s.getJson('Things?$select=id,name&$orderby=name');
    for (const t of r.value) assert.deepEqual(Object.keys(t).sort(), ['@iot.id', 'name']);
    assert.deepEqual(r.value.map((t) => t.name), ['a', 'a2', 'b', 'c', 'd', 'zz-station']);
    r = await s.getJson(`Datastreams(${g.b})/Observations?$select=result,phenomenonTime&$orderby=phenomenonTime`);
    assert.deepEqual(r.value, [
        { phenomenonTime: minute(1), result: 5 },
        { phenomenonTime: minute(2), result: 5 },
        { phenomenonTime: minute(3), result: 7 },
    ].map((o) => {
        // key order is not significant
        return o;
    }));
    r = await s.getJson(`Things(${g.q})?$select=name`);
    assert.deepEqual(r, { name: 'zz-station' });
});

test('$select of navigation properties returns their navigation links', async () => {
    let r = await s.getJson(`Things(${g.q})?$select=Datastreams`);
    assert.deepEqual(r, { 'Datastreams@iot.navigationLink': s.link(`Things(${g.q})/Datastreams`) });
    r = await s.getJson(`Things(${g.q})?$select=name,Locations`);
    assert.deepEqual(r, { name: 'zz-station', 'Locations@iot.navigationLink': s.link(`Things(${g.q})/Locations`) });
    r = await s.getJson(`Datastreams?$select=id,Thing&$orderby=id`);
    assert.deepEqual(r.value, [g.a, g.b].sort((x, y) => x - y).map((id) => ({
        '@iot.id': id, 'Thing@iot.navigationLink': s.link(`Datastreams(${id})/Thing`),
    })));
});

test('$expand of a collection and of single entities', async () => {
    const r = await s.getJson(`Things(${g.q})?$expand=Datastreams`);
    assert.ok(Array.isArray(r.Datastreams), JSON.stringify(r));
    assert.equal(r.Datastreams.length, 2);
    for (const d of r.Datastreams) {
        assertExpanded(d, await s.getJson(`Datastreams(${d['@iot.id']})`));
    }
    assert.equal(r.name, 'zz-station');
    assert.equal(r['@iot.selfLink'], s.link(`Things(${g.q})`));
    const o = await s.getJson(`Observations(${g.obsB[0]})?$expand=Datastream,FeatureOfInterest`);
    assertExpanded(o.Datastream, await s.getJson(`Datastreams(${g.b})`));
    assert.equal(o.FeatureOfInterest['@iot.id'], (await s.getJson(`Observations(${g.obsB[0]})/FeatureOfInterest`))['@iot.id']);
    assert.equal(o.result, 5);
    const t = await s.getJson(`Things(${g.q})?$expand=Locations,Datastreams`);
    assert.deepEqual(t.Locations.map((l) => l['@iot.id']), [g.location]);
    assert.equal(t.Datastreams.length, 2);
    const e = await s.getJson(`Things(${g.named[0]})?$expand=Datastreams`);
    assert.deepEqual(e.Datastreams, [], 'an empty expanded collection is []');
});

test('$expand with a path: Datastreams/Observations, Datastreams/Sensor', async () => {
    const r = await s.getJson(`Things(${g.q})?$expand=Datastreams/Observations`);
    const b = r.Datastreams.find((d) => d['@iot.id'] === g.b);
    assert.deepEqual(b.Observations.map((o) => o['@iot.id']).sort((x, y) => x - y), [...g.obsB].sort((x, y) => x - y));
    const a = r.Datastreams.find((d) => d['@iot.id'] === g.a);
    assert.ok(a.Observations.length > 0 && a.Observations.length <= N_A);
    const r2 = await s.getJson(`Things(${g.q})?$expand=Datastreams/Sensor`);
    for (const d of r2.Datastreams) assert.equal(d.Sensor['@iot.id'], g.sensor);
});

test('$expand nested with its own options: the latest observation of each datastream', async () => {
    const r = await s.getJson(`Things(${g.q})?$expand=Datastreams($select=name;$expand=Observations($top=1;$orderby=phenomenonTime desc))`);
    assert.equal(r.Datastreams.length, 2);
    const byName = Object.fromEntries(r.Datastreams.map((d) => [d.name, d]));
    for (const d of r.Datastreams) {
        assert.ok(!('description' in d), `$select=name inside $expand: ${JSON.stringify(d)}`);
        assert.ok(!('unitOfMeasurement' in d));
        assert.equal(d.Observations.length, 1);
    }
    assert.equal(byName['A temperature'].Observations[0].phenomenonTime, minute(24));
    assert.equal(byName['A temperature'].Observations[0].result, 36);
    assert.equal(byName['A temperature'].Observations[0]['@iot.id'], g.obsA[24]);
    assert.equal(byName['B humidity'].Observations[0].phenomenonTime, minute(3));
    assert.equal(byName['B humidity'].Observations[0].result, 7);
});

test('the map query: every Thing with the latest observation of each of its datastreams', async () => {
    const r = await s.getJson('Things?$expand=Datastreams($expand=Observations($top=1;$orderby=phenomenonTime desc))&$orderby=name');
    assert.equal(r.value.length, 6);
    for (const t of r.value) {
        if (t['@iot.id'] !== g.q) {
            assert.deepEqual(t.Datastreams, []);
            continue;
        }
        const latest = Object.fromEntries(t.Datastreams.map((d) => [d['@iot.id'], d.Observations.map((o) => o['@iot.id'])]));
        assert.deepEqual(latest, { [g.a]: [g.obsA[24]], [g.b]: [g.obsB[2]] });
    }
});

test('$expand options: $orderby, $top, $skip, $select, $count', async () => {
    let r = await s.getJson(`Things(${g.q})?$expand=Datastreams($orderby=name desc)`);
    assert.deepEqual(r.Datastreams.map((d) => d.name), ['B humidity', 'A temperature']);
    r = await s.getJson(`Things(${g.q})?$expand=Datastreams($orderby=name asc;$top=1)`);
    assert.deepEqual(r.Datastreams.map((d) => d.name), ['A temperature']);
    r = await s.getJson(`Datastreams(${g.a})?$expand=Observations($orderby=phenomenonTime asc;$skip=2;$top=3;$select=result)`);
    assert.deepEqual(r.Observations, [{ result: 3 }, { result: 4.5 }, { result: 6 }]);
    r = await s.getJson(`Datastreams(${g.a})?$expand=Observations($count=true;$top=2)`);
    assert.equal(r.Observations.length, 2);
    assert.equal(r['Observations@iot.count'], N_A);
    r = await s.getJson(`Datastreams(${g.a})?$select=name&$expand=Thing($select=name),Sensor($select=name)`);
    assert.deepEqual(r, { name: 'A temperature', Thing: { name: 'zz-station' }, Sensor: { name: 'Sensor 1' } });
    r = await s.getJson(`Things(${g.q})?$expand=Datastreams($expand=Sensor,ObservedProperty($select=name))`);
    for (const d of r.Datastreams) {
        assert.equal(d.Sensor['@iot.id'], g.sensor);
        assert.deepEqual(d.ObservedProperty, { name: 'Property 1' });
    }
});

test('options on a collection with $expand: each entity gets its own expansion', async () => {
    const r = await s.getJson(`Datastreams?$orderby=name&$expand=Observations($orderby=phenomenonTime desc;$top=2)`);
    assert.deepEqual(r.value.map((d) => d.Observations.map((o) => o.phenomenonTime)), [
        [minute(24), minute(23)],
        [minute(3), minute(2)],
    ]);
});

test('options on navigation paths', async () => {
    const r = await s.getJson(`Datastreams(${g.a})/Observations?$top=3&$orderby=result desc&$select=result`);
    assert.deepEqual(r.value, [{ result: 36 }, { result: 34.5 }, { result: 33 }]);
    const t = await s.getJson(`Datastreams(${g.a})/Thing?$select=name&$expand=Locations($select=name)`);
    assert.deepEqual(t, { name: 'zz-station', Locations: [{ name: 'Location 1' }] });
    const c = await s.getJson(`Things(${g.q})/Datastreams?$count=true&$top=1&$orderby=name`);
    assert.equal(c['@iot.count'], 2);
    assert.deepEqual(c.value.map((d) => d.name), ['A temperature']);
    assert.ok(decoded(nextOf(c)).startsWith(`${s.root}/Things(${g.q})/Datastreams?`), nextOf(c));
});

test('$ref on collections pages like the collection', async () => {
    const r = await s.getJson('Things/$ref?$top=2&$orderby=name');
    assert.equal(r.value.length, 2);
    for (const v of r.value) assert.deepEqual(Object.keys(v), ['@iot.selfLink']);
    assert.ok(nextOf(r));
    const all = await followAll('Things/$ref?$top=4');
    assert.equal(all.flatMap((p) => p.value).length, 6);
    const c = await s.getJson(`Datastreams(${g.a})/Observations/$ref?$count=true&$top=1`);
    assert.equal(c['@iot.count'], N_A);
});

test('$filter answers, also inside $expand; a malformed one is a 400 naming the column', async () => {
    let r = await s.get(`Datastreams(${g.a})/Observations?$filter=phenomenonTime gt 2000-01-01T00:00:00Z&$top=1&$count=true`);
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json['@iot.count'] >= 1, r.text);
    r = await s.get("Things?$expand=Datastreams($filter=name eq 'no such name')");
    assert.equal(r.status, 200, r.text);
    for (const t of r.json.value) assert.deepEqual(t.Datastreams, []);
    r = await s.get("Things?$filter=name eq 'no such thing'");
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.value, []);
    r = await s.get("Things?$filter=(name eq 'a'");
    assertError(assert, r, 400, { where: 'unbalanced' });
    assert.equal(r.json.field, '$filter');
    assert.ok(r.json.position > 0, r.text);
});

test('invalid query options: 400 with a JSON error', async () => {
    for (const p of [
        'Things?$top=-1', 'Things?$top=abc', 'Things?$top=1.5', 'Things?$skip=-3', 'Things?$skip=x',
        'Things?$count=maybe', 'Things?$orderby=nosuchproperty', 'Things?$orderby=name sideways',
        'Things?$select=nosuchproperty', 'Things?$expand=NoSuchRelation', 'Things?$expand=Datastreams($top=x)',
        'Things?$expand=Datastreams($select=nosuch)', 'Things?$expand=Datastreams(', 'Observations?$expand=Datastreams',
        'Things?$top=', 'Things?$orderby=', 'Things?$unknownoption=1',
    ]) {
        const r = await s.get(p);
        assertError(assert, r, 400, { where: p });
    }
    void OT;
});

test('expanded entities carry no navigation links unless selected; $select keeps expanded relations', async () => {
    const r = await s.getJson(`Things(${g.q})?$expand=Datastreams,Locations`);
    for (const e of [...r.Datastreams, ...r.Locations]) {
        for (const k of Object.keys(e)) assert.ok(!k.endsWith('@iot.navigationLink'), `no navigation link in expanded entity: ${k}`);
    }
    // the top-level entity keeps its navigation links
    assert.equal(r['HistoricalLocations@iot.navigationLink'], s.link(`Things(${g.q})/HistoricalLocations`));
    const sel = await s.getJson(`Things(${g.q})?$select=id,name&$expand=Datastreams($select=id,Thing)`);
    assert.deepEqual(Object.keys(sel).sort(), ['@iot.id', 'Datastreams', 'name']);
    assert.deepEqual(sel.Datastreams.map((d) => d['Thing@iot.navigationLink']).sort(),
        [g.a, g.b].sort((x, y) => x - y).map((id) => s.link(`Datastreams(${id})/Thing`)).sort());
    for (const d of sel.Datastreams) assert.deepEqual(Object.keys(d).sort(), ['@iot.id', 'Thing@iot.navigationLink']);
});

test('$expand paths with a common prefix are merged', async () => {
    const r = await s.getJson(`Things(${g.q})?$expand=Datastreams/Thing,Datastreams/Sensor`);
    assert.equal(r.Datastreams.length, 2);
    for (const d of r.Datastreams) {
        assert.equal(d.Thing['@iot.id'], g.q);
        assert.equal(d.Sensor['@iot.id'], g.sensor);
    }
    const n = await s.getJson(`Things(${g.q})/Datastreams?$expand=Thing/Locations,Sensor/Datastreams`);
    for (const d of n.value) {
        assert.deepEqual(d.Thing.Locations.map((l) => l['@iot.id']), [g.location]);
        assert.equal(d.Sensor.Datastreams.length, 2);
    }
});

test('expanded collections truncated by $top carry Rel@iot.nextLink, complete ones do not', async () => {
    let r = await s.getJson(`Datastreams(${g.a})?$expand=Observations($top=2;$orderby=phenomenonTime asc)`);
    assert.equal(r.Observations.length, 2);
    const link = r['Observations@iot.nextLink'];
    assert.ok(typeof link === 'string' && link.startsWith(`${s.root}/`), `Observations@iot.nextLink: ${link}`);
    const next = await s.getJson(link);
    assert.deepEqual(next.value.map((o) => o.phenomenonTime).slice(0, 2), [minute(2), minute(3)]);
    r = await s.getJson(`Datastreams(${g.b})?$expand=Observations($top=5)`);
    assert.equal(r.Observations.length, 3);
    assert.ok(!('Observations@iot.nextLink' in r));
    r = await s.getJson(`Datastreams(${g.a})?$expand=Observations($count=false;$top=1)`);
    assert.ok(!('Observations@iot.count' in r));
});

test('nextLink present exactly when more results exist', async () => {
    let r = await s.getJson('Things?$top=6');
    assert.equal(r.value.length, 6);
    assert.ok(!('@iot.nextLink' in r), 'no nextLink when $top equals the total');
    r = await s.getJson('Things?$top=5');
    assert.ok('@iot.nextLink' in r);
    r = await s.getJson('Things?$top=3&$skip=3');
    assert.ok(!('@iot.nextLink' in r));
    r = await s.getJson('Things?$top=6&$skip=6');
    assert.deepEqual(r.value, []);
    assert.ok(!('@iot.nextLink' in r));
    r = await s.getJson(`Things(${g.q})/Datastreams?$top=2`);
    assert.ok(!('@iot.nextLink' in r));
    r = await s.getJson(`Things(${g.q})/Datastreams?$top=1&$count=true`);
    const nl = nextOf(r);
    assert.ok(nl);
    const r2 = await s.getJson(nl);
    assert.equal(r2.value.length, 1);
    assert.ok(!('@iot.nextLink' in r2));
    assert.notEqual(r2.value[0]['@iot.id'], r.value[0]['@iot.id']);
});

test('nextLink keeps $select, $expand and $count on every page', async () => {
    const pages = await followAll(`Datastreams(${g.a})/Observations?$select=result&$orderby=result asc&$top=10&$count=true`);
    assert.equal(pages.length, 3);
    for (const p of pages) {
        for (const o of p.value) assert.deepEqual(Object.keys(o), ['result']);
        assert.equal(p['@iot.count'], N_A, 'count on every page');
    }
    const tp = await followAll(`Things?$top=4&$orderby=name&$expand=Datastreams($select=name)&$select=name`);
    const all = tp.flatMap((p) => p.value);
    assert.deepEqual(all.map((t) => t.name), ['a', 'a2', 'b', 'c', 'd', 'zz-station']);
    for (const t of all) assert.deepEqual(Object.keys(t).sort(), ['Datastreams', 'name']);
    assert.deepEqual(all.at(-1).Datastreams.map((d) => d.name).sort(), ['A temperature', 'B humidity']);
});

test('percent-encoded query option names and values are decoded', async () => {
    let r = await s.getJson('Things?%24top=1&%24orderby=name%20desc');
    assert.deepEqual(r.value.map((t) => t.name), ['zz-station']);
    r = await s.getJson(`Things(${g.q})?$select=name&$expand=Datastreams(%24select%3Dname%3B%24orderby%3Dname)`);
    assert.deepEqual(r, { name: 'zz-station', Datastreams: [{ name: 'A temperature' }, { name: 'B humidity' }] });
});
