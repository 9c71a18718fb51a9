/**
 * The falcosidekick-compatible input: validation, limits, /ping, /healthz,
 * /test, and Falco's real payload (single_rule_with_cat_write.json) making
 * its way to the stdout, file and http outputs through JetStream.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { sharedPath, sharedSkip } from '@saker/testing';
import { FileOutput } from '../src/outputs/file.js';
import { HttpOutput } from '../src/outputs/http.js';
import { StdoutOutput } from '../src/outputs/stdout.js';
import { JSON_FORMAT, alertJsonText, makeAlert, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';
import { HttpReceiver } from './helpers/http-receiver.js';

async function post(
  url: string,
  body: string | Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
  return { status: res.status, text: await res.text() };
}

describe('http input', () => {
  it('validates the body and names the bad field', async () => {
    await using env = await testEnv();
    const sinks = await env.startSinks({ outputs: [], input: { port: 0, maxBodyBytes: 4096 } });
    const url = `${sinks.inputUrl}/`;
    const good = JSON.parse(alertJsonText(makeAlert(1))) as Record<string, unknown>;
    const cases: [unknown, RegExp][] = [
      ['not json', /^\$: not JSON/],
      [[1], /^\$: expected a JSON object/],
      [{ ...good, rule: undefined }, /^\$\.rule: required/],
      [{ ...good, priority: 'Loud' }, /^\$\.priority: "Loud" is not a Falco priority/],
      [{ ...good, time: 'yesterday' }, /^\$\.time: expected an RFC 3339 time/],
      [{ ...good, output: 5 }, /^\$\.output: expected a string, got a number/],
      [{ ...good, tags: ['a', 1] }, /^\$\.tags\[1\]: expected a string/],
      [{ ...good, output_fields: { 'proc.name': { x: 1 } } }, /^\$\.output_fields\["proc\.name"\]: expected/],
    ];
    for (const [body, message] of cases) {
      const r = await post(url, typeof body === 'string' ? body : JSON.stringify(body));
      assert.equal(r.status, 400, r.text);
      assert.match(r.text, message);
    }
    const big = await post(url, JSON.stringify({ ...good, output: 'x'.repeat(5000) }));
    assert.equal(big.status, 413);
    const bomb = await post(url, gzipSync(JSON.stringify({ ...good, output: 'x'.repeat(100_000) })), {
      'content-encoding': 'gzip',
    });
    assert.equal(bomb.status, 413);
    assert.equal(
      (await post(url, gzipSync(JSON.stringify(good)), { 'content-encoding': 'gzip' })).status,
      200,
    );
    const info = await env.bus.stream('SAKER_ALERTS', ['saker.v1.alerts.>']);
    assert.equal(info.messages, 1, 'only the valid alert was stored');
  });

  it('answers /ping, /healthz and /test; 404 and 405 otherwise', async () => {
    await using env = await testEnv();
    const rx = new PassThrough();
    let out = '';
    rx.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const sinks = await env.startSinks({
      outputs: [{ output: new StdoutOutput({ format: JSON_FORMAT, stream: rx }), format: JSON_FORMAT }],
      input: { port: 0 },
    });
    const base = sinks.inputUrl ?? '';
    assert.equal(await (await fetch(`${base}/ping`)).text(), 'pong\n');
    const h = await fetch(`${base}/healthz`);
    assert.equal(h.status, 200);
    assert.deepEqual(await h.json(), { status: 'ok' });
    assert.equal((await fetch(`${base}/nope`)).status, 404);
    assert.equal((await fetch(`${base}/`)).status, 405);
    assert.equal((await post(`${base}/test`, '')).status, 200);
    await until('the test alert', () => out.includes('\n'));
    const alert = JSON.parse(out) as Record<string, unknown>;
    assert.equal(alert.rule, 'Test rule');
    assert.equal(alert.priority, 'Debug');
    assert.equal(alert.hostname, 'sinks-test');
    assert.match(sinks.metrics.render(), /saker_sinks_input_requests_total\{path="\/test",code="200"\} 1/);
  });

  it("Falco's own payload reaches the stdout, file and http outputs", { skip: sharedSkip() }, async () => {
    const payloads = readFileSync(
      sharedPath('falco-conformance/output_files/single_rule_with_cat_write.json') ?? '',
      'utf8',
    )
      .split('\n')
      .filter((l) => l.trim() !== '');
    const dir = mkdtempSync(join(tmpdir(), 'saker-sinks-'));
    try {
      await using env = await testEnv();
      await using webhook = await new HttpReceiver().start();
      const stdout = new PassThrough();
      let out = '';
      stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const file = join(dir, 'events.txt');
      const sinks = await env.startSinks({
        outputs: [
          { output: new StdoutOutput({ format: JSON_FORMAT, stream: stdout }), format: JSON_FORMAT },
          {
            output: new FileOutput({ format: JSON_FORMAT, filename: file, keepAlive: true }),
            format: JSON_FORMAT,
          },
          { output: new HttpOutput({ format: JSON_FORMAT, url: webhook.url }), format: JSON_FORMAT },
        ],
        input: { port: 0 },
      });
      for (const p of payloads) assert.equal((await post(`${sinks.inputUrl}/`, p)).status, 200);
      await until('all outputs', () => {
        const fileLines = (() => {
          try {
            return readFileSync(file, 'utf8').split('\n').filter(Boolean).length;
          } catch {
            return 0;
          }
        })();
        return (
          webhook.accepted.length === payloads.length &&
          fileLines === payloads.length &&
          out.split('\n').filter(Boolean).length === payloads.length
        );
      });
      // Byte for byte, nanosecond digits included.
      assert.deepEqual(webhook.accepted, payloads);
      assert.deepEqual(readFileSync(file, 'utf8').split('\n').filter(Boolean), payloads);
      assert.deepEqual(out.split('\n').filter(Boolean), payloads);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
