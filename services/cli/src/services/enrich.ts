/**
 * Enrichment: container metadata from the node's CRI socket (node mode),
 * pods and workloads from the API server (cluster mode), into KV saker_meta
 * for the engines' join (docs/enrich.md).
 */
import { type SakerConfig, enrichClusterView, enrichNodeView } from '@saker/config';
import { startEnrich } from '@saker/enrich';
import { OptionError, type ServiceModule } from '@saker/runtime';

const MODES = ['node', 'cluster', 'auto'] as const;

export const enrichService: ServiceModule<SakerConfig> = {
  name: 'enrich',
  stage: 'support',
  summary: 'container and Kubernetes metadata into KV saker_meta',
  help: `Writes metadata into KV saker_meta for the engines' join.

node mode (the default alone; one per node): lists the containers of the
node's CRI socket (containerd, CRI-O; enrich.node.cri_sockets, else
auto-detected) and follows them. cluster mode (a Deployment of N instances):
watches pods, namespaces and workloads on the API server, each instance the
shards it holds a lease on. auto (what 'saker run' does): node mode when a
CRI socket is found, cluster mode when enrich.cluster.kubeconfig is set.

Options:
  --mode MODE              node, cluster or auto (default node)
  --cri-socket PATH        CRI socket to follow instead of enrich.node.cri_sockets; repeatable
  --node NAME              node name of the records (enrich.node.node_name)
  --kubeconfig FILE        kubeconfig for cluster mode (enrich.cluster.kubeconfig); default in-cluster
  --shards N               cluster mode's shard count (enrich.cluster.shards)
  --instance NAME          this instance's name in shard leases (enrich.cluster.instance)
`,
  flags: {
    mode: { type: 'string' },
    'cri-socket': { type: 'string', multiple: true },
    node: { type: 'string' },
    kubeconfig: { type: 'string' },
    shards: { type: 'string' },
    instance: { type: 'string' },
  },
  overrides: (f) => {
    if (typeof f.mode === 'string' && !(MODES as readonly string[]).includes(f.mode)) {
      throw new OptionError('--mode', `expected node, cluster or auto, got ${JSON.stringify(f.mode)}`);
    }
    const node: Record<string, unknown> = {};
    if (Array.isArray(f['cri-socket'])) node.cri_sockets = f['cri-socket'];
    if (typeof f.node === 'string') node.node_name = f.node;
    const cluster: Record<string, unknown> = {};
    if (typeof f.kubeconfig === 'string') cluster.kubeconfig = f.kubeconfig;
    if (typeof f.shards === 'string') cluster.shards = f.shards;
    if (typeof f.instance === 'string') cluster.instance = f.instance;
    return { enrich: { node, cluster } };
  },
  standaloneNeedsNats: true,
  async start(ctx) {
    const flag = ctx.flags.mode;
    const mode = typeof flag === 'string' ? flag : ctx.embedded ? 'auto' : 'node';
    if (!(MODES as readonly string[]).includes(mode)) {
      throw new OptionError('--mode', `expected node, cluster or auto, got ${JSON.stringify(mode)}`);
    }
    const stop = new AbortController();
    const enrich = await startEnrich(
      {
        bus: ctx.bus,
        mode: mode === 'auto' ? 'embedded' : (mode as 'node' | 'cluster'),
        node: enrichNodeView(ctx.config),
        cluster: enrichClusterView(ctx.config),
        metrics: ctx.metrics,
        log: (line) => ctx.logger.info(line.replace(/^enrich: /, '')),
      },
      stop.signal,
    );
    return {
      name: 'enrich',
      health: () => enrich.health(),
      describe: () => `mode=${mode} ${enrich.describe()}`,
      async stop() {
        await enrich.stop();
        stop.abort();
      },
    };
  },
};
