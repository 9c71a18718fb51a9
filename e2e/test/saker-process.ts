/** A `saker <command>` child process of an end-to-end test, its stderr kept for waits and failure messages. */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '@saker/testing';

const CLI = join(repoRoot(), 'services', 'cli', 'dist', 'src', 'main.js');

export class SakerProcess {
  readonly child: ChildProcess;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly what: string,
    args: readonly string[],
    env: Record<string, string> = {},
  ) {
    this.child = spawn(process.execPath, [CLI, ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, ...env },
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** The first match of `re` in stderr; fails if the process exits or `timeoutMs` passes first. */
  async waitFor(re: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.stderr);
      if (m) return m;
      if (this.child.exitCode !== null)
        assert.fail(`${this.what} exited (${this.child.exitCode}):\n${this.stderr}`);
      if (Date.now() > deadline) assert.fail(`${this.what}: no ${re} in ${timeoutMs} ms:\n${this.stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** SIGTERM (if still running), then the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** The alerts a file output wrote (JSON lines), once there are `n`, sorted for comparison. */
export async function alertsIn(file: string, n: number, timeoutMs = 30_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const lines = existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((l) => l !== '')
      : [];
    if (lines.length >= n) return lines.sort();
    if (Date.now() > deadline) assert.fail(`${file}: ${lines.length} alerts of ${n} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
