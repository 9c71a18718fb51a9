/**
 * `npm run package` and `npm run images`: builds the artefact tree, then the
 * host packages or the images, into build/ at the repository's root.
 *
 *   node packaging/dist/src/main.js package [--version V] [--tree-only]
 *       build/package/tree/                     the artefact tree (tree.ts)
 *       build/package/saker_<V>_<arch>.deb      the Debian package (deb.ts)
 *       build/package/saker-<V>-linux-<arch>.tar.gz   the tarball (same files, one folder)
 *   node packaging/dist/src/main.js images [--version V]
 *       build/images/saker-<V>.tar, build/images/saker-nats-<V>.tar   docker-archive tars
 *   node packaging/dist/src/main.js archive OUT.tar NAME:TAG ENTRYPOINT_JSON ROOT
 *       a one-layer docker-archive of the staged folder ROOT (scripts/k8s/image.sh:
 *       the test cluster's pause, CoreDNS and busybox images), by the same writer
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHostPackages } from './deb.js';
import { natsServerFromGoTools } from './go-tools.js';
import { writeImageArchive } from './image-archive.js';
import { buildImages } from './images.js';
import { buildTree } from './tree.js';

/** The repository: packaging/dist/src → three folders up. */
export const REPO = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');

interface Args {
  readonly command: 'package' | 'images';
  readonly version: string | undefined;
  readonly treeOnly: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const [command, ...rest] = argv;
  if (command !== 'package' && command !== 'images') {
    throw new Error(
      `usage: main.js package|images [--version V] [--tree-only]; got ${JSON.stringify(command)}`,
    );
  }
  let version: string | undefined;
  let treeOnly = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--version') {
      version = rest[++i];
      if (version === undefined) throw new Error('--version needs a value');
    } else if (a === '--tree-only') treeOnly = true;
    else throw new Error(`unknown option ${JSON.stringify(a)}`);
  }
  return { command, version, treeOnly };
}

/** `archive OUT.tar NAME:TAG ENTRYPOINT_JSON ROOT`: one layer, root's own settings (no user, no labels). */
async function archive(argv: readonly string[]): Promise<void> {
  const [out, tag, entrypointJson, root, ...extra] = argv;
  if (
    out === undefined ||
    tag === undefined ||
    entrypointJson === undefined ||
    root === undefined ||
    extra.length > 0
  ) {
    throw new Error('usage: main.js archive OUT.tar NAME:TAG ENTRYPOINT_JSON ROOT');
  }
  let entrypoint: unknown;
  try {
    entrypoint = JSON.parse(entrypointJson);
  } catch {
    entrypoint = undefined;
  }
  if (!Array.isArray(entrypoint) || !entrypoint.every((e): e is string => typeof e === 'string')) {
    throw new Error(`archive: entrypoint ${JSON.stringify(entrypointJson)} is not a JSON list of strings`);
  }
  const written = await writeImageArchive(
    {
      tag,
      layers: [{ dir: root, comment: `${tag}: ${root}` }],
      config: {
        User: '',
        Entrypoint: entrypoint,
        Cmd: [],
        Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        WorkingDir: '/',
        Labels: {},
      },
    },
    out,
  );
  console.log(`image: ${written.file} ${written.tag} (${written.bytes} bytes)`);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'archive') return archive(process.argv.slice(3));
  const args = parseArgs(process.argv.slice(2));
  const build = join(REPO, 'build');
  const tree = await buildTree({ repo: REPO, out: join(build, 'package/tree'), version: args.version });
  console.log(`tree: ${tree.dir} (saker ${tree.version}, bundle ${tree.bundleBytes} bytes)`);
  if (args.command === 'package' && !args.treeOnly) {
    const p = buildHostPackages({
      repo: REPO,
      tree: tree.dir,
      version: tree.version,
      out: join(build, 'package'),
    });
    console.log(`deb: ${p.deb} (${p.debBytes} bytes)`);
    if (p.tarball !== undefined) console.log(`tarball: ${p.tarball.file} (${p.tarball.bytes} bytes)`);
  }
  if (args.command === 'images') {
    const images = await buildImages({
      tree: tree.dir,
      version: tree.version,
      out: join(build, 'images'),
      work: join(build, 'images/.work'),
      natsServer: natsServerFromGoTools(REPO),
    });
    for (const i of images) console.log(`image: ${i.file} ${i.tag} (${i.bytes} bytes)`);
  }
}

main().catch((err: unknown) => {
  console.error(`packaging: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
});
