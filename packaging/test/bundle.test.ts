/** The bundle's relocation of module paths, the version check, and the tree's launcher, rules and gRPC (no root needed). */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from '@saker/testing';
import { NATIVE_ADDONS, relocate } from '../src/bundle.js';
import { LAUNCHER_PATH, buildTree, checkVersion } from '../src/tree.js';
import { watch } from './chroot.js';

describe('relocate', () => {
  it("rewrites import.meta.url, __dirname and __filename to the module's repository path", () => {
    const src =
      'const u = new URL("../x", import.meta.url); const d = __dirname + "/p"; const f = __filename;';
    assert.equal(
      relocate(src, 'services/control/dist/src/proto.js'),
      'const u = new URL("../x", __sakerUrl("services/control/dist/src/proto.js")); ' +
        'const d = __sakerDir("services/control/dist/src") + "/p"; ' +
        'const f = __sakerDir("services/control/dist/src/proto.js");',
    );
  });

  it('leaves a module without them alone, and does not touch longer names', () => {
    assert.equal(relocate('const x = 1;', 'a/b.js'), undefined);
    assert.equal(relocate('const my__dirname_x = 1;', 'a/b.js'), undefined);
  });

  it('requires a native addon at its path in the tree instead of searching from the bundle; refuses a loader that changed', () => {
    const [sqlite] = NATIVE_ADDONS;
    assert.ok(sqlite !== undefined);
    assert.equal(
      relocate(`addon = DEFAULT_ADDON || (DEFAULT_ADDON = ${sqlite.call});`, sqlite.module),
      'addon = DEFAULT_ADDON || (DEFAULT_ADDON = require(__sakerDir("node_modules/better-sqlite3/build/Release/better_sqlite3.node")));',
    );
    assert.throws(
      () => relocate("require('bindings')('other.node')", sqlite.module),
      /no longer loads its addon/,
    );
  });

  it('quotes hostile paths as JSON strings', () => {
    assert.equal(
      relocate('import.meta.url', 'node_modules/x/"); process.exit(1); ("/y.js'),
      '__sakerUrl("node_modules/x/\\"); process.exit(1); (\\"/y.js")',
    );
  });
});

describe('checkVersion', () => {
  it('accepts Debian versions and refuses what is unsafe in a file name, a tag or a control file', () => {
    for (const v of ['0.1.0', '1.2.3+upgrade.1', '2.0~rc1']) assert.equal(checkVersion(v), v);
    for (const v of ['', 'v1.0', '../1', '1 0', '1/0', '1;rm', '1\nPackage: x', '1:2']) {
      assert.throws(() => checkVersion(v), /version/, JSON.stringify(v));
    }
  });
});

describe('the artefact tree', { timeout: 180_000 }, () => {
  it('runs saker --version and rules validate through its launcher, from any working directory', async () => {
    const work = mkdtempSync(join(tmpdir(), 'saker-tree-'));
    try {
      const tree = await buildTree({ repo: repoRoot(), out: join(work, 'tree'), version: '9.8.7' });
      // No node/bin/node in the tree: the launcher falls back to node on PATH.
      const run = (...args: string[]): string =>
        execFileSync(join(tree.dir, LAUNCHER_PATH), args, { cwd: work, encoding: 'utf8' });
      assert.equal(run('--version').trim(), 'saker 9.8.7');
      assert.match(run('rules', 'validate', join(tree.dir, 'rules')), /saker_rules\.yaml: OK/);
      // The default rules are found next to the tree's package.json (rules list without -r).
      assert.match(run('rules', 'list'), /File written below \/etc/);
      // gRPC loads its .proto files from the tree: the control API and saker ctl.
      const saker = watch(
        join(tree.dir, LAUNCHER_PATH),
        ['run', '--no-sensor', '--control-listen', '127.0.0.1:0', '--metrics-listen', 'off'],
        process.env,
      );
      try {
        // The runtime's running line: control(address=127.0.0.1:N plaintext).
        const addr = (await saker.waitFor(/control\(address=127\.0\.0\.1:\d+/, 60_000)).slice(
          'control(address='.length,
        );
        assert.match(
          run('ctl', 'rules', 'list', '--addr', addr),
          /^revision 1\n[\s\S]*File written below \/etc/,
        );
      } finally {
        assert.equal(await saker.stop(), 0, saker.output());
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
