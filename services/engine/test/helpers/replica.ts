/**
 * An engine replica as a child process (`node dist/src/main.js`), the way a
 * Deployment runs it, plus a collector of the replicas' stats reports.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Bus, SUBJECTS, type Subscription } from '@saker/bus';
import { type EngineStats, decodeEngineStats } from '../../src/stats.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'main.js');

export interface Replica extends AsyncDisposable {
  readonly name: string;
  readonly pid: number;
  readonly metricsUrl: string;
  /** Everything the replica wrote on stderr so far. */
  stderr(): string;
  /** SIGTERM, then waits for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export async function startReplica(options: {
  nats: string;
  name: string;
  rules: readonly string[];
  extraArgs?: readonly string[];
  /** Node's own flags, before the script (e.g. `--cpu-prof`). */
  nodeArgs?: readonly string[];
  /** The engine's main.js to run; default this build's. */
  main?: string;
}): Promise<Replica> {
  const args = [
    ...(options.nodeArgs ?? []),
    options.main ?? MAIN,
    '--nats',
    options.nats,
    '--name',
    options.name,
    '--metrics-port',
    '0',
  ];
  for (const r of options.rules) args.push('--rules', r);
  args.push(...(options.extraArgs ?? []));
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => {
    stderr = (stderr + c).slice(-20_000);
  });
  const exited = once(child, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`replica ${options.name} not ready in 15 s:\n${stderr}`)),
      15_000,
    );
    child.stdout?.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      const line = stdout.split('\n').find((l) => l.startsWith('engine ready'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    void exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`replica ${options.name} exited (${code ?? signal}) before ready:\n${stderr}`));
    });
  });
  const metricsUrl = /metrics=(\S+)/.exec(ready)?.[1];
  if (metricsUrl === undefined) throw new Error(`no metrics url in ${JSON.stringify(ready)}`);
  const pid = child.pid ?? -1;
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return (await exited).code;
  };
  return {
    name: options.name,
    pid,
    metricsUrl,
    stderr: () => stderr,
    stop,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
    exited,
    [Symbol.asyncDispose]: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The latest stats report of every replica, from `saker.v1.engine.stats.*`. */
export class StatsCollector implements AsyncDisposable {
  readonly latest = new Map<string, EngineStats>();
  readonly #sub: Subscription;
  readonly #waiters = new Set<() => void>();

  constructor(bus: Bus) {
    const sub = bus.subscribe(SUBJECTS.allEngineStats);
    this.#sub = sub;
    void (async () => {
      for await (const msg of sub) {
        const s = decodeEngineStats(msg.data);
        const prev = this.latest.get(s.replica);
        if (prev === undefined || prev.seq < s.seq) this.latest.set(s.replica, s);
        for (const w of this.#waiters) w();
      }
    })();
  }

  get(name: string): EngineStats {
    const s = this.latest.get(name);
    if (s === undefined) throw new Error(`no stats from ${name}`);
    return s;
  }

  /** Resolves once `check` holds for the reports seen so far; fails after `timeoutMs` saying `what`. */
  async until(
    what: string,
    check: (latest: ReadonlyMap<string, EngineStats>) => boolean,
    timeoutMs = 30_000,
  ): Promise<void> {
    if (check(this.latest)) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(`timed out waiting for ${what}; stats: ${JSON.stringify([...this.latest.values()])}`),
        );
      }, timeoutMs);
      const waiter = (): void => {
        if (!check(this.latest)) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve();
      };
      this.#waiters.add(waiter);
    });
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.#sub.unsubscribe();
    return Promise.resolve();
  }
}

/** Sums a stats field over the replicas named. */
export function sum(
  stats: ReadonlyMap<string, EngineStats>,
  names: readonly string[],
  field: 'received' | 'evaluated' | 'inFlight' | 'invalid' | 'dropped',
): number {
  let n = 0;
  for (const name of names) n += stats.get(name)?.[field] ?? 0;
  return n;
}
