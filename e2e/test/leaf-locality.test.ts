/**
 * The chart's edge-first topology rests on NATS leaf nodes: every node pod
 * runs a leaf node connected to the central NATS, the node's engine joins the
 * `engine` queue group through it, and the central engines join it at the
 * hub. NATS hands a queue group's message to a subscriber on the server it
 * was published on first, so a node's syscall events are evaluated by that
 * node's engine and never cross to the hub; when the node's engine is gone,
 * the central engines take them. Real nats-servers (the version the chart's
 * image ships, from scripts/go-tools.sh), real engines, the engines' KV and
 * SAKER_ALERTS reached through the leaf node.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Bus, EventBatcher, STREAMS, SUBJECTS, busBatchSender, connectBus } from '@saker/bus';
import { type EngineService, start as startEngine } from '@saker/engine';
import { type SakerEvent, parseEvent } from '@saker/events';
import { loadRules } from '@saker/rules';
import { type NatsServerHandle, freePort, startNatsServer } from '@saker/testing';
import { toolBin } from './helm.js';

const RULES = `- rule: Shadow read
  desc: test rule, fires on every event of the test
  condition: evt.type = openat and fd.name = /etc/shadow
  output: "shadow read by %proc.name on %evt.hostname"
  priority: WARNING
`;

const NODE = 'node-a';

function shadowRead(n: number): SakerEvent {
  return parseEvent({
    source: 'syscall',
    ts: `${1_700_000_000_000_000_000n + BigInt(n)}`,
    hostname: NODE,
    type: 'openat',
    res: 3,
    args: { fd: 3, dirfd: -100, name: '/etc/shadow', flags: 'O_RDONLY', mode: 0 },
    proc: {
      pid: 4242,
      tid: 4242,
      ppid: 1,
      name: 'cat',
      exe: 'cat',
      exepath: '/usr/bin/cat',
      args: ['/etc/shadow'],
    },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    fd: { num: 3, type: 'file', name: '/etc/shadow' },
    container: { id: 'host' },
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until(what: string, timeoutMs: number, ok: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('NATS leaf node per node: a node evaluates its own events', { timeout: 120_000 }, () => {
  let dir = '';
  let hub: NatsServerHandle;
  let leaf: NatsServerHandle;
  let hubBus: Bus;
  let leafBus: Bus;
  const stop = new AbortController();
  let nodeEngine: EngineService;
  let centralEngine: EngineService;
  let alertsAtHub = 0;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'saker-leaf-'));
    const binary = join(toolBin('nats-server'), 'nats-server');
    const leafPort = await freePort();
    // As the chart's nats.conf and leaf.conf: the hub's JetStream has a domain, and the leaf node
    // (no JetStream of its own) maps the JetStream API onto it. Without the domain and the mapping
    // the hub does not answer the JetStream API across a leaf connection at all.
    writeFileSync(
      join(dir, 'hub.conf'),
      `server_name: hub\njetstream { store_dir: "${join(dir, 'js')}", domain: saker }\n` +
        `leafnodes { listen: "127.0.0.1:${leafPort}" }\n`,
    );
    writeFileSync(
      join(dir, 'leaf.conf'),
      `server_name: leaf-${NODE}\nleafnodes { remotes: [ { urls: ["nats-leaf://127.0.0.1:${leafPort}"] } ] }\n` +
        `mappings { "$JS.API.>": "$JS.saker.API.>" }\n`,
    );
    hub = await startNatsServer({ binary, args: ['-c', join(dir, 'hub.conf')] });
    leaf = await startNatsServer({ binary, args: ['-c', join(dir, 'leaf.conf')] });
    hubBus = await connectBus({ url: hub.url, name: 'hub-side' });
    leafBus = await connectBus({ url: leaf.url, name: 'leaf-side' });
    // The leaf connection is up once a message published at the leaf reaches the hub.
    const probe = hubBus.subscribe('probe.leaf');
    await hubBus.flush();
    let reached = false;
    void (async () => {
      for await (const _ of probe) {
        reached = true;
        break;
      }
    })();
    await until('the leaf node to connect', 15_000, () => {
      if (!reached) leafBus.publish('probe.leaf', new Uint8Array());
      return reached;
    });
    // SAKER_ALERTS exists before anything publishes alerts (in a cluster the sinks make it).
    await hubBus.stream(STREAMS.alerts.name, STREAMS.alerts.subjects);
    const alerts = hubBus.subscribe(SUBJECTS.allAlerts);
    void (async () => {
      for await (const _ of alerts) alertsAtHub++;
    })();
    await hubBus.flush();

    const load = loadRules([{ name: 'leaf.yaml', content: RULES }]);
    assert.ok(load.ok);
    const common = { queue: 'engine', rules: load.ruleset, hostname: NODE, log: () => {} };
    // The node's engine joins the queue group through its leaf node, as in the DaemonSet pod.
    nodeEngine = await startEngine({ ...common, bus: leafBus, name: 'node-engine' }, stop.signal);
    centralEngine = await startEngine({ ...common, bus: hubBus, name: 'central-engine' }, stop.signal);
    // Interest crosses the leaf connection asynchronously.
    await leafBus.flush();
    await hubBus.flush();
    await sleep(300);
  });

  after(async () => {
    stop.abort();
    await Promise.allSettled([nodeEngine?.stopped, centralEngine?.stopped]);
    await leafBus?.close().catch(() => undefined);
    await hubBus?.close().catch(() => undefined);
    await leaf?.stop();
    await hub?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function publishAtLeaf(count: number, from: number): Promise<void> {
    const batcher = new EventBatcher({
      send: busBatchSender(leafBus, SUBJECTS.syscallEvents(NODE)),
      maxEvents: 10,
      flushIntervalMs: 5,
    });
    // As the sensor's publisher does: flushed as it goes, so no event is refused.
    for (let i = 0; i < count; i++) {
      assert.ok(batcher.add(shadowRead(from + i)));
      if (i % 10 === 9) await batcher.flush();
    }
    await batcher.close();
    assert.equal(batcher.stats().published, count);
  }

  it("the node's engine evaluates every event of its node; the central engine none", async () => {
    await publishAtLeaf(200, 0);
    await until('200 alerts at the hub', 20_000, () => alertsAtHub >= 200);
    assert.equal(nodeEngine.stats().received, 200);
    assert.equal(centralEngine.stats().received, 0);
    // The alerts went to SAKER_ALERTS through the leaf (JetStream at the hub).
    assert.equal(alertsAtHub, 200);
  });

  it('once the node engine stops, the central engines take the node events', async () => {
    await nodeEngine.stop();
    await leafBus.flush();
    await sleep(300);
    await publishAtLeaf(100, 1000);
    await until('100 more alerts at the hub', 20_000, () => alertsAtHub >= 300);
    assert.equal(centralEngine.stats().received, 100);
    assert.equal(nodeEngine.stats().received, 200);
  });
});
