/**
 * A stand-in Kubernetes API server for tests, on loopback HTTP and an
 * ephemeral port. The real one cannot run here, so this one speaks its wire
 * format for the part informers use:
 *
 * - `GET <collection>` answers a `*List` whose `metadata.resourceVersion` is
 *   the server's current version (items carry no kind/apiVersion, as the API
 *   server sends them);
 * - `GET <collection>?watch=true&resourceVersion=N` streams newline-delimited
 *   watch events (`{"type":"ADDED|MODIFIED|DELETED|BOOKMARK|ERROR","object":…}`)
 *   that happened after N, then live ones. BOOKMARKs go only to watches that
 *   asked with `allowWatchBookmarks=true`. A watch from a version older than
 *   the compacted history gets one ERROR event carrying a Status with code 410
 *   (reason Expired), and the stream ends, as the API server does; the client
 *   is expected to list again.
 * - Requests need `Authorization: Bearer <token>` with a token this server
 *   issued (writeKubeconfig); the token names the client, so the request log
 *   can tell which client (e.g. which shard) asked what.
 *
 * One resourceVersion counter is shared by every resource, like etcd's
 * revision. Objects are stored as given: the test may add objects the real
 * server would refuse (no uid), to check how a client copes.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const KUBE_RESOURCES = {
  pods: { prefix: '/api/v1', apiVersion: 'v1', kind: 'Pod', namespaced: true },
  namespaces: { prefix: '/api/v1', apiVersion: 'v1', kind: 'Namespace', namespaced: false },
  services: { prefix: '/api/v1', apiVersion: 'v1', kind: 'Service', namespaced: true },
  replicationcontrollers: {
    prefix: '/api/v1',
    apiVersion: 'v1',
    kind: 'ReplicationController',
    namespaced: true,
  },
  deployments: { prefix: '/apis/apps/v1', apiVersion: 'apps/v1', kind: 'Deployment', namespaced: true },
  replicasets: { prefix: '/apis/apps/v1', apiVersion: 'apps/v1', kind: 'ReplicaSet', namespaced: true },
  daemonsets: { prefix: '/apis/apps/v1', apiVersion: 'apps/v1', kind: 'DaemonSet', namespaced: true },
  statefulsets: { prefix: '/apis/apps/v1', apiVersion: 'apps/v1', kind: 'StatefulSet', namespaced: true },
  jobs: { prefix: '/apis/batch/v1', apiVersion: 'batch/v1', kind: 'Job', namespaced: true },
  cronjobs: { prefix: '/apis/batch/v1', apiVersion: 'batch/v1', kind: 'CronJob', namespaced: true },
} as const;
export type KubeResource = keyof typeof KUBE_RESOURCES;

/** An object as the test hands it over: JSON, with at least `metadata.name` to key it by. */
export interface KubeTestObject {
  readonly metadata: {
    readonly name: string;
    readonly namespace?: string;
    readonly uid?: string;
    readonly labels?: Readonly<Record<string, string>>;
    readonly [key: string]: unknown;
  };
  readonly [key: string]: unknown;
}

type KubeWatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

/** One request, as the server saw it. */
interface KubeApiRequest {
  /** The client named by the bearer token; '' when it had none or an unknown one. */
  readonly client: string;
  readonly method: string;
  readonly path: string;
  /** The resource of a known collection path. */
  readonly resource: KubeResource | undefined;
  readonly watch: boolean;
  /** The `resourceVersion` query parameter, when given. */
  readonly resourceVersion: string | undefined;
  readonly allowWatchBookmarks: boolean;
  /** The HTTP status (200 for a watch that then ended with a 410 ERROR event). */
  readonly status: number;
  /** For a watch: it was answered with a 410 ERROR event (too old resourceVersion). */
  readonly gone: boolean;
  readonly atMs: number;
}

export interface KubeApiServer extends AsyncDisposable {
  /** `http://127.0.0.1:<port>` */
  readonly url: string;
  /** The current resourceVersion (the last change's). */
  readonly resourceVersion: number;
  /** Creates or replaces an object; it gets a new resourceVersion. Returns the stored object. */
  apply(resource: KubeResource, object: KubeTestObject): KubeTestObject;
  /** Deletes an object (a DELETED event with its last state). False when it did not exist. */
  remove(resource: KubeResource, name: string, namespace?: string): boolean;
  /** The stored object, or undefined. */
  get(resource: KubeResource, name: string, namespace?: string): KubeTestObject | undefined;
  /** Sends a BOOKMARK at the current resourceVersion to every watch that allows them. */
  bookmark(): void;
  /**
   * Writes one raw line (a JSON value, or any text) to every open watch of
   * `resource`, without storing anything: what a broken or hostile server
   * might send.
   */
  injectWatchLine(resource: KubeResource, line: string): void;
  /** Forgets the history up to now: a watch from an older resourceVersion gets 410 Gone. */
  compact(): void;
  /** Ends every open watch stream without an event (a dropped connection). */
  closeWatches(): void;
  /** Compacts, then sends each open watch an ERROR event with code 410 and ends it. */
  expireWatches(): void;
  /** While on, every request is answered 503 and open watches are ended. */
  setUnavailable(on: boolean): void;
  /** Every request so far, in order of arrival. */
  requests(): readonly KubeApiRequest[];
  /** How many watch requests `client` (default: any) made on `resource` (default: any). */
  watchCount(filter?: { client?: string; resource?: KubeResource }): number;
  /** Watch streams open now. */
  openWatches(): number;
  /** Writes a kubeconfig for `client` (its own token) and returns its path. */
  writeKubeconfig(client: string): string;
  close(): Promise<void>;
}

interface HistoryEntry {
  readonly rv: number;
  readonly type: 'ADDED' | 'MODIFIED' | 'DELETED';
  readonly object: KubeTestObject;
}

interface OpenWatch {
  readonly resource: KubeResource;
  readonly res: ServerResponse;
  readonly bookmarks: boolean;
  readonly timer: NodeJS.Timeout | undefined;
}

const TOKEN_PREFIX = 'saker-test-';

function keyOf(name: string, namespace: string | undefined): string {
  return `${namespace ?? ''}/${name}`;
}

function status(code: number, reason: string, message: string): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
}

function routeOf(pathname: string): KubeResource | undefined {
  for (const [name, r] of Object.entries(KUBE_RESOURCES)) {
    if (pathname === `${r.prefix}/${name}`) return name as KubeResource;
  }
  return undefined;
}

function typed(resource: KubeResource, object: KubeTestObject): KubeTestObject {
  const r = KUBE_RESOURCES[resource];
  return { ...object, apiVersion: r.apiVersion, kind: r.kind };
}

export async function startKubeApiServer(): Promise<KubeApiServer> {
  let rv = 1;
  let compactedRv = 0;
  let unavailable = false;
  const store = new Map<KubeResource, Map<string, KubeTestObject>>();
  const history = new Map<KubeResource, HistoryEntry[]>();
  for (const r of Object.keys(KUBE_RESOURCES) as KubeResource[]) {
    store.set(r, new Map());
    history.set(r, []);
  }
  const watches = new Set<OpenWatch>();
  const log: KubeApiRequest[] = [];
  const tokens = new Map<string, string>();
  const kubeconfigDir = mkdtempSync(join(tmpdir(), 'saker-kube-api-'));

  const objects = (r: KubeResource): Map<string, KubeTestObject> => store.get(r) ?? new Map();
  const events = (r: KubeResource): HistoryEntry[] => history.get(r) ?? [];

  function send(w: OpenWatch, type: KubeWatchEventType, object: unknown): void {
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  function endWatch(w: OpenWatch): void {
    if (!watches.delete(w)) return;
    if (w.timer !== undefined) clearTimeout(w.timer);
    w.res.end();
  }

  function record(resource: KubeResource, type: HistoryEntry['type'], object: KubeTestObject): void {
    const entry = { rv, type, object };
    events(resource).push(entry);
    for (const w of watches) if (w.resource === resource) send(w, type, typed(resource, object));
  }

  function answer(res: ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const auth = req.headers.authorization ?? '';
    const client = auth.startsWith('Bearer ') ? (tokens.get(auth.slice('Bearer '.length)) ?? '') : '';
    const resource = routeOf(url.pathname);
    const watchParam = url.searchParams.get('watch');
    const isWatch = watchParam === 'true' || watchParam === '1';
    const rvParam = url.searchParams.get('resourceVersion') ?? undefined;
    const bookmarks = url.searchParams.get('allowWatchBookmarks') === 'true';
    const note = (code: number, gone = false): void => {
      log.push({
        client,
        method: req.method ?? '',
        path: url.pathname,
        resource,
        watch: isWatch,
        resourceVersion: rvParam,
        allowWatchBookmarks: bookmarks,
        status: code,
        gone,
        atMs: Date.now(),
      });
    };

    if (client === '') {
      note(401);
      answer(res, 401, status(401, 'Unauthorized', 'Unauthorized'));
      return;
    }
    if (unavailable) {
      note(503);
      answer(
        res,
        503,
        status(503, 'ServiceUnavailable', 'the server is currently unable to handle the request'),
      );
      return;
    }
    if (resource === undefined) {
      note(404);
      answer(
        res,
        404,
        status(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`),
      );
      return;
    }
    if (req.method !== 'GET') {
      note(405);
      answer(res, 405, status(405, 'MethodNotAllowed', `${req.method} is not supported here`));
      return;
    }

    if (!isWatch) {
      note(200);
      const r = KUBE_RESOURCES[resource];
      answer(res, 200, {
        kind: `${r.kind}List`,
        apiVersion: r.apiVersion,
        metadata: { resourceVersion: String(rv) },
        items: [...objects(resource).values()],
      });
      return;
    }

    let from: number | undefined;
    if (rvParam !== undefined && rvParam !== '' && rvParam !== '0') {
      from = Number(rvParam);
      if (!Number.isSafeInteger(from) || from < 0) {
        note(400);
        answer(res, 400, status(400, 'BadRequest', `invalid resourceVersion ${JSON.stringify(rvParam)}`));
        return;
      }
    }
    const timeoutSeconds = Number(url.searchParams.get('timeoutSeconds') ?? '0');
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const timer =
      timeoutSeconds > 0 && Number.isFinite(timeoutSeconds)
        ? setTimeout(() => endWatch(w), timeoutSeconds * 1000)
        : undefined;
    const w: OpenWatch = { resource, res, bookmarks, timer };
    watches.add(w);
    res.on('close', () => endWatch(w));
    if (from !== undefined && from < compactedRv) {
      note(200, true);
      send(w, 'ERROR', status(410, 'Expired', `too old resource version: ${from} (${compactedRv})`));
      endWatch(w);
      return;
    }
    note(200);
    if (from === undefined) {
      // No version: the current state as ADDED events, then what follows.
      for (const o of objects(resource).values()) send(w, 'ADDED', typed(resource, o));
    } else {
      for (const e of events(resource)) if (e.rv > from) send(w, e.type, typed(resource, e.object));
    }
  }

  const server: Server = createServer(handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      for (const w of [...watches]) endWatch(w);
      rmSync(kubeconfigDir, { recursive: true, force: true });
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closed;
  };

  const api: KubeApiServer = {
    url,
    get resourceVersion() {
      return rv;
    },
    apply(resource, object) {
      const key = keyOf(object.metadata.name, object.metadata.namespace);
      const existed = objects(resource).has(key);
      rv += 1;
      const stored: KubeTestObject = {
        ...object,
        metadata: { ...object.metadata, resourceVersion: String(rv) },
      };
      objects(resource).set(key, stored);
      record(resource, existed ? 'MODIFIED' : 'ADDED', stored);
      return stored;
    },
    remove(resource, name, namespace) {
      const key = keyOf(name, namespace);
      const last = objects(resource).get(key);
      if (last === undefined) return false;
      objects(resource).delete(key);
      rv += 1;
      record(resource, 'DELETED', { ...last, metadata: { ...last.metadata, resourceVersion: String(rv) } });
      return true;
    },
    get(resource, name, namespace) {
      return objects(resource).get(keyOf(name, namespace));
    },
    bookmark() {
      for (const w of watches) {
        if (!w.bookmarks) continue;
        const r = KUBE_RESOURCES[w.resource];
        send(w, 'BOOKMARK', {
          kind: r.kind,
          apiVersion: r.apiVersion,
          metadata: { resourceVersion: String(rv) },
        });
      }
    },
    injectWatchLine(resource, line) {
      for (const w of watches) if (w.resource === resource) w.res.write(`${line.replace(/\n/g, ' ')}\n`);
    },
    compact() {
      compactedRv = rv;
      for (const list of history.values()) list.length = 0;
    },
    closeWatches() {
      for (const w of [...watches]) endWatch(w);
    },
    expireWatches() {
      api.compact();
      for (const w of [...watches]) {
        send(
          w,
          'ERROR',
          status(410, 'Expired', `too old resource version: watch cache compacted at ${compactedRv}`),
        );
        endWatch(w);
      }
    },
    setUnavailable(on) {
      unavailable = on;
      if (on) api.closeWatches();
    },
    requests() {
      return [...log];
    },
    watchCount(filter = {}) {
      return log.filter(
        (r) =>
          r.watch &&
          (filter.client === undefined || r.client === filter.client) &&
          (filter.resource === undefined || r.resource === filter.resource),
      ).length;
    },
    openWatches() {
      return watches.size;
    },
    writeKubeconfig(client) {
      if (!/^[A-Za-z0-9_-]+$/.test(client))
        throw new Error(`client name ${JSON.stringify(client)}: use [A-Za-z0-9_-]`);
      const token = `${TOKEN_PREFIX}${client}`;
      tokens.set(token, client);
      const path = join(kubeconfigDir, `${client}.kubeconfig`);
      writeFileSync(
        path,
        [
          'apiVersion: v1',
          'kind: Config',
          'clusters:',
          '- name: saker-test',
          '  cluster:',
          `    server: ${url}`,
          // client-node speaks plain HTTP only with this set.
          '    insecure-skip-tls-verify: true',
          'users:',
          `- name: ${client}`,
          '  user:',
          `    token: ${token}`,
          'contexts:',
          `- name: ${client}`,
          '  context:',
          '    cluster: saker-test',
          `    user: ${client}`,
          `current-context: ${client}`,
          '',
        ].join('\n'),
      );
      return path;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
  return api;
}
