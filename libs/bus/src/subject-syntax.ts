/**
 * NATS subject syntax, shared by both transports so that they accept and
 * reject exactly the same subjects. A subject is dot-separated tokens; a
 * pattern may use `*` (exactly one token) and `>` (one or more tokens, last
 * only).
 */
import { type BusOperation, InvalidNameError, InvalidSubjectError } from './errors.js';

const WHITESPACE = /\s/;
const KV_KEY = /^[-/_=.a-zA-Z0-9]+$/;
const KV_BUCKET = /^[-_a-zA-Z0-9]+$/;
const JS_NAME = /^[^.*>\s/\\]+$/;

/** Why `subject` is not valid (as a pattern when `wildcards`), or undefined when it is. */
function subjectProblem(subject: string, wildcards: boolean): string | undefined {
  if (subject.length === 0) return 'empty';
  if (WHITESPACE.test(subject)) return 'contains whitespace';
  const tokens = subject.split('.');
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? '';
    if (t.length === 0) return 'empty token';
    if (t === '*' || t === '>') {
      if (!wildcards) return `wildcard "${t}" not allowed here`;
      if (t === '>' && i !== tokens.length - 1) return '">" must be the last token';
    } else if (t.includes('*') || t.includes('>')) {
      return `wildcard inside token "${t}"`;
    }
  }
  return undefined;
}

/** Throws InvalidSubjectError unless `subject` is a concrete subject (no wildcards). */
export function assertPublishSubject(operation: BusOperation, subject: string): void {
  const problem = subjectProblem(subject, false);
  if (problem !== undefined) throw new InvalidSubjectError(operation, subject, problem);
}

/** Throws InvalidSubjectError unless `pattern` is a subject or a wildcard pattern. */
export function assertSubjectPattern(operation: BusOperation, pattern: string): void {
  const problem = subjectProblem(pattern, true);
  if (problem !== undefined) throw new InvalidSubjectError(operation, pattern, problem);
}

/** Whether the concrete `subject` matches `pattern` (`*` one token, `>` one or more trailing tokens). */
export function subjectMatches(pattern: string, subject: string): boolean {
  if (pattern === subject) return true;
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    const pt = p[i];
    if (pt === '>') return s.length > i;
    const st = s[i];
    if (st === undefined) return false;
    if (pt !== '*' && pt !== st) return false;
  }
  return p.length === s.length;
}

/** Throws InvalidSubjectError unless `key` is a valid KV key (or key pattern when `wildcards`). */
export function assertKvKey(operation: BusOperation, key: string, wildcards = false): void {
  const problem = subjectProblem(key, wildcards);
  if (problem !== undefined) throw new InvalidSubjectError(operation, key, problem);
  const plain = wildcards ? key.replace(/(^|\.)[*>](?=\.|$)/g, '$1x') : key;
  if (!KV_KEY.test(plain))
    throw new InvalidSubjectError(operation, key, 'a KV key allows only [-/_=.a-zA-Z0-9]');
}

/** Throws InvalidNameError unless `name` is a valid KV bucket name. */
export function assertBucketName(name: string): void {
  if (!KV_BUCKET.test(name)) throw new InvalidNameError('kv.open', 'bucket', name, 'allowed: [-_a-zA-Z0-9]+');
}

/** Throws InvalidNameError unless `name` is a valid stream or consumer name. */
export function assertJsName(operation: BusOperation, kind: 'stream' | 'consumer', name: string): void {
  if (!JS_NAME.test(name)) {
    throw new InvalidNameError(
      operation,
      kind,
      name,
      'must be non-empty, without ".", "*", ">", "/", "\\" or whitespace',
    );
  }
}
