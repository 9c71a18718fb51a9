/**
 * Hostile saker.yaml files (issue 14, item 3): a "billion laughs" file (1 KB,
 * aliases nested nine deep) ran out of memory in about 22 s; now it is
 * refused at once with an error naming the file, line and limit.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '../src/config.js';
import { ConfigError } from '../src/errors.js';

function billionLaughs(): string {
  let s = 'x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n';
  for (let i = 1; i < 10; i++)
    s += `x${i}: &a${i} [${Array(9)
      .fill(`*a${i - 1}`)
      .join(', ')}]\n`;
  return s;
}

describe('saker.yaml: hostile input', () => {
  it('refuses a billion-laughs file quickly, naming the file, line and limit', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-config-adv-'));
    const file = join(dir, 'saker.yaml');
    const text = billionLaughs();
    assert.ok(text.length < 1100, `the file is small (${text.length} bytes)`);
    writeFileSync(file, text);
    const t0 = performance.now();
    assert.throws(
      () => loadConfig({ file, env: {}, onNotice: () => {} }),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.file === file &&
        typeof e.line === 'number' &&
        e.line > 1 &&
        /YAML aliases expand to more than 100000 nodes/.test(e.message),
    );
    assert.ok(performance.now() - t0 < 2_000, `refused in ${(performance.now() - t0).toFixed(0)} ms`);
  });

  it('still reads a file that uses a few aliases', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-config-adv-'));
    const file = join(dir, 'saker.yaml');
    writeFileSync(file, 'json_include_output_property: &no false\njson_include_tags_property: *no\n');
    const c = loadConfig({ file, env: {}, onNotice: () => {} });
    assert.equal(c.jsonIncludeOutputProperty, false);
    assert.equal(c.jsonIncludeTagsProperty, false);
  });

  it('never echoes a secret in an error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-config-adv-'));
    const file = join(dir, 'saker.yaml');
    // sinks.sidekick is read by the sinks (services/sinks/test/sidekick-config.test.ts checks its secrets).
    const cases: [string, string][] = [['nats:\n  url: "nats://user:SECRETPW@ bad host"\n', 'SECRETPW']];
    for (const [text, secret] of cases) {
      writeFileSync(file, text);
      assert.throws(
        () => loadConfig({ file, env: {}, onNotice: () => {} }),
        (e: unknown) => e instanceof ConfigError && !e.message.includes(secret) && e.message.includes('****'),
        text,
      );
    }
  });
});
