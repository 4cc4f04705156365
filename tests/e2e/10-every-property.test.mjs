// Systematic sweep over the data model, as the OGC / FROST conformance tests
// do it: every property of every entity type by path and $value, $select of
// each, $orderby on each sortable property, $expand of every relation, and
// every relation as a path with $ref.

import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { test, startServer, fixtures, OT, MODEL, ENTITY_SETS } from './lib/harness.mjs';

let s;
const first = {}; // set -> an entity id that has every relation populated where possible

// singular relation -> its entity set
const SET_OF = {
    Thing: 'Things', Sensor: 'Sensors', ObservedProperty: 'ObservedProperties', Datastream: 'Datastreams',
    MultiDatastream: 'MultiDatastreams', FeatureOfInterest: 'FeaturesOfInterest',
};
const relations = (set) => [...MODEL[set].nav.req, ...MODEL[set].nav.opt];
const properties = (set) => [...MODEL[set].props.req, ...MODEL[set].props.opt];
const OBJECT_PROPS = new Set(['properties', 'location', 'feature', 'unitOfMeasurement', 'observedArea', 'parameters']);

const SORTABLE = {
    Things: ['name', 'description'],
    Locations: ['name', 'description', 'encodingType'],
    HistoricalLocations: ['time'],
    Datastreams: ['name', 'description', 'observationType', 'phenomenonTime', 'resultTime'],
    MultiDatastreams: ['name', 'description'],
    Sensors: ['name', 'description', 'encodingType', 'metadata'],
    ObservedProperties: ['name', 'definition', 'description'],
    Observations: ['phenomenonTime', 'resultTime', 'resultQuality', 'validTime', 'parameters'],
    FeaturesOfInterest: ['name', 'description', 'encodingType'],
};

before(async () => {
    s = await startServer();
    const letters = ['c', 'a', 'b'];
    for (let t = 0; t < 2; t++) {
        const thing = await s.create('Things', {
            name: `thing ${letters[t]}`, description: `thing desc ${letters[2 - t]}`, properties: { n: t },
            Locations: [{ ...fixtures.location(t, [7 + t, 51]), name: `loc ${letters[t]}`, description: `loc desc ${letters[t + 1]}`, properties: { t } }],
        });
        const tid = thing['@iot.id'];
        for (let d = 0; d < 2; d++) {
            const k = t * 2 + d;
            const sensor = await s.create('Sensors', { ...fixtures.sensor(k), name: `sensor ${letters[k % 3]}${k}`, metadata: `meta ${letters[(k + 1) % 3]}`, properties: { k } });
            const op = await s.create('ObservedProperties', { ...fixtures.observedProperty(k), name: `op ${letters[(k + 2) % 3]}${k}`, properties: { k } });
            const ds = await s.create('Datastreams', {
                ...fixtures.datastream(k, tid, sensor['@iot.id'], op['@iot.id']),
                name: `ds ${letters[k % 3]}${k}`, description: `ds desc ${letters[(k + 1) % 3]}`,
                observationType: k % 2 ? OT.measurement : OT.observation, properties: { k },
            });
            for (let o = 0; o < 3; o++) {
                await s.create('Observations', {
                    result: k * 10 + (2 - o), phenomenonTime: `2024-0${k + 1}-0${o + 1}T00:00:00Z`,
                    resultTime: o === 1 ? null : `2024-0${k + 1}-0${o + 1}T00:00:0${o}Z`,
                    validTime: o === 2 ? `2024-01-01T00:00:00Z/2024-0${k + 1}-01T00:00:00Z` : undefined,
                    resultQuality: o === 0 ? { q: k } : undefined,
                    parameters: o === 0 ? { p: k } : undefined,
                    Datastream: { '@iot.id': ds['@iot.id'] },
                });
            }
            if (k === 0) { first.Datastreams = ds['@iot.id']; first.Sensors = sensor['@iot.id']; first.ObservedProperties = op['@iot.id']; }
        }
        if (t === 0) first.Things = tid;
    }
    const mds = await s.create('MultiDatastreams', {
        name: 'mds z', description: 'multi', observationType: OT.complex,
        multiObservationDataTypes: [OT.measurement, OT.measurement], unitOfMeasurements: [fixtures.uom(1), fixtures.uom(2)],
        Thing: { '@iot.id': first.Things }, Sensor: { '@iot.id': first.Sensors },
        ObservedProperties: [{ '@iot.id': first.ObservedProperties }, { '@iot.id': first.ObservedProperties }],
    });
    first.MultiDatastreams = mds['@iot.id'];
    await s.create('Observations', { result: [1, 2], phenomenonTime: '2024-09-01T00:00:00Z', MultiDatastream: { '@iot.id': mds['@iot.id'] } });
    first.Locations = (await s.getJson(`Things(${first.Things})/Locations`)).value[0]['@iot.id'];
    first.HistoricalLocations = (await s.getJson(`Things(${first.Things})/HistoricalLocations`)).value[0]['@iot.id'];
    const o = (await s.getJson(`Datastreams(${first.Datastreams})/Observations?$orderby=phenomenonTime asc&$top=1`)).value[0];
    first.Observations = o['@iot.id'];
    first.FeaturesOfInterest = (await s.getJson(`Observations(${o['@iot.id']})/FeatureOfInterest`))['@iot.id'];
});

after(async () => { if (s) assert.equal(await s.stop(), 0); });

async function everyEntity(set) {
    const r = await s.getJson(`${set}?$top=1000&$orderby=id`);
    assert.ok(r.value.length > 0, `${set} is not empty`);
    return r.value;
}

test('every property of every entity by path: {"p": value} (200), or 204 / {"p": null} when unset', async () => {
    for (const set of ENTITY_SETS) {
        const e = await s.getJson(`${set}(${first[set]})`);
        for (const p of properties(set)) {
            const path = `${set}(${first[set]})/${p}`;
            const r = await s.get(path);
            const v = e[p];
            if (v === undefined || v === null) {
                assert.ok(r.status === 204 || (r.status === 200 && JSON.stringify(r.json) === JSON.stringify({ [p]: null })),
                    `${path} (unset): ${r.status} ${r.text}`);
            } else {
                assert.equal(r.status, 200, `${path}: ${r.text}`);
                assert.deepEqual(r.json, { [p]: v }, path);
            }
        }
    }
});

test('every property of every entity by $value: raw text, JSON for objects, 204 for null', async () => {
    for (const set of ENTITY_SETS) {
        const e = await s.getJson(`${set}(${first[set]})`);
        for (const p of properties(set)) {
            const path = `${set}(${first[set]})/${p}/$value`;
            const r = await s.get(path);
            const v = e[p];
            if (v === undefined || v === null) {
                assert.equal(r.status, 204, `${path} (unset): ${r.status} ${r.text}`);
                continue;
            }
            assert.equal(r.status, 200, `${path}: ${r.text}`);
            if (typeof v === 'string') assert.equal(r.text, v, path);
            else if (typeof v === 'number') assert.equal(Number(r.text), v, path);
            else assert.deepEqual(JSON.parse(r.text), v, path);
            if (OBJECT_PROPS.has(p) && typeof v === 'object' && !Array.isArray(v)) assert.equal(r.text.indexOf('{'), 0, path);
            if (!OBJECT_PROPS.has(p) && typeof v !== 'object') assert.equal(r.text.indexOf('{'), -1, path);
        }
    }
});

test('$select of each single property returns exactly that key', async () => {
    for (const set of ENTITY_SETS) {
        const all = await everyEntity(set);
        for (const p of properties(set)) {
            const r = await s.getJson(`${set}?$select=${p}&$top=1000&$orderby=id`);
            assert.equal(r.value.length, all.length);
            r.value.forEach((got, i) => {
                const full = all[i];
                if (full[p] === undefined || full[p] === null) {
                    assert.ok(Object.keys(got).length === 0 || JSON.stringify(got) === JSON.stringify({ [p]: null }), `${set} $select=${p}: ${JSON.stringify(got)}`);
                } else {
                    assert.deepEqual(got, { [p]: full[p] }, `${set} $select=${p}`);
                }
            });
            const r2 = await s.getJson(`${set}(${first[set]})?$select=id,${p}`);
            assert.equal(r2['@iot.id'], first[set]);
            for (const k of Object.keys(r2)) assert.ok(k === '@iot.id' || k === p, `${set}(${first[set]})?$select=id,${p}: key ${k}`);
        }
        for (const rel of relations(set)) {
            const r = await s.getJson(`${set}(${first[set]})?$select=${rel}`);
            const link = { [`${rel}@iot.navigationLink`]: s.link(`${set}(${first[set]})/${rel}`) };
            if (MODEL[set].nav.opt.includes(rel) && Object.keys(r).length === 0) continue; // e.g. MultiDatastream of a Datastream's Observation
            assert.deepEqual(r, link, `${set} $select=${rel}`);
        }
    }
});

function cmp(a, b) {
    if (a === b) return 0;
    if (typeof a === 'number' && typeof b === 'number') return a < b ? -1 : 1;
    if (typeof a === 'string' && typeof b === 'string') {
        const ta = /^\d{4}-\d\d-\d\dT/.test(a) ? a.split('/').map(Date.parse) : null;
        const tb = /^\d{4}-\d\d-\d\dT/.test(b) ? b.split('/').map(Date.parse) : null;
        if (ta && tb) return ta[0] - tb[0] || (ta[1] ?? ta[0]) - (tb[1] ?? tb[0]);
        return a < b ? -1 : 1;
    }
    return 0; // objects and nulls: order not checked
}

test('$orderby on every sortable property, asc and desc', async () => {
    const failed = [];
    for (const set of ENTITY_SETS) {
        for (const p of SORTABLE[set]) {
            for (const dir of ['asc', 'desc']) {
                const r = await s.get(`${set}?$orderby=${p} ${dir}&$top=1000`);
                if (r.status !== 200) {
                    failed.push(`${set}?$orderby=${p} ${dir} -> ${r.status} ${r.text}`);
                    continue;
                }
                const vals = r.json.value.map((e) => e[p]).filter((v) => v !== null && v !== undefined && typeof v !== 'object');
                for (let i = 1; i < vals.length; i++) {
                    const c = cmp(vals[i - 1], vals[i]);
                    assert.ok(dir === 'asc' ? c <= 0 : c >= 0, `${set} $orderby=${p} ${dir}: ${JSON.stringify(vals)}`);
                }
            }
        }
    }
    assert.deepEqual(failed, [], 'every sortable property can be ordered by');
    // numeric results sort as numbers within a datastream
    const r = await s.getJson(`Things(${first.Things})/Datastreams?$expand=Observations($orderby=result desc)`);
    for (const d of r.value) {
        const res = d.Observations.map((o) => o.result);
        assert.deepEqual(res, [...res].sort((a, b) => b - a));
    }
});

test('$expand of every relation, singly and all at once, matches the navigation path', async () => {
    for (const set of ENTITY_SETS) {
        const id = first[set];
        for (const rel of relations(set)) {
            const e = await s.getJson(`${set}(${id})?$expand=${rel}`);
            const nav = await s.get(`${set}(${id})/${rel}`);
            if (SET_OF[rel]) {
                if (nav.status === 200) {
                    assert.equal(e[rel]?.['@iot.id'], nav.json['@iot.id'], `${set}(${id})?$expand=${rel}`);
                } else {
                    assert.ok(nav.status === 404 || nav.status === 204, `${set}(${id})/${rel}: ${nav.status}`);
                    assert.ok(e[rel] === undefined || e[rel] === null, `${set}(${id})?$expand=${rel}: ${JSON.stringify(e[rel])}`);
                }
            } else {
                assert.equal(nav.status, 200);
                assert.ok(Array.isArray(e[rel]), `${set}(${id})?$expand=${rel} is an array`);
                assert.deepEqual(e[rel].map((x) => x['@iot.id']).sort((a, b) => a - b), nav.json.value.map((x) => x['@iot.id']).sort((a, b) => a - b),
                    `${set}(${id})?$expand=${rel}`);
            }
        }
        const rels = relations(set).filter((r) => !(set === 'Observations' && r === 'MultiDatastream'));
        const c = await s.get(`${set}?$expand=${rels.join(',')}&$top=3`);
        assert.equal(c.status, 200, `${set}?$expand=${rels.join(',')}: ${c.text}`);
        for (const e of c.json.value) {
            for (const rel of rels) {
                if (!SET_OF[rel]) assert.ok(Array.isArray(e[rel]), `${set}: ${rel} expanded`);
            }
        }
    }
});

test('every relation as a path, with $ref, two levels deep', async () => {
    for (const set of ENTITY_SETS) {
        const id = first[set];
        for (const rel of relations(set)) {
            const p = `${set}(${id})/${rel}`;
            const r = await s.get(p);
            if (r.status !== 200) {
                assert.ok(SET_OF[rel] && (r.status === 404 || r.status === 204), `${p}: ${r.status} ${r.text}`);
                continue;
            }
            const ref = await s.get(`${p}/$ref`);
            assert.equal(ref.status, 200, `${p}/$ref`);
            const targetSet = SET_OF[rel] || rel;
            if (SET_OF[rel]) {
                assert.deepEqual(ref.json, { '@iot.selfLink': s.link(`${targetSet}(${r.json['@iot.id']})`) });
                for (const rel2 of relations(targetSet)) {
                    const r2 = await s.get(`${p}/${rel2}`);
                    assert.ok(r2.status === 200 || (SET_OF[rel2] && (r2.status === 404 || r2.status === 204)), `${p}/${rel2}: ${r2.status}`);
                }
            } else {
                assert.deepEqual(ref.json.value, r.json.value.map((e) => ({ '@iot.selfLink': s.link(`${targetSet}(${e['@iot.id']})`) })), `${p}/$ref`);
                if (r.json.value.length > 0) {
                    const cid = r.json.value[0]['@iot.id'];
                    const one = await s.get(`${p}(${cid})`);
                    assert.equal(one.status, 200, `${p}(${cid})`);
                    assert.equal(one.json['@iot.id'], cid);
                    for (const rel2 of relations(targetSet)) {
                        const r2 = await s.get(`${p}(${cid})/${rel2}`);
                        assert.ok(r2.status === 200 || (SET_OF[rel2] && (r2.status === 404 || r2.status === 204)), `${p}(${cid})/${rel2}: ${r2.status}`);
                    }
                }
            }
        }
    }
});

test('HEAD answers like GET without a body', async () => {
    const r = await s.request('HEAD', `Things(${first.Things})`);
    assert.equal(r.status, 200);
    assert.equal(r.text, '');
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    const n = await s.request('HEAD', 'Things(987654321)');
    assert.equal(n.status, 404);
});
