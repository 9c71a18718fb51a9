import { Server, ServerCredentials } from '@grpc/grpc-js';
import { formatHostPort } from '@saker/runtime';
import { plaintextTokenWarning } from '@saker/telemetry';
import { HealthImplementation } from 'grpc-health-check';
import { TokenCheck } from './auth.js';
import {
  type ControlOptions,
  type Pem,
  type ResolvedControlOptions,
  resolveControlOptions,
} from './options.js';
import { loadRulesProto } from './proto.js';
import { createRuleService } from './service.js';
import { RulesetStore } from './store.js';

/** The service name the health service reports for the RuleService. */
export const RULE_SERVICE_NAME = 'saker.v1.RuleService';

export interface ControlService extends AsyncDisposable {
  /** The address bound, `host:port`, with the port the OS picked for `:0`. */
  readonly address: string;
  readonly port: number;
  /** Whether clients must use TLS, and present a certificate (mTLS). */
  readonly tls: boolean;
  readonly mtls: boolean;
  /** Resolves once the server has stopped (the signal aborted or close() was called). */
  readonly closed: Promise<void>;
  /** Stops: health NOT_SERVING, watches end, calls in flight get `shutdownGraceMs`, then are cut. */
  close(): Promise<void>;
}

function buffer(pem: Pem): Buffer {
  return typeof pem === 'string' ? Buffer.from(pem, 'utf8') : Buffer.from(pem);
}

function credentials(o: ResolvedControlOptions): ServerCredentials {
  if (o.tls === null) return ServerCredentials.createInsecure();
  const ca = o.tls.clientCa === undefined ? null : buffer(o.tls.clientCa);
  // With a client CA, a client without a certificate it signed fails the TLS handshake.
  return ServerCredentials.createSsl(
    ca,
    [{ private_key: buffer(o.tls.key), cert_chain: buffer(o.tls.cert) }],
    ca !== null,
  );
}

/**
 * Starts the control service: the gRPC RuleService and grpc.health.v1 on
 * `options.listen`, backed by the `saker_rules` KV bucket of `options.bus`.
 * Resolves once it listens. Aborting `signal` stops it, as does close().
 * Throws ControlConfigError (naming the option) before listening when the
 * options cannot work.
 */
export async function start(options: ControlOptions, signal: AbortSignal): Promise<ControlService> {
  const o = resolveControlOptions(options);
  signal.throwIfAborted();
  const warning = plaintextTokenWarning({
    what: 'the control API',
    host: o.listen.host,
    tls: o.tls !== null,
    token: o.token !== null,
    optOutKey: 'control.allow_plaintext_token',
    optOut: o.allowPlaintextToken,
  });
  if (warning !== undefined) process.emitWarning(warning, 'SakerSecurityWarning');
  const proto = loadRulesProto();
  const definition = proto.saker.v1.RuleService.service;
  const store = await RulesetStore.open(o.bus, o.signingKey);
  const rules = createRuleService({
    store,
    token: o.token === null ? null : new TokenCheck(o.token),
    conflictRetries: o.conflictRetries,
    appendOutput: o.appendOutput,
    delegates: o.delegates,
    encodeLoadResults: (msg) => definition.ValidateRuleset.responseSerialize(msg),
  });

  const server = new Server({
    'grpc.keepalive_time_ms': o.keepalive.timeMs,
    'grpc.keepalive_timeout_ms': o.keepalive.timeoutMs,
    // Clients keep WatchRulesets streams open for hours; let them ping that long.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': o.keepalive.minClientPingIntervalMs,
    'grpc.max_receive_message_length': o.maxMessageBytes,
    'grpc.max_send_message_length': o.maxMessageBytes,
  });
  server.addService(definition, rules.handlers);
  // Health is not behind the token: kubelet's gRPC probe sends no metadata.
  // TLS, when configured, still covers it.
  const health = new HealthImplementation({ '': 'SERVING', [RULE_SERVICE_NAME]: 'SERVING' });
  health.addToServer(server);

  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(formatHostPort(o.listen.host, o.listen.port), credentials(o), (err, bound) =>
      err
        ? reject(new Error(`listen ${formatHostPort(o.listen.host, o.listen.port)}: ${err.message}`))
        : resolve(bound),
    );
  });

  let resolveClosed!: () => void;
  const closed = new Promise<void>((r) => {
    resolveClosed = r;
  });
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      signal.removeEventListener('abort', onAbort);
      health.setStatus('', 'NOT_SERVING');
      health.setStatus(RULE_SERVICE_NAME, 'NOT_SERVING');
      rules.closeWatches();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, o.shutdownGraceMs);
        timer.unref();
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      resolveClosed();
    })();
    return closing;
  };
  const onAbort = () => void close();
  signal.addEventListener('abort', onAbort, { once: true });
  if (signal.aborted) await close();

  return {
    address: formatHostPort(o.listen.host, port),
    port,
    tls: o.tls !== null,
    mtls: o.tls?.clientCa !== undefined,
    closed,
    close,
    [Symbol.asyncDispose]: close,
  };
}
