import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startOtlpReceiver } from '@saker/testing';
import { TelemetryConfigError, initTelemetry, tracesUrl, tracingInitConfig } from '../src/sdk.js';
import { extractTraceContext, getTracer, injectTraceContext, withSpan } from '../src/tracing.js';

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
    const collector = await startOtlpReceiver();
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
    const collector = await startOtlpReceiver();
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

describe('tracingInitConfig (saker.yaml, then OTEL_* variables)', () => {
  const none = { exporter: null, endpoint: null, sampleRatio: null, serviceName: null, headers: {} } as const;

  it('reads the standard variables', () => {
    const c = tracingInitConfig('saker-engine', null, {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://otel:4318',
      OTEL_SERVICE_NAME: 'engine-a',
      OTEL_TRACES_SAMPLER: 'traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20x,x-tenant=t1',
    });
    assert.deepEqual(c, {
      serviceName: 'engine-a',
      tracingEndpoint: 'http://otel:4318/v1/traces',
      tracingHeaders: { authorization: 'Bearer x', 'x-tenant': 't1' },
      sampleRatio: 0.25,
      parentBased: false,
    });
  });

  it('saker.yaml keys win over the variables; none and OTEL_SDK_DISABLED export nothing', () => {
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318', OTEL_SERVICE_NAME: 'env' };
    const c = tracingInitConfig(
      'saker-sinks',
      { ...none, endpoint: 'http://file:4318/v1/traces', sampleRatio: 1 },
      env,
    );
    assert.equal(c.tracingEndpoint, 'http://file:4318/v1/traces');
    assert.equal(c.serviceName, 'env');
    assert.equal(c.sampleRatio, 1);
    assert.equal(tracingInitConfig('s', { ...none, exporter: 'none' }, env).tracingEndpoint, undefined);
    assert.equal(
      tracingInitConfig('s', null, { ...env, OTEL_SDK_DISABLED: 'true' }).tracingEndpoint,
      undefined,
    );
    assert.equal(tracingInitConfig('s', null, {}).tracingEndpoint, undefined, 'no endpoint, no export');
  });

  it('a bad value fails, naming the variable', () => {
    const bad = (env: Record<string, string>, key: string) =>
      assert.throws(
        () => tracingInitConfig('s', null, env),
        (e: unknown) => e instanceof TelemetryConfigError && e.key === key,
      );
    bad({ OTEL_TRACES_EXPORTER: 'zipkin' }, 'OTEL_TRACES_EXPORTER');
    bad({ OTEL_TRACES_EXPORTER: 'otlp' }, 'OTEL_TRACES_EXPORTER');
    bad({ OTEL_TRACES_SAMPLER: 'sometimes' }, 'OTEL_TRACES_SAMPLER');
    bad({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '2' }, 'OTEL_TRACES_SAMPLER_ARG');
    bad({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'OTEL_EXPORTER_OTLP_PROTOCOL');
    bad({ OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }, 'OTEL_EXPORTER_OTLP_HEADERS');
  });
});
