import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * CI's check that src/gen is current: regenerate from proto/saker/v1/rules.proto
 * into a temp dir with the same script (`npm run generate`) and compare file by file.
 */
const pkgDir = fileURLToPath(new URL('../../', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test('the committed generated types in src/gen match proto/saker/v1/rules.proto', () => {
  const out = mkdtempSync(join(tmpdir(), 'saker-control-gen-'));
  try {
    execFileSync(process.execPath, [join(pkgDir, 'scripts/generate.mjs'), '--out', out], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const committedDir = join(pkgDir, 'src/gen');
    const fresh = files(out)
      .map((f) => relative(out, f))
      .sort();
    const committed = files(committedDir)
      .map((f) => relative(committedDir, f))
      .sort();
    const hint = 'src/gen is stale: run `npm run generate -w @saker/control` and commit the result';
    assert.deepEqual(committed, fresh, hint);
    for (const f of fresh) {
      assert.equal(
        readFileSync(join(committedDir, f), 'utf8'),
        readFileSync(join(out, f), 'utf8'),
        `${f}: ${hint}`,
      );
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
