#!/usr/bin/env node
// The `saker` binary. A file kept in git (with its execute bit), not a build
// output: turbo restores dist/ from its cache without execute bits, and a
// second `bash scripts/setup.sh` must still leave a runnable `saker`.
import '../dist/src/main.js';
