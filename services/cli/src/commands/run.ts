/**
 * `saker run`: the embedded shape. One process runs the engine, the control
 * API, the sinks (Falco's outputs: stdout, file, syslog, http, program, as
 * the configuration enables them), the metrics/health endpoint and every
 * event source there is (the sensor when root, recorded events with
 * --replay), over the in-memory bus, or over NATS with --nats.
 *
 * Shutdown runs in flow order so nothing in flight is lost: sources stop and
 * flush, the engines drain (every event taken is evaluated and its alerts
 * stored), the sinks deliver every stored alert, then the rest closes.
 */
import { readFileSync, readdirSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  BUCKETS,
  type Bus,
  EventBatcher,
  type KvStore,
  MemoryBroker,
  SUBJECTS,
  busBatchSender,
  connectBus,
  toToken,
} from '@saker/bus';
import {
  type AlertFormatView,
  SINK_OUTPUTS,
  type SakerConfig,
  loadConfig,
  outputsView,
  sinksView,
} from '@saker/config';
import { ConfigError, enrichCacheView, enrichClusterView, enrichNodeView } from '@saker/config';
import { type ControlService, start as startControl } from '@saker/control';
import { type EngineService, start as startEngine } from '@saker/engine';
import { type RunningEnrich, startEnrich } from '@saker/enrich';
import { type SakerEvent, readEventsFile } from '@saker/events';
import {
  type AppendOutputEntry,
  type FalcoAlert,
  RULESET_KEY,
  type RuleText,
  type Ruleset,
  type RulesetDocument,
  type RulesetSelection,
  decodeRulesetDocument,
  encodeRulesetDocument,
  formatAlertJson,
  loadRules,
  readRuleFiles,
} from '@saker/rules';
import { SYSCALL_IDS, Sensor, resolveSyscalls } from '@saker/sensor';
import {
  type AlertFormat,
  type Output,
  type OutputSettings,
  SinksOptionsError,
  type SinksService,
  alertLine,
  falcoOutputsFromConfig,
  sidekickOutputsFromConfig,
  start as startSinks,
} from '@saker/sinks';
import {
  type Counter,
  type HealthCheck,
  MetricsRegistry,
  type TelemetryServer,
  healthReport,
  serveTelemetry,
} from '@saker/telemetry';
import { initTelemetry } from '@saker/telemetry/sdk';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { formatLoadResults } from '../rules-input.js';
import { AUDIT_RUN_HELP, AUDIT_RUN_OPTIONS, type AuditRunValues, startAuditSource } from './run-audit.js';

const NAME = 'run';

// --- small shared pieces (service.ts uses them too) ---------------------------

/** Turns the first SIGINT/SIGTERM into an abort; a second one exits at once. */
export function shutdownSignal(io: Io, who: string): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let count = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1) {
      io.err(`${who}: second ${sig}, exiting without draining\n`);
      process.exit(EXIT_FAIL);
    }
    io.err(`${who}: ${sig}, draining\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

export function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Loads the configuration, reporting a ConfigError as a usage problem of `command`. */
export function loadCommandConfig(
  command: string,
  io: Io,
  file: string | undefined,
  overrides: Record<string, unknown>,
): SakerConfig {
  try {
    return loadConfig({
      ...(file === undefined ? {} : { file }),
      overrides,
      onNotice: (m) => io.err(`saker: ${m}\n`),
    });
  } catch (err) {
    if (err instanceof ConfigError)
      throw new UsageError(`configuration: ${err.message}`, command, { cause: err });
    throw err;
  }
}

/** Reads the rules files into a document; undefined (with the errors printed) when they do not load. */
export async function readRulesDocument(
  paths: readonly string[],
  io: Io,
  meta: {
    author: string;
    comment: string;
    selections?: readonly RulesetSelection[];
    /** Falco's append_output, checked against the rules here so a bad entry stops the start. */
    appendOutput?: readonly AppendOutputEntry[];
  },
): Promise<{ doc: RulesetDocument; ruleset: Ruleset } | undefined> {
  let files: RuleText[];
  try {
    files = await readRuleFiles(paths);
  } catch (err) {
    io.err(`saker: cannot read rules: ${err instanceof Error ? err.message : String(err)}\n`);
    return undefined;
  }
  const doc: RulesetDocument = {
    format: 1,
    files,
    selections: meta.selections ?? [],
    author: meta.author,
    comment: meta.comment,
    updatedAt: new Date().toISOString(),
  };
  const load = loadRules(files);
  if (!load.ok) {
    io.err(formatLoadResults(load.results, { errorsOnly: true }));
    return undefined;
  }
  let ruleset = load.ruleset;
  for (const { action, selector } of doc.selections) {
    ruleset = action === 'enable' ? ruleset.enableRules(selector) : ruleset.disableRules(selector);
  }
  const applied = ruleset.withAppendedOutput(meta.appendOutput ?? []);
  if (!applied.ok) {
    io.err(`saker: configuration: ${applied.error}\n`);
    return undefined;
  }
  return { doc, ruleset: applied.ruleset };
}

/**
 * Writes a ruleset to KV saker_rules, as `saker ctl rules put` does through
 * the control service: engines watching the key hot-swap to it.
 */
export async function putRuleset(kv: KvStore, doc: RulesetDocument): Promise<number> {
  return kv.put(RULESET_KEY, encodeRulesetDocument(doc));
}

/** The subject an event is published on. */
export function eventSubject(event: SakerEvent, hostname: string): string {
  return event.source === 'syscall'
    ? SUBJECTS.syscallEvents(toToken(event.hostname ?? hostname))
    : SUBJECTS.k8sAuditEvents;
}

/** One batcher per subject, so events of every source go out in batches. */
export class EventPublisher {
  readonly #bus: Bus;
  readonly #hostname: string;
  readonly #batchers = new Map<string, EventBatcher>();
  readonly #opts: { maxEvents: number; flushIntervalMs: number };
  readonly #io: Io;

  constructor(bus: Bus, hostname: string, opts: { maxEvents: number; flushIntervalMs: number }, io: Io) {
    this.#bus = bus;
    this.#hostname = hostname;
    this.#opts = opts;
    this.#io = io;
  }

  add(event: SakerEvent): boolean {
    const subject = eventSubject(event, this.#hostname);
    let b = this.#batchers.get(subject);
    if (b === undefined) {
      b = new EventBatcher({
        send: busBatchSender(this.#bus, subject),
        maxEvents: this.#opts.maxEvents,
        flushIntervalMs: Math.max(1, this.#opts.flushIntervalMs),
        onError: (err, dropped) =>
          this.#io.err(`saker: ${dropped} events lost publishing on ${subject}: ${String(err)}\n`),
      });
      this.#batchers.set(subject, b);
    }
    return b.add(event);
  }

  /** Waits until every event added so far has been published. */
  async flush(): Promise<void> {
    await Promise.all([...this.#batchers.values()].map((b) => b.flush()));
  }

  get dropped(): number {
    let n = 0;
    for (const b of this.#batchers.values()) n += b.stats().dropped;
    return n;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#batchers.values()].map((b) => b.close()));
  }
}

/** Publishes a recorded events file; the batches are flushed as it goes, so none is dropped. */
export async function replayFile(
  file: string,
  publisher: EventPublisher,
  batch: number,
  signal: AbortSignal,
): Promise<number> {
  let n = 0;
  for await (const event of readEventsFile(file)) {
    if (signal.aborted) break;
    publisher.add(event);
    n++;
    if (n % batch === 0) await publisher.flush();
  }
  await publisher.flush();
  return n;
}

// --- the stdout output --------------------------------------------------------

function isFalcoAlert(v: unknown): v is FalcoAlert {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return (
    typeof o.hostname === 'string' &&
    typeof o.priority === 'string' &&
    typeof o.rule === 'string' &&
    typeof o.source === 'string' &&
    typeof o.time === 'string' &&
    (o.output === undefined || typeof o.output === 'string') &&
    (o.tags === undefined || (Array.isArray(o.tags) && o.tags.every((t) => typeof t === 'string'))) &&
    (o.output_fields === undefined || (typeof o.output_fields === 'object' && o.output_fields !== null))
  );
}

/** One alert as Falco prints it on stdout: the text line, or the JSON line per the json_* keys. */
export function formatStdoutLine(data: Uint8Array, format: AlertFormatView): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
  if (!isFalcoAlert(value)) return undefined;
  const alert: FalcoAlert = {
    ...value,
    tags: value.tags ?? [],
    output: value.output ?? '',
    output_fields: value.output_fields ?? {},
  };
  if (!format.json) return `${alert.output}\n`;
  return `${formatAlertJson(alert, {
    includeOutput: format.includeOutput,
    includeTags: format.includeTags,
    includeOutputFields: format.includeOutputFields,
  })}\n`;
}

/**
 * The sinks' stdout output, written through the command's Io (so it shares
 * stdout's backpressure) and counted in `saker_stdout_alerts_total`.
 */
export class IoStdoutOutput implements Output {
  readonly name = 'stdout';
  printed = 0;
  readonly #format: AlertFormat;
  readonly #io: Io;
  readonly #counter: Counter;

  constructor(format: AlertFormat, io: Io, metrics: MetricsRegistry) {
    this.#format = format;
    this.#io = io;
    this.#counter = metrics.counter('saker_stdout_alerts_total', 'Alerts printed on stdout.');
  }

  async deliver(alert: FalcoAlert, raw: string): Promise<void> {
    await this.#io.out(`${alertLine(alert, raw, this.#format)}\n`);
    this.printed++;
    this.#counter.inc();
  }

  async close(): Promise<void> {}
}

/**
 * Falco's output sections as the sinks' outputs, with Saker's per-output
 * filters (`sinks.outputs.<name>`). stdout goes through `stdout`. The local
 * syslog output is left out, with a notice, when there is no /dev/log: Falco's
 * syslog(3) drops the alerts silently there, and retrying them would only hold
 * up every shutdown.
 */
export function runOutputs(
  config: SakerConfig,
  stdout: Output,
  io: Io,
  devLog = '/dev/log',
): OutputSettings[] {
  return falcoOutputsFromConfig(outputsView(config), sinksView(config).outputs, {
    devLog,
    notice: (m) => io.err(`saker: ${m}\n`),
  }).map((s) => (s.output.name === 'stdout' ? { ...s, output: stdout } : s));
}

// --- rules: watch the files, put changes into KV ------------------------------

/**
 * Watches rules files and directories (their parent directories, since
 * editors replace files) and calls `onChange` once per burst of changes.
 * A Kubernetes ConfigMap mounted as a folder changes by swapping its
 * `..data` symlink to a new timestamped folder: that swap counts too.
 */
export function watchRulesPaths(paths: readonly string[], onChange: () => void, io: Io): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const fire = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onChange();
    }, 150);
  };
  const watched = new Map<string, Set<string> | 'all'>();
  for (const p of paths) {
    let isDir = false;
    try {
      isDir = statSync(p).isDirectory();
    } catch {
      isDir = false;
    }
    if (isDir) watched.set(p, 'all');
    else {
      const dir = dirname(p);
      const prev = watched.get(dir);
      if (prev !== 'all') watched.set(dir, new Set([...(prev ?? []), basename(p)]));
    }
  }
  for (const [dir, names] of watched) {
    try {
      const w = watch(dir, (_event, filename) => {
        const name = filename === null ? '' : filename.toString();
        if (name === '..data' || (names === 'all' ? /\.ya?ml$/.test(name) || name === '' : names.has(name)))
          fire();
      });
      w.on('error', (err) => io.err(`saker: watching ${dir}: ${err.message}\n`));
      watchers.push(w);
    } catch (err) {
      io.err(`saker: cannot watch ${dir}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}

// --- the command --------------------------------------------------------------

interface Running {
  readonly engines: EngineService[];
  control: ControlService | undefined;
  telemetry: TelemetryServer | undefined;
  sinks: SinksService | undefined;
  stdout: IoStdoutOutput | undefined;
  sensor: Sensor | undefined;
  enrich: RunningEnrich | undefined;
}

export const run: Command = {
  name: NAME,
  summary: 'run Saker in one process: engine, control API, alert outputs, sources',
  help: `Usage: saker run [--config saker.yaml] [--nats URL] [-r FILE|DIR ...] [options]

Runs the engine, the control API (gRPC), the alert outputs (Falco's
stdout_output, file_output, syslog_output, http_output and program_output,
as text or JSON lines per json_output, and falcosidekick's outputs set
under sinks.sidekick; see docs/sinks.md), the
metrics/health endpoint and every event source in one process. The bus is in
memory unless --nats (or nats.url) names a server.

Rules come from the configuration's rules_files (default: Saker's rules/
folder) or -r. Rules files are watched (watch_config_files): a change is
loaded and written to KV saker_rules, as 'saker ctl rules put' does, and the
engines hot-swap; a change that does not load keeps the rules in use and
prints the errors.

Sources: the eBPF sensor when running as root (sensor.enabled), recorded
events with --replay, and files dropped into --replay-dir.

Enrichment: container metadata from the local CRI socket when one is found
(enrich.node), pods and workloads from the API server when
enrich.cluster.kubeconfig is set; kept in KV saker_meta for the rules'
container.* and k8s.* fields (docs/enrich.md).

SIGINT or SIGTERM drains everything (every event taken is evaluated and
every alert delivered) and exits 0. SIGUSR1 reopens file_output's file.

Options:
  -c, --config FILE        saker.yaml (or a falco.yaml); see docs/config.md
  --nats URL               use this NATS server instead of the in-memory bus
  -r, --rules FILE|DIR     rules to load instead of rules_files; repeat for more
  --replay FILE.jsonl      publish recorded events (libs/events JSON lines); repeatable
  --replay-dir DIR         publish each *.jsonl file that appears in DIR, once, in name order
                           (write it under another name and rename it in)
  --json                   print alerts as Falco's JSON (json_output: true)
  --control-listen H:P     control API address (control.listen); 'off' to not start it
  --metrics-listen H:P     /metrics and /healthz address (telemetry.listen); 'off' to not serve
  --no-sensor              do not start the sensor
${AUDIT_RUN_HELP}  -h, --help               show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values } = parseCommandArgs(NAME, args, {
      config: { type: 'string', short: 'c' },
      nats: { type: 'string' },
      rules: { type: 'string', short: 'r', multiple: true },
      replay: { type: 'string', multiple: true },
      'replay-dir': { type: 'string' },
      json: { type: 'boolean' },
      'control-listen': { type: 'string' },
      'metrics-listen': { type: 'string' },
      'no-sensor': { type: 'boolean' },
      ...AUDIT_RUN_OPTIONS,
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      await io.out(this.help);
      return EXIT_OK;
    }
    const controlOff = values['control-listen'] === 'off';
    const metricsOff = values['metrics-listen'] === 'off';
    const overrides: Record<string, unknown> = {};
    if (values.nats !== undefined) overrides.nats = { url: values.nats };
    if (values.rules !== undefined) overrides.rules_files = values.rules;
    if (values.json) overrides.json_output = true;
    if (values['control-listen'] !== undefined && !controlOff) {
      overrides.control = { listen: values['control-listen'] };
    }
    if (values['metrics-listen'] !== undefined && !metricsOff) {
      overrides.telemetry = { listen: values['metrics-listen'] };
    }
    if (values['no-sensor']) overrides.sensor = { enabled: false };
    const config = loadCommandConfig(NAME, io, values.config, overrides);

    const stop = shutdownSignal(io, 'saker');
    const tracing = await initTelemetry({
      serviceName: 'saker',
      instanceId: config.hostname,
      ...(config.telemetry.tracingEndpoint === null
        ? {}
        : { tracingEndpoint: config.telemetry.tracingEndpoint }),
      sampleRatio: config.telemetry.sampleRatio,
    });
    try {
      return await runEmbedded(config, io, stop.signal, {
        replay: values.replay ?? [],
        replayDir: values['replay-dir'],
        control: !controlOff,
        metrics: !metricsOff,
        audit: values,
      });
    } finally {
      stop.dispose();
      await tracing.shutdown();
    }
  },
};

async function runEmbedded(
  config: SakerConfig,
  io: Io,
  signal: AbortSignal,
  opts: {
    replay: readonly string[];
    replayDir: string | undefined;
    control: boolean;
    metrics: boolean;
    audit: AuditRunValues;
  },
): Promise<number> {
  const initial = await readRulesDocument(config.rulesFiles, io, {
    author: 'saker run',
    comment: 'rules_files at start',
    appendOutput: config.appendOutput,
  });
  if (initial === undefined) {
    io.err('saker: not starting: the rules have errors\n');
    return EXIT_FAIL;
  }

  const broker = config.nats.url === null ? new MemoryBroker() : undefined;
  const bus = await connectBus(
    broker ? { memory: broker } : { url: config.nats.url ?? '', name: 'saker-run' },
  );
  const metrics = new MetricsRegistry();
  const engineStop = new AbortController();
  const serviceStop = new AbortController();
  const sourceStop = new AbortController();
  const running: Running = {
    engines: [],
    control: undefined,
    telemetry: undefined,
    sinks: undefined,
    stdout: undefined,
    sensor: undefined,
    enrich: undefined,
  };
  const background: Promise<unknown>[] = [];
  let stopWatching = (): void => {};
  let exitCode = EXIT_OK;

  try {
    const kv = await bus.kv(BUCKETS.rules);
    const current = await kv.get(RULESET_KEY);
    // Selections made with `saker ctl rules enable/disable` outlive a restart.
    const selections = current === null ? [] : safeSelections(current.value);
    const doc = { ...initial.doc, selections };
    await putRuleset(kv, doc);

    for (let i = 0; i < config.engine.replicas; i++) {
      running.engines.push(
        await startEngine(
          {
            bus,
            name: `${toToken(config.hostname)}-${process.pid}-${i}`,
            hostname: config.hostname,
            queue: config.engine.queueGroup,
            rules: doc,
            watchRules: true,
            minPriority: config.engine.minPriority,
            ruleMatching: config.ruleMatching,
            metrics,
            timeIso8601: config.timeFormatIso8601,
            // Falco's append_output (default: suggested output, the container fields).
            appendOutput: config.appendOutput,
            // The metadata cache over KV saker_meta, started once a rule reads container.*/k8s.* fields.
            metadata: { kv: enrichCacheView(config) },
            log: (line: string) => io.err(`${line}\n`),
          },
          engineStop.signal,
        ),
      );
    }
    // The sinks: each output's durable reads SAKER_ALERTS from its start (or
    // from where it stopped), so no alert the engines stored is missed.
    const stdout = new IoStdoutOutput(outputsView(config).format, io, metrics);
    const outputs = [
      ...runOutputs(config, stdout, io),
      // falcosidekick's outputs, `sinks.sidekick` (docs/config.md).
      ...sidekickOutputsFromConfig(sinksView(config), { format: outputsView(config).format, metrics }),
    ];
    running.sinks = await startSinks(
      {
        bus,
        hostname: config.hostname,
        outputs,
        input: sinksView(config).input,
        reopenOnSigusr1: true,
        metrics,
        log: (level, message) => io.err(`saker: sinks ${level}: ${message}\n`),
      },
      serviceStop.signal,
    ).catch((err: unknown) => {
      throw configPathError(err, outputs);
    });
    if (running.sinks.outputs.includes('stdout')) running.stdout = stdout;
    if (opts.control) {
      running.control = await startControl(
        {
          bus,
          listen: config.control.listen,
          ...(config.control.tls === null
            ? {}
            : {
                tls: {
                  cert: readFileSync(config.control.tls.cert),
                  key: readFileSync(config.control.tls.key),
                  ...(config.control.tls.ca === null
                    ? {}
                    : { clientCa: readFileSync(config.control.tls.ca) }),
                },
              }),
          ...(config.control.token === null ? {} : { token: config.control.token }),
        },
        serviceStop.signal,
      );
    }
    if (opts.metrics && config.telemetry.listen !== null) {
      const [host, port] = splitHostPort(config.telemetry.listen);
      running.telemetry = await serveTelemetry(
        { host, port, metrics, health: () => runHealth(running) },
        serviceStop.signal,
      );
    }

    // --- enrichment (services/enrich; docs/enrich.md): container metadata from the
    // local CRI socket when one is found, pods from the API server when a
    // kubeconfig is set; started before the sources so metadata is in KV first.
    running.enrich = await startEnrich(
      {
        bus,
        mode: 'embedded',
        node: enrichNodeView(config),
        cluster: enrichClusterView(config),
        metrics,
        log: (line) => io.err(`saker: ${line}\n`),
      },
      serviceStop.signal,
    );
    // --- end of enrichment ---

    // Sources, last: everything downstream is listening.
    const publisher = new EventPublisher(bus, config.hostname, config.engine.batch, io);
    const replayEvents = metrics.counter(
      'saker_replay_events_total',
      'Recorded events published by --replay.',
    );
    const replayOne = async (file: string): Promise<void> => {
      try {
        const n = await replayFile(file, publisher, config.engine.batch.maxEvents, sourceStop.signal);
        replayEvents.inc(undefined, n);
        io.err(`saker: replay: ${file}: ${n} events published\n`);
      } catch (err) {
        io.err(`saker: replay: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    };
    let replayChain: Promise<void> = Promise.resolve();
    const enqueueReplay = (file: string): void => {
      replayChain = replayChain.then(() => replayOne(file));
    };
    for (const f of opts.replay) enqueueReplay(f);
    if (opts.replayDir !== undefined) {
      const stopDir = watchReplayDir(opts.replayDir, enqueueReplay, io);
      const prev = stopWatching;
      stopWatching = () => {
        prev();
        stopDir();
      };
    }
    // --- Kubernetes audit source (services/audit; owner: audit ingest) ---
    await startAuditSource(
      opts.audit,
      { bus, nats: config.nats.url !== null, hostname: config.hostname, metrics, io },
      sourceStop.signal,
    ).then((a) => {
      if (a !== undefined) background.push(a.stopped);
    });
    // --- end of the audit source ---
    if (config.sensor.enabled) {
      running.sensor = await startSensorSource(
        config,
        initial.ruleset,
        publisher,
        io,
        sourceStop.signal,
        background,
      );
    }

    if (config.watchConfigFiles) {
      let reloading: Promise<void> = Promise.resolve();
      const stopRules = watchRulesPaths(
        config.rulesFiles,
        () => {
          reloading = reloading.then(() => reloadRules(config, kv, running, io));
        },
        io,
      );
      const prev = stopWatching;
      stopWatching = () => {
        prev();
        stopRules();
      };
    }

    const enabled = initial.ruleset.rules.filter((r) => r.enabled).length;
    io.err(
      `saker: running: bus=${config.nats.url ?? 'memory'} rules=${enabled} engines=${running.engines.length}` +
        `${running.control ? ` control=${running.control.address}` : ''}` +
        `${running.telemetry ? ` metrics=${running.telemetry.url}` : ''}` +
        ` stdout=${running.stdout ? (config.jsonOutput ? 'json' : 'text') : 'off'}` +
        ` outputs=${running.sinks.outputs.join(',') || 'none'}` +
        ` enrich=${running.enrich.describe()}` +
        `${running.sinks.inputUrl === null ? '' : ` input=${running.sinks.inputUrl}`}\n`,
    );

    // Run until a signal, or until the bus goes away for good.
    await Promise.race([aborted(signal), bus.closed]);
    if (!signal.aborted) {
      io.err('saker: the bus closed; stopping\n');
      exitCode = EXIT_FAIL;
    }

    // Drain in flow order.
    stopWatching();
    sourceStop.abort();
    await running.sensor?.stop();
    await replayChain;
    await publisher.close();
    await Promise.allSettled(background);
    engineStop.abort();
    await Promise.all(running.engines.map((e) => e.stopped));
    // Every stored alert delivered (or, after 10 s, left on the stream for next time).
    await running.sinks.stop({ drainMs: 10_000 });
    await running.enrich?.stop();
    serviceStop.abort();
    await running.control?.close();
    await running.telemetry?.close();
    const others = running.sinks.outputs
      .filter((o) => o !== 'stdout')
      .map((o) => `${o}=${running.sinks?.stats(o)?.delivered ?? 0}`);
    io.err(
      `saker: stopped${running.stdout ? `, ${running.stdout.printed} alerts printed` : ''}` +
        `${others.length > 0 ? `, delivered: ${others.join(' ')}` : ''}\n`,
    );
    return exitCode;
  } catch (err) {
    io.err(`saker: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_FAIL;
  } finally {
    stopWatching();
    sourceStop.abort();
    engineStop.abort();
    serviceStop.abort();
    await Promise.allSettled(running.engines.map((e) => e.stopped));
    await running.sinks?.stopped;
    await running.control?.close().catch(() => undefined);
    await running.enrich?.stop().catch(() => undefined);
    await running.telemetry?.close().catch(() => undefined);
    await bus.drain().catch(() => bus.close());
    broker?.close();
  }
}

/** The selections of a stored ruleset document; none when it does not decode. */
export function safeSelections(value: Uint8Array): readonly RulesetSelection[] {
  try {
    return decodeRulesetDocument(value).selections;
  } catch {
    return [];
  }
}

async function reloadRules(config: SakerConfig, kv: KvStore, running: Running, io: Io): Promise<void> {
  try {
    const current = await kv.get(RULESET_KEY);
    const next = await readRulesDocument(config.rulesFiles, io, {
      author: 'saker run',
      comment: 'rules file changed',
      selections: current === null ? [] : safeSelections(current.value),
      appendOutput: config.appendOutput,
    });
    if (next === undefined) {
      io.err('saker: the changed rules do not load; keeping the rules in use\n');
      return;
    }
    const revision = await putRuleset(kv, next.doc);
    // Wait (briefly) for every engine to swap, so "reloaded" means in use.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && running.engines.some((e) => e.revision < revision)) await sleep(10);
    const types = next.ruleset.eventTypes();
    if (running.sensor !== undefined) {
      try {
        running.sensor.setSyscalls(types === undefined ? Object.keys(SYSCALL_IDS) : sensorSyscalls(types));
      } catch (err) {
        io.err(`saker: sensor: ${err instanceof Error ? err.message : String(err)}\n`);
      }
    }
    const enabled = next.ruleset.rules.filter((r) => r.enabled).length;
    const swapped = running.engines.every((e) => e.revision >= revision);
    io.err(
      `saker: rules reloaded: revision ${revision}, ${enabled} rules${swapped ? '' : ' (engines still swapping)'}\n`,
    );
  } catch (err) {
    io.err(`saker: rules reload failed: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}

/** The rules' event types the sensor can capture (others, like container or k8s events, are not syscalls). */
function sensorSyscalls(types: ReadonlySet<string>): string[] {
  const { unknown } = resolveSyscalls([...types]);
  return [...types].filter((t) => !unknown.includes(t));
}

async function startSensorSource(
  config: SakerConfig,
  ruleset: Ruleset,
  publisher: EventPublisher,
  io: Io,
  signal: AbortSignal,
  background: Promise<unknown>[],
): Promise<Sensor | undefined> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    io.err('saker: not running as root: the sensor is off (use --replay for recorded events)\n');
    return undefined;
  }
  const types = ruleset.eventTypes();
  try {
    const sensor = await Sensor.start(
      {
        syscalls: types === undefined ? 'all' : sensorSyscalls(types),
        hostname: config.hostname,
        onError: (err) => io.err(`saker: sensor: ${err.message}\n`),
      },
      signal,
    );
    background.push(
      (async () => {
        for await (const event of sensor) publisher.add(event as SakerEvent);
      })().catch((err: unknown) =>
        io.err(`saker: sensor stopped: ${err instanceof Error ? err.message : String(err)}\n`),
      ),
    );
    io.err(`saker: sensor attached on node ${config.sensor.nodeName}\n`);
    return sensor;
  } catch (err) {
    io.err(
      `saker: the sensor did not start, continuing without it: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return undefined;
  }
}

/** Calls `onFile` once for each *.jsonl file in `dir`, present now or appearing later, in name order. */
function watchReplayDir(dir: string, onFile: (file: string) => void, io: Io): () => void {
  const seen = new Set<string>();
  const scan = (): void => {
    let names: string[];
    try {
      names = readdirSync(dir)
        .filter((n) => n.endsWith('.jsonl'))
        .sort();
    } catch (err) {
      io.err(`saker: replay dir: ${err instanceof Error ? err.message : String(err)}\n`);
      return;
    }
    for (const n of names) {
      if (seen.has(n)) continue;
      seen.add(n);
      onFile(join(dir, n));
    }
  };
  scan();
  const w = watch(dir, () => scan());
  w.on('error', (err) => io.err(`saker: replay dir: ${err.message}\n`));
  return () => w.close();
}

/** A sinks option error (`outputs[1].condition`) named by its configuration key (`sinks.outputs.http.condition`). */
function configPathError(err: unknown, outputs: readonly OutputSettings[]): unknown {
  if (!(err instanceof SinksOptionsError)) return err;
  const m = /^outputs\[(\d+)\]\.(minimumPriority|condition)$/.exec(err.path);
  const name = m === null ? undefined : outputs[Number(m[1])]?.output.name;
  if (m === null || name === undefined) return err;
  const key = m[2] === 'condition' ? 'condition' : 'minimum_priority';
  const section = (SINK_OUTPUTS as readonly string[]).includes(name) ? 'outputs' : 'sidekick';
  return new Error(`configuration: sinks.${section}.${name}.${key}: ${err.reason}`, { cause: err });
}

function runHealth(r: Running) {
  const checks: Record<string, HealthCheck> = {};
  for (const e of r.engines) {
    const h = e.health();
    checks[`engine ${e.name}`] = { ok: h.ok, detail: `revision ${e.revision}` };
  }
  checks.control = r.control ? { ok: true, detail: r.control.address } : { ok: true, detail: 'off' };
  checks.enrich = r.enrich ? r.enrich.health() : { ok: true, detail: 'off' };
  checks.stdout = { ok: true, detail: r.stdout ? `${r.stdout.printed} alerts printed` : 'off' };
  for (const name of r.sinks?.outputs ?? []) {
    if (name === 'stdout') continue;
    const s = r.sinks?.stats(name);
    checks[`output ${name}`] = {
      ok: true,
      detail: s ? `${s.delivered} delivered, ${s.retried} retried, ${s.deadLettered} dead-lettered` : '',
    };
  }
  return healthReport(checks);
}

function splitHostPort(value: string): [string, number] {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(value);
  return [m?.[1] ?? m?.[2] ?? '127.0.0.1', Number(m?.[3] ?? 0)];
}
