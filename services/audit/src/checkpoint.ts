/**
 * Where the file source is in the audit log: which file (device + inode, so
 * a rename does not fool it) and how far (bytes of whole lines handed to the
 * bus). Written atomically: a temp file, fsync, rename, fsync of the folder,
 * so a crash leaves the old checkpoint or the new one, never half of one.
 */
import { open, readFile, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { CheckpointError } from './errors.js';

export interface Checkpoint {
  /** Device and inode, as decimal strings (they can exceed 2^53). */
  readonly dev: string;
  readonly ino: string;
  /** Bytes of the file that are handed off; the next line starts here. */
  readonly offset: number;
}

const VERSION = 1;

/** The checkpoint, or undefined when the file does not exist. CheckpointError when it is unreadable. */
export async function readCheckpoint(file: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CheckpointError(file, 'read', (err as Error).message, { cause: err });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new CheckpointError(file, 'read', `not JSON: ${(err as Error).message}`, { cause: err });
  }
  const o = value as Record<string, unknown>;
  if (
    typeof value !== 'object' ||
    value === null ||
    o.version !== VERSION ||
    typeof o.dev !== 'string' ||
    typeof o.ino !== 'string' ||
    !/^\d+$/.test(o.dev) ||
    !/^\d+$/.test(o.ino) ||
    typeof o.offset !== 'number' ||
    !Number.isSafeInteger(o.offset) ||
    o.offset < 0
  ) {
    throw new CheckpointError(
      file,
      'read',
      `expected {"version":${VERSION},"dev":"<n>","ino":"<n>","offset":<n>}, got ${text.slice(0, 200)}`,
    );
  }
  return { dev: o.dev, ino: o.ino, offset: o.offset };
}

/** Replaces the checkpoint atomically. */
export async function writeCheckpoint(file: string, cp: Checkpoint): Promise<void> {
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  const text = `${JSON.stringify({ version: VERSION, dev: cp.dev, ino: cp.ino, offset: cp.offset })}\n`;
  try {
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw new CheckpointError(file, 'write', (err as Error).message, { cause: err });
  }
}
