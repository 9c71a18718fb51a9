/**
 * Local stand-ins for PagerDuty's Events API v2 and Opsgenie's Alert API v2
 * (neither can run here), on loopback. Each checks a request the way the
 * vendor documents it and answers as the vendor does: 202 with the
 * vendor's JSON when accepted, 400 (PagerDuty) / 422 (Opsgenie) with the
 * reasons when the body breaks the format, 401 for a wrong GenieKey. A test
 * can make the next answers fail (`failNext`) or take the server down.
 */
import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { LoopbackServer } from './loopback-server.js';

interface VendorRequest {
  readonly at: number;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly status: number;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

abstract class VendorApi extends LoopbackServer {
  readonly requests: VendorRequest[] = [];
  /** Bodies accepted (answered 202), parsed. */
  readonly accepted: Json[] = [];
  #fail: { status: number; left: number; headers: Record<string, string> } | undefined;

  constructor(
    readonly endpoint: string,
    readonly prefix = '',
  ) {
    super();
  }

  /** The base URL an output is given (`url`). */
  get url(): string {
    return `http://127.0.0.1:${this.port}${this.prefix}`;
  }

  /** The next `count` requests are answered `status` (with `headers`), whatever they hold. */
  failNext(status: number, count: number, headers: Record<string, string> = {}): void {
    this.#fail = { status, left: count, headers };
  }

  /** Why `body` breaks the documented format (empty: it does not), and the headers checked. */
  protected abstract check(
    body: unknown,
    headers: IncomingMessage['headers'],
  ): { status: number; errors: string[] };
  protected abstract answer(status: number, errors: string[]): Json;

  protected handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let status = 202;
      let errors: string[] = [];
      let extra: Record<string, string> = {};
      const fail = this.#fail;
      if (fail !== undefined && fail.left > 0) {
        fail.left--;
        status = fail.status;
        extra = fail.headers;
        errors = ['failing on purpose'];
      } else if (req.method !== 'POST' || req.url !== `${this.prefix}${this.endpoint}`) {
        status = 404;
        errors = [`no route for ${req.method} ${req.url}`];
      } else if (!/^application\/json\b/.test(req.headers['content-type'] ?? '')) {
        status = 415;
        errors = ['content-type must be application/json'];
      } else {
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = undefined;
        }
        ({ status, errors } =
          parsed === undefined
            ? { status: 400, errors: ['body is not JSON'] }
            : this.check(parsed, req.headers));
        if (status === 202) this.accepted.push(parsed as Json);
      }
      this.requests.push({ at: Date.now(), path: req.url ?? '', headers: req.headers, body, status });
      res.writeHead(status, { 'content-type': 'application/json', ...extra });
      res.end(JSON.stringify(this.answer(status, errors)));
    });
  }

  protected createServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Server {
    return createServer(handle);
  }
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})$/;

/** PagerDuty Events API v2: `POST /v2/enqueue`. */
export class PagerDutyApi extends VendorApi {
  constructor(prefix = '') {
    super('/v2/enqueue', prefix);
  }

  protected check(body: unknown): { status: number; errors: string[] } {
    const errors: string[] = [];
    const bad = (why: string): void => {
      errors.push(why);
    };
    if (!isObj(body)) return { status: 400, errors: ['event must be an object'] };
    if (typeof body.routing_key !== 'string' || body.routing_key.length !== 32)
      bad("'routing_key' must be 32 characters");
    if (!['trigger', 'acknowledge', 'resolve'].includes(String(body.event_action)))
      bad("'event_action' is invalid");
    if (body.dedup_key !== undefined && (typeof body.dedup_key !== 'string' || body.dedup_key.length > 255))
      bad("'dedup_key' is invalid");
    const p = body.payload;
    if (!isObj(p)) bad("'payload' is missing");
    else {
      if (typeof p.summary !== 'string' || p.summary === '' || p.summary.length > 1024)
        bad("'payload.summary' must be 1..1024 characters");
      if (typeof p.source !== 'string' || p.source === '') bad("'payload.source' is missing");
      if (!['critical', 'error', 'warning', 'info'].includes(String(p.severity)))
        bad("'payload.severity' is invalid");
      if (p.timestamp !== undefined && !(typeof p.timestamp === 'string' && ISO_8601.test(p.timestamp)))
        bad("'payload.timestamp' is not ISO 8601");
      if (p.custom_details !== undefined && !isObj(p.custom_details))
        bad("'payload.custom_details' must be an object");
      const known = new Set([
        'summary',
        'source',
        'severity',
        'timestamp',
        'component',
        'group',
        'class',
        'custom_details',
      ]);
      for (const k of Object.keys(p)) if (!known.has(k)) bad(`'payload.${k}' is not a field`);
    }
    if (Buffer.byteLength(JSON.stringify(body)) > 512 * 1024) bad('event is over 512 KB');
    return { status: errors.length === 0 ? 202 : 400, errors };
  }

  protected answer(status: number, errors: string[]): Json {
    if (status === 202) return { status: 'success', message: 'Event processed', dedup_key: randomUUID() };
    return { status: 'invalid event', message: 'Event object is invalid', errors };
  }
}

/** Opsgenie Alert API v2: `POST /v2/alerts` with `Authorization: GenieKey <key>`. */
export class OpsgenieApi extends VendorApi {
  constructor(
    readonly apiKey: string,
    prefix = '',
  ) {
    super('/v2/alerts', prefix);
  }

  protected check(body: unknown, headers: IncomingMessage['headers']): { status: number; errors: string[] } {
    if (headers.authorization !== `GenieKey ${this.apiKey}`)
      return { status: 401, errors: ['Could not authenticate'] };
    const errors: string[] = [];
    const text = (k: string, v: unknown, max: number, required = false): void => {
      if (v === undefined && !required) return;
      if (typeof v !== 'string' || v.length > max || (required && v === ''))
        errors.push(`${k} must be a string of at most ${max} characters`);
    };
    if (!isObj(body)) return { status: 422, errors: ['body must be an object'] };
    text('message', body.message, 130, true);
    text('alias', body.alias, 512);
    text('description', body.description, 15_000);
    text('entity', body.entity, 512);
    text('source', body.source, 100);
    text('user', body.user, 100);
    text('note', body.note, 25_000);
    if (body.priority !== undefined && !/^P[1-5]$/.test(String(body.priority)))
      errors.push('priority must be P1..P5');
    if (body.tags !== undefined) {
      if (!Array.isArray(body.tags) || body.tags.length > 20) errors.push('at most 20 tags');
      else for (const t of body.tags) text('tags[]', t, 50, true);
    }
    if (body.details !== undefined) {
      if (!isObj(body.details)) errors.push('details must be an object');
      else {
        let total = 0;
        for (const [k, v] of Object.entries(body.details)) {
          if (typeof v !== 'string') errors.push(`details.${k} must be a string`);
          else total += k.length + v.length;
        }
        if (total > 8000) errors.push(`details total ${total} > 8000 characters`);
      }
    }
    return { status: errors.length === 0 ? 202 : 422, errors };
  }

  protected answer(status: number, errors: string[]): Json {
    if (status === 202) return { result: 'Request will be processed', took: 0.002, requestId: randomUUID() };
    return { message: errors.join('; '), took: 0.001, requestId: randomUUID() };
  }
}
