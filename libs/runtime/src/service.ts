/**
 * The service contract. A service is a module that exports one
 * `ServiceModule`: a name, its place in the flow, its own flags, and a
 * factory from validated configuration and the shared parts (bus, metrics,
 * logger, tracer) to a running handle. `saker <service>` runs one module;
 * `saker run` runs them all under one supervisor. Adding a service is one
 * module and one line in the command's registry.
 */
import type { Bus } from '@saker/bus';
import type { HealthCheck, MetricsRegistry, Tracer } from '@saker/telemetry';
import type { Logger } from './log.js';

/**
 * Where a service sits in the data flow. Drain order is this order:
 * sources stop first (nothing new comes in), the engines evaluate what they
 * took, the sinks deliver every stored alert, then the services beside the
 * flow (control, enrich) close. Start order is the reverse, so every
 * consumer listens before anything is published.
 */
export const STAGES = ['source', 'engine', 'sink', 'support'] as const;
export type ServiceStage = (typeof STAGES)[number];

/** A service's own flags, in node:util parseArgs' shape. */
interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}
type FlagSpecs = Readonly<Record<string, FlagSpec>>;
/** Parsed flag values (absent when not given). */
export type FlagValues = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

/** What every service is started with. */
export interface ServiceContext<C> {
  /** The validated, frozen configuration (saker.yaml → SAKER__… → flags). */
  readonly config: C;
  readonly bus: Bus;
  /** True on the NATS bus (JetStream, KV are durable); false in memory, inside `saker run`. */
  readonly nats: boolean;
  /** True inside `saker run` (several services in one process): optional parts stay quietly off. */
  readonly embedded: boolean;
  readonly metrics: MetricsRegistry;
  /** Named after the service. */
  readonly logger: Logger;
  readonly tracer: Tracer;
  /** Where a service prints its product (alerts on stdout), with stdout's backpressure. */
  readonly out: (text: string) => Promise<void>;
  /** The service's own flags. */
  readonly flags: FlagValues;
}

/** A running service. */
export interface ServiceHandle {
  readonly name: string;
  health(): HealthCheck;
  /** Drains and stops; resolves when nothing of it runs any more. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves (or rejects) if the service ends on its own; the supervisor then stops the others. */
  readonly ended?: Promise<void>;
  /** One line for the "running" notice (`address=127.0.0.1:5060`). */
  describe?(): string;
  /** A line for the "stopped" notice (`3 alerts printed`). */
  summary?(): string;
}

export interface ServiceModule<C> {
  readonly name: string;
  readonly stage: ServiceStage;
  /** One line for `saker --help`. */
  readonly summary: string;
  /** Usage and the service's own options, for `saker help <name>`. */
  readonly help: string;
  readonly flags: FlagSpecs;
  /** The configuration keys the service's flags stand for (`--listen` → control.listen). */
  overrides(flags: FlagValues): Record<string, unknown>;
  /** Refuses to run standalone in memory when the service needs other processes (most do). */
  readonly standaloneNeedsNats: boolean;
  start(ctx: ServiceContext<C>): Promise<ServiceHandle>;
}
