/** A frame of the loader's stream that does not match the documented layout. */
export class SensorDecodeError extends Error {
  override readonly name = 'SensorDecodeError';
  /** Byte offset in the stream where the bad field starts. */
  readonly offset: number;
  /** The field that was wrong: `header.magic`, `record.size`, `param[2].length`. */
  readonly field: string;
  /** What was wrong with it. */
  readonly reason: string;

  constructor(offset: number, field: string, reason: string, options?: { cause?: unknown }) {
    super(`sensor stream offset ${offset}: ${field}: ${reason}`, options);
    this.offset = offset;
    this.field = field;
    this.reason = reason;
  }
}

/** The loader could not start or stopped unexpectedly; `stderr` carries its own words. */
export class SensorLoaderError extends Error {
  override readonly name = 'SensorLoaderError';
  readonly exitCode: number | null;
  readonly stderr: string;

  constructor(message: string, exitCode: number | null, stderr: string, options?: { cause?: unknown }) {
    super(stderr.trim() ? `${message}: ${stderr.trim()}` : message, options);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}
