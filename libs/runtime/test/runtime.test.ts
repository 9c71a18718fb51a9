import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BusClosedError } from '@saker/bus';
import { OptionError, StartupError, errorKind } from '../src/errors.js';
import { formatHostPort, parseHostPort } from '../src/host-port.js';
import { hostServices } from '../src/host.js';
import { createLogger } from '../src/log.js';
import type { ServiceContext, ServiceHandle, ServiceModule, ServiceStage } from '../src/service.js';
import { supervise } from '../src/supervisor.js';

describe('parseHostPort', () => {
  it('reads host:port, [v6]:port and defaults', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:5060', 'k'), { host: '127.0.0.1', port: 5060 });
    assert.deepEqual(parseHostPort('[::1]:80', 'k'), { host: '::1', port: 80 });
    assert.deepEqual(parseHostPort(':9765', 'k', { defaultHost: '0.0.0.0' }), {
      host: '0.0.0.0',
      port: 9765,
    });
    assert.deepEqual(parseHostPort('redis', 'k', { defaultPort: 6379 }), { host: 'redis', port: 6379 });
    assert.equal(formatHostPort('::1', 5), '[::1]:5');
  });
  it('refuses what is not one, naming the key and the place', () => {
    for (const bad of ['', 'host', 'a:b', 'h:70000', '[x]:1', 'a b:1', ':1']) {
      assert.throws(
        () =>
          parseHostPort(bad, 'control.listen', {
            place: { kind: 'file', file: 'f.yaml', line: 3, column: 5 },
          }),
        (err: unknown) =>
          err instanceof OptionError &&
          err.key === 'control.listen' &&
          err.line === 3 &&
          err.message.startsWith('f.yaml:3:5: control.listen: ') &&
          errorKind(err) === 'option',
        bad,
      );
    }
  });
});

describe('errorKind', () => {
  it('tells kinds by a field, not by the message', () => {
    assert.equal(errorKind(new BusClosedError('publish')), 'bus');
    assert.equal(errorKind(new Error('option: looks like one')), 'internal');
    assert.equal(errorKind(new OptionError('--x', 'bad')), 'option');
    assert.equal(errorKind(new StartupError('enrich', 'no CRI socket')), 'startup');
  });
});

describe('createLogger', () => {
  it('writes text and JSON lines at or above its level, secrets scrubbed', () => {
    const lines: string[] = [];
    const text = createLogger({
      name: 'saker',
      level: 'info',
      write: (l) => lines.push(l),
      secrets: ['s3cr3t-token'],
    });
    text.debug('hidden');
    text.info('hello', { n: 1 });
    text.child('engine').warn('token s3cr3t-token leaked?');
    assert.deepEqual(lines, ['saker: hello n=1\n', 'engine: warn: token *** leaked?\n']);
    lines.length = 0;
    const json = createLogger({ name: 'audit', format: 'json', write: (l) => lines.push(l), now: () => 0 });
    json.error('boom', { path: '/x' });
    assert.deepEqual(JSON.parse(lines[0] ?? ''), {
      time: '1970-01-01T00:00:00.000Z',
      level: 'error',
      service: 'audit',
      msg: 'boom',
      path: '/x',
    });
  });
});

function recorder(events: string[]) {
  const make = (name: string, stage: ServiceStage, fail = false): ServiceModule<null> => ({
    name,
    stage,
    summary: name,
    help: name,
    flags: {},
    overrides: () => ({}),
    standaloneNeedsNats: false,
    async start(_ctx: ServiceContext<null>): Promise<ServiceHandle> {
      events.push(`start ${name}`);
      if (fail) throw new OptionError(`${name}.x`, 'bad');
      return {
        name,
        health: () => ({ ok: true }),
        async stop() {
          events.push(`stop ${name}`);
        },
      };
    },
  });
  return make;
}

describe('supervise', () => {
  const quiet = createLogger({ name: 't', write: () => {} });
  it('starts against the flow and drains with it', async () => {
    const events: string[] = [];
    const make = recorder(events);
    const mods = [
      make('sinks', 'sink'),
      make('sensor', 'source'),
      make('engine', 'engine'),
      make('control', 'support'),
    ];
    const code = await hostServices({
      name: 't',
      modules: mods,
      config: null,
      natsUrl: null,
      telemetryListen: null,
      logger: quiet,
      out: async () => {},
      flags: () => ({}),
      signal: AbortSignal.abort(),
    });
    assert.equal(code, 0);
    assert.deepEqual(events, [
      'start control',
      'start sinks',
      'start engine',
      'start sensor',
      'stop sensor',
      'stop engine',
      'stop sinks',
      'stop control',
    ]);
  });
  it('stops what started when one fails to start', async () => {
    const events: string[] = [];
    const make = recorder(events);
    await assert.rejects(
      supervise(
        [make('sinks', 'sink'), make('engine', 'engine', true)],
        () => ({}) as ServiceContext<null>,
        quiet,
      ),
      OptionError,
    );
    assert.deepEqual(events, ['start sinks', 'start engine', 'stop sinks']);
  });
});
