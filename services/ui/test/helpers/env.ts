/**
 * A UI on a real nats-server: JetStream, SAKER_ALERTS, the UI service from a
 * loaded configuration (libs/config), and an HTTP client that keeps its
 * session cookie and CSRF token as a browser would.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Bus, STREAMS, connectBus } from '@saker/bus';
import { loadConfig } from '@saker/config';
import type { FalcoAlert } from '@saker/rules';
import { createLogger } from '@saker/runtime';
import { MetricsRegistry } from '@saker/telemetry';
import { type NatsServerHandle, startNatsServer } from '@saker/testing';
import {
  AlertStore,
  type Filters,
  type StoreLimits,
  type UiOptions,
  type UiService,
  hashPassword,
  parseFilters,
  startUi,
} from '../../src/mod.js';

export const ADMIN = { username: 'alice', password: 'alice-secret-1' };
export const VIEWER = { username: 'bob', password: 'bob-secret-22' };

export interface UiEnv extends AsyncDisposable {
  readonly server: NatsServerHandle;
  readonly bus: Bus;
  readonly dir: string;
  ui: UiService;
  /** Starts the UI again (same store file and durable consumer) after `ui.stop()`. */
  restart(): Promise<UiService>;
  /** Stops and starts the UI (options read again). */
  restartWith(): Promise<UiService>;
  /** Filters that keep everything. */
  readonly noFilters: Filters;
  publish(alerts: readonly unknown[]): Promise<void>;
}

export interface EnvOptions {
  /** The `ui:` section, snake_case as in saker.yaml; users_file and store.path are filled in unless given. */
  readonly ui?: Record<string, unknown>;
  readonly extra?: Partial<UiOptions>;
}

let usersText: Promise<string> | undefined;

/** A users file with ADMIN (admin) and VIEWER (viewer); hashed once per process, at scrypt's lowest cost here. */
function usersFile(): Promise<string> {
  usersText ??= (async () =>
    `# test users\n${ADMIN.username}:admin:${await hashPassword(ADMIN.password, 10)}\n${VIEWER.username}:viewer:${await hashPassword(VIEWER.password, 10)}\n`)();
  return usersText;
}

export async function uiEnv(options: EnvOptions = {}): Promise<UiEnv> {
  const server = await startNatsServer({ jetstream: true });
  const bus = await connectBus({ url: server.url });
  await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
  const dir = mkdtempSync(join(tmpdir(), 'saker-ui-test-'));
  const users = join(dir, 'users');
  writeFileSync(users, await usersFile());
  const section = options.ui ?? {};
  const auth = (section.auth as Record<string, unknown> | undefined) ?? {};
  const store = (section.store as Record<string, unknown> | undefined) ?? {};
  const config = loadConfig({
    env: {},
    onNotice: () => undefined,
    overrides: {
      ui: {
        listen: '127.0.0.1:0',
        ...section,
        auth: { users_file: users, ...auth },
        store: { path: join(dir, 'alerts.db'), ...store },
      },
    },
  });
  const start = (): Promise<UiService> =>
    startUi({
      config: config.ui,
      bus,
      metrics: new MetricsRegistry(),
      logger: createLogger({ name: 'ui', level: 'error' }),
      webRoot: null,
      ...options.extra,
    });
  const env: UiEnv = {
    server,
    bus,
    dir,
    ui: await start(),
    async restart() {
      env.ui = await start();
      return env.ui;
    },
    async restartWith() {
      await env.ui.stop();
      return env.restart();
    },
    noFilters: parseFilters(new URLSearchParams()),
    async publish(alerts) {
      const enc = new TextEncoder();
      await Promise.all(
        alerts.map((a) =>
          bus.publishDurable(
            'saker.v1.alerts.syscall.warning',
            typeof a === 'string' ? enc.encode(a) : enc.encode(JSON.stringify(a)),
          ),
        ),
      );
    },
    async [Symbol.asyncDispose]() {
      await env.ui.stop();
      await bus.close();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return env;
}

/** A Falco alert; `i` makes it distinct. */
export function alert(i: number, over: Partial<FalcoAlert> = {}): FalcoAlert {
  const time = over.time ?? new Date(Date.now() - 1000).toISOString().replace('Z', '123456Z');
  return {
    hostname: `node-${i % 3}`,
    output: `Warning file opened (file=/etc/shadow${i} command=cat /etc/shadow)`,
    priority: ['Warning', 'Critical', 'Notice'][i % 3] ?? 'Warning',
    rule: `Rule ${i % 4}`,
    source: i % 5 === 4 ? 'k8s_audit' : 'syscall',
    tags: ['filesystem', `t${i % 2}`],
    time,
    output_fields: {
      'fd.name': `/etc/shadow${i}`,
      'k8s.ns.name': `ns-${i % 2}`,
      'k8s.pod.name': `pod-${i}`,
      'proc.pid': i,
    },
    ...over,
  };
}

/** Polls `check` until it returns true (10 s at most); the failure names `what` and what `seen` says then. */
export async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  seen?: () => string,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${seen === undefined ? '' : ` (${seen()})`}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An HTTP client with a cookie jar (the session) and the CSRF token, as the front end uses the API. */
export class Client {
  readonly base: string;
  cookie = '';
  csrf = '';

  constructor(base: string) {
    this.base = base;
  }

  async fetch(path: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookie !== '') headers.set('cookie', this.cookie);
    const res = await fetch(new URL(path, this.base), { ...init, headers, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair = ''] = c.split(';');
      if (pair.startsWith('saker_ui=')) this.cookie = pair.endsWith('=') ? '' : pair;
    }
    return res;
  }

  async json<T = Record<string, unknown>>(
    path: string,
    init: RequestInit = {},
  ): Promise<{ status: number; body: T }> {
    const res = await this.fetch(path, init);
    return { status: res.status, body: (await res.json()) as T };
  }

  async session(): Promise<Record<string, unknown>> {
    const { body } = await this.json('api/session');
    this.csrf = String(body.csrf);
    return body;
  }

  post(path: string, body: unknown): Promise<Response> {
    return this.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': this.csrf },
      body: JSON.stringify(body),
    });
  }

  async login(user: { username: string; password: string }): Promise<void> {
    await this.session();
    const res = await this.post('api/login', user);
    if (res.status !== 200) throw new Error(`login ${user.username}: ${res.status} ${await res.text()}`);
    this.csrf = String(((await res.json()) as { csrf: string }).csrf);
  }
}

export interface TempStore extends Disposable {
  readonly store: AlertStore;
  readonly path: string;
}

/** A store alone in a temporary directory (closed and removed on dispose); limits default to large. */
export function tempStore(limits: Partial<StoreLimits> = {}): TempStore {
  const dir = mkdtempSync(join(tmpdir(), 'saker-ui-store-'));
  const path = join(dir, 'alerts.db');
  const store = new AlertStore({
    path,
    maxRows: 1_000_000,
    maxBytes: 1e9,
    maxAgeMs: 86_400_000,
    cacheBytes: 1e6,
    ...limits,
  });
  return {
    store,
    path,
    [Symbol.dispose]() {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
