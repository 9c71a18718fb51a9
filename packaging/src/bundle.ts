/**
 * Bundles the `saker` CLI (every service) into one ES module with esbuild.
 *
 * Modules find their data files relative to themselves (`import.meta.url` in
 * Saker's packages, `__dirname` in CommonJS dependencies such as
 * grpc-health-check): the rules, the .proto files, the sensor's loader. In a
 * bundle those would all point at the bundle itself, so each such reference is
 * rewritten to the module's own path in the repository, resolved against the
 * root of the artefact tree at run time. The tree then keeps the repository's
 * relative layout for the few data files it carries (tree.ts copies them), and
 * no package's lookup code changes. Native addons are the exception: their
 * loaders search from the calling file (the `bindings` package walks up from
 * it), which in a bundle is the bundle; each call is replaced by a `require`
 * of the addon's repository path in the tree (NATIVE_ADDONS).
 */
import { readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { build } from 'esbuild';

/** Where the bundle sits in the artefact tree; the banner resolves the tree's root from it. */
export const BUNDLE_PATH = 'lib/saker.mjs';

export interface BundleOptions {
  /** The repository (its workspaces must be built). */
  readonly repo: string;
  /** The bundle file to write. */
  readonly outfile: string;
  /** Repository-relative entry module; default the CLI's services/cli/dist/src/main.js. */
  readonly entry?: string;
  /** The tree's root seen from the bundle's folder; default '../' (lib/saker.mjs). */
  readonly root?: string;
}

/**
 * Worker modules the services start by URL (`new Worker(new URL('./x.js',
 * import.meta.url))`): each is bundled on its own at its repository path in
 * the tree, where the relocated URL of its caller points.
 */
export const WORKER_ENTRIES: readonly string[] = [
  'services/engine/dist/src/ruleset-vet-worker.js',
  'services/sensor/dist/src/node-worker-thread.js',
];

/** A native addon's loading call in a module, and the addon it loads; paths repository-relative. */
export interface NativeAddon {
  readonly module: string;
  readonly call: string;
  readonly addon: string;
}

/** better-sqlite3 (the web UI's store) loads its addon through `bindings`. */
export const NATIVE_ADDONS: readonly NativeAddon[] = [
  {
    module: 'node_modules/better-sqlite3/lib/database.js',
    call: "require('bindings')('better_sqlite3.node')",
    addon: 'node_modules/better-sqlite3/build/Release/better_sqlite3.node',
  },
];

export interface BundleResult {
  readonly bytes: number;
  /** Modules whose location was rewritten, repository-relative. */
  readonly relocated: readonly string[];
}

// Defines the helpers the rewritten modules call, and `require` for CommonJS
// dependencies that load Node builtins. The bundle is lib/saker.mjs, so the
// tree's root is one folder up.
const banner = (root: string): string => `import { createRequire as __sakerCreateRequire } from 'node:module';
import { fileURLToPath as __sakerFileURLToPath } from 'node:url';
const require = __sakerCreateRequire(import.meta.url);
const __sakerRoot = new URL(${JSON.stringify(root)}, import.meta.url);
const __sakerUrl = (rel) => new URL(rel, __sakerRoot).href;
const __sakerDir = (rel) => __sakerFileURLToPath(new URL(rel, __sakerRoot));`;

/** Repository-relative POSIX path of a file. */
function repoPath(repo: string, file: string): string {
  const rel = relative(repo, file);
  if (rel.startsWith('..')) throw new Error(`bundle: ${file} is outside the repository ${repo}`);
  return rel.split(sep).join('/');
}

/**
 * Rewrites `import.meta.url` and `__dirname`/`__filename` of one module to its
 * repository location, and a native addon's loading call to a `require` of
 * the addon in the tree. A module of NATIVE_ADDONS without its call fails the
 * bundle: a dependency's update changed how it loads its addon.
 */
export function relocate(source: string, path: string): string | undefined {
  let text = source;
  for (const n of NATIVE_ADDONS) {
    if (n.module !== path) continue;
    if (!text.includes(n.call)) throw new Error(`bundle: ${path} no longer loads its addon by ${n.call}`);
    text = text.replaceAll(n.call, `require(__sakerDir(${JSON.stringify(n.addon)}))`);
  }
  if (!/import\.meta\.url|\b__dirname\b|\b__filename\b|__sakerDir/.test(text)) return undefined;
  const dir = path.includes('/') ? path.slice(0, path.lastIndexOf('/')) : '.';
  return text
    .replace(/import\.meta\.url/g, `__sakerUrl(${JSON.stringify(path)})`)
    .replace(/\b__dirname\b/g, `__sakerDir(${JSON.stringify(dir)})`)
    .replace(/\b__filename\b/g, `__sakerDir(${JSON.stringify(path)})`);
}

export async function bundleCli(o: BundleOptions): Promise<BundleResult> {
  const relocated: string[] = [];
  const result = await build({
    entryPoints: [`${o.repo}/${o.entry ?? 'services/cli/dist/src/main.js'}`],
    outfile: o.outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // The source maps of the compiled packages point at TypeScript the tree does not carry.
    sourcemap: false,
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'eof',
    banner: { js: banner(o.root ?? '../') },
    // Optional native speed-ups of `ws` (used by @kubernetes/client-node); ws
    // falls back to JavaScript when they are missing, as they are here.
    external: ['bufferutil', 'utf-8-validate'],
    metafile: true,
    logLevel: 'error',
    plugins: [
      {
        name: 'saker-relocate',
        setup(b) {
          b.onLoad({ filter: /\.(c|m)?js$/ }, async (args) => {
            const source = await readFile(args.path, 'utf8');
            const path = repoPath(o.repo, args.path);
            const contents = relocate(source, path);
            if (contents === undefined) return undefined;
            relocated.push(path);
            return { contents, loader: 'js' };
          });
        },
      },
    ],
  });
  const out = Object.values(result.metafile.outputs)[0];
  return { bytes: out?.bytes ?? 0, relocated: relocated.sort() };
}
