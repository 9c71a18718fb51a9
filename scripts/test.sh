#!/usr/bin/env bash
# The whole test suite: set-up (installs and builds), lint, type-check, then every test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
echo "test: lint"
npx biome check .
echo "test: typecheck"
npx turbo run typecheck --output-logs=errors-only

# One node:test run over every package's compiled tests, so the suite ends
# with a single summary.
mapfile -t dirs < <(find libs services e2e packaging -path '*/node_modules' -prune -o -type d -path '*/dist/test' -print 2>/dev/null | sort)
echo "test: node --test ${dirs[*]}"
node --test --test-reporter=spec "${dirs[@]}"
