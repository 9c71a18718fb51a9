/**
 * Retry-After on 429/503: the chat outputs (and every output on the shared
 * HTTP transport) wait what the receiver asked for, in seconds or as an
 * HTTP date, bounded by the output's `backoff.maxMs`, and start nothing
 * else meanwhile. A local server rate-limits and times every attempt.
 */
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { DeliveryError } from '../src/errors.js';
import { DiscordOutput } from '../src/outputs/discord.js';
import type { Output } from '../src/outputs/output.js';
import { SlackOutput } from '../src/outputs/slack.js';
import { TeamsOutput } from '../src/outputs/teams.js';
import { parseRetryAfter } from '../src/retry-after.js';
import { makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';

interface Attempt {
  readonly at: number;
  readonly status: number;
}

/** Answers the first `limited` requests with `status` and a Retry-After from `retryAfter()`, then 200. */
class RateLimiter implements AsyncDisposable {
  readonly attempts: Attempt[] = [];
  #server: Server | undefined;
  url = '';

  constructor(
    readonly limited: number,
    readonly retryAfter: () => string,
    readonly status = 429,
  ) {}

  async start(): Promise<this> {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const limit = this.attempts.length < this.limited;
        const status = limit ? this.status : 200;
        this.attempts.push({ at: Date.now(), status });
        res.writeHead(status, limit ? { 'retry-after': this.retryAfter() } : {});
        res.end(limit ? 'rate limited' : 'ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    this.#server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    return this;
  }

  /** Ms between the first limited answer and the next attempt, and whether any came in between. */
  gap(): number {
    const first = this.attempts[0];
    const next = this.attempts[1];
    assert.ok(first && next, 'two attempts');
    return next.at - first.at;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const s = this.#server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
}

/** Three alerts through JetStream to `make(url)`; returns the limiter's attempts once all are delivered. */
async function throughRunner(rl: RateLimiter, output: Output, maxMs: number): Promise<void> {
  await using env = await testEnv();
  await publishAlerts(
    env.bus,
    [1, 2, 3].map((i) => makeAlert(i)),
  );
  await env.startSinks({ outputs: [{ output, backoff: { initialMs: 20, maxMs } }] });
  await until('3 delivered', () => env.sinks?.stats(output.name)?.delivered === 3, 15_000);
  assert.equal(env.sinks?.stats(output.name)?.retried, 1);
}

describe('Retry-After', () => {
  it('parses delay-seconds and HTTP dates', () => {
    const now = Date.parse('2026-11-29T08:00:00Z');
    assert.equal(parseRetryAfter('120', now), 120_000);
    assert.equal(parseRetryAfter(' 0 ', now), 0);
    assert.equal(parseRetryAfter('1.5', now), 1500);
    assert.equal(parseRetryAfter('Sun, 29 Nov 2026 08:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sunday, 29-Nov-26 08:00:05 GMT', now), 5000);
    assert.equal(parseRetryAfter('Sun, 29 Nov 2026 07:00:00 GMT', now), 0, 'a past date: now');
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter('-1', now), undefined);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter('', now), undefined);
  });

  it('is carried by the retryable error of a 429 or 503, not by other statuses', async () => {
    await using rl = await new RateLimiter(1, () => '7').start();
    const out = new SlackOutput({ webhookUrl: rl.url });
    const e = await out.deliver(makeAlert(1)).then(
      () => assert.fail('expected a 429'),
      (err: unknown) => err,
    );
    assert.ok(e instanceof DeliveryError);
    assert.equal(e.kind, 'retryable');
    assert.equal(e.retryAfterMs, 7000);
    await out.close();
    await using busy = await new RateLimiter(2, () => '2', 503).start();
    const teams = new TeamsOutput({ webhookUrl: busy.url });
    await assert.rejects(teams.deliver(makeAlert(1)), (err: unknown) => {
      return err instanceof DeliveryError && err.retryAfterMs === 2000;
    });
    await teams.close();
    await using other = await new RateLimiter(1, () => '2', 500).start();
    const discord = new DiscordOutput({ webhookUrl: other.url });
    await assert.rejects(discord.deliver(makeAlert(1)), (err: unknown) => {
      return err instanceof DeliveryError && err.retryAfterMs === undefined;
    });
    await discord.close();
  });

  it('slack: waits the seconds asked for, and sends nothing else meanwhile', async () => {
    await using rl = await new RateLimiter(1, () => '1').start();
    await throughRunner(rl, new SlackOutput({ webhookUrl: rl.url }), 60_000);
    const gap = rl.gap();
    console.log(`slack Retry-After: 1 → next attempt after ${gap} ms (backoff.initialMs 20)`);
    assert.ok(gap >= 990, `gap ${gap} ms ≥ 1 s`);
    assert.ok(gap < 2500, `gap ${gap} ms: retried soon after`);
    assert.deepEqual(
      rl.attempts.map((a) => a.status),
      [429, 200, 200, 200],
    );
  });

  it('discord: waits until an HTTP date', async () => {
    let until_ = 0;
    await using rl = await new RateLimiter(1, () => {
      // HTTP dates have whole seconds: the next second but one.
      until_ = (Math.floor(Date.now() / 1000) + 2) * 1000;
      return new Date(until_).toUTCString();
    }).start();
    await throughRunner(rl, new DiscordOutput({ webhookUrl: rl.url }), 60_000);
    const first = rl.attempts[0]?.at ?? 0;
    const gap = rl.gap();
    console.log(`discord Retry-After: <date ${until_ - first} ms ahead> → next attempt after ${gap} ms`);
    assert.ok((rl.attempts[1]?.at ?? 0) >= until_ - 10, 'not before the date');
    assert.ok(gap < until_ - first + 1500, `gap ${gap} ms`);
  });

  it('teams: a Retry-After beyond the output maximum backoff is cut to it', async () => {
    await using rl = await new RateLimiter(1, () => '3600').start();
    await throughRunner(rl, new TeamsOutput({ webhookUrl: rl.url }), 700);
    const gap = rl.gap();
    console.log(`teams Retry-After: 3600 with backoff.maxMs 700 → next attempt after ${gap} ms`);
    assert.ok(gap >= 690 && gap < 2000, `gap ${gap} ms ≈ 700`);
  });
});
