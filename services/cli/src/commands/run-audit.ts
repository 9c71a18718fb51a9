/**
 * The Kubernetes audit source of `saker run` (services/audit): the webhook
 * the API server posts to, and audit log files to follow. Kept apart from
 * run.ts so the embedded runner only calls in here.
 */
import { readFileSync } from 'node:fs';
import { type AuditService, start as startAudit } from '@saker/audit';
import type { Bus } from '@saker/bus';
import type { MetricsRegistry } from '@saker/telemetry';
import { type Io, UsageError } from '../io.js';

/** The `saker run` options of the audit source. */
export const AUDIT_RUN_OPTIONS = {
  'audit-listen': { type: 'string' },
  'audit-tls-cert': { type: 'string' },
  'audit-tls-key': { type: 'string' },
  'audit-client-ca': { type: 'string' },
  'audit-token-file': { type: 'string' },
  'audit-allow-unauthenticated': { type: 'boolean' },
  'audit-allow-plaintext-token': { type: 'boolean' },
  'audit-log': { type: 'string', multiple: true },
} as const;

export const AUDIT_RUN_HELP = `  --audit-listen H:P       serve the Kubernetes audit webhook (POST /k8s-audit); see docs/audit.md
  --audit-tls-cert FILE    its certificate (PEM); with --audit-tls-key it speaks HTTPS
  --audit-tls-key FILE     its private key (PEM)
  --audit-client-ca FILE   accept API server client certificates signed by this CA (mTLS)
  --audit-token-file FILE  accept these bearer tokens, one per line
  --audit-allow-unauthenticated  accept unauthenticated posts (development only)
  --audit-allow-plaintext-token  accept tokens over plain HTTP off loopback (readable on the network)
  --audit-log FILE         follow an API server audit log (--audit-log-path); repeatable
`;

export interface AuditRunValues {
  readonly 'audit-listen'?: string | undefined;
  readonly 'audit-tls-cert'?: string | undefined;
  readonly 'audit-tls-key'?: string | undefined;
  readonly 'audit-client-ca'?: string | undefined;
  readonly 'audit-token-file'?: string | undefined;
  readonly 'audit-allow-unauthenticated'?: boolean | undefined;
  readonly 'audit-allow-plaintext-token'?: boolean | undefined;
  readonly 'audit-log'?: string[] | undefined;
}

function read(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(err as Error).message}`, 'run');
  }
}

/**
 * Starts the audit source when any --audit-* option asks for it. The events
 * go out on SUBJECTS.k8sAuditEvents: through SAKER_AUDIT (JetStream) on NATS,
 * with a plain publish on the in-memory bus.
 */
export async function startAuditSource(
  values: AuditRunValues,
  ctx: { bus: Bus; nats: boolean; hostname: string; metrics: MetricsRegistry; io: Io },
  signal: AbortSignal,
): Promise<AuditService | undefined> {
  const listen = values['audit-listen'];
  const logs = values['audit-log'] ?? [];
  if (listen === undefined && logs.length === 0) return undefined;
  const cert = values['audit-tls-cert'];
  const key = values['audit-tls-key'];
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError('--audit-tls-cert and --audit-tls-key go together', 'run');
  }
  const ca = values['audit-client-ca'];
  const tokens = values['audit-token-file'];
  let webhook: Parameters<typeof startAudit>[0]['webhook'] = false;
  if (listen !== undefined) {
    const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
    if (!m) throw new UsageError(`--audit-listen: expected HOST:PORT, got ${listen}`, 'run');
    webhook = {
      host: m[1] ?? (m[2] || '0.0.0.0'),
      port: Number(m[3]),
      tls:
        cert !== undefined && key !== undefined
          ? {
              cert: read('audit-tls-cert', cert),
              key: read('audit-tls-key', key),
              clientCa: ca === undefined ? undefined : read('audit-client-ca', ca),
            }
          : undefined,
      bearerTokens:
        tokens === undefined
          ? []
          : read('audit-token-file', tokens)
              .split('\n')
              .map((l) => l.trim())
              .filter((l) => l !== ''),
      allowUnauthenticated: values['audit-allow-unauthenticated'] ?? false,
      allowPlaintextToken: values['audit-allow-plaintext-token'] ?? false,
    };
  }
  const service = await startAudit(
    {
      bus: ctx.bus,
      webhook,
      files: logs.map((path) => ({ path })),
      hostname: ctx.hostname,
      metrics: ctx.metrics,
      handoff: { mode: ctx.nats ? 'durable' : 'publish' },
      log: (level, message) =>
        ctx.io.err(`saker: audit: ${level === 'info' ? '' : `${level}: `}${message}\n`),
    },
    signal,
  );
  ctx.io.err(
    `saker: audit: ${service.webhook ? `webhook on ${service.webhook.url}` : 'no webhook'}` +
      `${logs.length > 0 ? `, following ${logs.join(', ')}` : ''}\n`,
  );
  return service;
}
