/** One engine in this process on an in-memory bus of its own, stopped (drained) after `fn`. */
import { type Bus, connectBus } from '@saker/bus';
import { type EngineService, start } from '../../src/engine.js';
import type { EngineOptions } from '../../src/options.js';

export async function withMemoryEngine<T>(
  options: Omit<EngineOptions, 'bus'>,
  fn: (bus: Bus, engine: EngineService) => Promise<T>,
): Promise<T> {
  const bus = await connectBus({ memory: true });
  const ctl = new AbortController();
  const engine = await start({ watchRules: false, log: () => {}, ...options, bus }, ctl.signal);
  try {
    return await fn(bus, engine);
  } finally {
    ctl.abort();
    await engine.stopped;
    await bus.close();
  }
}

/** A one-file ruleset document of `content`. */
export function rulesOf(content: string): EngineOptions['rules'] {
  return {
    format: 1,
    files: [{ name: 'rules.yaml', content }],
    selections: [],
    updatedAt: '2024-01-01T00:00:00Z',
  };
}
