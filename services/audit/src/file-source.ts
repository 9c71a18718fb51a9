/**
 * Tails the API server's JSON log backend (`--audit-log-path`, one Event per
 * line) and hands the events to the bus, keeping a checkpoint so that a
 * restart neither loses nor repeats a line.
 *
 * - The checkpoint names the file by device + inode and the offset just past
 *   the last line handed off. It moves only after the hand-off is confirmed.
 * - Rotation by rename (the API server's own rotation, logrotate's default):
 *   the path's inode changes. The old file, still open, is read to its end
 *   (last unterminated line included) before the new one is opened at 0. On
 *   a restart after a rotation, the checkpointed inode is looked for among
 *   the files beside the log, so the rest of the old file is not lost.
 * - Rotation by copytruncate: the file shrinks below the offset; reading
 *   starts again at 0. Lines written between logrotate's copy and its
 *   truncate are lost, by the nature of copytruncate, and so is a truncation
 *   followed by more than `offset` bytes of new lines within one poll
 *   interval (it cannot be seen). Prefer rename rotation.
 */
import { type FileHandle, open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseJsonBounded } from '@saker/events';
import type { LogFn } from '@saker/runtime';
import { type Checkpoint, readCheckpoint, writeCheckpoint } from './checkpoint.js';
import { checkAuditEvent, countLenient } from './decode.js';
import { encodeAuditLine } from './encode.js';
import type { AuditHandoff } from './handoff.js';
import type { AuditMetrics } from './metrics.js';

export interface ResolvedFileSourceOptions {
  /** The audit log (`--audit-log-path`). */
  readonly path: string;
  /** Where the position is kept. */
  readonly checkpointFile: string;
  readonly pollIntervalMs: number;
  /** With no checkpoint: read the file from its beginning, or only what is written from now on. */
  readonly startAt: 'beginning' | 'end';
  /** A longer line is skipped and counted. */
  readonly maxLineBytes: number;
  /** Events per hand-off (and per checkpoint write). */
  readonly maxBatchEvents: number;
  /** Goes into each event's `hostname`. */
  readonly hostname: string;
}

interface Deps {
  readonly handoff: AuditHandoff;
  readonly metrics: AuditMetrics;
  readonly log: LogFn;
}

interface OpenFile {
  readonly fh: FileHandle;
  readonly name: string;
  readonly dev: string;
  readonly ino: string;
  offset: number;
}

const NL = 0x0a;
const MAX_BACKOFF_MS = 5000;

async function openFile(name: string): Promise<OpenFile | undefined> {
  let fh: FileHandle;
  try {
    fh = await open(name, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const s = await fh.stat({ bigint: true });
  return { fh, name, dev: String(s.dev), ino: String(s.ino), offset: 0 };
}

/** The identity of whatever is at `name` now, or undefined when nothing is. */
async function identity(name: string): Promise<{ dev: string; ino: string } | undefined> {
  try {
    const s = await stat(name, { bigint: true });
    return { dev: String(s.dev), ino: String(s.ino) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** A file beside `path` whose identity is the checkpoint's: where the log went when it was rotated. */
async function findRotated(path: string, cp: Checkpoint): Promise<string | undefined> {
  const dir = dirname(path);
  const stem = basename(path).replace(/\.[^.]*$/, '');
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const n of names) {
    if (!n.startsWith(stem)) continue;
    const id = await identity(join(dir, n));
    if (id?.dev === cp.dev && id.ino === cp.ino) return join(dir, n);
  }
  return undefined;
}

/** Follows one audit log until `signal` aborts. */
export class AuditFileSource {
  readonly #o: ResolvedFileSourceOptions;
  readonly #d: Deps;
  /** The read buffer, one line long at least; allocated on first use. */
  #buf: Buffer | undefined;

  constructor(options: ResolvedFileSourceOptions, deps: Deps) {
    this.#o = options;
    this.#d = deps;
  }

  /** Runs until `signal` aborts; what was handed off is checkpointed. Throws only on I/O it cannot go on without. */
  async run(signal: AbortSignal): Promise<void> {
    const o = this.#o;
    let cur = await this.#resume(signal);
    try {
      while (!signal.aborted) {
        if (cur === undefined) {
          cur = await openFile(o.path);
          if (cur !== undefined) await this.#save(cur);
        }
        if (cur !== undefined) {
          if (!(await this.#drain(cur, false, signal))) break;
          const now = await identity(o.path);
          if (now === undefined || now.ino !== cur.ino || now.dev !== cur.dev) {
            if (now === undefined) {
              // Renamed away, the new file not there yet: keep reading the old one.
            } else {
              // Rotated by rename: finish the old file, then start the new one.
              if (!(await this.#drain(cur, true, signal))) break;
              await cur.fh.close();
              this.#d.metrics.fileRotations.inc({ kind: 'rename' });
              this.#d.log('info', `file: ${o.path} rotated (rename); following the new file`);
              cur = await openFile(o.path);
              if (cur !== undefined) await this.#save(cur);
              continue;
            }
          } else {
            const size = Number((await cur.fh.stat()).size);
            if (size < cur.offset) {
              this.#d.metrics.fileRotations.inc({ kind: 'truncate' });
              this.#d.log('info', `file: ${o.path} truncated (copytruncate); reading from its start`);
              cur.offset = 0;
              await this.#save(cur);
              continue;
            }
          }
        }
        await sleep(o.pollIntervalMs, undefined, { signal }).catch(() => undefined);
      }
    } finally {
      await cur?.fh.close().catch(() => undefined);
    }
  }

  /** Opens where the checkpoint says, finishing a file rotated while Saker was not running. */
  async #resume(signal: AbortSignal): Promise<OpenFile | undefined> {
    const o = this.#o;
    const cp = await readCheckpoint(o.checkpointFile);
    const cur = await openFile(o.path);
    if (cp === undefined) {
      if (cur !== undefined && o.startAt === 'end') cur.offset = Number((await cur.fh.stat()).size);
      if (cur !== undefined) await this.#save(cur);
      return cur;
    }
    if (cur !== undefined && cur.dev === cp.dev && cur.ino === cp.ino) {
      const size = Number((await cur.fh.stat()).size);
      cur.offset = cp.offset <= size ? cp.offset : 0;
      if (cp.offset > size) this.#d.metrics.fileRotations.inc({ kind: 'truncate' });
      return cur;
    }
    const rotated = await findRotated(o.path, cp);
    if (rotated === undefined) {
      this.#d.log(
        'warn',
        `file: the file of the checkpoint (dev ${cp.dev}, inode ${cp.ino}) is gone; lines it held after byte ${cp.offset} were not read`,
      );
    } else {
      const old = await openFile(rotated);
      if (old !== undefined) {
        old.offset = cp.offset;
        this.#d.log('info', `file: finishing ${rotated} (rotated while stopped) from byte ${cp.offset}`);
        const finished = await this.#drain(old, true, signal);
        await old.fh.close();
        if (!finished) {
          await cur?.fh.close();
          return undefined;
        }
        this.#d.metrics.fileRotations.inc({ kind: 'rename' });
      }
    }
    if (cur !== undefined) await this.#save(cur);
    return cur;
  }

  async #save(f: OpenFile): Promise<void> {
    await writeCheckpoint(this.#o.checkpointFile, { dev: f.dev, ino: f.ino, offset: f.offset });
  }

  /**
   * Hands off every whole line from `f.offset` to the end of the file, and the
   * last unterminated one too when `final`. False when `signal` aborted first.
   */
  async #drain(f: OpenFile, final: boolean, signal: AbortSignal): Promise<boolean> {
    const o = this.#o;
    this.#buf ??= Buffer.allocUnsafe(Math.max(o.maxLineBytes + 1, 64 * 1024));
    const buf = this.#buf;
    for (;;) {
      if (signal.aborted) return false;
      const { bytesRead } = await f.fh.read(buf, 0, buf.length, f.offset);
      if (bytesRead === 0) return true;
      const lastNl = buf.lastIndexOf(NL, bytesRead - 1);
      let end: number;
      if (lastNl >= 0) {
        end = lastNl + 1;
      } else if (bytesRead > o.maxLineBytes) {
        // One line longer than the limit: skip to its end, when it has one.
        if ((await this.#skipLongLine(f, buf)) === undefined) return true;
        continue;
      } else if (final) {
        end = bytesRead;
      } else {
        return true; // only the start of a line so far
      }
      if (!(await this.#handLines(f, buf.subarray(0, end), signal))) return false;
      this.#d.metrics.fileBytes.inc(undefined, end);
    }
  }

  /** Moves `f.offset` past a line longer than maxLineBytes; undefined when its end is not written yet. */
  async #skipLongLine(f: OpenFile, buf: Buffer): Promise<number | undefined> {
    let pos = f.offset;
    for (;;) {
      const { bytesRead } = await f.fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) return undefined;
      const nl = buf.indexOf(NL);
      if (nl >= 0 && nl < bytesRead) {
        const skippedTo = pos + nl + 1;
        this.#d.metrics.eventsRejected.inc({ input: 'file', reason: 'oversized' });
        this.#d.log(
          'warn',
          `file: ${f.name} at byte ${f.offset}: line of ${skippedTo - f.offset} bytes exceeds ${this.#o.maxLineBytes}; skipped`,
        );
        f.offset = skippedTo;
        await this.#save(f);
        return skippedTo;
      }
      pos += bytesRead;
    }
  }

  /** Parses the lines of `chunk` (which starts at f.offset), hands them off in batches, checkpointing each. */
  async #handLines(f: OpenFile, chunk: Buffer, signal: AbortSignal): Promise<boolean> {
    const o = this.#o;
    let batch: string[] = [];
    let start = 0;
    let batchEnd = 0;
    const flush = async (): Promise<boolean> => {
      if (!(await this.#handOff(batch, signal))) return false;
      f.offset += batchEnd;
      chunk = chunk.subarray(batchEnd);
      start -= batchEnd;
      batchEnd = 0;
      batch = [];
      await this.#save(f);
      return true;
    };
    while (start < chunk.length) {
      let nl = chunk.indexOf(NL, start);
      if (nl < 0) nl = chunk.length;
      const lineStart = start;
      start = nl + 1;
      let line = chunk.subarray(lineStart, nl);
      if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
      batchEnd = Math.min(start, chunk.length);
      if (line.length === 0) continue;
      const where = `${f.name} at byte ${f.offset + lineStart}`;
      const text = line.toString('utf8');
      let value: unknown;
      try {
        value = parseJsonBounded(text);
      } catch (err) {
        this.#d.metrics.eventsRejected.inc({ input: 'file', reason: 'not_json' });
        this.#d.log('warn', `file: ${where}: not JSON: ${(err as Error).message}`);
        continue;
      }
      const checked = checkAuditEvent(value, '$');
      if (!checked.ok) {
        this.#d.metrics.eventsRejected.inc({ input: 'file', reason: 'invalid' });
        this.#d.log('warn', `file: ${where}: ${checked.path}: ${checked.reason}`);
        continue;
      }
      countLenient(this.#d.metrics, 'file', [checked.event]);
      batch.push(encodeAuditLine(checked.event, o.hostname, text));
      if (batch.length >= o.maxBatchEvents && !(await flush())) return false;
    }
    return flush();
  }

  /** Retries until the bus confirms, or `signal` aborts (false: nothing may be checkpointed). */
  async #handOff(events: readonly string[], signal: AbortSignal): Promise<boolean> {
    if (events.length === 0) return true;
    let backoff = 100;
    for (;;) {
      try {
        const r = await this.#d.handoff.send(events);
        this.#d.metrics.eventsAccepted.inc({ input: 'file' }, r.published);
        if (r.oversized.length > 0)
          this.#d.metrics.eventsRejected.inc({ input: 'file', reason: 'oversized' }, r.oversized.length);
        return true;
      } catch (err) {
        this.#d.metrics.handoffFailures.inc({ input: 'file' });
        this.#d.log('error', `file: ${(err as Error).message}; retrying in ${backoff} ms`);
        if (signal.aborted) return false;
        await sleep(backoff, undefined, { signal }).catch(() => undefined);
        if (signal.aborted) return false;
        backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
      }
    }
  }
}
