#!/usr/bin/env bash
# The whole test suite: set-up (installs and builds), lint, type-check, then every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
# The shared Falco data (rule files, conformance cases) must be there: without
# it a few hundred tests would be skipped and the run would still pass.
echo "test: shared data"
node libs/testing/dist/src/check-shared.js
echo "test: lint"
npx biome check .
# Unused exports: an export no other module (or test, or bench) imports (knip.json).
# In the packages with includeEntryExports, src/mod.ts is checked too: it
# exports only what other packages import; the package's own tests import
# the module that defines a name.
npx knip --no-progress --no-config-hints
echo "test: typecheck"
npx turbo run typecheck --output-logs=errors-only

# One node:test run over every package's compiled tests, so the suite ends
# with a single summary.
mapfile -t dirs < <(find libs services e2e packaging -path '*/node_modules' -prune -o -type d -path '*/dist/test' -print 2>/dev/null | sort)
# A file that hangs must not take the whole run (and CI's time limit) with it:
# node:test cancels a file still running after --test-timeout (per file when
# files run in their own processes) and reports it as failed, after the tests
# of that file that had finished, so the one that hung is the next in the file.
# The longest file takes about 3 minutes here. Before that, at 10 minutes,
# libs/testing's test-watchdog prints what the file's process waits on
# (sockets, child processes and their state). Not --test-force-exit: it ends a
# file's process as soon as the tests registered so far are done, and so drops,
# unreported, tests that a suite registers after an await (3 to 13 of
# libs/rules' falco-k8s-audit-rules tests, with the run still passing).
echo "test: node --test ${dirs[*]}"
node --test --test-reporter=spec --test-timeout=900000 \
  --import ./libs/testing/dist/src/test-watchdog.js "${dirs[@]}"
