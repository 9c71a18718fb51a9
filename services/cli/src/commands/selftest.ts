/**
 * `saker selftest`: checks that an alert flows through a running Saker
 * (the Helm chart's `helm test`). It publishes one Kubernetes audit event
 * where the audit webhook publishes them (a ClusterRoleBinding to
 * cluster-admin, named saker-selftest-<random>), and waits until an engine
 * publishes the alert that names it. The event is published again every few
 * seconds until then, so engines still starting are not a failure.
 */
import { randomBytes } from 'node:crypto';
import { type Bus, SUBJECTS, connectBus } from '@saker/bus';
import { busView } from '@saker/config';
import type { K8sAuditEvent } from '@saker/events';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { EventPublisher } from '../services/parts.js';
import { COMMON_HELP, COMMON_OPTIONS, commonOverrides, loadCommandConfig } from './service.js';

const RESEND_MS = 5_000;

/** A successful create of a ClusterRoleBinding named `name` granting cluster-admin, as the API server logs it. */
function selftestAuditEvent(name: string, now: Date = new Date()): K8sAuditEvent {
  const stamp = now.toISOString();
  return {
    source: 'k8s_audit',
    ts: `${BigInt(now.getTime()) * 1_000_000n}`,
    event: {
      apiVersion: 'audit.k8s.io/v1',
      kind: 'Event',
      level: 'RequestResponse',
      auditID: randomBytes(16).toString('hex'),
      stage: 'ResponseComplete',
      requestURI: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
      verb: 'create',
      user: { username: 'saker-selftest', groups: ['saker:selftest'] },
      objectRef: {
        resource: 'clusterrolebindings',
        name,
        apiGroup: 'rbac.authorization.k8s.io',
        apiVersion: 'v1',
      },
      responseStatus: { metadata: {}, code: 201 },
      requestObject: {
        kind: 'ClusterRoleBinding',
        apiVersion: 'rbac.authorization.k8s.io/v1',
        metadata: { name },
        subjects: [{ kind: 'User', name: 'saker-selftest', apiGroup: 'rbac.authorization.k8s.io' }],
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
      },
      requestReceivedTimestamp: stamp,
      stageTimestamp: stamp,
    },
  };
}

function parseTimeout(text: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (m === null)
    throw new UsageError(`--timeout: expected a duration like 60s, got ${JSON.stringify(text)}`, 'selftest');
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
}

/** True when `data` is an alert (Falco JSON) whose output or fields name `marker`. */
function alertNames(data: Uint8Array, marker: string): boolean {
  const text = new TextDecoder().decode(data);
  if (!text.includes(marker)) return false;
  try {
    const alert: unknown = JSON.parse(text);
    return typeof alert === 'object' && alert !== null && 'rule' in alert;
  } catch {
    return false;
  }
}

export const selftest: Command = {
  name: 'selftest',
  summary: 'check that an alert flows end to end (helm test)',
  help: `Usage: saker selftest --nats URL [--config saker.yaml] [--timeout 60s]

Publishes a test Kubernetes audit event (a ClusterRoleBinding to
cluster-admin named saker-selftest-<random>) on the bus, where the audit
webhook publishes, and waits for the engines' alert about it (Saker's
default rule "Binding to cluster-admin written", or any rule of yours that
names the binding). The alert goes on to the sinks like any other.
Exit 0 when it arrives, 1 after the timeout.

Options:
  --timeout DURATION       how long to wait (default 60s)
${COMMON_HELP}`,
  async run(args, io) {
    const { values } = parseCommandArgs('selftest', args, { ...COMMON_OPTIONS, timeout: { type: 'string' } });
    const timeoutMs = parseTimeout(values.timeout ?? '60s');
    const config = loadCommandConfig('selftest', io, values.config, commonOverrides(values));
    if (config.nats.url === null) {
      throw new UsageError('selftest needs a NATS server: --nats URL (or nats.url)', 'selftest');
    }
    // nats.auth, nats.tls and nats.inbox_prefix apply (the Helm chart's `helm test` pod is `admin`).
    const bus = await connectBus({ ...busView(config), url: config.nats.url, name: 'saker-selftest' });
    return runSelftest(bus, config.hostname, timeoutMs, io);
  },
};

async function runSelftest(bus: Bus, hostname: string, timeoutMs: number, io: Io): Promise<number> {
  const marker = `saker-selftest-${randomBytes(6).toString('hex')}`;
  const started = Date.now();
  try {
    const alerts = bus.subscribe(SUBJECTS.allAlerts);
    await bus.flush();
    const publisher = new EventPublisher(bus, hostname, { maxEvents: 1, flushIntervalMs: 1 }, io);
    const send = async (): Promise<void> => {
      publisher.add(selftestAuditEvent(marker));
      await publisher.flush();
    };
    await send();
    io.err(`selftest: published the audit event of ClusterRoleBinding ${marker}; waiting for its alert\n`);
    const resend = setInterval(() => void send().catch(() => undefined), RESEND_MS);
    const timer = setTimeout(() => alerts.unsubscribe(), timeoutMs);
    try {
      for await (const msg of alerts) {
        if (!alertNames(msg.data, marker)) continue;
        const alert = JSON.parse(new TextDecoder().decode(msg.data)) as { rule?: unknown };
        io.err(
          `selftest: ok: alert "${String(alert.rule)}" on ${msg.subject} after ${Date.now() - started} ms\n`,
        );
        return EXIT_OK;
      }
    } finally {
      clearInterval(resend);
      clearTimeout(timer);
      alerts.unsubscribe();
      await publisher.close();
    }
    io.err(
      `selftest: no alert for ${marker} within ${timeoutMs} ms (are the engines and the default rules running?)\n`,
    );
    return EXIT_FAIL;
  } finally {
    await bus.drain().catch(() => bus.close());
  }
}
