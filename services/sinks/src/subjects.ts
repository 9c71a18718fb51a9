/** The sinks' names on the bus; the public ones are declared in libs/bus/src/subjects.ts. */
import { STREAMS, SUBJECTS, assertToken } from '@saker/bus';

/** Where the alerts `output` gave up on go, each with the reason and the attempt count. */
export const deadLetterSubject = (output: string): string => SUBJECTS.deadLetter(output);

/** The stream that keeps dead letters, created by the sinks when a publish finds none. */
export const DEAD_LETTER_STREAM = STREAMS.deadLetter;

/** The durable consumer name of an output on SAKER_ALERTS. */
export function durableName(output: string): string {
  assertToken('output', output);
  return `saker-sinks-${output}`;
}
