/**
 * Real containers for the sensor's integration tests: a busybox-static rootfs
 * run by runc with a kubepods cgroup path, and a private containerd (own root,
 * state and socket in a temp dir) with an OCI image built here from the same
 * rootfs, run by `ctr` on the overlayfs snapshotter.
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
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';

/** A 64-hex container id, as container runtimes make them. */
export function newContainerId(): string {
  return randomBytes(32).toString('hex');
}

/** A kubepods cgroupfs path (`/kubepods/besteffort/pod<uid>/<id>`), the layout kubelet's cgroupfs driver makes. */
export function kubepodsCgroup(id: string, podUid: string = randomUUID()): string {
  return `/kubepods/besteffort/pod${podUid}/${id}`;
}

/** Writes a minimal rootfs: /bin/busybox and a symlink per applet, plus the usual mount points. */
export function busyboxRootfs(dir: string): void {
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

/**
 * Builds an OCI image-layout tar of one uncompressed layer (the busybox
 * rootfs), named `name` through the `io.containerd.image.name` annotation that
 * `ctr images import` reads.
 */
export function buildBusyboxImage(dir: string, name: string): string {
  const layerDir = join(dir, 'layer');
  const img = join(dir, 'image');
  const blobs = join(img, 'blobs/sha256');
  mkdirSync(blobs, { recursive: true });
  busyboxRootfs(layerDir);
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
      config: { Cmd: ['sh'], Env: ['PATH=/bin'] },
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
  return out;
}

/** A private containerd: its own root, state, socket and config, all under `dir`. */
export class Containerd {
  readonly socket: string;
  private readonly child: ChildProcess;
  private log = '';

  private constructor(
    readonly dir: string,
    child: ChildProcess,
  ) {
    this.socket = join(dir, 'containerd.sock');
    this.child = child;
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.log = (this.log + d).slice(-16384);
    });
  }

  static async start(dir: string, timeoutMs = 15_000): Promise<Containerd> {
    mkdirSync(dir, { recursive: true });
    const socket = join(dir, 'containerd.sock');
    const config = join(dir, 'config.toml');
    // Only what the test needs: the CRI plugin and the other snapshotters stay off.
    writeFileSync(
      config,
      [
        'version = 2',
        `root = "${join(dir, 'root')}"`,
        `state = "${join(dir, 'state')}"`,
        'disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.internal.v1.tracing"]',
        '[grpc]',
        `  address = "${socket}"`,
        '[ttrpc]',
        `  address = "${socket}.ttrpc"`,
        '[debug]',
        '  address = ""',
        '[metrics]',
        '  address = ""',
        '',
      ].join('\n'),
    );
    const child = spawn('containerd', ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    const c = new Containerd(dir, child);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(socket) || !statSync(socket).isSocket()) {
      if (child.exitCode !== null) throw new Error(`containerd exited with ${child.exitCode}: ${c.log}`);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`containerd did not create ${socket} within ${timeoutMs} ms: ${c.log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return c;
  }

  ctr(args: readonly string[], timeoutMs = 30_000): RunResult {
    const r = spawnSync('ctr', ['-a', this.socket, ...args], { encoding: 'utf8', timeout: timeoutMs });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr, pid: r.pid };
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
    // The snapshotter's mounts must go before the dir can be removed.
    spawnSync('sh', ['-c', `grep -o '${this.dir}[^ ]*' /proc/mounts | sort -r | xargs -r umount -l`]);
  }
}
