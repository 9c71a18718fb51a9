import {
  type CallOptions,
  type ChannelOptions,
  Client,
  type ClientUnaryCall,
  Metadata,
  type ServiceError,
  credentials,
  status,
} from '@grpc/grpc-js';
import type { MethodDefinition } from '@grpc/proto-loader';
import { service as healthService } from 'grpc-health-check';
import type { ProtoGrpcType } from './gen/rules.js';
import type { DescribeRuleResponse__Output } from './gen/saker/v1/DescribeRuleResponse.js';
import type { FileLoadResult__Output } from './gen/saker/v1/FileLoadResult.js';
import type { ListRulesRequest } from './gen/saker/v1/ListRulesRequest.js';
import type { ListRulesResponse__Output } from './gen/saker/v1/ListRulesResponse.js';
import type { PutRulesetRequest } from './gen/saker/v1/PutRulesetRequest.js';
import type { PutRulesetResponse__Output } from './gen/saker/v1/PutRulesetResponse.js';
import type { RuleServiceClient } from './gen/saker/v1/RuleService.js';
import type { RulesetRevision__Output } from './gen/saker/v1/RulesetRevision.js';
import type { SelectRulesRequest } from './gen/saker/v1/SelectRulesRequest.js';
import type { SelectRulesResponse__Output } from './gen/saker/v1/SelectRulesResponse.js';
import type { ValidateRulesetRequest } from './gen/saker/v1/ValidateRulesetRequest.js';
import type { ValidateRulesetResponse__Output } from './gen/saker/v1/ValidateRulesetResponse.js';
import type { Pem } from './options.js';
import { LOAD_RESULTS_TRAILER, ON_BEHALF_OF_METADATA, loadRulesProto } from './proto.js';

/**
 * A typed, promise-based client of the RuleService. Every call carries a
 * deadline; keepalive is explicit; gRPC errors are translated here, once,
 * into ControlCallError.
 */

interface ControlClientTlsOptions {
  /** CA bundle that signed the server's certificate. Default: the system's roots. */
  readonly ca?: Pem;
  /** Client certificate chain and key, for a server that requires mTLS. */
  readonly cert?: Pem;
  readonly key?: Pem;
  /** The name to check the server's certificate against, when it differs from the address's host. */
  readonly serverName?: string;
}

export interface ControlClientOptions {
  /** `host:port` of the control service. */
  readonly address: string;
  /** Use TLS. Without it the channel is plaintext. */
  readonly tls?: ControlClientTlsOptions;
  /** Sent as `authorization: Bearer <token>` on every call. */
  readonly token?: string;
  /** Deadline of each unary call. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Keepalive pings: interval and how long to wait for the answer. Default 30 000 / 10 000 ms. */
  readonly keepaliveTimeMs?: number;
  readonly keepaliveTimeoutMs?: number;
}

/**
 * Status codes worth retrying as they are, for idempotent calls: the
 * service was unreachable or shedding load. ABORTED (a revision conflict)
 * needs a fresh read first, so it is not in the set; the service already
 * retries its own read-modify-writes.
 */
const RETRYABLE_STATUS_CODES: ReadonlySet<status> = new Set([status.UNAVAILABLE, status.RESOURCE_EXHAUSTED]);

/** Whether `err` is an error from @grpc/grpc-js carrying a status. */
function isGrpcServiceError(err: unknown): err is ServiceError {
  return (
    err instanceof Error &&
    'code' in err &&
    typeof err.code === 'number' &&
    'details' in err &&
    typeof err.details === 'string' &&
    'metadata' in err &&
    err.metadata instanceof Metadata
  );
}

/** A RuleService call that failed, with its gRPC status. */
export class ControlCallError extends Error {
  override readonly name = 'ControlCallError';
  readonly method: string;
  readonly code: status;
  /** The status's name: `INVALID_ARGUMENT`, `UNAUTHENTICATED`, ... */
  readonly codeName: string;
  readonly details: string;
  /** For a refused ruleset: the load results the service sent with the status. */
  readonly loadResults: readonly FileLoadResult__Output[] | undefined;

  constructor(
    method: string,
    code: status,
    details: string,
    loadResults: readonly FileLoadResult__Output[] | undefined,
    options?: { cause?: unknown },
  ) {
    const codeName = status[code] ?? `code ${code}`;
    super(`${method}: ${codeName}: ${details}`, options);
    this.method = method;
    this.code = code;
    this.codeName = codeName;
    this.details = details;
    this.loadResults = loadResults;
  }

  get retryable(): boolean {
    return RETRYABLE_STATUS_CODES.has(this.code);
  }
}

/** A running WatchRulesets call. */
export type RulesetWatch = AsyncGenerator<RulesetRevision__Output> & {
  /** Resolves once the service's watch is in place (or the call ended). */
  readonly ready: Promise<void>;
};

/** Whether `err` is a ControlCallError (a RuleService call that failed with a status). */
export function isControlCallError(err: unknown): err is ControlCallError {
  return err instanceof ControlCallError;
}

type HealthStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

interface ResolvedClientOptions {
  readonly address: string;
  readonly tls: ControlClientTlsOptions | null;
  readonly token: string | null;
  readonly timeoutMs: number;
  readonly keepaliveTimeMs: number;
  readonly keepaliveTimeoutMs: number;
}

function resolveClientOptions(o: ControlClientOptions): ResolvedClientOptions {
  const pos = (v: number | undefined, d: number, name: string): number => {
    if (v === undefined) return d;
    if (!Number.isFinite(v) || v <= 0) throw new RangeError(`${name}: expected a positive number, got ${v}`);
    return v;
  };
  if (o.address.trim() === '') throw new RangeError('address: is empty');
  if ((o.tls?.cert === undefined) !== (o.tls?.key === undefined)) {
    throw new RangeError('tls: a client certificate needs its key, and a key its certificate');
  }
  return {
    address: o.address.trim(),
    tls: o.tls ?? null,
    token: o.token === undefined || o.token === '' ? null : o.token,
    timeoutMs: pos(o.timeoutMs, 10_000, 'timeoutMs'),
    keepaliveTimeMs: pos(o.keepaliveTimeMs, 30_000, 'keepaliveTimeMs'),
    keepaliveTimeoutMs: pos(o.keepaliveTimeoutMs, 10_000, 'keepaliveTimeoutMs'),
  };
}

const buf = (p: Pem): Buffer => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p));

type Callback<T> = (err: ServiceError | null, value?: T) => void;

/** A write: the request, the deadline (default timeoutMs), and whom the call acts for (`onBehalfOf`). */
type Write<Req, Res> = (req: Req, timeoutMs?: number, onBehalfOf?: string) => Promise<Res>;

export class ControlClient {
  readonly #o: ResolvedClientOptions;
  readonly #rules: RuleServiceClient;
  readonly #health: Client;
  readonly #definition: ProtoGrpcType['saker']['v1']['RuleService']['service'];

  constructor(options: ControlClientOptions) {
    this.#o = resolveClientOptions(options);
    const proto = loadRulesProto();
    this.#definition = proto.saker.v1.RuleService.service;
    const tls = this.#o.tls;
    const creds =
      tls === null
        ? credentials.createInsecure()
        : credentials.createSsl(
            tls.ca === undefined ? null : buf(tls.ca),
            tls.key === undefined ? null : buf(tls.key),
            tls.cert === undefined ? null : buf(tls.cert),
          );
    const channelOptions: ChannelOptions = {
      'grpc.keepalive_time_ms': this.#o.keepaliveTimeMs,
      'grpc.keepalive_timeout_ms': this.#o.keepaliveTimeoutMs,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.max_receive_message_length': 16 * 1024 * 1024,
      'grpc.max_send_message_length': 16 * 1024 * 1024,
      ...(tls?.serverName === undefined ? {} : { 'grpc.ssl_target_name_override': tls.serverName }),
    };
    this.#rules = new proto.saker.v1.RuleService(this.#o.address, creds, channelOptions);
    // The health client shares the RuleService client's channel.
    this.#health = new Client(this.#o.address, creds, { channelOverride: this.#rules.getChannel() });
  }

  #metadata(onBehalfOf?: string): Metadata {
    const md = new Metadata();
    if (this.#o.token !== null) md.set('authorization', `Bearer ${this.#o.token}`);
    if (onBehalfOf !== undefined) md.set(ON_BEHALF_OF_METADATA, Buffer.from(onBehalfOf, 'utf8'));
    return md;
  }

  #callOptions(timeoutMs: number | undefined): CallOptions {
    return { deadline: Date.now() + (timeoutMs ?? this.#o.timeoutMs) };
  }

  #translate(method: string, err: unknown): Error {
    if (!isGrpcServiceError(err)) return err instanceof Error ? err : new Error(String(err));
    let loadResults: FileLoadResult__Output[] | undefined;
    const raw = err.metadata.get(LOAD_RESULTS_TRAILER)[0];
    if (raw instanceof Buffer) {
      try {
        loadResults = this.#definition.ValidateRuleset.responseDeserialize(raw).results;
      } catch {
        loadResults = undefined;
      }
    }
    return new ControlCallError(method, err.code, err.details, loadResults, { cause: err });
  }

  #unary<T>(
    method: string,
    timeoutMs: number | undefined,
    invoke: (md: Metadata, options: CallOptions, cb: Callback<T>) => ClientUnaryCall,
    onBehalfOf?: string,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      invoke(this.#metadata(onBehalfOf), this.#callOptions(timeoutMs), (err, value) => {
        if (err) reject(this.#translate(method, err));
        else if (value === undefined) reject(new Error(`${method}: empty response`));
        else resolve(value);
      });
    });
  }

  listRules(req: ListRulesRequest = {}, timeoutMs?: number): Promise<ListRulesResponse__Output> {
    return this.#unary('ListRules', timeoutMs, (md, o, cb) => this.#rules.listRules(req, md, o, cb));
  }

  describeRule(name: string, timeoutMs?: number): Promise<DescribeRuleResponse__Output> {
    return this.#unary('DescribeRule', timeoutMs, (md, o, cb) =>
      this.#rules.describeRule({ name }, md, o, cb),
    );
  }

  validateRuleset(req: ValidateRulesetRequest, timeoutMs?: number): Promise<ValidateRulesetResponse__Output> {
    return this.#unary('ValidateRuleset', timeoutMs, (md, o, cb) =>
      this.#rules.validateRuleset(req, md, o, cb),
    );
  }

  /*
   * The writes take `onBehalfOf`: whom this client acts for, sent as the
   * `saker-on-behalf-of-bin` metadata; control records `<onBehalfOf> via
   * <identity>` as the author when this client's identity may delegate, and
   * refuses the call (PERMISSION_DENIED) when it may not.
   */
  readonly putRuleset: Write<PutRulesetRequest, PutRulesetResponse__Output> = (req, timeoutMs, who) =>
    this.#unary('PutRuleset', timeoutMs, (md, o, cb) => this.#rules.putRuleset(req, md, o, cb), who);

  readonly enableRules: Write<SelectRulesRequest, SelectRulesResponse__Output> = (req, timeoutMs, who) =>
    this.#unary('EnableRules', timeoutMs, (md, o, cb) => this.#rules.enableRules(req, md, o, cb), who);

  readonly disableRules: Write<SelectRulesRequest, SelectRulesResponse__Output> = (req, timeoutMs, who) =>
    this.#unary('DisableRules', timeoutMs, (md, o, cb) => this.#rules.disableRules(req, md, o, cb), who);

  /**
   * Revisions as they are written (the current one first unless
   * `skipCurrent`). The call starts at once; `ready` resolves when the
   * service's watch is in place, so no later write can be missed. No
   * deadline: it runs until `signal` aborts, which ends the iteration
   * quietly; keepalive pings notice a dead peer.
   */
  watchRulesets(options: { skipCurrent?: boolean } = {}, signal?: AbortSignal): RulesetWatch {
    const call = this.#rules.watchRulesets({ skipCurrent: options.skipCurrent ?? false }, this.#metadata());
    const ready = new Promise<void>((resolve, reject) => {
      call.once('metadata', () => resolve());
      call.once('error', (err: unknown) => reject(this.#translate('WatchRulesets', err)));
      call.once('close', () => resolve());
    });
    ready.catch(() => undefined);
    const onAbort = () => call.cancel();
    if (signal?.aborted) call.cancel();
    signal?.addEventListener('abort', onAbort, { once: true });
    const translate = (err: unknown) => this.#translate('WatchRulesets', err);
    async function* iterate(): AsyncGenerator<RulesetRevision__Output> {
      try {
        for await (const item of call) yield item as RulesetRevision__Output;
      } catch (err) {
        if (signal?.aborted && isGrpcServiceError(err) && err.code === status.CANCELLED) return;
        throw translate(err);
      } finally {
        signal?.removeEventListener('abort', onAbort);
        call.cancel();
      }
    }
    return Object.assign(iterate(), { ready });
  }

  /** grpc.health.v1 Check: `''` asks for the server as a whole. */
  health(service = '', timeoutMs?: number): Promise<HealthStatus> {
    const check = healthService.Check as MethodDefinition<{ service: string }, { status?: unknown }>;
    return new Promise<HealthStatus>((resolve, reject) => {
      this.#health.makeUnaryRequest(
        check.path,
        check.requestSerialize,
        check.responseDeserialize,
        { service },
        this.#metadata(),
        this.#callOptions(timeoutMs),
        (err, value) => {
          if (err) return reject(this.#translate('Health.Check', err));
          const s = value?.status;
          resolve(s === 'SERVING' || s === 'NOT_SERVING' || s === 'SERVICE_UNKNOWN' ? s : 'UNKNOWN');
        },
      );
    });
  }

  close(): void {
    this.#health.close();
    this.#rules.close();
  }
}

export type { DescribeRuleResponse__Output } from './gen/saker/v1/DescribeRuleResponse.js';
export type { Diagnostic__Output } from './gen/saker/v1/Diagnostic.js';
export type { FileLoadResult__Output } from './gen/saker/v1/FileLoadResult.js';
export type { ListRulesRequest } from './gen/saker/v1/ListRulesRequest.js';
export type { ListRulesResponse__Output } from './gen/saker/v1/ListRulesResponse.js';
export type { PutRulesetRequest } from './gen/saker/v1/PutRulesetRequest.js';
export type { PutRulesetResponse__Output } from './gen/saker/v1/PutRulesetResponse.js';
export type { Rule__Output } from './gen/saker/v1/Rule.js';
export type { RulesetRevision__Output } from './gen/saker/v1/RulesetRevision.js';
export type { SelectRulesRequest } from './gen/saker/v1/SelectRulesRequest.js';
export type { SelectRulesResponse__Output } from './gen/saker/v1/SelectRulesResponse.js';
export type { ValidateRulesetRequest } from './gen/saker/v1/ValidateRulesetRequest.js';
export type { ValidateRulesetResponse__Output } from './gen/saker/v1/ValidateRulesetResponse.js';
export type { HealthStatus };
