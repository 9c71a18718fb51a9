/**
 * Real containers for integration tests: a busybox-static rootfs run by runc
 * with a kubepods cgroup path, and a private containerd (own root, state and
 * socket in a temp dir) with OCI images built here from the same rootfs. With
 * `cri`, the containerd also serves the Kubernetes CRI (runtime.v1) on its
 * socket, with a pause image built from busybox and imported into the
 * `k8s.io` namespace, so a test can make pod sandboxes and containers the way
 * kubelet does (host network: no CNI needed).
 *
 * Nothing is pulled from a registry: busybox comes from Debian's
 * busybox-static package (scripts/setup.sh installs it).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

const BUSYBOX = '/bin/busybox';

/** A 64-hex container id, as container runtimes make them. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The cgroup root the tests' kubepods trees live under, as a kubelet run with
 * `--cgroup-root=/saker-tests` places its pods. Not the default root: a real
 * kubelet on the same machine (the cluster tests start one, cgroupfs driver)
 * owns `/kubepods` and kills the processes of every pod cgroup there that it
 * did not create, so test containers there died at start (`runc init` gone:
 * "can't get final child's PID from pipe", "read init-p: connection reset").
 */
const TEST_CGROUP_ROOT = '/saker-tests';

/**
 * A kubepods cgroupfs path (`<root>/kubepods/besteffort/pod<uid>/<id>`), the
 * layout kubelet's cgroupfs driver makes, under TEST_CGROUP_ROOT.
 */
export function kubepodsCgroup(id: string, podUid: string = randomUUID()): string {
  return `${TEST_CGROUP_ROOT}/kubepods/besteffort/pod${podUid}/${id}`;
}

/**
 * Removes a cgroup directory (and its empty children) under every mounted
 * hierarchy: cgroup v1 controllers or the v2 unified tree. Cgroups a runtime
 * made under a test's cgroup parent outlive the containers otherwise.
 */
export function removeCgroup(path: string): void {
  const root = '/sys/fs/cgroup';
  const roots = existsSync(join(root, 'cgroup.controllers'))
    ? [root]
    : readdirSync(root)
        .map((d) => join(root, d))
        .filter((d) => {
          try {
            return statSync(d).isDirectory();
          } catch {
            return false;
          }
        });
  const rm = (dir: string): void => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      const sub = join(dir, e);
      try {
        if (statSync(sub).isDirectory()) rm(sub);
      } catch {
        // gone meanwhile
      }
    }
    try {
      rmdirSync(dir);
    } catch {
      // busy or gone: nothing more to do here
    }
  };
  for (const r of roots) rm(join(r, path));
}

/** Writes a minimal rootfs: /bin/busybox and a symlink per applet, plus the usual mount points. */
function busyboxRootfs(dir: string): void {
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'run', 'root'])
    mkdirSync(join(dir, d), { recursive: true });
  copyFileSync(BUSYBOX, join(dir, 'bin/busybox'));
  const list = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' });
  if (list.status !== 0) throw new Error(`${BUSYBOX} --list failed: ${list.stderr}`);
  for (const applet of list.stdout.split('\n')) {
    if (applet === '' || applet === 'busybox') continue;
    symlinkSync('busybox', join(dir, 'bin', applet));
  }
  writeFileSync(join(dir, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(dir, 'etc/group'), 'root:x:0:\n');
}

export interface RuncRunOptions {
  readonly bundle: string;
  readonly id: string;
  readonly args: readonly string[];
  readonly cgroupsPath: string;
  /** Give the container a pty (runc then needs a terminal of its own: the run goes under `script`). */
  readonly terminal: boolean;
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly pid: number | undefined;
}

/**
 * `runc run` of a busybox bundle in the foreground. The bundle dir gets
 * `rootfs/` and a `config.json` from `runc spec`, edited for the run.
 */
export function runcRun(o: RuncRunOptions): RunResult {
  const rootfs = join(o.bundle, 'rootfs');
  if (!existsSync(rootfs)) busyboxRootfs(rootfs);
  rmSync(join(o.bundle, 'config.json'), { force: true });
  const spec = spawnSync('runc', ['spec', '-b', o.bundle], { encoding: 'utf8' });
  if (spec.status !== 0) throw new Error(`runc spec failed: ${spec.stderr}`);
  const config = JSON.parse(readFileSync(join(o.bundle, 'config.json'), 'utf8')) as {
    process: { args: string[]; terminal: boolean; cwd: string };
    root: { path: string; readonly: boolean };
    hostname: string;
    linux: { cgroupsPath?: string };
  };
  config.process.args = [...o.args];
  config.process.terminal = o.terminal;
  config.root = { path: 'rootfs', readonly: false };
  config.hostname = 'saker-test';
  config.linux.cgroupsPath = o.cgroupsPath;
  writeFileSync(join(o.bundle, 'config.json'), JSON.stringify(config));
  const cmd = ['runc', 'run', '-b', o.bundle, o.id];
  const r = o.terminal
    ? spawnSync('script', ['-qec', cmd.join(' '), '/dev/null'], {
        encoding: 'utf8',
        timeout: o.timeoutMs ?? 20_000,
      })
    : spawnSync(cmd[0] ?? 'runc', cmd.slice(1), { encoding: 'utf8', timeout: o.timeoutMs ?? 20_000 });
  spawnSync('runc', ['delete', '-f', o.id]);
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
}

const sha256 = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

export interface BusyboxImageOptions {
  /** The image config's Entrypoint. Default none. */
  readonly entrypoint?: readonly string[];
  /** The image config's Cmd. Default `['sh']`. */
  readonly cmd?: readonly string[];
}

/** What {@link buildBusyboxImage} made: the tar to import and the digests it will be known by. */
export interface BusyboxImage {
  readonly tar: string;
  readonly name: string;
  /** `sha256:…` of the manifest: the image's repo digest. */
  readonly manifestDigest: string;
  /** `sha256:…` of the config: the image id. */
  readonly configDigest: string;
}

/**
 * Builds an OCI image-layout tar of one uncompressed layer (the busybox
 * rootfs), named `name` through the `io.containerd.image.name` annotation that
 * `ctr images import` reads. Returns the tar's path.
 */
export function buildBusyboxImage(dir: string, name: string, opts: BusyboxImageOptions = {}): string {
  return buildBusyboxImageInfo(dir, name, opts).tar;
}

/** {@link buildBusyboxImage}, with the digests. */
export function buildBusyboxImageInfo(
  dir: string,
  name: string,
  opts: BusyboxImageOptions = {},
): BusyboxImage {
  const layerDir = join(dir, 'layer');
  const img = join(dir, 'image');
  const blobs = join(img, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  if (!existsSync(layerDir)) busyboxRootfs(layerDir);
  const layerTar = join(dir, 'layer.tar');
  const tar = spawnSync('tar', ['-C', layerDir, '-cf', layerTar, '.'], { encoding: 'utf8' });
  if (tar.status !== 0) throw new Error(`tar of the layer failed: ${tar.stderr}`);
  const layer = readFileSync(layerTar);
  const blob = (data: Buffer | string): { digest: string; size: number } => {
    const digest = sha256(data);
    writeFileSync(join(blobs, digest), data);
    return { digest: `sha256:${digest}`, size: Buffer.byteLength(data) };
  };
  const l = blob(layer);
  const config = blob(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        ...(opts.entrypoint === undefined ? {} : { Entrypoint: opts.entrypoint }),
        Cmd: opts.cmd ?? ['sh'],
        Env: ['PATH=/bin'],
      },
      rootfs: { type: 'layers', diff_ids: [l.digest] },
    }),
  );
  const manifest = blob(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', ...l }],
    }),
  );
  const tag = name.slice(name.lastIndexOf(':') + 1);
  writeFileSync(
    join(img, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'io.containerd.image.name': name, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  writeFileSync(join(img, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  const out = join(dir, 'image.tar');
  const t2 = spawnSync('tar', ['-C', img, '-cf', out, '.'], { encoding: 'utf8' });
  if (t2.status !== 0) throw new Error(`tar of the image failed: ${t2.stderr}`);
  return { tar: out, name, manifestDigest: manifest.digest, configDigest: config.digest };
}

/** The pause image the CRI-enabled harness builds: busybox whose entrypoint sleeps until killed. */
export const PAUSE_IMAGE = 'saker.test/pause:3.9';

export interface ContainerdOptions {
  /** How long to wait for the socket. Default 15 s. */
  readonly timeoutMs?: number;
  /**
   * Serve the CRI on the socket: the pause image is built and imported into
   * `k8s.io`, the streaming server listens on a loopback ephemeral port, and
   * pods must use host networking (there is no CNI).
   */
  readonly cri?: boolean;
}

/** A private containerd: its own root, state, socket and config, all under `dir`. */
export class Containerd {
  readonly socket: string;
  private readonly child: ChildProcess;
  private log = '';

  private constructor(
    readonly dir: string,
    child: ChildProcess,
    readonly cri: boolean,
  ) {
    this.socket = join(dir, 'containerd.sock');
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.log = (this.log + d).slice(-16384);
    });
  }

  /** The last lines containerd wrote to stderr (for failure messages). */
  get logTail(): string {
    return this.log;
  }

  static async start(dir: string, opts: number | ContainerdOptions = {}): Promise<Containerd> {
    const o: ContainerdOptions = typeof opts === 'number' ? { timeoutMs: opts } : opts;
    const timeoutMs = o.timeoutMs ?? 15_000;
    const cri = o.cri === true;
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'containerd.sock');
    const config = join(dir, 'config.toml');
    const disabled = [
      ...(cri ? [] : ['io.containerd.grpc.v1.cri']),
      'io.containerd.snapshotter.v1.btrfs',
      'io.containerd.snapshotter.v1.zfs',
      'io.containerd.snapshotter.v1.devmapper',
      'io.containerd.snapshotter.v1.aufs',
      'io.containerd.internal.v1.tracing',
    ];
    const lines = [
      'version = 2',
      `root = "${join(dir, 'root')}"`,
      `state = "${join(dir, 'state')}"`,
      `disabled_plugins = [${disabled.map((p) => `"${p}"`).join(', ')}]`,
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[debug]',
      '  address = ""',
      '[metrics]',
      '  address = ""',
    ];
    if (cri) {
      mkdirSync(join(dir, 'cni/bin'), { recursive: true });
      mkdirSync(join(dir, 'cni/conf'), { recursive: true });
      lines.push(
        '[plugins."io.containerd.grpc.v1.cri"]',
        `  sandbox_image = "${PAUSE_IMAGE}"`,
        '  stream_server_address = "127.0.0.1"',
        '  stream_server_port = "0"',
        '  enable_selinux = false',
        '  disable_apparmor = true',
        '  restrict_oom_score_adj = true',
        '  max_container_log_line_size = 16384',
        '  [plugins."io.containerd.grpc.v1.cri".containerd]',
        '    snapshotter = "overlayfs"',
        '    default_runtime_name = "runc"',
        '    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]',
        '      runtime_type = "io.containerd.runc.v2"',
        '      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]',
        '        SystemdCgroup = false',
        '  [plugins."io.containerd.grpc.v1.cri".cni]',
        `    bin_dir = "${join(dir, 'cni/bin')}"`,
        `    conf_dir = "${join(dir, 'cni/conf')}"`,
        '  [plugins."io.containerd.grpc.v1.cri".registry]',
        `    config_path = "${join(dir, 'certs.d')}"`,
      );
    }
    writeFileSync(config, `${lines.join('\n')}\n`);
    const child = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const c = new Containerd(dir, child, cri);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(socket) || !statSync(socket).isSocket()) {
      if (child.exitCode !== null) throw new Error(`containerd exited with ${child.exitCode}: ${c.log}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`containerd did not create ${socket} within ${timeoutMs} ms: ${c.log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    if (cri) {
      try {
        const pause = buildBusyboxImageInfo(join(dir, 'pause-image'), PAUSE_IMAGE, {
          entrypoint: ['/bin/sleep', '2147483647'],
          cmd: [],
        });
        c.importImage(pause.tar, 'k8s.io');
      } catch (err) {
        await c.stop();
        throw err;
      }
    }
    return c;
  }

  ctr(args: readonly string[], timeoutMs = 30_000): RunResult {
    const r = spawnSync('ctr', ['-a', this.socket, ...args], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
  }

  /** `ctr -n <namespace> images import` (unpacked for overlayfs); throws with ctr's stderr on failure. */
  importImage(tar: string, namespace = 'default'): void {
    const r = this.ctr(['-n', namespace, 'images', 'import', '--snapshotter', 'overlayfs', tar], 60_000);
    if (r.status !== 0) throw new Error(`ctr images import ${tar} failed (${r.status}): ${r.stderr}`);
  }

  /**
   * Imports an image built by {@link buildBusyboxImageInfo} and names it by
   * its repo digest too (`repo@sha256:<manifest>`), as a pull from a registry
   * leaves it: the CRI then reports the repo digest.
   */
  importBusyboxImage(image: BusyboxImage, namespace = 'default'): void {
    this.importImage(image.tar, namespace);
    const at = image.name.lastIndexOf(':');
    const repo = at > image.name.lastIndexOf('/') ? image.name.slice(0, at) : image.name;
    const r = this.ctr(['-n', namespace, 'images', 'tag', image.name, `${repo}@${image.manifestDigest}`]);
    if (r.status !== 0) throw new Error(`ctr images tag ${image.name} failed (${r.status}): ${r.stderr}`);
  }

  /** Kills and removes every task and container in `namespace` (what a test left behind). */
  private sweep(namespace: string): void {
    const tasks = this.ctr(['-n', namespace, 'tasks', 'ls', '-q'], 10_000);
    for (const id of tasks.stdout.split('\n').filter((l) => l.trim() !== '')) {
      this.ctr(['-n', namespace, 'tasks', 'kill', '-s', 'SIGKILL', id], 10_000);
      this.ctr(['-n', namespace, 'tasks', 'rm', '-f', id], 10_000);
    }
    const containers = this.ctr(['-n', namespace, 'containers', 'ls', '-q'], 10_000);
    for (const id of containers.stdout.split('\n').filter((l) => l.trim() !== '')) {
      this.ctr(['-n', namespace, 'containers', 'rm', id], 10_000);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    // Shims outlive containerd: take down what is still running first.
    this.sweep('default');
    if (this.cri) this.sweep('k8s.io');
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    // Any shim of this containerd still alive (a task that would not die): by its -address argument.
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        if ((cmdline.split('\0')[0] ?? '').includes('containerd-shim') && cmdline.includes(this.socket)) {
          process.kill(Number(pid), 'SIGKILL');
        }
      } catch {
        // exited meanwhile
      }
    }
    // The snapshotter's and the sandboxes' mounts must go before the dir can be removed.
    spawnSync('sh', ['-c', `grep -o '${this.dir}[^ ]*' /proc/mounts | sort -r | xargs -r umount -l`]);
  }
}
