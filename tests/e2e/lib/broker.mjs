// A private Mosquitto for the MQTT and LoRaWAN tests: its own loopback port,
// persistence in a temporary directory (a restart keeps klammer's sessions and
// the messages queued for them, as a production broker would), started and
// stopped by PID.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { waitFor } from './harness.mjs';

// The path of an executable (PATH, then the sbin folders Debian uses), or null.
export function findBin(name) {
    const dirs = [...(process.env.PATH || '').split(':'), '/usr/sbin', '/usr/local/sbin', '/usr/bin'];
    for (const d of dirs) {
        const p = path.join(d, name);
        try {
            fs.accessSync(p, fs.constants.X_OK);
            if (fs.statSync(p).isFile()) return p;
        } catch { /* not here */ }
    }
    return null;
}

export function canConnect(port) {
    return new Promise((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.on('connect', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
    });
}

export class Broker {
    // plugin: path of klammer's Mosquitto plugin to load, or undefined.
    // tls: { certfile, keyfile } for a TLS listener, or undefined.
    // passwordFile: a mosquitto_passwd file; then anonymous clients are refused.
    constructor(port, dir, { plugin, tls, passwordFile } = {}) {
        this.port = port;
        this.dir = dir;
        this.plugin = plugin;
        this.log = '';
        this.conf = path.join(dir, 'mosquitto.conf');
        fs.writeFileSync(this.conf, [
            `listener ${port} 127.0.0.1`,
            ...(tls ? [`certfile ${tls.certfile}`, `keyfile ${tls.keyfile}`] : []),
            ...(passwordFile ? ['allow_anonymous false', `password_file ${passwordFile}`] : ['allow_anonymous true']),
            'persistence true',
            // As root, mosquitto would drop to user mosquitto, which cannot
            // write the persistence file into our temporary directory.
            'user root',
            `persistence_location ${dir}/`,
            'max_queued_messages 100000',
            ...(plugin ? [`plugin ${plugin}`, 'plugin_opt_acl allow', 'log_type all']
                : ['log_type error', 'log_type warning']),
            '',
        ].join('\n'));
    }

    async start() {
        this.log = '';
        this.proc = spawn(findBin('mosquitto'), ['-c', this.conf], { stdio: ['ignore', 'pipe', 'pipe'] });
        this.proc.stdout.on('data', (d) => { this.log += d; });
        this.proc.stderr.on('data', (d) => { this.log += d; });
        this.exited = new Promise((resolve) => this.proc.on('exit', resolve));
        let dead = false;
        this.exited.then(() => { dead = true; });
        await waitFor(async () => {
            if (dead) throw new Error(`mosquitto exited at start:\n${this.log}`);
            return canConnect(this.port);
        }, { timeoutMs: 10000, what: 'mosquitto to listen' });
        if (this.plugin) {
            await waitFor(() => this.log.includes('klammer: watching'),
                { timeoutMs: 3000, what: 'the klammer plugin to load' });
        }
    }

    async stop() {
        if (!this.proc || this.proc.exitCode !== null || this.proc.signalCode !== null) return;
        this.proc.kill('SIGTERM');
        await this.exited;
    }
}
