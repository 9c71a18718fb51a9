/**
 * Reads a request body under a byte limit, both as sent and after gunzip.
 * The limit is checked while the bytes arrive, so neither a huge upload nor
 * a gzip bomb (a few KiB that inflate to GiB) is ever held in memory.
 */
import type { IncomingMessage } from 'node:http';
import { createGunzip } from 'node:zlib';
import { AuditRequestError } from './errors.js';

function mib(bytes: number): string {
  return bytes % (1024 * 1024) === 0 ? `${bytes / (1024 * 1024)} MiB` : `${bytes} bytes`;
}

/** Collects chunks until `limit`; throws body_too_large past it, with `what` in the message. */
class Collector {
  readonly #chunks: Buffer[] = [];
  #size = 0;

  constructor(
    readonly limit: number,
    readonly what: string,
  ) {}

  add(chunk: Buffer): void {
    this.#size += chunk.length;
    if (this.#size > this.limit) {
      throw new AuditRequestError('body_too_large', `${this.what} exceeds the limit of ${mib(this.limit)}`);
    }
    this.#chunks.push(chunk);
  }

  get size(): number {
    return this.#size;
  }

  bytes(): Buffer {
    return this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks, this.#size);
  }
}

/** The raw body under `limit`. On overflow, stops reading and throws; the caller closes the connection. */
async function readRaw(req: IncomingMessage, limit: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new AuditRequestError(
      'body_too_large',
      `request body of ${declared} bytes (Content-Length) exceeds the limit of ${mib(limit)}`,
    );
  }
  const c = new Collector(limit, 'request body');
  for await (const chunk of req) c.add(chunk as Buffer);
  return c.bytes();
}

/** Inflates `data` under `limit`, streaming, so the output never grows past the limit. */
function gunzipLimited(data: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const c = new Collector(limit, 'gunzipped request body');
    const z = createGunzip();
    let failed = false;
    z.on('data', (chunk: Buffer) => {
      if (failed) return;
      try {
        c.add(chunk);
      } catch (err) {
        failed = true;
        z.destroy();
        reject(err);
      }
    });
    z.on('error', (err: NodeJS.ErrnoException) => {
      if (failed) return;
      failed = true;
      const why =
        err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(err.message)
          ? 'gzip body is truncated (unexpected end of the compressed data)'
          : `body is not valid gzip: ${err.message}`;
      reject(new AuditRequestError('bad_gzip', why, { cause: err }));
    });
    z.on('end', () => {
      if (!failed) resolve(c.bytes());
    });
    z.end(data);
  });
}

export interface BodyLimits {
  /** Most bytes accepted, as sent and after decompression. */
  readonly maxBodyBytes: number;
}

/**
 * The decoded body of a webhook request: identity or gzip (what the API
 * server sends; `--audit-webhook-*` has no other encoding). Anything else
 * is refused with 415.
 */
export async function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity' && encoding !== 'gzip' && encoding !== '') {
    throw new AuditRequestError(
      'encoding',
      `Content-Encoding ${JSON.stringify(encoding)} is not supported (expected gzip or identity)`,
    );
  }
  const raw = await readRaw(req, limits.maxBodyBytes);
  return encoding === 'gzip' ? gunzipLimited(raw, limits.maxBodyBytes) : raw;
}
