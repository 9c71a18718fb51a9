/**
 * Bounded waits for tests: every wait ends, and a timeout names what was
 * awaited, so a test never hangs on an event that does not come.
 */

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls `cond` every 20 ms until it holds. Throws after timeoutMs, naming
 * `what` (a function is called then, so the message can carry the state seen).
 */
export async function waitFor(
  what: string | (() => string),
  cond: () => boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`,
      );
    }
    await sleep(20);
  }
}

/** p's value, or an error naming `what` once timeoutMs passed. */
export async function within<T>(what: string, p: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Does `act`, then polls `cond` for `everyMs`, and again until `cond` holds:
 * for an action whose evidence may be lost on the way (a sensor watching a
 * busy host loses records when other processes flood its ring buffer), so one
 * try proves nothing and a single wait would hang on it. Resolves with the
 * number of tries; throws after timeoutMs, naming `what` and the tries.
 */
export async function repeatUntil(
  what: string | (() => string),
  act: (n: number) => void | Promise<void>,
  cond: () => boolean,
  opts: { readonly timeoutMs?: number; readonly everyMs?: number } = {},
): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const everyMs = opts.everyMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  for (let n = 1; ; n++) {
    await act(n);
    const next = Math.min(Date.now() + everyMs, deadline);
    while (!cond()) {
      if (Date.now() >= deadline) {
        throw new Error(
          `timed out after ${timeoutMs} ms and ${n} tries waiting for ${typeof what === 'string' ? what : what()}`,
        );
      }
      if (Date.now() >= next) break;
      await sleep(20);
    }
    if (cond()) return n;
  }
}
