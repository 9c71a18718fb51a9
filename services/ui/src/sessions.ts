/**
 * Sessions, in memory: a random id in the `saker_ui` cookie (HttpOnly,
 * SameSite=Strict, Secure over TLS, Path = the base path) and a CSRF token
 * every write must echo in `X-CSRF-Token`. A visitor gets a session before
 * logging in (so the login itself carries a CSRF token); logging in replaces
 * it with a new id. The table is bounded: past `maxSessions` the sessions
 * used least recently go first.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UiRole } from '@saker/config';

const SESSION_COOKIE = 'saker_ui';

export interface Session {
  readonly id: string;
  readonly csrf: string;
  readonly user: string | null;
  readonly role: UiRole | null;
  /** `local` or `oidc`; null before login. */
  readonly method: 'local' | 'oidc' | null;
  expires: number;
}

export interface SessionOptions {
  readonly ttlMs: number;
  /** Before login. */
  readonly anonymousTtlMs?: number;
  readonly maxSessions?: number;
  readonly basePath: string;
  readonly secure: boolean;
}

const token = (): string => randomBytes(32).toString('base64url');

export function cookieValue(req: IncomingMessage, name: string): string | null {
  const header = req.headers.cookie;
  if (header === undefined) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

export function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

export class Sessions {
  readonly #o: Required<SessionOptions>;
  /** Insertion order is use order: a used session is moved to the end. */
  readonly #byId = new Map<string, Session>();

  constructor(options: SessionOptions) {
    this.#o = { anonymousTtlMs: 3_600_000, maxSessions: 10_000, ...options };
  }

  get size(): number {
    return this.#byId.size;
  }

  /** The request's live session, or null. */
  find(req: IncomingMessage, now = Date.now()): Session | null {
    const id = cookieValue(req, SESSION_COOKIE);
    if (id === null) return null;
    const s = this.#byId.get(id);
    if (s === undefined) return null;
    if (s.expires <= now) {
      this.#byId.delete(id);
      return null;
    }
    this.#byId.delete(id);
    this.#byId.set(id, s);
    return s;
  }

  /** The request's session, or a new one before login (its cookie set on `res`). */
  ensure(req: IncomingMessage, res: ServerResponse, now = Date.now()): Session {
    return this.find(req, now) ?? this.#create(res, null, null, null, this.#o.anonymousTtlMs, now);
  }

  /** Logs in: a new session id (the old one ends), with a new CSRF token. */
  login(
    req: IncomingMessage,
    res: ServerResponse,
    user: string,
    role: UiRole,
    method: 'local' | 'oidc',
    now = Date.now(),
  ): Session {
    const old = cookieValue(req, SESSION_COOKIE);
    if (old !== null) this.#byId.delete(old);
    return this.#create(res, user, role, method, this.#o.ttlMs, now);
  }

  logout(req: IncomingMessage, res: ServerResponse): void {
    const id = cookieValue(req, SESSION_COOKIE);
    if (id !== null) this.#byId.delete(id);
    res.appendHeader('Set-Cookie', this.#cookie('', 0));
  }

  #create(
    res: ServerResponse,
    user: string | null,
    role: UiRole | null,
    method: Session['method'],
    ttlMs: number,
    now: number,
  ): Session {
    while (this.#byId.size >= this.#o.maxSessions) {
      const oldest = this.#byId.keys().next().value;
      if (oldest === undefined) break;
      this.#byId.delete(oldest);
    }
    const s: Session = { id: token(), csrf: token(), user, role, method, expires: now + ttlMs };
    this.#byId.set(s.id, s);
    res.appendHeader('Set-Cookie', this.#cookie(s.id, Math.floor(ttlMs / 1000)));
    return s;
  }

  #cookie(value: string, maxAgeS: number): string {
    const path = this.#o.basePath === '' ? '/' : this.#o.basePath;
    return `${SESSION_COOKIE}=${value}; Path=${path}; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${this.#o.secure ? '; Secure' : ''}`;
  }
}
