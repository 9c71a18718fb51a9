import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import { SHARED_FILES, repoRoot, sharedLocation } from '@saker/testing';
import yaml from 'js-yaml';

/**
 * The test harness itself: a run without the shared Falco data fails up
 * front, naming what is missing, and the tests that read the data are
 * counted (skipped, or run) rather than dropped from the totals.
 */

const ROOT = repoRoot();
const CHECK = join(ROOT, 'libs', 'testing', 'dist', 'src', 'check-shared.js');
const TESTS = join(ROOT, 'libs', 'rules', 'dist', 'test');

/** The child's environment: SAKER_SHARED as given, and not nested in this run's node:test. */
function env(shared: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, SAKER_SHARED: shared };
  e.NODE_TEST_CONTEXT = undefined;
  delete e.NODE_TEST_CONTEXT;
  return e;
}

interface Totals {
  readonly tests: number;
  readonly pass: number;
  readonly fail: number;
  readonly skipped: number;
}

/** Runs one compiled test file under `node --test` and reads the TAP totals. */
function runTests(file: string, shared: string): Totals {
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(TESTS, file)], {
    env: env(shared),
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 240_000,
  });
  const total = (name: string): number => {
    const m = new RegExp(`^# ${name} (\\d+)$`, 'm').exec(r.stdout);
    assert.ok(m, `${file}: no "# ${name}" line in the TAP output (status ${r.status}):\n${r.stderr}`);
    return Number(m[1]);
  };
  return { tests: total('tests'), pass: total('pass'), fail: total('fail'), skipped: total('skipped') };
}

const MuxType = new yaml.Type('!mux', { kind: 'mapping', construct: (data: unknown) => data });
const SCHEMA = yaml.DEFAULT_SCHEMA.extend([MuxType]);

/** The number of cases in one of Falco's loader conformance files, read independently of the test. */
function caseCount(file: string): number {
  const doc = yaml.load(readFileSync(join(sharedLocation(), 'falco-conformance', 'loader', file), 'utf8'), {
    schema: SCHEMA,
  }) as { trace_files: Record<string, unknown> };
  return Object.keys(doc.trace_files).length;
}

describe('the shared-data check that scripts/test.sh runs first', () => {
  it('is run by scripts/test.sh before the lint, type-check and tests', () => {
    const script = readFileSync(join(ROOT, 'scripts', 'test.sh'), 'utf8');
    const check = script.indexOf('node libs/testing/dist/src/check-shared.js');
    assert.ok(check > 0, 'scripts/test.sh runs check-shared.js');
    for (const later of ['npx biome check', 'npx turbo run typecheck', 'node --test']) {
      assert.ok(script.indexOf(later) > check, `check-shared.js runs before ${later}`);
    }
  });

  it('fails, naming the folder and every file, when SAKER_SHARED points nowhere', () => {
    const r = spawnSync(process.execPath, [CHECK], {
      env: env('/nonexistent/saker-shared'),
      encoding: 'utf8',
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /missing from \/nonexistent\/saker-shared/);
    for (const f of SHARED_FILES) assert.ok(r.stderr.includes(`missing: ${f}\n`), `names ${f}:\n${r.stderr}`);
  });

  it('names only the files that are missing from a partial copy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-shared-'));
    try {
      mkdirSync(join(dir, 'falco-rules'));
      writeFileSync(join(dir, 'falco-rules', 'falco_rules.yaml'), '[]\n');
      const r = spawnSync(process.execPath, [CHECK], { env: env(dir), encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.ok(!r.stderr.includes('missing: falco-rules/falco_rules.yaml'), r.stderr);
      assert.ok(r.stderr.includes('missing: falco-rules/k8s_audit_rules.yaml'), r.stderr);
      assert.equal(r.stderr.match(/ {2}missing: /g)?.length, SHARED_FILES.length - 1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('passes with the shared data', () => {
    const r = spawnSync(process.execPath, [CHECK], { env: env(sharedLocation()), encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
});

describe('tests that need the shared data are counted, with or without it', { timeout: 600_000 }, () => {
  const missing = '/nonexistent/saker-shared';

  it('conformance: every Falco loader case is a test; without the data, one skipped test per file', () => {
    const expected = caseCount('falco_tests.yaml') + caseCount('falco_tests_exceptions.yaml');
    assert.ok(expected > 100, `${expected} cases`);
    const withData = runTests('conformance.test.js', sharedLocation());
    assert.equal(
      withData.tests,
      expected,
      'one test per case of falco_tests.yaml and falco_tests_exceptions.yaml',
    );
    assert.equal(withData.fail, 0);
    const without = runTests('conformance.test.js', missing);
    assert.deepEqual(without, { tests: 2, pass: 0, fail: 0, skipped: 2 });
  });

  for (const file of ['falco-k8s-audit-rules.test.js', 'loader.test.js']) {
    it(`${file}: the same tests with and without the data, skipped without it`, () => {
      const withData = runTests(file, sharedLocation());
      const without = runTests(file, missing);
      assert.equal(withData.fail, 0);
      assert.equal(without.fail, 0);
      assert.equal(without.tests, withData.tests, 'no test vanishes without the data');
      assert.ok(without.skipped > withData.skipped, `${without.skipped} skipped without the data`);
      assert.equal(without.pass + without.skipped, without.tests);
    });
  }

  it('falco-k8s-audit-rules: all 48 rules of the file and their cases run with the data', () => {
    const withData = runTests('falco-k8s-audit-rules.test.js', sharedLocation());
    assert.equal(withData.skipped, 0);
    assert.ok(withData.tests > 100, `${withData.tests} tests`);
  });
});

describe('production code does not depend on being under test', () => {
  it('no src/ file reads the test runner’s environment (NODE_TEST_CONTEXT, NODE_ENV=test, …)', () => {
    const offenders: string[] = [];
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) {
          if (e.name !== 'node_modules' && e.name !== 'dist') walk(p);
        } else if (/\.(ts|js|mjs|c|h)$/.test(e.name) && p.includes(`${sep}src${sep}`)) {
          const text = readFileSync(p, 'utf8');
          if (/NODE_TEST_CONTEXT|NODE_ENV|JEST_WORKER_ID|VITEST/.test(text))
            offenders.push(p.slice(ROOT.length + 1));
        }
      }
    };
    for (const top of ['libs', 'services']) walk(join(ROOT, top));
    assert.deepEqual(offenders, []);
  });
});

describe('a hung test file does not take the whole run (scripts/test.sh)', () => {
  const WATCHDOG = join(ROOT, 'libs', 'testing', 'dist', 'src', 'test-watchdog.js');

  it('runs node --test with a per-file timeout and the watchdog, without force-exit (which drops tests)', () => {
    const script = readFileSync(join(ROOT, 'scripts', 'test.sh'), 'utf8');
    const line = script.slice(script.indexOf('\nnode --test '));
    assert.match(line, /--test-timeout=\d+/);
    // --test-force-exit ended falco-k8s-audit-rules.test.js before all its tests had run, unreported.
    assert.doesNotMatch(line.split('\n\n')[0] ?? '', /--test-force-exit/);
    assert.match(line, /--import \.\/libs\/testing\/dist\/src\/test-watchdog\.js/);
  });

  it('the watchdog names the file, its sockets and child processes once the delay passes, and is silent before', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-watchdog-'));
    try {
      const file = join(dir, 'waits.test.mjs');
      writeFileSync(
        file,
        [
          "import { it } from 'node:test';",
          "import { spawn } from 'node:child_process';",
          "import { createServer, connect } from 'node:net';",
          "it('waits', async () => {",
          "  const child = spawn('sleep', ['30']);",
          "  const server = createServer(() => undefined).listen(0, '127.0.0.1');",
          "  await new Promise((r) => server.once('listening', r));",
          "  const socket = connect(server.address().port, '127.0.0.1');",
          '  await new Promise((r) => setTimeout(r, Number(process.env.WAIT_MS)));',
          '  socket.destroy(); server.close(); child.kill();',
          '});',
        ].join('\n'),
      );
      const run = (waitMs: number) =>
        spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--import', WATCHDOG, file], {
          env: { ...env(sharedLocation()), SAKER_TEST_WATCHDOG_S: '1', WAIT_MS: String(waitMs) },
          encoding: 'utf8',
        });
      const slow = run(2500);
      const out = slow.stdout + slow.stderr;
      assert.equal(slow.status, 0, out);
      assert.match(
        out,
        new RegExp(`test-watchdog: ${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} still running after 1 s`),
      );
      assert.match(out, /tcp 127\.0\.0\.1:\d+ -> 127\.0\.0\.1:\d+|tcp localhost:\d+ -> localhost:\d+/);
      assert.match(out, /process pid \d+/);
      assert.match(out, /\d+ +\d+ +S\S* +[\d:]+ sleep 30/);
      const quick = run(10);
      assert.equal(quick.status, 0, quick.stdout + quick.stderr);
      assert.doesNotMatch(quick.stdout + quick.stderr, /test-watchdog/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
