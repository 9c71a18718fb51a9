/**
 * The sinks service: one OutputRunner per output (each with its own durable
 * consumer on SAKER_ALERTS), and the falcosidekick-compatible input.
 */
import { type ConsumerState, NoStreamError, STREAMS, StreamNotFoundError } from '@saker/bus';
import { type MetricsRegistry, plaintextTokenWarning } from '@saker/telemetry';
import { alertFields } from './fields.js';
import { AlertInput } from './input.js';
import { type SinksMetrics, sinksMetrics } from './metrics.js';
import { type ResolvedSinksOptions, type SinksOptions, resolveSinksOptions } from './options.js';
import { DeliveryReporter } from './report.js';
import { OutputRunner, type OutputStats } from './runner.js';

export interface SinksService extends AsyncDisposable {
  /** The outputs, in the order given. */
  readonly outputs: readonly string[];
  /** The input's base URL (`http://127.0.0.1:2801`), or null when it is not served. */
  readonly inputUrl: string | null;
  readonly metrics: MetricsRegistry;
  /** Counters of one output. */
  stats(output: string): OutputStats | undefined;
  /**
   * The server's state of one output's durable consumer (pending, unacked,
   * deliveries made): what a test or an operator waits on to know that
   * everything is settled and whether anything was delivered twice.
   */
  consumerState(output: string): Promise<ConsumerState | undefined>;
  /** Reopens the outputs' files (SIGUSR1). */
  reopen(): Promise<void>;
  /** Resolves once a stop (abort, or stop()) has finished. Never rejects. */
  readonly stopped: Promise<void>;
  /**
   * Stops gracefully. With `drainMs`, first waits (at most that long) until
   * every output has delivered and acked everything stored so far, so a
   * shutdown after the producers stopped loses no alert. Later calls (and an
   * abort) join the first stop.
   */
  stop(options?: StopOptions): Promise<void>;
}

interface StopOptions {
  /** Wait at most this long for every output to be idle (all stored alerts settled). Default 0. */
  readonly drainMs?: number;
}

/** Starts the sinks. Resolves once every output's consumer and the input are up; runs until `signal` aborts. */
export async function start(options: SinksOptions, signal: AbortSignal): Promise<SinksService> {
  signal.throwIfAborted();
  const opts = resolveSinksOptions(options, alertFields());
  const service = new Sinks(opts);
  try {
    await service.begin();
  } catch (err) {
    await service.stop();
    throw err;
  }
  if (signal.aborted) void service.stop();
  else signal.addEventListener('abort', () => void service.stop(), { once: true });
  return service;
}

class Sinks implements SinksService {
  readonly #o: ResolvedSinksOptions;
  readonly #m: SinksMetrics;
  readonly #runners: OutputRunner[];
  readonly #reporter: DeliveryReporter;
  #input: AlertInput | undefined;
  #stopping: Promise<void> | undefined;
  readonly #onSigusr1 = (): void => {
    void this.reopen();
  };
  readonly #resolveStopped: () => void;
  readonly stopped: Promise<void>;
  inputUrl: string | null = null;

  constructor(o: ResolvedSinksOptions) {
    this.#o = o;
    this.#m = sinksMetrics(o.metrics);
    const deps = { bus: o.bus, metrics: this.#m, log: o.log, random: o.random };
    this.#runners = o.outputs.map((s) => new OutputRunner(s, deps));
    this.#reporter = new DeliveryReporter({
      bus: o.bus,
      instance: o.instance,
      version: o.version,
      intervalMs: o.statsIntervalMs,
      log: o.log,
      outputs: () => this.#runners.map((r) => [r.name, r.stats()] as const),
    });
    let resolve!: () => void;
    this.stopped = new Promise<void>((r) => {
      resolve = r;
    });
    this.#resolveStopped = resolve;
  }

  get outputs(): readonly string[] {
    return this.#runners.map((r) => r.name);
  }

  get metrics(): MetricsRegistry {
    return this.#o.metrics;
  }

  async begin(): Promise<void> {
    // Like the engine: SAKER_ALERTS is created with default limits when absent, never altered.
    for (const runner of this.#runners) {
      try {
        await runner.begin();
      } catch (err) {
        if (!(err instanceof StreamNotFoundError || err instanceof NoStreamError)) throw err;
        await this.#o.bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
        await runner.begin();
      }
    }
    if (this.#o.input !== null) {
      const input = new AlertInput({
        bus: this.#o.bus,
        metrics: this.#m,
        log: this.#o.log,
        hostname: this.#o.hostname,
        maxBodyBytes: this.#o.input.maxBodyBytes,
        tls: this.#o.input.tls,
        bearerTokens: this.#o.input.bearerTokens,
      });
      const warning = plaintextTokenWarning({
        what: 'the alert input',
        host: this.#o.input.host,
        tls: this.#o.input.tls !== null,
        token: this.#o.input.bearerTokens.length > 0,
        optOutKey: 'sinks.input.allow_plaintext_token',
        optOut: this.#o.input.allowPlaintextToken,
      });
      if (warning !== undefined) this.#o.log('warn', warning);
      this.#input = input;
      this.inputUrl = await input.listen(this.#o.input.host, this.#o.input.port);
    }
    if (this.#o.reopenOnSigusr1) process.on('SIGUSR1', this.#onSigusr1);
    this.#reporter.start();
  }

  stats(output: string): OutputStats | undefined {
    return this.#runners.find((r) => r.name === output)?.stats();
  }

  consumerState(output: string): Promise<ConsumerState | undefined> {
    return this.#runners.find((r) => r.name === output)?.consumerState() ?? Promise.resolve(undefined);
  }

  async reopen(): Promise<void> {
    await Promise.all(
      this.#o.outputs.map(async (s) => {
        try {
          await s.output.reopen?.();
        } catch (err) {
          this.#o.log('error', `output ${s.name}: reopen failed: ${String(err)}`);
        }
      }),
    );
  }

  stop(options: StopOptions = {}): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#input?.close().catch(() => undefined);
      await this.#drain(options.drainMs ?? 0);
      process.off('SIGUSR1', this.#onSigusr1);
      await Promise.all(this.#runners.map((r) => r.stop()));
      this.#reporter.stop();
      // The final report reaches the server before stop() resolves, even if the bus is closed right after.
      await this.#o.bus.flush().catch(() => undefined);
      this.#resolveStopped();
    })();
    return this.#stopping;
  }

  async #drain(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const idle = await Promise.all(this.#runners.map((r) => r.idle().catch(() => true)));
      if (idle.every(Boolean)) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
