/**
 * A real NATS cluster for tests: `size` nats-servers on loopback, routed to
 * each other, with JetStream clustered (R3 streams need three). Every port is
 * one the OS handed out, and each server keeps its ports and store across
 * kill() and restart(), as a pod keeps its volume: a test can kill one server
 * mid-stream, or all of them, and bring them back.
 *
 * A cluster of one is a single server that can be stopped and restarted on
 * the same port, for outage tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasSetpriv, terminate } from './daemon.js';
import { NATS_SERVER_PACKAGE, NatsServerStartError, findBinary, waitForPortsFile } from './nats-server.js';

export interface NatsClusterOptions {
  /** Servers. Default 3. */
  readonly size?: number;
  /** Enable JetStream (clustered when size > 1). Default true. */
  readonly jetstream?: boolean;
  /** Extra configuration text for every server (authorization, TLS, …). */
  readonly config?: string;
  /** How long to wait for each server's ports file. Default 15 s. */
  readonly startTimeoutMs?: number;
}

/** One server of the cluster. */
interface NatsClusterServer {
  readonly name: string;
  /** nats://127.0.0.1:<port>; the same after a restart. */
  readonly url: string;
  readonly port: number;
  /** Whether its process is running. */
  readonly running: boolean;
  /** The tail of its stderr (this run's). */
  stderr(): string;
}

export interface NatsClusterHandle extends AsyncDisposable {
  /** Every server's client URL, for a client that fails over. */
  readonly urls: readonly string[];
  readonly servers: readonly NatsClusterServer[];
  /** Kills server `i` (SIGKILL by default: a crash) and waits for it to exit. */
  kill(i: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts server `i` again, same ports and store; resolves once it accepts clients. */
  restart(i: number): Promise<void>;
  /** Stops every server and removes the stores. Idempotent. */
  stop(): Promise<void>;
}

/** A port the OS handed out for 127.0.0.1, free when this returns. */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const address = s.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}

const STDERR_KEEP = 16 * 1024;

class ClusterServer implements NatsClusterServer {
  readonly name: string;
  readonly port: number;
  readonly url: string;
  readonly #binary: string;
  readonly #configFile: string;
  readonly #dir: string;
  readonly #timeoutMs: number;
  #child: ChildProcess | undefined;
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  #stderr = '';

  constructor(
    name: string,
    port: number,
    binary: string,
    configFile: string,
    dir: string,
    timeoutMs: number,
  ) {
    this.name = name;
    this.port = port;
    this.url = `nats://127.0.0.1:${port}`;
    this.#binary = binary;
    this.#configFile = configFile;
    this.#dir = dir;
    this.#timeoutMs = timeoutMs;
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  stderr(): string {
    return this.#stderr;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.#stderr = '';
    const args = ['-c', this.#configFile, '--ports_file_dir', this.#dir];
    const child = hasSetpriv()
      ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', this.#binary, ...args], {
          stdio: ['ignore', 'ignore', 'pipe'],
        })
      : spawn(this.#binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderr = (this.#stderr + chunk).slice(-STDERR_KEEP);
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.#child = child;
    this.#exited = exited;
    try {
      await waitForPortsFile(child, this.#dir, this.#timeoutMs, () => this.#stderr);
    } catch (err) {
      await terminate(child, exited);
      throw err;
    }
  }

  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.#child;
    const exited = this.#exited;
    if (child === undefined || exited === undefined || !this.running) return;
    if (signal === 'SIGTERM') {
      await terminate(child, exited);
      return;
    }
    child.kill(signal);
    await exited;
  }
}

/**
 * Starts the cluster; resolves once every server accepts clients. The ports
 * are chosen before the servers bind them, so another process can take one
 * in between ("address already in use"): the cluster is then started again
 * on fresh ports, at most three times.
 */
export async function startNatsCluster(options: NatsClusterOptions = {}): Promise<NatsClusterHandle> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startNatsClusterOnce(options);
    } catch (err) {
      const lost = err instanceof NatsServerStartError && /address already in use/.test(err.message);
      if (!lost || attempt >= 3) throw err;
    }
  }
}

async function startNatsClusterOnce(options: NatsClusterOptions): Promise<NatsClusterHandle> {
  const size = options.size ?? 3;
  if (!Number.isInteger(size) || size < 1 || size > 7) {
    throw new NatsServerStartError(`size: expected 1 to 7 servers, got ${size}`, {});
  }
  const binary = findBinary();
  if (binary === undefined) {
    throw new NatsServerStartError(
      `nats-server not found; install the Debian package "${NATS_SERVER_PACKAGE}"`,
      {},
    );
  }
  const jetstream = options.jetstream ?? true;
  const dir = await mkdtemp(join(tmpdir(), 'saker-nats-cluster-'));
  const clientPorts: number[] = [];
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) {
    clientPorts.push(await freePort());
    routePorts.push(await freePort());
  }
  const servers: ClusterServer[] = [];
  for (let i = 0; i < size; i++) {
    const name = `s${i}`;
    const serverDir = join(dir, name);
    const lines = [`server_name: ${name}`, `listen: "127.0.0.1:${clientPorts[i]}"`];
    if (jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(join(serverDir, 'store'))} }`);
    if (size > 1) {
      const routes = routePorts
        .filter((_, j) => j !== i)
        .map((p) => JSON.stringify(`nats-route://127.0.0.1:${p}`));
      lines.push(
        'cluster {',
        '  name: saker-test',
        `  listen: "127.0.0.1:${routePorts[i]}"`,
        `  routes: [${routes.join(', ')}]`,
        '}',
      );
    }
    if (options.config !== undefined) lines.push(options.config);
    await mkdir(serverDir, { recursive: true });
    const configFile = join(serverDir, 'server.conf');
    await writeFile(configFile, `${lines.join('\n')}\n`, { mode: 0o600 });
    servers.push(
      new ClusterServer(
        name,
        clientPorts[i] ?? 0,
        binary,
        configFile,
        serverDir,
        options.startTimeoutMs ?? 15_000,
      ),
    );
  }
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await Promise.all(servers.map((s) => s.kill('SIGTERM')));
      await rm(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
  try {
    await Promise.all(servers.map((s) => s.start()));
  } catch (err) {
    await stop();
    throw err;
  }
  const at = (i: number): ClusterServer => {
    const s = servers[i];
    if (s === undefined) throw new RangeError(`no server ${i} in a cluster of ${size}`);
    return s;
  };
  return {
    urls: servers.map((s) => s.url),
    servers,
    kill: (i, signal = 'SIGKILL') => at(i).kill(signal),
    restart: (i) => at(i).start(),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** Retries `fn` every 250 ms until it works or `timeoutMs` passes: a fresh cluster elects its JetStream leaders first. */
export async function retryUntilLeader<T>(
  what: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: ${String(err)}`, { cause: err });
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
