/**
 * A real server process for a test: started in the foreground, tied to the
 * test's life (setpriv --pdeathsig KILL, so it dies with the test process),
 * its output kept for errors, and readiness awaited on a condition raced
 * against the process exiting and a deadline.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { constants, accessSync, rmSync } from 'node:fs';
import { createServer as createTcpServer } from 'node:net';

const OUTPUT_KEEP = 16 * 1024;

/** The server could not be started: binary missing, bad config, or not ready in time. */
export class DaemonStartError extends Error {
  override readonly name: string = 'DaemonStartError';
  /** What the server wrote before it gave up (the tail). */
  readonly output: string;
  readonly exitCode: number | null;

  constructor(
    message: string,
    fields: { output?: string; exitCode?: number | null },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.output = fields.output ?? '';
    this.exitCode = fields.exitCode ?? null;
  }
}

export interface DaemonSpec {
  /** What it is, for errors ("postfix master"). */
  readonly what: string;
  /** The Debian package that provides `binary`; named when it is missing. */
  readonly debianPackage: string;
  readonly binary: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

export interface Daemon {
  readonly pid: number | undefined;
  /** stdout and stderr so far, interleaved (the tail, when long). */
  output(): string;
  /** Whether the process has exited. */
  exited(): boolean;
  /** Resolves when `ready()` holds; rejects when the process exits first or after `timeoutMs`. */
  waitReady(ready: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s; resolves once it has exited. Idempotent. */
  stop(): Promise<void>;
}

let setprivKnown: boolean | undefined;
/** util-linux's setpriv (Debian: always installed) when it knows --pdeathsig; asked once, on first use. */
export function hasSetpriv(): boolean {
  if (setprivKnown === undefined) {
    const r = spawnSync('setpriv', ['--help'], { encoding: 'utf8' });
    setprivKnown = r.status === 0 && r.stdout.includes('--pdeathsig');
  }
  return setprivKnown;
}

/** Sends SIGTERM, then SIGKILL after 5 s, and waits for `exited`. */
export async function terminate(
  child: ChildProcess,
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

/** Starts `spec` in the foreground, tied to this process's life. */
export function startDaemon(spec: DaemonSpec): Daemon {
  try {
    accessSync(spec.binary, constants.X_OK);
  } catch (err) {
    throw new DaemonStartError(
      `cannot run ${spec.what} at ${spec.binary}: install the Debian package "${spec.debianPackage}" (scripts/setup.sh does)`,
      {},
      { cause: err },
    );
  }
  const options = {
    stdio: ['ignore', 'pipe', 'pipe'] as ['ignore', 'pipe', 'pipe'],
    env: spec.env,
    cwd: spec.cwd,
  };
  const child = hasSetpriv()
    ? spawn('setpriv', ['--pdeathsig', 'KILL', '--', spec.binary, ...spec.args], options)
    : spawn(spec.binary, [...spec.args], options);
  let out = '';
  const keep = (chunk: string): void => {
    out = (out + chunk).slice(-OUTPUT_KEEP);
  };
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', keep);
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', keep);
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    });
    child.once('error', (err) => {
      keep(`spawn error: ${err.message}\n`);
      exit = { code: null, signal: null };
      resolve(exit);
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    pid: child.pid,
    output: () => out,
    exited: () => exit !== undefined,
    waitReady: async (ready, timeoutMs) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (exit !== undefined) {
          const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
          throw new DaemonStartError(`${spec.what} exited (${how}) before it was ready:\n${out}`, {
            output: out,
            exitCode: exit.code,
          });
        }
        if (await ready()) return;
        if (Date.now() > deadline) {
          throw new DaemonStartError(`${spec.what} was not ready within ${timeoutMs} ms:\n${out}`, {
            output: out,
          });
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    stop: () => {
      stopping ??= terminate(child, exited);
      return stopping;
    },
  };
}

/**
 * Starts `spec` for a server kept in `dir` and waits until it is `ready`.
 * When either fails it stops the daemon, removes `dir` and rethrows (a
 * DaemonStartError carries what the daemon wrote).
 */
export async function startInDir(
  dir: string,
  spec: DaemonSpec,
  ready: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<Daemon> {
  let daemon: Daemon | undefined;
  try {
    daemon = startDaemon(spec);
    await daemon.waitReady(ready, timeoutMs);
    return daemon;
  } catch (err) {
    await daemon?.stop();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** An idempotent stop: the daemon, then its temp dir. */
export function stopAndRemove(daemon: Daemon, dir: string): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => {
    stopping ??= (async () => {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    })();
    return stopping;
  };
}

/**
 * A loopback port that was free a moment ago, for servers that cannot bind
 * port 0 and report it (postfix, rsyslog's imudp). The callers retry on the
 * rare race with another process taking it.
 */
export async function freeLoopbackPort(kind: 'tcp' | 'udp'): Promise<number> {
  if (kind === 'tcp') {
    const server = createTcpServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    await new Promise((r) => server.close(r));
    if (address === null || typeof address === 'string') throw new Error('no TCP port from the kernel');
    return address.port;
  }
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(0, '127.0.0.1', () => resolve());
  });
  const { port } = sock.address();
  await new Promise<void>((r) => sock.close(() => r()));
  return port;
}
