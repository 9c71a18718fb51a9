import { readFileSync } from 'node:fs';

/** Saker's version: the cli package's (`saker --version`, the sensor's status reports). */
export function sakerVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string'
    ? pkg.version
    : 'unknown';
}
