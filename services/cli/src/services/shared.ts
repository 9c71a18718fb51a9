/** Pieces the service modules share: the CLI's Io for the rules loader, PEM files named by key. */
import { readFileSync } from 'node:fs';
import type { SakerConfig } from '@saker/config';
import { type LogLevel, OptionError, type ServiceContext } from '@saker/runtime';
import type { Io } from '../io.js';

export type Ctx = ServiceContext<SakerConfig>;

/** An Io whose error text goes to the service's logger at `level` (the rules loader reports through it). */
export function loggerIo(ctx: Ctx, level: LogLevel = 'error'): Io {
  return {
    out: ctx.out,
    err: (text) => {
      for (const line of text.trimEnd().split('\n')) ctx.logger.log(level, line.replace(/^saker: /, ''));
    },
  };
}

/** Reads a file a configuration key names; an OptionError naming the key otherwise. */
export function readKeyFile(key: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new OptionError(key, `cannot read ${file}: ${reason}`, undefined, { cause: err });
  }
}

/** Whether this process may load eBPF programs. */
export function isRoot(): boolean {
  return typeof process.getuid !== 'function' || process.getuid() === 0;
}
