/** Node mode's Prometheus metrics; every series is labelled with the CRI socket. */
import type { Counter, Gauge, MetricsRegistry } from '@saker/telemetry';
import type { FollowMode } from './enricher.js';

export class NodeMetrics {
  readonly #writes: Counter | undefined;
  readonly #errors: Counter | undefined;
  readonly #events: Counter | undefined;
  readonly #containers: Gauge | undefined;
  readonly #mode: Gauge | undefined;
  readonly #socket: string;

  constructor(registry: MetricsRegistry | undefined, socket: string) {
    this.#socket = socket;
    this.#writes = registry?.counter(
      'saker_enrich_node_writes_total',
      'Container records written to KV saker_meta by node mode, by operation (put, tombstone, purge).',
      ['socket', 'op'],
    );
    this.#errors = registry?.counter(
      'saker_enrich_node_errors_total',
      'Failed CRI calls and KV operations of node mode, by call and kind (invalid_reply, unavailable, ...).',
      ['socket', 'call', 'kind'],
    );
    this.#events = registry?.counter(
      'saker_enrich_node_events_total',
      'Container events received from GetContainerEvents, by type.',
      ['socket', 'type'],
    );
    this.#containers = registry?.gauge(
      'saker_enrich_node_containers',
      'Live containers node mode knows on the socket (tombstones not counted).',
      ['socket'],
    );
    this.#mode = registry?.gauge(
      'saker_enrich_node_events_mode',
      '1 while container changes come from GetContainerEvents, 0 while they come from polling.',
      ['socket'],
    );
  }

  write(op: 'put' | 'tombstone' | 'purge'): void {
    this.#writes?.inc({ socket: this.#socket, op });
  }

  error(call: string, kind: string): void {
    this.#errors?.inc({ socket: this.#socket, call, kind });
  }

  event(type: string): void {
    this.#events?.inc({ socket: this.#socket, type });
  }

  containers(n: number): void {
    this.#containers?.set(n, { socket: this.#socket });
  }

  mode(mode: FollowMode): void {
    this.#mode?.set(mode === 'events' ? 1 : 0, { socket: this.#socket });
  }
}
