/**
 * What the web UI's browser tests share (e2e/test/ui-*.test.ts): a real
 * nats-server, the real `saker control` and `saker ui` processes (and a real
 * `saker engine`, whose stats the health view shows, and a real `saker
 * sinks`, whose delivery reports it shows), alerts
 * published on SAKER_ALERTS as the engine publishes them, and Debian's
 * chromium driven by playwright-core with guards that record any script an
 * alert could have run.
 */
import assert from 'node:assert/strict';
import { randomBytes, scryptSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AlertPriority,
  HEADERS,
  STREAMS,
  SUBJECTS,
  type SensorStats,
  connectNats,
  encodeSensorStats,
  toToken,
} from '@saker/bus';
import type { FalcoAlert } from '@saker/rules';
import { type NatsServerHandle, repoRoot, startNatsServer } from '@saker/testing';
import { type Browser, type BrowserContext, type Page, chromium } from 'playwright-core';
import { SakerProcess } from './saker-process.js';

/** Debian's chromium (scripts/setup.sh). */
const CHROMIUM = '/usr/bin/chromium';
/** Where the screenshots of the main views go (gitignored; docs/ui/ holds a copy). */
const ARTIFACTS = join(repoRoot(), 'e2e', 'artifacts', 'ui');

/** A users-file hash in the documented format (docs/ui.md: scrypt, `$scrypt$ln=…,r=…,p=…$salt$key`). */
export function passwordHash(password: string): string {
  const ln = 10;
  const salt = randomBytes(16);
  const key = scryptSync(password, salt, 32, { N: 2 ** ln, r: 8, p: 1 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${ln},r=8,p=1$${b64(salt)}$${b64(key)}`;
}

export interface UiStackOptions {
  /** `ui.base_path`. */
  readonly basePath?: string;
  /** The users file's content (`name:role:hash` lines), if any. */
  readonly users?: string;
  /** More lines under `ui.auth:` (indented four spaces). */
  readonly auth?: readonly string[];
  /** Also run `saker engine` on the same bus (its stats reports reach the health view). */
  readonly engine?: boolean;
  /** Also run `saker sinks` with Falco's http_output to this URL (its delivery reports reach the health view). */
  readonly sinksTo?: string;
}

/** nats-server, control and ui, over one saker.yaml. */
export class UiStack {
  private constructor(
    readonly dir: string,
    readonly nats: NatsServerHandle,
    readonly control: SakerProcess,
    readonly ui: SakerProcess,
    /** `http://127.0.0.1:port` of the UI. */
    readonly origin: string,
    readonly engine: SakerProcess | null,
    readonly sinks: SakerProcess | null,
  ) {}

  static async start(opts: UiStackOptions): Promise<UiStack> {
    const dir = mkdtempSync(join(tmpdir(), 'saker-e2e-ui-'));
    const nats = await startNatsServer({ jetstream: true });
    const config = join(dir, 'saker.yaml');
    const auth = [...(opts.auth ?? [])];
    if (opts.users !== undefined) {
      writeFileSync(join(dir, 'users'), opts.users);
      auth.push(`    users_file: ${JSON.stringify(join(dir, 'users'))}`);
    }
    writeFileSync(
      config,
      [
        `nats: { url: ${JSON.stringify(nats.url)} }`,
        'telemetry: { listen: 127.0.0.1:0 }',
        'control: { listen: 127.0.0.1:0 }',
        `rules_files: [${JSON.stringify(join(repoRoot(), 'rules', 'saker_rules.yaml'))}]`,
        'log: { format: text, level: info }',
        '',
      ].join('\n'),
    );
    // --load-rules: control puts Saker's rules into KV, where the rules view and the detail read them.
    const control = new SakerProcess('saker control', ['control', '--config', config, '--load-rules']);
    const controlAddress = (await control.waitFor(/control\(address=(127\.0\.0\.1:\d+) /))[1] ?? '';
    let engine: SakerProcess | null = null;
    if (opts.engine === true) {
      // Started from rules_files, then on the ruleset control put in KV (the rules view's revision).
      engine = new SakerProcess('saker engine', ['engine', '--config', config]);
      await engine.waitFor(/engine\(replicas=1 /);
    }
    let sinks: SakerProcess | null = null;
    if (opts.sinksTo !== undefined) {
      const sinksConfig = join(dir, 'sinks.yaml');
      writeFileSync(
        sinksConfig,
        [
          `nats: { url: ${JSON.stringify(nats.url)} }`,
          'telemetry: { listen: 127.0.0.1:0 }',
          'log: { format: text, level: info }',
          'stdout_output: { enabled: false }',
          `http_output: { enabled: true, url: ${JSON.stringify(opts.sinksTo)} }`,
          '',
        ].join('\n'),
      );
      sinks = new SakerProcess('saker sinks', ['sinks', '--config', sinksConfig]);
      await sinks.waitFor(/sinks\(stdout=off outputs=http/);
    }
    writeFileSync(
      config,
      [
        `nats: { url: ${JSON.stringify(nats.url)} }`,
        'telemetry: { listen: 127.0.0.1:0 }',
        'log: { format: text, level: info }',
        'ui:',
        '  listen: 127.0.0.1:0',
        `  base_path: ${JSON.stringify(opts.basePath ?? '/')}`,
        `  control: { address: ${JSON.stringify(controlAddress)} }`,
        '  auth:',
        ...auth,
        '',
      ].join('\n'),
    );
    const ui = new SakerProcess('saker ui', ['ui', '--config', config]);
    const address = (await ui.waitFor(/ui\([^)]*?url=https?:\/\/(127\.0\.0\.1:\d+)/))[1];
    return new UiStack(dir, nats, control, ui, `http://${address}`, engine, sinks);
  }

  /** Publishes alerts as the engine does (one durable message each on saker.v1.alerts.<source>.<priority>). */
  async publish(alerts: readonly FalcoAlert[]): Promise<void> {
    const bus = await connectNats({ url: this.nats.url });
    try {
      await bus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
      for (const a of alerts) {
        const subject = SUBJECTS.alert(a.source, a.priority.toLowerCase() as AlertPriority);
        const data = new TextEncoder().encode(JSON.stringify(a));
        await bus.publishDurable(subject, data, { msgId: randomBytes(8).toString('hex') });
      }
    } finally {
      await bus.close();
    }
  }

  /**
   * What the health view shows, as the services send it: a batch of syscall
   * events from a replay (core NATS, header Saker-Batch-Count), a sensor's
   * status report in its wire format (services/cli sensor-drops.ts publishes
   * one per stats window; its real drop path is sensor-drops.test.ts's) and
   * a dead letter as the sinks write it on SAKER_DEADLETTER.
   */
  async publishHealth(
    node: string,
    deadLetter: { output: string; error: string; alert: FalcoAlert },
    sensor?: SensorStats,
  ): Promise<void> {
    const bus = await connectNats({ url: this.nats.url });
    try {
      bus.publish(SUBJECTS.syscallEvents(node), new Uint8Array(0), { [HEADERS.batchCount]: '500' });
      if (sensor !== undefined)
        bus.publish(SUBJECTS.sensorStats(toToken(sensor.node)), encodeSensorStats(sensor));
      await bus.stream(STREAMS.deadLetter.name, STREAMS.deadLetter.subjects);
      const record = {
        output: deadLetter.output,
        error: deadLetter.error,
        dead_lettered_at: new Date().toISOString(),
        attempts: 5,
        stream_sequences: [1],
        alert: JSON.stringify(deadLetter.alert),
      };
      await bus.publishDurable(
        SUBJECTS.deadLetter(deadLetter.output),
        new TextEncoder().encode(JSON.stringify(record)),
      );
    } finally {
      await bus.close();
    }
  }

  async stop(): Promise<void> {
    const codes = await Promise.all([
      this.ui.stop(),
      this.control.stop(),
      this.engine?.stop() ?? 0,
      this.sinks?.stop() ?? 0,
    ]);
    await this.nats.stop();
    rmSync(this.dir, { recursive: true, force: true });
    assert.deepEqual(
      codes,
      [0, 0, 0, 0],
      `ui:\n${this.ui.stderr}\ncontrol:\n${this.control.stderr}\nengine:\n${this.engine?.stderr ?? ''}\nsinks:\n${this.sinks?.stderr ?? ''}`,
    );
  }
}

/**
 * Chromium as the tests run it. The tests run as root (CI does), and
 * chromium refuses to start as root with its sandbox on: `--no-sandbox` is
 * the only way there, and the pages it loads are the test's own.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}

/** A page whose dialogs, page errors and CSP violations are recorded in `problems`. */
export interface GuardedPage {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly problems: string[];
}

/**
 * `window.__xss` starts at 0; the hostile alerts set it (or open a dialog)
 * if any of their text ever runs as script.
 */
export async function guardedPage(browser: Browser, origin: string): Promise<GuardedPage> {
  const context = await browser.newContext({
    viewport: { width: 1400, height: 1000 },
    acceptDownloads: true,
  });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin });
  await context.addInitScript(
    `window.__xss = 0; window.__csp = [];
     document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));`,
  );
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('dialog', (d) => {
    problems.push(`dialog: ${d.message()}`);
    void d.dismiss();
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  return { context, page, problems };
}

/** Saves a screenshot of the page as e2e/artifacts/ui/<name>.png. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

/** Saves a text (a process's log) as e2e/artifacts/ui/<name>. */
export function saveLog(name: string, text: string): void {
  mkdirSync(ARTIFACTS, { recursive: true });
  writeFileSync(join(ARTIFACTS, name), text);
}

/**
 * Polls `probe` until it gives a value; the failure names what was awaited
 * and, through `seen`, what the page showed at the last try (or the last
 * error).
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
  seen: () => string = () => '',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
      last = undefined;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const shown = seen();
      assert.fail(
        `${what} within ${timeoutMs} ms${shown === '' ? '' : `; last seen: ${shown}`}${last === undefined ? '' : `: ${String(last)}`}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Loads the page again until its "N events" figure is `expected`: the
 * store ingests alerts asynchronously, and a view reads its figures once
 * per load (and once per change of its filters), so a figure read before
 * the last alert was stored would otherwise stay short.
 */
export async function reloadUntilTotal(page: Page, expected: number, timeoutMs = 30_000): Promise<void> {
  let shown = '(none)';
  await until(
    `the view counting ${expected} events`,
    async () => {
      shown = (await page.locator('[data-testid=total]').textContent({ timeout: 5_000 })) ?? '';
      if (shown.startsWith(`${expected} events`)) return true;
      await page.reload();
      return false;
    },
    timeoutMs,
    () => `"${shown}"`,
  );
}
