/**
 * Alerts out: Falco's JSON, one JetStream message each, on
 * `saker.v1.alerts.<source>.<priority>`, with a msgId the stream de-duplicates
 * on. The msgId is a hash of the event's identity and the rule's name, so an
 * event evaluated twice (a batch redelivered, a replica replaying) yields the
 * same msgId and the stream stores its alert once.
 */
import { hash } from 'node:crypto';
import {
  type AlertPriority,
  type Bus,
  BusClosedError,
  type BusHeaders,
  NoStreamError,
  type PublishAck,
  STREAMS,
  SUBJECTS,
  toToken,
} from '@saker/bus';
import { type SakerEvent, nsToFalcoTime, nsToIso } from '@saker/events';
import {
  type AlertJsonOptions,
  type FalcoAlert,
  type Priority,
  type RuleMatch,
  formatAlertJson,
  toFalcoAlert,
} from '@saker/rules';
import type { EngineMetrics } from './metrics.js';
import type { AlertSpool } from './spool.js';

/** An alert ready to publish. */
export interface OutgoingAlert {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
}

/** The rule name of the alert the engine raises when it refuses a ruleset from KV. */
export const RELOAD_FAILURE_RULE = 'Saker internal: ruleset reload failure';
/** The source of the engine's own alerts. */
const INTERNAL_SOURCE = 'internal';

/** What makes an event itself: two events with the same identity are the same event seen twice. */
function eventIdentity(event: SakerEvent): string {
  if (event.source === 'syscall') {
    return [
      'syscall',
      event.hostname ?? '',
      event.ts,
      event.num ?? '',
      event.cpu ?? '',
      event.type,
      event.dir ?? '<',
      event.res ?? '',
      event.proc.pid,
      event.proc.tid,
    ].join('|');
  }
  return ['k8s_audit', event.event.auditID, event.event.stage, event.ts].join('|');
}

/** The de-duplication id of `rule`'s alert on `event`. */
export function alertMsgId(event: SakerEvent, rule: string): string {
  // One-shot hash: a Hash object per alert cost as much as the digest.
  return hash('sha256', `${eventIdentity(event)}\0${rule}`, 'base64url');
}

function alertPriority(p: Priority): AlertPriority {
  return p.toLowerCase() as AlertPriority;
}

const encoder = new TextEncoder();

export interface AlertFormat {
  readonly hostname: string;
  readonly timeIso8601: boolean;
  readonly json: AlertJsonOptions;
}

/** Builds subjects once per (source, priority). */
export class AlertBuilder {
  readonly #format: AlertFormat;
  readonly #subjects = new Map<string, string>();

  constructor(format: AlertFormat) {
    this.#format = format;
  }

  build(match: RuleMatch): OutgoingAlert {
    const alert = toFalcoAlert(match, {
      hostname: match.event.hostname ?? this.#format.hostname,
      timeIso8601: this.#format.timeIso8601,
    });
    return {
      subject: this.subject(match.rule.source, match.rule.priority),
      data: encoder.encode(formatAlertJson(alert, this.#format.json)),
      msgId: alertMsgId(match.event, match.rule.name),
    };
  }

  subject(source: string, priority: Priority): string {
    const key = `${source}\0${priority}`;
    let s = this.#subjects.get(key);
    if (s === undefined) {
      s = SUBJECTS.alert(toToken(source), alertPriority(priority));
      this.#subjects.set(key, s);
    }
    return s;
  }
}

export interface ReloadFailure {
  readonly hostname: string;
  /** The KV revision refused. */
  readonly revision: number;
  /** The revision the engine keeps using. */
  readonly keptRevision: number;
  /** `file:line:col: message`, or what was wrong with the document. */
  readonly error: string;
  readonly nowMs: number;
  readonly json: AlertJsonOptions;
}

/** The rule name of the alert raised when a ruleset revision's signature is missing, foreign or wrong. */
export const SIGNATURE_FAILURE_RULE = 'Saker internal: unsigned or foreign-signed ruleset refused';
/** The rule name of the alert raised when the enabled rules drop to zero or by more than the configured share. */
export const RULES_DROP_RULE = 'Saker internal: enabled rules dropped';
/** The rule name of the alert raised when a stream nears its byte limit. */
export const STREAM_FILL_RULE = 'Saker internal: stream near its limit';

export interface InternalAlert {
  readonly rule: string;
  /** As Falco prints it. */
  readonly priority: 'Critical' | 'Error' | 'Warning' | 'Debug';
  readonly text: string;
  readonly fields: Readonly<Record<string, string | number>>;
  /** The de-duplication id: the same condition seen by several replicas is stored once. */
  readonly msgId: string;
  readonly hostname: string;
  readonly nowMs: number;
  readonly json: AlertJsonOptions;
}

/** One of the engine's own alerts (source `internal`), shaped as Falco's. */
export function internalAlert(a: InternalAlert): OutgoingAlert {
  const ts = (BigInt(a.nowMs) * 1_000_000n).toString();
  const alert: FalcoAlert = {
    hostname: a.hostname,
    output: `${nsToFalcoTime(ts, false)}: ${a.priority} ${a.text}`,
    priority: a.priority,
    rule: a.rule,
    source: INTERNAL_SOURCE,
    tags: ['saker', 'saker_internal'],
    time: nsToIso(ts),
    output_fields: { 'evt.time': Number(ts), ...a.fields },
  };
  return {
    subject: SUBJECTS.alert(INTERNAL_SOURCE, a.priority.toLowerCase() as AlertPriority),
    data: encoder.encode(formatAlertJson(alert, a.json)),
    msgId: a.msgId,
  };
}

/**
 * The engine's own alert for a refused ruleset. Its msgId depends only on
 * the revision, so the stream keeps one alert per refused revision however
 * many replicas refuse it.
 */
export function reloadFailureAlert(f: ReloadFailure): OutgoingAlert {
  return internalAlert({
    rule: RELOAD_FAILURE_RULE,
    priority: 'Critical',
    text: `Ruleset revision ${f.revision} refused, engine keeps revision ${f.keptRevision} (error=${f.error})`,
    fields: {
      'saker.ruleset.error': f.error,
      'saker.ruleset.kept_revision': f.keptRevision,
      'saker.ruleset.revision': f.revision,
    },
    msgId: `saker-internal-reload-failure-${f.revision}`,
    hostname: f.hostname,
    nowMs: f.nowMs,
    json: f.json,
  });
}

export interface PublisherOptions {
  readonly bus: Bus;
  readonly metrics: EngineMetrics;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly log: (line: string) => void;
  /** Where alerts wait when NATS does not take them; null: they are lost (and counted). */
  readonly spool: AlertSpool | null;
  /** How often the spool is tried again. Default 2000 ms. */
  readonly resendIntervalMs?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishes alerts into SAKER_ALERTS and waits for the acknowledgement,
 * trying again with backoff. When no stream captures the subject it creates
 * SAKER_ALERTS (docs/bus.md: the engine creates it when missing) and tries
 * again. An alert still not stored after the attempts goes to the spool,
 * which is sent again every couple of seconds until NATS takes it.
 */
export class AlertPublisher {
  readonly #o: PublisherOptions;
  #ensuring: Promise<void> | undefined;
  #timer: ReturnType<typeof setInterval> | undefined;
  #resending: Promise<void> | undefined;
  published = 0;
  /** Alerts lost: the spool was full, or there is none. */
  failed = 0;
  spooled = 0;

  constructor(options: PublisherOptions) {
    this.#o = options;
    if (options.spool !== null) {
      options.metrics.alertSpoolSize.set(options.spool.size);
      this.#timer = setInterval(() => void this.resend(), options.resendIntervalMs ?? 2_000);
      this.#timer.unref();
    }
  }

  /** Alerts waiting in the spool. */
  get pending(): number {
    return this.#o.spool?.size ?? 0;
  }

  /**
   * Resolves true once stored (or found a duplicate) or spooled, false when
   * lost. Never rejects. While the spool holds alerts (NATS is down), one
   * attempt is made before spooling, so batches do not wait out the backoff.
   * `headers` (the trace context) are spooled with the alert and go with its
   * resends too: its delivery continues the trace of the batch it came from.
   */
  async publish(alert: OutgoingAlert, headers?: BusHeaders): Promise<boolean> {
    const attempts = this.#attemptsNow();
    return this.#settle(alert, headers, attempts, await this.#attempt(alert, 1, attempts, headers));
  }

  /**
   * `publish` for a batch's alerts: the first attempt of all of them is one
   * `publishDurableBatch` (one timer, no per-alert request), then each alert
   * that failed goes on alone with the attempts left, as `publish` would.
   */
  async publishAll(alerts: readonly OutgoingAlert[], headers?: BusHeaders): Promise<boolean[]> {
    const traced = headers === undefined || Object.keys(headers).length === 0 ? undefined : headers;
    const outcomes = await this.#o.bus.publishDurableBatch(
      alerts.map((a) => ({
        subject: a.subject,
        data: a.data,
        msgId: a.msgId,
        ...(traced === undefined ? {} : { headers: traced }),
      })),
      { timeoutMs: this.#o.timeoutMs },
    );
    return Promise.all(
      outcomes.map((outcome, i) => {
        if (!(outcome instanceof Error)) {
          this.#stored(outcome);
          return true;
        }
        return this.#retry(alerts[i] as OutgoingAlert, headers, outcome);
      }),
    );
  }

  /** After a failed first attempt: the attempts left, then the spool. */
  async #retry(alert: OutgoingAlert, headers: BusHeaders | undefined, first: Error): Promise<boolean> {
    const attempts = this.#attemptsNow();
    if (attempts <= 1 || first instanceof BusClosedError)
      return this.#settle(alert, headers, attempts, first);
    if (first instanceof NoStreamError) await this.#ensureStream();
    return this.#settle(alert, headers, attempts, await this.#attempt(alert, 2, attempts, headers));
  }

  /** One attempt while the spool holds alerts (NATS is down), so batches do not wait out the backoff. */
  #attemptsNow(): number {
    const spool = this.#o.spool;
    return spool !== null && spool.size > 0 ? 1 : this.#o.attempts;
  }

  /** Stored: true. Not stored: spooled (true) or lost (false, counted and logged). */
  #settle(
    alert: OutgoingAlert,
    headers: BusHeaders | undefined,
    attempts: number,
    outcome: unknown,
  ): boolean {
    if (outcome === true) return true;
    const spool = this.#o.spool;
    if (spool?.add(alert, headers)) {
      this.spooled++;
      this.#o.metrics.alertsSpooled.inc();
      this.#o.metrics.alertSpoolSize.set(spool.size);
      return true;
    }
    this.failed++;
    this.#o.metrics.alertsFailed.inc();
    if (spool !== null) this.#o.metrics.alertsSpoolDropped.inc();
    this.#o.log(
      `engine: alert on ${alert.subject} (msgId ${alert.msgId}) lost after ${attempts} attempts${spool === null ? '' : ' (the spool is full)'}: ${String(outcome)}`,
    );
    return false;
  }

  /** Sends what the spool holds, in order, until one fails. */
  resend(): Promise<void> {
    const spool = this.#o.spool;
    if (spool === null || spool.size === 0 || this.#o.bus.isClosed) return Promise.resolve();
    this.#resending ??= spool
      .resend(async (a, trace) => (await this.#attempt(a, 1, 1, trace)) === true)
      .then((sent) => {
        if (sent > 0) {
          this.#o.metrics.alertsSpoolResent.inc(undefined, sent);
          this.#o.log(`engine: ${sent} spooled alert(s) stored, ${spool.size} still waiting`);
        }
        this.#o.metrics.alertSpoolSize.set(spool.size);
      })
      .finally(() => {
        this.#resending = undefined;
      });
    return this.#resending;
  }

  /** Stops the resend timer (the spool file keeps what is left). */
  close(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
  }

  /** Attempts `from`..`to` (1-based; a retry waits its backoff first): true when stored, else the last error. */
  async #attempt(
    alert: OutgoingAlert,
    from: number,
    to: number,
    headers?: BusHeaders,
  ): Promise<true | unknown> {
    const { bus, metrics } = this.#o;
    let lastError: unknown;
    for (let attempt = from; attempt <= to; attempt++) {
      if (attempt > 1) {
        metrics.alertRetries.inc();
        await sleep(Math.min(2000, 50 * 2 ** (attempt - 2)));
      }
      try {
        this.#stored(
          await bus.publishDurable(alert.subject, alert.data, {
            msgId: alert.msgId,
            timeoutMs: this.#o.timeoutMs,
            ...(headers === undefined || Object.keys(headers).length === 0 ? {} : { headers }),
          }),
        );
        return true;
      } catch (err) {
        lastError = err;
        if (err instanceof BusClosedError) break;
        if (err instanceof NoStreamError) await this.#ensureStream();
      }
    }
    return lastError;
  }

  #stored(ack: PublishAck): void {
    if (ack.duplicate) this.#o.metrics.alertsDuplicate.inc();
    else this.#o.metrics.alertsPublished.inc();
    this.published++;
  }

  #ensureStream(): Promise<void> {
    this.#ensuring ??= this.#o.bus
      .stream(STREAMS.alerts.name, STREAMS.alerts.subjects)
      .then(
        () => undefined,
        (err: unknown) => this.#o.log(`engine: cannot create stream ${STREAMS.alerts.name}: ${String(err)}`),
      )
      .finally(() => {
        this.#ensuring = undefined;
      });
    return this.#ensuring;
  }
}
