/**
 * `saker enrich`, the built binary as users run it: usage and configuration
 * errors, and node mode against a real containerd (CRI) and a real
 * nats-server, writing the pod sandbox's record into KV saker_meta.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { BUCKETS, META_KEYS, connectBus } from '@saker/bus';
import { CriClient, kubeletPodConfig } from '@saker/enrich';
import { decodeMetaRecord } from '@saker/events';
import { Containerd, type NatsServerHandle, removeCgroup, startNatsServer } from '@saker/testing';

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'main.js');
const isRoot = process.getuid?.() === 0;

function saker(...args: string[]) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('saker enrich: usage', () => {
  it('names a bad mode and a bad socket path', () => {
    const mode = saker('enrich', '--nats', 'nats://127.0.0.1:1', '--mode', 'daemon');
    assert.equal(mode.code, 2);
    assert.match(mode.stderr, /--mode: expected node, cluster or auto, got "daemon"/);
    const sock = saker('enrich', '--nats', 'nats://127.0.0.1:1', '--cri-socket', 'run/crio.sock');
    assert.equal(sock.code, 2);
    assert.match(
      sock.stderr,
      /enrich\.node\.cri_sockets\[0\]: expected an absolute socket path or unix:\/\/\/path/,
    );
    const nats = saker('enrich');
    assert.equal(nats.code, 2);
    assert.match(nats.stderr, /needs a NATS server/);
  });
});

// The skip sits on each test: a skipped describe drops its tests from Node 20's totals.
const SKIP = isRoot ? false : 'NOT ROOT: containerd needs root';
describe('saker enrich: node mode', { timeout: 60_000 }, () => {
  let dir: string;
  let containerd: Containerd;
  let nats: NatsServerHandle;
  let child: ChildProcess | undefined;

  before(async () => {
    if (SKIP) return;
    dir = mkdtempSync(join(tmpdir(), 'saker-cli-enrich-'));
    [containerd, nats] = await Promise.all([
      Containerd.start(join(dir, 'containerd'), { cri: true }),
      startNatsServer({ jetstream: true }),
    ]);
  });

  after(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await nats?.stop();
    await containerd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('writes the records of the node CRI socket and drains on SIGTERM', { skip: SKIP }, async () => {
    const cri = new CriClient(containerd.socket);
    mkdirSync(join(dir, 'logs'));
    const pod = kubeletPodConfig({ name: 'cli-pod', namespace: 'cli', logDirectory: join(dir, 'logs') });
    const podId = await cri.runPodSandbox(pod);
    const proc = spawn(
      process.execPath,
      [
        MAIN,
        'enrich',
        '--nats',
        nats.url,
        '--cri-socket',
        containerd.socket,
        '--node',
        'cli-node',
        '--metrics-listen',
        'off',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let stderr = '';
    proc.stderr?.setEncoding('utf8');
    proc.stderr?.on('data', (d: string) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const bus = await connectBus({ url: nats.url });
    try {
      const kv = await bus.kv(BUCKETS.meta);
      const key = META_KEYS.container('cli-node', podId.slice(0, 12));
      const deadline = Date.now() + 20_000;
      let value = await kv.get(key);
      while (value === null) {
        assert.ok(Date.now() < deadline, `no ${key} in KV; saker enrich said:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
        value = await kv.get(key);
      }
      const record = decodeMetaRecord(value.value);
      assert.equal(record.kind, 'container');
      assert.equal(record.kind === 'container' ? record.k8s?.pod_name : undefined, 'cli-pod');
      assert.match(stderr, /enrich: running: .*enrich\(mode=node node=\S+containerd\.sock/);
      proc.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      assert.match(stderr, /enrich: SIGTERM, draining/);
    } finally {
      await bus.close();
      await cri.stopPodSandbox(podId).catch(() => undefined);
      await cri.removePodSandbox(podId).catch(() => undefined);
      cri.close();
      if (pod.linux?.cgroupParent) removeCgroup(pod.linux.cgroupParent);
    }
  });
});
