/**
 * deploy/container/Containerfile, built for real: the test harness's own
 * dockerd (@saker/testing/docker) builds it with the legacy builder from a
 * Node.js 20 base made here (no pulls): the Debian root debian-root.ts makes
 * with debootstrap, imported as an image, plus this machine's node and npm
 * at the official images' paths (and the CA file its NODE_EXTRA_CA_CERTS
 * names, when set), passed as NODE_BUILD_IMAGE and NODE_IMAGE.
 * The build stage installs its compilers from Debian and its npm packages
 * from the registry (the RUN steps use the host's network), builds the tree
 * and the final stage copies it. The result must match the image
 * `npm run images` assembles from the same checkout: entrypoint, command,
 * user, working folder, every path under /usr/lib/saker and the `saker`
 * link; and it must run, the web UI too (its SQLite addon compiled in the
 * build stage, its front end built there): in both images `saker run` with a
 * ui login serves the front end, api/session and its store.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import { assertUiFrontEnd, repoRoot, uiGetLoggedIn } from '@saker/testing';
import { DOCKER_CLI, type DockerEngine, startDockerEngine } from '@saker/testing/docker';
import { ensureDebianRoot } from '../src/debian-root.js';
import { IMAGE_TREE_DIR, SAKER_IMAGE_CONFIG, buildImages } from '../src/images.js';
import { buildTree } from '../src/tree.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'needs root (dockerd, debootstrap)';
const REPO = repoRoot();
const DEBIAN_IMAGE = 'saker.local/debian:bookworm';
const NODE_IMAGE = 'saker.local/node:20-bookworm';
const BUILT = 'saker.local/saker:containerfile';

interface InspectedConfig {
  readonly User: string;
  readonly Entrypoint: string[];
  readonly Cmd: string[];
  readonly WorkingDir: string;
}

describe(
  'deploy/container/Containerfile built by dockerd from a local Node.js 20 base',
  { skip: SKIP, timeout: 1_800_000 },
  () => {
    let engine: DockerEngine;
    let work: string;
    let assembled: string;
    const timings: string[] = [];
    const timed = <T>(what: string, f: () => T): T => {
      const t0 = performance.now();
      const v = f();
      timings.push(`${what}: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      return v;
    };
    const docker = (args: readonly string[], timeoutMs = 600_000): string => {
      const r = engine.docker(args, timeoutMs);
      assert.equal(r.status, 0, `docker ${args.join(' ')}: ${r.stdout.slice(-6000)}${r.stderr.slice(-2000)}`);
      return r.stdout;
    };

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'saker-containerfile-'));
      engine = await startDockerEngine();
      // The image `npm run images` assembles, to compare with.
      const t0 = performance.now();
      const tree = await buildTree({ repo: REPO, out: join(work, 'tree') });
      const [image] = await buildImages({
        tree: tree.dir,
        version: tree.version,
        out: join(work, 'images'),
        work: join(work, 'stage'),
      });
      assert.ok(image !== undefined);
      timings.push(`tree and assembled image: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      timed('docker load of the assembled image', () => docker(['load', '-i', image.file]));
      assembled = image.tag;

      const root = timed('Debian root (debootstrap, cached per machine)', () => ensureDebianRoot());
      timed(`${DEBIAN_IMAGE} imported from it`, () => {
        const r = spawnSync(
          'sh',
          [
            '-c',
            'tar -C "$1" --numeric-owner -c . | "$2" import - "$3"',
            'sh',
            root,
            DOCKER_CLI,
            DEBIAN_IMAGE,
          ],
          { env: engine.env, encoding: 'utf8', timeout: 300_000 },
        );
        assert.equal(r.status, 0, r.stderr);
      });
      // Node at the official images' paths: /usr/local/bin/node, npm under /usr/local/lib/node_modules.
      const ctx = join(work, 'node-base');
      const node = realpathSync(process.execPath);
      const npm = dirname(dirname(realpathSync(join(dirname(node), 'npm'))));
      mkdirSync(ctx);
      cpSync(node, join(ctx, 'node'));
      cpSync(npm, join(ctx, 'npm'), { recursive: true });
      // Node's C headers, where the official images keep them (/usr/local/include/node): node-gyp
      // builds better-sqlite3 against them instead of downloading them.
      cpSync(join(dirname(dirname(node)), 'include/node'), join(ctx, 'include-node'), { recursive: true });
      // Node's trust settings on this machine too: when its node trusts extra CAs
      // (NODE_EXTRA_CA_CERTS, e.g. a TLS-inspecting proxy to the registry), so does the base's.
      const extraCa = process.env.NODE_EXTRA_CA_CERTS;
      const caLines: string[] = [];
      if (extraCa !== undefined && extraCa !== '') {
        cpSync(extraCa, join(ctx, 'extra-ca.crt'));
        caLines.push(
          'COPY extra-ca.crt /usr/local/share/saker/extra-ca.crt',
          'ENV NODE_EXTRA_CA_CERTS=/usr/local/share/saker/extra-ca.crt',
        );
      }
      writeFileSync(
        join(ctx, 'Dockerfile'),
        [
          `FROM ${DEBIAN_IMAGE}`,
          'COPY node /usr/local/bin/node',
          'COPY npm /usr/local/lib/node_modules/npm',
          'COPY include-node /usr/local/include/node',
          ...caLines,
          'RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version',
          'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
          'CMD ["node"]',
          '',
        ].join('\n'),
      );
      timed(`${NODE_IMAGE} (node ${process.version})`, () => docker(['build', '-q', '-t', NODE_IMAGE, ctx]));
    });

    after(async () => {
      if (timings.length > 0) console.log(`containerfile timings: ${timings.join('; ')}`);
      await engine?.stop();
      if (work !== undefined) rmSync(work, { recursive: true, force: true });
    });

    it('builds, and matches the assembled image: entrypoint, command, user, files, the saker link', () => {
      timed('docker build -f deploy/container/Containerfile', () =>
        docker(
          [
            'build',
            '--network',
            'host',
            '-f',
            join(REPO, 'deploy/container/Containerfile'),
            '--build-arg',
            `NODE_BUILD_IMAGE=${NODE_IMAGE}`,
            '--build-arg',
            `NODE_IMAGE=${NODE_IMAGE}`,
            '-t',
            BUILT,
            REPO,
          ],
          1_500_000,
        ),
      );
      const config = (ref: string): InspectedConfig =>
        JSON.parse(docker(['image', 'inspect', '--format', '{{json .Config}}', ref])) as InspectedConfig;
      const built = config(BUILT);
      const want = config(assembled);
      for (const k of ['User', 'Entrypoint', 'Cmd', 'WorkingDir'] as const) {
        assert.deepEqual(built[k], want[k], k);
        assert.deepEqual(want[k], SAKER_IMAGE_CONFIG[k], k);
      }
      // Every path under /usr/lib/saker, and the link, from each image's exported file system.
      const files = (ref: string): { tree: string[]; link: string } => {
        const id = docker(['create', ref]).trim();
        try {
          const r = spawnSync('sh', ['-c', '"$1" export "$2" | tar -tvf -', 'sh', DOCKER_CLI, id], {
            env: engine.env,
            encoding: 'utf8',
            maxBuffer: 1 << 28,
          });
          assert.equal(r.status, 0, r.stderr);
          const lines = r.stdout.split('\n');
          const prefix = IMAGE_TREE_DIR.slice(1);
          const tree = lines
            .map((l) => /\s(\S+?)\/?(?: -> .*)?$/.exec(l)?.[1] ?? '')
            .filter((p) => p.startsWith(`${prefix}/`))
            .sort();
          const link = lines.find((l) => / usr\/local\/bin\/saker -> /.test(l))?.replace(/^.* -> /, '') ?? '';
          return { tree, link };
        } finally {
          docker(['rm', id]);
        }
      };
      const b = files(BUILT);
      const a = files(assembled);
      assert.ok(a.tree.length > 10, `${a.tree.length} paths in the assembled image`);
      assert.deepEqual(b.tree, a.tree);
      assert.equal(b.link, `${IMAGE_TREE_DIR}/bin/saker`);
      assert.equal(b.link, a.link);

      const version = JSON.parse(readFileSync(join(REPO, 'services/cli/package.json'), 'utf8')) as {
        version: string;
      };
      assert.equal(docker(['run', '--rm', BUILT, '--version']).trim(), `saker ${version.version}`);
      assert.match(docker(['run', '--rm', BUILT, 'rules', 'validate', `${IMAGE_TREE_DIR}/rules`]), /OK/);
    });

    it('runs the web UI in both images: saker run with a ui login serves the front end, api/session and its store', async () => {
      const alice = { username: 'alice', password: 'containerfile-pw' };
      const config = join(work, 'ui-config');
      mkdirSync(config, { recursive: true });
      const line = execFileSync(
        process.execPath,
        [
          join(REPO, 'services/cli/dist/src/main.js'),
          'ui',
          'hash-password',
          '--user',
          'alice',
          '--role',
          'admin',
        ],
        { input: `${alice.password}\n`, encoding: 'utf8' },
      );
      writeFileSync(join(config, 'users'), line);
      writeFileSync(
        join(config, 'saker.yaml'),
        'ui: { listen: "0.0.0.0:2802", auth: { users_file: /etc/saker-ui/users } }\nsensor: { enabled: false }\n',
      );
      for (const f of ['users', 'saker.yaml']) chmodSync(join(config, f), 0o644);
      const containerOutput = (id: string): string => {
        const r = engine.docker(['logs', id]);
        return `${r.stdout}${r.stderr}`;
      };
      for (const ref of [BUILT, assembled]) {
        const id = docker([
          ...['run', '-d', '-v', `${config}:/etc/saker-ui:ro`, ref],
          ...[
            'run',
            '--config',
            '/etc/saker-ui/saker.yaml',
            '--control-listen',
            'off',
            '--metrics-listen',
            'off',
          ],
        ]).trim();
        try {
          const ip = docker(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', id]).trim();
          const base = `http://${ip}:2802/`;
          const deadline = Date.now() + 60_000;
          while ((await fetch(base).catch(() => undefined)) === undefined) {
            assert.ok(Date.now() < deadline, `${ref}: no UI at ${base}:\n${containerOutput(id)}`);
            await new Promise((r) => setTimeout(r, 250));
          }
          await assertUiFrontEnd(base);
          const session = await fetch(new URL('api/session', base));
          assert.equal(session.status, 200, ref);
          const events = await uiGetLoggedIn(base, alice, 'api/events');
          assert.equal(events.status, 200, ref);
          assert.deepEqual(await events.json(), { events: [], next: null, total: 0 }, ref);
        } finally {
          docker(['rm', '-f', id]);
        }
      }
    });
  },
);
