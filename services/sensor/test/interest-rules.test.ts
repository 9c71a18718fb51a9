/**
 * The sensor captures every system call that Falco's stable, incubating and
 * sandbox rules ask for (each file loaded over the stable one, as Falco loads
 * them), and none of them reads mmap, mprotect, fcntl or access: the calls
 * docs/sensor.md leaves out of capture for that reason. If a new release of
 * the rules starts reading one, this test names it.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadRules, readRuleFiles } from '@saker/rules';
import { sharedPath } from '@saker/testing';
import { interestFromEventTypes } from '../src/interest.js';

const STABLE = sharedPath('falco-rules', 'falco_rules.yaml');
const FILES = ['falco_rules.yaml', 'falco-incubating_rules.yaml', 'falco-sandbox_rules.yaml'] as const;
const LEFT_OUT = ['mmap', 'mprotect', 'fcntl', 'access'];

describe('the interest set of Falco rule files', () => {
  for (const file of FILES) {
    const path = sharedPath('falco-rules', file);
    const skip =
      path === undefined || STABLE === undefined || !existsSync(path) || !existsSync(STABLE)
        ? `the shared Falco rules are missing (SAKER_SHARED): ${file}`
        : false;
    it(`captures every syscall of ${file}, none of which is ${LEFT_OUT.join('/')}`, { skip }, async () => {
      const paths = file === 'falco_rules.yaml' ? [STABLE as string] : [STABLE as string, path as string];
      const loaded = loadRules(await readRuleFiles(paths));
      assert.ok(loaded.ok, JSON.stringify(loaded.results.flatMap((r) => r.errors)));
      const types = loaded.ruleset.eventTypes();
      assert.ok(types !== undefined, `${file}: some rule needs every event type`);
      const interest = interestFromEventTypes(types);
      assert.deepEqual(interest.unsupported, [], `${file}: event types the sensor cannot produce`);
      assert.ok(Array.isArray(interest.syscalls) && interest.syscalls.length > 10);
      assert.deepEqual(
        LEFT_OUT.filter((t) => types.has(t)),
        [],
        `${file} reads syscalls the sensor leaves out: capture them (docs/sensor.md)`,
      );
    });
  }
});
