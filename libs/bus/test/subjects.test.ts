import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidNameError } from '../src/errors.js';
import { subjectMatches } from '../src/subject-syntax.js';
import { BUCKETS, QUEUE_GROUPS, STREAMS, SUBJECTS, toToken } from '../src/subjects.js';

describe('subjects', () => {
  it('builds versioned subjects', () => {
    assert.equal(SUBJECTS.syscallEvents('node-1'), 'saker.v1.events.syscall.node-1');
    assert.equal(SUBJECTS.k8sAuditEvents, 'saker.v1.events.k8s_audit');
    assert.equal(SUBJECTS.alert('syscall', 'warning'), 'saker.v1.alerts.syscall.warning');
    assert.deepEqual(STREAMS.alerts, { name: 'SAKER_ALERTS', subjects: ['saker.v1.alerts.>'] });
    assert.deepEqual(
      [BUCKETS.rules, BUCKETS.meta, QUEUE_GROUPS.engine],
      ['saker_rules', 'saker_meta', 'engine'],
    );
  });

  it('rejects node names with spaces, dots or wildcards, and unknown priorities', () => {
    for (const bad of ['', 'a b', 'ip-10-0-0-1.ec2.internal', '*', 'n>', 'a\tb']) {
      assert.throws(
        () => SUBJECTS.syscallEvents(bad),
        (err: unknown) => err instanceof InvalidNameError && err.kind === 'node' && err.value === bad,
      );
    }
    assert.throws(() => SUBJECTS.alert('syscall', 'loud' as 'warning'), InvalidNameError);
    assert.throws(() => SUBJECTS.alert('k8s.audit', 'error'), InvalidNameError);
    assert.equal(
      SUBJECTS.syscallEvents(toToken('ip-10-0-0-1.ec2.internal')),
      'saker.v1.events.syscall.ip-10-0-0-1_ec2_internal',
    );
  });

  it('wildcard subjects match what they say', () => {
    assert.ok(subjectMatches(SUBJECTS.allSyscallEvents, SUBJECTS.syscallEvents('n1')));
    assert.ok(subjectMatches(SUBJECTS.allEvents, SUBJECTS.k8sAuditEvents));
    assert.ok(subjectMatches(SUBJECTS.allAlerts, SUBJECTS.alert('k8s_audit', 'critical')));
    assert.ok(!subjectMatches(SUBJECTS.allSyscallEvents, SUBJECTS.k8sAuditEvents));
    assert.ok(!subjectMatches('a.>', 'a'));
    assert.ok(!subjectMatches('a.*', 'a.b.c'));
  });
});
