/**
 * Falco's file output. `keep_alive: false` (Falco's default) opens, appends
 * and closes the file for every alert; `keep_alive: true` keeps it open, and
 * `reopen()` (SIGUSR1, as for Falco) reopens it after a log rotation.
 */
import { type FileHandle, open } from 'node:fs/promises';
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { permanent, retryable } from '../errors.js';
import type { Output } from './output.js';

export interface FileOutputOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  readonly filename: string;
  readonly keepAlive: boolean;
}

export class FileOutput implements Output {
  readonly name: string;
  readonly #o: FileOutputOptions;
  #handle: FileHandle | undefined;
  /** Serialises writes and reopens so lines never interleave. */
  #chain: Promise<void> = Promise.resolve();

  constructor(o: FileOutputOptions) {
    this.name = o.name ?? 'file';
    this.#o = o;
  }

  #serial<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task);
    this.#chain = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    const line = `${alertLine(alert, raw, this.#o.format)}\n`;
    return this.#serial(() => this.#append(line));
  }

  async #append(line: string): Promise<void> {
    try {
      if (this.#o.keepAlive) {
        this.#handle ??= await open(this.#o.filename, 'a');
        await this.#handle.appendFile(line);
        return;
      }
      const h = await open(this.#o.filename, 'a');
      try {
        await h.appendFile(line);
      } finally {
        await h.close();
      }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // A directory, or a path that can never be a file, does not heal by waiting.
      if (code === 'EISDIR' || code === 'ENAMETOOLONG') {
        throw permanent(this.name, `cannot write ${this.#o.filename}: ${String(err)}`, err);
      }
      await this.#closeHandle();
      throw retryable(this.name, `cannot write ${this.#o.filename}: ${String(err)}`, err);
    }
  }

  async #closeHandle(): Promise<void> {
    const h = this.#handle;
    this.#handle = undefined;
    await h?.close().catch(() => undefined);
  }

  /** Closes the file; the next alert opens it again by name (after logrotate moved it). */
  reopen(): Promise<void> {
    return this.#serial(() => this.#closeHandle());
  }

  close(): Promise<void> {
    return this.#serial(() => this.#closeHandle());
  }
}
