import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sharedPath, sharedSkip } from '@saker/testing';
import { type LoadConfigOptions, type SakerConfig, defaultRulesDir, loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';
import {
  alertFormatView,
  busView,
  controlView,
  engineView,
  enrichCacheView,
  enrichClusterView,
  enrichNodeView,
  outputsView,
  rulesView,
  sensorView,
  sinksView,
  telemetryView,
} from '../src/views.js';

const dir = mkdtempSync(join(tmpdir(), 'saker-config-'));
let counter = 0;

/** Writes `text` to a fresh saker.yaml and loads it with an empty environment. */
function load(text: string, opts: Omit<LoadConfigOptions, 'file'> = {}): SakerConfig {
  const file = join(dir, `saker-${++counter}.yaml`);
  writeFileSync(file, text);
  return loadConfig({ env: {}, onNotice: () => {}, ...opts, file });
}

function loadError(text: string, opts: Omit<LoadConfigOptions, 'file'> = {}): ConfigError {
  try {
    load(text, opts);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail('expected a ConfigError');
}

describe("Falco's syscall_event_drops", () => {
  it('maps threshold, actions, rate and max_burst; simulate_drops is accepted and ignored', () => {
    const c = load(
      'syscall_event_drops:\n  threshold: 0\n  actions: [log]\n  rate: 2\n  max_burst: 3\n  simulate_drops: false\n',
    );
    assert.deepEqual(c.sensor.drops, { threshold: 0, actions: ['log'], rate: 2, maxBurst: 3 });
    assert.deepEqual(load('syscall_event_drops:\n  actions: []\n').sensor.drops.actions, []);
  });

  it('refuses exit, ignore beside another action, and a threshold outside [0, 1], naming the key', () => {
    assert.equal(
      loadError('syscall_event_drops:\n  actions: [log, exit]\n').path,
      'syscall_event_drops.actions',
    );
    assert.match(
      loadError('syscall_event_drops:\n  actions: [ignore, alert]\n').message,
      /ignore cannot be combined/,
    );
    assert.equal(loadError('syscall_event_drops:\n  threshold: 2\n').path, 'syscall_event_drops.threshold');
    assert.equal(
      loadError('syscall_event_drops:\n  actions: [page]\n').path,
      'syscall_event_drops.actions[0]',
    );
  });
});

describe('defaults', () => {
  it('without a file takes Falco defaults and Saker defaults', () => {
    const c = loadConfig({ env: { FALCO_HOSTNAME: 'node-1' }, onNotice: () => {} });
    assert.equal(c.file, null);
    assert.deepEqual(c.rulesFiles, [defaultRulesDir()]);
    assert.ok(defaultRulesDir().endsWith('/rules'));
    assert.equal(c.priority, 'DEBUG');
    assert.equal(c.ruleMatching, 'first');
    assert.equal(c.jsonOutput, false);
    assert.equal(c.jsonIncludeOutputProperty, true);
    assert.equal(c.jsonIncludeTagsProperty, true);
    assert.equal(c.timeFormatIso8601, false);
    assert.equal(c.bufferedOutputs, false);
    assert.deepEqual(c.stdoutOutput, { enabled: true });
    assert.deepEqual(c.syslogOutput, { enabled: true });
    assert.equal(c.fileOutput.enabled, false);
    assert.equal(c.httpOutput.userAgent, 'falcosecurity/falco');
    assert.equal(c.programOutput.enabled, false);
    assert.equal(c.hostname, 'node-1');
    assert.equal(c.nats.url, null);
    assert.deepEqual(c.engine, {
      replicas: 1,
      queueGroup: 'engine',
      minPriority: 'DEBUG',
      batch: { maxEvents: 512, flushIntervalMs: 5 },
    });
    assert.deepEqual(c.control, {
      listen: '127.0.0.1:5060',
      tls: null,
      token: null,
      allowPlaintextToken: false,
      delegates: ['token', 'unauthenticated:127.0.0.1', 'unauthenticated:::1'],
    });
    assert.deepEqual(c.telemetry, {
      listen: '127.0.0.1:8765',
      tracing: { exporter: null, endpoint: null, sampleRatio: null, serviceName: null, headers: {} },
    });
    assert.deepEqual(c.sensor, {
      enabled: true,
      nodeName: 'node-1',
      worker: false,
      drops: { threshold: 0.1, actions: ['log', 'alert'], rate: 0.03333, maxBurst: 1 },
    });
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.engine.batch));
  });

  it('an empty file is all defaults', () => {
    assert.equal(load('').priority, 'DEBUG');
    assert.equal(load('# nothing\n').jsonOutput, false);
  });
});

describe("Falco's keys", () => {
  it(
    "loads Falco's reference falco.yaml, ignoring its other keys in one notice",
    { skip: sharedSkip() },
    () => {
      const notices: string[] = [];
      const file = sharedPath('reference', 'falco.yaml') ?? '';
      const c = loadConfig({ file, env: {}, onNotice: (m) => notices.push(m) });
      assert.deepEqual(c.rulesFiles, [
        '/etc/falco/falco_rules.yaml',
        '/etc/falco/falco_rules.local.yaml',
        '/etc/falco/rules.d',
      ]);
      assert.equal(c.priority, 'DEBUG');
      assert.equal(c.jsonOutput, false);
      assert.equal(c.watchConfigFiles, true);
      assert.equal(c.fileOutput.filename, './events.txt');
      assert.equal(c.httpOutput.caPath, '/etc/ssl/certs');
      assert.ok(c.programOutput.program.startsWith('jq'));
      assert.equal(notices.length, 1);
      assert.match(notices[0] ?? '', /ignoring Falco settings Saker does not use: .*webserver.*engine\.kind/);
      assert.ok(!(notices[0] ?? '').includes('\n'));
    },
  );

  it('reads the output keys with their meaning', () => {
    const c = load(
      [
        'priority: warning',
        'rule_matching: all',
        'json_output: true',
        'json_include_output_property: false',
        'json_include_tags_property: false',
        'time_format_iso_8601: yes',
        'buffered_outputs: true',
        'stdout_output: {enabled: false}',
        'file_output:',
        '  enabled: true',
        '  filename: /var/log/saker.txt',
        'http_output:',
        '  enabled: true',
        '  url: http://sidekick:2801/',
        'program_output:',
        '  enabled: true',
        '  program: logger -t saker',
      ].join('\n'),
    );
    assert.equal(c.priority, 'WARNING');
    assert.equal(c.ruleMatching, 'all');
    assert.equal(c.engine.minPriority, 'WARNING');
    assert.deepEqual(alertFormatView(c), {
      json: true,
      includeOutput: false,
      includeTags: false,
      includeOutputFields: true,
      timeIso8601: true,
    });
    const out = outputsView(c);
    assert.equal(out.buffered, true);
    assert.equal(out.stdout.enabled, false);
    assert.equal(out.file.filename, '/var/log/saker.txt');
    assert.equal(out.http.url, 'http://sidekick:2801/');
    assert.equal(out.program.program, 'logger -t saker');
  });

  it('accepts priority in any spelling Falco does', () => {
    assert.equal(load('priority: INFO').priority, 'INFORMATIONAL');
    assert.equal(load('priority: Critical').priority, 'CRITICAL');
  });

  it('resolves relative rules files from the config file, and reads rules_file (old spelling)', () => {
    const notices: string[] = [];
    const c = load('rules_files:\n  - rules\n  - /abs/x.yaml\n', {});
    assert.deepEqual(c.rulesFiles, [join(dir, 'rules'), '/abs/x.yaml']);
    const old = load('rules_file: my_rules.yaml\n', { onNotice: (m) => notices.push(m) });
    assert.deepEqual(old.rulesFiles, [join(dir, 'my_rules.yaml')]);
    assert.match(notices.join('\n'), /rules_file is the spelling before Falco 0\.38/);
  });
});

describe('errors name the key and where it was written', () => {
  it('an unknown key, with a suggestion', () => {
    const err = loadError('json_output: true\nhttp_output:\n  enabled: true\n  ulr: http://x\n');
    assert.equal(err.path, 'http_output.ulr');
    assert.equal(err.line, 4);
    assert.equal(err.column, 3);
    assert.match(err.message, /saker-\d+\.yaml:4:3: http_output\.ulr: unknown key \(did you mean url\?\)$/);
  });

  it('an unknown top-level key that is neither Saker nor Falco fails', () => {
    const err = loadError('priorty: debug\n');
    assert.equal(err.path, 'priorty');
    assert.match(err.message, /unknown key \(did you mean priority\?\)/);
    const far = loadError('xyzzy: 1\n');
    assert.match(far.message, /xyzzy: unknown key$/);
  });

  it('a wrong type names the expected type', () => {
    const b = loadError('json_output: maybe\n');
    assert.deepEqual([b.path, b.line, b.column], ['json_output', 1, 14]);
    assert.match(b.message, /expected a boolean/);
    const n = loadError('engine:\n  replicas: 0\n');
    assert.match(n.message, /engine\.replicas: expected an integer in 1\.\.64, got 0/);
    const p = loadError('priority: loud\n');
    assert.match(p.message, /priority: expected one of EMERGENCY, .*DEBUG, got "loud"/);
    const m = loadError('nats: nats://x:4222\n');
    assert.match(m.message, /nats: expected a mapping, got "nats:\/\/x:4222"/);
    const l = loadError('rules_files:\n  - a.yaml\n  - [b]\n');
    assert.deepEqual([l.path, l.line], ['rules_files[1]', 3]);
    const r = loadError('telemetry:\n  tracing:\n    sample_ratio: 2\n');
    assert.match(r.message, /telemetry\.tracing\.sample_ratio: expected a number in 0\.\.1/);
    const u = loadError('http_output:\n  url: ftp://x\n');
    assert.match(u.message, /http_output\.url: expected an http:\/\/ or https:\/\/ URL/);
    const h = loadError('control:\n  listen: 5060\n');
    assert.match(h.message, /control\.listen: expected host:port/);
  });

  it('bad YAML and duplicate keys carry a position', () => {
    const y = loadError('a: [1\n');
    assert.equal(y.path, '');
    assert.match(y.message, /invalid YAML/);
    assert.ok(y.line !== undefined && y.line >= 1);
    const d = loadError('json_output: true\njson_output: false\n');
    assert.equal(d.line, 2);
    assert.match(d.message, /duplicated mapping key/);
    const top = loadError('- a\n- b\n');
    assert.match(top.message, /expected a mapping of settings/);
  });

  it('a missing file names the file', () => {
    assert.throws(
      () => loadConfig({ file: join(dir, 'absent.yaml'), env: {} }),
      (e: unknown) =>
        e instanceof ConfigError && e.file === join(dir, 'absent.yaml') && /no such file/.test(e.message),
    );
  });

  it('control.tls needs both cert and key', () => {
    const err = loadError('control:\n  tls:\n    cert: server.crt\n');
    assert.equal(err.path, 'control.tls.key');
    assert.equal(err.line, 2);
    const c = load(
      'control:\n  listen: 0.0.0.0:5060\n  tls: {cert: s.crt, key: s.key, ca: ca.crt}\n  token: t0k\n  delegates: [mtls:saker-ui]\n',
    );
    assert.deepEqual(controlView(c), {
      listen: '0.0.0.0:5060',
      tls: { cert: join(dir, 's.crt'), key: join(dir, 's.key'), ca: join(dir, 'ca.crt') },
      token: 't0k',
      allowPlaintextToken: false,
      delegates: ['mtls:saker-ui'],
    });
  });

  it("ui.tls and the UI's client certificate for control (ui.control) each need both cert and key", () => {
    assert.equal(loadError('ui:\n  tls:\n    cert: ui.crt\n').path, 'ui.tls.key');
    const err = loadError('ui:\n  control:\n    key: client.key\n');
    assert.equal(err.path, 'ui.control.cert');
    assert.equal(err.line, 2);
    const c = load('ui:\n  control: {address: "control:5060", ca: ca.crt, cert: c.crt, key: c.key}\n');
    assert.deepEqual(c.ui.control, {
      address: 'control:5060',
      ca: join(dir, 'ca.crt'),
      cert: join(dir, 'c.crt'),
      key: join(dir, 'c.key'),
    });
  });

  it('sinks.input.tls needs both cert and key; the input takes a token and the opt-outs', () => {
    const err = loadError('sinks:\n  input:\n    tls:\n      key: k.key\n');
    assert.equal(err.path, 'sinks.input.tls.cert');
    assert.equal(err.line, 3);
    const c = load(
      'sinks:\n  input:\n    listen: 0.0.0.0:2801\n    tls: {cert: s.crt, key: s.key}\n    token: t0k\n' +
        '    allow_plaintext_token: true\n',
    );
    assert.deepEqual(sinksView(c).input, {
      host: '0.0.0.0',
      port: 2801,
      tls: { cert: join(dir, 's.crt'), key: join(dir, 's.key'), ca: null },
      token: 't0k',
      allowUnauthenticated: false,
      allowPlaintextToken: true,
    });
  });
});

describe('environment overrides', () => {
  it('SAKER__A__B sets a.b, values read as YAML', () => {
    const c = load('http_output:\n  url: http://file\n', {
      env: {
        SAKER__HTTP_OUTPUT__URL: 'http://env:2801',
        SAKER__JSON_OUTPUT: 'true',
        SAKER__ENGINE__REPLICAS: '3',
        SAKER__TELEMETRY__TRACING__SAMPLE_RATIO: '0.5',
        SAKER__RULES_FILES: '[/a.yaml, /b.yaml]',
        SAKER__NATS__URL: 'nats://127.0.0.1:4222',
        SAKER__TELEMETRY__LISTEN: '',
        SAKER_SHARED: '/ignored/single/underscore',
      },
    });
    assert.equal(c.httpOutput.url, 'http://env:2801');
    assert.equal(c.jsonOutput, true);
    assert.equal(c.engine.replicas, 3);
    assert.equal(c.telemetry.tracing.sampleRatio, 0.5);
    assert.equal(c.telemetry.listen, '127.0.0.1:8765');
    assert.deepEqual(c.rulesFiles, ['/a.yaml', '/b.yaml']);
    assert.equal(busView(c).url, 'nats://127.0.0.1:4222');
  });

  it('a bad value or an unknown key names the variable', () => {
    const bad = loadError('', { env: { SAKER__ENGINE__REPLICAS: 'many' } });
    assert.equal(bad.envVar, 'SAKER__ENGINE__REPLICAS');
    assert.equal(bad.path, 'engine.replicas');
    assert.match(bad.message, /^SAKER__ENGINE__REPLICAS: engine\.replicas: expected an integer/);
    const unknown = loadError('', { env: { SAKER__HTTP_OUTPUT__ULR: 'http://x' } });
    assert.equal(unknown.envVar, 'SAKER__HTTP_OUTPUT__ULR');
    assert.match(unknown.message, /http_output\.ulr: unknown key \(did you mean url\?\)/);
    const yaml = loadError('', { env: { SAKER__RULES_FILES: '[a, b' } });
    assert.equal(yaml.envVar, 'SAKER__RULES_FILES');
    assert.match(yaml.message, /not a valid YAML value/);
    const name = loadError('', { env: { SAKER__HTTP_OUTPUT___URL: 'x' } });
    assert.equal(name.envVar, 'SAKER__HTTP_OUTPUT___URL');
  });
});

describe('overrides', () => {
  it('win over the environment and the file, and are not mutated', () => {
    const overrides = { nats: { url: 'nats://flag:4222' }, engine: { replicas: 2 } };
    const before = JSON.stringify(overrides);
    const c = load('nats:\n  url: nats://file:4222\nengine:\n  queue_group: eng\n', {
      env: { SAKER__NATS__URL: 'nats://env:4222', SAKER__ENGINE__REPLICAS: '5' },
      overrides,
    });
    assert.equal(c.nats.url, 'nats://flag:4222');
    assert.equal(c.engine.replicas, 2);
    assert.equal(c.engine.queueGroup, 'eng');
    assert.equal(JSON.stringify(overrides), before);
  });

  it('are checked like the file', () => {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { engine: { replica: 2 } } }),
      /^ConfigError: overrides: engine\.replica: unknown key \(did you mean replicas\?\)|overrides: engine\.replica/,
    );
  });
});

describe('views', () => {
  it('give each service what it needs', () => {
    const c = load(
      'hostname: h1\nengine:\n  min_priority: error\n  kind: modern_ebpf\nsensor:\n  node_name: n1\n  worker: false\ntelemetry:\n  tracing:\n    endpoint: http://otel:4318\n',
    );
    assert.equal(engineView(c).minPriority, 'ERROR');
    assert.equal(engineView(c).hostname, 'h1');
    assert.equal(c.priority, 'DEBUG');
    assert.deepEqual(sensorView(c), {
      enabled: true,
      nodeName: 'n1',
      worker: false,
      hostname: 'h1',
      drops: { threshold: 0.1, actions: ['log', 'alert'], rate: 0.03333, maxBurst: 1 },
    });
    assert.equal(telemetryView(c).tracing.endpoint, 'http://otel:4318');
    assert.deepEqual(rulesView(c), {
      files: [defaultRulesDir()],
      watch: true,
      minPriority: 'ERROR',
      matching: 'first',
    });
  });
});

describe('sinks', () => {
  it('defaults: no input, no per-output filters', () => {
    const c = load('hostname: h1\n');
    const v = sinksView(c);
    assert.equal(v.input, null);
    assert.equal(v.hostname, 'h1');
    assert.deepEqual(v.outputs.http, { minimumPriority: null, condition: null, concurrency: null });
  });

  it('reads the input address and per-output minimum priority and condition', () => {
    const c = load(
      'sinks:\n  input:\n    listen: "[::1]:2801"\n  outputs:\n    http:\n      minimum_priority: warning\n' +
        '      condition: alert.source = k8s_audit\n',
    );
    const v = sinksView(c);
    assert.deepEqual(v.input, {
      host: '::1',
      port: 2801,
      tls: null,
      token: null,
      allowUnauthenticated: false,
      allowPlaintextToken: false,
    });
    assert.deepEqual(v.outputs.http, {
      minimumPriority: 'WARNING',
      condition: 'alert.source = k8s_audit',
      concurrency: null,
    });
    assert.deepEqual(v.outputs.file, { minimumPriority: null, condition: null, concurrency: null });
  });

  it('reads concurrency per output (sinks.outputs; sinks.sidekick in the sinks), validated, with SAKER__ overrides', () => {
    const c = load(
      'sinks:\n  outputs:\n    http:\n      concurrency: 64\n  sidekick:\n    webhook:\n' +
        '      address: http://hook:8080/\n      concurrency: 32\n',
      { env: { SAKER__SINKS__SIDEKICK__SLACK__CONCURRENCY: '4' } },
    );
    const v = sinksView(c);
    assert.equal(v.outputs.http.concurrency, 64);
    assert.equal(v.outputs.file.concurrency, null);
    const e = loadError('sinks:\n  outputs:\n    http:\n      concurrency: -1\n');
    assert.equal(e.path, 'sinks.outputs.http.concurrency');
  });

  it('an unknown output or key fails naming the path', () => {
    const out = loadError('sinks:\n  outputs:\n    htp:\n      condition: x\n');
    assert.equal(out.path, 'sinks.outputs.htp');
    assert.match(out.message, /unknown key \(did you mean http\?\)/);
    const key = loadError('sinks:\n  outputs:\n    file:\n      minimumpriority: error\n');
    assert.equal(key.path, 'sinks.outputs.file.minimumpriority');
    const bad = loadError('sinks:\n  input:\n    listen: 2801\n');
    assert.equal(bad.path, 'sinks.input.listen');
  });
});

describe('enrich', () => {
  it('defaults: node mode on when a socket is found, cluster mode off, the cache bounded', () => {
    const c = load('hostname: h1\nsensor:\n  node_name: n1\n');
    assert.deepEqual(enrichNodeView(c), {
      enabled: null,
      criSockets: [],
      pollIntervalMs: 2000,
      nodeName: 'n1',
      tombstoneTtlMs: 300_000,
    });
    assert.deepEqual(enrichClusterView(c), {
      enabled: false,
      kubeconfig: '',
      shards: 1,
      instance: 'h1',
      leaseTtlMs: 5000,
      tombstoneTtlMs: 300_000,
      resyncMs: 0,
    });
    assert.deepEqual(enrichCacheView(c), { waitMs: 500, maxEntries: 10_000, ttlMs: 600_000 });
  });

  it('reads every key; sockets may be unix:// endpoints; kubeconfig is relative to the file', () => {
    const c = load(
      [
        'enrich:',
        '  node:',
        '    enabled: true',
        '    cri_sockets: [unix:///run/containerd/containerd.sock, /run/crio/crio.sock]',
        '    poll_interval_ms: 500',
        '    node_name: worker-3',
        '  cluster:',
        '    enabled: true',
        '    kubeconfig: kube/config',
        '    shards: 4',
        '    instance: enrich-0',
        '    lease_ttl_ms: 3000',
        '    resync_ms: 60000',
        '  cache:',
        '    wait_ms: 0',
        '    max_entries: 50',
        '',
      ].join('\n'),
    );
    const node = enrichNodeView(c);
    assert.equal(node.enabled, true);
    assert.deepEqual(node.criSockets, ['/run/containerd/containerd.sock', '/run/crio/crio.sock']);
    assert.equal(node.pollIntervalMs, 500);
    assert.equal(node.nodeName, 'worker-3');
    const cluster = enrichClusterView(c);
    assert.equal(cluster.kubeconfig, join(dir, 'kube/config'));
    assert.equal(cluster.shards, 4);
    assert.equal(cluster.instance, 'enrich-0');
    assert.equal(cluster.leaseTtlMs, 3000);
    assert.equal(cluster.resyncMs, 60_000);
    assert.deepEqual(enrichCacheView(c), { waitMs: 0, maxEntries: 50, ttlMs: 600_000 });
  });

  it('SAKER__ENRICH__… overrides; bad values fail naming the key', () => {
    const c = loadConfig({
      env: { SAKER__ENRICH__NODE__CRI_SOCKETS: '[/x.sock]', SAKER__ENRICH__CACHE__WAIT_MS: '20' },
      onNotice: () => {},
    });
    assert.deepEqual(c.enrich.node.criSockets, ['/x.sock']);
    assert.equal(c.enrich.cache.waitMs, 20);
    const rel = loadError('enrich:\n  node:\n    cri_sockets: [run/containerd.sock]\n');
    assert.equal(rel.path, 'enrich.node.cri_sockets[0]');
    assert.match(
      rel.message,
      /expected an absolute socket path or unix:\/\/\/path, got "run\/containerd.sock"/,
    );
    const shards = loadError('enrich:\n  cluster:\n    shards: 0\n');
    assert.equal(shards.path, 'enrich.cluster.shards');
    assert.match(shards.message, /expected an integer in 1..1024, got 0/);
    const poll = loadError('', { env: { SAKER__ENRICH__NODE__POLL_INTERVAL_MS: '10' } });
    assert.equal(poll.path, 'enrich.node.poll_interval_ms');
    assert.equal(poll.envVar, 'SAKER__ENRICH__NODE__POLL_INTERVAL_MS');
    const typo = loadError('enrich:\n  cache:\n    max_entry: 5\n');
    assert.match(typo.message, /did you mean max_entries\?/);
  });
});

describe('append_output', () => {
  const SUGGESTED = {
    match: { rule: null, source: null, tags: [] },
    extraOutput: '',
    extraFields: [],
    suggestedOutput: true,
  };

  it("defaults to Falco's default file: suggested_output on", () => {
    const c = loadConfig({ env: {}, onNotice: () => {} });
    assert.deepEqual(c.appendOutput, [SUGGESTED]);
    assert.deepEqual(engineView(c).appendOutput, [SUGGESTED]);
    assert.deepEqual(load('append_output:\n').appendOutput, [SUGGESTED], 'null takes the default');
    assert.deepEqual(load('append_output: []\n').appendOutput, [], 'an empty list appends nothing');
  });

  it("reads Falco's reference falco.yaml value and no longer ignores the key", { skip: sharedSkip() }, () => {
    const notices: string[] = [];
    const c = loadConfig({
      file: sharedPath('reference', 'falco.yaml') ?? '',
      env: {},
      onNotice: (m) => notices.push(m),
    });
    assert.deepEqual(c.appendOutput, [SUGGESTED]);
    assert.ok(!notices.some((n) => n.includes('append_output')), notices.join('\n'));
  });

  it('reads match, extra_output, extra_fields and suggested_output', () => {
    const c = load(
      [
        'append_output:',
        '  - match:',
        '      source: syscall',
        '      tags: [persistence, execution]',
        '      rule: Some rule',
        '    extra_output: "gparent=%proc.aname[2] on CPU %evt.cpu"',
        '    extra_fields:',
        '      - home_directory: "${HOME}"',
        '      - evt.hostname',
        '      - proc.aname[2]',
        '      - evt.hostname',
        '  - suggested_output: yes',
        '  - {}',
      ].join('\n'),
    );
    assert.deepEqual(c.appendOutput, [
      {
        match: { rule: 'Some rule', source: 'syscall', tags: ['persistence', 'execution'] },
        extraOutput: 'gparent=%proc.aname[2] on CPU %evt.cpu',
        extraFields: [{ name: 'home_directory', format: '${HOME}' }, 'evt.hostname', 'proc.aname[2]'],
        suggestedOutput: false,
      },
      SUGGESTED,
      {
        match: { rule: null, source: null, tags: [] },
        extraOutput: '',
        extraFields: [],
        suggestedOutput: false,
      },
    ]);
    const env = loadConfig({ env: { SAKER__APPEND_OUTPUT: '[]' }, onNotice: () => {} });
    assert.deepEqual(env.appendOutput, []);
  });

  it('errors name the key path', () => {
    const tags = loadError(
      'append_output:\n  - suggested_output: true\n  - match:\n      tags: persistence\n',
    );
    assert.equal(tags.path, 'append_output[1].match.tags');
    assert.equal(tags.line, 4);
    assert.match(
      tags.message,
      /append_output\[1\]\.match\.tags: expected a list of strings, got "persistence"$/,
    );
    const tag = loadError('append_output:\n  - match: {tags: [a, [b]]}\n');
    assert.match(tag.message, /append_output\[0\]\.match\.tags\[1\]: expected a string, got a list/);
    const list = loadError('append_output: {suggested_output: true}\n');
    assert.match(list.message, /append_output: expected a list of mappings, got a mapping/);
    const typo = loadError('append_output:\n  - extra_ouput: x\n');
    assert.match(
      typo.message,
      /append_output\[0\]\.extra_ouput: unknown key \(did you mean extra_output\?\)/,
    );
    const matchTypo = loadError('append_output:\n  - match: {sources: syscall}\n');
    assert.match(
      matchTypo.message,
      /append_output\[0\]\.match\.sources: unknown key \(did you mean source\?\)/,
    );
    const bool = loadError('append_output:\n  - suggested_output: maybe\n');
    assert.match(bool.message, /append_output\[0\]\.suggested_output: expected a boolean/);
    const fields = loadError('append_output:\n  - extra_fields: evt.hostname\n');
    assert.match(
      fields.message,
      /append_output\[0\]\.extra_fields: expected a list of .*, got "evt\.hostname"/,
    );
    const two = loadError('append_output:\n  - extra_fields:\n      - {a: x, b: y}\n');
    assert.match(
      two.message,
      /append_output\[0\]\.extra_fields\[0\]: expected a field name .* got a mapping of 2 keys/,
    );
    const notField = loadError('append_output:\n  - extra_fields: ["%proc.name"]\n');
    assert.match(
      notField.message,
      /extra_fields\[0\]: expected a field name \(evt\.hostname\).*got "%proc\.name"/,
    );
    const dup = loadError(
      'append_output:\n  - extra_fields:\n      - evt.hostname\n      - evt.hostname: "%proc.name"\n',
    );
    assert.equal(dup.path, 'append_output[0].extra_fields[1]');
    assert.equal(dup.line, 4);
    assert.match(dup.message, /"evt\.hostname" is already defined in this entry/);
    const fmt = loadError('append_output:\n  - extra_fields: [{x: [1]}]\n');
    assert.match(fmt.message, /append_output\[0\]\.extra_fields\[0\]\.x: expected a string, got a list/);
  });
});

describe('audit and log sections, secrets', () => {
  it('reads the audit section, with the token from token_file (relative to the file)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-config-audit-'));
    try {
      writeFileSync(join(dir, 'tokens'), 'first-token-0123456789\n\nsecond-token-0123456789\n');
      writeFileSync(
        join(dir, 'saker.yaml'),
        'audit:\n  listen: 0.0.0.0:9765\n  token_file: tokens\n  files: [audit.log]\nlog: { level: warn, format: json }\n',
      );
      const config = loadConfig({ file: join(dir, 'saker.yaml'), env: {}, onNotice: () => {} });
      assert.equal(config.audit.listen, '0.0.0.0:9765');
      assert.deepEqual(config.audit.tokens, ['first-token-0123456789', 'second-token-0123456789']);
      assert.deepEqual(config.audit.files, [join(dir, 'audit.log')]);
      assert.equal(config.audit.tls, null);
      assert.deepEqual(config.log, { level: 'warn', format: 'json' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses token and token_file together, and a token_file it cannot read, never showing a value', () => {
    const both = loadError('control:\n  token: topsecret-value\n  token_file: /nonexistent\n');
    assert.equal(both.path, 'control.token');
    assert.doesNotMatch(both.message, /topsecret/);
    const missing = loadError('control:\n  token_file: /nonexistent/token\n');
    assert.equal(missing.path, 'control.token_file');
    assert.match(missing.message, /cannot read \/nonexistent\/token: ENOENT/);
    const shape = loadError('audit:\n  token: [topsecret-value]\n');
    assert.equal(shape.path, 'audit.token');
    assert.doesNotMatch(shape.message, /topsecret/);
  });

  it('refuses the variables of the old spelling by name, never showing their value', () => {
    for (const [name, instead] of [
      ['SAKER_CONTROL_TOKEN', /SAKER__CONTROL__TOKEN/],
      ['SAKER_AUDIT_TLS_CERT', /SAKER__AUDIT__TLS__CERT/],
      ['SAKER_AUDIT_SOMETHING', /SAKER__AUDIT__<KEY>/],
    ] as const) {
      assert.throws(
        () => loadConfig({ env: { [name]: 'the-secret-value' }, onNotice: () => {} }),
        (err: unknown) =>
          err instanceof ConfigError &&
          err.envVar === name &&
          instead.test(err.message) &&
          !err.message.includes('the-secret-value'),
        name,
      );
    }
    // SAKER_ with one underscore is not configuration otherwise (SAKER_SHARED).
    assert.doesNotThrow(() => loadConfig({ env: { SAKER_SHARED: '/x' }, onNotice: () => {} }));
  });

  it('reads host:port through the runtime parser: a bad one names the key and where', () => {
    const err = loadError('audit:\n  listen: "[zz]:80"\n');
    assert.equal(err.path, 'audit.listen');
    assert.equal(err.kind, 'option');
    assert.match(err.message, /:2:11: audit\.listen: "zz" in brackets is not an IPv6 address/);
  });
});
