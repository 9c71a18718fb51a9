/**
 * @saker/ui-web: the web UI's front end. Its build (Vite) writes the browser
 * files to dist/web (index.html and hashed assets, every URL relative so any
 * base path works); @saker/ui serves them. This module only tells where.
 */
import { fileURLToPath } from 'node:url';

/** Absolute path of the built front end (dist/web), found next to this module (dist/src). */
export function webRoot(): string {
  return fileURLToPath(new URL('../web', import.meta.url));
}
