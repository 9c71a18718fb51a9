import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  SINKS_ERROR_MAX,
  SUBJECTS,
  type SinksStats,
  clipSinksError,
  decodeSinksStats,
  encodeSinksStats,
} from '../src/mod.js';

const REPORT: SinksStats = {
  instance: 'sinks-7f9c.example-1',
  version: '0.1.0',
  state: 'running',
  time: 1_765_000_000_000,
  intervalMs: 5000,
  outputs: [
    {
      name: 'webhook',
      delivered: 10,
      failed: 2,
      retried: 1,
      deadLettered: 1,
      filtered: 3,
      lastError: { time: 1_765_000_000_000, message: 'HTTP 500' },
    },
    { name: 'stdout', delivered: 12, failed: 0, retried: 0, deadLettered: 0, filtered: 0, lastError: null },
  ],
};
const TOKEN = 'sinks-7f9c_example-1';
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('sinks delivery reports', () => {
  it('round-trip; the subject is per instance token', () => {
    assert.deepEqual(decodeSinksStats(encodeSinksStats(REPORT), TOKEN), REPORT);
    assert.equal(SUBJECTS.sinksStats(TOKEN), 'saker.v1.sinks.stats.sinks-7f9c_example-1');
    assert.throws(() => SUBJECTS.sinksStats('a.b'), /contains "\."/);
  });

  it('refuses a report naming the bad field', () => {
    const out = REPORT.outputs[0];
    const cases: [unknown, string, RegExp][] = [
      [{ ...REPORT, instance: 'other' }, TOKEN, /\$\.instance: does not match/],
      [{ ...REPORT, state: 'gone' }, TOKEN, /\$\.state/],
      [{ ...REPORT, outputs: {} }, TOKEN, /\$\.outputs: expected an array/],
      [{ ...REPORT, outputs: [{ ...out, delivered: -1 }] }, TOKEN, /\$\.outputs\[0\]\.delivered/],
      [{ ...REPORT, outputs: [{ ...out, name: 'a b' }] }, TOKEN, /\$\.outputs\[0\]\.name/],
      [{ ...REPORT, outputs: [out, out] }, TOKEN, /listed twice/],
      [
        {
          ...REPORT,
          outputs: [{ ...out, lastError: { time: 1, message: 'x'.repeat(SINKS_ERROR_MAX + 1) } }],
        },
        TOKEN,
        /\$\.outputs\[0\]\.lastError\.message/,
      ],
      [{ ...REPORT, time: 1e300 }, TOKEN, /\$\.time: expected epoch/],
      [
        { ...REPORT, outputs: Array.from({ length: 257 }, (_, i) => ({ ...out, name: `o${i}` })) },
        TOKEN,
        /at most 256/,
      ],
    ];
    for (const [value, token, re] of cases) assert.throws(() => decodeSinksStats(enc(value), token), re);
    assert.throws(() => decodeSinksStats(new TextEncoder().encode('[1]'), TOKEN), /\$: expected an object/);
  });

  it('clips an error to SINKS_ERROR_MAX characters, never half a surrogate pair', () => {
    assert.equal(clipSinksError('short'), 'short');
    const long = clipSinksError('é'.repeat(600));
    assert.equal(long.length, SINKS_ERROR_MAX);
    assert.ok(long.endsWith('…'));
    const emoji = clipSinksError(`${'a'.repeat(SINKS_ERROR_MAX - 2)}😀😀`);
    assert.ok(!/[\uD800-\uDBFF]…$/.test(emoji), 'no lone high surrogate');
  });
});
