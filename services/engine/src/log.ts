/**
 * Logging for the engine: one line per message, to a sink the caller chooses
 * (stderr by default). Bad input arrives at event rate, so warnings about it
 * go through a RateLimitedLog: the first few lines of each kind in a window
 * are written, the rest are only counted and summarised once the window ends.
 */

/** Where log lines go. */
export type LogSink = (line: string) => void;

/** Writes to stderr. */
export function stderrLog(line: string): void {
  process.stderr.write(`${line}\n`);
}

export interface RateLimitOptions {
  /** Lines written per key and window. */
  readonly burst: number;
  /** Window length. */
  readonly windowMs: number;
  /** The clock, for tests. Default Date.now. */
  readonly now?: () => number;
}

interface Window {
  start: number;
  written: number;
  suppressed: number;
}

/** A log that writes at most `burst` lines per key per window, then counts the rest. */
export class RateLimitedLog {
  readonly #sink: LogSink;
  readonly #burst: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  readonly #windows = new Map<string, Window>();

  constructor(sink: LogSink, options: RateLimitOptions) {
    this.#sink = sink;
    this.#burst = options.burst;
    this.#windowMs = options.windowMs;
    this.#now = options.now ?? Date.now;
  }

  /** Logs `line` under `key` unless that key used up its burst in this window. */
  warn(key: string, line: string): void {
    const now = this.#now();
    let w = this.#windows.get(key);
    if (w !== undefined && now - w.start >= this.#windowMs) {
      this.#summarise(key, w);
      w = undefined;
    }
    if (w === undefined) {
      w = { start: now, written: 0, suppressed: 0 };
      this.#windows.set(key, w);
    }
    if (w.written < this.#burst) {
      w.written++;
      this.#sink(line);
    } else {
      w.suppressed++;
    }
  }

  /** Writes the pending "N more suppressed" summaries (on stop). */
  flush(): void {
    for (const [key, w] of this.#windows) this.#summarise(key, w);
    this.#windows.clear();
  }

  #summarise(key: string, w: Window): void {
    if (w.suppressed > 0) {
      this.#sink(`engine: ${w.suppressed} more "${key}" warnings suppressed in ${this.#windowMs} ms`);
    }
    w.suppressed = 0;
  }
}
