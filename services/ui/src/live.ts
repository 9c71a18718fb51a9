/**
 * The live stream: Server-Sent Events of the alerts as they are stored,
 * each client with its own filters. A client that reads too slowly (its
 * socket buffer past `maxBufferedBytes`) is disconnected rather than
 * buffered without bound; it reconnects and reads the gap from the API.
 * Pausing is the client's business: it keeps the connection and holds what
 * arrives.
 */
import type { ServerResponse } from 'node:http';
import { type StoredAlert, eventOf } from './event.js';
import type { Filters } from './filters.js';
import { matches } from './match.js';

interface Client {
  readonly res: ServerResponse;
  readonly filters: Filters;
}

export interface LiveOptions {
  readonly heartbeatMs?: number;
  readonly maxClients?: number;
  readonly maxBufferedBytes?: number;
}

export class LiveHub {
  readonly #clients = new Set<Client>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #maxClients: number;
  readonly #maxBuffered: number;

  constructor(options: LiveOptions = {}) {
    this.#maxClients = options.maxClients ?? 1000;
    this.#maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.#timer = setInterval(() => {
      for (const c of this.#clients) c.res.write(': heartbeat\n\n');
    }, options.heartbeatMs ?? 15_000);
    this.#timer.unref();
  }

  get clients(): number {
    return this.#clients.size;
  }

  /** Takes over `res` as an event stream; false when the hub is full. */
  open(res: ServerResponse, filters: Filters): boolean {
    if (this.#clients.size >= this.#maxClients) return false;
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write(': connected\n\n');
    const client: Client = { res, filters };
    this.#clients.add(client);
    res.on('close', () => this.#clients.delete(client));
    return true;
  }

  publish(batch: readonly StoredAlert[]): void {
    if (this.#clients.size === 0) return;
    for (const c of this.#clients) {
      let out = '';
      for (const s of batch) {
        // JSON.stringify escapes line breaks, so one data line holds the whole event.
        if (matches(c.filters, s))
          out += `event: alert\nid: ${s.seq}\ndata: ${JSON.stringify(eventOf(s))}\n\n`;
      }
      if (out === '') continue;
      if (c.res.writableLength > this.#maxBuffered) {
        c.res.destroy();
        this.#clients.delete(c);
        continue;
      }
      c.res.write(out);
    }
  }

  close(): void {
    clearInterval(this.#timer);
    for (const c of this.#clients) c.res.end();
    this.#clients.clear();
  }
}
