// Command line: help, check-config, configuration precedence
// (file < environment < flag), graceful shutdown, request log lines.

import { after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, runCli, startServer, tmpDir, waitFor, freePort, fixtures, sleep, PG } from './lib/harness.mjs';

const OPTIONS = [
    // [flag, env, config name, default]
    ['--db', 'KLAMMER_DB', 'db', null],
    ['--listen', 'KLAMMER_LISTEN', 'listen', null],
    ['--base-url', 'KLAMMER_BASE_URL', 'base_url', null],
    ['--top-default', 'KLAMMER_TOP_DEFAULT', 'top_default', '100'],
    ['--top-max', 'KLAMMER_TOP_MAX', 'top_max', '10000'],
    ['--body-limit', 'KLAMMER_BODY_LIMIT', 'body_limit', '16777216'],
    ['--log-level', 'KLAMMER_LOG_LEVEL', 'log_level', 'info'],
    ['--threads', 'KLAMMER_THREADS', 'threads', '2'],
];

// Parses check-config output: one `name = value` line per option.
function parseConfig(stdout) {
    const out = {};
    for (const line of stdout.split('\n')) {
        const m = /^\s*([a-z_]+)\s*=\s*(.*?)\s*$/.exec(line);
        if (m) out[m[1]] = m[2];
    }
    return out;
}

function writeConfig(text) {
    const dir = tmpDir('klammer-cfg-');
    const file = path.join(dir, 'klammer.conf');
    fs.writeFileSync(file, text);
    return file;
}

const servers = [];
after(async () => {
    for (const s of servers) {
        if (s.running) await s.kill();
    }
});

for (const form of [['--help'], ['help']]) {
    test(`klammer ${form.join(' ')} lists subcommands and every option with env var and default`, async () => {
        const r = await runCli(form);
        assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
        const text = r.stdout;
        assert.ok(text.length > 0, 'help must go to stdout');
        for (const sub of ['serve', 'check-config']) {
            assert.match(text, new RegExp(`\\b${sub}\\b`), `help mentions subcommand ${sub}`);
        }
        assert.match(text, /--config\b/, 'help mentions --config');
        for (const [flag, env, , def] of OPTIONS) {
            assert.ok(text.includes(flag), `help mentions ${flag}`);
            assert.ok(text.includes(env), `help mentions ${env}`);
            if (def !== null) assert.ok(text.includes(def), `help mentions default ${def} of ${flag}`);
        }
    });
}

test('unknown subcommand: message on stderr, exit 2', async () => {
    const r = await runCli(['frobnicate']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /frobnicate/);
});

test('unknown option: message on stderr naming it, exit 2', async () => {
    const r = await runCli(['serve', '--no-such-option', '1']);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no-such-option/);
    const r2 = await runCli(['check-config', '--bogus-flag']);
    assert.equal(r2.code, 2);
    assert.match(r2.stderr, /bogus-flag/);
});

test('check-config prints the defaults, one `name = value` line per option', async () => {
    const r = await runCli(['check-config']);
    assert.equal(r.code, 0, r.stderr);
    const cfg = parseConfig(r.stdout);
    for (const [, , name, def] of OPTIONS) {
        assert.ok(name in cfg, `check-config prints ${name}: ${r.stdout}`);
        if (def !== null) assert.equal(cfg[name], def, `default of ${name}`);
    }
});

test('config precedence: file < environment < flag', async () => {
    const file = writeConfig([
        '# Klammer test configuration',
        '',
        'top_default = 11',
        'top_max = 111',
        '   # indented comment',
        'body_limit = 1111',
        'log_level = warn',
        'threads = 3',
        'db = /tmp/from-file.db',
        'listen = 127.0.0.1:1111',
        'base_url = https://file.example.org/sta',
        '',
    ].join('\n'));

    // file only
    let r = await runCli(['check-config', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    let cfg = parseConfig(r.stdout);
    assert.equal(cfg.top_default, '11');
    assert.equal(cfg.top_max, '111');
    assert.equal(cfg.body_limit, '1111');
    assert.equal(cfg.log_level, 'warn');
    assert.equal(cfg.threads, '3');
    assert.equal(cfg.db, '/tmp/from-file.db');
    assert.equal(cfg.listen, '127.0.0.1:1111');
    assert.equal(cfg.base_url, 'https://file.example.org/sta');

    // environment overrides the file
    const env = {
        KLAMMER_TOP_DEFAULT: '22',
        KLAMMER_TOP_MAX: '222',
        KLAMMER_BODY_LIMIT: '2222',
        KLAMMER_LOG_LEVEL: 'error',
        KLAMMER_THREADS: '4',
        KLAMMER_DB: '/tmp/from-env.db',
        KLAMMER_LISTEN: '127.0.0.1:2222',
        KLAMMER_BASE_URL: 'https://env.example.org/sta',
    };
    r = await runCli(['check-config', '--config', file], { env });
    assert.equal(r.code, 0, r.stderr);
    cfg = parseConfig(r.stdout);
    assert.equal(cfg.top_default, '22');
    assert.equal(cfg.top_max, '222');
    assert.equal(cfg.body_limit, '2222');
    assert.equal(cfg.log_level, 'error');
    assert.equal(cfg.threads, '4');
    assert.equal(cfg.db, '/tmp/from-env.db');
    assert.equal(cfg.listen, '127.0.0.1:2222');
    assert.equal(cfg.base_url, 'https://env.example.org/sta');

    // flags override both
    r = await runCli([
        'check-config', '--config', file,
        '--top-default', '33', '--top-max', '333', '--body-limit', '3333', '--log-level', 'debug',
        '--threads', '5', '--db', '/tmp/from-flag.db', '--listen', '127.0.0.1:3333',
        '--base-url', 'https://flag.example.org/sta',
    ], { env });
    assert.equal(r.code, 0, r.stderr);
    cfg = parseConfig(r.stdout);
    assert.equal(cfg.top_default, '33');
    assert.equal(cfg.top_max, '333');
    assert.equal(cfg.body_limit, '3333');
    assert.equal(cfg.log_level, 'debug');
    assert.equal(cfg.threads, '5');
    assert.equal(cfg.db, '/tmp/from-flag.db');
    assert.equal(cfg.listen, '127.0.0.1:3333');
    assert.equal(cfg.base_url, 'https://flag.example.org/sta');

    // environment alone (no file) overrides the defaults; a flag for one
    // option leaves the others from the environment
    r = await runCli(['check-config', '--top-max', '444'], { env: { KLAMMER_TOP_DEFAULT: '44', KLAMMER_TOP_MAX: '55' } });
    assert.equal(r.code, 0, r.stderr);
    cfg = parseConfig(r.stdout);
    assert.equal(cfg.top_default, '44');
    assert.equal(cfg.top_max, '444');
    assert.equal(cfg.body_limit, '16777216');
});

test('check-config: invalid values are rejected with exit 2 and the option named', async () => {
    const cases = [
        [['--top-default', 'abc'], /top[_-]default/],
        [['--top-max', '-5'], /top[_-]max/],
        [['--body-limit', 'lots'], /body[_-]limit/],
        [['--log-level', 'chatty'], /log[_-]level/],
        [['--threads', '0x'], /threads/],
        [['--listen', 'not-an-address'], /listen/],
    ];
    for (const [args, re] of cases) {
        const r = await runCli(['check-config', ...args]);
        assert.equal(r.code, 2, `check-config ${args.join(' ')} -> exit ${r.code}, stdout ${r.stdout}`);
        assert.match(r.stderr, re, `check-config ${args.join(' ')} names the option`);
    }
    const r = await runCli(['check-config'], { env: { KLAMMER_TOP_MAX: 'many' } });
    assert.equal(r.code, 2, 'invalid environment value');
    assert.match(r.stderr, /top[_-]max|KLAMMER_TOP_MAX/);
});

test('config file: unknown name is an error naming it and its line number', async () => {
    const file = writeConfig('# comment\n\ntop_default = 5\nfrobnication = yes\n');
    const r = await runCli(['check-config', '--config', file]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /frobnication/);
    assert.match(r.stderr, /\b4\b/, 'line number 4');
    const bad = writeConfig('top_default = 5\nthis line has no equals sign\n');
    const r2 = await runCli(['check-config', '--config', bad]);
    assert.equal(r2.code, 2, `malformed line -> exit ${r2.code}`);
    assert.match(r2.stderr, /\b2\b/, 'line number 2');
    const r3 = await runCli(['check-config', '--config', '/nonexistent/klammer.conf']);
    assert.equal(r3.code, 2, 'missing config file');
    assert.match(r3.stderr, /nonexistent\/klammer\.conf/);
    const r4 = await runCli(['check-config', '--config', writeConfig('top_default = ten\n')]);
    assert.equal(r4.code, 2, 'invalid value in file');
    assert.match(r4.stderr, /top_default/);
});

test('serve uses the configuration file, and env and flags override it', async () => {
    const file = writeConfig('top_default = 2\ntop_max = 3\n');
    const s = await startServer({ args: ['--config', file], env: { KLAMMER_TOP_MAX: '4' } });
    servers.push(s);
    for (let i = 0; i < 6; i++) await s.create('Things', fixtures.thing(i));
    let r = await s.getJson('Things');
    assert.equal(r.value.length, 2, 'top_default from the file');
    r = await s.getJson('Things?$top=100');
    assert.equal(r.value.length, 4, 'top_max from the environment overrides the file');
    assert.equal(await s.stop(), 0);

    const s2 = await startServer({ args: ['--config', file, '--top-max', '5'], dbPath: s.dbPath, env: { KLAMMER_TOP_MAX: '4' } });
    servers.push(s2);
    r = await s2.getJson('Things');
    assert.equal(r.value.length, 2, 'top_default from the file');
    r = await s2.getJson('Things?$top=100');
    assert.equal(r.value.length, 5, 'top_max from the flag overrides env and file');
    assert.equal(await s2.stop(), 0);
});

test('SIGTERM: graceful shutdown with exit 0, data kept, database closed cleanly', async () => {
    const s = await startServer();
    servers.push(s);
    const t = await s.create('Things', fixtures.thing(1));
    if (!PG) {
        assert.ok(fs.existsSync(s.dbPath), `database created at --db ${s.dbPath}`);
        assert.ok(fs.existsSync(`${s.dbPath}-wal`), 'SQLite runs in WAL mode (a -wal file exists while serving)');
    }
    const code = await s.stop();
    assert.equal(code, 0, `exit code after SIGTERM\n${s.logTail()}`);
    if (!PG) {
        // A cleanly closed SQLite database in WAL mode has no -wal file left.
        const wal = `${s.dbPath}-wal`;
        assert.ok(!fs.existsSync(wal) || fs.statSync(wal).size === 0, 'WAL checkpointed and removed on clean close');
    }
    const s2 = await startServer({ dbPath: s.dbPath });
    servers.push(s2);
    const r = await s2.get(`Things(${t['@iot.id']})`);
    assert.equal(r.status, 200);
    assert.equal(r.json.name, 'Thing 1');
    assert.equal(await s2.stop(), 0);
});

test('SIGINT: graceful shutdown with exit 0', async () => {
    const s = await startServer();
    servers.push(s);
    s.proc.kill('SIGINT');
    const { code, signal } = await s.exited;
    assert.equal(signal, null);
    assert.equal(code, 0);
    await s.stop();
});

test('SIGTERM while requests are in flight: they finish, then exit 0', async () => {
    const s = await startServer();
    servers.push(s);
    const { ds } = await (async () => {
        const thing = await s.create('Things', { ...fixtures.thing(1), Locations: [fixtures.location(1)] });
        const sensor = await s.create('Sensors', fixtures.sensor(1));
        const op = await s.create('ObservedProperties', fixtures.observedProperty(1));
        const d = await s.create('Datastreams', fixtures.datastream(1, thing['@iot.id'], sensor['@iot.id'], op['@iot.id']));
        return { ds: d['@iot.id'] };
    })();
    const inflight = [];
    for (let i = 0; i < 20; i++) {
        inflight.push(s.post('Observations', { result: i, phenomenonTime: '2024-01-01T00:00:00Z', Datastream: { '@iot.id': ds } })
            .then((r) => r.status, () => 'refused'));
    }
    await sleep(5);
    s.proc.kill('SIGTERM');
    const statuses = await Promise.all(inflight);
    const { code } = await s.exited;
    assert.equal(code, 0);
    await s.stop();
    // every request either completed (201) or was refused at the socket;
    // none got a 5xx or a truncated reply
    for (const st of statuses) assert.ok(st === 201 || st === 'refused' || st === 503, `in-flight status ${st}`);
    const acked = statuses.filter((st) => st === 201).length;
    const s2 = await startServer({ dbPath: s.dbPath });
    servers.push(s2);
    const r = await s2.getJson(`Datastreams(${ds})/Observations?$count=true&$top=1`);
    assert.ok(r['@iot.count'] >= acked, `acknowledged ${acked}, stored ${r['@iot.count']}`);
    assert.equal(await s2.stop(), 0);
});

test('one log line per request: time, level, req id, method, path, status, dur_ms', async () => {
    const s = await startServer();
    servers.push(s);
    assert.equal((await s.get('Things')).status, 200);
    assert.equal((await s.get('Things(424242)')).status, 404);
    assert.equal((await s.post('Things', fixtures.thing(1))).status, 201);
    const lines = await waitFor(() => {
        const ls = s.stderr.split('\n').filter((l) => /\bmethod=/.test(l));
        const want = [
            ls.find((l) => /\bmethod=GET\b/.test(l) && /\bpath=\/v1\.1\/Things(\s|$)/.test(l)),
            ls.find((l) => /\bmethod=GET\b/.test(l) && /\bpath=\/v1\.1\/Things\(424242\)(\s|$)/.test(l)),
            ls.find((l) => /\bmethod=POST\b/.test(l) && /\bpath=\/v1\.1\/Things(\s|$)/.test(l)),
        ];
        return want.every(Boolean) ? want : null;
    }, { what: 'request log lines', timeoutMs: 5000 });
    const fields = lines.map((l) => {
        const o = {};
        for (const m of l.matchAll(/([a-z_]+)=("[^"]*"|\S+)/g)) o[m[1]] = m[2];
        return o;
    });
    const [okLine, notFound, created] = fields;
    assert.equal(okLine.status, '200');
    assert.equal(notFound.status, '404');
    assert.equal(created.status, '201');
    for (const f of fields) {
        assert.equal(f.level, 'info', JSON.stringify(f));
        assert.ok(f.time && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(f.time.replace(/"/g, '')), `time field: ${JSON.stringify(f)}`);
        assert.ok(f.req && f.req.length > 0, `req field: ${JSON.stringify(f)}`);
        assert.match(f.dur_ms, /^\d+(\.\d+)?$/, `dur_ms field: ${JSON.stringify(f)}`);
    }
    assert.equal(new Set(fields.map((f) => f.req)).size, 3, 'request ids are distinct');
    // exactly one line per request
    const thingLines = s.stderr.split('\n').filter((l) => /\bmethod=GET\b/.test(l) && /\bpath=\/v1\.1\/Things\(424242\)(\s|$)/.test(l));
    assert.equal(thingLines.length, 1, 'one log line per request');
    assert.equal(await s.stop(), 0);
});

test('--log-level error suppresses the info request lines', async () => {
    const s = await startServer({ args: ['--log-level', 'error'] });
    servers.push(s);
    for (let i = 0; i < 3; i++) assert.equal((await s.get('Things')).status, 200);
    await sleep(100);
    assert.equal(await s.stop(), 0);
    assert.ok(!/\blevel=info\b.*\bmethod=GET\b/.test(s.stderr), `no info lines expected:\n${s.stderr}`);
});

test('serve: an address already in use is reported, exit non-zero, no hang', async () => {
    const s = await startServer();
    servers.push(s);
    const port = s.port;
    const r = await runCli(['serve', '--db', path.join(tmpDir(), 'k.db'), '--listen', `127.0.0.1:${port}`], { timeoutMs: 15000 });
    assert.notEqual(r.code, 0);
    assert.ok(r.stderr.length > 0);
    assert.equal(await s.stop(), 0);
    void freePort;
});

test('serve: a database in a missing directory or a corrupt file is an error, not a crash or hang', async () => {
    const r = await runCli(['serve', '--db', '/nonexistent-dir/sub/k.db', '--listen', `127.0.0.1:${await freePort()}`], { timeoutMs: 15000 });
    assert.ok(r.code !== 0 && r.code !== null, `exit code ${r.code} signal ${r.signal}`);
    assert.match(r.stderr, /nonexistent-dir/);
    const dir = tmpDir();
    const db = path.join(dir, 'k.db');
    fs.writeFileSync(db, Buffer.alloc(8192, 0x5a));
    const r2 = await runCli(['serve', '--db', db, '--listen', `127.0.0.1:${await freePort()}`], { timeoutMs: 15000 });
    assert.ok(r2.code !== 0 && r2.code !== null, `corrupt db: exit code ${r2.code} signal ${r2.signal}`);
    assert.ok(r2.stderr.length > 0);
    assert.ok(!/AddressSanitizer|runtime error/.test(r2.stderr), r2.stderr);
});

test('serve: an unreachable PostgreSQL database is an error, exit non-zero, no hang', async () => {
    // Nothing listens on port 1 of the loopback interface.
    const r = await runCli(['serve', '--db', 'postgresql://klammer:pegel-secret@127.0.0.1:1/klammer?password=other-secret', '--listen', `127.0.0.1:${await freePort()}`], { timeoutMs: 15000 });
    assert.ok(r.code !== 0 && r.code !== null, `exit code ${r.code} signal ${r.signal}`);
    assert.match(r.stderr, /cannot connect to the database/);
    // The password of the URL never reaches the log.
    assert.match(r.stderr, /postgresql:\/\/klammer:\*\*\*@127\.0\.0\.1:1\/klammer\?password=\*\*\*/, r.stderr);
    assert.ok(!/secret/.test(r.stderr), r.stderr);
    const c = await runCli(['check-config', '--db', 'postgresql://klammer:pegel-secret@db.example/klammer']);
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^db = postgresql:\/\/klammer:\*\*\*@db\.example\/klammer$/m);
    assert.ok(!/secret/.test(c.stdout), c.stdout);
    assert.ok(!/AddressSanitizer|runtime error/.test(r.stderr), r.stderr);
});
