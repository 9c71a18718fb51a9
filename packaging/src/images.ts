/**
 * Saker's images, assembled from the artefact tree without a registry:
 *
 *   saker:<version>       every service (`saker <service>` as the command), the
 *                         sensor's loader and CO-RE object, on the Node runtime
 *                         of this machine and the C/C++ libraries it links;
 *                         runs as 65532:65532 (the sensor's pod runs as root)
 *   saker-nats:<version>  nats-server from scripts/go-tools.sh (static), as 65532:65532,
 *                         JetStream storage in /data
 *
 * deploy/container/Containerfile builds the same saker image from an official
 * Node.js 20 base for users' CI: the same files under /usr/lib/saker, the same
 * entrypoint, command and user (test/images.test.ts compares them).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BUNDLE_PATH, NATIVE_ADDONS } from './bundle.js';
import { type ImageRuntimeConfig, type WrittenImage, writeImageArchive } from './image-archive.js';
import { NODE_PATH, checkVersion } from './tree.js';

/** Where the artefact tree sits in the image (and in the Debian package). */
export const IMAGE_TREE_DIR = '/usr/lib/saker';
/** The official Node images keep node here; the assembled image does the same. */
const IMAGE_NODE = '/usr/local/bin/node';
/** Not root; the uid distroless images use for "nonroot". */
const IMAGE_USER = '65532:65532';
export const SAKER_IMAGE_CONFIG: Omit<ImageRuntimeConfig, 'Labels'> = {
  User: IMAGE_USER,
  Entrypoint: [IMAGE_NODE, `${IMAGE_TREE_DIR}/${BUNDLE_PATH}`],
  Cmd: ['run'],
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  WorkingDir: '/',
};
export const NATS_IMAGE_CONFIG: Omit<ImageRuntimeConfig, 'Labels'> = {
  User: IMAGE_USER,
  Entrypoint: ['/usr/local/bin/nats-server'],
  Cmd: ['--jetstream', '--store_dir', '/data'],
  Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
  WorkingDir: '/',
  ExposedPorts: { '4222/tcp': {}, '6222/tcp': {}, '7422/tcp': {}, '8222/tcp': {} },
};

const sakerImageTag = (version: string): string => `saker:${version}`;
const natsImageTag = (version: string): string => `saker-nats:${version}`;

/** A minimal root: merged /usr, /etc/passwd and /etc/group with root and saker (65532), nsswitch.conf, /tmp. */
function stageRoot(dir: string): void {
  mkdirSync(dir, { recursive: true });
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'usr/local/bin', 'etc', 'tmp', 'root']) {
    mkdirSync(join(dir, d), { recursive: true });
  }
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(dir, d));
  chmodSync(join(dir, 'tmp'), 0o1777);
  chmodSync(join(dir, 'root'), 0o700);
  writeFileSync(
    join(dir, 'etc/passwd'),
    'root:x:0:0:root:/root:/usr/sbin/nologin\nsaker:x:65532:65532:saker:/nonexistent:/usr/sbin/nologin\n',
  );
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\nsaker:x:65532:\n');
  // glibc's resolver (Node's dns.lookup): the kubelet mounts /etc/hosts and resolv.conf, not this.
  writeFileSync(join(dir, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
}

/** The shared libraries a binary loads, from ldd (absolute paths as the loader names them). */
function sharedLibraries(binary: string): string[] {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1] !== undefined) libs.push(m[1]);
  }
  return libs;
}

/** Copies a host file into the staged root at the same path, with the symlink that named it (one level). */
function copyHostFile(root: string, path: string): void {
  // Resolve the directories (merged /usr: /lib → usr/lib), keep the file name.
  const named = join(realpathSync(dirname(path)), basename(path));
  const target = realpathSync(named);
  mkdirSync(join(root, dirname(target)), { recursive: true });
  if (!existsSync(join(root, target))) copyFileSync(target, join(root, target));
  if (named !== target && lstatSync(named).isSymbolicLink() && !existsSync(join(root, named))) {
    mkdirSync(join(root, dirname(named)), { recursive: true });
    symlinkSync(readlinkSync(named), join(root, named));
  }
}

export interface ImagesOptions {
  /** The artefact tree (tree.ts), without a node runtime in it. */
  readonly tree: string;
  readonly version: string;
  /** Folder for the tars. */
  readonly out: string;
  /** Scratch space. */
  readonly work: string;
  /** The Node runtime to put in the image. Default /usr/bin/node. */
  readonly node?: string;
  /** nats-server binary; omitted: no NATS image. */
  readonly natsServer?: { readonly path: string; readonly version: string };
}

export async function buildImages(o: ImagesOptions): Promise<WrittenImage[]> {
  checkVersion(o.version);
  rmSync(o.work, { recursive: true, force: true });
  const node = o.node ?? '/usr/bin/node';
  const labels = (title: string): Record<string, string> => ({
    'org.opencontainers.image.title': title,
    'org.opencontainers.image.version': o.version,
    'org.opencontainers.image.licenses': 'Apache-2.0',
  });

  const base = join(o.work, 'saker-base');
  stageRoot(base);
  copyFileSync(node, join(base, IMAGE_NODE));
  chmodSync(join(base, IMAGE_NODE), 0o755);
  for (const lib of sharedLibraries(node)) copyHostFile(base, lib);
  // The tree's native addons (the web UI's SQLite) load the C++ runtime Node links, and whatever else they link.
  for (const n of NATIVE_ADDONS) {
    for (const lib of sharedLibraries(join(o.tree, n.addon))) copyHostFile(base, lib);
  }

  const app = join(o.work, 'saker-app');
  cpSync(o.tree, join(app, IMAGE_TREE_DIR), {
    recursive: true,
    filter: (src) => src !== join(o.tree, NODE_PATH.split('/')[0] ?? 'node'),
  });
  mkdirSync(join(app, 'usr/local/bin'), { recursive: true });
  symlinkSync(`${IMAGE_TREE_DIR}/bin/saker`, join(app, 'usr/local/bin/saker'));
  const written: WrittenImage[] = [];
  written.push(
    await writeImageArchive(
      {
        tag: sakerImageTag(o.version),
        layers: [
          {
            dir: base,
            comment: `saker: Node.js ${execFileSync(node, ['--version'], { encoding: 'utf8' }).trim()} and its libraries`,
          },
          { dir: app, comment: `saker: the artefact tree at ${IMAGE_TREE_DIR}` },
        ],
        config: { ...SAKER_IMAGE_CONFIG, Labels: labels('saker') },
      },
      join(o.out, `saker-${o.version}.tar`),
    ),
  );

  if (o.natsServer !== undefined) {
    const nats = join(o.work, 'nats');
    stageRoot(nats);
    copyFileSync(o.natsServer.path, join(nats, 'usr/local/bin/nats-server'));
    chmodSync(join(nats, 'usr/local/bin/nats-server'), 0o755);
    mkdirSync(join(nats, 'data'));
    chownSync(join(nats, 'data'), 65532, 65532);
    written.push(
      await writeImageArchive(
        {
          tag: natsImageTag(o.version),
          layers: [{ dir: nats, comment: `saker-nats: nats-server ${o.natsServer.version}` }],
          config: {
            ...NATS_IMAGE_CONFIG,
            Labels: { ...labels('saker-nats'), 'io.saker.nats-server.version': o.natsServer.version },
          },
        },
        join(o.out, `saker-nats-${o.version}.tar`),
      ),
    );
  }
  rmSync(o.work, { recursive: true, force: true });
  return written;
}
