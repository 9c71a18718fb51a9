/**
 * Record mode: the live sensor's events written to a file in the replay
 * format (JSON lines of `libs/events` events), for `saker replay`, `saker run
 * --replay` and the rules benchmark. `saker sensor --record FILE` runs this.
 *
 * The file is written through one stream with a bounded backlog: when the disk
 * falls behind by more than `maxBufferedBytes`, events are counted as dropped
 * rather than held in memory.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { formatEventLine } from '@saker/events';
import type { SyscallEvent } from '@saker/events';
import { Sensor, type SensorOptions } from './sensor.js';

interface RecorderOptions {
  /** Stop after this many events (default: no limit). */
  readonly maxEvents?: number;
  /** Backlog of unwritten bytes before events are dropped. Default 32 MiB. */
  readonly maxBufferedBytes?: number;
}

/** Appends events to a replay file, one JSON line each. */
class EventRecorder implements AsyncDisposable {
  #written = 0;
  #dropped = 0;
  #chunk = '';
  readonly #stream: ReturnType<typeof createWriteStream>;
  readonly #maxEvents: number;
  readonly #maxBuffered: number;
  #failure: Error | undefined;

  private constructor(stream: ReturnType<typeof createWriteStream>, o: RecorderOptions) {
    this.#stream = stream;
    this.#maxEvents = o.maxEvents ?? Number.POSITIVE_INFINITY;
    this.#maxBuffered = o.maxBufferedBytes ?? 32 * 1024 * 1024;
    stream.on('error', (err) => {
      this.#failure = err;
    });
  }

  /** Creates (or truncates) `path`; fails, naming the path, when it cannot be opened. */
  static async open(path: string, options: RecorderOptions = {}): Promise<EventRecorder> {
    const maxEvents = options.maxEvents;
    if (maxEvents !== undefined && !(Number.isInteger(maxEvents) && maxEvents > 0)) {
      throw new RangeError(`maxEvents: expected a positive integer, got ${maxEvents}`);
    }
    const stream = createWriteStream(path, { flags: 'w', mode: 0o600 });
    try {
      await once(stream, 'open');
    } catch (err) {
      throw new Error(`record: cannot open ${path}: ${(err as Error).message}`, { cause: err });
    }
    return new EventRecorder(stream, options);
  }

  /** Events written (or queued to be). */
  get written(): number {
    return this.#written;
  }

  /** Events left out because the disk fell behind. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Whether `maxEvents` were written. */
  get full(): boolean {
    return this.#written >= this.#maxEvents;
  }

  /** Queues one event; false once the recorder is full. Throws if the file failed. */
  add(event: SyscallEvent): boolean {
    if (this.#failure)
      throw new Error(`record: writing failed: ${this.#failure.message}`, { cause: this.#failure });
    if (this.full) return false;
    if (this.#stream.writableLength > this.#maxBuffered) {
      this.#dropped++;
      return true;
    }
    this.#chunk += `${formatEventLine(event)}\n`;
    this.#written++;
    if (this.#chunk.length >= 64 * 1024) this.#flushChunk();
    return !this.full;
  }

  #flushChunk(): void {
    if (this.#chunk === '') return;
    this.#stream.write(this.#chunk);
    this.#chunk = '';
  }

  /** Writes what is queued and closes the file. */
  async close(): Promise<void> {
    this.#flushChunk();
    if (this.#stream.closed) return;
    this.#stream.end();
    await once(this.#stream, 'close');
    if (this.#failure)
      throw new Error(`record: writing failed: ${this.#failure.message}`, { cause: this.#failure });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export interface RecordRunOptions extends RecorderOptions {
  readonly path: string;
  readonly sensor: SensorOptions;
  /** Told once the probe is attached (e.g. to print where the recording goes). */
  readonly onStart?: () => void;
}

/**
 * Runs the sensor and records its events to `path` until `signal` aborts or
 * `maxEvents` are written. Resolves with the counts once the file is closed.
 */
export async function recordSensor(
  o: RecordRunOptions,
  signal?: AbortSignal,
): Promise<{ readonly written: number; readonly dropped: number }> {
  const recorder = await EventRecorder.open(o.path, o);
  try {
    const sensor = await Sensor.start(o.sensor, signal);
    o.onStart?.();
    for await (const event of sensor) {
      if (!recorder.add(event)) {
        await sensor.stop();
        break;
      }
    }
  } finally {
    await recorder.close();
  }
  return { written: recorder.written, dropped: recorder.dropped };
}
