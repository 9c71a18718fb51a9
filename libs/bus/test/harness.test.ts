/** The nats-server harness of @saker/testing (tested here: that package has no test build of its own). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  NatsServerStartError,
  dockerReachable,
  parsePortsFile,
  selectRuntime,
  startNatsServer,
} from '@saker/testing';
import { connectBus } from '../src/connect.js';

describe('startNatsServer', () => {
  it('starts on an ephemeral loopback port and stops cleanly', { timeout: 15_000 }, async () => {
    const server = await startNatsServer();
    assert.match(server.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
    assert.notEqual(server.port, 4222);
    assert.equal(server.runtime, 'process');
    {
      await using bus = await connectBus({ url: server.url });
      await bus.flush();
    }
    const pid = server.pid ?? -1;
    await server.stop();
    assert.throws(() => process.kill(pid, 0), /ESRCH/);
    await server.stop(); // idempotent
  });

  it('runs two servers at once on different ports', { timeout: 15_000 }, async () => {
    await using a = await startNatsServer({ jetstream: true });
    await using b = await startNatsServer({ jetstream: true });
    assert.notEqual(a.port, b.port);
  });

  it('rejects with the server stderr when it exits before it is ready', { timeout: 15_000 }, async () => {
    await assert.rejects(
      startNatsServer({ args: ['--no-such-flag'] }),
      (err: unknown) =>
        err instanceof NatsServerStartError &&
        err.name === 'NatsServerStartError' &&
        /flag provided but not defined/.test(err.stderr) &&
        /exited/.test(err.message),
    );
  });

  it('names the Debian package when the binary cannot run', { timeout: 15_000 }, async () => {
    await assert.rejects(
      startNatsServer({ binary: '/nonexistent/nats-server', runtime: 'process' }),
      (err: unknown) =>
        err instanceof NatsServerStartError && /Debian package "nats-server"/.test(err.message),
    );
  });

  it('reads the client URL from a ports file, and nothing from a half-written one', () => {
    assert.equal(parsePortsFile('{"nats":["nats://127.0.0.1:4567"]}'), 'nats://127.0.0.1:4567');
    assert.equal(parsePortsFile('{"nats":["nats://127.0.0.1:45'), undefined);
    assert.equal(parsePortsFile('{}'), undefined);
  });

  it('prefers the local binary, falls back to a container only when Docker answers', () => {
    assert.equal(selectRuntime({ forced: undefined, binaryFound: true, dockerReachable: true }), 'process');
    assert.equal(
      selectRuntime({ forced: undefined, binaryFound: false, dockerReachable: true }),
      'container',
    );
    assert.equal(selectRuntime({ forced: undefined, binaryFound: false, dockerReachable: false }), undefined);
    assert.equal(
      selectRuntime({ forced: 'container', binaryFound: true, dockerReachable: false }),
      'container',
    );
  });

  it('does not take a socket path that nobody answers on for a Docker engine', async () => {
    assert.equal(await dockerReachable({ dockerHost: 'unix:///nonexistent/docker.sock' }), false);
    assert.equal(await dockerReachable({ dockerHost: 'ssh://somewhere' }), false);
  });
});
