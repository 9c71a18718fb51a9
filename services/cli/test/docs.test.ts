/**
 * The README and docs/ name only what exists: every `saker …` command in
 * their code is one the binary has, the binaries that went are not named,
 * every `services/<pkg>/dist/src/main.js` named has its source, and the
 * defaults they state are the configuration's.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from '@saker/config';
import { repoRoot } from '@saker/testing';
import { findCommand, groupCommands } from '../src/commands/registry.js';

const ROOT = repoRoot();
const DOCS = [
  join(ROOT, 'README.md'),
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => join(ROOT, 'docs', f)),
];

/** The text inside code: fenced blocks and `spans`. */
function codeOf(markdown: string): string[] {
  const out: string[] = [];
  const fences = markdown.split('```');
  fences.forEach((part, i) => {
    if (i % 2 === 1) out.push(part);
    else for (const m of part.matchAll(/`([^`\n]+)`/g)) out.push(m[1] ?? '');
  });
  return out;
}

describe('README and docs/ describe only what exists', () => {
  it('every saker command they show is one the binary has', () => {
    const unknown: string[] = [];
    let seen = 0;
    for (const file of DOCS) {
      for (const code of codeOf(readFileSync(file, 'utf8'))) {
        for (const m of code.matchAll(/(?:^|[\s(])saker((?: [a-z][a-z-]*)+)/gm)) {
          const words = (m[1] ?? '').trim().split(' ');
          seen++;
          if (findCommand(words) === undefined && groupCommands(words[0] ?? '').length === 0) {
            unknown.push(`${file}: saker ${words.join(' ')}`);
          }
        }
      }
    }
    assert.ok(seen > 20, `only ${seen} commands found: the scan is broken`);
    assert.deepEqual(unknown, []);
  });

  it('the binaries that went are not named, and every main.js named has its source', () => {
    for (const file of DOCS) {
      const text = readFileSync(file, 'utf8');
      assert.doesNotMatch(text, /\bsaker-(?:control|audit|enrich|engine)(?![-.\w])/, file);
      for (const m of text.matchAll(/services\/([a-z]+)\/dist\/src\/main\.js/g)) {
        assert.ok(existsSync(join(ROOT, 'services', m[1] ?? '', 'src', 'main.ts')), `${file}: ${m[0]}`);
      }
    }
  });

  it("the defaults the README states are the configuration's", () => {
    const config = loadConfig({ env: {}, onNotice: () => {} });
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    assert.match(readme, new RegExp(`\`telemetry.listen\` \\(default \`${config.telemetry.listen}\`\\)`));
    assert.match(readme, new RegExp(`\`control.listen\` \\(default \`${config.control.listen}\``));
    assert.match(
      readme,
      /saker ctl rules list +# in a second terminal: dials saker run's control API \(127\.0\.0\.1:5060\)/,
    );
  });
});
