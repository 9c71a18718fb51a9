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

/**
 * The files of the shared data that the suite reads. `scripts/test.sh` checks
 * them (check-shared.js) before it runs anything, so a run without them fails
 * instead of passing with those tests skipped.
 */
export const SHARED_FILES: readonly string[] = [
  'falco-rules/falco_rules.yaml',
  'falco-rules/falco-incubating_rules.yaml',
  'falco-rules/falco-sandbox_rules.yaml',
  'falco-rules/falco-deprecated_rules.yaml',
  'falco-rules/k8s_audit_rules.yaml',
  'falco-rules/aws_cloudtrail_rules.yaml',
  'falco-conformance/loader/falco_tests.yaml',
  'falco-conformance/loader/falco_tests_exceptions.yaml',
  'falco-conformance/output_files/single_rule_with_cat_write.json',
  'falco-conformance/output_files/single_rule_with_cat_write.txt',
  'reference/falco.yaml',
  'reference/falco-supported-fields.md',
  'reference/k8saudit-plugin-README.md',
];

/** The folder $SAKER_SHARED names (default ../shared beside the repository), whether or not it exists. */
export function sharedLocation(): string {
  return resolve(repoRoot(), process.env.SAKER_SHARED ?? '../shared');
}

/** The entries of SHARED_FILES missing under `dir`. */
export function missingSharedFiles(dir: string): string[] {
  return SHARED_FILES.filter((f) => !existsSync(join(dir, f)));
}

let warned = false;

/**
 * The folder of Falco's compatibility data (rule files, loader fixtures,
 * reference tables): $SAKER_SHARED, or ../shared beside the repository.
 * Returns undefined, after saying so loudly on stderr, when it is missing;
 * tests that need it then skip with that reason, and only those tests.
 */
function sharedDir(): string | undefined {
  const dir = sharedLocation();
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

/**
 * The skip reason to hand to node:test when the shared folder is missing.
 * Put it on each test, never on a `describe`: Node 20 drops a skipped suite's
 * tests from the totals, so they would vanish instead of counting as skipped.
 */
export function sharedSkip(): string | false {
  return sharedDir() === undefined ? 'SAKER_SHARED data missing (see the warning above)' : false;
}
