/**
 * The check bench:pipeline makes before it prints a rate: every event
 * published was received and evaluated, nothing dropped or left in flight,
 * and SAKER_ALERTS holds exactly the alerts a reference evaluation of the
 * same events gives. Pure, so test/bench-checks.test.ts can feed it faults.
 */
import type { EngineStats } from '../src/stats.js';

/** What one mode's run did, as counted by the publisher, the engine and the stream. */
export interface PipelineRun {
  readonly published: number;
  readonly publisherDropped: number;
  /** False when the engine's stats never showed every published event received and settled. */
  readonly caughtUp: boolean;
  /** The engine's totals since it started (it is started for the mode). */
  readonly engine: Pick<
    EngineStats,
    'received' | 'invalid' | 'dropped' | 'evaluated' | 'inFlight' | 'alertsPublished' | 'alertsFailed'
  >;
  /** Messages SAKER_ALERTS gained during the mode. */
  readonly alertsStored: number;
  /** Alerts the same ruleset gives on the same events, evaluated here. */
  readonly alertsExpected: number;
}

/** The problems of a run; empty when the work was done and the rate may be printed. */
export function checkPipelineRun(r: PipelineRun): string[] {
  const p: string[] = [];
  const e = r.engine;
  if (r.published <= 0) p.push('nothing was published');
  if (!r.caughtUp)
    p.push(`the engine did not catch up: received ${e.received} of ${r.published}, in flight ${e.inFlight}`);
  if (r.publisherDropped !== 0) p.push(`the publisher dropped ${r.publisherDropped} events`);
  if (e.received !== r.published)
    p.push(`the engine received ${e.received} events, ${r.published} were published`);
  if (e.invalid !== 0) p.push(`${e.invalid} events were invalid`);
  if (e.dropped !== 0) p.push(`the engine dropped ${e.dropped} events`);
  if (e.evaluated !== r.published)
    p.push(`the engine evaluated ${e.evaluated} events, ${r.published} were published`);
  if (e.inFlight !== 0) p.push(`${e.inFlight} events still in flight`);
  if (e.alertsFailed !== 0) p.push(`${e.alertsFailed} alerts failed to publish`);
  if (r.alertsExpected <= 0)
    p.push('the reference evaluation expects no alerts: the check would prove nothing');
  if (e.alertsPublished !== r.alertsExpected)
    p.push(
      `the engine published ${e.alertsPublished} alerts, the reference evaluation gives ${r.alertsExpected}`,
    );
  if (r.alertsStored !== r.alertsExpected)
    p.push(
      `SAKER_ALERTS gained ${r.alertsStored} alerts, the reference evaluation gives ${r.alertsExpected}`,
    );
  return p;
}

/**
 * Alerts expected for the first `published` events when event i carries the
 * content of pool index `contentIndex(i)` and that index gives `perIndex[k]`
 * alerts.
 */
export function expectedAlerts(
  published: number,
  perIndex: readonly number[],
  contentIndex: (i: number) => number,
): number {
  let n = 0;
  for (let i = 0; i < published; i++) n += perIndex[contentIndex(i)] ?? 0;
  return n;
}
