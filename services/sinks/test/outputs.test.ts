/**
 * stdout, file, program and syslog outputs through JetStream, each against a
 * real receiver that checks the wire format; escaping of hostile command
 * lines (newlines, ANSI escapes, `<script>`, 1 MiB).
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { makeTestPki } from '@saker/testing';
import { FileOutput } from '../src/outputs/file.js';
import { ProgramOutput } from '../src/outputs/program.js';
import { StdoutOutput } from '../src/outputs/stdout.js';
import { SyslogOutput } from '../src/outputs/syslog.js';
import { JSON_FORMAT, alertJsonText, makeAlert, publishAlerts, sleep, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';
import { sendSyslogCase } from './helpers/syslog-case.js';
import { SyslogReceiver, UnixDgramReceiver } from './helpers/syslog-receiver.js';

const TEXT = { ...JSON_FORMAT, json: false };

const HOSTILE =
  'sh -c "echo hi\n<13>1 2024-01-01T00:00:00Z forged - - - - FAKE RECORD\r\n\u001b[31mred\u001b[0m <script>alert(1)</script> \u2028x\u0085y\u007f"';

function tempDir(): { readonly path: string } & Disposable {
  const path = mkdtempSync(join(tmpdir(), 'saker-sinks-'));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

function lines(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

describe('stdout output', () => {
  it('writes text lines, with the time in the configured form', async () => {
    await using env = await testEnv();
    const stream = new PassThrough();
    let out = '';
    stream.on('data', (d: Buffer) => {
      out += d.toString();
    });
    await publishAlerts(env.bus, [makeAlert(1)]);
    await env.startSinks({ outputs: [{ output: new StdoutOutput({ format: TEXT, stream }) }] });
    await until('a line', () => out.includes('\n'));
    assert.equal(out, '22:13:20.000001000: Warning Sensitive file opened (cmdline=cat /etc/shadow id=1)\n');
  });
});

describe('file output', () => {
  for (const keepAlive of [false, true]) {
    it(`appends one JSON line per alert (keep_alive ${keepAlive}); reopen() follows a rotation`, async () => {
      using dir = tempDir();
      await using env = await testEnv();
      const file = join(dir.path, 'events.txt');
      await publishAlerts(env.bus, [makeAlert(1), makeAlert(2)]);
      const sinks = await env.startSinks({
        outputs: [{ output: new FileOutput({ format: JSON_FORMAT, filename: file, keepAlive }) }],
      });
      await until('2 lines', () => lines(file).length === 2);
      assert.deepEqual(lines(file), [alertJsonText(makeAlert(1)), alertJsonText(makeAlert(2))]);
      renameSync(file, `${file}.1`);
      await sinks.reopen();
      await publishAlerts(env.bus, [makeAlert(3)]);
      await until('rotated file gets the next alert', () => lines(file).length === 1);
      assert.equal(lines(`${file}.1`).length, 2);
    });
  }
});

describe('program output', () => {
  it('runs the program per alert with the line on stdin', async () => {
    using dir = tempDir();
    await using env = await testEnv();
    const file = join(dir.path, 'got.txt');
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2)]);
    await env.startSinks({
      outputs: [
        { output: new ProgramOutput({ format: JSON_FORMAT, program: `cat >> '${file}'`, keepAlive: false }) },
      ],
    });
    await until('2 lines', () => lines(file).length === 2);
    assert.deepEqual(lines(file), [alertJsonText(makeAlert(1)), alertJsonText(makeAlert(2))]);
  });

  it('keep_alive: one process, one line per alert, started again when it dies', async () => {
    using dir = tempDir();
    await using env = await testEnv();
    const file = join(dir.path, 'got.txt');
    const pids = join(dir.path, 'pids.txt');
    const script = join(dir.path, 'append.sh');
    writeFileSync(
      script,
      `#!/bin/sh\necho $$ >> '${pids}'\nwhile IFS= read -r line; do printf '%s\\n' "$line" >> '${file}'; done\n`,
    );
    chmodSync(script, 0o755);
    await publishAlerts(env.bus, [makeAlert(1), makeAlert(2)]);
    await env.startSinks({
      outputs: [
        {
          output: new ProgramOutput({ format: JSON_FORMAT, program: script, keepAlive: true }),
          backoff: { initialMs: 50, maxMs: 100 },
        },
      ],
    });
    await until('2 lines', () => lines(file).length === 2);
    assert.equal(lines(pids).length, 1);
    process.kill(Number(lines(pids)[0]), 'SIGKILL');
    await sleep(100);
    await publishAlerts(env.bus, [makeAlert(3), makeAlert(4)]);
    await until('4 lines', () => lines(file).length >= 4, 10_000);
    const got = lines(file).map(
      (l) => (JSON.parse(l) as { output_fields: { 'alert.id': number } }).output_fields['alert.id'],
    );
    assert.deepEqual([...new Set(got)].sort(), [1, 2, 3, 4]);
    assert.equal(lines(pids).length, 2, 'restarted once');
  });
});

describe('syslog output', () => {
  // UDP and TCP go to a real rsyslogd (real-servers.test.ts); TLS, which
  // Debian's rsyslog does without rsyslog-gnutls, comes to this receiver.
  for (const transport of ['tls'] as const) {
    it(`sends RFC 5424 over ${transport} with the right PRI and a neutralised MSG`, async () => {
      using pki = makeTestPki();
      await using env = await testEnv();
      await using rx = await new SyslogReceiver(transport).start({
        cert: pki.files.serverCert,
        key: pki.files.serverKey,
      });
      await sendSyslogCase(env, HOSTILE, { transport, port: rx.port, tls: { ca: pki.files.caCert } });
      await until('3 records', () => rx.records.length === 3);
      assert.deepEqual(rx.errors, []);
      const byPri = rx.records.map((r) => r.pri).sort((a, b) => a - b);
      // local0 = 16: 16·8 + severity (Emergency 0, Critical 2, Debug 7).
      assert.deepEqual(byPri, [128, 130, 135]);
      for (const r of rx.records) {
        assert.equal(r.appName, 'falco');
        assert.equal(r.procId, String(process.pid));
        assert.doesNotMatch(r.msg, /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/);
      }
      const hostile = rx.records.find((r) => r.pri === 135);
      assert.ok(hostile?.msg.includes('echo hi#012<13>1 2024-01-01T00:00:00Z forged'), hostile?.msg);
      assert.ok(
        hostile?.msg.includes('#033[31mred#033[0m <script>alert(1)</script> #u2028x#205y#177'),
        hostile?.msg,
      );
      assert.equal(rx.records.find((r) => r.pri === 128)?.hostname, 'badhostname');
      assert.equal(rx.records.find((r) => r.pri === 130)?.timestamp, '2023-11-14T22:13:20.000001Z');
    });
  }

  it('frames a 1 MiB command line exactly over TCP (octet counting); UDP cuts it to its limit', async () => {
    // 1 MiB is past NATS's default max_payload, so this one calls the outputs directly.
    await using tcp = await new SyslogReceiver('tcp').start();
    await using udp = await new SyslogReceiver('udp').start();
    const huge = `x${'\n'.repeat(3)}${'é'.repeat(512 * 1024)}`;
    const outs = [
      new SyslogOutput({ name: 'tcp', format: TEXT, transport: 'tcp', host: '127.0.0.1', port: tcp.port }),
      new SyslogOutput({ name: 'udp', format: TEXT, transport: 'udp', host: '127.0.0.1', port: udp.port }),
    ];
    for (const out of outs) {
      for (const a of [makeAlert(1, { output: huge }), makeAlert(2)]) await out.deliver(a, alertJsonText(a));
    }
    await until('tcp 2', () => tcp.records.length === 2);
    await until('udp 2', () => udp.records.length === 2);
    for (const out of outs) await out.close();
    assert.deepEqual(tcp.errors, []);
    const big = tcp.records[0];
    assert.ok((big?.bytes ?? 0) > 1024 * 1024, `${big?.bytes}`);
    assert.ok(big?.msg.startsWith('x#012#012#012éé'));
    assert.equal(
      tcp.records[1]?.msg.endsWith('id=2)'),
      true,
      'the next frame parses right after the big one',
    );
    const cut = udp.records[0];
    assert.ok((cut?.bytes ?? 0) <= 8192, `${cut?.bytes}`);
    assert.ok(cut?.msg.endsWith('...[truncated]'));
    assert.ok(!cut?.msg.includes('\ufffd'), 'no split character');
  });

  it('writes BSD-format datagrams to a local unix socket (/dev/log stand-in)', async () => {
    using dir = tempDir();
    await using env = await testEnv();
    await using rx = await new UnixDgramReceiver(join(dir.path, 'log.sock')).start();
    await publishAlerts(env.bus, [
      makeAlert(1, { priority: 'Warning' }),
      makeAlert(2, { priority: 'Error', output: `x (cmdline=${HOSTILE})` }),
    ]);
    await env.startSinks({
      outputs: [{ output: new SyslogOutput({ format: JSON_FORMAT, transport: 'unix', path: rx.path }) }],
    });
    await until('2 datagrams', () => rx.datagrams.length === 2);
    const [a, b] = rx.datagrams.map((d) => d.toString('utf8'));
    // user (1)·8 + Warning (4) = 12; Error (3) = 11.
    assert.match(a ?? '', /^<12>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d falco: \{"hostname":"node-1"/);
    assert.match(b ?? '', /^<11>/);
    assert.doesNotMatch(b ?? '', /[\u0000-\u001f]/);
    const json = (b ?? '').slice((b ?? '').indexOf('{'));
    // JSON already escapes newlines; the MSG stays one valid JSON document.
    assert.equal((JSON.parse(json) as { rule: string }).rule, 'Read sensitive file');
  });

  it('retries while the local socket is missing', async () => {
    using dir = tempDir();
    await using env = await testEnv();
    const path = join(dir.path, 'late.sock');
    await publishAlerts(env.bus, [makeAlert(1)]);
    await env.startSinks({
      outputs: [
        {
          output: new SyslogOutput({ format: TEXT, transport: 'unix', path }),
          backoff: { initialMs: 100, maxMs: 200 },
        },
      ],
    });
    await until('a retry', () => (env.sinks?.stats('syslog')?.retried ?? 0) >= 1);
    await using rx = await new UnixDgramReceiver(path).start();
    await until('delivered', () => rx.datagrams.length === 1);
  });
});
