/** A real nats-server with JetStream, a bus on it, SAKER_ALERTS, and a sinks service under test. */
import { type Bus, type ConsumerState, STREAMS, connectBus } from '@saker/bus';
import { MetricsRegistry } from '@saker/telemetry';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import type { SinksOptions } from '../../src/options.js';
import { type SinksService, start } from '../../src/service.js';

export interface TestEnv extends AsyncDisposable {
  readonly server: NatsServerHandle;
  readonly bus: Bus;
  readonly logs: string[];
  sinks: SinksService | undefined;
  startSinks(o: Omit<SinksOptions, 'bus' | 'hostname'> & { hostname?: string }): Promise<SinksService>;
}

export async function testEnv(): Promise<TestEnv> {
  const server = await startNatsServer({ jetstream: true });
  const bus = await connectBus({ url: server.url });
  await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
  const abort = new AbortController();
  const logs: string[] = [];
  const env: TestEnv = {
    server,
    bus,
    logs,
    sinks: undefined,
    async startSinks(o) {
      const sinks = await start(
        {
          hostname: 'sinks-test',
          metrics: new MetricsRegistry(),
          log: (level, m) => logs.push(`${level}: ${m}`),
          ...o,
          bus,
        },
        abort.signal,
      );
      env.sinks = sinks;
      return sinks;
    },
    async [Symbol.asyncDispose]() {
      abort.abort();
      await env.sinks?.stopped;
      await bus.close();
      await server[Symbol.asyncDispose]();
    },
  };
  return env;
}

/** Reads every dead letter stored so far (SAKER_DEADLETTER) through a throwaway durable. */
export async function readDeadLetters(
  bus: Bus,
  expected: number,
  timeoutMs = 10_000,
): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  const deadline = Date.now() + timeoutMs;
  let consumer: Awaited<ReturnType<Bus['consumer']>> | undefined;
  while (consumer === undefined) {
    try {
      consumer = await bus.consumer('SAKER_DEADLETTER', `reader-${Date.now()}`, {});
    } catch (err) {
      // The sinks create the stream with the first dead letter.
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  const timer = setTimeout(() => void consumer.stop(), timeoutMs);
  try {
    for await (const m of consumer) {
      out.push(JSON.parse(new TextDecoder().decode(m.data)) as Record<string, unknown>);
      m.ack();
      if (out.length >= expected) break;
    }
  } finally {
    clearTimeout(timer);
    await consumer.stop();
  }
  return out;
}

/**
 * Polls the server's state of one output's durable consumer until `ok`;
 * throws after `timeoutMs`, naming the last state. The way to wait for
 * "everything settled" without guessing a time.
 */
export async function waitForConsumer(
  sinks: SinksService | undefined,
  output: string,
  ok: (s: ConsumerState) => boolean,
  timeoutMs = 20_000,
): Promise<ConsumerState> {
  if (sinks === undefined) throw new Error('waitForConsumer: the sinks service is not started');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await sinks.consumerState(output);
    if (s !== undefined && ok(s)) return s;
    if (Date.now() > deadline) {
      throw new Error(
        `output ${output}: consumer state not reached within ${timeoutMs} ms; last: ${JSON.stringify(s)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}
