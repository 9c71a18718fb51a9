/**
 * parseJsonBounded: JSON nesting past the limit is refused with the offset,
 * whatever the fast path (few brackets) decides; many brackets side by side
 * or inside strings are not nesting.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JsonDepthError, parseJsonBounded } from '../src/mod.js';

const nested = (depth: number): string => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

describe('parseJsonBounded', () => {
  it('parses nesting up to the limit and refuses one level more, naming the offset', () => {
    assert.deepEqual(parseJsonBounded(nested(4), 4), [[[[1]]]]);
    assert.throws(
      () => parseJsonBounded(nested(5), 4),
      (e: unknown) => e instanceof JsonDepthError && e.offset === 4 && e.limit === 4,
    );
    assert.throws(() => parseJsonBounded(`{"a":${nested(100)}}`, 64), JsonDepthError);
    assert.throws(() => parseJsonBounded(`{"a":{"b":{"c":{}}}}`, 3), JsonDepthError);
  });

  it('accepts many brackets that do not nest: side by side, or inside strings', () => {
    const wide = `[${Array.from({ length: 50 }, () => '[{}]').join(',')}]`;
    assert.equal((parseJsonBounded(wide, 3) as unknown[]).length, 50);
    const inStrings = JSON.stringify({ cmdline: `sh -c '${'[{'.repeat(200)}'`, tags: ['a'] });
    assert.deepEqual(parseJsonBounded(inStrings, 2), JSON.parse(inStrings));
  });

  it('throws SyntaxError for text that is not JSON', () => {
    assert.throws(() => parseJsonBounded('{"a":', 4), SyntaxError);
  });
});
