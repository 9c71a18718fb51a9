/**
 * The images: the docker-archive tars of `npm run images` import into a real
 * containerd (`ctr -n k8s.io images import`, as the cluster does), run there
 * as their numeric user, and match deploy/container/Containerfile (the same
 * files under /usr/lib/saker, entrypoint, command and user).
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Containerd, repoRoot } from '@saker/testing';
import { natsServerFromGoTools } from '../src/go-tools.js';
import type { WrittenImage } from '../src/image-archive.js';
import { IMAGE_TREE_DIR, NATS_IMAGE_CONFIG, SAKER_IMAGE_CONFIG, buildImages } from '../src/images.js';
import { type Tree, buildTree } from '../src/tree.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'needs root (containerd, runc)';
if (SKIP) console.error(`\n*** SKIPPING image tests: ${SKIP} ***\n`);

const REPO = repoRoot();

interface ArchiveConfig {
  readonly architecture: string;
  readonly config: {
    readonly User: string;
    readonly Entrypoint: string[];
    readonly Cmd: string[];
    readonly Labels: Record<string, string>;
  };
}

function readArchive(tar: string): { tags: string[]; config: ArchiveConfig; files: Map<string, string> } {
  const read = (member: string): string =>
    execFileSync('tar', ['-xOf', tar, member], { encoding: 'utf8', maxBuffer: 1 << 28 });
  const [manifest] = JSON.parse(read('./manifest.json')) as {
    Config: string;
    RepoTags: string[];
    Layers: string[];
  }[];
  assert.ok(manifest !== undefined, `${tar}: empty manifest.json`);
  const config = JSON.parse(read(`./${manifest.Config}`)) as ArchiveConfig;
  // path → type and link target, over every layer (later layers win).
  const files = new Map<string, string>();
  for (const layer of manifest.Layers) {
    const listing = execFileSync('sh', ['-c', 'tar -xOf "$1" "./$2" | tar -tvf -', 'sh', tar, layer], {
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    for (const line of listing.split('\n')) {
      const m = /^(\S)\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\.\/(.*?)\/?(?: -> (.*))?$/.exec(line);
      if (m?.[2] !== undefined && m[2] !== '')
        files.set(`/${m[2]}`, m[1] === 'l' ? `-> ${m[3]}` : (m[1] ?? ''));
    }
  }
  return { tags: manifest.RepoTags, config, files };
}

/** The final stage of the Containerfile: its COPY, RUN ln -s, USER, ENTRYPOINT and CMD. */
function containerfileFinalStage(text: string): {
  copy: [string, string];
  link: [string, string];
  user: string;
  entrypoint: string[];
  cmd: string[];
} {
  const lines = text.split('\n').filter((l) => !l.startsWith('#'));
  const last =
    lines
      .map((l, i) => (l.startsWith('FROM ') ? i : -1))
      .filter((i) => i >= 0)
      .at(-1) ?? 0;
  const stage = lines.slice(last);
  const find = (re: RegExp): RegExpExecArray => {
    for (const l of stage) {
      const m = re.exec(l);
      if (m !== null) return m;
    }
    assert.fail(`the Containerfile's final stage has no line matching ${re}`);
  };
  const copy = find(/^COPY --from=build (\S+) (\S+)$/);
  const link = find(/^RUN ln -s (\S+) (\S+)$/);
  return {
    copy: [copy[1] ?? '', copy[2] ?? ''],
    link: [link[1] ?? '', link[2] ?? ''],
    user: find(/^USER (\S+)$/)[1] ?? '',
    entrypoint: JSON.parse(find(/^ENTRYPOINT (\[.*\])$/)[1] ?? '[]') as string[],
    cmd: JSON.parse(find(/^CMD (\[.*\])$/)[1] ?? '[]') as string[],
  };
}

describe('images', { skip: SKIP, timeout: 300_000 }, () => {
  let work: string;
  let tree: Tree;
  let saker: WrittenImage;
  let nats: WrittenImage;
  let natsVersion: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'saker-images-'));
    tree = await buildTree({ repo: REPO, out: join(work, 'tree') });
    const natsServer = natsServerFromGoTools(REPO);
    natsVersion = natsServer.version;
    const images = await buildImages({
      tree: tree.dir,
      version: tree.version,
      out: join(work, 'images'),
      work: join(work, 'stage'),
      natsServer,
    });
    assert.equal(images.length, 2);
    [saker, nats] = images as [WrittenImage, WrittenImage];
  });

  after(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('match the Containerfile: the same files under /usr/lib/saker, entrypoint, command and user', () => {
    const cf = containerfileFinalStage(readFileSync(join(REPO, 'deploy/container/Containerfile'), 'utf8'));
    const archive = readArchive(saker.file);
    assert.deepEqual(archive.tags, [`saker:${tree.version}`]);
    assert.equal(archive.config.config.User, cf.user);
    assert.deepEqual(archive.config.config.Entrypoint, cf.entrypoint);
    assert.deepEqual(archive.config.config.Cmd, cf.cmd);
    assert.deepEqual(archive.config.config, { ...SAKER_IMAGE_CONFIG, Labels: archive.config.config.Labels });
    // COPY --from=build /src/build/package/tree/ /usr/lib/saker/: the tree npm run package -- --tree-only writes.
    assert.equal(cf.copy[0], '/src/build/package/tree/');
    assert.equal(cf.copy[1], `${IMAGE_TREE_DIR}/`);
    const treeFiles = execFileSync('find', ['.', '-mindepth', '1'], { cwd: tree.dir, encoding: 'utf8' })
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => `${IMAGE_TREE_DIR}${l.slice(1)}`)
      .sort();
    const imageFiles = [...archive.files.keys()].filter((p) => p.startsWith(`${IMAGE_TREE_DIR}/`)).sort();
    assert.deepEqual(imageFiles, treeFiles);
    assert.equal(archive.files.get(cf.link[1]), `-> ${cf.link[0]}`);
    // The Node runtime the entrypoint names, and the loader, are in the image.
    assert.equal(archive.files.get(cf.entrypoint[0] ?? ''), '-');
    assert.equal(archive.files.get(`${IMAGE_TREE_DIR}/services/sensor/build/saker-sensor-loader`), '-');
    assert.equal(archive.files.get(`${IMAGE_TREE_DIR}/services/sensor/build/sensor.bpf.o`), '-');
    for (const f of ['/etc/passwd', '/etc/group', '/etc/nsswitch.conf'])
      assert.equal(archive.files.get(f), '-', f);
  });

  it('import into containerd with ctr -n k8s.io images import and run as their numeric user', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-images-ctrd-'));
    const containerd = await Containerd.start(dir);
    try {
      containerd.importImage(saker.file, 'k8s.io');
      containerd.importImage(nats.file, 'k8s.io');
      const names = containerd.ctr(['-n', 'k8s.io', 'images', 'ls', '-q']).stdout.split('\n');
      const sakerRef = `docker.io/library/saker:${tree.version}`;
      const natsRef = `docker.io/library/saker-nats:${tree.version}`;
      assert.ok(names.includes(sakerRef), names.join(', '));
      assert.ok(names.includes(natsRef), names.join(', '));

      const run = (ref: string, id: string, args: string[]): string => {
        const r = containerd.ctr(
          ['-n', 'k8s.io', 'run', '--rm', '--snapshotter', 'overlayfs', ref, id, ...args],
          60_000,
        );
        assert.equal(r.status, 0, `ctr run ${ref} ${args.join(' ')}: ${r.stderr}${containerd.logTail}`);
        return r.stdout;
      };
      const entry = SAKER_IMAGE_CONFIG.Entrypoint;
      assert.equal(
        run(sakerRef, `saker-version-${process.pid}`, [...entry, '--version']).trim(),
        `saker ${tree.version}`,
      );
      // The image's user (ctr run keeps the config's User).
      assert.equal(
        run(sakerRef, `saker-uid-${process.pid}`, [
          entry[0] ?? '',
          '-e',
          'console.log(process.getuid())',
        ]).trim(),
        SAKER_IMAGE_CONFIG.User.split(':')[0],
      );
      const rules = run(sakerRef, `saker-rules-${process.pid}`, [
        ...entry,
        'rules',
        'validate',
        `${IMAGE_TREE_DIR}/rules`,
      ]);
      assert.match(rules, /saker_rules\.yaml: OK/);
      const natsOut = run(natsRef, `saker-nats-${process.pid}`, [
        ...NATS_IMAGE_CONFIG.Entrypoint,
        '--version',
      ]);
      assert.match(natsOut, new RegExp(`nats-server: ${natsVersion.replace(/\./g, '\\.')}`));
    } finally {
      await containerd.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
