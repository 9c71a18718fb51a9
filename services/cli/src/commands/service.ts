/**
 * One service alone, against a NATS server: `saker engine`, `saker control`,
 * `saker sensor`. The distributed shape runs each of these in its own pod;
 * they read the same saker.yaml as `saker run`.
 */
import { readFileSync } from 'node:fs';
import { BUCKETS, type Bus, connectBus } from '@saker/bus';
import { type SakerConfig, enrichCacheView } from '@saker/config';
import { start as startControl } from '@saker/control';
import { start as startEngine } from '@saker/engine';
import { SYSCALL_IDS, Sensor, resolveSyscalls } from '@saker/sensor';
import { type HealthReport, MetricsRegistry, type TelemetryServer, serveTelemetry } from '@saker/telemetry';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { syncRulesFiles } from './rules-sync.js';
import { EventPublisher, aborted, loadCommandConfig, readRulesDocument, shutdownSignal } from './run.js';

export const COMMON_OPTIONS = {
  config: { type: 'string', short: 'c' },
  nats: { type: 'string' },
  'metrics-listen': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const COMMON_HELP = `  -c, --config FILE        saker.yaml (see docs/config.md)
  --nats URL               the NATS server (required, here or as nats.url)
  --metrics-listen H:P     /metrics and /healthz address (telemetry.listen); 'off' to not serve
  -h, --help               show this help
`;

export function commonOverrides(values: { nats?: string; 'metrics-listen'?: string }): Record<
  string,
  unknown
> {
  const o: Record<string, unknown> = {};
  if (values.nats !== undefined) o.nats = { url: values.nats };
  if (values['metrics-listen'] !== undefined) {
    o.telemetry = { listen: values['metrics-listen'] === 'off' ? null : values['metrics-listen'] };
  }
  return o;
}

export function natsUrl(command: string, config: SakerConfig): string {
  if (config.nats.url === null) {
    throw new UsageError('a standalone service needs a NATS server: --nats URL (or nats.url)', command);
  }
  return config.nats.url;
}

export async function serveIfConfigured(
  config: SakerConfig,
  metrics: MetricsRegistry,
  health: () => HealthReport,
): Promise<TelemetryServer | undefined> {
  if (config.telemetry.listen === null) return undefined;
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(config.telemetry.listen);
  return serveTelemetry({
    host: m?.[1] ?? m?.[2] ?? '127.0.0.1',
    port: Number(m?.[3] ?? 0),
    metrics,
    health,
  });
}

/**
 * Connects, runs `body` until SIGINT/SIGTERM (or the bus closing), and
 * closes the bus after `body` has drained.
 */
export async function standalone(
  who: string,
  url: string,
  io: Io,
  body: (bus: Bus, signal: AbortSignal) => Promise<void>,
): Promise<number> {
  const stop = shutdownSignal(io, who);
  const bus = await connectBus({ url, name: `saker-${who}` });
  const inner = new AbortController();
  const onStop = (): void => inner.abort();
  stop.signal.addEventListener('abort', onStop, { once: true });
  void bus.closed.then(onStop);
  try {
    await body(bus, inner.signal);
    return stop.signal.aborted ? EXIT_OK : EXIT_FAIL;
  } catch (err) {
    io.err(`${who}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAIL;
  } finally {
    stop.dispose();
    await bus.drain().catch(() => bus.close());
  }
}

export const engineCommand: Command = {
  name: 'engine',
  summary: 'run the rule engine alone, against NATS',
  help: `Usage: saker engine --nats URL [--config saker.yaml] [-r FILE|DIR ...]

Joins the engine queue group, evaluates event batches and publishes alerts
into SAKER_ALERTS. Starts with the rules of rules_files (or -r) until KV
saker_rules holds a ruleset, then follows it (hot swap).

Options:
  -r, --rules FILE|DIR     rules to start with instead of rules_files; repeat for more
${COMMON_HELP}`,
  async run(args, io) {
    const { values } = parseCommandArgs('engine', args, {
      ...COMMON_OPTIONS,
      rules: { type: 'string', short: 'r', multiple: true },
    });
    if (values.help) {
      await io.out(this.help);
      return EXIT_OK;
    }
    const overrides = commonOverrides(values);
    if (values.rules !== undefined) overrides.rules_files = values.rules;
    const config = loadCommandConfig('engine', io, values.config, overrides);
    const url = natsUrl('engine', config);
    const initial = await readRulesDocument(config.rulesFiles, io, {
      author: 'saker engine',
      comment: 'rules_files',
      appendOutput: config.appendOutput,
    });
    if (initial === undefined) {
      io.err('engine: not starting: the rules have errors\n');
      return EXIT_FAIL;
    }
    return standalone('engine', url, io, async (bus, signal) => {
      const metrics = new MetricsRegistry();
      const engine = await startEngine(
        {
          bus,
          hostname: config.hostname,
          queue: config.engine.queueGroup,
          rules: initial.doc,
          minPriority: config.engine.minPriority,
          ruleMatching: config.ruleMatching,
          timeIso8601: config.timeFormatIso8601,
          // Falco's append_output (default: suggested output, the container fields).
          appendOutput: config.appendOutput,
          metrics,
          // The metadata cache over KV saker_meta, started once a rule reads container.*/k8s.* fields.
          metadata: { kv: enrichCacheView(config) },
          log: (line) => io.err(`${line}\n`),
        },
        signal,
      );
      const telemetry = await serveIfConfigured(config, metrics, () => engine.health());
      io.err(
        `engine: ready name=${engine.name} nats=${url}${telemetry ? ` metrics=${telemetry.url}` : ''}\n`,
      );
      await engine.stopped;
      await telemetry?.close();
    });
  },
};

export const controlCommand: Command = {
  name: 'control',
  summary: 'run the control API (gRPC RuleService) alone, against NATS',
  help: `Usage: saker control --nats URL [--config saker.yaml] [--listen HOST:PORT] [--load-rules]

Serves the gRPC RuleService on control.listen, with control.tls and
control.token, over the rulesets in KV saker_rules.

With --load-rules, control also puts rules_files into KV saker_rules at
start and whenever a file changes (a ConfigMap mounted as a folder
included), as saker run does; every engine hot-swaps. Selections made with
'saker ctl rules enable/disable' are kept; rules that do not load are
refused and the ruleset in use stays. The Helm chart runs control this way.

Options:
  --listen HOST:PORT       address to serve on (control.listen)
  --load-rules             load rules_files into the engines, and reload them on change
${COMMON_HELP}`,
  async run(args, io) {
    const { values } = parseCommandArgs('control', args, {
      ...COMMON_OPTIONS,
      listen: { type: 'string' },
      'load-rules': { type: 'boolean' },
    });
    if (values.help) {
      await io.out(this.help);
      return EXIT_OK;
    }
    const overrides = commonOverrides(values);
    if (values.listen !== undefined) overrides.control = { listen: values.listen };
    const config = loadCommandConfig('control', io, values.config, overrides);
    const url = natsUrl('control', config);
    return standalone('control', url, io, async (bus, signal) => {
      const rules = values['load-rules']
        ? await syncRulesFiles(config, await bus.kv(BUCKETS.rules), io)
        : undefined;
      const tls = config.control.tls;
      const control = await startControl(
        {
          bus,
          listen: config.control.listen,
          ...(tls === null
            ? {}
            : {
                tls: {
                  cert: readFileSync(tls.cert),
                  key: readFileSync(tls.key),
                  ...(tls.ca === null ? {} : { clientCa: readFileSync(tls.ca) }),
                },
              }),
          ...(config.control.token === null ? {} : { token: config.control.token }),
        },
        signal,
      );
      const metrics = new MetricsRegistry();
      const telemetry = await serveIfConfigured(config, metrics, () => ({
        ok: true,
        checks: { control: { ok: true, detail: control.address } },
      }));
      io.err(
        `control: ready address=${control.address} nats=${url}${telemetry ? ` metrics=${telemetry.url}` : ''}\n`,
      );
      await aborted(signal);
      rules?.stop();
      await control.close();
      await telemetry?.close();
    });
  },
};

export const sensorCommand: Command = {
  name: 'sensor',
  summary: 'run the eBPF sensor alone (root), publishing to NATS',
  help: `Usage: saker sensor --nats URL [--config saker.yaml] [--syscalls a,b,...]

Attaches the eBPF probe and publishes syscall event batches on
saker.v1.events.syscall.<sensor.node_name>. Needs root.

Options:
  --syscalls LIST          syscalls to capture (comma-separated); default every one the sensor knows
${COMMON_HELP}`,
  async run(args, io) {
    const { values } = parseCommandArgs('sensor', args, { ...COMMON_OPTIONS, syscalls: { type: 'string' } });
    if (values.help) {
      await io.out(this.help);
      return EXIT_OK;
    }
    const config = loadCommandConfig('sensor', io, values.config, commonOverrides(values));
    const url = natsUrl('sensor', config);
    const syscalls = values.syscalls === undefined ? Object.keys(SYSCALL_IDS) : values.syscalls.split(',');
    const { unknown } = resolveSyscalls(syscalls);
    if (unknown.length > 0)
      throw new UsageError(`--syscalls: the sensor cannot capture ${unknown.join(', ')}`, 'sensor');
    if (typeof process.getuid === 'function' && process.getuid() !== 0) {
      io.err('sensor: needs root (it loads an eBPF program)\n');
      return EXIT_FAIL;
    }
    return standalone('sensor', url, io, async (bus, signal) => {
      const publisher = new EventPublisher(bus, config.sensor.nodeName, config.engine.batch, io);
      const sensor = await Sensor.start(
        { syscalls, hostname: config.sensor.nodeName, onError: (e) => io.err(`sensor: ${e.message}\n`) },
        signal,
      );
      const metrics = new MetricsRegistry();
      const telemetry = await serveIfConfigured(config, metrics, () => ({ ok: true, checks: {} }));
      io.err(`sensor: attached node=${config.sensor.nodeName} nats=${url}\n`);
      for await (const event of sensor) publisher.add(event);
      await publisher.close();
      await telemetry?.close();
    });
  },
};

export const SERVICE_COMMANDS: readonly Command[] = [engineCommand, controlCommand, sensorCommand];
