/** Test helpers: bounded waits on async iterables, so a broken bus fails a test instead of hanging it. */

const enc = new TextEncoder();
const dec = new TextDecoder();

export const bytes = (s: string): Uint8Array => enc.encode(s);
export const text = (b: Uint8Array): string => dec.decode(b);

/** A short random id, so tests that share a server never share a name. */
export const uid = (): string => crypto.randomUUID().replaceAll('-', '').slice(0, 10);

export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
}

/** The next value of `it`, or DeadlineError after `ms` (a failure deadline, not a wait). */
export async function nextWithin<T>(it: AsyncIterator<T>, ms: number, what = 'next message'): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const r = await Promise.race([
      it.next(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(`no ${what} within ${ms} ms`)), ms);
      }),
    ]);
    if (r.done) throw new Error(`iterator ended while waiting for ${what}`);
    return r.value;
  } finally {
    clearTimeout(timer);
  }
}

/** The first `n` values of `it`, each within `ms`. */
export async function take<T>(it: AsyncIterator<T>, n: number, ms = 5_000): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await nextWithin(it, ms, `value ${i + 1} of ${n}`));
  return out;
}

/**
 * Asserts that `it` yields nothing for `ms`. This is the one place tests wait
 * on the clock: proving that something does NOT happen (a termed message is not
 * redelivered) takes a bounded quiet period. It is never used to wait for readiness.
 */
export async function expectQuiet<T>(it: AsyncIterator<T>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const quiet = Symbol('quiet');
  const pending = it.next();
  const r = await Promise.race([
    pending,
    new Promise<typeof quiet>((resolve) => {
      timer = setTimeout(() => resolve(quiet), ms);
    }),
  ]);
  clearTimeout(timer);
  if (r !== quiet && !r.done)
    throw new Error(`expected nothing for ${ms} ms, got ${JSON.stringify(r.value)}`);
  // The pending next() stays with the iterator; callers stop it right after.
  pending.catch(() => undefined);
}

/** `p`, or DeadlineError after `ms`. */
export async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new DeadlineError(`waited ${ms} ms for ${what}`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
