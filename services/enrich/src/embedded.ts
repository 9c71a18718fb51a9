/**
 * Enrichment from the configuration's views, for `saker enrich` (one mode,
 * against NATS), saker-enrich and `saker run` (embedded: node mode when a
 * CRI socket is found, cluster mode with one shard when a kubeconfig is
 * given).
 */
import type { Bus } from '@saker/bus';
import type { EnrichClusterView, EnrichNodeView } from '@saker/config';
import type { MetricsRegistry } from '@saker/telemetry';
import { type ClusterEnrich, startClusterEnrich } from './cluster/mod.js';
import { type EnrichService, EnrichStartError, start as startNode } from './service.js';

type EnrichMode = 'node' | 'cluster' | 'embedded';

export interface StartEnrichOptions {
  readonly bus: Bus;
  /**
   * `node` or `cluster`: that mode alone (node mode requires a socket);
   * `embedded`: node mode unless enrich.node.enabled is false (quietly off
   * when no socket is found and enabled is null), plus cluster mode with one
   * shard when enrich.cluster.enabled or a kubeconfig is set.
   */
  readonly mode: EnrichMode;
  readonly node: EnrichNodeView;
  readonly cluster: EnrichClusterView;
  readonly metrics?: MetricsRegistry;
  readonly log?: (line: string) => void;
}

export interface RunningEnrich {
  readonly node: EnrichService | undefined;
  readonly cluster: ClusterEnrich | undefined;
  /** One line for a start-up message: `node=/run/containerd/containerd.sock cluster=1 shard`. */
  describe(): string;
  health(): { ok: boolean; detail: string };
  stop(): Promise<void>;
}

export async function startEnrich(o: StartEnrichOptions, signal: AbortSignal): Promise<RunningEnrich> {
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let node: EnrichService | undefined;
  let cluster: ClusterEnrich | undefined;

  const wantNode = o.mode === 'node' || (o.mode === 'embedded' && o.node.enabled !== false);
  if (o.mode === 'node' && o.node.enabled === false) {
    throw new EnrichStartError('enrich.node.enabled is false: node mode is off in the configuration');
  }
  if (wantNode) {
    node = await startNode(
      {
        bus: o.bus,
        node: { ...o.node, enabled: o.mode === 'node' ? true : o.node.enabled },
        ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
        log,
      },
      signal,
    );
  }

  const wantCluster =
    o.mode === 'cluster' || (o.mode === 'embedded' && (o.cluster.enabled || o.cluster.kubeconfig !== ''));
  if (wantCluster) {
    try {
      cluster = await startClusterEnrich(
        {
          bus: o.bus,
          kubeconfig: o.cluster.kubeconfig,
          shards: o.mode === 'embedded' ? 1 : o.cluster.shards,
          instance: o.cluster.instance,
          leaseTtlMs: o.cluster.leaseTtlMs,
          tombstoneTtlMs: o.cluster.tombstoneTtlMs,
          resyncMs: o.cluster.resyncMs,
          ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
          log: (level, message) => log(`enrich(cluster): ${level}: ${message}`),
        },
        signal,
      );
    } catch (err) {
      await node?.stop();
      throw err;
    }
  }

  return {
    node,
    cluster,
    describe() {
      const parts: string[] = [];
      if (node !== undefined)
        parts.push(`node=${node.sockets.length > 0 ? node.sockets.join(',') : 'no CRI socket'}`);
      if (cluster !== undefined) parts.push(`cluster=${cluster.instance}`);
      return parts.join(' ') || 'off';
    },
    health() {
      const h = node?.health() ?? { ok: true, detail: 'node mode off' };
      return cluster === undefined
        ? h
        : { ok: h.ok, detail: `${h.detail}; cluster slots ${cluster.owned().join(',')}` };
    },
    async stop() {
      await Promise.all([node?.stop(), cluster?.stop()]);
    },
  };
}
