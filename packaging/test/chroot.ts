/** Test helpers: a throwaway copy of the cached Debian root, and commands run in it. */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureDebianRoot } from '../src/debian-root.js';

export interface TestRoot {
  readonly dir: string;
  /** Runs a command in the root (chroot, a minimal PATH, no host environment); returns stdout. */
  run(args: readonly string[], input?: string): string;
  [Symbol.dispose](): void;
}

export const ROOT_ENV = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LANG: 'C.UTF-8',
};

/** A copy of the cached debootstrap root in a temporary folder (cp -a, a couple of seconds). */
export function freshDebianRoot(): TestRoot {
  const base = ensureDebianRoot();
  const tmp = mkdtempSync(join(tmpdir(), 'saker-pkg-'));
  const dir = join(tmp, 'root');
  execFileSync('cp', ['-a', base, dir]);
  return {
    dir,
    run: (args, input) =>
      execFileSync('chroot', [dir, ...args], {
        encoding: 'utf8',
        env: ROOT_ENV,
        input,
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        timeout: 60_000,
      }),
    [Symbol.dispose]: () => rmSync(tmp, { recursive: true, force: true }),
  };
}

export interface Watched {
  readonly child: ChildProcess;
  /** stdout and stderr so far. */
  output(): string;
  /** Resolves when the output matches, rejects after timeoutMs or if the process exits first. */
  waitFor(re: RegExp, timeoutMs: number): Promise<string>;
  /** SIGINT, then the exit code (SIGKILL after 20 s). */
  stop(): Promise<number | null>;
}

/** Spawns a long-running command and watches its output. */
export function watch(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv = ROOT_ENV): Watched {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (b: Buffer): void => {
    out += b.toString('utf8');
    for (const l of listeners) l();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    output: () => out,
    waitFor: (re, timeoutMs) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          const m = re.exec(out);
          if (m !== null) {
            done();
            resolve(m[0]);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no ${re} within ${timeoutMs} ms; output:\n${out}`));
        }, timeoutMs);
        const onExit = (): void => {
          setImmediate(() => {
            if (!listeners.has(check)) return;
            done();
            reject(new Error(`exited before ${re}; output:\n${out}`));
          });
        };
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.on('exit', onExit);
        check();
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
