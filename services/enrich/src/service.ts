import { BUCKETS, type Bus } from '@saker/bus';
/**
 * The enrich service: `start(options, signal)`, the same entry for the
 * standalone binary (saker-enrich, `saker enrich`) and for `saker run`,
 * which passes its own bus. Node mode runs one NodeEnricher per CRI socket;
 * cluster mode is @saker/enrich's cluster/ (startClusterEnrich).
 */
import { StartupError } from '@saker/runtime';
import type { MetricsRegistry } from '@saker/telemetry';
import { CriClient, isUnimplemented } from './cri/client.js';
import { NodeEnricher, type NodeEnricherStats } from './node/enricher.js';
import { DEFAULT_CRI_SOCKETS, findCriSockets } from './node/sockets.js';

interface NodeModeOptions {
  /** null: on when a socket is found; true: fail without one; false: off. */
  readonly enabled: boolean | null;
  /** Sockets to use; empty: auto-detect (DEFAULT_CRI_SOCKETS). */
  readonly criSockets: readonly string[];
  readonly pollIntervalMs: number;
  readonly nodeName: string;
  readonly tombstoneTtlMs: number;
}

export interface EnrichServiceOptions {
  readonly bus: Pick<Bus, 'kv'>;
  readonly node: NodeModeOptions;
  /** Deadline of each CRI call. Default 5000 ms. */
  readonly criTimeoutMs?: number;
  /** Default 30 × pollIntervalMs. */
  readonly resyncIntervalMs?: number;
  readonly metrics?: MetricsRegistry;
  readonly log?: (line: string) => void;
}

/** Enrichment could not start (no CRI socket where one is required): the runtime's `startup` kind. */
export class EnrichStartError extends StartupError {
  override readonly name = 'EnrichStartError';

  constructor(message: string, options?: ErrorOptions) {
    super('enrich', message, options);
  }
}

export interface EnrichService extends AsyncDisposable {
  readonly node: string;
  /** The CRI sockets followed (empty: node mode found nothing to follow, or is off). */
  readonly sockets: readonly string[];
  stats(): readonly NodeEnricherStats[];
  /** For /healthz: ok while every socket's last listing worked. */
  health(): { ok: boolean; detail: string };
  /** Resolves when every enricher stopped (after the signal or stop()). */
  readonly stopped: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts node mode. With `enabled: null`, a socket that answers Version with
 * Unimplemented (a containerd without its CRI plugin, e.g. Docker's) is
 * skipped; with no socket left, the service runs with nothing to follow.
 */
export async function start(options: EnrichServiceOptions, signal?: AbortSignal): Promise<EnrichService> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const n = options.node;
  const inner = new AbortController();
  const onAbort = (): void => inner.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  if (signal?.aborted) inner.abort();

  const clients: CriClient[] = [];
  if (n.enabled !== false) {
    const found = findCriSockets(n.criSockets);
    if (found.length === 0 && n.enabled === true) {
      throw new EnrichStartError(
        `enrich.node: no CRI socket found (tried ${(n.criSockets.length > 0 ? n.criSockets : DEFAULT_CRI_SOCKETS).join(', ')}); set enrich.node.cri_sockets`,
      );
    }
    for (const socket of found) {
      const client = new CriClient(socket, { timeoutMs: options.criTimeoutMs ?? 5000 });
      if (n.enabled === null && n.criSockets.length === 0) {
        try {
          await client.version();
        } catch (err) {
          if (isUnimplemented(err)) {
            log(`enrich: ${socket}: not a CRI socket (no runtime.v1 RuntimeService), skipped`);
            client.close();
            continue;
          }
          // Otherwise the runtime may still be starting: the enricher retries.
        }
      }
      clients.push(client);
    }
  }

  const kv = clients.length > 0 ? await options.bus.kv(BUCKETS.meta) : undefined;
  const enrichers = clients.map(
    (cri) =>
      new NodeEnricher({
        kv: kv as NonNullable<typeof kv>,
        cri,
        node: n.nodeName,
        pollIntervalMs: n.pollIntervalMs,
        tombstoneTtlMs: n.tombstoneTtlMs,
        claimStored: clients.length === 1,
        ...(options.resyncIntervalMs === undefined ? {} : { resyncIntervalMs: options.resyncIntervalMs }),
        ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
        log,
      }),
  );
  const stopped = Promise.all(enrichers.map((e) => e.run(inner.signal))).then(() => {
    for (const c of clients) c.close();
    signal?.removeEventListener('abort', onAbort);
  });

  const service: EnrichService = {
    node: n.nodeName,
    sockets: clients.map((c) => c.socket),
    stats: () => enrichers.map((e) => e.stats()),
    health() {
      const bad = enrichers.map((e) => e.stats()).filter((s) => s.lastError !== undefined);
      return bad.length === 0
        ? { ok: true, detail: `${enrichers.length} CRI socket(s)` }
        : { ok: false, detail: bad.map((s) => `${s.socket}: ${s.lastError}`).join('; ') };
    },
    stopped,
    async stop() {
      inner.abort();
      await stopped;
    },
    async [Symbol.asyncDispose]() {
      await service.stop();
    },
  };
  return service;
}
