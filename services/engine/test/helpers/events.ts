/**
 * Recorded-looking syscall events for the engine tests and the pipeline
 * benchmark: a fixed mix from a seeded generator, so every run sees the same
 * stream. About 1 % of the events do what rules/saker_rules.yaml alerts on
 * (credential reads, writes below /etc, shells with a terminal in a container,
 * setuid bits); the rest is the everyday traffic of a Kubernetes node (library
 * and config reads, app writes, connects, short-lived children). Which events
 * alert is not hard-coded: tests evaluate the same events with the same
 * Ruleset in-process to know what to expect.
 */
import type { ContainerInfo, PodInfo, SyscallEvent, UserInfo } from '@saker/events';
import { seededRandom } from '@saker/testing';

interface Actor {
  readonly name: string;
  readonly exepath: string;
  readonly args: readonly string[];
  readonly parents: readonly string[];
  readonly user: UserInfo;
  readonly container: ContainerInfo;
  readonly k8s?: PodInfo;
  readonly tty: number;
}

const APP: UserInfo = { uid: 1000, name: 'app', homedir: '/home/app', shell: '/bin/sh', loginuid: -1 };
const ROOT: UserInfo = { uid: 0, name: 'root', homedir: '/root', shell: '/bin/bash', loginuid: -1 };

function containerOf(id: string, repo: string, tag: string): ContainerInfo {
  return {
    id,
    full_id: `${id}${'0'.repeat(52)}`,
    name: `k8s_${repo.split('/').pop() ?? 'app'}`,
    type: 'containerd',
    image: `${repo}:${tag}`,
    image_repository: repo,
    image_tag: tag,
    privileged: false,
  };
}

const HOST: ContainerInfo = { id: 'host' };
const API = containerOf('a1b2c3d4e5f6', 'registry.example.com/shop/orders-api', '2.8.1');
const WEB = containerOf('0f9e8d7c6b5a', 'docker.io/library/nginx', '1.25.4');
const WORKER = containerOf('5e4d3c2b1a09', 'registry.example.com/shop/worker', '1.4.0');
const POD: PodInfo = {
  pod_name: 'orders-api-7c9f8d-x2x4q',
  ns_name: 'shop',
  pod_uid: 'c0ffee00-1111-2222-3333-444455556666',
};

const ACTORS: readonly Actor[] = [
  {
    name: 'node',
    exepath: '/usr/local/bin/node',
    args: ['dist/server.js'],
    parents: ['tini', 'containerd-shim'],
    user: APP,
    container: API,
    k8s: POD,
    tty: 0,
  },
  {
    name: 'nginx',
    exepath: '/usr/sbin/nginx',
    args: ['-g', 'daemon off;'],
    parents: ['nginx', 'containerd-shim'],
    user: { uid: 101, name: 'nginx', loginuid: -1 },
    container: WEB,
    tty: 0,
  },
  {
    name: 'python3',
    exepath: '/usr/bin/python3',
    args: ['-m', 'worker'],
    parents: ['containerd-shim'],
    user: APP,
    container: WORKER,
    tty: 0,
  },
  {
    name: 'kubelet',
    exepath: '/usr/bin/kubelet',
    args: ['--config=/var/lib/kubelet/config.yaml'],
    parents: ['systemd'],
    user: ROOT,
    container: HOST,
    tty: 0,
  },
  {
    name: 'containerd',
    exepath: '/usr/bin/containerd',
    args: [],
    parents: ['systemd'],
    user: ROOT,
    container: HOST,
    tty: 0,
  },
];

const READS = [
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/usr/lib/x86_64-linux-gnu/libssl.so.3',
  '/etc/ld.so.cache',
  '/etc/hosts',
  '/etc/resolv.conf',
  '/etc/passwd',
  '/proc/self/status',
  '/sys/fs/cgroup/cpu.max',
  '/app/dist/server.js',
  '/app/config/production.json',
  '/usr/share/nginx/html/index.html',
];
const WRITES = [
  '/tmp/upload-1.part',
  '/app/logs/access.log',
  '/home/app/.cache/orders/1.json',
  '/var/cache/nginx/client_temp/01',
];
const CHILDREN = [
  { name: 'sh', exepath: '/bin/sh', args: ['-c', 'date +%s'] },
  { name: 'git', exepath: '/usr/bin/git', args: ['rev-parse', 'HEAD'] },
  { name: 'ls', exepath: '/usr/bin/ls', args: ['-la'] },
];

const READ = 'O_RDONLY|O_CLOEXEC';
const WRITE = 'O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC';

export interface GenerateOptions {
  /** Node name in `hostname`. Default node-1. */
  readonly hostname?: string;
  /** Seed of the generator. Default 1. */
  readonly seed?: number;
  /** First `num` (sequence number); events count up from it. Default 1. */
  readonly firstNum?: number;
  /** Share of suspicious events, 0..1. Default 0.01. */
  readonly suspicious?: number;
}

/** `count` syscall events, the same for the same options. Every event has its own `num` and `ts`. */
export function generateEvents(count: number, options: GenerateOptions = {}): SyscallEvent[] {
  const next = seededRandom(options.seed ?? 1);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const hostname = options.hostname ?? 'node-1';
  const suspicious = options.suspicious ?? 0.01;
  const firstNum = options.firstNum ?? 1;
  const baseTs = 1_717_171_717_000_000_000n + BigInt(firstNum) * 1000n;
  const out: SyscallEvent[] = [];
  for (let i = 0; i < count; i++) {
    const num = firstNum + i;
    const ts = (baseTs + BigInt(i) * 1000n).toString();
    const r = next();
    let actor = pick(ACTORS);
    let type: string;
    let args: Record<string, string | number>;
    let fdName: string | undefined;
    let res = 3;
    if (next() < suspicious) {
      const s = pick(['shadow', 'etc', 'shell', 'setuid'] as const);
      if (s === 'shadow') {
        actor = { ...actor, name: 'cat', exepath: '/usr/bin/cat', args: ['/etc/shadow'] };
        type = 'openat';
        fdName = '/etc/shadow';
        args = { fd: 3, dirfd: -100, name: fdName, flags: READ, mode: 0 };
      } else if (s === 'etc') {
        type = 'openat';
        fdName = '/etc/cron.d/backdoor';
        actor = { ...actor, name: 'python3', exepath: '/usr/bin/python3', args: ['-c', 'x'] };
        args = { fd: 3, dirfd: -100, name: fdName, flags: WRITE, mode: 0o644 };
      } else if (s === 'shell') {
        actor = {
          ...ACTORS[0],
          name: 'bash',
          exepath: '/bin/bash',
          args: [],
          parents: ['runc', 'containerd-shim'],
          tty: 34816,
        } as Actor;
        type = 'execve';
        res = 0;
        args = { res: 0, exe: '/bin/bash', args: '' };
      } else {
        type = 'fchmodat';
        res = 0;
        args = {
          res: 0,
          dirfd: -100,
          filename: '/usr/local/bin/helper',
          mode: 'S_IXOTH|S_IROTH|S_IXGRP|S_IRGRP|S_IRWXU|S_ISUID',
        };
      }
    } else if (r < 0.55) {
      type = 'openat';
      fdName = pick(READS);
      args = { fd: 3, dirfd: -100, name: fdName, flags: READ, mode: 0 };
    } else if (r < 0.7) {
      type = 'openat';
      fdName = pick(WRITES);
      args = { fd: 3, dirfd: -100, name: fdName, flags: WRITE, mode: 0o644 };
    } else if (r < 0.78) {
      const c = pick(CHILDREN);
      actor = { ...actor, ...c, parents: [actor.name, ...actor.parents] };
      type = 'execve';
      res = 0;
      args = { res: 0, exe: c.exepath, args: c.args.join(' ') };
    } else if (r < 0.93) {
      type = 'connect';
      res = 0;
      fdName = `10.244.1.7:${40000 + Math.floor(next() * 20000)}->10.96.33.5:5432`;
      args = { res: 0, fd: 5, addr: '10.96.33.5:5432' };
    } else {
      type = 'unlinkat';
      res = 0;
      args = { res: 0, dirfd: -100, name: pick(WRITES), flags: 0 };
    }
    const pid = 4000 + Math.floor(next() * 2000);
    const event: SyscallEvent = {
      source: 'syscall',
      ts,
      num,
      cpu: num % 4,
      hostname,
      type,
      dir: '<',
      res,
      args,
      proc: {
        pid,
        tid: pid,
        ppid: pid - 1,
        name: actor.name,
        exe: actor.exepath,
        exepath: actor.exepath,
        args: actor.args,
        cwd: '/app',
        tty: actor.tty,
        start_ts: '1717171000000000000',
      },
      ancestors: actor.parents.map((name, j) => ({ pid: 100 + j, name, exepath: `/usr/bin/${name}` })),
      user: actor.user,
      group: { gid: actor.user.uid, name: actor.user.name ?? 'root' },
      container: actor.container,
      ...(actor.k8s === undefined ? {} : { k8s: actor.k8s }),
      ...(fdName === undefined
        ? {}
        : type === 'connect'
          ? {
              fd: {
                num: 5,
                type: 'ipv4' as const,
                name: fdName,
                net: {
                  l4proto: 'tcp' as const,
                  family: 'ipv4' as const,
                  sip: '10.244.1.7',
                  sport: 40001,
                  dip: '10.96.33.5',
                  dport: 5432,
                },
              },
            }
          : { fd: { num: 3, type: 'file' as const, name: fdName } }),
    };
    out.push(event);
  }
  return out;
}
