/** Go tools the packaging needs, from scripts/go-tools.sh's versioned cache. */
import { execFileSync } from 'node:child_process';
import { basename, dirname, join } from 'node:path';

/** The nats-server scripts/go-tools.sh built (or builds), and its version from the cache folder's name. */
export function natsServerFromGoTools(repo: string): { path: string; version: string } {
  const bin = execFileSync('bash', [join(repo, 'scripts/go-tools.sh'), 'nats-server'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const m = /^nats-server-(v[0-9][^/]*)$/.exec(basename(dirname(bin)));
  if (m?.[1] === undefined)
    throw new Error(`go-tools.sh printed ${JSON.stringify(bin)}, not …/nats-server-<version>/bin`);
  return { path: join(bin, 'nats-server'), version: m[1] };
}
