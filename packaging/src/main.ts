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
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildHostPackages } from './deb.js';
import { natsServerFromGoTools } from './go-tools.js';
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

async function main(): Promise<void> {
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
