import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Bus, connectBus } from '@saker/bus';
import { type ControlService, start } from '@saker/control';
import { type TestPki, makeTestPki } from '@saker/testing';

// `saker ctl` runs as users run it: the built binary in a child process,
// against a control service in this process (on an in-memory bus). Children
// are spawned asynchronously so this process keeps serving them.
const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');

interface Run {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function saker(args: readonly string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, SAKER__CONTROL__LISTEN: '', SAKER__CONTROL__TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const RULES = `- rule: Shell spawned
  desc: a shell started
  condition: evt.type = execve and proc.name = bash
  output: "shell %proc.name"
  priority: WARNING
  tags: [process, shell]

- rule: Open etc
  desc: opened below /etc
  condition: evt.type = openat and fd.name startswith /etc
  output: "open %fd.name"
  priority: ERROR
  tags: [filesystem]
`;

const MORE = `- rule: Shell in container
  desc: a shell in a container
  condition: evt.type = execve and container.id != host and proc.name = sh
  output: "container shell"
  priority: NOTICE
  tags: [process]
`;

/** The second `=` on line 3 is a syntax error, at column 36. */
const BROKEN = `- rule: Broken
  desc: does not compile
  condition: evt.type = execve and = bash
  output: "broken"
  priority: WARNING
`;

describe('saker ctl (plaintext, loopback)', () => {
  let dir: string;
  let bus: Bus;
  let service: ControlService;
  const controller = new AbortController();
  const addr = () => ['--addr', service.address];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'saker-ctl-'));
    mkdirSync(join(dir, 'rules.d'));
    writeFileSync(join(dir, 'rules.d', '10-base.yaml'), RULES);
    writeFileSync(join(dir, 'rules.d', '20-more.yaml'), MORE);
    writeFileSync(join(dir, 'broken.yaml'), BROKEN);
    bus = await connectBus({ memory: true });
    service = await start({ bus }, controller.signal);
  });
  after(async () => {
    controller.abort();
    await service.closed;
    await bus.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists nothing before the first put', async () => {
    const r = await saker(['ctl', 'rules', 'list', ...addr()]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /no ruleset yet/);
  });

  it('put DIR writes a revision; list, describe and --json read it', async () => {
    const put = await saker(['ctl', 'rules', 'put', join(dir, 'rules.d'), ...addr(), '--comment', 'initial']);
    assert.equal(put.code, 0, put.stderr);
    assert.match(put.stdout, /^revision \d+: 3 rules \(3 enabled\) from 2 files/);
    // The author is who authenticated; what the client said is kept, marked, in the comment.
    assert.match(put.stdout, / by unauthenticated:127\.0\.0\.1 \((\[claimed author: [^\]]+\] )?initial\)/);

    const list = await saker(['ctl', 'rules', 'list', ...addr()]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /NAME\s+PRIORITY\s+SOURCE\s+ENABLED\s+TAGS/);
    assert.match(list.stdout, /Open etc\s+ERROR\s+syscall\s+yes\s+filesystem/);

    const json = await saker(['ctl', 'rules', 'list', '--json', ...addr()]);
    const parsed = JSON.parse(json.stdout) as { revision: number; rules: { name: string }[] };
    assert.equal(parsed.rules.length, 3);
    assert.ok(parsed.revision > 0);

    const desc = await saker(['ctl', 'rules', 'describe', 'Shell spawned', ...addr()]);
    assert.equal(desc.code, 0, desc.stderr);
    assert.match(desc.stdout, /Defined at: .*10-base\.yaml:1:3/);
    assert.match(desc.stdout, /Priority:\s+WARNING/);

    const missing = await saker(['ctl', 'rules', 'describe', 'Nope', ...addr()]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /NOT_FOUND: name: no rule named "Nope"/);
  });

  it('put refuses a broken file locally, with file:line:column, and sends nothing', async () => {
    const before = await saker(['ctl', 'rules', 'list', '--json', ...addr()]);
    const r = await saker(['ctl', 'rules', 'put', join(dir, 'broken.yaml'), ...addr()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nothing was sent/);
    assert.match(r.stderr, /broken\.yaml:3:36: rule 'Broken'/);
    const after = await saker(['ctl', 'rules', 'list', '--json', ...addr()]);
    assert.equal(after.stdout, before.stdout);
  });

  it('the server refuses a broken ruleset too: errors with file:line:column, exit 1, revision kept', async () => {
    const before = await saker(['ctl', 'rules', 'list', '--json', ...addr()]);
    const r = await saker(['ctl', 'rules', 'put', '--server-only', join(dir, 'broken.yaml'), ...addr()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused the ruleset: INVALID_ARGUMENT/);
    assert.match(r.stderr, /error: .*broken\.yaml:3:36: rule 'Broken'.*LOAD_ERR_COMPILE_CONDITION/);
    const after = await saker(['ctl', 'rules', 'list', '--json', ...addr()]);
    assert.equal(after.stdout, before.stdout);
  });

  it('validate prints the server load results; exit 1 on errors, --json in Falco shape', async () => {
    const ok = await saker(['ctl', 'rules', 'validate', join(dir, 'rules.d'), ...addr()]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /10-base\.yaml: OK/);
    const bad = await saker(['ctl', 'rules', 'validate', '--json', join(dir, 'broken.yaml'), ...addr()]);
    assert.equal(bad.code, 1);
    const json = JSON.parse(bad.stdout) as {
      falco_load_results: { successful: boolean; errors: { context: { locations: unknown[] } }[] }[];
    };
    assert.equal(json.falco_load_results[0]?.successful, false);
    assert.ok((json.falco_load_results[0]?.errors[0]?.context.locations.length ?? 0) > 0);
  });

  it('disable and enable by name, wildcard and --tag', async () => {
    const byName = await saker(['ctl', 'rules', 'disable', 'Open etc', ...addr()]);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /^disabled 1 rule: Open etc\nrevision \d+: 3 rules \(2 enabled\)/);
    const wild = await saker(['ctl', 'rules', 'disable', 'Shell*', '--json', ...addr()]);
    const w = JSON.parse(wild.stdout) as { matched: string[]; enabled_rule_count: number };
    assert.deepEqual(w.matched, ['Shell spawned', 'Shell in container']);
    assert.equal(w.enabled_rule_count, 0);
    const tag = await saker(['ctl', 'rules', 'enable', '--tag', 'filesystem', ...addr()]);
    assert.equal(tag.code, 0, tag.stderr);
    assert.match(tag.stdout, /enabled 1 rule: Open etc/);
    const none = await saker(['ctl', 'rules', 'enable', 'Nothing*', ...addr()]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /NOT_FOUND/);
  });

  it('watch prints each new revision until interrupted', async () => {
    const child = spawn(process.execPath, [MAIN, 'ctl', 'rules', 'watch', '--json', ...addr()], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let buffered = '';
    const waitLines = (n: number) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`watch printed ${lines.length} lines`)), 20_000);
        const check = () => {
          if (lines.length >= n) {
            clearTimeout(timer);
            resolve();
          }
        };
        child.stdout.on('data', (d: Buffer) => {
          buffered += d.toString();
          const parts = buffered.split('\n');
          buffered = parts.pop() ?? '';
          lines.push(...parts.filter((l) => l !== ''));
          check();
        });
        check();
      });
    await waitLines(1);
    const first = JSON.parse(lines[0] ?? '{}') as { revision: number };
    const put = await saker(['ctl', 'rules', 'put', join(dir, 'rules.d', '20-more.yaml'), ...addr()]);
    assert.equal(put.code, 0, put.stderr);
    await waitLines(2);
    const second = JSON.parse(lines[1] ?? '{}') as { revision: number; rule_count: number };
    assert.ok(second.revision > first.revision);
    assert.equal(second.rule_count, 1);
    const exit = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    child.kill('SIGINT');
    assert.equal(await exit, 0);
  });

  it('SAKER__CONTROL__LISTEN stands in for --addr; usage errors exit 2', async () => {
    const r = await saker(['ctl', 'rules', 'list'], { SAKER__CONTROL__LISTEN: service.address });
    assert.equal(r.code, 0, r.stderr);
    const usage = await saker(['ctl', 'rules', 'frobnicate', ...addr()]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /unknown command "rules frobnicate"/);
    assert.equal((await saker(['ctl', 'rules', 'list', '--timeout', 'soon'])).code, 2);
    assert.equal((await saker(['ctl', 'rules', 'put', ...addr()])).code, 2);
    const help = await saker(['ctl', '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /saker ctl rules <command>/);
  });

  it('an unreachable service is exit 1 with UNAVAILABLE', async () => {
    const r = await saker(['ctl', 'rules', 'list', '--addr', '127.0.0.1:1', '--timeout', '1s']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /UNAVAILABLE/);
  });
});

describe('saker ctl with mTLS and a bearer token', () => {
  let dir: string;
  let pki: TestPki;
  let bus: Bus;
  let service: ControlService;
  const controller = new AbortController();
  const token = 'ctl-test-token';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'saker-ctl-tls-'));
    pki = makeTestPki();
    writeFileSync(join(dir, 'rules.yaml'), RULES);
    bus = await connectBus({ memory: true });
    service = await start(
      {
        bus,
        token,
        tls: {
          cert: pki.serverCert,
          key: pki.serverKey,
          clientCa: pki.caCert,
        },
      },
      controller.signal,
    );
  });
  after(async () => {
    controller.abort();
    await service.closed;
    await bus.close();
    pki[Symbol.dispose]();
    rmSync(dir, { recursive: true, force: true });
  });

  const tlsFlags = () => [
    '--addr',
    service.address,
    '--ca',
    pki.files.caCert,
    '--cert',
    pki.files.clientCert,
    '--key',
    pki.files.clientKey,
  ];

  it('with the client certificate and the token (flag or SAKER__CONTROL__TOKEN) the calls go through', async () => {
    const put = await saker([
      'ctl',
      'rules',
      'put',
      join(dir, 'rules.yaml'),
      ...tlsFlags(),
      '--token',
      token,
    ]);
    assert.equal(put.code, 0, put.stderr);
    const list = await saker(['ctl', 'rules', 'list', ...tlsFlags()], { SAKER__CONTROL__TOKEN: token });
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /Shell spawned/);
  });

  it('without the token: UNAUTHENTICATED, exit 1', async () => {
    const r = await saker(['ctl', 'rules', 'list', ...tlsFlags()]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /UNAUTHENTICATED/);
  });

  it('without a client certificate, or in plaintext: rejected, exit 1', async () => {
    const noCert = await saker([
      'ctl',
      'rules',
      'list',
      '--addr',
      service.address,
      '--ca',
      pki.files.caCert,
      '--token',
      token,
      '--timeout',
      '2s',
    ]);
    assert.equal(noCert.code, 1);
    assert.match(noCert.stderr, /UNAVAILABLE/);
    const plain = await saker([
      'ctl',
      'rules',
      'list',
      '--addr',
      service.address,
      '--token',
      token,
      '--timeout',
      '2s',
    ]);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /UNAVAILABLE/);
  });
});
