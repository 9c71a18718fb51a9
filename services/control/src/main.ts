#!/usr/bin/env node
/**
 * The control service on its own: `node dist/src/main.js --nats nats://host:4222`.
 * Stops cleanly on SIGINT or SIGTERM.
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { connectBus } from '@saker/bus';
import { ControlConfigError, DEFAULT_LISTEN, type Pem, start } from './mod.js';

const USAGE = `Usage: saker-control --nats URL [options]

Serves the gRPC RuleService (saker.v1) and grpc.health.v1, backed by the
saker_rules KV bucket on NATS.

Options:
  --nats URL              NATS server (repeatable); required
  --listen HOST:PORT      address to listen on (default ${DEFAULT_LISTEN})
  --tls-cert FILE         server certificate chain (PEM)
  --tls-key FILE          server private key (PEM)
  --tls-client-ca FILE    CA for client certificates: clients must present one (mTLS)
  --token TOKEN           bearer token every call must carry (default: $SAKER_CONTROL_TOKEN)
  -h, --help              show this help

Without TLS and without a token, only a loopback address may be listened on.
`;

async function pem(path: string | undefined, option: string): Promise<Pem | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path);
  } catch (err) {
    throw new ControlConfigError(
      option,
      `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values'];
  function parse(args: readonly string[]) {
    return parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        nats: { type: 'string', multiple: true },
        listen: { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-client-ca': { type: 'string' },
        token: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  }
  try {
    values = parse(argv).values;
  } catch (err) {
    process.stderr.write(`saker-control: ${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const urls = values.nats ?? [];
  if (urls.length === 0) {
    process.stderr.write(`saker-control: --nats URL is required\n\n${USAGE}`);
    return 2;
  }
  const certPath = values['tls-cert'];
  const keyPath = values['tls-key'];
  const caPath = values['tls-client-ca'];
  try {
    if ((certPath === undefined) !== (keyPath === undefined)) {
      throw new ControlConfigError('--tls-cert/--tls-key', 'give both or neither');
    }
    if (caPath !== undefined && certPath === undefined) {
      throw new ControlConfigError('--tls-client-ca', 'needs --tls-cert and --tls-key');
    }
    const cert = await pem(certPath, '--tls-cert');
    const key = await pem(keyPath, '--tls-key');
    const clientCa = await pem(caPath, '--tls-client-ca');
    const token = values.token ?? process.env.SAKER_CONTROL_TOKEN;
    const tls =
      cert !== undefined && key !== undefined
        ? { cert, key, ...(clientCa === undefined ? {} : { clientCa }) }
        : undefined;

    const bus = await connectBus({ url: urls, name: 'saker-control' });
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    try {
      const service = await start(
        {
          bus,
          ...(values.listen === undefined ? {} : { listen: values.listen }),
          ...(tls === undefined ? {} : { tls }),
          ...(token === undefined || token === '' ? {} : { token }),
        },
        controller.signal,
      );
      const security = service.mtls ? 'mTLS' : service.tls ? 'TLS' : 'plaintext';
      process.stderr.write(
        `saker-control: listening on ${service.address} (${security}${token ? ', bearer token' : ''})\n`,
      );
      await service.closed;
    } finally {
      await bus.close();
    }
    return 0;
  } catch (err) {
    process.stderr.write(`saker-control: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
