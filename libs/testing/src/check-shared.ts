/**
 * `node libs/testing/dist/src/check-shared.js`: exits 1, naming the folder and
 * every missing file, when the shared Falco data the suite reads is not there.
 * scripts/test.sh runs it first: CI always has the data, so a run without it
 * is a broken set-up, not a reason to skip a few hundred tests.
 */
import { SHARED_FILES, missingSharedFiles, sharedLocation } from './shared.js';

const dir = sharedLocation();
const missing = missingSharedFiles(dir);
if (missing.length > 0) {
  process.stderr.write(
    `check-shared: the Falco compatibility data is missing from ${dir} ` +
      `(SAKER_SHARED=${process.env.SAKER_SHARED ?? '(unset, default ../shared)'}):\n` +
      missing.map((f) => `  missing: ${f}\n`).join('') +
      'check-shared: set SAKER_SHARED to the shared/ folder; the tests that read it would otherwise be skipped.\n',
  );
  process.exit(1);
}
process.stdout.write(`check-shared: ${dir} has all ${SHARED_FILES.length} shared data files\n`);
