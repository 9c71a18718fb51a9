/**
 * Alerts out: Falco's JSON, one JetStream message each, on
 * `saker.v1.alerts.<source>.<priority>`, with a msgId the stream de-duplicates
 * on. The msgId is a hash of the event's identity and the rule's name, so an
 * event evaluated twice (a batch redelivered, a replica replaying) yields the
 * same msgId and the stream stores its alert once.
 */
import { createHash } from 'node:crypto';
import {
  type AlertPriority,
  type Bus,
  BusClosedError,
  type BusHeaders,
  NoStreamError,
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

/** An alert ready to publish. */
export interface OutgoingAlert {
  readonly subject: string;
  readonly data: Uint8Array;
  readonly msgId: string;
}

/** The rule name of the alert the engine raises when it refuses a ruleset from KV. */
export const RELOAD_FAILURE_RULE = 'Saker internal: ruleset reload failure';
/** The source of the engine's own alerts. */
export const INTERNAL_SOURCE = 'internal';

/** What makes an event itself: two events with the same identity are the same event seen twice. */
export function eventIdentity(event: SakerEvent): string {
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
  return createHash('sha256').update(eventIdentity(event)).update('\0').update(rule).digest('base64url');
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

/**
 * The engine's own alert for a refused ruleset. Its msgId depends only on
 * the revision, so the stream keeps one alert per refused revision however
 * many replicas refuse it.
 */
export function reloadFailureAlert(f: ReloadFailure): OutgoingAlert {
  const ts = (BigInt(f.nowMs) * 1_000_000n).toString();
  const text = `Ruleset revision ${f.revision} refused, engine keeps revision ${f.keptRevision} (error=${f.error})`;
  const alert: FalcoAlert = {
    hostname: f.hostname,
    output: `${nsToFalcoTime(ts, false)}: Critical ${text}`,
    priority: 'Critical',
    rule: RELOAD_FAILURE_RULE,
    source: INTERNAL_SOURCE,
    tags: ['saker', 'saker_internal'],
    time: nsToIso(ts),
    output_fields: {
      'evt.time': Number(ts),
      'saker.ruleset.error': f.error,
      'saker.ruleset.kept_revision': f.keptRevision,
      'saker.ruleset.revision': f.revision,
    },
  };
  return {
    subject: SUBJECTS.alert(INTERNAL_SOURCE, 'critical'),
    data: encoder.encode(formatAlertJson(alert, f.json)),
    msgId: `saker-internal-reload-failure-${f.revision}`,
  };
}

export interface PublisherOptions {
  readonly bus: Bus;
  readonly metrics: EngineMetrics;
  readonly timeoutMs: number;
  readonly attempts: number;
  readonly log: (line: string) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Publishes alerts into SAKER_ALERTS and waits for the acknowledgement,
 * trying again with backoff. When no stream captures the subject it creates
 * SAKER_ALERTS (docs/bus.md: the engine creates it when missing) and tries
 * again.
 */
export class AlertPublisher {
  readonly #o: PublisherOptions;
  #ensuring: Promise<void> | undefined;
  published = 0;
  failed = 0;

  constructor(options: PublisherOptions) {
    this.#o = options;
  }

  /** Resolves true once stored (or found a duplicate), false when given up on. Never rejects. */
  async publish(alert: OutgoingAlert, headers?: BusHeaders): Promise<boolean> {
    const { bus, metrics, attempts } = this.#o;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) {
        metrics.alertRetries.inc();
        await sleep(Math.min(2000, 50 * 2 ** (attempt - 2)));
      }
      try {
        const ack = await bus.publishDurable(alert.subject, alert.data, {
          msgId: alert.msgId,
          timeoutMs: this.#o.timeoutMs,
          ...(headers === undefined || Object.keys(headers).length === 0 ? {} : { headers }),
        });
        if (ack.duplicate) metrics.alertsDuplicate.inc();
        else metrics.alertsPublished.inc();
        this.published++;
        return true;
      } catch (err) {
        lastError = err;
        if (err instanceof BusClosedError) break;
        if (err instanceof NoStreamError) await this.#ensureStream();
      }
    }
    this.failed++;
    metrics.alertsFailed.inc();
    this.#o.log(
      `engine: alert on ${alert.subject} (msgId ${alert.msgId}) lost after ${attempts} attempts: ${String(lastError)}`,
    );
    return false;
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
