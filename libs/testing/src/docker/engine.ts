/**
 * A private Docker engine for tests: Debian's `dockerd` (package docker.io)
 * with its data root, exec root, pidfile, socket and config under a slot
 * folder of its own, its own bridge and address range, and nothing written
 * into the host's shared state that a second engine (another test run on the
 * same machine) could collide with:
 *
 *   slot k (0..31)  folder  $TMPDIR/saker-dockerd/slot-<k>/   (owner.json: the test process)
 *                   bridge  sakerd<k>, 10.230.<k>.1/24         (the default network)
 *                   pool    10.231.<8k>.0/21, /24 each          (user networks: compose, tests)
 *                   cgroup  /saker-dockerd-<k>                  (every container's parent)
 *
 * `--iptables=false`: dockerd's chains (DOCKER, DOCKER-USER, ...) have fixed
 * names in the host's tables, so two engines would share and remove each
 * other's; none are needed, since containers talk over their bridge and the
 * test reaches them at their addresses from the host (which sits on every
 * bridge). `--ip 127.0.0.1`: a published port binds loopback only.
 *
 * dockerd runs under `setpriv --pdeathsig KILL` (it dies with the test
 * process) and takes its containerd with it; what outlives a killed test
 * (shims, container processes, overlay and netns mounts, bridges, cgroups)
 * is swept by {@link DockerEngine.stop} and, after a SIGKILL, by the next
 * {@link startDockerEngine} on the machine, which sweeps every slot whose
 * owner is gone before it takes one.
 */
import { spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type RunResult, removeCgroup } from '../containers.js';
import { type Daemon, DaemonStartError, startDaemon } from '../daemon.js';
import { dockerReachable } from '../nats-server.js';

/** The Debian package of dockerd and the docker CLI used here. */
const DOCKER_PACKAGE = 'docker.io';
const DOCKERD = '/usr/sbin/dockerd';
/** docker.io's own CLI (a newer one elsewhere on PATH may want buildx). */
export const DOCKER_CLI = '/usr/bin/docker';
const SLOTS = 32;

/** Where the engines' slot folders live (a fixed place, so a later run finds what a killed one left). */
function dockerStateRoot(): string {
  return join(tmpdir(), 'saker-dockerd');
}

/** The names and ranges of slot `k`: pure, so they are testable and a sweep can derive them again. */
export function slotLayout(slot: number): {
  readonly dir: string;
  readonly bridge: string;
  readonly bridgeAddress: string;
  readonly bridgeCidr: string;
  readonly pool: string;
  readonly cgroupParent: string;
} {
  if (!Number.isInteger(slot) || slot < 0 || slot >= SLOTS) {
    throw new RangeError(`docker engine slot ${slot} is not an integer in 0..${SLOTS - 1}`);
  }
  return {
    dir: join(dockerStateRoot(), `slot-${slot}`),
    bridge: `sakerd${slot}`,
    bridgeAddress: `10.230.${slot}.1`,
    bridgeCidr: `10.230.${slot}.1/24`,
    pool: `10.231.${slot * 8}.0/21`,
    cgroupParent: `/saker-dockerd-${slot}`,
  };
}

export interface DockerEngineOptions {
  /** How long to wait for the API to answer. Default 60 s. */
  readonly timeoutMs?: number;
}

/** A running private dockerd. */
export interface DockerEngine extends AsyncDisposable {
  readonly slot: number;
  readonly dir: string;
  /** `unix://…/docker.sock`: the DOCKER_HOST for clients. */
  readonly host: string;
  readonly socket: string;
  /** The default bridge network's interface and its gateway address (the host's side). */
  readonly bridge: string;
  readonly bridgeAddress: string;
  /** The address range user networks are cut from. */
  readonly pool: string;
  /** The environment a docker client needs for this engine (DOCKER_HOST, DOCKER_CONFIG). */
  readonly env: NodeJS.ProcessEnv;
  /** dockerd's output so far (the tail). */
  output(): string;
  /** Runs docker.io's CLI against this engine. */
  docker(args: readonly string[], timeoutMs?: number): RunResult;
  /** `docker load -i tar`; returns the image names it loaded. Throws with the CLI's stderr. */
  load(tar: string): string[];
  /** Removes every container, stops dockerd and sweeps the slot (mounts, bridges, cgroups, folder). Idempotent. */
  stop(): Promise<void>;
}

interface Owner {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid apart. */
  readonly start: string;
}

function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

function ownerAlive(owner: Owner): boolean {
  return processStart(owner.pid) === owner.start;
}

function readOwner(dir: string): Owner | undefined {
  try {
    const v = JSON.parse(readFileSync(join(dir, 'owner.json'), 'utf8')) as Partial<Owner>;
    return typeof v.pid === 'number' && typeof v.start === 'string'
      ? { pid: v.pid, start: v.start }
      : undefined;
  } catch {
    return undefined;
  }
}

function run(cmd: string, args: readonly string[], timeoutMs = 30_000, env?: NodeJS.ProcessEnv): RunResult {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, env, maxBuffer: 64 << 20 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? r.error?.message ?? '', pid: r.pid };
}

/** Every pid in the cgroup `path` and below, in any mounted hierarchy. */
function cgroupPids(path: string): number[] {
  const root = '/sys/fs/cgroup';
  const roots = existsSync(join(root, 'cgroup.controllers'))
    ? [root]
    : readdirSync(root).map((d) => join(root, d));
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    for (const e of entries) {
      if (e === 'cgroup.procs') {
        for (const l of readFileSync(join(dir, e), 'utf8').split('\n')) if (l !== '') pids.add(Number(l));
      } else {
        try {
          if (statSync(join(dir, e)).isDirectory()) walk(join(dir, e));
        } catch {
          // gone meanwhile
        }
      }
    }
  };
  for (const r of roots) walk(join(r, path));
  return [...pids];
}

/** Pids whose command line names `needle` (containerd, its shims, a dockerd of the slot). */
function pidsNaming(needle: string): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(needle)) out.push(Number(p));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function killAll(pids: readonly number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Bridges holding an IPv4 address inside 10.231.<8k>.0/21 (user networks of slot k). */
function poolBridges(slot: number): string[] {
  const r = run('ip', ['-j', '-4', 'addr', 'show', 'type', 'bridge']);
  if (r.status !== 0) return [];
  const links = JSON.parse(r.stdout || '[]') as { ifname: string; addr_info?: { local?: string }[] }[];
  const lo = slot * 8;
  return links
    .filter((l) =>
      (l.addr_info ?? []).some((a) => {
        const m = /^10\.231\.(\d+)\./.exec(a.local ?? '');
        return m !== null && Number(m[1]) >= lo && Number(m[1]) < lo + 8;
      }),
    )
    .map((l) => l.ifname);
}

/**
 * Removes everything slot `k` can leave behind, whether its engine stopped or
 * its test was killed: the processes that name its folder (dockerd,
 * containerd, shims), every process in its containers' cgroup, the mounts
 * under its folder, its bridges, its cgroups and the folder. Returns what it
 * found, for the caller's log and for tests.
 */
function sweepDockerSlot(slot: number): { processes: number; mounts: number; bridges: string[] } {
  const l = slotLayout(slot);
  // Twice: a shim killed first can leave its container to be reparented, not killed.
  const procs = new Set<number>();
  for (let i = 0; i < 2; i++) {
    const found = [...pidsNaming(l.dir), ...cgroupPids(l.cgroupParent)];
    for (const p of found) procs.add(p);
    killAll(found);
  }
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => (line.split(' ')[1] ?? '').replace(/\\040/g, ' '))
    .filter((m) => m === l.dir || m.startsWith(`${l.dir}/`))
    .sort()
    .reverse();
  for (const m of mounts) run('umount', ['-l', m]);
  const bridges = [l.bridge, ...poolBridges(slot)].filter((b) => run('ip', ['link', 'show', b]).status === 0);
  for (const b of bridges) run('ip', ['link', 'delete', b]);
  removeCgroup(l.cgroupParent);
  rmSync(l.dir, { recursive: true, force: true });
  return { processes: procs.size, mounts: mounts.length, bridges };
}

/** Sweeps every slot whose owner is gone (a test killed before it could stop its engine). */
export function sweepStaleDockerSlots(): number[] {
  const swept: number[] = [];
  for (let k = 0; k < SLOTS; k++) {
    const { dir, bridge } = slotLayout(k);
    const exists = existsSync(dir);
    const owner = exists ? readOwner(dir) : undefined;
    if (owner !== undefined && ownerAlive(owner)) continue;
    // A folder with no owner yet may be one being claimed this instant: debris only once it is old.
    if (exists && owner === undefined && Date.now() - statSync(dir).mtimeMs < 60_000) continue;
    // A slot folder without a live owner, or a bridge without a folder, is debris.
    if (exists || run('ip', ['link', 'show', bridge]).status === 0) {
      sweepDockerSlot(k);
      swept.push(k);
    }
  }
  return swept;
}

/** Whether a route of the host overlaps 10.230.<k>.0/24 or slot k's pool (someone else's network). */
function slotRoutesFree(slot: number): boolean {
  const routes = run('ip', ['-4', 'route', 'show']).stdout;
  const lo = slot * 8;
  for (const line of routes.split('\n')) {
    const m = /^10\.(230|231)\.(\d+)\./.exec(line);
    if (m === null) continue;
    const third = Number(m[2]);
    if (m[1] === '230' && third === slot) return false;
    if (m[1] === '231' && third >= lo && third < lo + 8) return false;
  }
  return true;
}

/** Takes a free slot: its folder made exclusively, this process written as the owner. */
function claimSlot(): number {
  mkdirSync(dockerStateRoot(), { recursive: true, mode: 0o700 });
  const me: Owner = { pid: process.pid, start: processStart(process.pid) ?? '' };
  for (let k = 0; k < SLOTS; k++) {
    const { dir } = slotLayout(k);
    if (!slotRoutesFree(k)) continue;
    try {
      mkdirSync(dir);
    } catch {
      continue; // taken (a live owner: stale ones were swept before)
    }
    const fd = openSync(join(dir, 'owner.json'), 'wx', 0o600);
    writeFileSync(fd, JSON.stringify(me));
    closeSync(fd);
    return k;
  }
  throw new DaemonStartError(
    `no free docker engine slot under ${dockerStateRoot()} (all ${SLOTS} taken)`,
    {},
  );
}

function makeBridge(l: ReturnType<typeof slotLayout>): void {
  for (const args of [
    ['link', 'add', l.bridge, 'type', 'bridge'],
    ['addr', 'add', l.bridgeCidr, 'dev', l.bridge],
    ['link', 'set', l.bridge, 'up'],
  ]) {
    const r = run('ip', args);
    if (r.status !== 0) throw new DaemonStartError(`ip ${args.join(' ')} failed: ${r.stderr.trim()}`, {});
  }
}

/** Starts a private dockerd in a free slot and resolves once its API answers `/_ping`. */
export async function startDockerEngine(options: DockerEngineOptions = {}): Promise<DockerEngine> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!existsSync(DOCKERD) || !existsSync(DOCKER_CLI)) {
    throw new DaemonStartError(
      `cannot run dockerd: ${DOCKERD} or ${DOCKER_CLI} is missing; install the Debian package "${DOCKER_PACKAGE}" (scripts/setup.sh does)`,
      {},
    );
  }
  sweepStaleDockerSlots();
  const slot = claimSlot();
  const l = slotLayout(slot);
  let daemon: Daemon | undefined;
  try {
    makeBridge(l);
    const socket = join(l.dir, 'docker.sock');
    // An empty config file: /etc/docker/daemon.json (the machine's settings) must not apply.
    writeFileSync(join(l.dir, 'daemon.json'), '{}\n');
    mkdirSync(join(l.dir, 'client'), { recursive: true });
    daemon = startDaemon({
      what: `dockerd (slot ${slot})`,
      debianPackage: DOCKER_PACKAGE,
      binary: DOCKERD,
      args: [
        '--config-file',
        join(l.dir, 'daemon.json'),
        '--data-root',
        join(l.dir, 'data'),
        '--exec-root',
        join(l.dir, 'exec'),
        '--pidfile',
        join(l.dir, 'dockerd.pid'),
        '--host',
        `unix://${socket}`,
        '--bridge',
        l.bridge,
        '--default-address-pool',
        `base=${l.pool},size=24`,
        '--iptables=false',
        '--ip-masq=false',
        '--ip-forward=false',
        '--ip',
        '127.0.0.1',
        '--cgroup-parent',
        l.cgroupParent,
        '--exec-opt',
        'native.cgroupdriver=cgroupfs',
        '--storage-driver',
        'overlay2',
        '--shutdown-timeout',
        '2',
        '--log-level',
        'warn',
      ],
    });
    const host = `unix://${socket}`;
    await daemon.waitReady(() => dockerReachable({ dockerHost: host, timeoutMs: 1000 }), timeoutMs);
    return engineHandle(slot, l, socket, daemon);
  } catch (err) {
    await daemon?.stop();
    sweepDockerSlot(slot);
    throw err;
  }
}

function engineHandle(
  slot: number,
  l: ReturnType<typeof slotLayout>,
  socket: string,
  daemon: Daemon,
): DockerEngine {
  const host = `unix://${socket}`;
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: host, DOCKER_CONFIG: join(l.dir, 'client') };
  const docker = (args: readonly string[], timeoutMs = 120_000): RunResult =>
    run(DOCKER_CLI, args, timeoutMs, env);
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      if (!daemon.exited()) {
        const ids = docker(['ps', '-aq'], 30_000)
          .stdout.split('\n')
          .filter((s) => s !== '');
        if (ids.length > 0) docker(['rm', '-f', '-v', ...ids], 60_000);
      }
      await daemon.stop();
      sweepDockerSlot(slot);
    })();
    return stopping;
  };
  return {
    slot,
    dir: l.dir,
    host,
    socket,
    bridge: l.bridge,
    bridgeAddress: l.bridgeAddress,
    pool: l.pool,
    env,
    output: () => daemon.output(),
    docker,
    load: (tar) => {
      const r = docker(['load', '-i', tar], 300_000);
      if (r.status !== 0) throw new Error(`docker load -i ${tar} failed (${r.status}): ${r.stderr.trim()}`);
      return [...r.stdout.matchAll(/^Loaded image(?: ID)?: (\S+)$/gm)].map((m) => m[1] ?? '');
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
