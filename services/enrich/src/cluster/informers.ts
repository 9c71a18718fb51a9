/**
 * The ten informers of cluster mode: one list, then one watch from the
 * list's resourceVersion, per resource, each through @kubernetes/client-node's
 * ListWatch. On top of the client:
 *
 * - watches ask for bookmarks (`allowWatchBookmarks=true`), so a quiet
 *   resource's resourceVersion still advances and a reconnect rarely has to
 *   list again;
 * - a 410 Gone (an ERROR event or status) makes ListWatch list again; the
 *   objects gone meanwhile come out as deletes, the changed ones as updates;
 * - any other failure (the client stops there) restarts the informer after a
 *   backoff of 250 ms doubling to 10 s, from its last resourceVersion;
 * - an event whose object has no metadata is dropped and reported before it
 *   reaches the client's cache, which would throw on it.
 */
import {
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  ListWatch,
  Watch,
} from '@kubernetes/client-node';
import type { ClusterResource } from './objects.js';

export interface InformerSink {
  upsert(resource: ClusterResource, object: KubernetesObject): void;
  remove(resource: ClusterResource, object: KubernetesObject): void;
  /** Something the API sent that was dropped before the cache. */
  bad(resource: ClusterResource, problem: string): void;
  /** A list was applied to the cache (the first sync, or a relist). */
  listed(resource: ClusterResource): void;
  error(resource: ClusterResource, message: string): void;
}

export interface InformerStats {
  readonly lists: number;
  readonly watches: number;
  readonly restarts: number;
  readonly resourceVersion: string;
}

const PATHS: Readonly<Record<ClusterResource, string>> = {
  pods: '/api/v1/pods',
  namespaces: '/api/v1/namespaces',
  services: '/api/v1/services',
  replicationcontrollers: '/api/v1/replicationcontrollers',
  deployments: '/apis/apps/v1/deployments',
  replicasets: '/apis/apps/v1/replicasets',
  daemonsets: '/apis/apps/v1/daemonsets',
  statefulsets: '/apis/apps/v1/statefulsets',
  jobs: '/apis/batch/v1/jobs',
  cronjobs: '/apis/batch/v1/cronjobs',
};

type Lister = () => Promise<KubernetesListObject<KubernetesObject>>;

function listers(kc: KubeConfig): Readonly<Record<ClusterResource, Lister>> {
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const batch = kc.makeApiClient(BatchV1Api);
  return {
    pods: () => core.listPodForAllNamespaces(),
    namespaces: () => core.listNamespace(),
    services: () => core.listServiceForAllNamespaces(),
    replicationcontrollers: () => core.listReplicationControllerForAllNamespaces(),
    deployments: () => apps.listDeploymentForAllNamespaces(),
    replicasets: () => apps.listReplicaSetForAllNamespaces(),
    daemonsets: () => apps.listDaemonSetForAllNamespaces(),
    statefulsets: () => apps.listStatefulSetForAllNamespaces(),
    jobs: () => batch.listJobForAllNamespaces(),
    cronjobs: () => batch.listCronJobForAllNamespaces(),
  };
}

function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type WatchCallback = (phase: string, object: unknown, raw?: unknown) => void;

/** One informer: ListWatch plus the restarts and guards described above. */
class Informer {
  readonly resource: ClusterResource;
  readonly #sink: InformerSink;
  readonly #lw: ListWatch<KubernetesObject>;
  #lists = 0;
  #watches = 0;
  #restarts = 0;
  #listApplied = false;
  #backoffMs = 0;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(resource: ClusterResource, kc: KubeConfig, list: Lister, sink: InformerSink) {
    this.resource = resource;
    this.#sink = sink;
    const self = this;
    class GuardedWatch extends Watch {
      override watch(
        path: string,
        params: Record<string, string | number | boolean | undefined>,
        callback: WatchCallback,
        done: (err: unknown) => void,
      ): Promise<AbortController> {
        // ListWatch calls this right after it applied a list, or to resume.
        if (self.#listApplied) {
          self.#listApplied = false;
          sink.listed(resource);
        }
        self.#watches += 1;
        return super.watch(path, { ...params, allowWatchBookmarks: true }, self.#guard(callback), done);
      }
    }
    const listFn = async (): Promise<KubernetesListObject<KubernetesObject>> => {
      const result = await list();
      this.#lists += 1;
      const items: unknown[] = Array.isArray(result.items) ? result.items : [];
      const kept = items.filter((item): item is KubernetesObject => {
        if (isObj(item) && isObj(item.metadata)) return true;
        sink.bad(resource, 'a list item without metadata');
        return false;
      });
      this.#listApplied = true;
      return { ...result, items: kept };
    };
    this.#lw = new ListWatch<KubernetesObject>(PATHS[resource], new GuardedWatch(kc), listFn, false);
    this.#lw.on('add', (o) => this.#deliver(() => sink.upsert(resource, o)));
    this.#lw.on('update', (o) => this.#deliver(() => sink.upsert(resource, o)));
    this.#lw.on('delete', (o) => this.#deliver(() => sink.remove(resource, o)));
    this.#lw.on('error', (err) => this.#failed(err));
  }

  #guard(callback: WatchCallback): WatchCallback {
    return (phase, object, raw) => {
      if (phase === 'ERROR') {
        if (isObj(object)) callback(phase, object, raw);
        else this.#sink.bad(this.resource, 'an ERROR watch event without a Status object');
        return;
      }
      if (!isObj(object) || !isObj(object.metadata)) {
        this.#sink.bad(this.resource, `a ${phase} watch event whose object has no metadata`);
        return;
      }
      this.#backoffMs = 0;
      callback(phase, object, raw);
    };
  }

  #deliver(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // The sink never throws by design; if it does, the informer keeps going.
      this.#sink.error(this.resource, `event handler failed: ${String(err)}`);
    }
  }

  #failed(err: unknown): void {
    if (this.#stopped) return;
    const status = isObj(err) && typeof err.statusCode === 'number' ? ` (HTTP ${err.statusCode})` : '';
    const msg = err instanceof Error ? err.message : String(err);
    this.#backoffMs = Math.min(10_000, this.#backoffMs === 0 ? 250 : this.#backoffMs * 2);
    this.#sink.error(this.resource, `list/watch failed${status}: ${msg}; retrying in ${this.#backoffMs} ms`);
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    this.#retry = setTimeout(() => {
      this.#retry = undefined;
      this.#restarts += 1;
      this.start();
    }, this.#backoffMs);
  }

  start(): void {
    if (this.#stopped) return;
    this.#lw.start().catch((err: unknown) => this.#failed(err));
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#retry !== undefined) clearTimeout(this.#retry);
    await this.#lw.stop();
  }

  stats(): InformerStats {
    return {
      lists: this.#lists,
      watches: this.#watches,
      restarts: this.#restarts,
      resourceVersion: this.#lw.latestResourceVersion(),
    };
  }
}

export class Informers {
  readonly #all: readonly Informer[];

  constructor(kc: KubeConfig, resources: readonly ClusterResource[], sink: InformerSink) {
    const l = listers(kc);
    this.#all = resources.map((r) => new Informer(r, kc, l[r], sink));
  }

  start(): void {
    for (const i of this.#all) i.start();
  }

  async stop(): Promise<void> {
    await Promise.all(this.#all.map((i) => i.stop()));
  }

  stats(): Record<string, InformerStats> {
    return Object.fromEntries(this.#all.map((i) => [i.resource, i.stats()]));
  }
}
