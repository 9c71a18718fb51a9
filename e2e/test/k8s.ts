/**
 * The real single-node cluster of the cluster tests (scripts/k8s/up.sh),
 * brought up once per test file and shared by its describe blocks: commands
 * run against it, timings printed, and a teardown that always runs (test end,
 * SIGINT/SIGTERM, process exit).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestPki, makeTestPki, repoRoot } from '@saker/testing';
import { toolBin } from './helm.js';

export const REPO = repoRoot();
export const STATE = process.env.SAKER_K8S ?? '/var/lib/saker-k8s';
export const VERSION = (
  JSON.parse(readFileSync(join(REPO, 'services/cli/package.json'), 'utf8')) as { version: string }
).version;
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
export const PKI_DIR = join(STATE, 'pki');

const t0 = Date.now();
const timings: string[] = [];
/** Records and prints how long `what` took since `since`. */
export function mark(what: string, since: number): void {
  const line = `${what}: ${((Date.now() - since) / 1000).toFixed(1)} s`;
  timings.push(line);
  process.stderr.write(`k8s-cluster: ${line}\n`);
}

interface Run {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
}

export function sh(cmd: string, args: readonly string[], opts: RunOptions = {}): Run {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    input: opts.input,
    maxBuffer: 64 * 1024 * 1024,
    // Nothing here may block the test for ever: signals wait for a synchronous child.
    timeout: 15 * 60_000,
    killSignal: 'SIGKILL',
  });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

export function must(cmd: string, args: readonly string[], opts: RunOptions = {}): string {
  const r = sh(cmd, args, opts);
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stderr}${r.stdout}`);
  return r.stdout;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `everyMs` until it gives a value; throws naming `what` on timeout. */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | Promise<T | undefined>,
  everyMs = 1000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export const kubeEnv = (): NodeJS.ProcessEnv => ({ KUBECONFIG: join(PKI_DIR, 'admin.kubeconfig') });

let kubectlPath = '';
let helmPath = '';
export const kubectlBin = (): string => {
  kubectlPath ||= join(toolBin('kubernetes'), 'kubectl');
  return kubectlPath;
};
export const kubectl = (...args: string[]): string => must(kubectlBin(), args, { env: kubeEnv() });
/** kubectl with `input` on stdin (apply -f -). */
export const kubectlIn = (input: string, ...args: string[]): string =>
  must(kubectlBin(), args, { env: kubeEnv(), input });

/** `kubectl apply` of YAML objects. */
export const apply = (yaml: string): string => kubectlIn(yaml, 'apply', '-f', '-');

let scratch = '';
/** A scratch folder of this run (made on first use), removed at teardown. */
export function work(): string {
  scratch ||= mkdtempSync(join(tmpdir(), 'saker-k8s-e2e-'));
  return scratch;
}

export const helmCmd = (...args: string[]): string => {
  helmPath ||= join(toolBin('helm'), 'helm');
  return must(helmPath, args, {
    env: { ...kubeEnv(), HELM_CACHE_HOME: work(), HELM_CONFIG_HOME: work(), HELM_DATA_HOME: work() },
  });
};

function down(): void {
  spawnSync('bash', [join(REPO, 'scripts/k8s/down.sh'), '--wipe'], { stdio: 'inherit' });
}

const cleanups: (() => void)[] = [];
/** Runs at teardown, before the cluster goes down (last registered first). */
export function onTeardown(fn: () => void): void {
  cleanups.unshift(fn);
}

let tornDown = false;
let up: Promise<void> | undefined;

/** Stops what the tests started, brings the cluster down, removes the scratch folder. Idempotent. */
export function teardown(): void {
  if (tornDown) return;
  tornDown = true;
  process.stderr.write(
    `k8s-cluster timings (total ${((Date.now() - t0) / 1000).toFixed(0)} s):\n  ${timings.join('\n  ')}\n`,
  );
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // the cluster goes down next anyway
    }
  }
  if (up !== undefined) down();
  if (scratch !== '') rmSync(scratch, { recursive: true, force: true });
}

/** A busybox image with every applet linked, for shells, receivers and workloads. */
function busyboxImage(): string {
  const tar = join(STATE, 'images/busybox-e2e.tar');
  if (existsSync(tar)) return tar;
  const applets = must('/bin/busybox', ['--list'])
    .split('\n')
    .filter((a) => /^[a-z0-9_.-]+$/.test(a));
  must('bash', [
    join(REPO, 'scripts/k8s/image.sh'),
    tar,
    'local/busybox:e2e',
    '["/bin/sh"]',
    '/bin/busybox=/bin/busybox',
    ...applets.filter((a) => a !== 'busybox').map((a) => `/bin/${a}->busybox`),
  ]);
  return tar;
}

/** Saker's images (scripts/images.sh: docker-archive tars of saker and saker-nats). */
function sakerImages(): string[] {
  const started = Date.now();
  must('bash', [join(REPO, 'scripts/images.sh')]);
  mark('images built (scripts/images.sh)', started);
  const dir = join(REPO, 'build/images');
  return [join(dir, `saker-${VERSION}.tar`), join(dir, `saker-nats-${VERSION}.tar`)];
}

/** The audit webhook Service's fixed ClusterIP: the API server (host network) reaches it by address. */
export const AUDIT_IP = '10.96.200.200';

/** The API server's audit webhook configuration: Saker's audit Service by its fixed ClusterIP, mTLS. */
function webhookKubeconfig(p: TestPki): string {
  return `apiVersion: v1
kind: Config
clusters:
  - name: saker-audit
    cluster:
      server: https://${AUDIT_IP}:9765/k8s-audit
      certificate-authority: ${p.files.caCert}
users:
  - name: kube-apiserver
    user:
      client-certificate: ${p.files.clientCert}
      client-key: ${p.files.clientKey}
contexts:
  - name: default
    context: {cluster: saker-audit, user: kube-apiserver}
current-context: default
`;
}

let pki: TestPki | undefined;
/** The PKI of the audit webhook: its serving certificate, and the API server's client certificate. */
export function auditPki(): TestPki {
  if (pki === undefined) throw new Error('auditPki: the cluster is not up (call clusterUp first)');
  return pki;
}

/**
 * The cluster, up once for the whole file (every describe block calls this in
 * its `before`): Saker's images and busybox imported, the API server's audit
 * webhook pointing at AUDIT_IP with auditPki()'s certificates.
 */
export function clusterUp(): Promise<void> {
  up ??= (async () => {
    for (const sig of ['SIGINT', 'SIGTERM'] as const) {
      process.once(sig, () => {
        teardown();
        process.exit(1);
      });
    }
    process.once('exit', teardown);
    let started = Date.now();
    kubectlBin();
    helmPath = join(toolBin('helm'), 'helm');
    mark('tools (scripts/go-tools.sh)', started);
    const images = [...sakerImages(), busyboxImage()];
    const p = makeTestPki({
      prefix: 'saker-audit-pki-',
      serverSans: [`IP:${AUDIT_IP}`],
      clientCn: 'kube-apiserver',
    });
    pki = p;
    onTeardown(() => p[Symbol.dispose]());
    const auditWebhook = join(work(), 'audit-webhook.yaml');
    writeFileSync(auditWebhook, webhookKubeconfig(p));
    down();
    started = Date.now();
    must('bash', [join(REPO, 'scripts/k8s/up.sh')], {
      env: { SAKER_K8S: STATE, SAKER_K8S_IMAGES: images.join(' '), SAKER_K8S_AUDIT_WEBHOOK: auditWebhook },
    });
    mark('cluster up (scripts/k8s/up.sh, images imported)', started);
  })();
  return up;
}

/** Kills a child at teardown if it still runs. */
export function killAtTeardown(child: ChildProcess): void {
  onTeardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** `kubectl port-forward` of `target` (svc/x) to an ephemeral loopback port; killed at teardown. */
export async function portForward(
  namespace: string,
  target: string,
  remotePort: number,
): Promise<{ port: number; child: ChildProcess }> {
  const child = spawn(kubectlBin(), ['-n', namespace, 'port-forward', target, `:${remotePort}`], {
    env: { ...process.env, ...kubeEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onTeardown(() => child.kill('SIGKILL'));
  const port = await new Promise<number>((resolve, reject) => {
    let text = '';
    child.stdout?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /127\.0\.0\.1:(\d+) ->/.exec(text);
      if (m) resolve(Number(m[1]));
    });
    child.once('exit', (code) =>
      reject(new Error(`kubectl port-forward ${target} exited (${code}): ${text}`)),
    );
  });
  return { port, child };
}

/**
 * A pod spec's body (at `indent`): its grace period and one container of the busybox test
 * image running `script` under /bin/sh (SIGTERM does what the script's trap says). More keys
 * of that container may follow at `indent + 4`.
 */
export function busyboxSpec(name: string, script: string, graceSeconds: number, indent: number): string {
  const pad = ' '.repeat(indent);
  return [
    `${pad}terminationGracePeriodSeconds: ${graceSeconds}`,
    `${pad}containers:`,
    `${pad}  - name: ${name}`,
    `${pad}    image: docker.io/local/busybox:e2e`,
    `${pad}    imagePullPolicy: Never`,
    `${pad}    command: [/bin/sh, -c, ${JSON.stringify(script)}]`,
  ].join('\n');
}
