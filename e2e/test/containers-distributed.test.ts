/**
 * The distributed shape as containers, on the harness's own dockerd
 * (@saker/testing/docker): a 3-node NATS JetStream cluster (Saker's NATS
 * image, R3 streams), two engines, control, audit and sinks, each a
 * container of Saker's image running `saker <service>` with one mounted
 * saker.yaml, started by testcontainers. Recorded syscall events are
 * replayed in by a `saker sensor --replay` container; Kubernetes audit
 * events are posted to the audit container's webhook; the alerts are read
 * from the sinks' file output on a mounted folder.
 *
 * Mid-stream one NATS container and one engine container are killed
 * (SIGKILL): no alert may be lost (audit events are at least once:
 * SAKER_AUDIT, acked after the alerts are stored; a batch the dead engine
 * took is delivered again after the 60 s ack wait), duplicates at the sink
 * are counted and printed. Then `saker ctl rules put` (a container too) puts
 * a ruleset with a new rule: the time until every engine container reports
 * the new revision is measured and printed, and the new rule fires.
 */
import assert from 'node:assert/strict';
import {
  chownSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { repoRoot } from '@saker/testing';
import {
  type DockerEngine,
  type SakerImages,
  containerAddress,
  containerLogs,
  loadSakerImages,
  startDockerEngine,
  startNatsContainers,
  startNetwork,
  startSakerService,
  useDockerEngine,
} from '@saker/testing/docker';
import { GenericContainer, type StartedNetwork, type StartedTestContainer, Wait } from 'testcontainers';
import { E2E_TOKEN as TOKEN, auditEvent, eventually, postUntilStored } from './containers-support.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'needs root (dockerd)';

/** Audit events posted during the faults, in batches. */
const EVENTS = 600;
const BATCH = 10;
/** The demo recording's syscall alerts with Saker's default rules (e2e/test/services.test.ts). */
const SYSCALL_ALERTS = 6;
const IMAGE_UID = 65532;

const MARKER_RULES = `- rule: E2E configmap created
  desc: marks each configmap the container e2e creates
  condition: ka.verb = create and ka.target.resource = configmaps and ka.target.name startswith e2e-cm-
  output: e2e configmap created (name=%ka.target.name)
  priority: NOTICE
  source: k8s_audit
`;
const NEW_RULE = `- rule: E2E rollout rule
  desc: only in the ruleset saker ctl puts
  condition: ka.verb = create and ka.target.resource = configmaps and ka.target.name startswith e2e-rollout-
  output: e2e rollout rule fired (name=%ka.target.name)
  priority: WARNING
  source: k8s_audit
`;

interface SinkAlert {
  readonly rule: string;
  readonly output: string;
}

function sinkAlerts(file: string): SinkAlert[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as SinkAlert);
}

/** The ruleset revision an engine container reports on /healthz (check `engine`: "<name> revision N"), or undefined. */
async function engineRevision(ip: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://${ip}:8765/healthz`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { checks?: { engine?: { detail?: string } } };
    const m = /revision (\d+)/.exec(body.checks?.engine?.detail ?? '');
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

describe(
  'the distributed shape as containers: NATS cluster, engines, control, audit, sinks',
  { skip: SKIP, timeout: 600_000 },
  () => {
    const timings: string[] = [];
    const mark = (what: string, since: number): void => {
      timings.push(`${what}: ${((performance.now() - since) / 1000).toFixed(1)} s`);
    };
    let engine: DockerEngine;
    let images: SakerImages;
    let network: StartedNetwork;
    let dir: string;
    let alertsFile: string;
    let nats: StartedTestContainer[] = [];
    const services = new Map<string, StartedTestContainer>();
    const ip = (name: string): string => {
      const c = services.get(name);
      assert.ok(c !== undefined, name);
      return containerAddress(engine, c.getId(), network.getName());
    };

    before(async () => {
      const t0 = performance.now();
      engine = await startDockerEngine();
      useDockerEngine(engine);
      mark('dockerd up', t0);
      const t1 = performance.now();
      images = loadSakerImages(engine);
      mark('images built (scripts/images.sh) and loaded', t1);

      dir = mkdtempSync(join(tmpdir(), 'saker-e2e-containers-'));
      const config = join(dir, 'config');
      mkdirSync(join(config, 'rules.d'), { recursive: true });
      writeFileSync(join(config, 'token'), `${TOKEN}\n`);
      writeFileSync(join(config, 'rules.d', 'e2e.yaml'), MARKER_RULES);
      copyFileSync(join(repoRoot(), 'examples/demo-events.jsonl'), join(config, 'demo-events.jsonl'));
      writeFileSync(
        join(config, 'saker.yaml'),
        [
          'nats: { url: "nats://nats-1:4222,nats://nats-2:4222,nats://nats-3:4222" }',
          'streams:',
          '  alerts: { replicas: 3 }',
          '  audit: { replicas: 3 }',
          '  deadletter: { replicas: 3 }',
          'rules_files: [/usr/lib/saker/rules, /etc/saker/rules.d]',
          'json_output: true',
          'stdout_output: { enabled: false }',
          'syslog_output: { enabled: false }',
          'file_output: { enabled: true, filename: /alerts/alerts.json }',
          'telemetry: { listen: "0.0.0.0:8765" }',
          'control: { listen: "0.0.0.0:5060", token_file: token, allow_plaintext_token: true }',
          'audit: { listen: "0.0.0.0:9765", token_file: token, allow_plaintext_token: true }',
          'enrich: { node: { enabled: false } }',
          'sensor: { enabled: false }',
          'log: { format: text, level: info }',
          '',
        ].join('\n'),
      );
      const alerts = join(dir, 'alerts');
      mkdirSync(alerts);
      chownSync(alerts, IMAGE_UID, IMAGE_UID);
      alertsFile = join(alerts, 'alerts.json');

      network = await startNetwork();
      const t2 = performance.now();
      nats = await startNatsContainers({ image: images.nats, network });
      for (const n of nats) {
        const addr = containerAddress(engine, n.getId(), network.getName());
        await eventually(`nats ${addr} healthy (JetStream current)`, 60_000, async () => {
          const res = await fetch(`http://${addr}:8222/healthz`).catch(() => undefined);
          return res?.status === 200 ? true : undefined;
        });
      }
      mark('3-node NATS JetStream cluster healthy', t2);

      const t3 = performance.now();
      const start = async (alias: string, service: string): Promise<void> => {
        services.set(
          alias,
          await startSakerService({
            engine,
            image: images.saker,
            network,
            alias,
            service,
            configDir: config,
            mounts: service === 'sinks' ? [{ source: alerts, target: '/alerts', readOnly: false }] : [],
          }),
        );
      };
      await Promise.all([
        start('control', 'control'),
        start('sinks', 'sinks'),
        start('engine-1', 'engine'),
        start('engine-2', 'engine'),
        start('audit', 'audit'),
      ]);
      mark('control, sinks, 2 engines, audit running', t3);
    });

    after(async () => {
      if (timings.length > 0) console.log(`containers-distributed timings: ${timings.join('; ')}`);
      await engine?.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    });

    it('replayed syscall events and a posted audit event become alerts at the sinks file output', async () => {
      const t0 = performance.now();
      const sensor = await new GenericContainer(images.saker)
        .withNetwork(network)
        .withCommand([
          'sensor',
          '--config',
          '/etc/saker/saker.yaml',
          '--replay',
          '/etc/saker/demo-events.jsonl',
        ])
        .withBindMounts([{ source: join(dir, 'config'), target: '/etc/saker', mode: 'ro' }])
        .withWaitStrategy(Wait.forLogMessage(/demo-events\.jsonl: 12 events published/))
        .withStartupTimeout(90_000)
        .start();
      await sensor.stop({ timeout: 5 });
      await postUntilStored(`http://${ip('audit')}:9765/k8s-audit`, TOKEN, [
        auditEvent('create', 'configmaps', 'e2e-cm-first'),
      ]);
      const alerts = await eventually('7 alerts at the sink', 60_000, () => {
        const a = sinkAlerts(alertsFile);
        return a.length >= SYSCALL_ALERTS + 1 ? a : undefined;
      });
      assert.equal(alerts.filter((a) => a.rule === 'E2E configmap created').length, 1);
      assert.equal(alerts.length, SYSCALL_ALERTS + 1, alerts.map((a) => a.rule).join(', '));
      mark('replay + first audit alert at the sink', t0);
      // The streams the services made are R3: on all three servers.
      const first = nats[0];
      assert.ok(first !== undefined);
      const jsz = (await (
        await fetch(
          `http://${containerAddress(engine, first.getId(), network.getName())}:8222/jsz?streams=true&config=true`,
        )
      ).json()) as {
        account_details?: { stream_detail?: { name: string; config?: { num_replicas?: number } }[] }[];
      };
      const replicas = new Map(
        (jsz.account_details ?? [])
          .flatMap((a) => a.stream_detail ?? [])
          .map((d) => [d.name, d.config?.num_replicas] as const),
      );
      for (const stream of ['SAKER_ALERTS', 'SAKER_AUDIT'])
        assert.equal(replicas.get(stream), 3, `${stream}: ${JSON.stringify([...replicas])}`);
    });

    it('one NATS and one engine container killed mid-stream: 0 alerts lost, duplicates counted', async () => {
      const t0 = performance.now();
      const before = sinkAlerts(alertsFile).length;
      const webhook = `http://${ip('audit')}:9765/k8s-audit`;
      const killedNats = nats[1];
      const killedEngine = services.get('engine-1');
      assert.ok(killedNats !== undefined && killedEngine !== undefined);
      const events: string[] = [];
      let retries = 0;
      const faults: string[] = [];
      for (let b = 0; b < EVENTS / BATCH; b++) {
        const batch = Array.from({ length: BATCH }, (_, i) => `e2e-cm-${b * BATCH + i}`);
        if (b === 15) {
          const k = engine.docker(['kill', killedNats.getId()]);
          assert.equal(k.status, 0, k.stderr);
          faults.push(`nats-2 killed after ${events.length} events`);
        }
        if (b === 25) {
          const k = engine.docker(['kill', killedEngine.getId()]);
          assert.equal(k.status, 0, k.stderr);
          faults.push(`engine-1 killed after ${events.length} events`);
        }
        if (b === 40) {
          const s = engine.docker(['start', killedNats.getId()]);
          assert.equal(s.status, 0, s.stderr);
          faults.push(`nats-2 restarted after ${events.length} events`);
        }
        retries +=
          (await postUntilStored(
            webhook,
            TOKEN,
            batch.map((n) => auditEvent('create', 'configmaps', n)),
          )) - 1;
        events.push(...batch);
        await new Promise((r) => setTimeout(r, 20));
      }
      const posted = performance.now();
      // A batch the killed engine had taken comes back after SAKER_AUDIT's 60 s ack wait.
      const names = (): string[] =>
        sinkAlerts(alertsFile)
          .slice(before)
          .filter((a) => a.rule === 'E2E configmap created')
          .map((a) => /name=(\S+)\)/.exec(a.output)?.[1] ?? '');
      const want = new Set(events);
      await eventually(`all ${EVENTS} alerts at the sink`, 150_000, () => {
        const got = new Set(names());
        return [...want].every((n) => got.has(n)) ? true : undefined;
      }).catch(() => undefined);
      const seen = names();
      const unique = new Set(seen);
      const lost = [...want].filter((n) => !unique.has(n));
      const duplicates = seen.length - unique.size;
      console.log(
        `containers fault run: ${EVENTS} audit events posted (${retries} batch retries), ${faults.join(', ')}; ` +
          `at the sink ${seen.length} alerts, ${unique.size} distinct: lost ${lost.length}, duplicates ${duplicates}; ` +
          `every alert at the sink ${((performance.now() - posted) / 1000).toFixed(1)} s after the last post`,
      );
      assert.deepEqual(
        lost,
        [],
        `lost alerts; engine-2 log:\n${containerLogs(engine, services.get('engine-2')?.getId() ?? '').slice(-4000)}`,
      );
      mark('fault run (kills, redelivery, every alert at the sink)', t0);
    });

    it('saker ctl puts a ruleset every engine container picks up (propagation measured), and its new rule fires', async () => {
      const t0 = performance.now();
      // The killed engine comes back (same container, same config) and rejoins the queue group.
      // A service exits at start while JetStream has no leader (by design; the
      // kubelet or Docker's restart policy starts it again): this loop is that
      // restart policy, and the address is asked again after each start.
      const engines = ['engine-1', 'engine-2'];
      const addrs = new Map<string, string>();
      const starts: string[] = [];
      for (const e of engines) {
        const c = services.get(e);
        assert.ok(c !== undefined, e);
        const running = (): boolean =>
          engine.docker(['inspect', '--format', '{{.State.Running}}', c.getId()]).stdout.trim() === 'true';
        await eventually(`${e} answers /healthz`, 90_000, async () => {
          if (!running()) {
            const s = engine.docker(['start', c.getId()]);
            assert.equal(s.status, 0, s.stderr);
            starts.push(e);
            return undefined;
          }
          let addr: string;
          try {
            addr = ip(e);
          } catch {
            return undefined;
          }
          const rev = await engineRevision(addr);
          if (rev !== undefined) addrs.set(e, addr);
          return rev;
        }).catch((err: unknown) => {
          throw new Error(
            `${err instanceof Error ? err.message : String(err)} (started again: ${starts.join(', ') || 'none'})\n` +
              `${e} log:\n${containerLogs(engine, c.getId()).slice(-4000)}`,
          );
        });
      }
      if (starts.length > 0) console.log(`containers: engine containers started again: ${starts.join(', ')}`);
      const rules = join(dir, 'rollout');
      mkdirSync(rules);
      writeFileSync(join(rules, 'e2e.yaml'), MARKER_RULES);
      writeFileSync(join(rules, 'rollout.yaml'), NEW_RULE);

      const firstSeen = new Map<string, number>();
      let target = Number.POSITIVE_INFINITY;
      let polling = true;
      const pollers = engines.map(async (e) => {
        while (polling && !firstSeen.has(e)) {
          const rev = await engineRevision(addrs.get(e) ?? '');
          if (rev !== undefined && rev >= target) firstSeen.set(e, performance.now());
          else await new Promise((r) => setTimeout(r, 5));
        }
      });
      const ctlStarted = performance.now();
      const ctl = await new GenericContainer(images.saker)
        .withNetwork(network)
        .withEnvironment({ SAKER__CONTROL__TOKEN: TOKEN })
        .withBindMounts([{ source: rules, target: '/rollout', mode: 'ro' }])
        .withCommand([
          'ctl',
          'rules',
          'put',
          '/usr/lib/saker/rules',
          '/rollout',
          '--addr',
          'control:5060',
          '--comment',
          'container e2e rollout',
          '--json',
        ])
        .withWaitStrategy(Wait.forOneShotStartup())
        .withStartupTimeout(120_000)
        .start();
      const returned = performance.now();
      const out = containerLogs(engine, ctl.getId());
      const exit = engine.docker(['inspect', '--format', '{{.State.ExitCode}}', ctl.getId()]).stdout.trim();
      assert.equal(exit, '0', out);
      const written = JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)) as {
        revision: number;
      };
      target = written.revision;
      assert.ok(target > 0, out);
      await eventually(`every engine on revision ${target}`, 30_000, () =>
        firstSeen.size === engines.length ? true : undefined,
      ).finally(() => {
        polling = false;
      });
      await Promise.all(pollers);
      const per = engines.map(
        (e) => `${e} +${Math.max(0, (firstSeen.get(e) ?? 0) - returned).toFixed(0)} ms`,
      );
      const propagation = Math.max(0, Math.max(...firstSeen.values()) - returned);
      console.log(
        `containers rule propagation: revision ${target} on both engine containers ${propagation.toFixed(0)} ms ` +
          `after the ctl container exited (${per.join(', ')}); the ctl container took ${(returned - ctlStarted).toFixed(0)} ms`,
      );

      const before = sinkAlerts(alertsFile).length;
      await postUntilStored(`http://${ip('audit')}:9765/k8s-audit`, TOKEN, [
        auditEvent('create', 'configmaps', 'e2e-rollout-1'),
      ]);
      await eventually("the new rule's alert at the sink", 60_000, () =>
        sinkAlerts(alertsFile)
          .slice(before)
          .find((a) => a.rule === 'E2E rollout rule'),
      );
      mark('ctl rollout, propagation and the new rule', t0);
    });
  },
);
