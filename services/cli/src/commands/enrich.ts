/**
 * `saker enrich`: the enrich service alone, against NATS. Node mode (a
 * DaemonSet pod) follows the node's CRI socket; cluster mode (a Deployment,
 * N shards) watches the API server. Both write KV saker_meta (docs/enrich.md).
 */
import { enrichClusterView, enrichNodeView } from '@saker/config';
import { type EnrichMode, startEnrich } from '@saker/enrich';
import { MetricsRegistry, healthReport } from '@saker/telemetry';
import { type Command, EXIT_OK, UsageError, parseCommandArgs } from '../io.js';
import { aborted, loadCommandConfig } from './run.js';
import {
  COMMON_HELP,
  COMMON_OPTIONS,
  commonOverrides,
  natsTarget,
  natsUrl,
  serveIfConfigured,
  standalone,
} from './service.js';

export const enrichCommand: Command = {
  name: 'enrich',
  summary: 'run container/Kubernetes metadata enrichment alone, against NATS',
  help: `Usage: saker enrich --nats URL [--config saker.yaml] [--mode node|cluster] [options]

Writes metadata into KV saker_meta for the engines' join.

node mode (default; one per node): lists the containers of the node's CRI
socket (containerd, CRI-O; enrich.node.cri_sockets, else auto-detected),
describes each (ContainerStatus and PodSandboxStatus, verbose) and writes
containers.<node>.<id>; follows GetContainerEvents, or lists again every
enrich.node.poll_interval_ms where the runtime has no events.

cluster mode (a Deployment of N instances): watches pods, namespaces and
workloads on the API server, each instance the shards it holds a lease on.

Options:
  --mode MODE              node or cluster (default node)
  --cri-socket PATH        CRI socket to follow instead of enrich.node.cri_sockets; repeatable
  --node NAME              node name of the records (enrich.node.node_name)
  --kubeconfig FILE        kubeconfig for cluster mode (enrich.cluster.kubeconfig); default in-cluster
  --shards N               cluster mode's shard count (enrich.cluster.shards)
  --instance NAME          this instance's name in shard leases (enrich.cluster.instance)
${COMMON_HELP}`,
  async run(args, io) {
    const { values } = parseCommandArgs('enrich', args, {
      ...COMMON_OPTIONS,
      mode: { type: 'string' },
      'cri-socket': { type: 'string', multiple: true },
      node: { type: 'string' },
      kubeconfig: { type: 'string' },
      shards: { type: 'string' },
      instance: { type: 'string' },
    });
    if (values.help) {
      await io.out(this.help);
      return EXIT_OK;
    }
    const mode = values.mode ?? 'node';
    if (mode !== 'node' && mode !== 'cluster') {
      throw new UsageError(`--mode: expected node or cluster, got ${JSON.stringify(mode)}`, 'enrich');
    }
    const overrides = commonOverrides(values);
    const node: Record<string, unknown> = {};
    if (values['cri-socket'] !== undefined) node.cri_sockets = values['cri-socket'];
    if (values.node !== undefined) node.node_name = values.node;
    const cluster: Record<string, unknown> = {};
    if (values.kubeconfig !== undefined) cluster.kubeconfig = values.kubeconfig;
    if (values.shards !== undefined) cluster.shards = values.shards;
    if (values.instance !== undefined) cluster.instance = values.instance;
    overrides.enrich = { node, cluster };
    const config = loadCommandConfig('enrich', io, values.config, overrides);
    const url = natsUrl('enrich', config);
    return standalone('enrich', natsTarget(url, config), io, async (bus, signal) => {
      const metrics = new MetricsRegistry();
      const enrich = await startEnrich(
        {
          bus,
          mode: mode as EnrichMode,
          node: enrichNodeView(config),
          cluster: enrichClusterView(config),
          metrics,
          log: (line) => io.err(`${line}\n`),
        },
        signal,
      );
      const telemetry = await serveIfConfigured(config, metrics, () =>
        healthReport({ enrich: enrich.health() }),
      );
      io.err(
        `enrich: ready mode=${mode} ${enrich.describe()} nats=${url}${telemetry ? ` metrics=${telemetry.url}` : ''}\n`,
      );
      await aborted(signal);
      await enrich.stop();
      await telemetry?.close();
    });
  },
};
