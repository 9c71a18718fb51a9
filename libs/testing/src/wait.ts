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
