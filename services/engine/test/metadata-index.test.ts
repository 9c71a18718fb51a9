import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ContainerIndex, type IndexedContainer, idKey } from '../src/metadata-index.js';

interface Entry extends IndexedContainer {
  readonly label: string;
}

function entry(id: string, node: string, label = `${id}@${node}`): Entry {
  return { id, node, label, sameKey: undefined };
}

/** Ids that differ only in the middle: idKey reads the length and the 4 first and 4 last characters. */
function middleIds(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `abcd${i.toString(16).padStart(4, '0')}wxyz`);
}

describe('ContainerIndex', () => {
  it('finds every id among thousands, through growth and removals', () => {
    const index = new ContainerIndex<Entry>();
    const ids = Array.from({ length: 3000 }, (_, i) => (0x5a0000000000 + i * 7919).toString(16));
    for (const id of ids) index.add(entry(id, 'n1'));
    assert.equal(index.size, ids.length);
    for (const id of ids) assert.equal(index.get(id, {})?.id, id);
    // A fresh copy of the string (as decoded from a batch) finds it too.
    assert.equal(index.get(JSON.parse(JSON.stringify(ids[7])) as string, {})?.id, ids[7]);
    assert.equal(index.get('0123456789ab', {}), undefined);
    const removed = ids.filter((_, i) => i % 3 === 0);
    for (const id of removed) {
      const e = index.get(id, {});
      assert.ok(e);
      index.remove(e);
    }
    assert.equal(index.size, ids.length - removed.length);
    for (const [i, id] of ids.entries()) assert.equal(index.get(id, {})?.id, i % 3 === 0 ? undefined : id);
  });

  it('tells apart ids that share a hash (same slot), and removes from the middle of a chain', () => {
    const ids = middleIds(200);
    assert.equal(new Set(ids.map(idKey)).size, 1, 'the ids were meant to collide');
    const index = new ContainerIndex<Entry>();
    const entries = ids.map((id) => entry(id, 'n1'));
    for (const e of entries) index.add(e);
    for (const id of ids) assert.equal(index.get(id, {})?.id, id);
    index.remove(entries[100] as Entry);
    index.remove(entries[0] as Entry);
    index.remove(entries[199] as Entry);
    assert.equal(index.size, 197);
    for (const [i, id] of ids.entries()) {
      assert.equal(index.get(id, {})?.id, i === 0 || i === 100 || i === 199 ? undefined : id);
    }
  });

  it("prefers the event's node when several nodes have the id, else the newest; growth keeps that order", () => {
    const index = new ContainerIndex<Entry>();
    const a = entry('c0ffee000001', 'node-a');
    const b = entry('c0ffee000001', 'node-b');
    index.add(a);
    index.add(b);
    // Enough others to grow the table several times after both were added.
    for (let i = 0; i < 1000; i++) index.add(entry((0x7700000000 + i).toString(16), 'node-a'));
    assert.equal(index.get('c0ffee000001', { hostname: 'node-a' }), a);
    assert.equal(index.get('c0ffee000001', { hostname: 'node-b' }), b);
    assert.equal(index.get('c0ffee000001', { hostname: 'node-c' }), b, 'the newest');
    assert.equal(index.get('c0ffee000001', {}), b, 'the newest');
    index.remove(b);
    assert.equal(index.get('c0ffee000001', { hostname: 'node-b' }), a);
  });

  it('hashes short ids by every character', () => {
    assert.notEqual(idKey('abc'), idKey('abd'));
    assert.notEqual(idKey('a'), idKey('b'));
    assert.equal(idKey(''), idKey(''));
    assert.ok(idKey('host') >= 0);
  });
});
