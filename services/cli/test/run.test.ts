import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startNatsServer } from '@saker/testing';
import { formatStdoutLine } from '../src/services/parts.js';

// `saker run` is tested as users run it: the built binary in a child process,
// looking only at its streams, its endpoints and its exit code.
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');

const SHADOW_RULE = `
- rule: Shadow read
  desc: Someone read the shadow file
  condition: evt.type = openat and fd.name = /etc/shadow
  output: "shadow read (file=%fd.name proc=%proc.name)"
  priority: WARNING
  tags: [test, filesystem]
`;

const PASSWD_RULE = `
- rule: Passwd read
  desc: Someone read the passwd file
  condition: evt.type = openat and fd.name = /etc/passwd
  output: "passwd read (file=%fd.name proc=%proc.name)"
  priority: ERROR
  tags: [test]
`;

/** An openat of `path` by cat, as the sensor records it; `i` makes each event distinct. */
function openEvent(i: number, path: string): string {
  return JSON.stringify({
    source: 'syscall',
    ts: String(1715677923000000000n + BigInt(i) * 1000n),
    num: i,
    cpu: 0,
    hostname: 'worker-1',
    type: 'openat',
    dir: '<',
    res: 3,
    args: { fd: 3, dirfd: -100, name: path, flags: 'O_RDONLY', mode: 0 },
    proc: {
      pid: 1000 + i,
      tid: 1000 + i,
      ppid: 1,
      name: 'cat',
      exe: 'cat',
      exepath: '/usr/bin/cat',
      args: [path],
      cwd: '/',
      tty: 0,
      start_ts: '1715677923000000000',
    },
    ancestors: [],
    user: { uid: 0, name: 'root', loginuid: -1 },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: path },
    container: { id: 'host' },
  });
}

function eventsFile(file: string, events: readonly [number, string][]): void {
  writeFileSync(file, `${events.map(([i, p]) => openEvent(i, p)).join('\n')}\n`);
}

/** Writes under another name and renames, so the replay dir never sees half a file. */
function dropInto(dir: string, name: string, events: readonly [number, string][]): void {
  const tmp = join(dir, `.${name}.tmp`);
  eventsFile(tmp, events);
  renameSync(tmp, join(dir, name));
}

class SakerProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<number | null>;
  #waiters: (() => void)[] = [];

  constructor(args: readonly string[], opts: { cwd: string; env?: Record<string, string> }) {
    this.child = spawn(process.execPath, [MAIN, 'run', ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.#wake();
    });
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.#wake();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)));
    void this.exited.then(() => this.#wake());
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const f of w) f();
  }

  lines(): string[] {
    return this.stdout.split('\n').filter((l) => l !== '');
  }

  /** Waits until `test` holds, failing with both streams after `timeoutMs`. */
  async until(what: string, test: () => boolean, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test()) {
      if (this.child.exitCode !== null) {
        assert.fail(`saker run exited (${this.child.exitCode}) while waiting for ${what}\n${this.stderr}`);
      }
      const left = deadline - Date.now();
      if (left <= 0)
        assert.fail(`timed out waiting for ${what}\nstdout:\n${this.stdout}\nstderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 500));
        this.#waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async stop(): Promise<number | null> {
    this.child.kill('SIGTERM');
    return this.exited;
  }
}

/** What append_output's default (Falco's: suggested_output) appends to a syscall alert of a host process. */
const SUGGESTED_HOST =
  ' container_id=host container_name=host container_image_repository=<NA> container_image_tag=<NA> k8s_pod_name=<NA> k8s_ns_name=<NA>';

const TEXT_LINE = new RegExp(
  `^\\d\\d:\\d\\d:\\d\\d\\.\\d{9}: (Warning|Error) (shadow|passwd) read \\(file=/etc/(shadow|passwd) proc=cat\\)${SUGGESTED_HOST}$`,
);

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'saker-run-'));
  dirs.push(d);
  return d;
}
const running: SakerProcess[] = [];
function startRun(
  args: readonly string[],
  opts: { cwd: string; env?: Record<string, string> },
): SakerProcess {
  const p = new SakerProcess(args, opts);
  running.push(p);
  return p;
}
after(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const QUIET = ['--control-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--no-sensor'];

describe('saker run', () => {
  it('prints Falco text alerts, hot-swaps edited rules, keeps them on a broken edit, drains on SIGTERM', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'rules'));
    mkdirSync(join(dir, 'drop'));
    const rulesFile = join(dir, 'rules', 'test_rules.yaml');
    writeFileSync(rulesFile, SHADOW_RULE);
    eventsFile(join(dir, 'first.jsonl'), [
      [1, '/etc/shadow'],
      [2, '/etc/passwd'],
      [3, '/etc/shadow'],
      [4, '/etc/hosts'],
      [5, '/etc/shadow'],
    ]);
    const run = startRun(['-r', 'rules', '--replay', 'first.jsonl', '--replay-dir', 'drop', ...QUIET], {
      cwd: dir,
    });
    await run.until('3 shadow alerts', () => run.lines().length >= 3);
    for (const line of run.lines()) assert.match(line, TEXT_LINE);
    assert.ok(run.lines().every((l) => l.includes('Warning shadow read')));

    const metrics = /metrics=(http:\/\/\S+)/.exec(run.stderr)?.[1];
    assert.ok(metrics, run.stderr);
    const health = await fetch(`${metrics}/healthz`);
    assert.equal(health.status, 200);
    assert.match(await (await fetch(`${metrics}/metrics`)).text(), /^saker_stdout_alerts_total 3$/m);

    // A new rule: once reloaded, later events fire it.
    writeFileSync(rulesFile, SHADOW_RULE + PASSWD_RULE);
    // The reload is written to KV at once; the engine swaps after vetting it in its
    // compile worker, so wait for the engine, not the writer.
    await run.until('the reload', () => /rules reloaded: revision \d+, 2 rules/.test(run.stderr));
    await run.until('the swap', () => /ruleset revision \d+ in use \(2 rules/.test(run.stderr));
    dropInto(join(dir, 'drop'), '02.jsonl', [
      [6, '/etc/passwd'],
      [7, '/etc/shadow'],
      [8, '/etc/passwd'],
    ]);
    await run.until('6 alerts', () => run.lines().length >= 6);
    const later = run.lines().slice(3);
    assert.equal(later.filter((l) => l.includes('Error passwd read')).length, 2);
    assert.equal(later.filter((l) => l.includes('Warning shadow read')).length, 1);

    // A broken edit keeps the rules in use and says why.
    writeFileSync(rulesFile, `${SHADOW_RULE}\n- rule: Broken\n  condition: evt.type = = openat\n`);
    await run.until('the refusal', () => /do not load; keeping the rules in use/.test(run.stderr));
    dropInto(join(dir, 'drop'), '03.jsonl', [[9, '/etc/passwd']]);
    await run.until('7 alerts', () => run.lines().length >= 7);
    assert.match(run.lines()[6] ?? '', /Error passwd read/);

    assert.equal(await run.stop(), 0);
    assert.match(run.stderr, /stopped; .*sinks: 7 alerts printed/);
    assert.equal(run.lines().length, 7);
  });

  it(
    "with sensor.worker, the probe's events are evaluated in the sensor's worker thread",
    { skip: process.getuid?.() === 0 ? false : 'NOT ROOT: the probe needs root' },
    async () => {
      const dir = tempDir();
      mkdirSync(join(dir, 'rules'));
      writeFileSync(join(dir, 'rules', 'test_rules.yaml'), SHADOW_RULE);
      writeFileSync(
        join(dir, 'saker.yaml'),
        'rules_files: [rules]\nwatch_config_files: false\nsensor:\n  worker: true\n',
      );
      const run = startRun(
        ['--config', 'saker.yaml', '--control-listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0'],
        { cwd: dir },
      );
      await run.until(
        'the node worker',
        () => /the node worker evaluates the probe's events/.test(run.stderr),
        60_000,
      );
      // The probe is live once the service said so; the read may need repeating on a lagging host.
      await run.until(
        'a shadow alert',
        () => {
          spawn('cat', ['/etc/shadow'], { stdio: 'ignore' });
          return run.lines().length > 0;
        },
        60_000,
      );
      for (const line of run.lines()) assert.match(line, TEXT_LINE);
      assert.equal(await run.stop(), 0);
    },
  );

  it('reloads the rules on SIGHUP (systemctl reload), also with watch_config_files off', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'rules'));
    mkdirSync(join(dir, 'drop'));
    const rulesFile = join(dir, 'rules', 'r.yaml');
    writeFileSync(rulesFile, SHADOW_RULE);
    writeFileSync(join(dir, 'saker.yaml'), 'rules_files: [rules]\nwatch_config_files: false\n');
    const run = startRun(['--config', 'saker.yaml', '--replay-dir', 'drop', ...QUIET], { cwd: dir });
    await run.until('the start', () => /saker: running: .* rules=1\b/.test(run.stderr));
    writeFileSync(rulesFile, SHADOW_RULE + PASSWD_RULE);
    run.child.kill('SIGHUP');
    // The reload is written to KV at once; the engine swaps after vetting it in its
    // compile worker, so wait for the engine, not the writer.
    await run.until('the reload', () => /rules reloaded: revision \d+, 2 rules/.test(run.stderr));
    await run.until('the swap', () => /ruleset revision \d+ in use \(2 rules/.test(run.stderr));
    assert.match(run.stderr, /SIGHUP, reloading the rules/);
    dropInto(join(dir, 'drop'), '01.jsonl', [[1, '/etc/passwd']]);
    await run.until('the new rule', () => run.lines().length >= 1);
    assert.match(run.lines()[0] ?? '', /Error passwd read/);
    assert.equal(await run.stop(), 0, run.stderr);
  });

  it("prints Falco's JSON with json_output, and loses no alert when stopped right after a replay", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'r.yaml'), SHADOW_RULE);
    const n = 300;
    eventsFile(
      join(dir, 'many.jsonl'),
      Array.from({ length: n }, (_, i) => [i + 1, '/etc/shadow'] as [number, string]),
    );
    writeFileSync(
      join(dir, 'saker.yaml'),
      'rules_files: [rules]\njson_output: true\njson_include_tags_property: false\nwatch_config_files: false\n',
    );
    const run = startRun(['--config', 'saker.yaml', '--replay', 'many.jsonl', ...QUIET], { cwd: dir });
    await run.until('the replay', () => /many\.jsonl: 300 events published/.test(run.stderr));
    assert.equal(await run.stop(), 0, run.stderr);
    const lines = run.lines();
    assert.equal(lines.length, n, run.stderr);
    const seen = new Set<string>();
    for (const line of lines) {
      assert.match(line, /^\{"hostname":"worker-1","output":".*", "output_fields": \{.*\}\}$/);
      const a = JSON.parse(line) as Record<string, unknown>;
      assert.equal(a.rule, 'Shadow read');
      assert.equal(a.priority, 'Warning');
      assert.equal(a.source, 'syscall');
      assert.equal(a.tags, undefined);
      assert.match(String(a.time), /^2024-05-14T09:12:03\.\d{9}Z$/);
      const fields = a.output_fields as Record<string, unknown>;
      assert.equal(fields['fd.name'], '/etc/shadow');
      assert.equal(fields['proc.name'], 'cat');
      seen.add(String(a.time));
    }
    assert.equal(seen.size, n, 'every alert printed once');
  });

  it("serves neither the control API nor /metrics when both are 'off'", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'r.yaml'), SHADOW_RULE);
    eventsFile(join(dir, 'e.jsonl'), [[1, '/etc/shadow']]);
    const run = startRun(
      [
        '-r',
        'rules',
        '--replay',
        'e.jsonl',
        '--control-listen',
        'off',
        '--metrics-listen',
        'off',
        '--no-sensor',
      ],
      { cwd: dir },
    );
    await run.until('the alert', () => run.lines().length === 1);
    assert.match(run.stderr, /saker: running: /);
    assert.doesNotMatch(run.stderr, /metrics=|control\(/);
    assert.equal(await run.stop(), 0, run.stderr);
  });

  it('refuses to start when the rules do not load, and on an unknown config key', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'bad.yaml'), '- rule: x\n  condition: evt.type = = openat\n');
    const bad = startRun(['-r', 'bad.yaml', ...QUIET], { cwd: dir });
    assert.equal(await bad.exited, 1);
    assert.match(bad.stderr, /not starting: the rules have errors/);
    writeFileSync(join(dir, 'saker.yaml'), 'http_output:\n  ulr: http://x\n');
    const cfg = startRun(['--config', 'saker.yaml', ...QUIET], { cwd: dir });
    assert.equal(await cfg.exited, 2);
    assert.match(cfg.stderr, /saker\.yaml:2:3: http_output\.ulr: unknown key \(did you mean url\?\)/);
  });

  it("delivers to file_output as Falco's JSON lines, and nothing on stdout when stdout_output is off", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'rules'));
    writeFileSync(join(dir, 'rules', 'r.yaml'), SHADOW_RULE + PASSWD_RULE);
    eventsFile(join(dir, 'e.jsonl'), [
      [1, '/etc/shadow'],
      [2, '/etc/passwd'],
      [3, '/etc/hosts'],
      [4, '/etc/shadow'],
    ]);
    const alertsFile = join(dir, 'out', 'alerts.json');
    mkdirSync(join(dir, 'out'));
    writeFileSync(
      join(dir, 'saker.yaml'),
      'rules_files: [rules]\nwatch_config_files: false\njson_output: true\n' +
        'stdout_output:\n  enabled: false\nsyslog_output:\n  enabled: false\n' +
        `file_output:\n  enabled: true\n  filename: ${alertsFile}\n`,
    );
    const run = startRun(['--config', 'saker.yaml', '--replay', 'e.jsonl', ...QUIET], { cwd: dir });
    await run.until('the replay', () => /e\.jsonl: 4 events published/.test(run.stderr));
    assert.equal(await run.stop(), 0, run.stderr);
    assert.match(run.stderr, /stdout=off outputs=file\b/);
    assert.match(run.stderr, /stopped; .*sinks: delivered: file=3/);
    assert.equal(run.stdout, '');
    const lines = readFileSync(alertsFile, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(lines.length, 3, run.stderr);
    const rules: string[] = [];
    for (const line of lines) {
      assert.match(line, /^\{"hostname":"worker-1","output":"\d\d:\d\d:\d\d\.\d{9}: (Warning|Error) /);
      const a = JSON.parse(line) as Record<string, unknown>;
      assert.equal(a.source, 'syscall');
      assert.ok(Array.isArray(a.tags));
      assert.equal((a.output_fields as Record<string, unknown>)['proc.name'], 'cat');
      rules.push(String(a.rule));
    }
    assert.deepEqual(rules.sort(), ['Passwd read', 'Shadow read', 'Shadow read']);
  });

  it("posts Falco's JSON to http_output, honouring sinks.outputs.http.minimum_priority", async () => {
    const received: { type: string | undefined; agent: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        received.push({ type: req.headers['content-type'], agent: req.headers['user-agent'], body });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const dir = tempDir();
      mkdirSync(join(dir, 'rules'));
      writeFileSync(join(dir, 'rules', 'r.yaml'), SHADOW_RULE + PASSWD_RULE);
      eventsFile(join(dir, 'e.jsonl'), [
        [1, '/etc/shadow'],
        [2, '/etc/passwd'],
        [3, '/etc/shadow'],
        [4, '/etc/passwd'],
      ]);
      writeFileSync(
        join(dir, 'saker.yaml'),
        'rules_files: [rules]\nwatch_config_files: false\njson_output: true\n' +
          'syslog_output:\n  enabled: false\n' +
          `http_output:\n  enabled: true\n  url: http://127.0.0.1:${port}/\n` +
          'sinks:\n  outputs:\n    http:\n      minimum_priority: error\n',
      );
      const run = startRun(['--config', 'saker.yaml', '--replay', 'e.jsonl', ...QUIET], { cwd: dir });
      await run.until('the replay', () => /e\.jsonl: 4 events published/.test(run.stderr));
      assert.equal(await run.stop(), 0, run.stderr);
      assert.match(run.stderr, /stdout=json outputs=stdout,http\b/);
      assert.match(run.stderr, /stopped; .*sinks: 4 alerts printed, delivered: http=2/);
      assert.equal(run.lines().length, 4);
      assert.equal(received.length, 2, run.stderr);
      for (const r of received) {
        assert.equal(r.type, 'application/json');
        assert.equal(r.agent, 'falcosecurity/falco');
        assert.match(r.body, /^\{"hostname":"worker-1","output":".*", "output_fields": \{.*\}/);
        const a = JSON.parse(r.body) as Record<string, unknown>;
        assert.equal(a.rule, 'Passwd read');
        assert.equal(a.priority, 'Error');
        assert.deepEqual(a.tags, ['test']);
        assert.ok(run.lines().includes(r.body.trim()), 'the same JSON as on stdout');
      }
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it("delivers Slack's payload to sinks.sidekick.slack.webhookurl", async () => {
    const received: { type: string | undefined; body: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (d: string) => {
        body += d;
      });
      req.on('end', () => {
        received.push({ type: req.headers['content-type'], body });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const dir = tempDir();
      mkdirSync(join(dir, 'rules'));
      writeFileSync(join(dir, 'rules', 'r.yaml'), SHADOW_RULE);
      eventsFile(join(dir, 'e.jsonl'), [
        [1, '/etc/shadow'],
        [2, '/etc/hosts'],
      ]);
      writeFileSync(
        join(dir, 'saker.yaml'),
        'rules_files: [rules]\nwatch_config_files: false\n' +
          'syslog_output:\n  enabled: false\n' +
          `sinks:\n  sidekick:\n    slack:\n      webhookurl: http://127.0.0.1:${port}/\n      channel: "#alerts"\n`,
      );
      const run = startRun(['--config', 'saker.yaml', '--replay', 'e.jsonl', ...QUIET], { cwd: dir });
      await run.until('the replay', () => /e\.jsonl: 2 events published/.test(run.stderr));
      assert.equal(await run.stop(), 0, run.stderr);
      assert.match(run.stderr, /outputs=stdout,slack\b/);
      assert.match(run.stderr, /delivered: slack=1/);
      assert.equal(received.length, 1, run.stderr);
      const r = received[0];
      assert.equal(r?.type, 'application/json');
      const payload = JSON.parse(r?.body ?? '') as {
        channel?: string;
        username?: string;
        attachments?: { fallback: string; color: string; text?: string; fields?: { title: string }[] }[];
      };
      assert.equal(payload.channel, '#alerts');
      assert.equal(payload.username, 'Saker');
      const att = payload.attachments?.[0];
      assert.ok(att, r?.body);
      assert.equal(att.color, '#fb8c00', 'Warning');
      assert.match(att.fallback, /Warning shadow read \(file=\/etc\/shadow proc=cat\) container_id=host /);
      assert.ok(
        att.fields?.some((f) => f.title === 'rule'),
        r?.body,
      );
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('runs over a real NATS server with --nats', async () => {
    const server = await startNatsServer({ jetstream: true });
    try {
      const dir = tempDir();
      mkdirSync(join(dir, 'rules'));
      writeFileSync(join(dir, 'rules', 'r.yaml'), SHADOW_RULE + PASSWD_RULE);
      eventsFile(join(dir, 'e.jsonl'), [
        [1, '/etc/shadow'],
        [2, '/etc/passwd'],
        [3, '/etc/hosts'],
      ]);
      // Credentials in the URL (the server, without authorization, ignores them) never reach a log line.
      const withPassword = server.url.replace('nats://', 'nats://saker:s3cret-pw@');
      const run = startRun(['--nats', withPassword, '-r', 'rules', '--replay', 'e.jsonl', ...QUIET], {
        cwd: dir,
      });
      await run.until('2 alerts', () => run.lines().length >= 2);
      const redacted = server.url.replace('nats://', 'nats://saker:****@');
      assert.match(run.stderr, new RegExp(`bus=${redacted.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      assert.doesNotMatch(run.stderr, /s3cret-pw/);
      assert.equal(await run.stop(), 0, run.stderr);
      const lines = run.lines();
      assert.equal(lines.length, 2);
      for (const l of lines) assert.match(l, TEXT_LINE);
    } finally {
      await server.stop();
    }
  });
});

describe('formatStdoutLine', () => {
  const alert = {
    hostname: 'h',
    output: '12:00:00.000000000: Warning x',
    priority: 'Warning',
    rule: 'R',
    source: 'syscall',
    tags: ['b', 'a'],
    time: '2024-05-14T09:12:03.000000001Z',
    output_fields: { 'evt.time': 1, 'proc.name': 'cat' },
  };
  const data = new TextEncoder().encode(JSON.stringify(alert));
  const format = {
    json: false,
    includeOutput: true,
    includeTags: true,
    includeOutputFields: true,
    timeIso8601: false,
  };

  it('prints the text line, or JSON honouring the include switches', () => {
    assert.equal(formatStdoutLine(data, format), '12:00:00.000000000: Warning x\n');
    const json = formatStdoutLine(data, {
      ...format,
      json: true,
      includeOutput: false,
      includeOutputFields: false,
    });
    assert.equal(
      json,
      '{"hostname":"h","priority":"Warning","rule":"R","source":"syscall","tags":["b","a"],"time":"2024-05-14T09:12:03.000000001Z"}\n',
    );
    assert.match(formatStdoutLine(data, { ...format, json: true }) ?? '', /"evt\.time":1715677923000000001/);
  });

  it('refuses what is not an alert', () => {
    assert.equal(formatStdoutLine(new TextEncoder().encode('{"rule":1}'), format), undefined);
    assert.equal(formatStdoutLine(new TextEncoder().encode('nope'), format), undefined);
  });
});
