/**
 * The pieces the service modules and `saker run` share: the rules document
 * (files → selections → Falco's append_output), the event publisher and
 * recorded-event replay, the stdout output, and the rules-file watch.
 */
import type { KeyObject } from 'node:crypto';
import { readdirSync, statSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import {
  BATCH_CODEC,
  type Bus,
  EventBatcher,
  type KvStore,
  SUBJECTS,
  busBatchSender,
  busDurableBatchSender,
  toToken,
} from '@saker/bus';
import { type AlertFormatView, SINK_OUTPUTS, type SakerConfig, outputsView, sinksView } from '@saker/config';
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
  effectiveRuleset,
  encodeRulesetDocument,
  formatAlertJson,
  readRuleFiles,
} from '@saker/rules';
import {
  type AlertFormat,
  type Output,
  type OutputSettings,
  SinksOptionsError,
  alertLine,
  falcoOutputsFromConfig,
} from '@saker/sinks';
import type { Counter, MetricsRegistry } from '@saker/telemetry';
import type { Io } from '../io.js';
import { formatLoadResults } from '../rules-input.js';
import { signedIfKey } from './security-options.js';

// --- small shared pieces (service.ts uses them too) ---------------------------

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
  // What the engines compile (effectiveRuleset): files → selections → append_output.
  const eff = effectiveRuleset(doc, { appendOutput: meta.appendOutput ?? [] });
  if (!eff.ok) {
    const listed = eff.stage === 'load' ? formatLoadResults(eff.load.results, { errorsOnly: true }) : '';
    io.err(
      listed !== '' ? listed : `saker: ${eff.stage === 'load' ? 'rules' : 'configuration'}: ${eff.error}\n`,
    );
    return undefined;
  }
  return { doc, ruleset: eff.ruleset };
}

/**
 * Writes a ruleset to KV saker_rules, as `saker ctl rules put` does through
 * the control service: engines watching the key hot-swap to it.
 */
export async function putRuleset(kv: KvStore, doc: RulesetDocument, signingKey?: KeyObject): Promise<number> {
  return kv.put(RULESET_KEY, encodeRulesetDocument(signedIfKey(doc, signingKey)));
}

/** The subject an event is published on. */
function eventSubject(event: SakerEvent, hostname: string): string {
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
        // Audit batches go through SAKER_AUDIT: published means stored.
        send:
          subject === SUBJECTS.k8sAuditEvents
            ? busDurableBatchSender(this.#bus, subject)
            : busBatchSender(this.#bus, subject),
        // Syscall events go in the binary codec (EventBatcher's default); audit batches stay JSON
        // lines, which SAKER_AUDIT's other readers expect.
        ...(subject === SUBJECTS.k8sAuditEvents ? { codec: BATCH_CODEC } : {}),
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

  /** Events the server confirmed (core: a round trip after the batch; audit: stored in SAKER_AUDIT). */
  get published(): number {
    let n = 0;
    for (const b of this.#batchers.values()) n += b.stats().published;
    return n;
  }

  /** A publisher of its own on the same bus, so one source's figures are its own. */
  fork(): EventPublisher {
    return new EventPublisher(this.#bus, this.#hostname, this.#opts, this.#io);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#batchers.values()].map((b) => b.close()));
  }
}

export interface ReplayResult {
  /** Events read from the file. */
  readonly read: number;
  /** Events the bus confirmed. */
  readonly published: number;
  /** Events that could not be published (the bus was down or full); read = published + lost. */
  readonly lost: number;
}

/**
 * Publishes a recorded events file through a publisher of its own (so the
 * figures are this file's), flushing as it goes; reports what the bus
 * confirmed, not what was handed to it.
 */
export async function replayFile(
  file: string,
  shared: EventPublisher,
  batch: number,
  signal: AbortSignal,
): Promise<ReplayResult> {
  const publisher = shared.fork();
  let n = 0;
  try {
    for await (const event of readEventsFile(file)) {
      if (signal.aborted) break;
      publisher.add(event);
      n++;
      if (n % batch === 0) await publisher.flush();
    }
    await publisher.flush();
  } finally {
    await publisher.close();
  }
  return { read: n, published: publisher.published, lost: n - publisher.published };
}

/** `N events published`, or what was read, published and lost when some were. */
export function describeReplay(file: string, r: ReplayResult): string {
  return r.lost === 0
    ? `saker: replay: ${file}: ${r.published} events published`
    : `saker: replay: ${file}: ${r.read} events read, ${r.published} published, ${r.lost} lost (the bus did not confirm them)`;
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

export function safeSelections(value: Uint8Array): readonly RulesetSelection[] {
  try {
    return decodeRulesetDocument(value).selections;
  } catch {
    return [];
  }
}

/** A sinks option error (`outputs[1].condition`) named by its configuration key (`sinks.outputs.http.condition`). */
export function configPathError(err: unknown, outputs: readonly OutputSettings[]): unknown {
  if (!(err instanceof SinksOptionsError)) return err;
  const m = /^outputs\[(\d+)\]\.(minimumPriority|condition)$/.exec(err.path);
  const name = m === null ? undefined : outputs[Number(m[1])]?.output.name;
  if (m === null || name === undefined) return err;
  const key = m[2] === 'condition' ? 'condition' : 'minimum_priority';
  const section = (SINK_OUTPUTS as readonly string[]).includes(name) ? 'outputs' : 'sidekick';
  return new Error(`configuration: sinks.${section}.${name}.${key}: ${err.reason}`, { cause: err });
}
