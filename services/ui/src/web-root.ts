/**
 * The front end's built files: `@saker/ui-web` exports `webRoot()`, the
 * absolute path of its dist/web. Looked up at run time, so the server runs
 * (with a placeholder page) where the front end is not built. The specifier
 * is a literal in the emitted JavaScript, so Saker's bundle (packaging/)
 * includes the module, whose dist/web the artefact tree carries; `as string`
 * keeps the type checker from needing the front end built.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** The folder holding index.html, or null when the front end is not there. */
export async function findWebRoot(): Promise<string | null> {
  let mod: unknown;
  try {
    mod = await import('@saker/ui-web' as string);
  } catch {
    return null;
  }
  const fn = (mod as { webRoot?: unknown }).webRoot;
  if (typeof fn !== 'function') return null;
  const root = (fn as () => unknown)();
  return typeof root === 'string' && existsSync(join(root, 'index.html')) ? root : null;
}

/** Shown when the front end is not built: fixed text, nothing from an alert. */
export const PLACEHOLDER_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Saker</title></head>
<body><h1>Saker</h1><p>The web UI's front end (services/ui-web) is not built here. The API answers under api/.</p></body></html>
`;
