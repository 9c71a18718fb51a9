/** Where CRI sockets usually are, and which of them exist here. */
import { realpathSync, statSync } from 'node:fs';

/** Probed in this order when `enrich.node.cri_sockets` is empty. */
export const DEFAULT_CRI_SOCKETS: readonly string[] = [
  '/run/containerd/containerd.sock',
  '/run/crio/crio.sock',
  '/run/k3s/containerd/containerd.sock',
  '/var/run/containerd/containerd.sock',
  '/var/run/crio/crio.sock',
];

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/**
 * The sockets to use: the configured ones as they are (a configured socket
 * that is missing is an error the enricher reports and retries), or else
 * the defaults that exist, each runtime once (/var/run is /run).
 */
export function findCriSockets(configured: readonly string[], candidates = DEFAULT_CRI_SOCKETS): string[] {
  const strip = (p: string): string => (p.startsWith('unix://') ? p.slice('unix://'.length) : p);
  if (configured.length > 0) return [...new Set(configured.map(strip))];
  const seen = new Set<string>();
  const out: string[] = [];
  for (const path of candidates) {
    if (!isSocket(path)) continue;
    let real = path;
    try {
      real = realpathSync(path);
    } catch {
      // keep the path as written
    }
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(path);
  }
  return out;
}
