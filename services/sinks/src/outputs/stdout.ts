/** Falco's stdout output: one line per alert (JSON or text, per `json_output`). */
import type { Writable } from 'node:stream';
import type { FalcoAlert } from '@saker/rules';
import { type AlertFormat, alertLine } from '../alert.js';
import { retryable } from '../errors.js';
import type { Output } from './output.js';

export interface StdoutOutputOptions {
  readonly name?: string;
  readonly format: AlertFormat;
  /** Default process.stdout. */
  readonly stream?: Writable;
}

/** Resolves once the line is handed to the stream (and the stream drained, when it pushes back). */
function writeLine(stream: Writable, line: string, output: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(`${line}\n`, (err) => {
      if (err) reject(retryable(output, `write failed: ${err.message}`, err));
      else if (ok) resolve();
    });
    if (!ok) stream.once('drain', resolve);
  });
}

export class StdoutOutput implements Output {
  readonly name: string;
  readonly #format: AlertFormat;
  readonly #stream: Writable;

  constructor(o: StdoutOutputOptions) {
    this.name = o.name ?? 'stdout';
    this.#format = o.format;
    this.#stream = o.stream ?? process.stdout;
  }

  deliver(alert: FalcoAlert, raw: string): Promise<void> {
    return writeLine(this.#stream, alertLine(alert, raw, this.#format), this.name);
  }

  async close(): Promise<void> {}
}
