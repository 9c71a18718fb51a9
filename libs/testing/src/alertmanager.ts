/**
 * A real Prometheus Alertmanager for the alertmanager output's tests: its own
 * config and storage in a temp dir, the web API on an ephemeral loopback port
 * (read back from its "Listening on" log line), clustering off.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, startDaemon, stopAndRemove } from './daemon.js';

const ALERTMANAGER_PACKAGE = 'prometheus-alertmanager';
const BINARY = '/usr/bin/prometheus-alertmanager';

export interface AlertmanagerServer extends AsyncDisposable {
  /** The base URL, e.g. http://127.0.0.1:41234 (the API is under /api/v2). */
  readonly url: string;
  log(): string;
  stop(): Promise<void>;
}

/** One route to a receiver that sends nowhere: the alerts stay in the API to be read. */
const CONFIG = `route:
  receiver: keep
receivers:
  - name: keep
`;

export async function startAlertmanager(
  options: { startTimeoutMs?: number } = {},
): Promise<AlertmanagerServer> {
  const dir = mkdtempSync(join(tmpdir(), 'saker-alertmanager-'));
  writeFileSync(join(dir, 'alertmanager.yml'), CONFIG);
  let daemon: Daemon | undefined;
  let url = '';
  try {
    daemon = startDaemon({
      what: 'prometheus-alertmanager',
      debianPackage: ALERTMANAGER_PACKAGE,
      binary: BINARY,
      args: [
        `--config.file=${join(dir, 'alertmanager.yml')}`,
        `--storage.path=${join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:0',
        '--cluster.listen-address=',
      ],
      cwd: dir,
    });
    const d = daemon;
    await d.waitReady(async () => {
      if (url === '') {
        const m = /msg="Listening on" address=(127\.0\.0\.1:\d+)/.exec(d.output());
        if (m === null) return false;
        url = `http://${m[1]}`;
      }
      try {
        return (await fetch(`${url}/-/ready`)).ok;
      } catch {
        return false;
      }
    }, options.startTimeoutMs ?? 20_000);
  } catch (err) {
    if (daemon === undefined) rmSync(dir, { recursive: true, force: true });
    else await stopAndRemove(daemon, dir)();
    throw err;
  }
  const d = daemon;
  const stop = stopAndRemove(d, dir);
  return { url, log: () => d.output(), stop, [Symbol.asyncDispose]: stop };
}
