/**
 * Sinks replicas for the benchmark: N processes of the real standalone
 * service (`dist/src/main.js --config saker.yaml --nats URL`), all running
 * the same output from the same saker.yaml, so they share its durable
 * consumer on SAKER_ALERTS as replicas of a Deployment do. Each serves
 * /metrics on a free port, where the bench reads its share.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

export interface Replica {
  readonly pid: number;
  readonly metricsUrl: string;
  /** A counter of this replica's /metrics, summed over its label sets (0 when absent). */
  counter(name: string, output: string): Promise<number>;
}

export class Replicas implements AsyncDisposable {
  readonly list: readonly Replica[];
  readonly #procs: readonly ChildProcess[];

  private constructor(list: Replica[], procs: ChildProcess[]) {
    this.list = list;
    this.#procs = procs;
  }

  /** Starts `n` replicas at once; resolves when every one said it is ready (its consumer is up). */
  static async start(n: number, configFile: string, natsUrl: string, profileDir?: string): Promise<Replicas> {
    const procs: ChildProcess[] = [];
    const ready: Promise<Replica>[] = [];
    for (let i = 0; i < n; i++) {
      const prof = profileDir
        ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=sinks-replica-${i}.cpuprofile`]
        : [];
      const proc = spawn(
        process.execPath,
        [...prof, MAIN, '--config', configFile, '--nats', natsUrl, '--metrics-listen', '127.0.0.1:0'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      procs.push(proc);
      ready.push(readyLine(proc, i));
    }
    try {
      return new Replicas(await Promise.all(ready), procs);
    } catch (err) {
      for (const p of procs) p.kill('SIGKILL');
      throw err;
    }
  }

  /** SIGTERM (a graceful stop: deliveries in progress settle, acks are flushed), then waits for exit. */
  async stop(): Promise<void> {
    await Promise.all(
      this.#procs.map(async (p) => {
        if (p.exitCode !== null || p.signalCode !== null) return;
        const exited = new Promise((r) => p.once('exit', r));
        p.kill('SIGTERM');
        const timer = setTimeout(() => p.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function readyLine(proc: ChildProcess, i: number): Promise<Replica> {
  return new Promise((resolve, reject) => {
    let err = '';
    const onExit = (code: number | null): void =>
      reject(new Error(`sinks replica ${i} exited (${code}) before it was ready: ${err.trim()}`));
    proc.once('exit', onExit);
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (chunk: string) => {
      err += chunk;
      const m = /sinks ready .* metrics=(\S+)/.exec(err);
      if (m?.[1] === undefined || proc.pid === undefined) return;
      proc.off('exit', onExit);
      const metricsUrl = m[1];
      // The rest of its stderr (warnings) goes to the bench's.
      proc.stderr?.removeAllListeners('data');
      proc.stderr?.on('data', (c: string) => process.stderr.write(`replica ${i}: ${c}`));
      resolve({ pid: proc.pid, metricsUrl, counter: (name, output) => counter(metricsUrl, name, output) });
    });
  });
}

async function counter(metricsUrl: string, name: string, output: string): Promise<number> {
  const text = await (await fetch(new URL('/metrics', metricsUrl))).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) || !line.includes(`output="${output}"`)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}
