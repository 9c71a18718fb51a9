/**
 * The web UI in a real browser: Debian's chromium (playwright-core) against
 * the real `saker ui` (with `saker control` for rules) over a real
 * nats-server, fed alerts on SAKER_ALERTS. Drives the dashboard, filters,
 * free text with every special character, a custom range, the detail, the
 * exports, the live stream and its pause, health, rules, dark mode, and
 * proves hostile alert fields stay text. Screenshots of the main views go to
 * e2e/artifacts/ui/.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { FalcoAlert } from '@saker/rules';
import { type AlertReceiver, startAlertReceiver } from '@saker/testing';
import type { Browser, Page } from 'playwright-core';
import {
  type GuardedPage,
  UiStack,
  guardedPage,
  launchChromium,
  passwordHash,
  reloadUntilTotal,
  saveLog,
  screenshot,
  until,
} from './ui-harness.js';

const SPECIALS = ',.<>{}[]"\':;!@#$%^&*()+=~';
const NOW = Date.now();
const OLD = new Date(NOW - 3 * 24 * 3600_000);

const RULES = [
  'Interactive shell in a container',
  'File written below /etc',
  'Container started with privileged mode',
] as const;
const PRIORITIES = ['Critical', 'Warning', 'Notice'] as const;

function alert(i: number, over: Partial<FalcoAlert> = {}): FalcoAlert {
  const ns = i % 2 === 0 ? 'prod' : 'dev';
  const pod = `web-${i % 3}`;
  return {
    time: new Date(NOW - (i + 1) * 60_000).toISOString(),
    rule: RULES[i % 3] ?? 'x',
    priority: PRIORITIES[i % 3] ?? 'Notice',
    source: i % 5 === 4 ? 'k8s_audit' : 'syscall',
    hostname: i % 2 === 0 ? 'node-a' : 'node-b',
    tags: i % 3 === 0 ? ['container', 'shell'] : ['filesystem'],
    output: `Alert number ${i} in ${ns}/${pod} (proc.name=bash)`,
    output_fields: {
      'k8s.ns.name': ns,
      'k8s.pod.name': pod,
      'container.image.repository': i % 2 === 0 ? 'docker.io/library/nginx' : 'docker.io/library/redis',
      'proc.name': 'bash',
      'proc.pid': 1000 + i,
      'proc.ppid': 1,
      'user.name': 'root',
    },
    ...over,
  };
}

/** 30 ordinary alerts (15 in prod), one with every special character, one three days old, the hostile ones. */
const ORDINARY = Array.from({ length: 30 }, (_, i) => alert(i));
const SPECIAL = alert(40, {
  output: `Odd cmdline ${SPECIALS} end`,
  output_fields: { 'proc.cmdline': `sh -c ${SPECIALS}` },
});
const OLD_ALERT = alert(41, { time: OLD.toISOString(), output: 'Old alert from three days ago' });
const HOSTILE = [
  alert(50, {
    rule: 'Interactive shell in a container',
    output: '<script>window.__xss = 1; alert("xss")</script> hostile',
    output_fields: {
      'proc.cmdline': '<img src=x onerror="window.__xss = 2; alert(2)">',
      'k8s.ns.name': 'hostile',
    },
  }),
  alert(51, {
    output: 'ANSI \u001b[31mRED\u001b[0m hostile',
    output_fields: { 'fd.name': 'javascript:window.__xss=3', 'k8s.ns.name': 'hostile' },
    tags: ['<b>bold</b>', 'javascript:alert(4)'],
  }),
];
const ALL = [...ORDINARY, SPECIAL, OLD_ALERT, ...HOSTILE];
/** In the default range (24h): all but the old one. */
const RECENT = ALL.length - 1;

/** The "N events" figure the view shows once it has loaded. */
async function total(page: Page, expected: number): Promise<void> {
  let shown = '(none)';
  await until(
    `total ${expected}`,
    async () => {
      shown = (await page.locator('[data-testid=total]').textContent({ timeout: 5_000 })) ?? '';
      return shown.startsWith(`${expected} events`);
    },
    15_000,
    () => `"${shown}"`,
  );
}

/** A fresh load of a view (the tests do not depend on what the one before left open). */
async function open(page: Page, path: string): Promise<void> {
  await page.goto(`${origin}/${path}`);
  await page.locator('main').waitFor();
}

let origin = '';

const rowCount = (page: Page) => page.locator('table.event-table tbody tr').count();

describe('web UI in chromium', { timeout: 300_000 }, () => {
  let stack: UiStack;
  let browser: Browser;
  let g: GuardedPage;
  let page: Page;
  /** Where `saker sinks` delivers (http_output): 400 for "Refuse me", 500 once for "Flaky once", else 200. */
  let receiver: AlertReceiver;
  let flakyFailed = false;

  before(async () => {
    receiver = await startAlertReceiver((body) => {
      if (body.includes('Refuse me')) return 400;
      if (body.includes('Flaky once') && !flakyFailed) {
        flakyFailed = true;
        return 500;
      }
      return 200;
    });
    stack = await UiStack.start({
      users: `alice:admin:${passwordHash('alice-pw')}\nbob:viewer:${passwordHash('bob-pw')}\n`,
      engine: true,
      sinksTo: receiver.url,
    });
    origin = stack.origin;
    await stack.publish(ALL);
    browser = await launchChromium();
    g = await guardedPage(browser, stack.origin);
    page = g.page;
  });

  after(async () => {
    await browser?.close();
    // The server's log next to the screenshots, for when a step failed.
    if (stack !== undefined) saveLog('ui-views-saker-ui.log', stack.ui.stderr);
    await stack?.stop();
    await receiver?.close();
  });

  it('asks for a login, refuses a wrong password, then logs the admin in', async () => {
    await page.goto(`${stack.origin}/`);
    await page.locator('input[name=username]').fill('alice');
    await page.locator('input[name=password]').fill('wrong');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.error').waitFor();
    await page.locator('input[name=password]').fill('alice-pw');
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.locator('.user[data-role=admin]').waitFor();
    // The store ingests asynchronously, and the dashboard reads its counts once per load.
    await reloadUntilTotal(page, RECENT);
  });

  it('dashboard: pies, rule bars and timelines; clicking a slice filters', async () => {
    // data-drawn: Chart.js (and its click handler) is set up in an effect after the render that made the canvas.
    for (const chart of ['source', 'priority', 'tag', 'rule', 'timeline-priority', 'timeline-source'])
      await page.locator(`figure[data-chart="${chart}"] canvas[data-drawn]`).waitFor();
    await screenshot(page, 'dashboard', true);
    const box = await page.locator('figure[data-chart="priority"] canvas').boundingBox();
    assert.ok(box);
    // The pie sits left of its legend: a point a little right of the pie's centre is inside a slice.
    await page.mouse.click(box.x + box.height / 2 + 20, box.y + box.height / 2 + 5);
    const picked = await until(
      'a priority filter in the URL',
      async () => new URL(page.url()).searchParams.get('priority') ?? undefined,
      15_000,
      () => page.url(),
    );
    assert.ok((PRIORITIES as readonly string[]).includes(picked), picked);
    const expected = ALL.filter((a) => a.priority === picked && a !== OLD_ALERT).length;
    await total(page, expected);
    await page.getByRole('button', { name: `priority=${picked} ✕` }).click();
    await total(page, RECENT);
  });

  it('filters: namespace from the bar, a pod from a field of a row, kept in the URL across a reload', async () => {
    await open(page, '');
    await page.locator('a[data-view=events]').click();
    await total(page, RECENT);
    await page.locator('select[name=key]').selectOption('namespace');
    await page.locator('input[name=value]').fill('prod');
    await page.getByRole('button', { name: 'Add filter' }).click();
    const prod = ALL.filter((a) => a.output_fields['k8s.ns.name'] === 'prod' && a !== OLD_ALERT);
    await total(page, prod.length);
    await page.locator('button.field', { hasText: 'k8s.pod.name=web-0' }).first().click();
    const prodWeb0 = prod.filter((a) => a.output_fields['k8s.pod.name'] === 'web-0').length;
    await total(page, prodWeb0);
    const url = new URL(page.url());
    assert.deepEqual(url.searchParams.getAll('namespace'), ['prod']);
    assert.deepEqual(url.searchParams.getAll('pod'), ['web-0']);
    await page.reload();
    await total(page, prodWeb0);
    assert.equal(await rowCount(page), prodWeb0);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await total(page, RECENT);
    await screenshot(page, 'events');
  });

  it(`free text accepts every one of ${SPECIALS} and matches literally`, async () => {
    await open(page, 'events');
    await page.locator('input[name=q]').fill(SPECIALS);
    await page.locator('input[name=q]').press('Enter');
    await total(page, 1);
    assert.equal(new URL(page.url()).searchParams.get('q'), SPECIALS);
    assert.match(
      (await page.locator('table.event-table tbody tr .output-text').textContent()) ?? '',
      /Odd cmdline/,
    );
    // Each character alone is a valid search too (never a syntax error).
    const statuses = await page.evaluate(`Promise.all([...${JSON.stringify(SPECIALS)}].map((c) =>
      fetch('api/events?q=' + encodeURIComponent(c) + '&since=24h&limit=1').then((r) => c + r.status)))`);
    assert.deepEqual(
      statuses,
      [...SPECIALS].map((c) => `${c}200`),
    );
    await page.locator('input[name=q]').fill('');
    await page.locator('input[name=q]').press('Enter');
    await total(page, RECENT);
  });

  it('custom from/to range in UTC finds the three-day-old alert alone', async () => {
    await open(page, 'events');
    await page.locator('select[name=tz]').selectOption('UTC');
    await page.locator('select[name=since]').selectOption('custom');
    const iso = (ms: number) => new Date(ms).toISOString().slice(0, 16);
    await page.locator('input[name=from]').fill(iso(OLD.getTime() - 3600_000));
    await page.locator('input[name=to]').fill(iso(OLD.getTime() + 3600_000));
    await total(page, 1);
    assert.match(
      (await page.locator('table.event-table tbody tr .output-text').textContent()) ?? '',
      /Old alert/,
    );
    const timeCell = (await page.locator('table.event-table tbody tr td.time').textContent()) ?? '';
    assert.equal(timeCell.slice(0, 16), OLD.toISOString().slice(0, 16).replace('T', ' '), 'shown in UTC');
    await page.locator('select[name=since]').selectOption('24h');
    await total(page, RECENT);
  });

  it('detail: fields, the rule from control, raw JSON with copy, related events of the same pod', async () => {
    const target = ORDINARY[0];
    assert.ok(target);
    await open(page, 'events');
    await page.locator('input[name=q]').fill(target.output);
    await page.locator('input[name=q]').press('Enter');
    await total(page, 1);
    await page.locator('table.event-table tbody tr td.time button').click();
    const dialog = page.locator('dialog.detail');
    await dialog.waitFor();
    await dialog.locator('pre.json').waitFor();
    const json = JSON.parse((await dialog.locator('pre.json').textContent()) ?? '{}') as FalcoAlert;
    assert.equal(json.output, target.output);
    assert.deepEqual(json.output_fields, target.output_fields);
    await dialog.locator('section.rule pre.condition').waitFor();
    assert.match((await dialog.locator('section.rule h3').textContent()) ?? '', new RegExp(target.rule));
    assert.ok(new URL(page.url()).searchParams.get('event'), 'the open event is in the URL');
    await screenshot(page, 'detail');
    await dialog.getByRole('button', { name: 'Copy' }).click();
    await dialog.getByRole('button', { name: 'Copied' }).waitFor();
    const copied = JSON.parse(String(await page.evaluate('navigator.clipboard.readText()'))) as FalcoAlert;
    assert.equal(copied.output, target.output);
    await dialog.getByRole('button', { name: 'Same pod' }).click();
    const samePod = ALL.filter(
      (a) =>
        a.output_fields['k8s.pod.name'] === target.output_fields['k8s.pod.name'] &&
        a.output_fields['k8s.ns.name'] === target.output_fields['k8s.ns.name'] &&
        a !== OLD_ALERT,
    ).length;
    await total(page, samePod);
  });

  it('exports JSON lines and CSV of the filtered events', async () => {
    await open(page, 'events');
    await page.locator('select[name=key]').selectOption('namespace');
    await page.locator('input[name=value]').fill('prod');
    await page.getByRole('button', { name: 'Add filter' }).click();
    const prod = ALL.filter((a) => a.output_fields['k8s.ns.name'] === 'prod' && a !== OLD_ALERT);
    await total(page, prod.length);
    const [jsonl] = await Promise.all([
      page.waitForEvent('download'),
      page.getByText('Export JSON lines').click(),
    ]);
    const lines = readFileSync(await jsonl.path(), 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(lines.length, prod.length);
    const outputs = lines.map((l) => (JSON.parse(l) as FalcoAlert).output).sort();
    assert.deepEqual(outputs, prod.map((a) => a.output).sort());
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByText('Export CSV').click()]);
    const text = readFileSync(await csv.path(), 'utf8');
    const rows = text.split(/\r?\n/).filter((l) => l !== '');
    assert.equal(rows.length, prod.length + 1, 'a header and one row per event');
    assert.match(rows[0] ?? '', /rule/);
    for (const a of prod) assert.ok(text.includes(a.output), a.output);
    await page.getByRole('button', { name: 'Clear filters' }).click();
    await total(page, RECENT);
  });

  it('live stream shows new alerts as they arrive; pause holds them until resumed', async () => {
    await open(page, 'events');
    await page.getByRole('button', { name: 'Live', exact: true }).click();
    await page.locator('.live-state[data-state=live]').waitFor();
    await stack.publish([alert(60, { output: 'Live one' })]);
    await page.locator('.output-text', { hasText: 'Live one' }).waitFor();
    await page.getByRole('button', { name: 'Pause' }).click();
    await stack.publish([alert(61, { output: 'Live two' })]);
    await page.locator('.live-state', { hasText: 'paused (1 new)' }).waitFor();
    assert.equal(await page.locator('.output-text', { hasText: 'Live two' }).count(), 0, 'held while paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await page.locator('.output-text', { hasText: 'Live two' }).waitFor();
    await page.getByRole('button', { name: 'Stop live' }).click();
    await total(page, RECENT + 2);
  });

  it('health view: sensors with events/s and drops, the engine with revision and lag, a dead letter the admin redelivers', async () => {
    const drops = { ringbuf: 1200, scratch: 0, enterFull: 3, batcher: 40 };
    await stack.publishHealth(
      'node-a',
      { output: 'webhook', error: 'HTTP 503 from the receiver', alert: alert(70) },
      {
        node: 'node-b.example',
        version: '0.1.0',
        time: Date.now(),
        windowS: 1,
        events: 48_000,
        drops: { ringbuf: 120, scratch: 0, enterFull: 0, batcher: 6 },
        ratio: 126 / 48_120,
        eventsTotal: 2_400_000,
        dropsTotal: drops,
      },
    );
    await open(page, 'health');
    for (const h of ['Sensors', 'Engines', 'Outputs', 'Dead letters'])
      await page.getByRole('heading', { name: h }).waitFor();
    const cells = async (table: string, key: string): Promise<string[]> => {
      const row = page.locator(`table[aria-label="${table}"] tr`, { hasText: key }).first();
      return (
        (await row
          .locator('td')
          .allTextContents()
          .catch(() => [])) ?? []
      );
    };
    await until('the sensors, the engine and the dead letter shown', async () => {
      await page.getByRole('button', { name: 'Refresh' }).click();
      const dead =
        (await page
          .locator('table[aria-label="Dead letters"]')
          .textContent()
          .catch(() => '')) ?? '';
      const engine = await cells('Engines', 'running');
      return (
        (await cells('Sensors', 'node-a')).length > 0 &&
        (await cells('Sensors', 'node-b.example')).length > 0 &&
        Number(engine[2]) >= 1 &&
        engine[6] === '0' &&
        dead.includes('HTTP 503 from the receiver')
      );
    });
    // node, events/s, drops/s, drops total, by stage, version, last seen
    const b = await cells('Sensors', 'node-b.example');
    assert.deepEqual(b.slice(0, 6), [
      'node-b.example',
      '48000',
      '126',
      '1243',
      'ringbuf 1200, scratch 0, enter_full 3, batcher 40',
      '0.1.0',
    ]);
    // A replay publisher has no status reports: its drops are unknown, not 0.
    assert.deepEqual((await cells('Sensors', 'node-a')).slice(2, 4), ['unknown', 'unknown']);
    // id, state, revision (control's KV revision, which the engine loaded), lag ms, in flight, dropped, audit pending
    const e = await cells('Engines', 'running');
    const revision = Number(e[2]);
    assert.ok(revision >= 1, `engine revision ${e[2]}`);
    assert.match(e[3] ?? '', /^\d+$/, `lag ms ${e[3]}`);
    assert.equal(e[6], '0', 'audit pending');
    assert.deepEqual(await page.locator('.health .error').allTextContents(), [], 'the health API answered');
    await screenshot(page, 'health');
    await page.getByRole('button', { name: 'Redeliver' }).click();
    await page.locator('.health .message', { hasText: 'redelivered' }).waitFor();
  });

  it("health view: each output's deliveries from the sinks' delivery reports, per output and per sinks instance", async () => {
    await stack.publish([
      alert(80, { output: 'Flaky once at the receiver' }),
      alert(81, { output: 'Refuse me' }),
    ]);
    await open(page, 'health');
    /**
     * The outputs row, the sinks instance row and the dead letters as one
     * render shows them (read in one evaluate: the view refreshes itself
     * every 5 s, and two reads could straddle a refresh). A row is the one
     * whose `column`th cell is exactly "http" (another row's error may say
     * "HTTP 503").
     */
    interface HealthSnapshot {
      readonly out: string[];
      readonly inst: string[];
      readonly dead: string;
    }
    const snapshot = async (): Promise<HealthSnapshot> =>
      (await page.evaluate(`(() => {
        const row = (table, column) => {
          const rows = [...document.querySelectorAll('table[aria-label="' + table + '"] tbody tr')];
          const r = rows.find((tr) => tr.querySelector('td:nth-child(' + column + ')')?.textContent?.trim() === 'http');
          return r === undefined ? [] : [...r.querySelectorAll('td')].map((td) => td.textContent ?? '');
        };
        return {
          out: row('Outputs', 1),
          inst: row('Sinks instances', 2),
          dead: document.querySelector('table[aria-label="Dead letters"]')?.textContent ?? '',
        };
      })()`)) as HealthSnapshot;
    let last: HealthSnapshot | undefined;
    let answered = '';
    // The reports come every interval and the dead letter through its own
    // consumer: wait until one render shows what the receiver answered.
    const { out, inst, dead } = await until(
      "the http output's figures equal what the receiver answered, and the refused alert among the dead letters",
      async () => {
        await page.getByRole('button', { name: 'Refresh' }).click();
        const snap = await snapshot();
        last = snap;
        const ok = receiver.received.filter((r) => r.status === 200).length;
        const failed = receiver.received.length - ok;
        answered = `${ok} delivered, ${failed} failed`;
        const c = snap.out;
        return (
          c[1] === String(ok) &&
          c[2] === String(failed) &&
          failed === 2 &&
          c[4] === '1' &&
          /400/.test(snap.dead) &&
          snap
        );
      },
      30_000,
      () => `receiver ${answered}; view ${JSON.stringify(last)}`,
    );
    // name, delivered, failed, retried, dead lettered, last error, instances, source
    assert.ok(Number(out[1]) > ALL.length, `delivered ${out[1]}: every alert published`);
    assert.deepEqual([out[0], out[3], out[6], out[7]], ['http', '1', '1', 'reports']);
    assert.match(out[5] ?? '', /400|500/);
    // instance, output, status, delivered, failed, retried, dead lettered, ...
    assert.deepEqual(inst.slice(1, 8), ['http', 'running', ...out.slice(1, 5), out[5] ?? '']);
    assert.match(inst[0] ?? '', /-\d+$/, 'the instance is <hostname>-<pid>');
    assert.match(dead, /HTTP 400|400/, 'the refused alert is a dead letter');
    await screenshot(page, 'health', true);
  });

  it('rules view: the admin disables a rule with a comment through control', async () => {
    await open(page, 'rules');
    const row = page.locator(`tr[data-rule="${RULES[1]}"]`);
    await row.waitFor();
    assert.equal(await row.locator('td.enabled').textContent(), 'yes');
    const before = (await page.locator('.revision').textContent()) ?? '';
    await row.locator('input[type=checkbox]').check();
    await page.locator('input[name=comment]').fill('noisy on build nodes');
    await page.getByRole('button', { name: 'Disable selected' }).click();
    await page.locator('.message', { hasText: 'disabled 1 rule' }).waitFor();
    await until(
      'the rule shown disabled',
      async () => (await row.locator('td.enabled').textContent()) === 'no',
    );
    assert.notEqual(await page.locator('.revision').textContent(), before, 'a new revision');
    // The history names the logged-in user as the author, with the identity the UI called control as.
    const newest = page.locator('table[aria-label=Revisions] tbody tr').first();
    await until('the revision in the history', async () => {
      await open(page, 'rules');
      return ((await newest.locator('td.comment').textContent()) ?? '') === 'noisy on build nodes';
    });
    assert.equal(await newest.locator('td.author').textContent(), 'ui:alice via unauthenticated:127.0.0.1');
    await screenshot(page, 'rules');
  });

  it('info page: the version and the store against its limits', async () => {
    await open(page, 'info');
    const version = (await page.locator('[data-testid=version]').textContent()) ?? '';
    assert.match(version, /^\d+\.\d+\.\d+/);
    const facts = (await page.locator('.info .facts').textContent()) ?? '';
    assert.match(facts, /Store rows\s*\d+/);
    assert.match(facts, /Store limits/);
  });

  it('dark mode: toggled, kept across a reload', async () => {
    // The theme lands on <html> in an effect after the click's render, so wait for it (a few ms) rather than read at once.
    // Polled with evaluate (a Playwright waitForFunction once rejected at once in CI, the theme then right), errors retried.
    const theme = async (want: string): Promise<void> => {
      let got = '';
      await until(
        `the page's theme ${JSON.stringify(want)} after the toggle`,
        async () => {
          got = String(await page.evaluate('document.documentElement.dataset.theme'));
          return got === want;
        },
        5_000,
        () => JSON.stringify(got),
      );
    };
    await open(page, '');
    await page.getByRole('button', { name: 'Toggle dark mode' }).click();
    await theme('dark');
    await page.reload();
    await page.locator('figure[data-chart="rule"] canvas').waitFor();
    await theme('dark'); // kept across the reload
    const bg = String(await page.evaluate('getComputedStyle(document.body).backgroundColor'));
    assert.equal(bg, 'rgb(20, 22, 26)');
    await screenshot(page, 'dark-dashboard', true);
    await page.getByRole('button', { name: 'Toggle dark mode' }).click();
    await theme('light');
  });

  it('hostile fields (<script>, <img onerror>, javascript: links, ANSI escapes) render as text and run nothing', async () => {
    await open(page, 'events?namespace=hostile');
    await total(page, HOSTILE.length);
    const table = page.locator('table.event-table');
    assert.ok(
      ((await table.textContent()) ?? '').includes('<script>window.__xss = 1; alert("xss")</script> hostile'),
    );
    assert.ok(
      ((await table.textContent()) ?? '').includes('<img src=x onerror="window.__xss = 2; alert(2)">'),
    );
    assert.ok(
      ((await table.textContent()) ?? '').includes('ANSI \\x1b[31mRED\\x1b[0m hostile'),
      'ANSI escapes shown as text',
    );
    assert.equal(await table.locator('script, img, b').count(), 0, 'no element made from alert text');
    const hrefs = (await page.evaluate(
      `[...document.querySelectorAll('a')].map((a) => a.getAttribute('href') || '')`,
    )) as string[];
    assert.ok(
      hrefs.every((h) => !/^\s*javascript:/i.test(h)),
      hrefs.join(' '),
    );
    await page.locator('table.event-table tbody tr td.time button').first().click();
    await page.locator('dialog.detail pre.json').waitFor();
    await screenshot(page, 'hostile-detail');
    assert.equal(await page.locator('dialog.detail').locator('script, img').count(), 0);
    assert.equal(await page.evaluate('window.__xss'), 0, 'no alert text ran as script');
    assert.deepEqual(await page.evaluate('window.__csp'), [], 'no CSP violation (nothing tried to run)');
    assert.deepEqual(g.problems, []);
  });
});
