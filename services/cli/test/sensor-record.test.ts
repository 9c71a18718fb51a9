/**
 * `saker sensor --record FILE` on the real kernel: the file holds the live
 * sensor's events in the replay format, and `saker replay` reads it back.
 * Needs root (CI runs as root).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseEventLine } from '@saker/events';

const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'NOT ROOT: saker sensor --record loads eBPF programs';
if (SKIP) console.error(`\n*** SKIPPING saker sensor --record test: ${SKIP} ***\n`);

// The skip sits on each test (a skipped describe drops its tests from Node 20's totals).
describe('saker sensor --record (real kernel)', { timeout: 90_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'saker-record-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it(
    'records the live events as replay lines until SIGINT, and replay reads them',
    { skip: SKIP },
    async () => {
      const file = join(dir, 'events.jsonl');
      const child = spawn(
        process.execPath,
        [MAIN, 'sensor', '--record', file, '--syscalls', 'openat,execve'],
        {
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let stderr = '';
      child.stderr.setEncoding('utf8');
      await new Promise<void>((resolve, reject) => {
        child.stderr.on('data', (d: string) => {
          stderr += d;
          if (stderr.includes('recording to')) resolve();
        });
        child.on('exit', (code) => reject(new Error(`saker sensor exited ${code}: ${stderr}`)));
      });
      const marker = join(dir, 'marker.txt');
      writeFileSync(marker, 'x');
      const cat = spawnSync('cat', [marker], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, 500));
      child.kill('SIGINT');
      const code = await new Promise<number | null>((r) => child.on('exit', r));
      assert.equal(code, 0, stderr);
      assert.match(stderr, /recorded \d+ events to /);

      const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
      const events = lines.map((l, i) => parseEventLine(l, file, i + 1));
      const open = events.find(
        (e) =>
          e.source === 'syscall' && e.type === 'openat' && e.proc.pid === cat.pid && e.args.name === marker,
      );
      assert.ok(open, `no openat of the marker by cat among ${events.length} events`);
      assert.ok(events.every((e) => e.source === 'syscall' && (e.type === 'openat' || e.type === 'execve')));

      const rules = join(dir, 'rules.yaml');
      writeFileSync(
        rules,
        `- rule: Marker read\n  desc: d\n  condition: evt.type = openat and fd.name = "${marker}"\n  output: read %fd.name by %proc.name\n  priority: NOTICE\n`,
      );
      const r = spawnSync(process.execPath, [MAIN, 'replay', '-r', rules, file], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Notice read ${marker} by cat`));
    },
  );
});
