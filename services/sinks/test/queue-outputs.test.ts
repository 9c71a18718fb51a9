/**
 * Queue outputs against real servers: NATS (nats-server via
 * @saker/testing) and Redis (Debian's redis-server on a free port), RESP
 * spoken by the output itself.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { connectBus } from '@saker/bus';
import { freePort, startNatsServer } from '@saker/testing';
import { NatsOutput, natsSubject, subjectToken } from '../src/outputs/nats.js';
import { RedisOutput } from '../src/outputs/redis.js';
import { JSON_FORMAT, alertJsonText, makeAlert, until } from './helpers/alerts.js';

describe('nats', () => {
  it('publishes each alert on its templated subject, tokens sanitized', async () => {
    assert.equal(subjectToken('Read sensitive file'), 'read_sensitive_file');
    assert.equal(subjectToken('a.b*c>d  e'), 'a_b_c_d_e');
    assert.equal(subjectToken(''), '_');
    assert.equal(
      natsSubject('falco.{{priority}}.{{rule}}', makeAlert(1, { rule: 'Evil.rule >' })),
      'falco.warning.evil_rule_',
    );
    assert.throws(
      () =>
        new NatsOutput({
          format: JSON_FORMAT,
          bus: { publish() {}, async flush() {} },
          subject: 'falco.{{nope}}',
        }),
      /nats\.subject/,
    );
    await using server = await startNatsServer();
    const sub = await connectBus({ url: server.url });
    const got: { subject: string; data: string }[] = [];
    const s = sub.subscribe('falco.>');
    void (async () => {
      for await (const m of s) got.push({ subject: m.subject, data: new TextDecoder().decode(m.data) });
    })();
    await sub.flush();
    const bus = await connectBus({ url: server.url });
    const out = new NatsOutput({ format: JSON_FORMAT, bus, ownsBus: true });
    const a = makeAlert(1);
    const b = makeAlert(2, { priority: 'Critical', rule: 'Terminal shell in container' });
    await out.deliver(a, alertJsonText(a));
    await out.deliverBatch([{ alert: b, raw: alertJsonText(b) }]);
    await until('two messages', () => got.length === 2);
    assert.deepEqual(got, [
      { subject: 'falco.warning.read_sensitive_file', data: alertJsonText(a) },
      { subject: 'falco.critical.terminal_shell_in_container', data: alertJsonText(b) },
    ]);
    await out.close();
    await sub.close();
  });
});

/**
 * Debian's redis-server on a free loopback port and a unix socket. A port is
 * free when asked, not necessarily when redis-server binds it (another
 * process may take it in between): a start that could not bind is tried
 * again on another port.
 */
async function startRedis(): Promise<{ port: number; path: string } & AsyncDisposable> {
  const dir = mkdtempSync(join(tmpdir(), 'saker-redis-'));
  const path = join(dir, 'redis.sock');
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--unixsocket',
        path,
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        '--requirepass',
        'sekret',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout?.on('data', (c: Buffer) => {
      log += c.toString();
    });
    const exited = new Promise((r) => child.once('exit', r));
    let gone = false;
    void exited.then(() => {
      gone = true;
    });
    await until(
      `redis-server on port ${port} ready (or exited)`,
      () => log.includes('Ready to accept connections') || gone,
      10_000,
      () => `its log: ${log}`,
    );
    if (gone) {
      if (attempt < 3 && /address already in use/i.test(log)) continue;
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server on port ${port} exited at start (attempt ${attempt}): ${log}`);
    }
    return {
      port,
      path,
      async [Symbol.asyncDispose]() {
        child.kill('SIGTERM');
        await exited;
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
}

describe('redis', () => {
  it('LPUSHes to a list and XADDs to a stream on a real redis-server', async () => {
    await using redis = await startRedis();
    const list = new RedisOutput({ format: JSON_FORMAT, port: redis.port, password: 'sekret', key: 'falco' });
    const a = makeAlert(1, { output: 'line\r\n*1\r\n$8\r\nFLUSHALL\r\n' });
    const b = makeAlert(2);
    await list.deliver(a, alertJsonText(a));
    await list.deliverBatch([{ alert: b, raw: alertJsonText(b) }]);

    const stream = new RedisOutput({
      format: JSON_FORMAT,
      path: redis.path,
      password: 'sekret',
      key: 'falco-stream',
      mode: 'stream',
      maxLen: 1000,
    });
    await stream.deliverBatch([
      { alert: a, raw: alertJsonText(a) },
      { alert: b, raw: alertJsonText(b) },
    ]);

    // Read back with the same RESP code through a probe connection.
    const probe = new RedisOutput({
      format: JSON_FORMAT,
      port: redis.port,
      password: 'sekret',
      key: 'falco-stream',
    });
    // WRONGTYPE: LPUSH onto a stream key is permanent (dead-lettered), not retried.
    await assert.rejects(
      probe.deliver(a, alertJsonText(a)),
      (e: unknown) => (e as { kind?: string }).kind === 'permanent' && /WRONGTYPE/.test(String(e)),
    );
    await list.close();
    await stream.close();
    await probe.close();

    const { execFileSync } = await import('node:child_process');
    const cli = (...args: string[]): string =>
      execFileSync('redis-cli', ['-p', String(redis.port), '-a', 'sekret', '--no-auth-warning', ...args], {
        encoding: 'utf8',
      });
    assert.equal(cli('LLEN', 'falco').trim(), '2');
    assert.equal(cli('LINDEX', 'falco', '1').trim(), alertJsonText(a).trim());
    assert.equal(cli('LINDEX', 'falco', '0').trim(), alertJsonText(b));
    assert.equal(cli('XLEN', 'falco-stream').trim(), '2');
    const x = cli('XRANGE', 'falco-stream', '-', '+');
    assert.ok(x.includes('alert') && x.includes('Read sensitive file') && x.includes('hostname'), x);
    assert.equal(cli('DBSIZE').trim(), '2', 'the CRLF/RESP text inside the alert ran no command');

    const wrongPass = new RedisOutput({ format: JSON_FORMAT, port: redis.port, password: 'nope' });
    await assert.rejects(
      wrongPass.deliver(a, alertJsonText(a)),
      (e: unknown) => (e as { kind?: string }).kind === 'retryable',
    );
    await wrongPass.close();
  });
});
