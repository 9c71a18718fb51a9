/**
 * The UI's HTTP server: every route of docs/ui.md under the base path, the
 * security headers on every response, and the checks in this order: the
 * route exists → a write carries the session's CSRF token → the caller is
 * logged in (or anonymous viewing is on) → the role is enough. Alert data
 * only ever leaves as JSON, JSON lines, CSV or SSE data, never in HTML.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { UiRole } from '@saker/config';
import type { Logger } from '@saker/runtime';
import { EXPORT_FORMATS, type ExportFormat, streamExport } from './export.js';
import { FilterError, parseFilters } from './filters.js';
import { HttpError, localPath, readJson, securityHeaders, sendError, sendJson } from './http.js';
import type { LiveHub } from './live.js';
import { type LocalUser, UNKNOWN_USER_HASH, verifyPassword } from './passwords.js';
import { type AlertReader, ReaderBackendError } from './reader.js';
import type { Session, Sessions } from './sessions.js';
import { sameToken } from './sessions.js';
import type { StaticFiles } from './static.js';
import { COUNT_BY, type CountBy, TIMELINE_BY, type TimelineBy } from './store.js';

export interface RuleView {
  readonly name: string;
  readonly description: string;
  readonly condition: string;
  readonly output: string;
  readonly priority: string;
  readonly source: string;
  readonly tags: readonly string[];
  readonly enabled: boolean;
}

/** A ruleset revision as control recorded it. */
export interface RevisionView {
  readonly revision: string;
  readonly updated_at: string;
  /** Who wrote it: control's record (`ui:alice via token` for a change made here). */
  readonly author: string;
  readonly comment: string;
  readonly rules: number;
  readonly enabled_rules: number;
}

/** The control API, as the rules view and the detail use it. */
export interface RulesProvider {
  list(): Promise<{ revision: string; rules: RuleView[] }>;
  /** The revisions written since the UI started (and the one in use then), newest first. */
  revisions(): Promise<{ revisions: RevisionView[] }>;
  describe(name: string): Promise<RuleView | null>;
  setEnabled(
    names: readonly string[],
    enabled: boolean,
    author: string,
    comment: string,
  ): Promise<{ revision: string }>;
}

/** What the health view shows (docs/ui.md, "Health"). */
export interface HealthProvider {
  snapshot(): Promise<unknown>;
  /** Publishes the dead letter's alert again; false when no such dead letter. */
  redeliver(id: string, author: string): Promise<boolean>;
}

export interface OidcLogin {
  login(req: IncomingMessage, res: ServerResponse, origin: string): Promise<void>;
  callback(req: IncomingMessage, res: ServerResponse, url: URL, origin: string): Promise<void>;
}

export interface UiServerOptions {
  readonly basePath: string;
  readonly tls: { readonly cert: Buffer; readonly key: Buffer } | null;
  readonly store: AlertReader;
  readonly sessions: Sessions;
  readonly users: () => ReadonlyMap<string, LocalUser>;
  readonly anonymous: 'viewer' | null;
  readonly oidc: OidcLogin | null;
  readonly live: LiveHub;
  readonly statics: StaticFiles;
  readonly rules: RulesProvider | null;
  readonly health: HealthProvider | null;
  readonly version: string;
  readonly logger: Logger;
}

const ROLE_RANK: Readonly<Record<UiRole, number>> = { viewer: 1, admin: 2 };
const MAX_PAGE = 1000;

function oneOf<T extends string>(
  params: URLSearchParams,
  name: string,
  values: readonly T[],
  fallback: T,
): T {
  const v = params.get(name);
  if (v === null || v === '') return fallback;
  if ((values as readonly string[]).includes(v)) return v as T;
  throw new HttpError(400, `${name}: expected one of ${values.join(', ')}, got ${JSON.stringify(v)}`);
}

function intParam(params: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const v = params.get(name);
  if (v === null || v === '') return fallback;
  if (!/^\d{1,9}$/.test(v) || Number(v) < min || Number(v) > max) {
    throw new HttpError(400, `${name}: expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

/** An id or cursor, checked by the reader (a FilterError naming it); '' is none. */
function textParam(v: string | null): string | null {
  return v === null || v === '' ? null : v;
}

/** Links to related events: the same pod, the same process tree. */
function related(
  fields: Readonly<Record<string, unknown>>,
  hostname: string,
): { pod: string; process: string } {
  const q = (pairs: [string, unknown][]): string => {
    const p = new URLSearchParams();
    for (const [k, v] of pairs) if (v !== undefined && v !== null && v !== '') p.append(k, String(v));
    return p.toString();
  };
  const ns = fields['k8s.ns.name'];
  const pod = fields['k8s.pod.name'];
  const ppid = fields['proc.ppid'] ?? fields['proc.pid'];
  return {
    pod:
      pod === undefined || pod === null
        ? ''
        : q([
            ['namespace', ns],
            ['pod', pod],
          ]),
    process:
      ppid === undefined || ppid === null
        ? ''
        : q([
            ['hostname', hostname],
            ['field.proc.ppid', ppid],
          ]),
  };
}

export class UiServer {
  readonly #o: UiServerOptions;
  readonly server: Server;

  constructor(options: UiServerOptions) {
    this.#o = options;
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.#handle(req, res).catch((err: unknown) => this.#fail(res, err));
    };
    this.server =
      options.tls === null
        ? createServer(handler)
        : createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, handler);
    this.server.headersTimeout = 20_000;
    this.server.requestTimeout = 0; // streams (SSE, export) run long; idle sockets still time out
    this.server.keepAliveTimeout = 5_000;
  }

  #fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) sendError(res, err.status, err.message);
    else if (err instanceof FilterError) sendError(res, 400, err.message);
    else if (err instanceof ReaderBackendError) {
      this.#o.logger.warn(err.message);
      sendError(res, 502, err.message);
    } else this.#internal(res, err);
  }

  #internal(res: ServerResponse, err: unknown): void {
    this.#o.logger.error(
      `request failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
    );
    sendError(res, 500, 'internal error');
  }

  #origin(req: IncomingMessage): string {
    const host = req.headers.host ?? 'localhost';
    return `${this.#o.tls === null ? 'http' : 'https'}://${host}`;
  }

  /** The caller's role, or null when not logged in (anonymous viewing counts as viewer). */
  #role(session: Session | null): UiRole | null {
    if (session?.role != null) return session.role;
    return this.#o.anonymous;
  }

  #require(session: Session | null, role: UiRole): void {
    const has = this.#role(session);
    const enough = has !== null && ROLE_RANK[has] >= ROLE_RANK[role];
    // An anonymous viewer who wants more is asked to log in.
    if (!enough && (session?.user ?? null) === null) throw new HttpError(401, 'log in first');
    if (!enough) throw new HttpError(403, `needs the ${role} role`);
  }

  #checkCsrf(req: IncomingMessage, session: Session | null): void {
    const sent = req.headers['x-csrf-token'];
    if (session === null || typeof sent !== 'string' || !sameToken(sent, session.csrf)) {
      throw new HttpError(403, 'missing or wrong X-CSRF-Token (GET api/session gives it)');
    }
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    securityHeaders(res, this.#o.tls !== null);
    const url = new URL(req.url ?? '/', 'http://ui.invalid');
    const path = localPath(url.pathname, this.#o.basePath);
    if (path === null) throw new HttpError(404, `not found (the UI is under ${this.#o.basePath}/)`);
    const method = req.method ?? 'GET';
    const read = method === 'GET' || method === 'HEAD';
    const session = this.#o.sessions.find(req);
    if (!read) this.#checkCsrf(req, session);

    if (path === '/api/session' && read) {
      const s = this.#o.sessions.ensure(req, res);
      const methods = [
        ...(this.#o.users().size > 0 ? ['local'] : []),
        ...(this.#o.oidc === null ? [] : ['oidc']),
      ];
      return sendJson(res, 200, { user: s.user, role: this.#role(s), csrf: s.csrf, methods });
    }
    if (path === '/api/login' && method === 'POST') return this.#login(req, res);
    if (path === '/api/logout' && method === 'POST') {
      this.#o.sessions.logout(req, res);
      return sendJson(res, 200, { ok: true });
    }
    if (path === '/auth/oidc/login' && read) {
      if (this.#o.oidc === null) throw new HttpError(404, 'OIDC is not configured (ui.auth.oidc)');
      return this.#o.oidc.login(req, res, this.#origin(req));
    }
    if (path === '/auth/oidc/callback' && read) {
      if (this.#o.oidc === null) throw new HttpError(404, 'OIDC is not configured (ui.auth.oidc)');
      return this.#o.oidc.callback(req, res, url, this.#origin(req));
    }
    if (path.startsWith('/api/')) {
      this.#require(session, read ? 'viewer' : 'admin');
      return this.#api(req, res, path, method, url.searchParams, session);
    }
    if (!read) throw new HttpError(405, `${method} is not allowed here`);
    this.#o.statics.serve(res, path, method === 'HEAD');
  }

  async #login(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readJson(req, 4096);
    const { username, password } = body;
    if (typeof username !== 'string' || typeof password !== 'string') {
      throw new HttpError(400, 'body: expected { "username": string, "password": string }');
    }
    const user = this.#o.users().get(username);
    // An unknown user costs the same scrypt as a known one.
    const ok = await verifyPassword(password, user?.hash ?? UNKNOWN_USER_HASH);
    if (user === undefined || !ok) {
      this.#o.logger.warn(`login failed for ${JSON.stringify(username.slice(0, 128))}`);
      throw new HttpError(401, 'wrong username or password');
    }
    const s = this.#o.sessions.login(req, res, user.name, user.role, 'local');
    this.#o.logger.info(`${user.name} logged in (${user.role})`);
    sendJson(res, 200, { user: s.user, role: s.role, csrf: s.csrf });
  }

  async #api(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    method: string,
    params: URLSearchParams,
    session: Session | null,
  ): Promise<void> {
    const { store } = this.#o;
    const read = method === 'GET' || method === 'HEAD';
    if (read && path === '/api/events') {
      const filters = parseFilters(params);
      const limit = intParam(params, 'limit', 1, MAX_PAGE, 50);
      return sendJson(res, 200, await store.page(filters, limit, textParam(params.get('cursor'))));
    }
    const detail = /^\/api\/events\/([^/]+)$/.exec(path);
    if (read && detail !== null) {
      const id = textParam(decodeURIComponent(detail[1] ?? ''));
      const event = id === null ? null : await store.get(id);
      if (event === null) throw new HttpError(404, 'no such alert (it may have aged out of the store)');
      let rule: RuleView | null = null;
      if (this.#o.rules !== null) {
        try {
          rule = await this.#o.rules.describe(event.rule);
        } catch (err) {
          this.#o.logger.warn(
            `rule ${JSON.stringify(event.rule)} from control: ${err instanceof Error ? err.message : String(err)}`,
          );
        }
      }
      return sendJson(res, 200, { event, rule, related: related(event.output_fields, event.hostname) });
    }
    if (read && path === '/api/counts') {
      const filters = parseFilters(params);
      const by = oneOf<CountBy>(params, 'by', COUNT_BY, 'priority');
      return sendJson(res, 200, { by, buckets: await store.counts(filters, by) });
    }
    if (read && path === '/api/timeline') {
      const filters = parseFilters(params);
      const by = oneOf<TimelineBy>(params, 'by', TIMELINE_BY, 'priority');
      const points = intParam(params, 'points', 1, 1000, 60);
      return sendJson(res, 200, await store.timeline(filters, by, points));
    }
    if (read && path === '/api/stream') {
      const filters = parseFilters(params);
      if (!this.#o.live.open(res, filters)) throw new HttpError(503, 'too many live streams');
      return;
    }
    if (read && path === '/api/export') {
      const filters = parseFilters(params);
      const format = oneOf<ExportFormat>(params, 'format', EXPORT_FORMATS, 'jsonl');
      return streamExport(res, store, filters, format);
    }
    if (read && path === '/api/info') {
      return sendJson(res, 200, { version: this.#o.version, store: await store.info() });
    }
    if (read && path === '/api/health') {
      if (this.#o.health === null) throw new HttpError(404, 'no health view here');
      return sendJson(res, 200, await this.#o.health.snapshot());
    }
    if (read && path === '/api/rules') {
      if (this.#o.rules === null) throw new HttpError(503, 'the control API is not configured');
      return sendJson(res, 200, await this.#o.rules.list());
    }
    if (read && path === '/api/rules/revisions') {
      if (this.#o.rules === null) throw new HttpError(503, 'the control API is not configured');
      return sendJson(res, 200, await this.#o.rules.revisions());
    }
    const author = session?.user ?? 'unknown';
    if (method === 'POST' && path === '/api/rules/enabled') {
      if (this.#o.rules === null) throw new HttpError(503, 'the control API is not configured');
      const body = await readJson(req);
      const names = body.rules;
      if (
        !Array.isArray(names) ||
        names.length === 0 ||
        names.length > 1000 ||
        !names.every((n) => typeof n === 'string' && n !== '')
      ) {
        throw new HttpError(400, 'rules: expected a list of 1..1000 rule names');
      }
      if (typeof body.enabled !== 'boolean') throw new HttpError(400, 'enabled: expected true or false');
      const comment = body.comment ?? '';
      if (typeof comment !== 'string' || comment.length > 1000)
        throw new HttpError(400, 'comment: expected a string of at most 1000 characters');
      const r = await this.#o.rules.setEnabled(names as string[], body.enabled, author, comment);
      this.#o.logger.info(
        `${author} ${body.enabled ? 'enabled' : 'disabled'} ${names.length} rules: ${comment}`,
      );
      return sendJson(res, 200, r);
    }
    const redeliver = /^\/api\/dead-letters\/([^/]+)\/redeliver$/.exec(path);
    if (method === 'POST' && redeliver !== null) {
      if (this.#o.health === null) throw new HttpError(404, 'no health view here');
      if (!(await this.#o.health.redeliver(decodeURIComponent(redeliver[1] ?? ''), author))) {
        throw new HttpError(404, 'no such dead letter');
      }
      return sendJson(res, 200, { ok: true });
    }
    throw new HttpError(404, `no API route ${method} ${path}`);
  }

  listen(host: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        const p = typeof a === 'object' && a !== null ? a.port : port;
        const h = host.includes(':') ? `[${host}]` : host;
        resolve(`${this.#o.tls === null ? 'http' : 'https'}://${h}:${p}${this.#o.basePath}/`);
      });
    });
  }

  async close(): Promise<void> {
    this.#o.live.close();
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }
}
