import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { webRoot } from '../src/mod.js';

// The build's output is what @saker/ui serves under any base path and a strict CSP.
test('webRoot holds index.html whose asset URLs are relative and which has no inline script or style', () => {
  const html = readFileSync(join(webRoot(), 'index.html'), 'utf8');
  const urls = [...html.matchAll(/\b(?:src|href)="([^"]*)"/g)].map((m) => m[1] ?? '');
  assert.ok(urls.length >= 2, `expected a script and a stylesheet in ${html}`);
  for (const url of urls) assert.match(url, /^(\.\/|data:)/, `asset URL ${url} must be relative`);
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
  assert.doesNotMatch(html, /<style\b|\sstyle="/, 'no inline style');
  const assets = readdirSync(join(webRoot(), 'assets'));
  assert.ok(
    assets.some((f) => f.endsWith('.js')) && assets.some((f) => f.endsWith('.css')),
    assets.join(','),
  );
});

test('the bundle has no eval or new Function (forbidden by script-src without unsafe-eval)', () => {
  for (const f of readdirSync(join(webRoot(), 'assets')).filter((n) => n.endsWith('.js'))) {
    const js = readFileSync(join(webRoot(), 'assets', f), 'utf8');
    assert.doesNotMatch(js, /\beval\(|new Function\(/, f);
  }
});
