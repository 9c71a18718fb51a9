import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { EventFileError, EventValidationError } from '../src/errors.js';
import { readEventsFile } from '../src/jsonl.js';
import { nsToFalcoTime, nsToIso } from '../src/time.js';
import {
  auditLeniency,
  looksLikeUntypedAuditEvent,
  parseAuditEvent,
  parseEvent,
  rfc3339ToNs,
  wrapAuditEvent,
} from '../src/validate.js';

const catOpen = {
  source: 'syscall',
  ts: '1470327477881781397',
  type: 'openat',
  res: 3,
  args: { fd: 3, dirfd: -100, name: '/etc/shadow', flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
  proc: {
    pid: 42,
    tid: 42,
    ppid: 1,
    name: 'cat',
    exe: 'cat',
    exepath: '/usr/bin/cat',
    args: ['/etc/shadow'],
  },
  user: { uid: 0, name: 'root' },
  group: { gid: 0, name: 'root' },
  fd: { num: 3, type: 'file', name: '/etc/shadow' },
  container: { id: 'host' },
};

const audit = {
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Event',
  level: 'RequestResponse',
  auditID: 'a1',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/default/pods',
  verb: 'create',
  user: { username: 'alice' },
  stageTimestamp: '2024-01-02T03:04:05.123456Z',
};

describe('parseEvent', () => {
  it('accepts a well-formed syscall event and returns it typed', () => {
    const ev = parseEvent(structuredClone(catOpen));
    assert.equal(ev.source, 'syscall');
    if (ev.source === 'syscall') assert.equal(ev.proc.exepath, '/usr/bin/cat');
  });

  it('names the path of the first wrong field', () => {
    const bad = structuredClone(catOpen) as Record<string, unknown>;
    (bad.proc as Record<string, unknown>).pid = '42';
    assert.throws(
      () => parseEvent(bad),
      (err: unknown) =>
        err instanceof EventValidationError &&
        err.path === '$.proc.pid' &&
        /integer, got string/.test(err.reason),
    );
  });

  it('rejects an unknown source, an unknown fd type and a bad timestamp', () => {
    assert.throws(() => parseEvent({ ...catOpen, source: 'cloudtrail' }), /\$\.source/);
    assert.throws(
      () => parseEvent({ ...catOpen, fd: { num: 1, type: 'socket' } }),
      /\$\.fd\.type: expected one of/,
    );
    assert.throws(() => parseEvent({ ...catOpen, ts: 1470327477 }), /\$\.ts: expected nanoseconds/);
    assert.throws(() => parseEvent({ ...catOpen, container: { id: '' } }), /\$\.container\.id/);
    assert.throws(() => parseEvent(null), /\$: expected an object, got null/);
  });

  it('accepts a k8s_audit envelope and checks the audit object', () => {
    const ev = wrapAuditEvent(audit as never);
    assert.equal(ev.ts, '1704164645123456000');
    assert.equal(parseEvent(ev).source, 'k8s_audit');
    assert.throws(
      () => parseEvent({ source: 'k8s_audit', ts: '1', event: { ...audit, apiVersion: 'audit.k8s.io/v2' } }),
      /\$\.event\.apiVersion: expected "audit\.k8s\.io\/v1" or "audit\.k8s\.io\/v1beta1"/,
    );
    assert.throws(
      () => parseEvent({ source: 'k8s_audit', ts: '1', event: { ...audit, kind: 'Pod' } }),
      /\$\.event\.kind: expected "Event"/,
    );
    assert.throws(
      () => parseEvent({ source: 'k8s_audit', ts: '1', event: { ...audit, verb: 3 } }),
      /\$\.event\.verb/,
    );
  });
});

describe("audit leniency (as Falco's k8saudit plugin)", () => {
  const { apiVersion: _v, kind: _k, ...untyped } = audit;

  it('accepts audit.k8s.io/v1beta1 Events and says so', () => {
    const e = parseAuditEvent({ ...audit, apiVersion: 'audit.k8s.io/v1beta1' }, '$');
    assert.equal(auditLeniency(e), 'v1beta1');
    assert.equal(auditLeniency(parseAuditEvent(audit, '$')), undefined);
  });

  it('accepts an Event without apiVersion or kind when it has the shape of one', () => {
    const e = parseAuditEvent(untyped, '$');
    assert.equal(auditLeniency(e), 'untyped');
    assert.equal(auditLeniency(parseAuditEvent({ ...untyped, kind: 'Event' }, '$')), 'untyped');
    assert.equal(looksLikeUntypedAuditEvent(untyped), true);
    assert.equal(parseEvent({ source: 'k8s_audit', ts: '1', event: untyped }).source, 'k8s_audit');
  });

  it('still refuses what is not an audit Event', () => {
    assert.throws(() => parseAuditEvent({ hello: 'world' }, '$'), /\$\.level/);
    assert.throws(() => parseAuditEvent({ ...untyped, user: 'bob' }, '$'), /\$\.user/);
    assert.throws(() => parseAuditEvent({ ...untyped, stage: 7 }, '$'), /\$\.stage/);
    assert.equal(looksLikeUntypedAuditEvent({ kind: 'Pod', apiVersion: 'v1' }), false);
    assert.equal(looksLikeUntypedAuditEvent({ auditID: 'x' }), false);
    assert.equal(looksLikeUntypedAuditEvent([]), false);
  });
});

describe('time', () => {
  it('formats nanoseconds as Falco does', () => {
    assert.equal(nsToIso('1470327477881781397'), '2016-08-04T16:17:57.881781397Z');
    assert.equal(nsToFalcoTime('1470327477881781397', true), '2016-08-04T16:17:57.881781397+0000');
    assert.equal(nsToFalcoTime('1470327477881781397', false), '16:17:57.881781397');
    assert.equal(rfc3339ToNs('2016-08-04T16:17:57.881781397Z'), '1470327477881781397');
    assert.equal(rfc3339ToNs('2016-08-04T18:17:57+02:00'), '1470327477000000000');
    assert.equal(rfc3339ToNs('yesterday'), undefined);
  });
});

describe('readEventsFile', () => {
  it('reads JSON lines, skips blank lines and names file and line of a bad one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-events-'));
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, `${JSON.stringify(catOpen)}\n\n${JSON.stringify(catOpen)}\n{"source":"syscall"\n`);
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const ev of readEventsFile(file)) seen.push(ev.source);
      })(),
      (err: unknown) =>
        err instanceof EventFileError && err.line === 4 && err.message.startsWith(`${file}:4:`),
    );
    assert.deepEqual(seen, ['syscall', 'syscall']);
  });
});
