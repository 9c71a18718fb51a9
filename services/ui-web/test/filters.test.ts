import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Filters, fieldFilterKey } from '../src/web/filters.js';
import { fromInputValue, toInputValue, visible } from '../src/web/text.js';

const SPECIALS = ',.<>{}[]"\':;!@#$%^&*()+=~';

test('filters round-trip through the URL with any character, and the API query drops page-only keys', () => {
  const f = Filters.parse('')
    .toggle('priority', 'Warning')
    .toggle('priority', 'Error')
    .set('q', SPECIALS)
    .set('tz', 'UTC');
  const again = Filters.parse(f.toString());
  assert.deepEqual(again.all('priority'), ['Warning', 'Error']);
  assert.equal(again.get('q'), SPECIALS);
  const api = new URLSearchParams(again.set('event', 'abc').apiQuery());
  assert.equal(api.get('q'), SPECIALS);
  assert.equal(api.get('since'), '24h', 'the default range');
  assert.equal(api.has('tz') || api.has('event'), false);
  assert.deepEqual(
    again.toggle('priority', 'Warning').chips(),
    [['priority', 'Error']],
    'toggle removes a present value; chips skip the range, text and page keys',
  );
  assert.equal(new URLSearchParams(again.set('from', '2026-01-01T00:00:00Z').apiQuery()).has('since'), false);
});

test('output fields map to the named Kubernetes filters, the rest to field.<name>; control characters become visible', () => {
  const keys = ['k8s.ns.name', 'k8s.pod.name', 'container.image.repository', 'proc.cmdline'].map(
    fieldFilterKey,
  );
  assert.deepEqual(keys, ['namespace', 'pod', 'image', 'field.proc.cmdline']);
  // ANSI escapes and bells shown as symbols; tabs and newlines kept; markup left as it is (rendered as text).
  const shown = ['\u001b[31mRED\u001b[0m\u0007', 'a\tb\nc', '<script>x</script>', null, 42].map(visible);
  assert.deepEqual(shown, ['\\x1b[31mRED\\x1b[0m\\x07', 'a\tb\nc', '<script>x</script>', '', '42']);
});

test('a datetime-local value read in UTC round-trips to RFC3339', () => {
  const iso = fromInputValue('2026-03-04T05:06', 'UTC');
  assert.equal(iso, '2026-03-04T05:06:00.000Z');
  assert.equal(toInputValue(iso, 'UTC'), '2026-03-04T05:06');
  assert.equal(fromInputValue('', 'UTC'), undefined);
});
