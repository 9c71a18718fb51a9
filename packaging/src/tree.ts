/**
 * The artefact tree: everything `saker` needs at run time, laid out the same
 * way for the Debian package, the tarball and the images.
 *
 *   bin/saker                              launcher: the bundle on the Node runtime beside it
 *   lib/saker.mjs                          the CLI and every service, one ES module (bundle.ts)
 *   package.json, services/cli/package.json   name and version (`saker --version`)
 *   rules/                                 Saker's default rules
 *   proto/, node_modules/…/proto           .proto files gRPC loads at run time
 *   services/engine/dist/src/ruleset-vet-worker.js   the engine's compile worker, bundled on its own
 *   services/sensor/dist/src/node-worker-thread.js   the sensor's node worker (sensor.worker), bundled on its own
 *   services/sensor/build/saker-sensor-loader   the eBPF loader, linked statically
 *   services/sensor/build/sensor.bpf.o     its CO-RE object (also embedded in the loader)
 *   node_modules/better-sqlite3/build/Release/better_sqlite3.node   the web UI's SQLite addon
 *   services/ui-web/dist/web               the web UI's front end (index.html and assets)
 *   node/bin/node                          the Node runtime (host packages only; images use the base's)
 *
 * Data files keep their repository-relative paths: the bundle resolves each
 * module's own location against the tree's root (bundle.ts).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { BUNDLE_PATH, NATIVE_ADDONS, WORKER_ENTRIES, bundleCli } from './bundle.js';

/** Data files the bundle reads at run time, repository-relative. */
const TREE_DATA: readonly string[] = [
  'rules',
  'proto',
  'node_modules/grpc-health-check/proto',
  'node_modules/@grpc/grpc-js/proto',
  'services/sensor/build/sensor.bpf.o',
  // The web UI's front end (@saker/ui-web's webRoot()).
  'services/ui-web/dist/web',
  // Native addons, compiled for this machine's Node by npm ci (the bundle requires them here).
  ...NATIVE_ADDONS.map((n) => n.addon),
];
const LOADER_PATH = 'services/sensor/build/saker-sensor-loader';
export const LAUNCHER_PATH = 'bin/saker';
export const NODE_PATH = 'node/bin/node';

// POSIX sh (dash, busybox): the launcher follows its own symlink
// (/usr/bin/saker → /usr/lib/saker/bin/saker) to the tree's root.
const LAUNCHER = `#!/bin/sh
# saker: runs Saker's bundled CLI on the Node.js runtime shipped beside it.
self=$(readlink -f "$0") || exit 1
root=\${self%/bin/*}
node="$root/${NODE_PATH}"
if [ ! -x "$node" ]; then
  node=$(command -v node) || { echo "saker: no Node.js runtime at $root/${NODE_PATH} or on PATH" >&2; exit 1; }
fi
exec "$node" "$root/${BUNDLE_PATH}" "$@"
`;

export interface TreeOptions {
  readonly repo: string;
  /** Folder to (re)create. */
  readonly out: string;
  /** Default: services/cli/package.json's version. */
  readonly version?: string;
}

export interface Tree {
  readonly dir: string;
  readonly version: string;
  readonly bundleBytes: number;
}

/** The version `saker --version` prints: the CLI package's. */
export function cliVersion(repo: string): string {
  const pkg: unknown = JSON.parse(readFileSync(join(repo, 'services/cli/package.json'), 'utf8'));
  if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') {
    return pkg.version;
  }
  throw new Error(`${join(repo, 'services/cli/package.json')}: no "version"`);
}

/** Debian's version syntax, also safe in file names and image tags. */
export function checkVersion(v: string): string {
  if (!/^[0-9][0-9A-Za-z.+~]*$/.test(v)) {
    throw new Error(
      `version ${JSON.stringify(v)}: use digits, letters, '.', '+', '~', starting with a digit`,
    );
  }
  return v;
}

/**
 * Links the sensor's loader statically (libbpf, libelf, zlib and glibc), so
 * it runs on a host or in an image that has none of them. The CO-RE object is
 * embedded through the skeleton the sensor's build generated.
 */
function linkLoader(repo: string, out: string): void {
  const sensor = join(repo, 'services/sensor');
  mkdirSync(dirname(out), { recursive: true });
  execFileSync(
    process.env.CC ?? 'gcc',
    [
      '-O2',
      '-Wall',
      `-I${join(sensor, 'build')}`,
      `-I${join(sensor, 'bpf')}`,
      join(sensor, 'loader/loader.c'),
      '-o',
      out,
      '-static',
      '-lbpf',
      '-lelf',
      '-lz',
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  execFileSync('strip', [out]);
}

export async function buildTree(o: TreeOptions): Promise<Tree> {
  const version = checkVersion(o.version ?? cliVersion(o.repo));
  rmSync(o.out, { recursive: true, force: true });
  mkdirSync(o.out, { recursive: true });
  const bundle = await bundleCli({ repo: o.repo, outfile: join(o.out, BUNDLE_PATH) });
  for (const entry of WORKER_ENTRIES) {
    const depth = entry.split('/').length - 1;
    await bundleCli({ repo: o.repo, outfile: join(o.out, entry), entry, root: '../'.repeat(depth) });
    // An ES module by its folder's package.json, whatever Node's syntax detection does.
    writeFileSync(join(o.out, dirname(entry), 'package.json'), '{ "type": "module" }\n');
  }
  writeVersion(o.out, version);
  for (const rel of TREE_DATA) {
    cpSync(join(o.repo, rel), join(o.out, rel), {
      recursive: true,
      filter: (src) => !src.endsWith('README.md'),
    });
  }
  linkLoader(o.repo, join(o.out, LOADER_PATH));
  mkdirSync(join(o.out, 'bin'), { recursive: true });
  writeFileSync(join(o.out, LAUNCHER_PATH), LAUNCHER);
  chmodSync(join(o.out, LAUNCHER_PATH), 0o755);
  return { dir: o.out, version, bundleBytes: bundle.bytes };
}

/**
 * Writes the version files: `saker --version` reads services/cli/package.json,
 * the web UI's api/info services/ui/package.json, and the CLI finds the
 * default rules next to the package named "saker".
 */
export function writeVersion(tree: string, version: string): void {
  const pkg = (name: string): string => `${JSON.stringify({ name, version, private: true }, null, 2)}\n`;
  writeFileSync(join(tree, 'package.json'), pkg('saker'));
  mkdirSync(join(tree, 'services/cli'), { recursive: true });
  writeFileSync(join(tree, 'services/cli/package.json'), pkg('@saker/cli'));
  mkdirSync(join(tree, 'services/ui'), { recursive: true });
  writeFileSync(join(tree, 'services/ui/package.json'), pkg('@saker/ui'));
}

/** Copies a Node runtime into the tree (host packages; `node` must need only the C and C++ runtime). */
export function addNodeRuntime(tree: string, node = '/usr/bin/node'): void {
  mkdirSync(join(tree, dirname(NODE_PATH)), { recursive: true });
  copyFileSync(node, join(tree, NODE_PATH));
  chmodSync(join(tree, NODE_PATH), 0o755);
}
