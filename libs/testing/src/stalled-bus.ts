/**
 * A bus whose server never acknowledges: publishes go through, but every
 * flush waits until `release()`. A batcher behind it keeps its batches in
 * flight, fills up and drops events, as it would behind a stalled NATS
 * connection (the real back-pressure drops the drop tests count).
 */
export interface StalledBus<P> {
  readonly bus: { readonly publish: P; flush(): Promise<void> };
  /** The server is back: pending and later flushes complete. */
  release(): void;
}

export function stalledBus<P>(publish: P): StalledBus<P> {
  const waiting: (() => void)[] = [];
  let back = false;
  return {
    bus: {
      publish,
      flush: () => (back ? Promise.resolve() : new Promise<void>((r) => waiting.push(r))),
    },
    release() {
      back = true;
      for (const r of waiting.splice(0)) r();
    },
  };
}
