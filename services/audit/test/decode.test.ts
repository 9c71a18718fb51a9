import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { auditLeniency } from '@saker/events';
import { decodeAuditBody } from '../src/decode.js';
import { encodeAuditLine } from '../src/encode.js';
import { packChunks } from '../src/handoff.js';
import { podCreateEvent } from './events.js';

describe('encodeAuditLine and packChunks', () => {
  it('uses the source text as is, and re-serialises text with a line break', () => {
    const ev = podCreateEvent(1);
    const compact = encodeAuditLine(ev, 'audit-0', JSON.stringify(ev));
    assert.deepEqual(JSON.parse(compact), {
      source: 'k8s_audit',
      ts: '1715679001345678000',
      hostname: 'audit-0',
      event: ev,
    });
    const pretty = encodeAuditLine(ev, 'audit-0', JSON.stringify(ev, null, 2));
    assert.ok(!pretty.includes('\n'));
    assert.deepEqual(JSON.parse(pretty), JSON.parse(compact));
  });

  it('keeps each chunk under the limit and reports events larger than one message', () => {
    const lines = ['a'.repeat(40), 'b'.repeat(40), 'c'.repeat(200), 'd'.repeat(40), 'e'.repeat(10)];
    const { chunks, oversized } = packChunks(lines, 100);
    assert.deepEqual(oversized, [{ index: 2, bytes: 200 }]);
    assert.deepEqual(
      chunks.map((c) => [c.data.toString(), c.count]),
      [
        [`${'a'.repeat(40)}\n${'b'.repeat(40)}`, 2],
        [`${'d'.repeat(40)}\n${'e'.repeat(10)}`, 2],
      ],
    );
    for (const c of chunks) assert.ok(c.data.length <= 100);
  });
});

describe('decodeAuditBody', () => {
  it('splits an EventList into its Events and the rejected items, with their paths', () => {
    const items = [podCreateEvent(1), { kind: 'Event' }, podCreateEvent(3)];
    const d = decodeAuditBody({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items });
    assert.deepEqual(d.paths, ['items[0]', 'items[2]']);
    assert.deepEqual(d.events, [items[0], items[2]]);
    assert.equal(d.rejected.length, 1);
    assert.equal(
      d.rejected[0]?.path,
      'items[1].level',
      'an item with kind Event but no audit shape is refused',
    );
    assert.equal(d.total, 3);
  });

  it("reads audit.k8s.io/v1beta1 and Events without apiVersion/kind, as Falco's k8saudit plugin does", () => {
    const { apiVersion: _v, kind: _k, ...untyped } = podCreateEvent(7);
    const beta = { ...podCreateEvent(8), apiVersion: 'audit.k8s.io/v1beta1' };
    const list = decodeAuditBody({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1beta1',
      items: [beta, untyped],
    });
    assert.equal(list.events.length, 2);
    assert.deepEqual(list.rejected, []);
    assert.deepEqual(list.events.map(auditLeniency), ['v1beta1', 'untyped']);
    // A list without apiVersion, and a bare untyped Event as the whole body (blocking mode).
    assert.equal(decodeAuditBody({ kind: 'EventList', items: [untyped] }).events.length, 1);
    assert.deepEqual(decodeAuditBody(untyped).paths, ['$']);
  });

  it('still refuses what is not an audit event', () => {
    assert.throws(
      () => decodeAuditBody({ kind: 'EventList', apiVersion: 'audit.k8s.io/v2', items: [] }),
      /apiVersion/,
    );
    assert.throws(() => decodeAuditBody({ metadata: {}, spec: {} }), /kind: expected/);
    assert.throws(
      () => decodeAuditBody({ auditID: 'x', stage: 'ResponseComplete', verb: 'get' }),
      /\$\.level/,
    );
    const d = decodeAuditBody({ kind: 'EventList', items: [{ ...podCreateEvent(1), apiVersion: 'v1' }] });
    assert.equal(d.rejected[0]?.path, 'items[0].apiVersion');
  });

  it("accepts the API server's EventList items, which carry no apiVersion or kind of their own", () => {
    // As kube-apiserver's webhook backend sends them (seen on a real 1.34 API server).
    const bare = (n: number) => {
      const { apiVersion: _v, kind: _k, ...rest } = podCreateEvent(n);
      return rest;
    };
    const other = { ...bare(3), apiVersion: 'audit.k8s.io/v1beta1' };
    const d = decodeAuditBody({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      items: [bare(1), bare(2), other],
    });
    // They are read as the list's Events, counted as untyped (lenient); an
    // item naming v1beta1 (still without kind) is read too, as Falco's
    // k8saudit plugin does.
    assert.deepEqual(d.events, [bare(1), bare(2), other]);
    assert.deepEqual(d.events.map(auditLeniency), ['untyped', 'untyped', 'untyped']);
    assert.deepEqual(d.rejected, []);
    // One naming a version that is not an audit one is still refused.
    const wrong = decodeAuditBody({
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      items: [{ ...bare(4), apiVersion: 'audit.k8s.io/v2' }],
    });
    assert.equal(wrong.rejected[0]?.path, 'items[0].apiVersion');
  });
});
