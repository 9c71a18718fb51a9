/**
 * deploy/compose, as a user runs it: Debian's docker-compose (1.29) brings
 * the file up on the harness's own dockerd with Saker's images loaded from
 * scripts/images.sh's tars (nothing pulled): 3 NATS servers, control, two
 * engines, audit and sinks. An audit event posted to the published webhook
 * port becomes an alert in the sinks' output (`docker-compose logs sinks`);
 * `saker ctl` reaches control on its published port; `down -v` leaves no
 * container behind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '@saker/testing';
import { type DockerEngine, loadSakerImages, sakerVersion, startDockerEngine } from '@saker/testing/docker';
import { E2E_TOKEN, auditEvent, eventually, postUntilStored } from './containers-support.js';

const isRoot = process.getuid?.() === 0;
const COMPOSE = '/usr/bin/docker-compose';
const SKIP = isRoot ? false : 'needs root (dockerd)';
const CLI = join(repoRoot(), 'services/cli/dist/src/main.js');

describe(
  'deploy/compose with docker-compose on the harness dockerd',
  { skip: SKIP, timeout: 420_000 },
  () => {
    let engine: DockerEngine;
    let dir: string;
    const project = `sakere2e${process.pid}`;
    const timings: string[] = [];
    let env: NodeJS.ProcessEnv;

    /** docker-compose in the project's folder: `out` is its stdout, `err` its stderr. */
    const compose = (
      args: readonly string[],
      timeoutMs = 180_000,
    ): { status: number | null; out: string; err: string } => {
      const r = spawnSync(COMPOSE, ['--ansi', 'never', '-p', project, ...args], {
        cwd: dir,
        env,
        encoding: 'utf8',
        timeout: timeoutMs,
        maxBuffer: 64 << 20,
      });
      return { status: r.status, out: r.stdout ?? '', err: r.stderr ?? '' };
    };

    before(async () => {
      const t0 = performance.now();
      engine = await startDockerEngine();
      loadSakerImages(engine, { build: false });
      timings.push(`dockerd up and images loaded: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      dir = mkdtempSync(join(tmpdir(), 'saker-e2e-compose-'));
      cpSync(join(repoRoot(), 'deploy/compose'), dir, { recursive: true });
      mkdirSync(join(dir, 'secrets'), { mode: 0o755 });
      writeFileSync(join(dir, 'secrets/token'), `${E2E_TOKEN}\n`, { mode: 0o644 });
      // Port 0: an ephemeral loopback port (the file's defaults are 5060 and 9765).
      env = { ...engine.env, SAKER_VERSION: sakerVersion(), SAKER_AUDIT_PORT: '0', SAKER_CONTROL_PORT: '0' };
    });

    after(async () => {
      if (timings.length > 0) console.log(`containers-compose timings: ${timings.join('; ')}`);
      if (dir !== undefined && engine !== undefined) compose(['down', '-v', '--timeout', '2']);
      await engine?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    /** What a failure needs to explain itself: `docker-compose ps` and every service's last log lines. */
    const explain = (): string =>
      [
        '--- docker-compose ps',
        compose(['ps'], 30_000).out,
        '--- docker-compose logs --tail 40 (every service)',
        compose(['logs', '--no-color', '--timestamps', '--tail', '40'], 30_000).out,
      ].join('\n');

    /** The container `id`'s health (the file's healthcheck: /healthz): starting, healthy or unhealthy. */
    const health = (id: string): string =>
      engine.docker(['inspect', '--format', '{{.State.Health.Status}}', id]).stdout.trim();

    it('comes up, turns a posted audit event into an alert at the sinks, answers saker ctl, and goes down clean', async () => {
      try {
        await upAlertCtlDown();
      } catch (err) {
        // The state while it failed, before after() takes it down.
        if (dir !== undefined && engine !== undefined) console.log(explain());
        throw err;
      }
    });

    async function upAlertCtlDown(): Promise<void> {
      const t0 = performance.now();
      const up = compose(['up', '-d']);
      assert.equal(up.status, 0, up.err);
      const ps = compose(['ps', '-q', 'engine']);
      assert.equal(ps.out.trim().split('\n').length, 2, `two engine containers (scale: 2): ${ps.out}`);
      const port = (service: string, p: number): string => {
        const r = compose(['port', service, String(p)]);
        assert.equal(r.status, 0, r.err);
        const hostPort = r.out.trim();
        assert.match(hostPort, /^127\.0\.0\.1:\d+$/, `${service} ${p} is published on loopback only`);
        return hostPort;
      };
      // Until the cluster has a JetStream leader audit exits on start and Docker restarts it
      // (later each time); its health (/healthz) turns healthy once its stream is on the cluster.
      const audit = compose(['ps', '-q', 'audit']).out.trim();
      await eventually('audit healthy', 150_000, () => (health(audit) === 'healthy' ? true : undefined));
      port('audit', 9765);
      // Asked again before each try: each restart of audit gives port 0 another host port.
      const webhook = (): string => `http://${port('audit', 9765)}/k8s-audit`;
      const privileged = auditEvent('create', 'pods', 'compose-pwn', {
        kind: 'Pod',
        apiVersion: 'v1',
        metadata: { name: 'compose-pwn', namespace: 'default' },
        spec: { containers: [{ name: 'pwn', image: 'busybox:1.36', securityContext: { privileged: true } }] },
      });
      // 503 until the audit service has its stream on the cluster: retried, as the API server does.
      await postUntilStored(webhook, E2E_TOKEN, [privileged]);
      const alert = await eventually('the alert in docker-compose logs sinks', 90_000, () => {
        const logs = compose(['logs', '--no-color', 'sinks']).out;
        return logs.split('\n').find((l) => l.includes('"rule":"Privileged pod created"'));
      });
      assert.match(alert, /user=e2e .*images=\(busybox:1\.36\) .*privileged=\(true\)/);
      timings.push(`up to the first alert: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

      const ctl = spawnSync(
        process.execPath,
        [CLI, 'ctl', 'rules', 'list', '--addr', port('control', 5060), '--json'],
        { encoding: 'utf8', env: { ...process.env, SAKER__CONTROL__TOKEN: E2E_TOKEN }, timeout: 60_000 },
      );
      assert.equal(ctl.status, 0, ctl.stderr);
      // control --load-rules wrote saker.yaml's rules into KV saker_rules.
      const listed = JSON.parse(ctl.stdout) as { revision: number; rules: unknown[] };
      assert.ok(listed.revision > 0 && listed.rules.length > 0, ctl.stdout.slice(0, 200));

      const t1 = performance.now();
      const down = compose(['down', '-v', '--timeout', '5']);
      assert.equal(down.status, 0, down.err);
      timings.push(`down: ${((performance.now() - t1) / 1000).toFixed(1)} s`);
      assert.equal(engine.docker(['ps', '-aq']).stdout.trim(), '', 'no container left');
      assert.equal(engine.docker(['volume', 'ls', '-q']).stdout.trim(), '', 'no volume left');
    }
  },
);
