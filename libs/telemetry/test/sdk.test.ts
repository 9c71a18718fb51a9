import assert from 'node:assert/strict';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { extractTraceContext, getTracer, injectTraceContext, withSpan } from '../src/mod.js';
import { TelemetryConfigError, initTelemetry, tracesUrl } from '../src/sdk.js';

/** A stand-in OTLP/HTTP collector: records the bodies POSTed to /v1/traces. */
async function startCollector(): Promise<{ url: string; bodies: string[]; close(): Promise<void> }> {
  const bodies: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/traces') bodies.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('tracing without the SDK', () => {
  it('spans are no-ops and withSpan passes results and errors through', async () => {
    const tracer = getTracer('test');
    assert.equal(await withSpan(tracer, 'x', () => 42), 42);
    await assert.rejects(
      withSpan(tracer, 'y', () => {
        throw new Error('boom');
      }),
      /boom/,
    );
    const carrier: Record<string, string> = {};
    injectTraceContext(carrier);
    assert.deepEqual(carrier, {});
  });
});

describe('initTelemetry', () => {
  it('without an endpoint installs no exporter but propagates trace context', async () => {
    const handle = await initTelemetry({ serviceName: 'saker-test' });
    try {
      assert.equal(handle.exporting, false);
      assert.equal(handle.endpoint, undefined);
      const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
      const ctx = extractTraceContext({ traceparent });
      const carrier: Record<string, string> = {};
      injectTraceContext(carrier, ctx);
      assert.equal(carrier.traceparent, traceparent);
    } finally {
      await handle.shutdown();
    }
  });

  it('with an endpoint exports sampled spans over OTLP/HTTP', async () => {
    const collector = await startCollector();
    const handle = await initTelemetry({
      serviceName: 'saker-test',
      serviceVersion: '0.1.0',
      tracingEndpoint: collector.url,
      sampleRatio: 1,
    });
    try {
      assert.equal(handle.exporting, true);
      assert.equal(handle.endpoint, `${collector.url}/v1/traces`);
      const tracer = getTracer('saker.test');
      await withSpan(tracer, 'evaluate-batch', async (span) => {
        span.setAttribute('saker.events', 3);
        const carrier: Record<string, string> = {};
        injectTraceContext(carrier);
        assert.match(carrier.traceparent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      });
    } finally {
      await handle.shutdown();
      await collector.close();
    }
    const all = collector.bodies.join('\n');
    assert.ok(all.includes('evaluate-batch'), `collector got: ${all.slice(0, 500)}`);
    assert.ok(all.includes('saker-test'));
  });

  it('with ratio 0 samples no root span, and honours a sampled parent', async () => {
    const collector = await startCollector();
    const handle = await initTelemetry({
      serviceName: 'saker-test',
      tracingEndpoint: collector.url,
      sampleRatio: 0,
    });
    try {
      const tracer = getTracer('saker.test');
      await withSpan(tracer, 'unsampled-root', () => undefined);
      const parent = extractTraceContext({
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      });
      tracer.startSpan('child-of-sampled', {}, parent).end();
    } finally {
      await handle.shutdown();
      await collector.close();
    }
    const all = collector.bodies.join('\n');
    assert.ok(!all.includes('unsampled-root'));
    assert.ok(all.includes('child-of-sampled'));
  });

  it('rejects bad configuration and a second initialisation', async () => {
    await assert.rejects(initTelemetry({ serviceName: 's', sampleRatio: 1.5 }), TelemetryConfigError);
    await assert.rejects(initTelemetry({ serviceName: 's', tracingEndpoint: 'not a url' }), /not a URL/);
    await assert.rejects(initTelemetry({ serviceName: 's', tracingEndpoint: 'ftp://x' }), /http/);
    const handle = await initTelemetry({ serviceName: 's' });
    try {
      await assert.rejects(initTelemetry({ serviceName: 's' }), /already initialised/);
    } finally {
      await handle.shutdown();
    }
    const again = await initTelemetry({ serviceName: 's' });
    await again.shutdown();
  });

  it('normalizes the traces URL', () => {
    assert.equal(tracesUrl('http://c:4318'), 'http://c:4318/v1/traces');
    assert.equal(tracesUrl('http://c:4318/'), 'http://c:4318/v1/traces');
    assert.equal(tracesUrl('https://c/otlp/v1/traces'), 'https://c/otlp/v1/traces');
  });
});
