/**
 * HttpTransport (undici's Pool) against real node:http servers on loopback:
 * keep-alive connections bounded by maxSockets, one connection per request
 * without keep-alive, the answer (status, headers, body cut at maxAnswer),
 * and every way a request can fail classified as retryable or permanent.
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { DeliveryError, SinksOptionsError } from '../src/errors.js';
import { HttpTransport, checkHeaders } from '../src/outputs/http-client.js';

interface Served extends AsyncDisposable {
  readonly url: URL;
  /** TCP connections the server accepted. */
  readonly connections: () => number;
  readonly requests: IncomingMessage[];
}

async function serve(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<Served> {
  const requests: IncomingMessage[] = [];
  let connections = 0;
  const server: Server = createServer((req, res) => {
    requests.push(req);
    handle(req, res);
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: new URL(`http://127.0.0.1:${port}/hook`),
    connections: () => connections,
    requests,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof DeliveryError, `expected a DeliveryError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the request to fail');
}

describe('http transport', () => {
  it('keeps at most maxSockets connections alive and sends every body intact', async () => {
    const bodies: string[] = [];
    await using srv = await serve((req, res) => {
      void readBody(req).then((b) => {
        bodies.push(b);
        res.end('ok');
      });
    });
    const http = new HttpTransport('hook', srv.url, { maxSockets: 4, headers: { 'user-agent': 'test' } });
    try {
      const answers = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          http.sendOk('POST', srv.url, `{"n":${i},"s":"é\\n<script>"}`, {
            'content-type': 'application/json',
          }),
        ),
      );
      assert.ok(answers.every((a) => a.status === 200 && a.body === 'ok'));
      assert.equal(bodies.length, 200);
      assert.deepEqual(
        bodies.map((b) => (JSON.parse(b) as { n: number }).n).sort((a, b) => a - b),
        Array.from({ length: 200 }, (_, i) => i),
      );
      assert.ok(srv.connections() <= 4, `${srv.connections()} connections for maxSockets 4`);
      const req = srv.requests[0];
      assert.equal(req?.url, '/hook');
      assert.equal(req?.headers['user-agent'], 'test');
      assert.equal(req?.headers['content-type'], 'application/json');
      assert.equal(req?.headers['content-length'], String(Buffer.byteLength(bodies[0] ?? '')));
    } finally {
      http.close();
    }
  });

  it('without keep-alive, opens one connection per request and says connection: close', async () => {
    await using srv = await serve((_req, res) => res.end());
    const http = new HttpTransport('hook', srv.url, { keepAlive: false });
    try {
      for (let i = 0; i < 3; i++) await http.sendOk('POST', srv.url, '{}');
      assert.equal(srv.connections(), 3);
      assert.ok(srv.requests.every((r) => r.headers.connection === 'close'));
    } finally {
      http.close();
    }
  });

  it('answers status, lowercase headers and the body cut at maxAnswer; 5xx retryable, 4xx permanent', async () => {
    let status = 503;
    await using srv = await serve((_req, res) => {
      res.writeHead(status, { 'Retry-After': '7', 'X-Many': ['a', 'b'] });
      res.write('x'.repeat(3000));
      res.end('y'.repeat(3000));
    });
    const http = new HttpTransport('hook', srv.url, { maxAnswer: 1000 });
    try {
      const a = await http.send('POST', srv.url, '{}');
      assert.equal(a.status, 503);
      assert.equal(a.headers['retry-after'], '7');
      assert.equal(a.headers['x-many'], 'a, b');
      assert.ok(a.body.length < 6000 && a.body.startsWith('x'), `kept ${a.body.length} characters`);
      const busy = await failure(http.sendOk('POST', srv.url, '{}'));
      assert.equal(busy.kind, 'retryable');
      assert.match(busy.message, /answered 503/);
      status = 404;
      const gone = await failure(http.sendOk('POST', srv.url, '{}'));
      assert.equal(gone.kind, 'permanent');
      assert.match(gone.message, /answered 404/);
    } finally {
      http.close();
    }
  });

  it('a receiver that does not answer in time, hangs up, or is not there: retryable, naming what happened', async () => {
    await using srv = await serve((req, res) => {
      if (req.headers['x-mode'] === 'hang-up') req.socket.destroy();
      else if (req.headers['x-mode'] === 'ok') res.end();
      // silent: never answers
    });
    const http = new HttpTransport('hook', srv.url, { timeoutMs: 300 });
    try {
      const t0 = Date.now();
      const slow = await failure(http.sendOk('POST', srv.url, '{}', { 'x-mode': 'silent' }));
      assert.equal(slow.kind, 'retryable');
      assert.match(slow.message, /no answer within 300 ms/);
      assert.ok(Date.now() - t0 < 5000);
      const cut = await failure(http.sendOk('POST', srv.url, '{}', { 'x-mode': 'hang-up' }));
      assert.equal(cut.kind, 'retryable');
      assert.match(cut.message, /^POST http:\/\/127\.0\.0\.1:\d+ failed: /);
      assert.doesNotMatch(cut.message, /\/hook/, 'the path stays out of errors unless pathInErrors');
      // The pool recovers from both on the next request.
      assert.equal((await http.sendOk('POST', srv.url, '{}', { 'x-mode': 'ok' })).status, 200);
    } finally {
      http.close();
    }
    const closed = await serve(() => undefined);
    const url = closed.url;
    await closed[Symbol.asyncDispose]();
    const none = new HttpTransport('hook', url, { timeoutMs: 1000 });
    try {
      const refused = await failure(none.sendOk('POST', url, '{}'));
      assert.equal(refused.kind, 'retryable');
      assert.match(refused.message, /ECONNREFUSED/);
    } finally {
      none.close();
    }
  });

  it('pipelining: several requests in flight on one connection; a broken connection loses none', async () => {
    // Holds the answers until 4 requests are waiting on the same connection: only pipelining gets there.
    const held: { res: ServerResponse; socket: unknown }[] = [];
    let maxInFlight = 0;
    const seen = new Map<string, number>();
    let breakAt = 0;
    await using srv = await serve((req, res) => {
      void readBody(req).then((body) => {
        seen.set(body, (seen.get(body) ?? 0) + 1);
        if (breakAt > 0 && seen.size === breakAt && req.headers['x-break'] === '1') {
          breakAt = 0;
          req.socket.destroy();
          return;
        }
        held.push({ res, socket: req.socket });
        const same = held.filter((h) => h.socket === req.socket).length;
        maxInFlight = Math.max(maxInFlight, same);
        if (same >= 4 || held.length >= 4) for (const h of held.splice(0)) h.res.end('ok');
        else setTimeout(() => held.splice(0).forEach((h) => h.res.end('ok')), 200);
      });
    });
    const http = new HttpTransport('hook', srv.url, { maxSockets: 1, pipelining: 8 });
    try {
      const bodies = Array.from({ length: 40 }, (_, i) => `{"n":${i}}`);
      await Promise.all(bodies.map((b) => http.sendOk('POST', srv.url, b)));
      assert.equal(srv.connections(), 1);
      assert.ok(maxInFlight >= 4, `at most ${maxInFlight} requests in flight on the connection`);
      // The connection breaks with requests in flight: each one is answered 2xx or fails
      // retryable (the runner sends it again); none vanishes.
      seen.clear();
      breakAt = 10;
      const more = Array.from({ length: 30 }, (_, i) => `{"m":${i}}`);
      const outcomes = await Promise.allSettled(
        more.map((b) => http.sendOk('POST', srv.url, b, { 'x-break': '1' })),
      );
      for (const [i, o] of outcomes.entries()) {
        if (o.status === 'rejected') {
          assert.ok(o.reason instanceof DeliveryError && o.reason.kind === 'retryable', String(o.reason));
        } else {
          assert.equal(o.value.status, 200);
          assert.ok((seen.get(more[i] ?? '') ?? 0) >= 1, `answered 200 but never received: ${more[i]}`);
        }
      }
      assert.ok(srv.connections() >= 2, 'a new connection after the break');
    } finally {
      http.close();
    }
  });

  it('refuses a pipelining depth that is not a positive integer', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => new HttpTransport('hook', new URL('http://127.0.0.1:1/'), { pipelining: bad }),
        (err: unknown) => err instanceof SinksOptionsError && /pipelining/.test(err.message),
      );
    }
  });

  it('refuses headers that belong to the transport or could split a request', () => {
    for (const name of [
      'Content-Length',
      'transfer-encoding',
      'Host',
      'connection',
      'keep-alive',
      'upgrade',
      'expect',
    ]) {
      assert.throws(() => checkHeaders('outputs.webhook.headers', { [name]: 'x' }), SinksOptionsError, name);
    }
    assert.throws(() => checkHeaders('h', { 'x-a': 'v\r\nx-b: w' }), SinksOptionsError);
    assert.throws(() => checkHeaders('h', { 'bad name': 'v' }), SinksOptionsError);
    checkHeaders('h', { authorization: 'Bearer t', 'x-tenant': 'a b' });
  });
});
