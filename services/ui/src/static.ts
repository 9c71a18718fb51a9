/**
 * The front end's files under the base path: assets as they are, and
 * index.html (with `<base href="{base_path}/">` in its head) for every
 * other path, so client-side routes load. Paths never leave the web root.
 */
import { createReadStream, readFileSync, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { PLACEHOLDER_HTML } from './web-root.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

export class StaticFiles {
  readonly #root: string | null;
  readonly #index: string;

  constructor(root: string | null, basePath: string) {
    this.#root = root;
    const html = root === null ? PLACEHOLDER_HTML : readFileSync(join(root, 'index.html'), 'utf8');
    // The base path passed config validation: [A-Za-z0-9._~-/] only, nothing to escape.
    const base = `<base href="${basePath}/">`;
    this.#index = /<head[^>]*>/i.test(html)
      ? html.replace(/<head[^>]*>/i, (h) => `${h}${base}`)
      : `${base}${html}`;
  }

  get placeholder(): boolean {
    return this.#root === null;
  }

  /** Serves `path` (below the base path); a GET or HEAD. */
  serve(res: ServerResponse, path: string, head: boolean): void {
    const file = this.#file(path);
    if (file !== null) {
      const type = TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
      res.statusCode = 200;
      res.setHeader('Content-Type', type);
      res.setHeader('Content-Length', statSync(file).size);
      // Vite's hashed names never change content.
      res.setHeader(
        'Cache-Control',
        path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
      if (head) res.end();
      else createReadStream(file).pipe(res);
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/html; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Content-Length', Buffer.byteLength(this.#index));
    res.end(head ? undefined : this.#index);
  }

  /** The regular file `path` names inside the root, or null. */
  #file(path: string): string | null {
    if (this.#root === null || path === '/' || path === '/index.html') return null;
    let decoded: string;
    try {
      decoded = decodeURIComponent(path);
    } catch {
      return null;
    }
    if (decoded.includes('\0')) return null;
    const file = normalize(join(this.#root, decoded));
    if (!file.startsWith(this.#root.endsWith(sep) ? this.#root : this.#root + sep)) return null;
    try {
      return statSync(file).isFile() ? file : null;
    } catch {
      return null;
    }
  }
}
