/**
 * The node pod's start race: the sensor and the engine start against their
 * pod's NATS leaf node while the central NATS (the leaf's hub, where
 * JetStream lives) is not up yet. Each must fail its start and exit non-zero,
 * naming what did not answer, so the kubelet restarts it; never run on half
 * started (a probe publishing into a closed bus). Once the hub is up, the
 * same command starts. Real nats-servers (leaf and hub, as the chart
 * configures them), the real CLI, the real probe (root, as CI runs).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BUCKETS, LEAF_SERVICES, connectBus, natsAuthorizationBlock, natsInboxPrefix } from '@saker/bus';
import { type NatsServerHandle, freePort, repoRoot, startNatsServer } from '@saker/testing';
import { toolBin } from './helm.js';

const CLI = join(repoRoot(), 'services/cli/dist/src/main.js');
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

interface Outcome {
  readonly code: number | null;
  readonly stderr: string;
  readonly ms: number;
}

/** Runs `saker <args>` until it exits or `untilLog` shows up (then SIGTERM); at most `timeoutMs`. */
function runSaker(
  args: readonly string[],
  untilLog: RegExp | undefined,
  timeoutMs: number,
): Promise<Outcome> {
  const started = Date.now();
  const { NODE_TEST_CONTEXT: _t, ...env } = process.env;
  // The inbox prefix the chart gives the service (its replies cross the leaf user at the hub).
  const service = args[0] === 'engine' ? 'engine' : 'sensor';
  const child = spawn(process.execPath, [CLI, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...env, SAKER__NATS__INBOX_PREFIX: natsInboxPrefix(service) },
  });
  let stderr = '';
  let stopping = false;
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (!stopping && untilLog?.test(stderr)) {
        stopping = true;
        child.kill('SIGTERM');
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr, ms: Date.now() - started });
    });
  });
}

describe(
  'node pod start race: the central NATS not ready yet',
  { skip: !isRoot && 'needs root for the probe (CI runs as root)', timeout: 240_000 },
  () => {
    let dir = '';
    let hubLeafPort = 0;
    let leaf: NatsServerHandle | undefined;
    let hub: NatsServerHandle | undefined;
    let config = '';
    const binary = join(toolBin('nats-server'), 'nats-server');

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'saker-start-race-'));
      hubLeafPort = await freePort();
      // The chart's leaf node (saker.leafConfig): no JetStream; the JetStream API is the hub's
      // domain; its hub connection is the chart's `leaf` user.
      leaf = await startNatsServer({
        binary,
        config: `leafnodes { remotes: [ { urls: ["nats-leaf://leaf:pw-leaf@127.0.0.1:${hubLeafPort}"] } ] }
mappings { "$JS.API.>": "$JS.saker.API.>" }
`,
      });
      config = join(dir, 'saker.yaml');
      writeFileSync(config, `nats:\n  url: ${leaf.url}\ntelemetry:\n  listen: ''\n`);
    });

    after(async () => {
      await leaf?.stop();
      await hub?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    for (const service of ['sensor', 'engine'] as const) {
      it(`saker ${service} exits non-zero, naming JetStream, while the hub is down`, async () => {
        const r = await runSaker([service, '--config', config], undefined, 60_000);
        process.stdout.write(`# saker ${service} without a hub: exit ${r.code} after ${r.ms} ms\n`);
        assert.equal(r.code, 1, r.stderr);
        assert.match(r.stderr, /no responders \(JetStream is not answering/);
        assert.match(r.stderr, /kv\.open saker_rules/);
        // Nothing ran half-started: no batch was published into a closed bus.
        assert.doesNotMatch(r.stderr, /failed to publish|the bus is closed/);
        assert.ok(r.ms < 30_000, `took ${r.ms} ms to give up`);
      });
    }

    it('once the hub is up, the same commands start (what the kubelet’s restart does)', async () => {
      hub = await startNatsServer({
        binary,
        jetstream: true,
        // The chart's bundled NATS: its users (the leaf node's among them).
        config: `jetstream { domain: saker }\nleafnodes { listen: 127.0.0.1:${hubLeafPort} }\n${natsAuthorizationBlock(
          [
            { service: 'admin', user: 'admin', password: 'pw-admin' },
            {
              service: 'sensor',
              user: 'leaf',
              password: 'pw-leaf',
              leaf: { services: LEAF_SERVICES, domain: 'saker' },
            },
          ],
        )}`,
      });
      // control makes KV saker_rules in the chart (the leaf user may only read it): as admin here.
      writeFileSync(join(dir, 'admin.pw'), 'pw-admin');
      const admin = await connectBus({
        url: hub.url,
        name: 'start-race-admin',
        auth: { user: 'admin', passwordFile: join(dir, 'admin.pw') },
      });
      await admin.kv(BUCKETS.rules);
      await admin.close();
      for (const service of ['engine', 'sensor'] as const) {
        // The leaf reconnects to its hub within a few seconds: the restarts until then fail as above.
        let r: Outcome | undefined;
        for (let attempt = 0; attempt < 10; attempt++) {
          r = await runSaker([service, '--config', config], /running: bus=/, 60_000);
          if (/running: bus=/.test(r.stderr)) break;
          await new Promise((res) => setTimeout(res, 1000));
        }
        assert.match(r?.stderr ?? '', /running: bus=/, r?.stderr);
        assert.equal(r?.code, 0, r?.stderr);
      }
    });
  },
);
