/**
 * The HTTP API of @saker/ui (docs/ui.md), called with URLs relative to the
 * document's base (the server injects <base href="{base_path}/">), so the
 * front end works under any base path. Response bodies are checked into typed
 * values here, once; the views never touch raw JSON.
 */
import type { FalcoAlert } from '@saker/rules';

/** An alert as stored: Falco's JSON alert shape plus the store's id. */
export interface SakerEvent extends FalcoAlert {
  readonly id: string;
}

export interface Session {
  readonly user: string | null;
  readonly role: 'viewer' | 'admin' | null;
  readonly csrf: string;
  readonly methods: readonly string[];
}

interface RuleInfo {
  readonly name: string;
  readonly enabled: boolean;
  readonly priority: string;
  readonly source: string;
  readonly tags: readonly string[];
  readonly description: string;
  readonly condition: string;
  readonly output: string;
}

export interface EventDetail {
  readonly event: SakerEvent;
  readonly rule: RuleInfo | null;
  readonly related: { readonly pod?: string; readonly process?: string };
}

export interface EventPage {
  readonly events: readonly SakerEvent[];
  readonly next: string | null;
  readonly total: number;
}

export interface Buckets {
  readonly by: string;
  readonly buckets: readonly { readonly key: string; readonly count: number }[];
}

export interface Timeline {
  readonly from: number;
  readonly to: number;
  readonly step: number;
  readonly series: readonly { readonly key: string; readonly counts: readonly number[] }[];
}

type Row = Readonly<Record<string, string | number | boolean | null>>;

/** Drops since the sensor started, by where they happened (Falco's n_drops_buffer, _scratch_map, ...). */
interface DropsByStage {
  readonly ringbuf: number;
  readonly scratch: number;
  readonly enter_full: number;
  readonly batcher: number;
}

export interface SensorHealth {
  readonly node: string;
  readonly events_per_sec: number;
  /** null: the node sends events without status reports (a replay), so its drops are unknown. */
  readonly drops_per_sec: number | null;
  readonly drops_total: number | null;
  readonly drops_by_stage: DropsByStage | null;
  readonly drop_ratio: number | null;
  readonly events_total: number;
  readonly version: string | null;
  readonly last_seen: string;
}

export interface EngineHealth {
  readonly id: string;
  readonly node: string;
  readonly state: string;
  readonly revision: string;
  /** How long the oldest event the engine holds has waited; null from engines that do not say. */
  readonly lag_ms: number | null;
  readonly in_flight: number;
  readonly dropped: number;
  readonly audit_pending: number | null;
  readonly report_age_ms: number;
  readonly last_seen: string;
}

/** Alerts delivered, failed, retried and dead-lettered, and the last error. */
interface Deliveries extends Readonly<Record<'delivered' | 'failed' | 'retried' | 'dead_lettered', number>> {
  readonly last_error: string | null;
  readonly last_error_at: string | null;
}

/** An output's deliveries: summed over the sinks instances that report it, else from metrics. */
export interface OutputHealth extends Deliveries {
  readonly name: string;
  readonly instances: number;
  readonly source: 'reports' | 'metrics' | 'dead_letters';
}

/** One sinks instance's figures for one output, from its delivery report. */
export interface SinkOutputHealth extends Deliveries {
  readonly instance: string;
  readonly output: string;
  readonly filtered: number;
  readonly version: string;
  readonly status: 'running' | 'stopped' | 'stale';
  readonly report_age_ms: number;
}

export interface Health {
  readonly sensors: readonly SensorHealth[];
  readonly engines: readonly EngineHealth[];
  readonly outputs: readonly OutputHealth[];
  readonly sinks: readonly SinkOutputHealth[];
  readonly dead_letters: readonly Row[];
}

export interface RuleList {
  readonly revision: string;
  readonly rules: readonly RuleInfo[];
}

/** A ruleset revision as control recorded it (author: `ui:alice via token` for a change made here). */
type RevisionInfo = Readonly<
  Record<'revision' | 'updated_at' | 'author' | 'comment', string> & Record<'rules' | 'enabled_rules', number>
>;

export interface Info {
  readonly version: string;
  readonly store: Readonly<Record<string, unknown>>;
}

/** A failed API call: the HTTP status and the server's `error` text. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly path: string,
    message: string,
  ) {
    super(`${path}: ${status} ${message}`);
  }
}

let csrfToken = '';

/** Dispatched on window when a call answers 401. */
export const LOGGED_OUT = 'saker-logged-out';

/** Remembers the session's CSRF token for every later write. */
export function setCsrf(token: string): void {
  csrfToken = token;
}

async function call<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { credentials: 'same-origin', ...init });
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text === '' ? null : JSON.parse(text);
  } catch {
    throw new ApiError(res.status, path, `response is not JSON: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    // The session ended (expired, logged out elsewhere): the shell shows the login again.
    if (res.status === 401 && path !== 'api/login') dispatchEvent(new Event(LOGGED_OUT));
    const msg =
      typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : res.statusText;
    throw new ApiError(res.status, path, msg);
  }
  return body as T;
}

function post<T>(path: string, body: unknown): Promise<T> {
  return call<T>(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken },
    body: JSON.stringify(body),
  });
}

const withQuery = (path: string, query: string): string => (query === '' ? path : `${path}?${query}`);

export const api = {
  session: () => call<Session>('api/session'),
  login: (username: string, password: string) =>
    post<{ user: string; role: string }>('api/login', { username, password }),
  logout: () => post<unknown>('api/logout', {}),
  events: (query: string) => call<EventPage>(withQuery('api/events', query)),
  event: (id: string) => call<EventDetail>(`api/events/${encodeURIComponent(id)}`),
  counts: (query: string, by: string) => call<Buckets>(withQuery('api/counts', join(query, `by=${by}`))),
  timeline: (query: string, by: string) =>
    call<Timeline>(withQuery('api/timeline', join(query, `by=${by}&points=60`))),
  health: () => call<Health>('api/health'),
  redeliver: (id: string) =>
    post<{ ok: boolean }>(`api/dead-letters/${encodeURIComponent(id)}/redeliver`, {}),
  rules: () => call<RuleList>('api/rules'),
  revisions: () => call<{ revisions: readonly RevisionInfo[] }>('api/rules/revisions'),
  setRulesEnabled: (rules: readonly string[], enabled: boolean, comment: string) =>
    post<{ revision: string }>('api/rules/enabled', { rules, enabled, comment }),
  info: () => call<Info>('api/info'),
};

/** Joins two query strings, either of which may be empty. */
function join(a: string, b: string): string {
  return a === '' ? b : b === '' ? a : `${a}&${b}`;
}

/** The export download's relative URL. */
export const exportUrl = (query: string, format: 'jsonl' | 'csv'): string =>
  `api/export?${join(query, `format=${format}`)}`;

/** The live stream's relative URL (Server-Sent Events). */
export const streamUrl = (query: string): string => withQuery('api/stream', query);

/** OIDC login starts with a full-page navigation to the server, which redirects to the provider. */
export const oidcLoginUrl = 'auth/oidc/login';
