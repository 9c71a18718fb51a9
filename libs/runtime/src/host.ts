/**
 * One process of services: connects the bus, starts the modules under the
 * supervisor, serves /metrics and /healthz, runs until SIGINT/SIGTERM (or
 * until a service or the bus ends), drains in flow order and closes the bus.
 * `saker <service>` hosts one module, `saker run` all of them; both go
 * through here, so a service behaves the same alone and embedded.
 */
import { type Bus, MemoryBroker, type NatsBusOptions, connectBus } from '@saker/bus';
import {
  MetricsRegistry,
  type TelemetryServer,
  getTracer,
  redactText,
  serveTelemetry,
} from '@saker/telemetry';
import { parseHostPort } from './host-port.js';
import type { Logger } from './log.js';
import type { FlagValues, ServiceModule } from './service.js';
import { onShutdown } from './signals.js';
import { type Supervised, supervise } from './supervisor.js';

export interface HostOptions<C> {
  /** Names the process on the bus (`saker-engine`) and in its log lines. */
  readonly name: string;
  readonly modules: readonly ServiceModule<C>[];
  readonly config: C;
  /** NATS server URL(s), or null for the in-memory bus. */
  readonly natsUrl: string | null;
  /** saker.yaml's `nats:` TLS, auth, inbox prefix and stream limits (busView); the limits apply to the in-memory bus too. */
  readonly natsOptions?: Omit<NatsBusOptions, 'url' | 'name'>;
  /** `/metrics` and `/healthz` address, or null. */
  readonly telemetryListen: string | null;
  readonly logger: Logger;
  readonly out: (text: string) => Promise<void>;
  /** Each module's own flags. */
  readonly flags: (module: ServiceModule<C>) => FlagValues;
  /** Shared with the caller (e.g. for counters it adds); default a new one. */
  readonly metrics?: MetricsRegistry;
  /** Stops the services when aborted; default: the first SIGINT/SIGTERM. */
  readonly signal?: AbortSignal;
  /** Called once every service runs (the caller's own start-up, e.g. file watches); its result runs at drain. */
  readonly onRunning?: (s: Supervised, bus: Bus) => Promise<(() => Promise<void>) | undefined>;
}

/** Runs the services until told to stop; resolves the exit code (0 stopped by a signal, 1 otherwise). */
export async function hostServices<C>(opts: HostOptions<C>): Promise<number> {
  const { logger } = opts;
  const shutdown = opts.signal === undefined ? onShutdown({ logger }) : undefined;
  const signal = opts.signal ?? (shutdown as { signal: AbortSignal }).signal;
  const broker = opts.natsUrl === null ? new MemoryBroker() : undefined;
  let bus: Bus | undefined;
  let telemetry: TelemetryServer | undefined;
  let supervised: Supervised | undefined;
  let atDrain: (() => Promise<void>) | undefined;
  const metrics = opts.metrics ?? new MetricsRegistry();
  try {
    bus = await connectBus(
      broker === undefined
        ? { ...opts.natsOptions, url: opts.natsUrl ?? '', name: `saker-${opts.name}` }
        : {
            memory: broker,
            ...(opts.natsOptions?.streamLimits ? { streamLimits: opts.natsOptions.streamLimits } : {}),
          },
    );
    const connected = bus;
    supervised = await supervise(
      opts.modules,
      (m) => ({
        config: opts.config,
        bus: connected,
        nats: broker === undefined,
        embedded: opts.modules.length > 1,
        metrics,
        logger: opts.modules.length === 1 ? logger : logger.child(m.name),
        tracer: getTracer(`saker.${m.name}`),
        out: opts.out,
        flags: opts.flags(m),
      }),
      logger,
    );
    if (opts.telemetryListen !== null) {
      const at = parseHostPort(opts.telemetryListen, 'telemetry.listen');
      const s = supervised;
      telemetry = await serveTelemetry({ ...at, metrics, health: () => s.health() });
    }
    atDrain = await opts.onRunning?.(supervised, connected);
    const parts = supervised.handles.map((h) => `${h.name}${h.describe ? `(${h.describe()})` : ''}`);
    logger.info(
      `running: bus=${opts.natsUrl === null ? 'memory' : redactText(opts.natsUrl)} ${parts.join(' ')}${telemetry ? ` metrics=${telemetry.url}` : ''}`,
    );
    const busGone = new AbortController();
    void connected.closed.then(() => busGone.abort());
    const either = AbortSignal.any([signal, busGone.signal]);
    const bySignal = await supervised.run(either);
    if (!signal.aborted && busGone.signal.aborted) logger.error('the bus closed; stopping');
    await atDrain?.();
    atDrain = undefined;
    const summaries = supervised.handles.flatMap((h) => (h.summary ? [`${h.name}: ${h.summary()}`] : []));
    logger.info(`stopped${summaries.length > 0 ? `; ${summaries.join('; ')}` : ''}`);
    return bySignal && signal.aborted ? 0 : 1;
  } finally {
    await atDrain?.().catch(() => undefined);
    await supervised?.stop();
    await telemetry?.close().catch(() => undefined);
    await bus?.drain().catch(() => bus?.close());
    broker?.close();
    shutdown?.dispose();
  }
}
