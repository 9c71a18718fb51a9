/**
 * The test harness's private Docker engine (@saker/testing/docker) and its
 * testcontainers path: Debian's dockerd in a slot of its own, Saker's images
 * loaded from scripts/images.sh's tars (nothing pulled), containers started
 * by testcontainers with log wait strategies; the web UI from Saker's image
 * (`saker ui` on a NATS container: its SQLite addon and front end are in the
 * image); and what a test process killed with SIGKILL leaves behind
 * (container processes, shims, mounts, bridges) swept by the next engine's
 * start.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertUiFrontEnd, repoRoot, uiGetLoggedIn } from '@saker/testing';
import {
  type DockerEngine,
  type SakerImages,
  containerAddress,
  loadSakerImages,
  slotLayout,
  startDockerEngine,
  startNatsContainers,
  startNetwork,
  startSakerService,
  sweepStaleDockerSlots,
  useDockerEngine,
} from '@saker/testing/docker';
import { GenericContainer, Wait } from 'testcontainers';
import { eventually } from './containers-support.js';
import { passwordHash } from './ui-harness.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'needs root (dockerd)';

const linkExists = (name: string): boolean => existsSync(`/sys/class/net/${name}`);
const mountsUnder = (dir: string): string[] =>
  readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((m) => m === dir || m.startsWith(`${dir}/`));
const processesNaming = (needle: string): number[] =>
  readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle);
      } catch {
        return false;
      }
    })
    .map(Number);

describe('a private dockerd and testcontainers on it', { skip: SKIP, timeout: 300_000 }, () => {
  let engine: DockerEngine;
  let images: SakerImages;
  const t0 = Date.now();

  before(async () => {
    engine = await startDockerEngine();
    console.log(`containers-engine: dockerd slot ${engine.slot} up in ${Date.now() - t0} ms`);
    useDockerEngine(engine);
    const t1 = Date.now();
    images = loadSakerImages(engine, { build: false });
    console.log(`containers-engine: images (scripts/images.sh when missing) loaded in ${Date.now() - t1} ms`);
  });

  after(async () => {
    await engine?.stop();
  });

  it('runs in its own slot: socket, roots, bridge and address range, no iptables chains of its own', () => {
    const l = slotLayout(engine.slot);
    assert.equal(engine.socket, `${l.dir}/docker.sock`);
    assert.ok(linkExists(l.bridge), `bridge ${l.bridge}`);
    const info = engine.docker(['info', '--format', '{{.DockerRootDir}} {{.Driver}} {{.CgroupDriver}}']);
    assert.equal(info.status, 0, info.stderr);
    assert.equal(info.stdout.trim(), `${l.dir}/data overlay2 cgroupfs`);
    // --iptables=false: dockerd's fixed-name chains (shared by every engine on the host) are never made.
    for (const table of ['filter', 'nat']) {
      const rules = spawnSync('iptables', ['-t', table, '-S'], { encoding: 'utf8' }).stdout;
      assert.doesNotMatch(rules, /^-N DOCKER/m, `iptables -t ${table}`);
    }
  });

  it("starts Saker's image with testcontainers (no pull) and waits for its output", async () => {
    const version = await new GenericContainer(images.saker)
      .withCommand(['--version'])
      .withWaitStrategy(Wait.forOneShotStartup())
      .start();
    const logs = await version.logs();
    let text = '';
    for await (const chunk of logs) text += String(chunk);
    assert.match(text, /^saker \d+\.\d+\.\d+/m);
    await version.stop();
  });

  it("starts a 3-node NATS JetStream cluster from Saker's NATS image; every server is healthy", async () => {
    await using network = await startNetwork();
    const servers = await startNatsContainers({ image: images.nats, network });
    try {
      for (const s of servers) {
        const ip = containerAddress(engine, s.getId(), network.getName());
        // Each server answers its monitoring port at its address on the network (the host sits on the bridge).
        // "Server is ready" and a healthy JetStream (a quorum: one route is enough) come before every
        // route is up (a route to a peer not listening yet is retried a second later): wait for both.
        const deadline = Date.now() + 30_000;
        let health: number | string = 'no answer';
        let routes: number | string = 'not asked';
        for (;;) {
          const res = await fetch(`http://${ip}:8222/healthz`).catch((err: unknown) => String(err));
          health = typeof res === 'string' ? res : res.status;
          if (health === 200) {
            const routez = await fetch(`http://${ip}:8222/routez`)
              .then((r) => r.json() as Promise<{ num_routes: number }>)
              .catch((err: unknown) => ({ num_routes: String(err) }));
            routes = routez.num_routes;
            if (typeof routes === 'number' && routes >= 2) break;
          }
          assert.ok(
            Date.now() < deadline,
            `nats at ${ip}: not healthy with routes to both others in 30 s (healthz ${health}, routes ${routes})`,
          );
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    } finally {
      await Promise.all(servers.map((s) => s.stop({ timeout: 0 })));
    }
  });

  it("runs the web UI from Saker's image: saker ui serves the front end, api/session and its store", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-e2e-container-ui-'));
    await using network = await startNetwork();
    const [nats] = await startNatsContainers({ image: images.nats, network, size: 1 });
    try {
      const alice = { username: 'alice', password: 'container-ui-pw' };
      const config = join(dir, 'config');
      mkdirSync(config);
      writeFileSync(join(config, 'users'), `alice:admin:${passwordHash(alice.password)}\n`, { mode: 0o644 });
      writeFileSync(
        join(config, 'saker.yaml'),
        'nats: { url: "nats://nats-1:4222" }\n' +
          'ui: { listen: "0.0.0.0:2802", store: { path: /var/lib/saker-ui/alerts.db }, auth: { users_file: /etc/saker/users } }\n',
        { mode: 0o644 },
      );
      // The store's folder, writable by the image's user (the chart's emptyDir with fsGroup).
      const store = join(dir, 'store');
      mkdirSync(store);
      chmodSync(store, 0o777);
      const ui = await startSakerService({
        engine,
        image: images.saker,
        network,
        alias: 'ui',
        service: 'ui',
        configDir: config,
        mounts: [{ source: store, target: '/var/lib/saker-ui', readOnly: false }],
      });
      const base = `http://${containerAddress(engine, ui.getId(), network.getName())}:2802/`;
      await eventually('the ui answers', 30_000, () => fetch(base).catch(() => undefined));
      await assertUiFrontEnd(base);
      const session = await fetch(new URL('api/session', base));
      assert.equal(session.status, 200);
      assert.deepEqual(((await session.json()) as { methods: unknown }).methods, ['local']);
      // The store (the image's SQLite addon) behind a login checked against the users file.
      const events = await uiGetLoggedIn(base, alice, 'api/events');
      assert.equal(events.status, 200);
      assert.deepEqual(await events.json(), { events: [], next: null, total: 0 });
      await ui.stop();
    } finally {
      await nats?.stop({ timeout: 0 });
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads and runs an image scripts/k8s/image.sh packs (the one docker-archive writer, as npm run images)', () => {
    const tar = join(engine.dir, 'busybox.tar');
    const packed = spawnSync(
      'bash',
      [
        join(repoRoot(), 'scripts/k8s/image.sh'),
        tar,
        'local/busybox:containers-e2e',
        '["/bin/sh", "-c"]',
        '/bin/busybox=/bin/busybox',
        '/bin/sh->busybox',
        '/bin/cat->busybox',
        '/bin/id->busybox',
      ],
      { encoding: 'utf8' },
    );
    assert.equal(packed.status, 0, packed.stderr);
    assert.deepEqual(engine.load(tar), ['local/busybox:containers-e2e']);
    const r = engine.docker(['run', '--rm', 'local/busybox:containers-e2e', 'cat /etc/nsswitch.conf; id -u']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'hosts: files dns\n0\n');
  });

  it('what a SIGKILLed test leaves (containers, shims, mounts, bridges) is swept by the next start', async () => {
    // A second process takes a slot, runs a container on a user network, and is killed.
    const script = `
      import { startDockerEngine } from '@saker/testing/docker';
      const e = await startDockerEngine();
      e.load(${JSON.stringify(images.tars[1])});
      const net = e.docker(['network', 'create', 'left-behind']);
      if (net.status !== 0) throw new Error(net.stderr);
      const r = e.docker(['run', '-d', '--network', 'left-behind', ${JSON.stringify(images.nats)}]);
      if (r.status !== 0) throw new Error(r.stderr);
      console.log(JSON.stringify({ slot: e.slot, container: r.stdout.trim() }));
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      cwd: repoRoot(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const started = await new Promise<{ slot: number; container: string }>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const line = out.split('\n').find((l) => l.startsWith('{'));
        if (line !== undefined) resolve(JSON.parse(line) as { slot: number; container: string });
      });
      child.once('exit', (code) =>
        reject(new Error(`child exited (${code}) before its container ran:\n${err}`)),
      );
    });
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
    const l = slotLayout(started.slot);
    // dockerd died with its test (pdeathsig); the rest outlives it.
    const lingering = processesNaming(l.dir);
    assert.ok(lingering.length > 0, 'a shim outlives the killed test');
    assert.ok(mountsUnder(l.dir).length > 0, 'mounts outlive the killed test');
    assert.ok(linkExists(l.bridge));

    const swept = sweepStaleDockerSlots();
    assert.ok(swept.includes(started.slot), `swept ${swept.join(', ')}`);
    assert.deepEqual(processesNaming(l.dir), []);
    assert.deepEqual(mountsUnder(l.dir), []);
    assert.equal(linkExists(l.bridge), false);
    assert.equal(existsSync(l.dir), false);
    // The user network's bridge (br-<id>, an address in the slot's pool) went too.
    const poolPrefix = l.pool.split('.').slice(0, 3).join('.');
    const addrs = spawnSync('ip', ['-4', '-o', 'addr', 'show', 'type', 'bridge'], {
      encoding: 'utf8',
    }).stdout;
    assert.doesNotMatch(addrs, new RegExp(`inet ${poolPrefix.replace(/\./g, '\\.')}\\.`));
    // Our own slot was left alone.
    assert.ok(existsSync(engine.dir));
    assert.equal(engine.docker(['version', '--format', '{{.Server.Version}}']).status, 0);
  });
});
