/**
 * Hostile requests to the audit webhook (issue 14, item 8), each a finding
 * of the security review reproduced: JSON nested ~4,500 deep made the
 * request hang for good (the error path checked `req.destroyed`, always true
 * once Node 20 has read the body, and never answered); the webhook took
 * bearer tokens over plain HTTP on 0.0.0.0.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type Bus, connectBus } from '@saker/bus';
import { type Counter, MetricsRegistry } from '@saker/telemetry';
import { AuditConfigError } from '../src/errors.js';
import { resolveAuditOptions } from '../src/options.js';
import { type AuditService, start } from '../src/service.js';
import { post } from './client.js';
import { batch } from './events.js';

const TOKEN = 'test-token-0123456789abcdef';

/** A registry whose `saker_audit_events_accepted_total` throws: an unexpected error late in a request. */
class FaultyRegistry extends MetricsRegistry {
  override counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    const real = super.counter(name, help, labelNames);
    if (name !== 'saker_audit_events_accepted_total') return real;
    return {
      inc: () => {
        throw new TypeError('injected fault');
      },
      get: (labels) => real.get(labels),
    };
  }
}

async function within<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer in ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('audit webhook: hostile requests', () => {
  let bus: Bus;
  let service: AuditService;
  let faulty: AuditService;
  const logs: string[] = [];

  before(async () => {
    bus = await connectBus({ memory: true });
    const webhook = { host: '127.0.0.1', port: 0, bearerTokens: [TOKEN] };
    service = await start({ bus, webhook, handoff: { mode: 'publish' }, log: () => undefined });
    faulty = await start({
      bus,
      webhook,
      metrics: new FaultyRegistry(),
      handoff: { mode: 'publish' },
      log: (level, m) => logs.push(`${level}: ${m}`),
    });
  });
  after(async () => {
    await service.stop();
    await faulty.stop();
    await bus.close();
  });

  for (const depth of [4_500, 100_000]) {
    it(`JSON nested ${depth} deep gets a 400 at once`, async () => {
      const t0 = performance.now();
      const r = await within(
        5_000,
        `${depth}-deep body`,
        post(service.webhook?.url ?? '', `${'['.repeat(depth)}${']'.repeat(depth)}`, { token: TOKEN }),
      );
      assert.equal(r.status, 400, r.body);
      assert.match(r.message, /^body: JSON nests deeper than 400 levels \(the limit\)/);
      assert.ok(performance.now() - t0 < 2_000, `answered in ${(performance.now() - t0).toFixed(0)} ms`);
    });
  }

  it('an unexpected error after the body was read is answered with a 500', async () => {
    const r = await within(
      5_000,
      'a request that meets a bug',
      post(faulty.webhook?.url ?? '', batch(0, 1), { token: TOKEN }),
    );
    assert.equal(r.status, 500, r.body);
    assert.equal(r.message, 'internal error: injected fault');
    assert.ok(
      logs.some((l) => l === 'error: webhook: 500: injected fault'),
      logs.join('\n'),
    );
  });

  it('a token over plain HTTP off loopback is refused unless opted out, then logged loudly', async () => {
    assert.throws(
      () => resolveAuditOptions({ bus, webhook: { host: '0.0.0.0', bearerTokens: [TOKEN] } }),
      (e: unknown) =>
        e instanceof AuditConfigError &&
        /bearer tokens in clear on 0\.0\.0\.0 .*allowPlaintextToken/.test(e.message),
    );
    const warned: string[] = [];
    const loud = await start({
      bus,
      webhook: { host: '0.0.0.0', port: 0, bearerTokens: [TOKEN], allowPlaintextToken: true },
      handoff: { mode: 'publish' },
      log: (level, m) => warned.push(`${level}: ${m}`),
    });
    try {
      assert.ok(
        warned.some((l) =>
          /^warn: webhook: WARNING: the audit webhook on 0\.0\.0\.0 accepts bearer tokens over plain text/.test(
            l,
          ),
        ),
        warned.join('\n'),
      );
    } finally {
      await loud.stop();
    }
  });
});
