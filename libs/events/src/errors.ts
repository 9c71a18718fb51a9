/** An event that does not fit the model. `path` is a JSON path into the event (`$.proc.pid`). */
export class EventValidationError extends Error {
  override readonly name = 'EventValidationError';
  readonly path: string;
  readonly reason: string;

  constructor(path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
  }
}

/** A line of a JSON-lines events file that could not be read, with where it is. */
export class EventFileError extends Error {
  override readonly name = 'EventFileError';
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, message: string, options?: { cause?: unknown }) {
    super(`${file}:${line}: ${message}`, options);
    this.file = file;
    this.line = line;
  }
}
