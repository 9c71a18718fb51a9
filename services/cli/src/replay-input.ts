/**
 * What `saker replay` reads, detected per file from its first line:
 *
 * - Saker's replay format: JSON lines of events (`{"source":...}`);
 * - the API server's JSON log backend: JSON lines of audit.k8s.io/v1 Events
 *   (`{"kind":"Event",...}`), each wrapped as a k8s_audit event;
 * - one EventList (`{"kind":"EventList",...}`), as the webhook backend posts
 *   it, on one line or pretty-printed over many.
 *
 * A bad line stops the file with an error naming file:line; a bad item of an
 * EventList names the file and the item (`items[3].apiVersion`).
 */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import {
  EventFileError,
  EventValidationError,
  type SakerEvent,
  parseAuditEvent,
  parseEventLine,
  wrapAuditEvent,
} from '@saker/events';

type ReplayFormat = 'saker' | 'audit-lines' | 'audit-list';

/** A file that is not in any format replay reads, or an EventList item that is not an Event. */
export class ReplayInputError extends Error {
  override readonly name = 'ReplayInputError';
  readonly file: string;

  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

/** The format a parsed JSON value announces, or undefined. */
function formatOf(value: unknown): ReplayFormat | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const o = value as Record<string, unknown>;
  if ('source' in o) return 'saker';
  if (o.kind === 'Event') return 'audit-lines';
  if (o.kind === 'EventList') return 'audit-list';
  return undefined;
}

function auditLine(line: string, file: string, lineNo: number): SakerEvent {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (err) {
    throw new EventFileError(file, lineNo, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  try {
    return wrapAuditEvent(parseAuditEvent(value, '$'));
  } catch (err) {
    if (err instanceof EventValidationError) {
      throw new EventFileError(file, lineNo, `not an audit Event: ${err.message}`, { cause: err });
    }
    throw err;
  }
}

function* eventList(value: unknown, file: string): Generator<SakerEvent> {
  const o = value as Record<string, unknown>;
  if (o.apiVersion !== 'audit.k8s.io/v1') {
    throw new ReplayInputError(
      file,
      `apiVersion: expected "audit.k8s.io/v1", got ${JSON.stringify(o.apiVersion) ?? 'nothing'}`,
    );
  }
  if (o.items === null || o.items === undefined) return;
  if (!Array.isArray(o.items)) throw new ReplayInputError(file, 'items: expected an array');
  const items = o.items as unknown[];
  for (let i = 0; i < items.length; i++) {
    try {
      yield wrapAuditEvent(parseAuditEvent(items[i], `items[${i}]`));
    } catch (err) {
      if (err instanceof EventValidationError) throw new ReplayInputError(file, err.message, { cause: err });
      throw err;
    }
  }
}

/** Events of one replay file, in any of the formats above. */
export async function* readReplayFile(file: string): AsyncGenerator<SakerEvent> {
  const lines = createInterface({
    input: createReadStream(file, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  let n = 0;
  let format: ReplayFormat | undefined;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      if (format === undefined) {
        let first: unknown;
        try {
          first = JSON.parse(line);
        } catch {
          // Not a whole JSON value on one line: a pretty-printed EventList (or Event), or garbage.
          break;
        }
        format = formatOf(first);
        if (format === undefined) {
          throw new EventFileError(
            file,
            n,
            'not a Saker event ("source"), an audit Event ("kind":"Event") or an EventList ("kind":"EventList")',
          );
        }
        if (format === 'audit-list') {
          yield* eventList(first, file);
          format = 'audit-list';
          continue;
        }
      }
      if (format === 'saker') yield parseEventLine(line, file, n);
      else if (format === 'audit-lines') yield auditLine(line, file, n);
      else throw new EventFileError(file, n, 'more after the EventList: a file holds one EventList');
    }
  } finally {
    lines.close();
  }
  if (format !== undefined || n === 0) return;

  // The first line was not JSON by itself: read the file as one JSON document.
  const text = await readFile(file, 'utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new EventFileError(file, n, `not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const whole = formatOf(value);
  if (whole === 'audit-list') yield* eventList(value, file);
  else if (whole === 'audit-lines') {
    try {
      yield wrapAuditEvent(parseAuditEvent(value, '$'));
    } catch (err) {
      if (err instanceof EventValidationError) throw new ReplayInputError(file, err.message, { cause: err });
      throw err;
    }
  } else {
    throw new ReplayInputError(file, 'a multi-line JSON document that is not an audit Event or EventList');
  }
}
