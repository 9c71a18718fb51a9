/** The pure parts: filters from a query string, free text as FTS5, CSV cells. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@saker/config';
import { csvCell } from '../src/export.js';
import { FilterError, parseFilters } from '../src/filters.js';
import { timeMs } from '../src/ingest.js';
import { ftsQuery } from '../src/store-sql.js';

describe('filters', () => {
  it('reads repeated keys as alternatives and names a bad parameter', () => {
    const f = parseFilters(
      new URLSearchParams('source=syscall&source=k8s_audit&priority=critical&field.fd.name=%2Fetc&since=5m'),
      1_000_000,
    );
    assert.deepEqual(f.sources, ['syscall', 'k8s_audit']);
    assert.deepEqual(f.priorities, [2]);
    assert.deepEqual([...f.fields], [['fd.name', ['/etc']]]);
    assert.equal(f.from, 1_000_000 - 300_000);
    assert.throws(
      () => parseFilters(new URLSearchParams('since=5m&from=0')),
      (e: unknown) => e instanceof FilterError && e.param === 'since',
    );
    assert.throws(
      () => parseFilters(new URLSearchParams('to=2020-01-01T00:00:00Z&from=2021-01-01T00:00:00Z')),
      /from: is after to/,
    );
    assert.equal(
      parseFilters(new URLSearchParams('from=2024-01-02T03:04:05.123456789Z')).from,
      Date.parse('2024-01-02T03:04:05.123Z'),
    );
  });
});

describe('alert times', () => {
  it('reads RFC 3339 times to the millisecond, whatever the fraction', () => {
    const ms = Date.UTC(2026, 11, 8, 2, 55, 46, 123);
    assert.equal(timeMs('2026-12-08T02:55:46.123456789Z'), ms);
    assert.equal(timeMs('2026-12-08T02:55:46.1234Z'), ms);
    assert.equal(timeMs('2026-12-08T02:55:46.123Z'), ms);
    assert.equal(timeMs('2026-12-08T02:55:46.1Z'), ms - 23);
    assert.equal(timeMs('2026-12-08T02:55:46Z'), ms - 123);
    assert.equal(timeMs('2026-12-08T04:55:46.123999+02:00'), ms);
  });
});

describe('free text', () => {
  it('narrows with whole words and prefixes, quoted, and leaves out what it cannot know', () => {
    assert.equal(ftsQuery('cat /etc/shad'), '"cat" AND "etc" AND "shad" *');
    assert.equal(ftsQuery('"x" OR y*'), '"x" AND "OR" AND "y"');
    assert.equal(ftsQuery(',.<>{}'), null);
    assert.equal(ftsQuery('naïve'), null, 'next to a non-ASCII letter the split is not known');
  });
});

describe('csv', () => {
  it('neutralises formulas and quotes every cell', () => {
    for (const v of ['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx']) assert.equal(csvCell(v)[1], "'", v);
    assert.equal(csvCell('a "b", c'), '"a ""b"", c"');
  });
});

describe('the ui: section', () => {
  it('names the key and where it was written, and reads secrets from files without showing them', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-ui-config-'));
    try {
      const file = join(dir, 'saker.yaml');
      writeFileSync(file, 'ui:\n  listen: 127.0.0.1:2802\n  base_path: /a/../b\n');
      assert.throws(
        () => loadConfig({ file, env: {}, onNotice: () => undefined }),
        (e: unknown) => {
          assert.ok(e instanceof ConfigError);
          assert.match(e.message, /ui\.base_path/);
          assert.match(e.message, /saker\.yaml:3/);
          return true;
        },
      );
      writeFileSync(join(dir, 'secret'), 'the-client-secret\n');
      writeFileSync(
        file,
        'ui:\n  base_path: /saker/\n  auth:\n    oidc:\n      issuer: https://idp.example.com\n      client_id: saker\n      client_secret_file: secret\n',
      );
      const ui = loadConfig({ file, env: {}, onNotice: () => undefined }).ui;
      assert.equal(ui.basePath, '/saker');
      assert.equal(ui.auth.oidc?.clientSecret, 'the-client-secret');
      writeFileSync(
        file,
        'ui:\n  auth:\n    oidc:\n      issuer: https://idp.example.com\n      client_secret: 12345678\n',
      );
      assert.throws(
        () => loadConfig({ file, env: {}, onNotice: () => undefined }),
        /ui\.auth\.oidc\.client_id: required/,
      );
      const env = loadConfig({ env: { SAKER__UI__STORE__MAX_ROWS: '5000' }, onNotice: () => undefined }).ui;
      assert.equal(env.store.maxRows, 5000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
