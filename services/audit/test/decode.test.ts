import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeAuditBody, encodeAuditLine, packChunks } from '../src/mod.js';
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
    assert.deepEqual(d.rejected, [
      { path: 'items[1].apiVersion', reason: 'expected "audit.k8s.io/v1", got undefined' },
    ]);
    assert.equal(d.total, 3);
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
    assert.deepEqual(d.events, [podCreateEvent(1), podCreateEvent(2)]);
    assert.deepEqual(d.rejected, [
      { path: 'items[2].apiVersion', reason: 'expected "audit.k8s.io/v1", got "audit.k8s.io/v1beta1"' },
    ]);
  });
});
