import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: the nearest folder above this file that holds turbo.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'turbo.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (no turbo.json above this file)');
    dir = up;
  }
  return dir;
}

let warned = false;

/**
 * The folder of Falco's compatibility data (rule files, loader fixtures,
 * reference tables): $SAKER_SHARED, or ../shared beside the repository.
 * Returns undefined, after saying so loudly on stderr, when it is missing;
 * tests that need it then skip with that reason, and only those tests.
 */
export function sharedDir(): string | undefined {
  const dir = resolve(repoRoot(), process.env.SAKER_SHARED ?? '../shared');
  if (existsSync(join(dir, 'falco-rules'))) return dir;
  if (!warned) {
    warned = true;
    process.stderr.write(
      `\n!!! SAKER_SHARED: no Falco compatibility data at ${dir}. Tests that need it are SKIPPED.\n` +
        '!!! Set SAKER_SHARED to the shared/ folder to run them.\n\n',
    );
  }
  return undefined;
}

/** A path inside the shared folder, or undefined (with the loud warning) when it is missing. */
export function sharedPath(...parts: string[]): string | undefined {
  const dir = sharedDir();
  return dir === undefined ? undefined : join(dir, ...parts);
}

/** The skip reason to hand to node:test when the shared folder is missing. */
export function sharedSkip(): string | false {
  return sharedDir() === undefined ? 'SAKER_SHARED data missing (see the warning above)' : false;
}
