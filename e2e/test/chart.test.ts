/**
 * The Helm chart (deploy/helm/saker) over `helm template` output: `helm lint
 * --strict`, the topology switches, values mapped into a saker.yaml that the
 * real configuration loader accepts, RBAC, security contexts and hostPath
 * mounts, hot-reloadable rules, and the schema refusing what it must.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type SakerService, natsInboxPrefix } from '@saker/bus';
import { repoRoot } from '@saker/testing';
import { load } from 'js-yaml';
import {
  CHART,
  type K8sObject,
  containers,
  envOf,
  find,
  helm,
  podSpec,
  render,
  sakerConfig,
} from './helm.js';

const NAME = 'rel-saker';
const CLI = join(repoRoot(), 'services/cli/dist/src/main.js');
const byName = (o: K8sObject, name: string) => {
  const c = containers(o).find((x) => x.name === name);
  assert.ok(c, `${o.kind}/${o.metadata.name} has no container ${name}`);
  return c;
};

describe('chart: helm lint', () => {
  it('passes --strict with the defaults, central engines, an existing NATS and every switch on', () => {
    const variants: object[] = [
      {},
      { syscallEngines: 'central', nats: { replicas: 1 } },
      {
        nats: { bundled: false, url: 'nats://nats.example:4222', leafUrl: 'nats-leaf://nats.example:7422' },
        serviceMonitor: { enabled: true },
        grafana: { dashboards: { enabled: true } },
        networkPolicy: { enabled: true },
        priorityClassName: 'system-node-critical',
        customRules: { 'my_rules.yaml': '- list: x\n  items: [a]\n' },
      },
    ];
    for (const values of variants) {
      const r = helm(['lint', '--strict', CHART], values);
      assert.equal(r.status, 0, `helm lint --strict ${JSON.stringify(values)}:\n${r.stdout}\n${r.stderr}`);
    }
  });
});

describe('chart: topology', () => {
  it('is edge-first by default: per node a leaf node, the sensor, an engine and node enrich; central services', () => {
    const objects = render();
    const node = find(objects, 'DaemonSet', `${NAME}-node`);
    assert.deepEqual(
      containers(node).map((c) => c.name),
      ['nats-leaf', 'sensor', 'engine', 'enrich'],
    );
    for (const name of ['sensor', 'engine']) {
      const c = byName(node, name);
      // The sensor and the engine talk to the leaf node of their own pod, on loopback.
      assert.equal(envOf(c, 'SAKER__NATS__URL'), 'nats://127.0.0.1:4222', name);
      assert.deepEqual(c.args?.slice(0, 3), [name, '--config', '/etc/saker/saker.yaml']);
    }
    // Enrich writes KV saker_meta, and KV writes do not cross a leaf connection: central NATS.
    assert.equal(envOf(byName(node, 'enrich'), 'SAKER__NATS__URL'), 'nats://rel-saker-nats:4222');
    // Distinct telemetry ports in the shared network namespace.
    const ports = containers(node).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort));
    assert.equal(new Set(ports).size, ports.length, `ports ${ports.join(',')}`);
    for (const c of ['engine', 'control', 'audit', 'sinks', 'enrich']) {
      const d = find(objects, 'Deployment', `${NAME}-${c}`);
      assert.deepEqual(byName(d, c).args?.slice(0, 3), [c, '--config', '/etc/saker/saker.yaml']);
    }
    assert.deepEqual(byName(find(objects, 'Deployment', `${NAME}-enrich`), 'enrich').args?.slice(3), [
      '--mode',
      'cluster',
    ]);
    assert.ok(
      byName(find(objects, 'Deployment', `${NAME}-control`), 'control').args?.includes('--load-rules'),
    );
    const nats = find(objects, 'StatefulSet', `${NAME}-nats`);
    assert.equal(nats.spec?.replicas, 3);
    // R3 streams on the 3 servers.
    const streams = sakerConfig(objects).config.streams;
    for (const name of ['alerts', 'audit', 'deadletter'] as const)
      assert.equal(streams[name].replicas, 3, name);
    // And R3 KV buckets (saker_rules, saker_meta).
    assert.equal(sakerConfig(objects).config.kv.replicas, 3);
    const natsConf = find(objects, 'ConfigMap', `${NAME}-nats`).data?.['nats.conf'] ?? '';
    assert.match(natsConf, /jetstream \{/);
    assert.match(natsConf, /leafnodes \{\n\s+listen: 0\.0\.0\.0:7422/);
    // Three routes, each URL (with the route password) in the pod's environment.
    assert.match(
      natsConf,
      /routes: \[\n\s+\$SAKER_NATS_ROUTE_0\n\s+\$SAKER_NATS_ROUTE_1\n\s+\$SAKER_NATS_ROUTE_2\n\s+\]/,
    );
    const routes = (byName(nats, 'nats').env ?? []).filter((e) => /^SAKER_NATS_ROUTE_\d$/.test(e.name));
    assert.deepEqual(
      routes.map((e) => e.value?.replace(/^nats:\/\/route:\$\(SAKER_NATS_ROUTE_PASSWORD\)@/, '')),
      [0, 1, 2].map((i) => `rel-saker-nats-${i}.rel-saker-nats-headless.saker.svc:6222`),
    );
    const leaf = find(objects, 'ConfigMap', `${NAME}-leaf`).data?.['leaf.conf'] ?? '';
    assert.match(leaf, /listen: 127\.0\.0\.1:4222/);
    // The hub's leaf port, as the `leaf` user (the URL with its password is in the pod's env).
    assert.match(leaf, /urls: \[\$SAKER_NATS_LEAF_URL\]/);
    assert.match(envOf(byName(node, 'nats-leaf'), 'SAKER_NATS_LEAF_URL') ?? '', /@rel-saker-nats:7422$/);
    // The hub answers the JetStream API across a leaf connection only under its domain.
    assert.match(natsConf, /domain: saker/);
    assert.match(leaf, /"\$JS\.API\.>": "\$JS\.saker\.API\.>"/);
    // The central services use the cluster's NATS.
    assert.equal(sakerConfig(objects).config.nats.url, 'nats://rel-saker-nats:4222');
    assert.ok(find(objects, 'Service', `${NAME}-audit`));
  });

  it('syscallEngines: central takes the engine out of the node pods', () => {
    const objects = render({ syscallEngines: 'central' });
    const node = find(objects, 'DaemonSet', `${NAME}-node`);
    assert.deepEqual(
      containers(node).map((c) => c.name),
      ['nats-leaf', 'sensor', 'enrich'],
    );
    assert.equal(envOf(byName(node, 'sensor'), 'SAKER__NATS__URL'), 'nats://127.0.0.1:4222');
    assert.ok(find(objects, 'Deployment', `${NAME}-engine`));
  });

  it('a single-replica NATS has no cluster block; an existing NATS replaces the StatefulSet', () => {
    const small = render({ nats: { replicas: 1 } });
    assert.equal(find(small, 'StatefulSet', `${NAME}-nats`).spec?.replicas, 1);
    assert.equal(sakerConfig(small).config.streams.alerts.replicas, 1);
    assert.equal(sakerConfig(small).config.kv.replicas, 1);
    const two = sakerConfig(render({ nats: { streamReplicas: 2 } })).config;
    assert.equal(two.streams.audit.replicas, 2);
    assert.equal(two.kv.replicas, 2);
    assert.doesNotMatch(find(small, 'ConfigMap', `${NAME}-nats`).data?.['nats.conf'] ?? '', /cluster \{/);

    const existing = render({
      nats: { bundled: false, url: 'nats://nats.example:4222', auth: { secretName: 'nats-creds' } },
    });
    assert.ok(!existing.some((o) => o.kind === 'StatefulSet'));
    assert.equal(sakerConfig(existing).config.nats.url, 'nats://nats.example:4222');
    const node = find(existing, 'DaemonSet', `${NAME}-node`);
    // No leaf URL given: no leaf node, the node services connect to the existing NATS.
    assert.deepEqual(
      containers(node).map((c) => c.name),
      ['sensor', 'engine', 'enrich'],
    );
    assert.equal(envOf(byName(node, 'engine'), 'SAKER__NATS__URL'), 'nats://nats.example:4222');
    // Its credentials come from the Secret, mounted, never written into a ConfigMap.
    assert.ok(podSpec(node).volumes?.some((v) => v.secret?.secretName === 'nats-creds'));

    const r = helm(['template', 'rel', CHART], { nats: { bundled: false } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /nats\.url is required/);
  });
});

/** The bundled NATS's users as `saker nats authorization` names them (the chart's files/nats-authorization.conf). */
const CHART_NATS_USERS = {
  audit: 'audit',
  engine: 'engine',
  control: 'control',
  sinks: 'sinks',
  enrich: 'enrich-cluster',
  'enrich-node': 'enrich-node@*',
  sensor: 'sensor@*',
  ui: 'ui',
  admin: 'admin',
} as const;

/** `saker nats authorization` for the chart's users, the leaf user under `domain`: the real CLI's output. */
function cliAuthorization(domain: string): string {
  const args = [
    ...Object.entries(CHART_NATS_USERS).map(([user, service]) => `${user}=${service}`),
    `leaf=leaf@${domain}`,
  ];
  return execFileSync(process.execPath, [CLI, 'nats', 'authorization', ...args], { encoding: 'utf8' });
}

/** The authorization block of the bundled NATS's nats.conf ('' when there is none). */
function renderedAuthorization(objects: readonly K8sObject[]): string {
  const conf = find(objects, 'ConfigMap', `${NAME}-nats`).data?.['nats.conf'] ?? '';
  const start = conf.indexOf('authorization {\n  users = [');
  if (start < 0) return '';
  const end = conf.indexOf('\n  ]\n}', start);
  return `${conf.slice(start, end + '\n  ]\n}'.length)}\n`;
}

/** A container's NATS user: its name, password file, inbox prefix, and the Secret keys its pod mounts for it. */
function natsUserOf(o: K8sObject, container: string) {
  const c = byName(o, container);
  const mount = c.volumeMounts?.find((m) => m.mountPath === '/etc/saker/nats-user');
  const volume = podSpec(o).volumes?.find((v) => v.name === mount?.name) as
    | { secret?: { secretName: string; items?: { key: string; path: string }[] } }
    | undefined;
  return {
    user: envOf(c, 'SAKER__NATS__AUTH__USER'),
    passwordFile: envOf(c, 'SAKER__NATS__AUTH__PASSWORD_FILE'),
    inbox: envOf(c, 'SAKER__NATS__INBOX_PREFIX'),
    secret: volume?.secret?.secretName,
    keys: volume?.secret?.items?.map((i) => `${i.key}->${i.path}`),
  };
}

describe('chart: per-service NATS users of the bundled NATS', () => {
  it("renders nats.conf's authorization block exactly as `saker nats authorization` prints it", () => {
    assert.equal(renderedAuthorization(render()), cliAuthorization('saker'));
    // The leaf user's JetStream API follows nats.jetstreamDomain.
    const other = renderedAuthorization(render({ nats: { jetstreamDomain: 'hub1' } }));
    assert.equal(other, cliAuthorization('hub1'));
    assert.match(other, /"\$JS\.hub1\.API\.CONSUMER\.CREATE\.SAKER_AUDIT"/);
  });

  it('a generated Secret holds one password per user and the routes; the NATS pods get each as a variable', () => {
    const objects = render();
    const secret = find(objects, 'Secret', `${NAME}-nats-users`);
    const users = [...Object.keys(CHART_NATS_USERS), 'leaf'];
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), [...users, 'route'].sort());
    const passwords = Object.entries(secret.data ?? {}).map(([k, v]) => {
      const pw = Buffer.from(v, 'base64').toString();
      assert.match(pw, /^[A-Za-z0-9]{40}$/, k);
      return pw;
    });
    const conf = find(objects, 'ConfigMap', `${NAME}-nats`).data?.['nats.conf'] ?? '';
    const nats = byName(find(objects, 'StatefulSet', `${NAME}-nats`), 'nats');
    const referenced = [...conf.matchAll(/\$(SAKER_NATS_[A-Z0-9_]+)/g)].map((m) => m[1]);
    const defined = new Set(nats.env?.map((e) => e.name));
    for (const v of referenced)
      assert.ok(defined.has(v ?? ''), `nats.conf uses $${v}, the pod does not define it`);
    const fromSecret = nats.env?.filter((e) => e.valueFrom?.secretKeyRef?.name === `${NAME}-nats-users`);
    assert.deepEqual(
      fromSecret?.map((e) => e.valueFrom?.secretKeyRef?.key).sort(),
      [...users, 'route'].sort(),
    );
    // Routes authenticate: each route URL carries the route password, never written out.
    assert.match(conf, /authorization \{ user: route, password: \$SAKER_NATS_ROUTE_PASSWORD \}/);
    assert.equal(
      envOf(nats, 'SAKER_NATS_ROUTE_1'),
      'nats://route:$(SAKER_NATS_ROUTE_PASSWORD)@rel-saker-nats-1.rel-saker-nats-headless.saker.svc:6222',
    );
    // No password is written anywhere but the Secret.
    const elsewhere = JSON.stringify(objects.filter((o) => o.kind !== 'Secret'));
    for (const pw of passwords) assert.ok(!elsewhere.includes(pw));
  });

  it("each container connects as its service's user with that password only, and its inbox prefix", () => {
    const objects = render({ ui: { enabled: true, auth: { anonymous: true } } });
    const one = (user: string, service: SakerService) => ({
      user,
      passwordFile: '/etc/saker/nats-user/password',
      inbox: natsInboxPrefix(service),
      secret: `${NAME}-nats-users`,
      keys: [`${user}->password`],
    });
    // Each central Deployment's user is named after it (cluster-mode enrich's `enrich`).
    const central: Record<string, SakerService> = { enrich: 'enrich-cluster' };
    for (const c of ['engine', 'control', 'audit', 'sinks', 'enrich', 'ui'] as const) {
      const service = central[c] ?? (c as SakerService);
      assert.deepEqual(natsUserOf(find(objects, 'Deployment', `${NAME}-${c}`), c), one(c, service), c);
    }
    const node = find(objects, 'DaemonSet', `${NAME}-node`);
    // Node-mode enrich writes KV saker_meta, which does not cross a leaf: its own user at the hub.
    assert.deepEqual(natsUserOf(node, 'enrich'), one('enrich-node', 'enrich-node'));
    // The sensor and the engine reach the hub through the leaf node (its `leaf` user): no password.
    for (const c of ['sensor', 'engine'] as const) {
      assert.deepEqual(natsUserOf(node, c), {
        user: undefined,
        passwordFile: undefined,
        inbox: natsInboxPrefix(c),
        secret: undefined,
        keys: undefined,
      });
    }
    const leaf = byName(node, 'nats-leaf');
    assert.equal(
      envOf(leaf, 'SAKER_NATS_LEAF_URL'),
      'nats-leaf://leaf:$(SAKER_NATS_LEAF_PASSWORD)@rel-saker-nats:7422',
    );
    assert.equal(
      leaf.env?.find((e) => e.name === 'SAKER_NATS_LEAF_PASSWORD')?.valueFrom?.secretKeyRef?.key,
      'leaf',
    );
    assert.match(
      find(objects, 'ConfigMap', `${NAME}-leaf`).data?.['leaf.conf'] ?? '',
      /urls: \[\$SAKER_NATS_LEAF_URL\]/,
    );
    // helm test's pod is the admin (it publishes an audit event and reads SAKER_ALERTS).
    const test = find(objects, 'Pod', `${NAME}-test`);
    assert.equal(envOf(byName(test, 'selftest'), 'SAKER__NATS__AUTH__USER'), 'admin');

    // Without leaf nodes the node services connect to the hub as the shared sensor user and the engine.
    const direct = find(render({ leafNode: { enabled: false } }), 'DaemonSet', `${NAME}-node`);
    assert.deepEqual(natsUserOf(direct, 'sensor'), one('sensor', 'sensor'));
    assert.deepEqual(natsUserOf(direct, 'engine'), one('engine', 'engine'));
  });

  it('nats.users.secretName, nats.users.enabled: false and an existing NATS', () => {
    const own = render({ nats: { users: { secretName: 'my-nats-users' } } });
    assert.ok(!own.some((o) => o.kind === 'Secret' && o.metadata.name === `${NAME}-nats-users`));
    assert.equal(natsUserOf(find(own, 'Deployment', `${NAME}-sinks`), 'sinks').secret, 'my-nats-users');

    const off = render({ nats: { users: { enabled: false } } });
    assert.equal(renderedAuthorization(off), '');
    assert.ok(!off.some((o) => o.kind === 'Secret' && o.metadata.name === `${NAME}-nats-users`));
    assert.equal(natsUserOf(find(off, 'Deployment', `${NAME}-engine`), 'engine').user, undefined);
    assert.doesNotMatch(find(off, 'ConfigMap', `${NAME}-nats`).data?.['nats.conf'] ?? '', /SAKER_NATS_ROUTE/);

    const base = { bundled: false, url: 'nats://nats.example:4222', auth: { secretName: 'nats-creds' } };
    const creds = find(render({ nats: base }), 'Deployment', `${NAME}-engine`);
    assert.equal(
      envOf(byName(creds, 'engine'), 'SAKER__NATS__AUTH__CREDS_FILE'),
      '/etc/saker/nats-auth/nats.creds',
    );
    const pw = byName(
      find(
        render({ nats: { ...base, auth: { ...base.auth, kind: 'password' } } }),
        'Deployment',
        `${NAME}-engine`,
      ),
      'engine',
    );
    assert.deepEqual(pw.env?.find((e) => e.name === 'SAKER__NATS__AUTH__USER')?.valueFrom?.secretKeyRef, {
      name: 'nats-creds',
      key: 'user',
    });
    assert.equal(envOf(pw, 'SAKER__NATS__AUTH__PASSWORD_FILE'), '/etc/saker/nats-auth/password');
  });
});

describe('chart: saker.yaml', () => {
  it('maps the falco: block into saker.yaml, which @saker/config loads', () => {
    const objects = render({
      falco: {
        json_output: false,
        priority: 'warning',
        rule_matching: 'all',
        file_output: { enabled: true, filename: '/var/run/saker/events.txt', keep_alive: true },
        http_output: { enabled: true, url: 'http://sidekick:2801' },
        append_output: [{ match: { source: 'syscall' }, extra_output: 'on %evt.hostname' }],
        // Falco keys Saker ignores load too.
        load_plugins: [],
        rules_files: ['/not/used.yaml'],
      },
      config: { engine: { batch: { max_events: 256 } } },
    });
    const { config } = sakerConfig(objects);
    assert.equal(config.jsonOutput, false);
    assert.equal(config.ruleMatching, 'all');
    assert.equal(config.fileOutput.filename, '/var/run/saker/events.txt');
    assert.equal(config.httpOutput.url, 'http://sidekick:2801');
    assert.equal(config.appendOutput[0]?.extraOutput, 'on %evt.hostname');
    assert.equal(config.engine.batch.maxEvents, 256);
    // rules_files is the chart's: the image's defaults, then customRules.
    assert.deepEqual(config.rulesFiles, ['/usr/lib/saker/rules', '/etc/saker/rules.d']);
    assert.equal(config.telemetry.listen, '0.0.0.0:8765');
    assert.equal(config.control.listen, '0.0.0.0:5060');
  });

  it('defaultRules.enabled: false leaves only customRules; customRules become the rules ConfigMap', () => {
    const objects = render({
      defaultRules: { enabled: false },
      customRules: { 'a_rules.yaml': '- list: a\n  items: [x]\n', 'b.yml': '- list: b\n  items: [y]\n' },
    });
    assert.deepEqual(sakerConfig(objects).config.rulesFiles, ['/etc/saker/rules.d']);
    const rules = find(objects, 'ConfigMap', `${NAME}-rules`);
    assert.deepEqual(Object.keys(rules.data ?? {}).sort(), ['a_rules.yaml', 'b.yml']);
    assert.equal(rules.data?.['a_rules.yaml'], '- list: a\n  items: [x]\n');
    const engine = byName(find(objects, 'Deployment', `${NAME}-engine`), 'engine');
    assert.ok(engine.volumeMounts?.some((m) => m.name === 'rules' && m.mountPath === '/etc/saker/rules.d'));
  });

  it('a customRules change does not touch the pod templates (hot reload, no restart); a config change does', () => {
    const annotations = (values: object) =>
      render(values)
        .filter((o) => ['Deployment', 'DaemonSet'].includes(o.kind))
        .map((o) => JSON.stringify(o.spec?.template?.metadata?.annotations));
    const base = annotations({ customRules: { 'x.yaml': '- list: a\n  items: [1]\n' } });
    assert.deepEqual(annotations({ customRules: { 'x.yaml': '- list: a\n  items: [2]\n' } }), base);
    const changed = annotations({
      customRules: { 'x.yaml': '- list: a\n  items: [1]\n' },
      falco: { json_output: false },
    });
    assert.ok(changed.every((a, i) => a !== base[i]));
  });

  it('sidekick outputs: keys in saker.yaml, secrets only as secretKeyRef variables of the sinks', () => {
    const objects = render({
      sidekick: {
        config: {
          slack: { channel: '#alerts', minimumpriority: 'warning' },
          webhook: { address: 'http://recv:8080/' },
        },
        secrets: [{ key: 'slack.webhookurl', secretName: 'outputs', secretKey: 'SLACK_WEBHOOKURL' }],
      },
    });
    const { raw, text } = sakerConfig(objects);
    assert.deepEqual((raw.sinks as { sidekick: unknown }).sidekick, {
      slack: { channel: '#alerts', minimumpriority: 'warning' },
      webhook: { address: 'http://recv:8080/' },
    });
    assert.doesNotMatch(text, /SLACK_WEBHOOKURL/);
    const sinks = byName(find(objects, 'Deployment', `${NAME}-sinks`), 'sinks');
    const v = sinks.env?.find((e) => e.name === 'SAKER__SINKS__SIDEKICK__SLACK__WEBHOOKURL');
    assert.deepEqual(v?.valueFrom?.secretKeyRef, { name: 'outputs', key: 'SLACK_WEBHOOKURL' });
    // With the variable set the way Kubernetes sets it, the configuration loads with the output on.
    const { config } = sakerConfig(objects, {
      SAKER__SINKS__SIDEKICK__SLACK__WEBHOOKURL: 'https://hooks.example/x',
    });
    assert.ok(config);
  });
});

describe('chart: security', () => {
  it('only cluster-mode enrich reads the API server, read-only; no other pod gets a token', () => {
    const objects = render();
    const roles = objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'Role');
    assert.deepEqual(
      roles.map((r) => r.metadata.name),
      [`${NAME}-enrich`],
    );
    for (const rule of roles[0]?.rules ?? []) {
      assert.deepEqual(rule.verbs, ['get', 'list', 'watch']);
      assert.ok(
        !rule.resources.includes('*') && !rule.resources.includes('secrets'),
        rule.resources.join(','),
      );
    }
    const binding = find(objects, 'ClusterRoleBinding', `${NAME}-enrich`);
    assert.deepEqual(binding.subjects, [
      { kind: 'ServiceAccount', name: `${NAME}-enrich`, namespace: 'saker' },
    ]);
    for (const o of objects.filter((x) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(x.kind))) {
      const spec = podSpec(o);
      const api = o.metadata.name === `${NAME}-enrich`;
      assert.equal(spec.automountServiceAccountToken, api, `${o.kind}/${o.metadata.name} automount`);
      assert.equal(spec.serviceAccountName, o.metadata.name.replace(/-node$/, '-node'));
    }
  });

  it('central containers run as non-root, read-only, no capabilities; the sensor has named capabilities', () => {
    const objects = render();
    for (const o of objects.filter((x) => x.kind === 'Deployment' || x.kind === 'StatefulSet')) {
      for (const c of containers(o)) {
        const sc = c.securityContext;
        assert.equal(sc?.runAsNonRoot, true, `${o.metadata.name}/${c.name}`);
        assert.equal(sc?.readOnlyRootFilesystem, true);
        assert.equal(sc?.allowPrivilegeEscalation, false);
        assert.deepEqual(sc?.capabilities?.drop, ['ALL']);
        assert.equal(sc?.capabilities?.add, undefined);
      }
    }
    const node = find(objects, 'DaemonSet', `${NAME}-node`);
    const sensor = byName(node, 'sensor').securityContext;
    assert.equal(sensor?.privileged, false);
    assert.equal(sensor?.runAsUser, 0);
    assert.deepEqual(sensor?.capabilities, {
      add: ['BPF', 'PERFMON', 'SYS_PTRACE', 'DAC_READ_SEARCH'],
      drop: ['ALL'],
    });
    assert.equal(byName(node, 'engine').securityContext?.runAsNonRoot, true);
    assert.deepEqual(byName(node, 'enrich').securityContext?.capabilities, { drop: ['ALL'] });
    assert.equal(podSpec(node).hostPID, true);
    assert.notEqual(podSpec(node).hostNetwork, true);

    const privileged = find(render({ sensor: { privileged: true } }), 'DaemonSet', `${NAME}-node`);
    assert.equal(byName(privileged, 'sensor').securityContext?.privileged, true);
    // Per-component overrides merge over the chart's contexts.
    const custom = render({ control: { containerSecurityContext: { runAsUser: 1234 } } });
    const control = byName(find(custom, 'Deployment', `${NAME}-control`), 'control').securityContext;
    assert.equal(control?.runAsUser, 1234);
    assert.equal(control?.readOnlyRootFilesystem, true);
  });

  it('mounts from the host only the CRI sockets (into node enrich) and tracefs (into the sensor)', () => {
    const objects = render({
      nodeEnrich: { criSockets: ['/run/containerd/containerd.sock', '/run/crio/crio.sock'] },
    });
    const hostPaths = objects
      .filter((o) => o.spec?.template)
      .flatMap((o) =>
        (podSpec(o).volumes ?? []).filter((v) => v.hostPath).map((v) => ({ o: o.metadata.name, v })),
      );
    assert.deepEqual(
      hostPaths.map(({ o, v }) => [o, v.hostPath?.path, v.hostPath?.type]),
      [
        [`${NAME}-node`, '/sys/kernel/tracing', 'Directory'],
        [`${NAME}-node`, '/run/containerd/containerd.sock', 'Socket'],
        [`${NAME}-node`, '/run/crio/crio.sock', 'Socket'],
      ],
    );
    const node = find(objects, 'DaemonSet', `${NAME}-node`);
    const mountedBy = (volume: RegExp) =>
      containers(node)
        .filter((c) => c.volumeMounts?.some((m) => volume.test(m.name)))
        .map((c) => c.name);
    assert.deepEqual(mountedBy(/^cri-/), ['enrich']);
    // The host's tracefs, read-only, into the sensor alone.
    assert.deepEqual(mountedBy(/^tracefs$/), ['sensor']);
    const tracefs = byName(node, 'sensor').volumeMounts?.find((m) => m.name === 'tracefs');
    assert.equal(tracefs?.readOnly, true);
  });

  it('the audit webhook gets certificates and requires the API server to authenticate', () => {
    const generated = render({ audit: { service: { clusterIP: '10.96.200.200' } } });
    const secret = find(generated, 'Secret', `${NAME}-audit-tls`);
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), [
      'ca.crt',
      'client.crt',
      'client.key',
      'tls.crt',
      'tls.key',
    ]);
    const audit = byName(find(generated, 'Deployment', `${NAME}-audit`), 'audit');
    assert.equal(envOf(audit, 'SAKER__AUDIT__LISTEN'), '0.0.0.0:9765');
    assert.equal(envOf(audit, 'SAKER__AUDIT__TLS__CERT'), '/etc/saker/audit-tls/tls.crt');
    assert.equal(envOf(audit, 'SAKER__AUDIT__TLS__CLIENT_CA'), '/etc/saker/audit-tls/ca.crt');
    assert.equal(find(generated, 'Service', `${NAME}-audit`).spec?.clusterIP, '10.96.200.200');
    // The audit section those variables set loads.
    const env = Object.fromEntries(
      (audit.env ?? []).flatMap((e) => (e.value === undefined ? [] : [[e.name, e.value]])),
    );
    assert.equal(sakerConfig(generated, env).config.audit.listen, '0.0.0.0:9765');

    const own = render({
      audit: { tls: { secretName: 'mine', clientCaSecret: 'ca' }, tokenSecret: 'tokens' },
    });
    assert.ok(!own.some((o) => o.kind === 'Secret' && o.metadata.name.includes('audit')));
    const ownAudit = byName(find(own, 'Deployment', `${NAME}-audit`), 'audit');
    assert.equal(envOf(ownAudit, 'SAKER__AUDIT__TLS__CLIENT_CA'), '/etc/saker/audit-client-ca/ca.crt');
    assert.equal(envOf(ownAudit, 'SAKER__AUDIT__TOKEN_FILE'), '/etc/saker/audit-tokens/tokens');
    const r = helm(['template', 'rel', CHART], { audit: { tls: { secretName: 'mine' } } });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /clientCaSecret \(mTLS\) or audit\.tokenSecret/);
  });

  it('control serves gRPC over TLS by default (a generated certificate), so its token never travels in clear', () => {
    const rendered = render({});
    const control = byName(find(rendered, 'Deployment', `${NAME}-control`), 'control');
    assert.equal(envOf(control, 'SAKER__CONTROL__TOKEN_FILE'), '/etc/saker/control-token/token');
    assert.equal(envOf(control, 'SAKER__CONTROL__TLS__CERT'), '/etc/saker/control-tls/tls.crt');
    assert.equal(envOf(control, 'SAKER__CONTROL__TLS__KEY'), '/etc/saker/control-tls/tls.key');
    assert.equal(envOf(control, 'SAKER__CONTROL__ALLOW_PLAINTEXT_TOKEN'), 'false');
    assert.equal(envOf(control, 'SAKER__CONTROL__TLS__CA'), undefined);
    const secret = find(rendered, 'Secret', `${NAME}-control-tls`);
    assert.deepEqual(Object.keys(secret.data ?? {}).sort(), ['ca.crt', 'tls.crt', 'tls.key']);
    const volume = podSpec(find(rendered, 'Deployment', `${NAME}-control`)).volumes?.find(
      (v) => v.name === 'control-tls',
    );
    assert.equal(volume?.secret?.secretName, `${NAME}-control-tls`);
    // The certificate names the control Service and 127.0.0.1 (kubectl port-forward), signed by ca.crt.
    const dir = mkdtempSync(join(tmpdir(), 'saker-chart-tls-'));
    try {
      for (const k of ['ca.crt', 'tls.crt'])
        writeFileSync(join(dir, k), Buffer.from(secret.data?.[k] ?? '', 'base64'));
      const text = new X509Certificate(readFileSync(join(dir, 'tls.crt')));
      assert.ok(text.verify(new X509Certificate(readFileSync(join(dir, 'ca.crt'))).publicKey));
      assert.match(text.subjectAltName ?? '', /DNS:rel-saker-control\.saker\.svc/);
      assert.match(text.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // With the variables Kubernetes sets (files are the Secrets' mounts, not here), the config loads.
    const env = Object.fromEntries(
      (control.env ?? []).flatMap((e) =>
        e.value === undefined || e.name.endsWith('_FILE') || e.name.includes('__TLS__')
          ? []
          : [[e.name, e.value]],
      ),
    );
    assert.equal(sakerConfig(rendered, env).config.control.allowPlaintextToken, false);

    // Your own certificate and client CA (mTLS): no generated Secret.
    const own = render({ control: { tls: { secretName: 'my-control-tls', clientCaSecret: 'ops-ca' } } });
    assert.ok(!own.some((o) => o.kind === 'Secret' && o.metadata.name === `${NAME}-control-tls`));
    const ownControl = byName(find(own, 'Deployment', `${NAME}-control`), 'control');
    assert.equal(envOf(ownControl, 'SAKER__CONTROL__TLS__CA'), '/etc/saker/control-client-ca/ca.crt');
    const ownVolumes = podSpec(find(own, 'Deployment', `${NAME}-control`)).volumes ?? [];
    assert.deepEqual(
      ownVolumes
        .filter((v) => v.name.startsWith('control-'))
        .map((v) => v.secret?.secretName)
        .sort(),
      ['my-control-tls', 'ops-ca', `${NAME}-control-token`],
    );

    // Plain gRPC only when asked for twice: TLS off, and the token allowed in clear.
    const plain = byName(
      find(
        render({ control: { tls: { enabled: false }, allowPlaintextToken: true } }),
        'Deployment',
        `${NAME}-control`,
      ),
      'control',
    );
    assert.equal(envOf(plain, 'SAKER__CONTROL__TLS__CERT'), undefined);
    assert.equal(envOf(plain, 'SAKER__CONTROL__ALLOW_PLAINTEXT_TOKEN'), 'true');
  });
});

describe('chart: Falco-familiar values', () => {
  it('tolerates control-plane nodes by default; scheduling, priority class and extras apply', () => {
    const node = find(render(), 'DaemonSet', `${NAME}-node`);
    assert.ok(podSpec(node).tolerations?.some((t) => t.key === 'node-role.kubernetes.io/control-plane'));
    const objects = render({
      tolerations: [],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      priorityClassName: 'saker-critical',
      sensor: { extraArgs: ['--log-level', 'debug'], extraEnv: [{ name: 'X', value: '1' }] },
      engine: { replicas: 4, nodeSelector: { pool: 'infra' } },
    });
    const n = find(objects, 'DaemonSet', `${NAME}-node`);
    assert.equal(podSpec(n).tolerations, undefined);
    assert.deepEqual(podSpec(n).nodeSelector, { 'kubernetes.io/os': 'linux' });
    assert.equal(podSpec(n).priorityClassName, 'saker-critical');
    const sensor = byName(n, 'sensor');
    assert.deepEqual(sensor.args?.slice(-2), ['--log-level', 'debug']);
    assert.equal(envOf(sensor, 'X'), '1');
    const engine = find(objects, 'Deployment', `${NAME}-engine`);
    assert.equal(engine.spec?.replicas, 4);
    assert.deepEqual(podSpec(engine).nodeSelector, { pool: 'infra' });
  });

  it('serviceMonitor, Grafana dashboards, NetworkPolicies and PDBs render when switched on', () => {
    const off = render({
      engine: { pdb: { enabled: false } },
      audit: { pdb: { enabled: false } },
      nats: { pdb: { enabled: false } },
    });
    for (const kind of ['ServiceMonitor', 'NetworkPolicy', 'PodDisruptionBudget']) {
      assert.ok(!off.some((o) => o.kind === kind), kind);
    }
    const on = render({
      serviceMonitor: { enabled: true },
      grafana: { dashboards: { enabled: true } },
      networkPolicy: { enabled: true },
    });
    assert.ok(find(on, 'ServiceMonitor', NAME));
    const dash = find(on, 'ConfigMap', `${NAME}-dashboards`);
    assert.equal(dash.metadata.labels?.grafana_dashboard, '1');
    const json = JSON.parse(dash.data?.['saker-overview.json'] ?? '{}') as { panels?: unknown[] };
    assert.ok((json.panels?.length ?? 0) > 0);
    assert.ok(on.filter((o) => o.kind === 'NetworkPolicy').length >= 4);
    assert.deepEqual(
      on
        .filter((o) => o.kind === 'PodDisruptionBudget')
        .map((o) => o.metadata.name)
        .sort(),
      [`${NAME}-audit`, `${NAME}-engine`, `${NAME}-nats`],
    );
  });

  it('the schema refuses unknown keys, bad enums and bad rule file names', () => {
    for (const [values, pattern] of [
      [{ sensr: { enabled: true } }, /sensr/],
      [{ syscallEngines: 'everywhere' }, /syscallEngines/],
      [{ image: { pullPolicy: 'Sometimes' } }, /pullPolicy/],
      [{ customRules: { '../evil': 'x' } }, /\.\.\/evil/],
      [{ nats: { replicas: 0 } }, /replicas/],
    ] as const) {
      const r = helm(['template', 'rel', CHART], values);
      assert.notEqual(r.status, 0, JSON.stringify(values));
      assert.match(r.stderr, pattern);
    }
  });

  it('the chart README documents every value of values.yaml', () => {
    const values = load(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    const readme = readFileSync(join(CHART, 'README.md'), 'utf8');
    const free = new Set([
      'falco',
      'config',
      'customRules',
      'resources',
      'podAnnotations',
      'podLabels',
      'labels',
    ]);
    const missing: string[] = [];
    const walk = (o: Record<string, unknown>, prefix: string): void => {
      for (const [k, v] of Object.entries(o)) {
        const key = prefix + k;
        if (!readme.includes(`\`${key}\``)) missing.push(key);
        if (v !== null && typeof v === 'object' && !Array.isArray(v) && !free.has(k)) {
          walk(v as Record<string, unknown>, `${key}.`);
        }
      }
    };
    walk(values, '');
    assert.deepEqual(missing, []);
  });
});
