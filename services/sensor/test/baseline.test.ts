/**
 * Quiet baseline for Saker's own rules (rules/): routine administration on
 * this host — kubectl, helm when present, a local .deb installed and removed
 * with dpkg, npm, git and a C compiler, with HOME=/root as an administrator
 * has it — watched by the real sensor with Saker's default rules and Falco's
 * stable rules loaded. No Saker rule may fire; the counts of Falco's rules on
 * the same run are printed. Needs root (CI runs as root).
 */
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type RuleMatch, loadRules, readRuleFiles } from '@saker/rules';
import { sharedPath, within } from '@saker/testing';
import { interestFromEventTypes } from '../src/interest.js';
import { Sensor } from '../src/sensor.js';
import { ATTACH_TIMEOUT_MS, DrainMarker, FALCO_RULES, SAKER_RULES, rootRulesSkip } from './runs.js';

const SKIP = rootRulesSkip(
  'sensor baseline test',
  'the baseline test loads eBPF programs and installs a package',
);

const PKG = `saker-baseline-${process.pid}`;
const run = promisify(execFile);

/** The discovery endpoints kubectl reads before `get pods`, answered on loopback (the real wire format). */
async function apiStandIn(): Promise<{ port: number; close: () => Promise<void> }> {
  const routes: Record<string, unknown> = {
    '/api': { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [] },
    '/apis': { kind: 'APIGroupList', apiVersion: 'v1', groups: [] },
    '/api/v1': {
      kind: 'APIResourceList',
      groupVersion: 'v1',
      resources: [
        { name: 'pods', singularName: 'pod', namespaced: true, kind: 'Pod', verbs: ['get', 'list'] },
      ],
    },
    '/api/v1/namespaces/default/pods': { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: [] },
    '/version': { major: '1', minor: '34', gitVersion: 'v1.34.0' },
  };
  const server = createServer((req, res) => {
    const body = routes[(req.url ?? '').split('?')[0] ?? ''];
    res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body ?? { kind: 'Status', apiVersion: 'v1', status: 'Failure', code: 404 }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// The skip sits on each test (a skipped describe drops its tests from Node 20's totals).
describe('quiet baseline for Saker rules (real kernel)', { timeout: 480_000 }, () => {
  const matches: RuleMatch[] = [];
  const failures: string[] = [];
  const sakerRules = new Set<string>();
  let dir = '';
  let sensor: Sensor | undefined;
  let events = 0;
  let apiPort = 0;
  let stopApi: () => Promise<void> = async () => {};

  // Asynchronous: the API stand-in answers from this process while kubectl runs.
  const step = async (
    cmd: string,
    args: string[],
    cwd: string,
    env: Record<string, string> = {},
  ): Promise<void> => {
    const r = await run(cmd, args, {
      cwd,
      env: {
        ...process.env,
        HOME: '/root',
        GIT_AUTHOR_NAME: 'saker',
        GIT_AUTHOR_EMAIL: 's@example.org',
        GIT_COMMITTER_NAME: 'saker',
        GIT_COMMITTER_EMAIL: 's@example.org',
        npm_config_update_notifier: 'false',
        npm_config_fund: 'false',
        npm_config_audit: 'false',
        ...env,
      },
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    }).then(
      () => undefined,
      (err: { code?: unknown; stderr?: unknown }) => err,
    );
    if (r !== undefined)
      failures.push(`${cmd} ${args.join(' ')}: ${String(r.code)} ${String(r.stderr).slice(0, 200)}`);
  };

  before(async () => {
    if (SKIP) return;
    const sakerFiles = await readRuleFiles([SAKER_RULES]);
    for (const f of sakerFiles) {
      for (const m of f.content.matchAll(/^- rule: (.+)$/gm)) sakerRules.add((m[1] ?? '').trim());
    }
    const loaded = loadRules(await readRuleFiles([FALCO_RULES as string, SAKER_RULES]));
    assert.ok(loaded.ok, 'rules load');
    const ruleset = loaded.ruleset;
    // The sensor sees the whole host (other work runs here too): only this test's process tree counts.
    sensor = await Sensor.start({
      syscalls: interestFromEventTypes(ruleset.eventTypes()).syscalls,
      maxAncestors: 32,
      validate: true,
      startTimeoutMs: ATTACH_TIMEOUT_MS,
    });
    const drain = new DrainMarker();
    const consuming = (async () => {
      for await (const e of sensor as Sensor) {
        drain.note(e);
        if (!e.ancestors?.some((a) => a.pid === process.pid)) continue;
        events++;
        for (const m of ruleset.evaluate(e, { ruleMatching: 'all' })) matches.push(m);
      }
    })();

    dir = mkdtempSync(join(tmpdir(), 'saker-baseline-'));
    const kube = join(dir, 'kubeconfig');
    // kubectl: a kubeconfig of its own, and a loopback stand-in of the API server's discovery
    // endpoints, so that kubectl fills its discovery and HTTP caches under /root/.kube/cache.
    const api = await apiStandIn();
    apiPort = api.port;
    stopApi = api.close;
    await step('kubectl', ['version', '--client'], dir);
    await step('kubectl', ['config', 'view'], dir);
    await step(
      'kubectl',
      ['config', 'set-cluster', 'saker', `--server=http://127.0.0.1:${api.port}`, `--kubeconfig=${kube}`],
      dir,
    );
    await step('kubectl', ['config', 'set-context', 'saker', '--cluster=saker', `--kubeconfig=${kube}`], dir);
    await step('kubectl', ['config', 'use-context', 'saker', `--kubeconfig=${kube}`], dir);
    await step('kubectl', ['get', 'pods', `--kubeconfig=${kube}`], dir);
    await step('kubectl', ['api-resources', `--kubeconfig=${kube}`], dir);
    if (have('helm')) {
      await step('helm', ['version'], dir);
      await step('helm', ['env'], dir);
    }
    // A local package, built here: installed and removed with dpkg (no network).
    const root = join(dir, 'pkg');
    mkdirSync(join(root, 'DEBIAN'), { recursive: true });
    mkdirSync(join(root, 'usr/local/bin'), { recursive: true });
    writeFileSync(
      join(root, 'DEBIAN/control'),
      `Package: ${PKG}\nVersion: 1.0\nArchitecture: all\nMaintainer: saker <s@example.org>\nDescription: baseline test package\n`,
    );
    writeFileSync(join(root, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\nexit 0\n', { mode: 0o755 });
    writeFileSync(join(root, `usr/local/bin/${PKG}`), '#!/bin/sh\necho saker\n', { mode: 0o755 });
    await step('dpkg-deb', ['--build', '--root-owner-group', root, join(dir, `${PKG}.deb`)], dir);
    await step('dpkg', ['-i', join(dir, `${PKG}.deb`)], dir);
    await step(`/usr/local/bin/${PKG}`, [], dir);
    await step('dpkg', ['-r', PKG], dir);
    // apt installs a local .deb without the network, then removes it.
    await step('apt-get', ['install', '-y', '-q', join(dir, `${PKG}.deb`)], dir, {
      DEBIAN_FRONTEND: 'noninteractive',
    });
    await step('apt-get', ['remove', '-y', '-q', PKG], dir, { DEBIAN_FRONTEND: 'noninteractive' });
    // npm, git and a compiler in a project directory.
    const proj = join(dir, 'proj');
    mkdirSync(proj);
    writeFileSync(join(proj, 'main.c'), '#include <stdio.h>\nint main(void) { puts("hi"); return 0; }\n');
    await step('npm', ['init', '-y'], proj);
    await step('npm', ['pkg', 'set', 'description=baseline'], proj);
    await step('npm', ['pack', '--dry-run'], proj);
    await step('npm', ['cache', 'ls'], proj);
    await step('git', ['init', '-q'], proj);
    await step('git', ['add', '-A'], proj);
    await step('git', ['commit', '-q', '-m', 'baseline'], proj);
    await step('git', ['log', '--oneline'], proj);
    await step('gcc', ['-O2', '-o', 'hello', 'main.c'], proj);
    await step('./hello', [], proj);

    // Drained: a marker open made after every step has come through the ring buffer.
    await drain.drain(dir, () => `${events} events of the steps so far`);
    await sensor.stop();
    await consuming;
  });

  after(async () => {
    if (SKIP) return;
    // A before() that failed half-way leaves the loader running, and the test process would never
    // end (its events piling up in memory): stop it here, bounded.
    if (sensor !== undefined) await within('Sensor.stop()', sensor.stop(), 15_000);
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    spawnSync('dpkg', ['--purge', PKG], { stdio: 'ignore' });
    await stopApi();
    // kubectl's discovery cache for the stand-in (its HTTP cache entries are content-addressed and stay).
    if (apiPort > 0)
      rmSync(`/root/.kube/cache/discovery/127.0.0.1_${apiPort}`, { recursive: true, force: true });
  });

  it('runs every step', { skip: SKIP }, () => {
    assert.deepEqual(failures, []);
    assert.ok(events > 0);
  });

  it("fires no Saker rule; prints what Falco's stable rules raised on the same run", { skip: SKIP }, () => {
    const counts = new Map<string, number>();
    for (const m of matches) counts.set(m.rule.name, (counts.get(m.rule.name) ?? 0) + 1);
    const falco = [...counts].filter(([name]) => !sakerRules.has(name));
    console.log(
      `baseline: ${events} events; Falco stable rules: ${falco.length === 0 ? 'none fired' : falco.map(([n, c]) => `${n}: ${c}`).join('; ')}`,
    );
    const saker = matches
      .filter((m) => sakerRules.has(m.rule.name))
      .map((m) => `${m.rule.name}: ${m.output}`);
    assert.ok(sakerRules.size > 5, 'Saker rule names read from rules/');
    assert.deepEqual(saker, []);
  });
});
