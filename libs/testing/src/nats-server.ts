import { type ChildProcess, spawn } from 'node:child_process';
import { constants, type FSWatcher, accessSync, watch } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DaemonStartError, hasSetpriv, terminate } from './daemon.js';

/** The Debian package that provides the server binary; named in every "not found" error. */
export const NATS_SERVER_PACKAGE = 'nats-server';
const DEFAULT_BINARY = '/usr/bin/nats-server';
const STDERR_KEEP = 16 * 1024;

export type NatsServerRuntime = 'process' | 'container';

export interface NatsServerOptions {
  /** Enable JetStream (streams, consumers, KV), with its store in a temp dir. Default false. */
  jetstream?: boolean;
  /** Path of the nats-server binary. Default: $NATS_SERVER_BIN, else /usr/bin/nats-server, else `nats-server` on PATH. */
  binary?: string;
  /**
   * A nats-server configuration file's text (authorization, TLS, …), written
   * to the server's temp dir and passed with `-c`. The harness's own flags
   * (port, address, ports file, JetStream store) still win.
   */
  config?: string;
  /** Extra command-line arguments, appended after the harness's own. */
  args?: readonly string[];
  /** How long to wait for the ports file before giving up. Default 15 s. */
  startTimeoutMs?: number;
  /**
   * Force a runtime. Default: $SAKER_NATS_RUNTIME, else the local binary when it exists,
   * else a container when a Docker engine answers a ping.
   */
  runtime?: NatsServerRuntime;
}

/** A running nats-server. Dispose it (`await using`) or call stop(). */
export interface NatsServerHandle extends AsyncDisposable {
  /** The client URL, e.g. nats://127.0.0.1:41234. */
  readonly url: string;
  readonly port: number;
  readonly runtime: NatsServerRuntime;
  /** Process id of the local server (undefined for a container). */
  readonly pid: number | undefined;
  /** Everything the server wrote on stderr so far (the tail, when long). */
  stderr(): string;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s), waits for it to exit and removes its temp dirs. Idempotent. */
  stop(): Promise<void>;
}

/** The server could not be started: binary missing, no Docker, bad flag, or no ports file in time. */
export class NatsServerStartError extends DaemonStartError {
  override readonly name: string = 'NatsServerStartError';

  constructor(
    message: string,
    fields: { stderr?: string; exitCode?: number | null },
    options?: { cause?: unknown },
  ) {
    super(message, { output: fields.stderr ?? '', exitCode: fields.exitCode ?? null }, options);
  }

  /** What the server wrote on stderr before it gave up (may be empty). */
  get stderr(): string {
    return this.output;
  }
}

interface ResolvedOptions {
  jetstream: boolean;
  config: string | undefined;
  binary: string | undefined;
  args: readonly string[];
  startTimeoutMs: number;
  runtime: NatsServerRuntime | undefined;
}

function resolveOptions(options: NatsServerOptions): ResolvedOptions {
  const env = process.env.SAKER_NATS_RUNTIME;
  if (env !== undefined && env !== '' && env !== 'process' && env !== 'container') {
    throw new NatsServerStartError(
      `SAKER_NATS_RUNTIME must be "process" or "container", got ${JSON.stringify(env)}`,
      {},
    );
  }
  return {
    jetstream: options.jetstream ?? false,
    config: options.config,
    binary: options.binary ?? findBinary(),
    args: options.args ?? [],
    startTimeoutMs: options.startTimeoutMs ?? 15_000,
    runtime: options.runtime ?? (env === '' ? undefined : env),
  };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The nats-server binary: $NATS_SERVER_BIN, /usr/bin/nats-server, or the first on PATH; undefined when none. */
export function findBinary(): string | undefined {
  const fromEnv = process.env.NATS_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (isExecutable(DEFAULT_BINARY)) return DEFAULT_BINARY;
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir === '') continue;
    const candidate = join(dir, 'nats-server');
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Which runtime to use. Pure, so the choice is testable without Docker:
 * a forced runtime wins; otherwise the local binary (fast, no images), then a
 * container when an engine answered; otherwise nothing works.
 */
export function selectRuntime(facts: {
  forced: NatsServerRuntime | undefined;
  binaryFound: boolean;
  dockerReachable: boolean;
}): NatsServerRuntime | undefined {
  if (facts.forced !== undefined) return facts.forced;
  if (facts.binaryFound) return 'process';
  if (facts.dockerReachable) return 'container';
  return undefined;
}

/**
 * Whether a Docker engine answers `GET /_ping` at $DOCKER_HOST (unix:// or tcp://)
 * or /var/run/docker.sock. A socket file that exists is not enough: the engine must answer.
 */
export async function dockerReachable(
  options: { dockerHost?: string | undefined; timeoutMs?: number } = {},
): Promise<boolean> {
  const host = options.dockerHost ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
  const timeoutMs = options.timeoutMs ?? 1_000;
  let target: { socketPath: string } | { host: string; port: number };
  if (host.startsWith('unix://')) {
    target = { socketPath: host.slice('unix://'.length) };
  } else if (host.startsWith('tcp://')) {
    const url = new URL(`http://${host.slice('tcp://'.length)}`);
    target = { host: url.hostname, port: Number(url.port || 2375) };
  } else {
    return false;
  }
  return new Promise<boolean>((resolve) => {
    const req = httpRequest({ ...target, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Starts a real nats-server on an ephemeral port and resolves once it accepts clients. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const opts = resolveOptions(options);
  const runtime = selectRuntime({
    forced: opts.runtime,
    binaryFound: opts.binary !== undefined,
    dockerReachable:
      opts.binary === undefined && opts.runtime === undefined ? await dockerReachable() : false,
  });
  if (runtime === undefined) {
    throw new NatsServerStartError(
      `nats-server not found (looked at $NATS_SERVER_BIN, ${DEFAULT_BINARY} and PATH) and no Docker engine answered; ` +
        `install the Debian package "${NATS_SERVER_PACKAGE}" (apt-get install ${NATS_SERVER_PACKAGE})`,
      {},
    );
  }
  if (runtime === 'container') return startContainer(opts);
  if (opts.binary === undefined) {
    throw new NatsServerStartError(
      `nats-server binary not found; install the Debian package "${NATS_SERVER_PACKAGE}"`,
      {},
    );
  }
  return startProcess(opts.binary, opts);
}

async function startProcess(binary: string, opts: ResolvedOptions): Promise<NatsServerHandle> {
  // Checked here, not left to spawn: under setpriv a missing binary is setpriv's
  // exit 127. A bare name (NATS_SERVER_BIN=nats-server) is looked up on PATH by
  // the exec itself.
  try {
    if (binary.includes('/')) accessSync(binary, constants.X_OK);
  } catch (err) {
    throw new NatsServerStartError(
      `cannot run nats-server (${err instanceof Error ? err.message : String(err)}); install the Debian package "${NATS_SERVER_PACKAGE}"`,
      {},
      { cause: err },
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'saker-nats-'));
  const args: string[] = [];
  if (opts.config !== undefined) {
    const file = join(dir, 'server.conf');
    await writeFile(file, opts.config, { mode: 0o600 });
    args.push('-c', file);
  }
  args.push('-p', '-1', '-a', '127.0.0.1', '--ports_file_dir', dir);
  if (opts.jetstream) args.push('-js', '--store_dir', join(dir, 'store'));
  args.push(...opts.args);

  // Under setpriv --pdeathsig the server dies with the test process even when
  // that is SIGKILLed (a hung test killed by a timeout), instead of lingering.
  // setpriv execs the server, so the pid (and the ports file's name) is its own.
  const child = hasSetpriv()
    ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', binary, ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-STDERR_KEEP);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });

  const cleanup = async (): Promise<void> => {
    await rm(dir, { recursive: true, force: true });
  };

  let url: string;
  try {
    url = await waitForPortsFile(child, dir, opts.startTimeoutMs, () => stderr);
  } catch (err) {
    await terminate(child, exited);
    await cleanup();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      await terminate(child, exited);
      await cleanup();
    })();
    return stopping;
  };
  return {
    url,
    port: Number(new URL(url.replace(/^nats:/, 'http:')).port),
    runtime: 'process',
    pid: child.pid,
    stderr: () => stderr,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Resolves with the client URL from `nats-server_<pid>.ports` in `dir`. The server
 * writes that file once its listeners are up, so it is the readiness signal. The
 * wait is raced against the process exiting (or failing to spawn) and a deadline.
 */
export function waitForPortsFile(
  child: ChildProcess,
  dir: string,
  timeoutMs: number,
  stderr: () => string,
): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let done = false;
    let watcher: FSWatcher | undefined;
    // fs.watch can miss the create on some filesystems; a light poll backs it up.
    const poll = setInterval(() => void check(), 25);
    const deadline = setTimeout(() => {
      finish(
        new NatsServerStartError(`nats-server wrote no ports file within ${timeoutMs} ms\n${stderr()}`, {
          stderr: stderr(),
        }),
      );
    }, timeoutMs);

    const finish = (result: string | Error): void => {
      if (done) return;
      done = true;
      clearInterval(poll);
      clearTimeout(deadline);
      watcher?.close();
      child.off('exit', onExit);
      child.off('error', onError);
      if (typeof result === 'string') resolve(result);
      else reject(result);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      const how = signal === null ? `code ${code}` : `signal ${signal}`;
      finish(
        new NatsServerStartError(`nats-server exited (${how}) before it was ready:\n${stderr()}`, {
          stderr: stderr(),
          exitCode: code,
        }),
      );
    };
    const onError = (err: Error): void => {
      finish(
        new NatsServerStartError(
          `cannot run nats-server (${err.message}); install the Debian package "${NATS_SERVER_PACKAGE}"`,
          { stderr: stderr() },
          { cause: err },
        ),
      );
    };
    const check = async (): Promise<void> => {
      if (done || child.pid === undefined) return;
      let text: string;
      try {
        text = await readFile(join(dir, `nats-server_${child.pid}.ports`), 'utf8');
      } catch {
        return; // not written yet
      }
      const url = parsePortsFile(text);
      if (url !== undefined) finish(url);
      // otherwise half-written: the next event or poll reads it again
    };

    child.once('exit', onExit);
    child.once('error', onError);
    try {
      watcher = watch(dir, () => void check());
      watcher.on('error', () => undefined);
    } catch {
      watcher = undefined; // the poll still runs
    }
    void check();
  });
}

/** The first client URL in a ports file (`{"nats":["nats://127.0.0.1:4222"],...}`), or undefined. */
export function parsePortsFile(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const nats: unknown = (value as Record<string, unknown>).nats;
  if (!Array.isArray(nats)) return undefined;
  const first: unknown = nats[0];
  return typeof first === 'string' && /^(?:nats|tls):\/\//.test(first) ? first : undefined;
}

// --- container runtime (testcontainers, loaded only when selected) ---------

interface StartedContainerLike {
  getHost(): string;
  getMappedPort(port: number): number;
  stop(): Promise<unknown>;
}
interface GenericContainerLike {
  withCommand(cmd: string[]): GenericContainerLike;
  withExposedPorts(...ports: number[]): GenericContainerLike;
  withWaitStrategy(strategy: unknown): GenericContainerLike;
  start(): Promise<StartedContainerLike>;
}
interface TestcontainersModule {
  GenericContainer: new (image: string) => GenericContainerLike;
  Wait: { forLogMessage(message: string | RegExp): unknown };
}

function isTestcontainersModule(value: unknown): value is TestcontainersModule {
  if (typeof value !== 'object' || value === null) return false;
  const mod = value as Record<string, unknown>;
  const wait = mod.Wait as Record<string, unknown> | undefined;
  return typeof mod.GenericContainer === 'function' && typeof wait?.forLogMessage === 'function';
}

/** The image matches the Debian server version the process runtime uses. */
const NATS_IMAGE = 'nats:2.9.10';

async function startContainer(opts: ResolvedOptions): Promise<NatsServerHandle> {
  // Loaded here, only when selected: importing testcontainers takes about a second.
  let mod: unknown;
  try {
    mod = await import('testcontainers');
  } catch (err) {
    throw new NatsServerStartError(
      `a Docker engine is reachable but the "testcontainers" package did not load (npm ci installs it), ` +
        `or install the Debian package "${NATS_SERVER_PACKAGE}"`,
      {},
      { cause: err },
    );
  }
  if (!isTestcontainersModule(mod)) {
    throw new NatsServerStartError('the "testcontainers" package does not export GenericContainer/Wait', {});
  }
  if (opts.config !== undefined) {
    throw new NatsServerStartError('a configuration file (`config`) needs the local nats-server binary', {});
  }
  const command = opts.jetstream ? ['-js', ...opts.args] : [...opts.args];
  let started: StartedContainerLike;
  try {
    started = await new mod.GenericContainer(NATS_IMAGE)
      .withCommand(command)
      .withExposedPorts(4222)
      .withWaitStrategy(mod.Wait.forLogMessage(/Server is ready/))
      .start();
  } catch (err) {
    throw new NatsServerStartError(`nats container did not start: ${String(err)}`, {}, { cause: err });
  }
  const port = started.getMappedPort(4222);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= started.stop().then(() => undefined);
    return stopping;
  };
  return {
    url: `nats://${started.getHost()}:${port}`,
    port,
    runtime: 'container',
    pid: undefined,
    stderr: () => '',
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
