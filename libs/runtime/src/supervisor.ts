/**
 * The supervisor: starts service handles against the flow (sinks first, so
 * every consumer listens before anything is published), runs them until a
 * signal or until one ends on its own, then drains them with the flow
 * (sources → engine → sinks → support). Services of one stage start and
 * stop together.
 */
import { type HealthReport, healthReport } from '@saker/telemetry';
import type { Logger } from './log.js';
import {
  STAGES,
  type ServiceContext,
  type ServiceHandle,
  type ServiceModule,
  type ServiceStage,
} from './service.js';
import { aborted } from './signals.js';

export interface Supervised {
  readonly handles: readonly ServiceHandle[];
  health(): HealthReport;
  /**
   * Runs until `signal` aborts or a service ends on its own; then drains.
   * Resolves true when stopped by the signal, false when a service ended first.
   */
  run(signal: AbortSignal): Promise<boolean>;
  /** Drains every handle in flow order (once). */
  stop(): Promise<void>;
}

const rank = (s: ServiceStage): number => STAGES.indexOf(s);

/**
 * Starts `modules`, each with the context `contextOf` gives it. When one
 * fails to start, those already started are stopped (in flow order) and the
 * error is thrown.
 */
export async function supervise<C>(
  modules: readonly ServiceModule<C>[],
  contextOf: (module: ServiceModule<C>) => ServiceContext<C>,
  logger: Logger,
): Promise<Supervised> {
  const started: { stage: ServiceStage; handle: ServiceHandle }[] = [];
  let stopping: Promise<void> | undefined;

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      for (const stage of STAGES) {
        const now = started.filter((s) => s.stage === stage);
        const results = await Promise.allSettled(now.map((s) => s.handle.stop()));
        results.forEach((r, i) => {
          if (r.status === 'rejected') {
            const why = r.reason instanceof Error ? r.reason.message : String(r.reason);
            logger.error(`${now[i]?.handle.name}: stop failed: ${why}`);
          }
        });
      }
    })();
    return stopping;
  };

  const byStartOrder = [...modules].sort((a, b) => rank(b.stage) - rank(a.stage));
  try {
    for (const stage of [...STAGES].reverse()) {
      const now = byStartOrder.filter((m) => m.stage === stage);
      const handles = await Promise.allSettled(now.map((m) => m.start(contextOf(m))));
      for (const r of handles) if (r.status === 'fulfilled') started.push({ stage, handle: r.value });
      const failed = handles.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed !== undefined) throw failed.reason;
    }
  } catch (err) {
    await stop();
    throw err;
  }

  const handles = started.map((s) => s.handle);
  return {
    handles,
    health: () => {
      const checks: Record<string, ReturnType<ServiceHandle['health']>> = {};
      for (const h of handles) checks[h.name] = h.health();
      return healthReport(checks);
    },
    async run(signal) {
      const ended = handles
        .filter((h) => h.ended !== undefined)
        .map((h) =>
          (h.ended ?? Promise.resolve()).then(
            () => {
              if (stopping === undefined) logger.warn(`${h.name} ended; stopping`);
            },
            (err: unknown) => {
              if (stopping === undefined)
                logger.error(`${h.name} failed: ${err instanceof Error ? err.message : String(err)}`);
            },
          ),
        );
      await Promise.race([aborted(signal), ...ended]);
      const bySignal = signal.aborted;
      await stop();
      return bySignal;
    },
    stop,
  };
}
