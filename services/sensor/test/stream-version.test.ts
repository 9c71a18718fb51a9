/**
 * The loader and the Node side agree on the stream version, and a stream of
 * another version is refused at start with an error that says so.
 *
 * - bpf/sensor.h's SAKER_STREAM_VERSION (what the loader writes) equals the
 *   decoder's STREAM_VERSION;
 * - the built loader's header carries it (root: the loader attaches the probe);
 * - Sensor.start() on a loader that writes a version-1 header (the layout before
 *   process state: no P_PROCSTATE/P_ENV params, exe_info.writable reserved)
 *   rejects at once, naming `header.version` and both versions, instead of
 *   waiting out its start timeout. The stand-in loader is a script writing the
 *   real header bytes (test/wire.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { within } from '@saker/testing';
import { STREAM_VERSION, decodeStreamHeader } from '../src/decoder.js';
import { SensorLoaderError } from '../src/errors.js';
import { DEFAULT_LOADER_PATH, Sensor } from '../src/sensor.js';
import { streamHeader } from './wire.js';

const isRoot = process.getuid?.() === 0;
const SENSOR_H = fileURLToPath(new URL('../../bpf/sensor.h', import.meta.url));

describe('stream version', () => {
  const dir = mkdtempSync(join(tmpdir(), 'saker-stream-version-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('bpf/sensor.h and the decoder name the same version', () => {
    const m = /^#define SAKER_STREAM_VERSION (\d+)\b/m.exec(readFileSync(SENSOR_H, 'utf8'));
    assert.ok(m, `no SAKER_STREAM_VERSION in ${SENSOR_H}`);
    assert.equal(Number(m[1]), STREAM_VERSION);
    assert.equal(STREAM_VERSION, 2);
  });

  it(
    'the built loader writes that version',
    { skip: isRoot ? false : 'NOT ROOT: the loader attaches the probe' },
    async () => {
      const child = spawn(DEFAULT_LOADER_PATH, ['--syscalls', 'none'], { stdio: ['pipe', 'pipe', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const chunks: Buffer[] = [];
      const header = await within(
        'reading the loader stream header',
        new Promise<Buffer>((resolve, reject) => {
          child.stdout.on('data', (c: Buffer) => {
            chunks.push(c);
            const b = Buffer.concat(chunks);
            if (b.length >= 32) resolve(b); // the stream header's size
          });
          child.on('close', (code) => reject(new Error(`the loader exited with ${code}: ${stderr}`)));
        }),
        30_000,
      ).finally(() => child.stdin.end('quit\n'));
      assert.equal(decodeStreamHeader(header).version, STREAM_VERSION);
      await within('the loader exit', new Promise((r) => child.on('close', r)), 15_000);
    },
  );

  it('Sensor.start refuses a loader of another version at once, naming both', async () => {
    const old = join(dir, 'old-loader.mjs');
    const bytes = streamHeader({ version: 1 }).toString('base64');
    writeFileSync(
      old,
      `#!${process.execPath}\nprocess.stdout.write(Buffer.from('${bytes}', 'base64'));\nprocess.stdin.resume();\n`,
    );
    chmodSync(old, 0o755);
    const errors: Error[] = [];
    const started = Date.now();
    await assert.rejects(
      Sensor.start({ syscalls: ['openat'], loaderPath: old, onError: (e) => errors.push(e) }),
      (err: unknown) => {
        assert.ok(err instanceof SensorLoaderError, String(err));
        assert.match(
          err.message,
          /header\.version: stream version 1 is not supported \(this decoder reads 2\)/,
        );
        assert.match(err.message, /rebuild the loader and the package together/);
        return true;
      },
    );
    assert.ok(Date.now() - started < 10_000, `refused after ${Date.now() - started} ms`);
    assert.equal(errors.length, 1);
  });
});
