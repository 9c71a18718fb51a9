/**
 * Falco's program output: `program` runs through `sh -c`. Without
 * `keep_alive` one process per alert gets the alert line on its stdin and
 * must exit 0; with `keep_alive` one process stays up and gets one alert per
 * line, and is started again when it dies.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Writable } from 'node:stream';
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { retryable } from '../errors.js';
import type { Output } from './output.js';

export interface ProgramOutputOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  readonly program: string;
  readonly keepAlive: boolean;
  /** A one-shot program that runs longer than this is killed and the delivery retried. Default 30 s. */
  readonly timeoutMs?: number;
}

export class ProgramOutput implements Output {
  readonly name: string;
  readonly #o: ProgramOutputOptions;
  #child: ChildProcessByStdio<Writable, null, null> | undefined;
  #exited: Promise<void> | undefined;
  #chain: Promise<void> = Promise.resolve();

  constructor(o: ProgramOutputOptions) {
    this.name = o.name ?? 'program';
    this.#o = o;
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    // Alert text may hold newlines only in text mode's output; one alert must stay one line.
    const line = `${alertLine(alert, raw, this.#o.format).replace(/[\r\n]/g, ' ')}\n`;
    if (!this.#o.keepAlive) return this.#runOnce(line);
    const run = this.#chain.then(() => this.#writeKept(line));
    this.#chain = run.catch(() => undefined);
    return run;
  }

  #runOnce(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', this.#o.program], { stdio: ['pipe', 'ignore', 'inherit'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), this.#o.timeoutMs ?? 30_000);
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(retryable(this.name, `cannot run ${this.#o.program}: ${err.message}`, err));
      });
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        if (code === 0) resolve();
        else reject(retryable(this.name, `program exited with ${sig ?? `code ${code}`}`));
      });
      child.stdin.on('error', () => undefined);
      child.stdin.end(line);
    });
  }

  #ensureChild(): ChildProcessByStdio<Writable, null, null> {
    if (this.#child) return this.#child;
    const child = spawn('/bin/sh', ['-c', this.#o.program], { stdio: ['pipe', 'inherit', 'inherit'] });
    child.stdin.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      child.on('close', () => resolve());
      child.on('error', () => resolve());
    });
    void this.#exited.then(() => {
      if (this.#child === child) this.#child = undefined;
    });
    this.#child = child;
    return child;
  }

  /**
   * Written into the pipe = delivered: that is all Falco promises too. A
   * write to a process that has died fails, and the next alert starts it again.
   */
  async #writeKept(line: string): Promise<void> {
    const child = this.#ensureChild();
    if (child.exitCode !== null || child.signalCode !== null || child.stdin.destroyed) {
      this.#child = undefined;
      throw retryable(this.name, 'program is not running; it is started again for the next attempt');
    }
    await new Promise<void>((resolve, reject) => {
      const ok = child.stdin.write(line, (err) => {
        if (err) {
          if (this.#child === child) this.#child = undefined;
          reject(retryable(this.name, `write to program failed: ${err.message}`, err));
        } else if (ok) resolve();
      });
      if (!ok) child.stdin.once('drain', resolve);
    });
  }

  async close(): Promise<void> {
    await this.#chain;
    const child = this.#child;
    this.#child = undefined;
    if (child) {
      child.stdin.end();
      const exited = this.#exited ?? Promise.resolve();
      const timer = setTimeout(() => child.kill('SIGTERM'), 5000);
      await exited;
      clearTimeout(timer);
    }
  }
}
