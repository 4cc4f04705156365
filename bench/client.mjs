// client.mjs - the HTTP side of bench/run.sh that wrk does not do: a free
// port, readiness, fixtures, and sequential latency measurements (timed
// with curl). Node >= 18 (global fetch). Loopback only.
//
//   node client.mjs port
//   node client.mjs wait BASE SECONDS
//   node client.mjs fixture BASE                    -> THING_ID= DS_ID= FOI_ID= (shell lines)
//   node client.mjs mapfixture BASE THINGS PER_THING CONCURRENCY
//                                                   -> SENSOR_ID= OP_ID= FOI_ID= DS_COUNT=
//   node client.mjs latency URL N WARMUP [map THINGS PER_THING | count EXPECTED | rows EXPECTED]
//                                                   -> first_ms= p50_ms= p90_ms= p99_ms= max_ms= ...
//   node client.mjs count BASE DS_ID                -> the @iot.count of a datastream's observations
//
// SPDX-License-Identifier: Apache-2.0
import net from 'node:net';
import { spawnSync } from 'node:child_process';

const [cmd, ...args] = process.argv.slice(2);

function fail(msg) {
  process.stderr.write(`client.mjs: ${msg}\n`);
  process.exit(1);
}

async function request(method, url, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, text, json };
}

async function post(url, body) {
  const r = await request('POST', url, body);
  if (r.status !== 201) fail(`POST ${url} -> ${r.status}: ${r.text.slice(0, 500)}`);
  if (!r.json || r.json['@iot.id'] === undefined) fail(`POST ${url}: no @iot.id in ${r.text.slice(0, 300)}`);
  return r.json;
}

async function getJson(url) {
  const r = await request('GET', url);
  if (r.status !== 200) fail(`GET ${url} -> ${r.status}: ${r.text.slice(0, 500)}`);
  return r.json;
}

const MEASUREMENT = 'http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement';
const CM = { name: 'centimetre', symbol: 'cm', definition: 'http://unitsofmeasure.org/ucum.html#para-30' };

function location(i) {
  // Points scattered over Hagen (around 51.36 N, 7.47 E).
  const lon = 7.40 + (i % 100) * 0.0015;
  const lat = 51.30 + Math.floor(i / 100) * 0.012;
  return {
    name: `Standort ${i}`, description: 'benchmark location',
    encodingType: 'application/geo+json',
    location: { type: 'Point', coordinates: [Number(lon.toFixed(5)), Number(lat.toFixed(5))] },
  };
}

const commands = {
  async port() {
    const srv = net.createServer();
    await new Promise((ok) => srv.listen(0, '127.0.0.1', ok));
    const { port } = srv.address();
    await new Promise((ok) => srv.close(ok));
    console.log(port);
  },

  async wait(base, seconds) {
    const until = Date.now() + Number(seconds) * 1000;
    while (Date.now() < until) {
      try {
        const res = await fetch(`${base}/v1.1`);
        await res.arrayBuffer();
        if (res.status === 200) return;
      } catch { /* not up yet */ }
      await new Promise((ok) => setTimeout(ok, 100));
    }
    fail(`${base}/v1.1 did not answer 200 within ${seconds} s`);
  },

  // One Thing at the town hall with one water-level Datastream, and one
  // Observation posted through the API (which also creates the
  // FeatureOfInterest that bulk-loaded rows reuse).
  async fixture(base) {
    const thing = await post(`${base}/v1.1/Things`, {
      name: 'Pegel Volme Eckesey', description: 'benchmark fixture',
      properties: { bench: true },
      Locations: [location(0)],
      Datastreams: [{
        name: 'Wasserstand Volme', description: 'water level', observationType: MEASUREMENT,
        unitOfMeasurement: CM,
        Sensor: { name: 'Radarpegel', description: 'radar gauge', encodingType: 'application/pdf', metadata: 'https://example.org/gauge.pdf' },
        ObservedProperty: { name: 'Wasserstand', definition: 'http://vocabs.lter-europe.net/EnVThes/22035', description: 'water level' },
      }],
    });
    const ds = await getJson(`${base}/v1.1/Things(${thing['@iot.id']})/Datastreams`);
    if (!ds.value || ds.value.length !== 1) fail('fixture: the Thing has no Datastream');
    const dsId = ds.value[0]['@iot.id'];
    const obs = await post(`${base}/v1.1/Datastreams(${dsId})/Observations`,
      { phenomenonTime: '2023-12-31T23:59:59Z', result: 42.5 });
    const foi = await getJson(`${base}/v1.1/Observations(${obs['@iot.id']})/FeatureOfInterest`);
    console.log(`THING_ID=${thing['@iot.id']}\nDS_ID=${dsId}\nFOI_ID=${foi['@iot.id']}`);
  },

  // THINGS Things with PER_THING Datastreams each (deep insert, shared Sensor
  // and ObservedProperty linked by id), CONCURRENCY requests in flight.
  async mapfixture(base, things, perThing, concurrency) {
    things = Number(things); perThing = Number(perThing); concurrency = Number(concurrency);
    const sensor = await post(`${base}/v1.1/Sensors`, { name: 'Multisensor', description: 'benchmark sensor', encodingType: 'application/pdf', metadata: 'https://example.org/ms.pdf' });
    const op = await post(`${base}/v1.1/ObservedProperties`, { name: 'Lufttemperatur', definition: 'http://vocabs.lter-europe.net/EnVThes/22035', description: 'air temperature' });
    const foi = await post(`${base}/v1.1/FeaturesOfInterest`, { name: 'Hagen', description: 'benchmark feature', encodingType: 'application/geo+json', feature: { type: 'Point', coordinates: [7.4733, 51.3594] } });
    let next = 0;
    async function worker() {
      while (next < things) {
        const i = next++;
        const datastreams = [];
        for (let k = 0; k < perThing; k++) {
          datastreams.push({
            name: `Station ${i} Kanal ${k}`, description: 'benchmark datastream', observationType: MEASUREMENT,
            unitOfMeasurement: { name: 'degree Celsius', symbol: 'Cel', definition: 'http://unitsofmeasure.org/ucum.html#para-30' },
            Sensor: { '@iot.id': sensor['@iot.id'] }, ObservedProperty: { '@iot.id': op['@iot.id'] },
          });
        }
        await post(`${base}/v1.1/Things`, {
          name: `Station ${i}`, description: 'benchmark thing', properties: { n: i },
          Locations: [location(i)], Datastreams: datastreams,
        });
      }
    }
    await Promise.all(Array.from({ length: concurrency }, worker));
    const all = await getJson(`${base}/v1.1/Datastreams?$count=true&$top=1`);
    console.log(`SENSOR_ID=${sensor['@iot.id']}\nOP_ID=${op['@iot.id']}\nFOI_ID=${foi['@iot.id']}\nDS_COUNT=${all['@iot.count']}`);
  },

  // N sequential GETs on one keep-alive connection after WARMUP unmeasured
  // ones, timed by curl (time_total: request sent to last byte received;
  // Node's own HTTP clients add ~10 ms reading a multi-megabyte answer).
  // The first request (cold server caches) is reported on its own; before
  // it, one GET of the service root opens the connection. Then one more
  // GET, read here, checks the answer.
  //
  // Every request is bounded by BENCH_REQ_TIMEOUT seconds (curl --max-time,
  // default 60).  A request that runs out of time or is not answered 200 is
  // reported as one line "failed=STATUS after_ms=T" (STATUS 000: timed out),
  // the requests after it are not sent, and the command exits with status 3,
  // so that the caller can note it and go on.
  async latency(url, n, warmup, kind, a, b) {
    n = Number(n); warmup = Number(warmup);
    const limit = Number(process.env.BENCH_REQ_TIMEOUT || 60);
    const urls = [new URL('/v1.1', url).href];
    for (let i = 0; i < warmup + n; i++) urls.push(url);
    const r = spawnSync('curl', ['-s', '--fail', '--fail-early', '--max-time', String(limit),
      '-w', '%{stderr}%{http_code} %{time_total} %{size_download} %{num_connects}\n',
      ...urls.flatMap((u) => ['-o', '/dev/null', u])], { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.error) fail(`curl: ${r.error.message}`);
    const lines = r.stderr.trim().split('\n').slice(1).map((l) => l.split(' '));
    const bad = lines.find((l) => l[0] !== '200');
    if (bad) {
      console.log(`failed=${bad[0]} after_ms=${(Number(bad[1]) * 1000).toFixed(0)} limit_s=${limit}`);
      process.exit(3);
    }
    if (lines.length !== warmup + n) fail(`curl timed ${lines.length} of ${warmup + n} requests: ${r.stderr.slice(0, 300)}`);
    const conns = lines.reduce((s, l) => s + Number(l[3]), 0);
    const first = Number(lines[0][1]) * 1000;
    const bytes = Number(lines[lines.length - 1][2]);
    const times = lines.slice(warmup).map((l) => Number(l[1]) * 1000);
    const res = await fetch(url, { signal: AbortSignal.timeout(limit * 1000) });
    const body = await res.text();
    if (res.status !== 200) fail(`GET ${url} -> ${res.status}: ${body.slice(0, 500)}`);
    let check = '';
    const json = JSON.parse(body);
    if (kind === 'map') {
      const things = json.value.length;
      let ds = 0, withObs = 0;
      for (const t of json.value) for (const d of t.Datastreams || []) {
        ds++;
        if ((d.Observations || []).length === 1) withObs++;
      }
      check = ` things=${things} datastreams=${ds} with_latest=${withObs} nextLink=${json['@iot.nextLink'] ? 1 : 0}`;
      if (things !== Number(a) || ds !== Number(a) * Number(b) || withObs !== ds)
        check += ' CHECK_FAILED=1';
    } else if (kind === 'rows') {
      check = ` rows=${json.value.length}`;
      if (json.value.length !== Number(a)) check += ' CHECK_FAILED=1';
    } else if (kind === 'count') {
      check = ` count=${json['@iot.count']}`;
      if (json['@iot.count'] !== Number(a)) check += ' CHECK_FAILED=1';
    }
    times.sort((x, y) => x - y);
    const pct = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
    const mean = times.reduce((s, x) => s + x, 0) / times.length;
    const f = (x) => x.toFixed(2);
    console.log(`first_ms=${f(first)} p50_ms=${f(pct(50))} p90_ms=${f(pct(90))} p99_ms=${f(pct(99))} max_ms=${f(times[times.length - 1])} mean_ms=${f(mean)} n=${n} bytes=${bytes} new_connections=${conns}${check}`);
  },

  async count(base, dsId) {
    const j = await getJson(`${base}/v1.1/Datastreams(${dsId})/Observations?$count=true&$top=1`);
    console.log(j['@iot.count']);
  },
};

if (!commands[cmd]) fail(`unknown command '${cmd}'`);
await commands[cmd](...args).catch((e) => fail(e.stack || String(e)));
