/**
 * Node mode: keeps KV `saker_meta` `containers.<node>.<id>` in step with one
 * CRI socket (docs/enrich.md).
 *
 * - At start it reads what KV already holds for the node, lists the
 *   containers and describes each (ContainerStatus and PodSandboxStatus,
 *   verbose), writing only records that changed; records of this runtime
 *   whose container is gone become tombstones.
 * - Then it follows changes: GetContainerEvents where the runtime has it,
 *   with a full listing every `resyncIntervalMs` to catch a missed event;
 *   otherwise (Unimplemented: containerd < 1.7) a listing every
 *   `pollIntervalMs`, describing only containers that are new or changed
 *   state.
 * - A removed container's record becomes a tombstone (`deleted_ts`), purged
 *   `tombstoneTtlMs` later.
 *
 * All work runs one step at a time on a queue, so events and listings never
 * race. A call that fails (the runtime is down, a reply fails validation) is
 * counted and logged; the next listing tries again. A failed listing never
 * tombstones anything.
 */
import { type KvStore, META_KEYS } from '@saker/bus';
import { type ContainerRecord, decodeMetaRecord, encodeMetaRecord } from '@saker/events';
import type { MetricsRegistry } from '@saker/telemetry';
import { type CriClient, errorKind, isUnimplemented } from '../cri/client.js';
import type { Container, ContainerState, PodSandbox, PodSandboxState } from '../cri/types.js';
import type { CriReplyError } from '../cri/validate.js';
import { NodeMetrics } from './metrics.js';
import { buildContainerRecord, buildSandboxRecord, containerType, sameRecord } from './record.js';

export interface NodeEnricherOptions {
  readonly kv: KvStore;
  readonly cri: CriClient;
  /** The node's name in the keys (`containers.<node>.<id>`). */
  readonly node: string;
  /** Listing period without container events. Default 2000. */
  readonly pollIntervalMs?: number;
  /** Listing period with container events (catches a missed event). Default 30 × pollIntervalMs. */
  readonly resyncIntervalMs?: number;
  /** A tombstone is purged this long after the removal. Default 300000. */
  readonly tombstoneTtlMs?: number;
  readonly metrics?: MetricsRegistry;
  /** Log lines. Default: stderr. */
  readonly log?: (line: string) => void;
  /** Now, in nanoseconds since the epoch. Default: the wall clock. */
  readonly nowNs?: () => bigint;
  /**
   * Whether the node's stored records of this runtime type are this
   * enricher's own, to tombstone when their container is gone after a
   * restart. Default true; false when several sockets serve the same node
   * (two containerd sockets would tombstone each other's containers).
   */
  readonly claimStored?: boolean;
}

export type FollowMode = 'starting' | 'events' | 'poll';

export interface NodeEnricherStats {
  readonly socket: string;
  readonly runtime: string;
  readonly mode: FollowMode;
  /** Live containers known (not tombstones). */
  readonly containers: number;
  readonly tombstones: number;
  readonly writes: number;
  readonly unchanged: number;
  readonly purges: number;
  readonly errors: number;
  readonly listings: number;
  readonly events: number;
  /** The last error, for health: undefined after a listing succeeded. */
  readonly lastError: string | undefined;
}

interface Known {
  state: ContainerState | PodSandboxState;
  /** False while its last description failed: the next listing retries it. */
  described: boolean;
}

const wallNs = (): bigint => BigInt(Date.now()) * 1_000_000n;

function intOption(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min) {
    throw new RangeError(`NodeEnricher: ${name}: expected an integer >= ${min}, got ${value}`);
  }
  return value;
}

export class NodeEnricher {
  readonly #o: NodeEnricherOptions;
  readonly #pollMs: number;
  readonly #resyncMs: number;
  readonly #ttlNs: bigint;
  readonly #log: (line: string) => void;
  readonly #now: () => bigint;
  readonly #metrics: NodeMetrics;
  /** Full container id → what the last listing or event said. */
  readonly #known = new Map<string, Known>();
  /** Full sandbox id → the same, for pod sandboxes (their pause containers). */
  readonly #sandboxes = new Map<string, Known>();
  /** Key → the record KV holds (as this writer last wrote or read it). */
  readonly #stored = new Map<string, ContainerRecord>();
  /** Image ref → its id and repo digests (ImageStatus), asked once. */
  readonly #images = new Map<string, { id: string; repoDigests: readonly string[] }>();
  #runtime = '';
  #mode: FollowMode = 'starting';
  #queue: Promise<void> = Promise.resolve();
  #lastError: string | undefined;
  #lastLogged = new Map<string, { message: string; at: number }>();
  #counts = { writes: 0, unchanged: 0, purges: 0, errors: 0, listings: 0, events: 0 };

  constructor(options: NodeEnricherOptions) {
    if (options.node === '') throw new RangeError('NodeEnricher: node: must not be empty');
    this.#o = options;
    this.#pollMs = intOption('pollIntervalMs', options.pollIntervalMs, 2000, 10);
    this.#resyncMs = intOption('resyncIntervalMs', options.resyncIntervalMs, 30 * this.#pollMs, 10);
    this.#ttlNs = BigInt(intOption('tombstoneTtlMs', options.tombstoneTtlMs, 300_000, 0)) * 1_000_000n;
    this.#log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.#now = options.nowNs ?? wallNs;
    this.#metrics = new NodeMetrics(options.metrics, options.cri.socket);
  }

  get socket(): string {
    return this.#o.cri.socket;
  }

  stats(): NodeEnricherStats {
    let tombstones = 0;
    for (const r of this.#stored.values()) if (r.deleted_ts !== undefined) tombstones++;
    return {
      socket: this.socket,
      runtime: this.#runtime,
      mode: this.#mode,
      containers: this.#stored.size - tombstones,
      tombstones,
      ...this.#counts,
      lastError: this.#lastError,
    };
  }

  /**
   * Runs until `signal` aborts. Never rejects on a runtime or KV problem:
   * those are counted, logged and retried.
   */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && this.#runtime === '') {
      try {
        this.#runtime = (await this.#o.cri.version()).runtimeName;
        this.#log(`enrich: ${this.socket}: ${this.#runtime} (CRI runtime.v1)`);
      } catch (err) {
        this.#error('Version', err);
        await sleep(this.#pollMs, signal);
      }
    }
    if (signal.aborted) return;
    await this.#enqueue(() => this.#loadStored());
    await this.#enqueue(() => this.sync());
    const events = this.#followEvents(signal);
    while (!signal.aborted) {
      await sleep(this.#mode === 'events' ? this.#resyncMs : this.#pollMs, signal);
      if (signal.aborted) break;
      await this.#enqueue(() => this.sync());
    }
    await events;
    await this.#queue;
  }

  /** Runs `step` after every step queued before it. */
  #enqueue(step: () => Promise<void>): Promise<void> {
    const next = this.#queue.then(step, step);
    this.#queue = next.catch(() => undefined);
    return this.#queue;
  }

  #error(call: string, err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    this.#counts.errors++;
    this.#metrics.error(call, errorKind(err));
    this.#lastError = `${call}: ${message}`;
    // The same failure every poll is logged once a minute.
    const last = this.#lastLogged.get(call);
    const now = Date.now();
    if (last === undefined || last.message !== message || now - last.at > 60_000) {
      this.#lastLogged.set(call, { message, at: now });
      this.#log(`enrich: ${this.socket}: ${call} failed: ${message}`);
    }
  }

  async #loadStored(): Promise<void> {
    if (this.#o.claimStored === false) return;
    const type = containerType(this.#runtime);
    try {
      for (const key of await this.#o.kv.keys(META_KEYS.nodeContainers(this.#o.node))) {
        const entry = await this.#o.kv.get(key);
        if (entry === null) continue;
        try {
          const record = decodeMetaRecord(entry.value);
          // Another runtime's containers on this node are its enricher's business.
          if (record.kind === 'container' && record.container.type === type) this.#stored.set(key, record);
        } catch (err) {
          this.#error('kv-read', new Error(`${key}: ${err instanceof Error ? err.message : String(err)}`));
        }
      }
    } catch (err) {
      this.#error('kv-read', err);
    }
  }

  /**
   * One full listing of containers and pod sandboxes: describe what is new or
   * changed, tombstone what is gone, purge what expired.
   */
  async sync(): Promise<void> {
    let list: Container[];
    let sandboxes: PodSandbox[];
    try {
      list = await this.#o.cri.listContainers();
    } catch (err) {
      this.#error('ListContainers', err);
      return;
    }
    try {
      sandboxes = await this.#o.cri.listPodSandbox();
    } catch (err) {
      this.#error('ListPodSandbox', err);
      return;
    }
    this.#counts.listings++;
    this.#lastError = undefined;
    const seen = new Set<string>();
    for (const c of list) {
      seen.add(c.id);
      const prev = this.#known.get(c.id);
      if (prev?.described && prev.state === c.state) continue;
      this.#known.set(c.id, { state: c.state, described: false });
      if (await this.#describe(c)) this.#known.set(c.id, { state: c.state, described: true });
    }
    for (const sb of sandboxes) {
      seen.add(sb.id);
      const prev = this.#sandboxes.get(sb.id);
      if (prev?.described && prev.state === sb.state) continue;
      this.#sandboxes.set(sb.id, { state: sb.state, described: false });
      if (await this.#describeSandbox(sb.id))
        this.#sandboxes.set(sb.id, { state: sb.state, described: true });
    }
    for (const known of [this.#known, this.#sandboxes]) {
      for (const id of [...known.keys()]) {
        if (!seen.has(id)) {
          known.delete(id);
          await this.#tombstone(id);
        }
      }
    }
    // Records left from before a restart whose container is gone.
    const seenShort = new Set([...seen].map((id) => id.slice(0, 12)));
    for (const [key, record] of [...this.#stored]) {
      if (record.deleted_ts === undefined && !seenShort.has(record.container.id)) {
        await this.#tombstone(record.container.full_id ?? record.container.id, key);
      }
    }
    await this.#purge();
    this.#metrics.containers(this.stats().containers);
  }

  /** Describes a pod sandbox (its pause container) and writes its record when it changed. */
  async #describeSandbox(id: string): Promise<boolean> {
    try {
      const sandbox = await this.#o.cri.podSandboxStatus(id, true);
      return await this.#write(
        buildSandboxRecord({
          node: this.#o.node,
          runtimeName: this.#runtime,
          sandbox,
          nowNs: this.#now().toString(),
        }),
      );
    } catch (err) {
      this.#error('PodSandboxStatus', err);
      return false;
    }
  }

  /** Describes one container and writes its record when it changed. True when described. */
  async #describe(c: Container): Promise<boolean> {
    try {
      const status = await this.#o.cri.containerStatus(c.id, true);
      let sandbox = null;
      if (c.podSandboxId !== '') {
        try {
          sandbox = await this.#o.cri.podSandboxStatus(c.podSandboxId, true);
        } catch (err) {
          // The container's record is still worth having without its pod.
          this.#error('PodSandboxStatus', err);
        }
      }
      const image = await this.#imageInfo(status.status.imageRef);
      const record = buildContainerRecord({
        node: this.#o.node,
        runtimeName: this.#runtime,
        container: status,
        sandbox,
        podSandboxId: c.podSandboxId,
        ...(image === undefined ? {} : { image }),
        nowNs: this.#now().toString(),
      });
      return await this.#write(record);
    } catch (err) {
      this.#error('ContainerStatus', err);
      return false;
    }
  }

  /** The image's id and repo digests (ImageStatus), asked once per image ref. */
  async #imageInfo(imageRef: string): Promise<{ id: string; repoDigests: readonly string[] } | undefined> {
    if (imageRef === '') return undefined;
    const known = this.#images.get(imageRef);
    if (known !== undefined) return known;
    try {
      const image = await this.#o.cri.imageStatus(imageRef);
      if (image === null) return undefined;
      const info = { id: image.id, repoDigests: image.repoDigests };
      this.#images.set(imageRef, info);
      return info;
    } catch (err) {
      this.#error('ImageStatus', err);
      return undefined;
    }
  }

  /** Writes the record unless KV already holds the same; false when the write failed. */
  async #write(record: ContainerRecord): Promise<boolean> {
    const key = META_KEYS.container(this.#o.node, record.container.id);
    const prev = this.#stored.get(key);
    if (prev !== undefined && prev.deleted_ts === undefined && sameRecord(prev, record)) {
      this.#counts.unchanged++;
      return true;
    }
    try {
      await this.#o.kv.put(key, encodeMetaRecord(record));
    } catch (err) {
      this.#error('kv-write', err);
      return false;
    }
    this.#stored.set(key, record);
    this.#counts.writes++;
    this.#metrics.write('put');
    return true;
  }

  async #tombstone(fullId: string, knownKey?: string): Promise<void> {
    const key = knownKey ?? META_KEYS.container(this.#o.node, fullId.slice(0, 12));
    const prev = this.#stored.get(key);
    if (prev === undefined || prev.deleted_ts !== undefined) return;
    const now = this.#now().toString();
    const tomb: ContainerRecord = { ...prev, updated_ts: now, deleted_ts: now };
    try {
      await this.#o.kv.put(key, encodeMetaRecord(tomb));
      this.#stored.set(key, tomb);
      this.#counts.writes++;
      this.#metrics.write('tombstone');
    } catch (err) {
      this.#error('kv-write', err);
    }
  }

  async #purge(): Promise<void> {
    const now = this.#now();
    for (const [key, record] of [...this.#stored]) {
      if (record.deleted_ts === undefined || BigInt(record.deleted_ts) + this.#ttlNs > now) continue;
      try {
        await this.#o.kv.purge(key);
        this.#stored.delete(key);
        this.#counts.purges++;
        this.#metrics.write('purge');
      } catch (err) {
        this.#error('kv-purge', err);
      }
    }
  }

  /** Handles one container event: describe it, or tombstone it when deleted. */
  async #onEvent(id: string, type: string): Promise<void> {
    this.#counts.events++;
    this.#metrics.event(type);
    if (type === 'CONTAINER_DELETED_EVENT') {
      this.#known.delete(id);
      this.#sandboxes.delete(id);
      await this.#tombstone(id);
      return;
    }
    let list: Container[];
    try {
      list = await this.#o.cri.listContainers({ id });
    } catch (err) {
      this.#error('ListContainers', err);
      return;
    }
    const c = list.find((x) => x.id === id);
    if (c === undefined) {
      // A sandbox's own event (containerd sends those too), or gone already: its DELETED event follows.
      await this.#onSandboxEvent(id);
      return;
    }
    this.#known.set(c.id, { state: c.state, described: false });
    if (await this.#describe(c)) this.#known.set(c.id, { state: c.state, described: true });
    this.#metrics.containers(this.stats().containers);
  }

  async #onSandboxEvent(id: string): Promise<void> {
    let sandboxes: PodSandbox[];
    try {
      sandboxes = await this.#o.cri.listPodSandbox({ id });
    } catch (err) {
      this.#error('ListPodSandbox', err);
      return;
    }
    const sb = sandboxes.find((x) => x.id === id);
    if (sb === undefined) return;
    this.#sandboxes.set(sb.id, { state: sb.state, described: false });
    if (await this.#describeSandbox(sb.id)) this.#sandboxes.set(sb.id, { state: sb.state, described: true });
    this.#metrics.containers(this.stats().containers);
  }

  /**
   * Follows GetContainerEvents. A runtime without it (Unimplemented) leaves
   * the listing at pollIntervalMs for good; a stream that breaks is reopened
   * after pollIntervalMs, with a full listing to catch what was missed.
   */
  async #followEvents(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      const stream = new AbortController();
      const stop = (): void => stream.abort();
      signal.addEventListener('abort', stop, { once: true });
      // A stream that stays open a poll interval without failing counts as working.
      const settled = setTimeout(() => this.#setMode('events'), this.#pollMs);
      try {
        for await (const ev of this.#o.cri.containerEvents(stream.signal, (err: CriReplyError) =>
          this.#error('GetContainerEvents', err),
        )) {
          this.#setMode('events');
          await this.#enqueue(() => this.#onEvent(ev.containerId, ev.type));
        }
        if (!signal.aborted) this.#error('GetContainerEvents', new Error('the event stream ended'));
      } catch (err) {
        if (isUnimplemented(err)) {
          this.#setMode('poll');
          this.#log(
            `enrich: ${this.socket}: the runtime has no GetContainerEvents; listing containers every ${this.#pollMs} ms`,
          );
          return;
        }
        this.#error('GetContainerEvents', err);
      } finally {
        clearTimeout(settled);
        signal.removeEventListener('abort', stop);
      }
      if (signal.aborted) return;
      this.#setMode('poll');
      await sleep(this.#pollMs, signal);
      if (!signal.aborted) await this.#enqueue(() => this.sync());
    }
  }

  #setMode(mode: FollowMode): void {
    if (this.#mode === mode) return;
    this.#mode = mode;
    this.#metrics.mode(mode);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
