/**
 * A new user's first two commands: `saker run`, then `saker ctl rules list`
 * in a second terminal, both without flags. They meet because saker ctl
 * dials control.listen's default. Run inside a network namespace of its own
 * (root), so the default ports are free and nothing else on the host is hit.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '@saker/config';
import { DEFAULT_CONTROL_ADDR } from '../src/ctl/connection.js';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** The environment without any SAKER__ override, as a new user's shell has it. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env))
    if (v !== undefined && !k.startsWith('SAKER_')) env[k] = v;
  return env;
}

describe('defaults agree', () => {
  it('saker ctl dials where saker run and saker control listen by default', () => {
    const config = loadConfig({ env: {}, onNotice: () => {} });
    assert.equal(config.control.listen, '127.0.0.1:5060');
    assert.equal(DEFAULT_CONTROL_ADDR, config.control.listen);
  });

  it('the old SAKER_CONTROL_TOKEN is refused by name, its value never shown', () => {
    const r = spawnSync(process.execPath, [MAIN, 'ctl', 'rules', 'list'], {
      encoding: 'utf8',
      env: { ...cleanEnv(), SAKER_CONTROL_TOKEN: 'secret-value-123456' },
    });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /SAKER_CONTROL_TOKEN is no longer read; set SAKER__CONTROL__TOKEN/);
    assert.doesNotMatch(r.stderr, /secret-value/);
  });
});

describe(
  'saker run, then saker ctl rules list with no flags',
  { skip: isRoot ? false : 'NOT ROOT: needs a network namespace (unshare -n)', timeout: 120_000 },
  () => {
    it('lists the rules saker run loaded', () => {
      const dir = mkdtempSync(join(tmpdir(), 'saker-run-ctl-'));
      try {
        // In the namespace: loopback up, saker run in the background, ctl once it runs, then SIGTERM.
        const script = `
        set -u
        ip link set lo up
        node "$1" run --no-sensor >"$2/run.out" 2>"$2/run.err" &
        pid=$!
        i=0
        until grep -q 'running: ' "$2/run.err" || [ $i -ge 300 ]; do sleep 0.1; i=$((i+1)); done
        node "$1" ctl rules list >"$2/list.out" 2>"$2/list.err"; echo $? >"$2/list.rc"
        kill -TERM $pid; wait $pid; echo $? >"$2/run.rc"
      `;
        const r = spawnSync('unshare', ['-n', 'sh', '-c', script, 'sh', MAIN, dir], {
          encoding: 'utf8',
          env: cleanEnv(),
          cwd: dir,
          timeout: 100_000,
        });
        assert.equal(r.status, 0, r.stderr);
        const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
        const runErr = read('run.err');
        assert.match(runErr, /control\(address=127\.0\.0\.1:5060 plaintext\)/, runErr);
        assert.equal(read('list.rc').trim(), '0', `${read('list.err')}\n${runErr}`);
        assert.match(read('list.out'), /Interactive shell in a container/);
        assert.equal(read('run.rc').trim(), '0', runErr);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  },
);
