#!/usr/bin/env node
/**
 * `saker-audit`: the audit service on its own (the distributed shape).
 *
 *   saker-audit --nats nats://nats:4222 --listen 0.0.0.0:9765 \
 *     --tls-cert /tls/tls.crt --tls-key /tls/tls.key --client-ca /tls/ca.crt \
 *     [--token-file /secrets/token] [--log-file /var/log/kubernetes/audit.log] \
 *     [--telemetry 0.0.0.0:9090]
 *
 * Every flag has an environment variable (SAKER_AUDIT_<FLAG>, e.g.
 * SAKER_AUDIT_TLS_CERT); the flag wins. A bad value stops it at once, naming
 * the flag.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { connectBus } from '@saker/bus';
import { MetricsRegistry, healthReport, serveTelemetry } from '@saker/telemetry';
import { startTracing } from '@saker/telemetry/sdk';
import { AuditConfigError } from './errors.js';
import { stderrLogger } from './log.js';
import type { FileSourceOptions, WebhookOptions } from './options.js';
import { start } from './service.js';

const FLAGS = {
  nats: { type: 'string' },
  listen: { type: 'string' },
  path: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'client-ca': { type: 'string' },
  'token-file': { type: 'string' },
  'allow-unauthenticated': { type: 'boolean' },
  'allow-plaintext-token': { type: 'boolean' },
  'max-body-bytes': { type: 'string' },
  'no-webhook': { type: 'boolean' },
  'log-file': { type: 'string', multiple: true },
  'checkpoint-dir': { type: 'string' },
  handoff: { type: 'string' },
  telemetry: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function env(flag: string): string | undefined {
  return process.env[`SAKER_AUDIT_${flag.toUpperCase().replaceAll('-', '_')}`];
}

function hostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || !Number.isInteger(port) || port > 65535)
    throw new AuditConfigError(`--${flag}`, `expected HOST:PORT, got ${value}`);
  return { host: (m[1] ?? '').replace(/^\[(.*)\]$/, '$1') || '0.0.0.0', port };
}

function readPem(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new AuditConfigError(`--${flag}`, `cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: FLAGS, allowPositionals: false });
  if (values.help) {
    process.stdout.write(`${readFileSync(new URL(import.meta.url), 'utf8').split('*/')[0]}*/\n`);
    return;
  }
  const get = (flag: keyof typeof FLAGS): string | undefined => {
    const v = values[flag];
    return typeof v === 'string' ? v : env(flag);
  };
  const nats = get('nats');
  const handoffMode = get('handoff') ?? (nats === undefined ? 'publish' : 'durable');
  if (handoffMode !== 'durable' && handoffMode !== 'publish')
    throw new AuditConfigError('--handoff', `expected durable or publish, got ${handoffMode}`);

  let webhook: WebhookOptions | false = false;
  if (!(values['no-webhook'] ?? env('no-webhook') === 'true')) {
    const listen = hostPort('listen', get('listen') ?? '0.0.0.0:9765');
    const cert = get('tls-cert');
    const key = get('tls-key');
    const ca = get('client-ca');
    if ((cert === undefined) !== (key === undefined))
      throw new AuditConfigError('--tls-cert', '--tls-cert and --tls-key go together');
    const tokenFile = get('token-file');
    const maxBody = get('max-body-bytes');
    webhook = {
      ...listen,
      path: get('path'),
      tls:
        cert !== undefined && key !== undefined
          ? {
              cert: readPem('tls-cert', cert),
              key: readPem('tls-key', key),
              clientCa: ca === undefined ? undefined : readPem('client-ca', ca),
            }
          : undefined,
      bearerTokens:
        tokenFile === undefined
          ? []
          : readPem('token-file', tokenFile)
              .split('\n')
              .map((l) => l.trim())
              .filter((l) => l !== ''),
      allowUnauthenticated: values['allow-unauthenticated'] ?? env('allow-unauthenticated') === 'true',
      allowPlaintextToken: values['allow-plaintext-token'] ?? env('allow-plaintext-token') === 'true',
      maxBodyBytes: maxBody === undefined ? undefined : Number(maxBody),
    };
  }
  const logFiles = values['log-file'] ?? env('log-file')?.split(',') ?? [];
  const cpDir = get('checkpoint-dir');
  const files: FileSourceOptions[] = logFiles.map((path, i) => ({
    path,
    checkpointFile: cpDir === undefined ? undefined : `${cpDir}/audit-${i}.checkpoint`,
  }));

  const tracing = await startTracing('saker-audit');
  const bus = await connectBus(nats === undefined ? { memory: true } : { url: nats, name: 'saker-audit' });
  const metrics = new MetricsRegistry();
  const stop = new AbortController();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => stop.abort());
  const service = await start(
    { bus, webhook, files, metrics, handoff: { mode: handoffMode }, log: stderrLogger },
    stop.signal,
  );
  const telemetry = get('telemetry');
  if (telemetry !== undefined) {
    const t = hostPort('telemetry', telemetry);
    await serveTelemetry(
      {
        ...t,
        metrics,
        health: () =>
          healthReport({ bus: { ok: !bus.isClosed, detail: bus.isClosed ? 'closed' : 'connected' } }),
      },
      stop.signal,
    );
  }
  stderrLogger(
    'info',
    `listening on ${service.webhook?.url ?? '(no webhook)'}; following ${files.length} file(s)`,
  );
  await service.stopped;
  await bus.drain().catch(() => bus.close());
  await tracing.shutdown();
}

main().catch((err: unknown) => {
  stderrLogger('error', err instanceof Error ? err.message : String(err));
  process.exitCode = 1;
});
