/**
 * SIGINT/SIGTERM handled once per process: the first aborts (the supervisor
 * drains), a second exits at once without draining.
 */
import type { Logger } from './log.js';

export interface Shutdown {
  /** Aborted by the first SIGINT or SIGTERM. */
  readonly signal: AbortSignal;
  /** Removes the handlers. */
  dispose(): void;
}

export interface ShutdownOptions {
  readonly logger: Logger;
  /** Called on the second signal. Default: process.exit(1). */
  readonly exit?: (code: number) => void;
}

export function onShutdown(options: ShutdownOptions): Shutdown {
  const controller = new AbortController();
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let count = 0;
  const handler = (sig: NodeJS.Signals): void => {
    count++;
    if (count > 1) {
      options.logger.error(`second ${sig}, exiting without draining`);
      exit(1);
      return;
    }
    options.logger.info(`${sig}, draining`);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/** Resolves when `signal` aborts. */
export function aborted(signal: AbortSignal): Promise<void> {
  return signal.aborted
    ? Promise.resolve()
    : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}
