/**
 * Saker's own images as testcontainers on a {@link DockerEngine}: the images
 * scripts/images.sh builds (docker-archive tars, no registry) are loaded with
 * `docker load`, so nothing is ever pulled; readiness is a wait strategy on
 * what the container prints (a service's `running:` line, nats-server's
 * "Server is ready"), never a sleep.
 *
 * testcontainers reads DOCKER_HOST once, when its client is first made:
 * {@link useDockerEngine} must come before the first container, and one test
 * process talks to one engine. Its reaper (Ryuk, an image that would have to
 * be pulled) is off; the engine's stop() removes what a test left.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  GenericContainer,
  Network,
  type StartedNetwork,
  type StartedTestContainer,
  Wait,
} from 'testcontainers';
import { DaemonStartError } from '../daemon.js';
import { repoRoot } from '../shared.js';
import type { DockerEngine } from './engine.js';

/** Points testcontainers at `engine` (DOCKER_HOST, no reaper). Call before starting any container. */
export function useDockerEngine(engine: DockerEngine): void {
  process.env.DOCKER_HOST = engine.host;
  process.env.DOCKER_CONFIG = engine.env.DOCKER_CONFIG;
  process.env.TESTCONTAINERS_RYUK_DISABLED = 'true';
}

/** Saker's version: services/cli/package.json's, the images' tag. */
export function sakerVersion(): string {
  const pkg = JSON.parse(readFileSync(join(repoRoot(), 'services/cli/package.json'), 'utf8')) as {
    version?: unknown;
  };
  if (typeof pkg.version !== 'string') throw new Error('services/cli/package.json has no version');
  return pkg.version;
}

export interface SakerImages {
  /** `saker:<version>` */
  readonly saker: string;
  /** `saker-nats:<version>` */
  readonly nats: string;
  readonly tars: readonly string[];
}

/**
 * Builds the images with scripts/images.sh and loads both into `engine`.
 * `build: false`: the tars build/images already holds are used when both are
 * there (a test that needs an image, not this checkout's latest one).
 */
export function loadSakerImages(engine: DockerEngine, opts: { build?: boolean } = {}): SakerImages {
  const version = sakerVersion();
  const dir = join(repoRoot(), 'build/images');
  const tars = [join(dir, `saker-${version}.tar`), join(dir, `saker-nats-${version}.tar`)];
  if (opts.build !== false || !tars.every((t) => existsSync(t))) {
    execFileSync('bash', [join(repoRoot(), 'scripts/images.sh')], { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const loaded = tars.flatMap((t) => engine.load(t));
  const images = { saker: `saker:${version}`, nats: `saker-nats:${version}`, tars };
  for (const want of [images.saker, images.nats]) {
    if (!loaded.includes(want)) throw new Error(`docker load gave ${loaded.join(', ')}, not ${want}`);
  }
  return images;
}

/** A user network (DNS by container alias); cut from the engine's pool. */
export function startNetwork(): Promise<StartedNetwork> {
  return new Network().start();
}

/** The container's address on `network`, asked of the engine (it can change across a restart). */
export function containerAddress(engine: DockerEngine, id: string, network: string): string {
  const r = engine.docker([
    'inspect',
    '--format',
    `{{with index .NetworkSettings.Networks ${JSON.stringify(network)}}}{{.IPAddress}}{{end}}`,
    id,
  ]);
  const ip = r.stdout.trim();
  if (r.status !== 0 || ip === '') throw new Error(`no address of ${id} on ${network}: ${r.stderr.trim()}`);
  return ip;
}

/** `docker logs` of a container (stdout and stderr), for failure messages and log waits. */
export function containerLogs(engine: DockerEngine, id: string): string {
  const r = engine.docker(['logs', id]);
  return `${r.stdout}${r.stderr}`;
}

export interface SakerServiceOptions {
  /** The engine testcontainers talks to (for the container's output when it fails). */
  readonly engine: DockerEngine;
  readonly image: string;
  readonly network: StartedNetwork;
  /** The DNS name on the network, and the container's name suffix. */
  readonly alias: string;
  /** `saker <service>`: engine, control, audit, sinks, sensor, enrich, run, ctl. */
  readonly service: string;
  readonly args?: readonly string[];
  /** Host folder mounted read-only at /etc/saker (its saker.yaml is passed with --config). */
  readonly configDir: string;
  /** More bind mounts: host → container path. */
  readonly mounts?: readonly {
    readonly source: string;
    readonly target: string;
    readonly readOnly?: boolean;
  }[];
  readonly env?: Readonly<Record<string, string>>;
  /** What the container prints once ready. Default the runtime's `running: ` line. */
  readonly ready?: RegExp;
  /** Default 90 s. */
  readonly startupTimeoutMs?: number;
}

/**
 * One `saker <service> --config /etc/saker/saker.yaml` container from Saker's
 * image. When it is not ready (it exited, or no ready line in time) the error
 * carries what it printed.
 */
export async function startSakerService(o: SakerServiceOptions): Promise<StartedTestContainer> {
  const name = `saker-${o.alias}-${process.pid}`;
  try {
    return await sakerServiceContainer(o, name).start();
  } catch (err) {
    const logs = o.engine.docker(['logs', '--tail', '60', name]);
    const output = `${logs.stdout}${logs.stderr}`;
    throw new DaemonStartError(
      `saker ${o.service} (container ${name}) was not ready: ${err instanceof Error ? err.message : String(err)}\n${output}`,
      { output },
      { cause: err },
    );
  }
}

function sakerServiceContainer(o: SakerServiceOptions, name: string): GenericContainer {
  return new GenericContainer(o.image)
    .withName(name)
    .withNetwork(o.network)
    .withNetworkAliases(o.alias)
    .withCommand([o.service, '--config', '/etc/saker/saker.yaml', ...(o.args ?? [])])
    .withBindMounts([
      { source: o.configDir, target: '/etc/saker', mode: 'ro' },
      ...(o.mounts ?? []).map((m) => ({
        source: m.source,
        target: m.target,
        mode: m.readOnly === false ? ('rw' as const) : ('ro' as const),
      })),
    ])
    .withEnvironment({ ...(o.env ?? {}) })
    .withWaitStrategy(Wait.forLogMessage(o.ready ?? /running: /))
    .withStartupTimeout(o.startupTimeoutMs ?? 90_000);
}

export interface NatsContainersOptions {
  readonly image: string;
  readonly network: StartedNetwork;
  /** Servers; 3 makes a JetStream cluster (R3 streams). Default 3. */
  readonly size?: number;
  /** Aliases are `<prefix>-1` … Default `nats`. */
  readonly prefix?: string;
}

/**
 * A NATS JetStream cluster as containers of Saker's NATS image: each server
 * named and aliased `nats-<i>`, routed to the others on 6222, monitoring on
 * 8222, its store in the container (kept across a kill and `docker start`).
 * Resolves once each printed "Server is ready".
 */
export async function startNatsContainers(o: NatsContainersOptions): Promise<StartedTestContainer[]> {
  const size = o.size ?? 3;
  const prefix = o.prefix ?? 'nats';
  const names = Array.from({ length: size }, (_, i) => `${prefix}-${i + 1}`);
  const routes = names.map((n) => `nats://${n}:6222`).join(',');
  return Promise.all(
    names.map((name) =>
      new GenericContainer(o.image)
        .withName(`saker-${name}-${process.pid}`)
        .withNetwork(o.network)
        .withNetworkAliases(name)
        .withCommand([
          '--server_name',
          name,
          '--jetstream',
          '--store_dir',
          '/data',
          '--http_port',
          '8222',
          ...(size > 1
            ? ['--cluster_name', 'saker', '--cluster', 'nats://0.0.0.0:6222', '--routes', routes]
            : []),
        ])
        .withWaitStrategy(Wait.forLogMessage(/Server is ready/))
        .withStartupTimeout(60_000)
        .start(),
    ),
  );
}
