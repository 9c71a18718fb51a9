import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { EventFileError, EventValidationError } from './errors.js';
import { type SakerEvent, parseEvent } from './validate.js';

/**
 * The replay format: one event per line, as JSON, in the shape `parseEvent`
 * accepts (`{"source":"syscall",...}` or `{"source":"k8s_audit",...}`).
 * Blank lines are skipped. A bad line throws EventFileError naming file and line.
 */
export async function* readEventsFile(file: string): AsyncGenerator<SakerEvent> {
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (line.trim() === '') continue;
    yield parseEventLine(line, file, n);
  }
}

export function parseEventLine(line: string, file: string, lineNo: number): SakerEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new EventFileError(file, lineNo, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return parseEvent(value);
  } catch (err) {
    if (err instanceof EventValidationError) {
      throw new EventFileError(file, lineNo, `not a Saker event: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

/** Serializes one event as a replay line. */
export function formatEventLine(event: SakerEvent): string {
  return JSON.stringify(event);
}
