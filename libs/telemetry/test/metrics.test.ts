import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MetricDefinitionError, MetricUsageError } from '../src/errors.js';
import { MetricsRegistry } from '../src/metrics.js';

describe('MetricsRegistry.render', () => {
  it('renders HELP, TYPE and samples in the 0.0.4 text format', () => {
    const reg = new MetricsRegistry();
    const events = reg.counter('saker_events_total', 'Events received.', ['source']);
    const up = reg.gauge('saker_up', 'Whether the service is up.');
    events.inc({ source: 'syscall' });
    events.inc({ source: 'syscall' }, 2);
    events.inc({ source: 'k8s_audit' });
    up.set(1);
    assert.equal(
      reg.render(),
      [
        '# HELP saker_events_total Events received.',
        '# TYPE saker_events_total counter',
        'saker_events_total{source="syscall"} 3',
        'saker_events_total{source="k8s_audit"} 1',
        '# HELP saker_up Whether the service is up.',
        '# TYPE saker_up gauge',
        'saker_up 1',
        '',
      ].join('\n'),
    );
  });

  it('shows an unlabelled metric as 0 before first use, a labelled one with no samples', () => {
    const reg = new MetricsRegistry();
    reg.counter('a_total', 'A.');
    reg.counter('b_total', 'B.', ['x']);
    assert.equal(
      reg.render(),
      '# HELP a_total A.\n# TYPE a_total counter\na_total 0\n# HELP b_total B.\n# TYPE b_total counter\n',
    );
    assert.equal(new MetricsRegistry().render(), '');
  });

  it('escapes label values and help text', () => {
    const reg = new MetricsRegistry();
    const c = reg.counter('esc_total', 'Line one\nback\\slash "quoted"', ['path']);
    c.inc({ path: 'C:\\dir\n"x"' });
    const text = reg.render();
    assert.match(text, /^# HELP esc_total Line one\\nback\\\\slash "quoted"$/m);
    assert.ok(text.includes('esc_total{path="C:\\\\dir\\n\\"x\\""} 1\n'), text);
  });

  it('renders special float values', () => {
    const reg = new MetricsRegistry();
    const g = reg.gauge('g', 'G.', ['k']);
    g.set(Number.POSITIVE_INFINITY, { k: 'a' });
    g.set(Number.NEGATIVE_INFINITY, { k: 'b' });
    g.set(Number.NaN, { k: 'c' });
    g.set(0.25, { k: 'd' });
    const text = reg.render();
    assert.ok(text.includes('g{k="a"} +Inf\ng{k="b"} -Inf\ng{k="c"} NaN\ng{k="d"} 0.25\n'), text);
  });

  it('orders labels by their declared names, whatever the object order', () => {
    const reg = new MetricsRegistry();
    const c = reg.counter('o_total', 'O.', ['b', 'a']);
    c.inc({ a: '1', b: '2' });
    c.inc({ b: '2', a: '1' });
    assert.ok(reg.render().includes('o_total{b="2",a="1"} 2\n'));
    assert.equal(c.get({ a: '1', b: '2' }), 2);
  });
});

describe('counters and gauges', () => {
  it('counter get defaults to 0 and refuses to go down', () => {
    const c = new MetricsRegistry().counter('c_total', 'C.');
    assert.equal(c.get(), 0);
    c.inc();
    c.inc(undefined, 4);
    assert.equal(c.get(), 5);
    assert.throws(() => c.inc(undefined, -1), MetricUsageError);
    assert.throws(() => c.inc(undefined, Number.NaN), MetricUsageError);
  });

  it('gauge sets, increments and decrements', () => {
    const g = new MetricsRegistry().gauge('depth', 'Depth.', ['q']);
    g.set(10, { q: 'a' });
    g.inc({ q: 'a' });
    g.dec({ q: 'a' }, 3);
    g.dec({ q: 'b' });
    assert.equal(g.get({ q: 'a' }), 8);
    assert.equal(g.get({ q: 'b' }), -1);
    assert.equal(g.get({ q: 'c' }), 0);
  });

  it('labels must be exactly the declared label names', () => {
    const c = new MetricsRegistry().counter('l_total', 'L.', ['rule']);
    assert.throws(() => c.inc(), /missing label "rule"/);
    assert.throws(() => c.inc({ rule: 'x', extra: 'y' }), /unknown label "extra"/);
    const plain = new MetricsRegistry().counter('p_total', 'P.');
    assert.throws(() => plain.inc({ rule: 'x' }), /unknown label "rule" \(label names: none\)/);
  });
});

describe('histograms', () => {
  it('counts observations into cumulative buckets with +Inf, sum and count', () => {
    const reg = new MetricsRegistry();
    const h = reg.histogram('lat_seconds', 'Latency.', { buckets: [0.1, 1, 5], labelNames: ['op'] });
    for (const v of [0.05, 0.1, 0.5, 2, 10]) h.observe(v, { op: 'eval' });
    assert.equal(
      reg.render(),
      [
        '# HELP lat_seconds Latency.',
        '# TYPE lat_seconds histogram',
        'lat_seconds_bucket{op="eval",le="0.1"} 2',
        'lat_seconds_bucket{op="eval",le="1"} 3',
        'lat_seconds_bucket{op="eval",le="5"} 4',
        'lat_seconds_bucket{op="eval",le="+Inf"} 5',
        'lat_seconds_sum{op="eval"} 12.65',
        'lat_seconds_count{op="eval"} 5',
        '',
      ].join('\n'),
    );
  });

  it('uses the default buckets and accepts an explicit +Inf', () => {
    const reg = new MetricsRegistry();
    reg.histogram('d_seconds', 'D.').observe(0.003);
    const text = reg.render();
    assert.ok(text.includes('d_seconds_bucket{le="0.005"} 1\n'));
    assert.ok(text.includes('d_seconds_bucket{le="10"} 1\n'));
    assert.ok(text.includes('d_seconds_bucket{le="+Inf"} 1\n'));
    const same = reg.histogram('x', 'X.', { buckets: [1, 2, Number.POSITIVE_INFINITY] });
    same.observe(3);
    assert.ok(reg.render().includes('x_bucket{le="+Inf"} 1\n'));
  });

  it('rejects bad buckets, the le label and NaN observations', () => {
    const reg = new MetricsRegistry();
    assert.throws(() => reg.histogram('h1', 'H.', { buckets: [1, 1] }), /increase strictly/);
    assert.throws(() => reg.histogram('h2', 'H.', { buckets: [] }), /at least one bucket/);
    assert.throws(() => reg.histogram('h3', 'H.', { labelNames: ['le'] }), /reserved/);
    const h = reg.histogram('h4', 'H.');
    assert.throws(() => h.observe(Number.NaN), MetricUsageError);
  });
});

describe('registration', () => {
  it('returns the same metric for an identical definition', () => {
    const reg = new MetricsRegistry();
    const a = reg.counter('same_total', 'Same.', ['x']);
    const b = reg.counter('same_total', 'Same.', ['x']);
    assert.equal(a, b);
    const h1 = reg.histogram('hh', 'H.', { buckets: [1, 2] });
    assert.equal(reg.histogram('hh', 'H.', { buckets: [1, 2] }), h1);
  });

  it('throws a clear error for a conflicting definition', () => {
    const reg = new MetricsRegistry();
    reg.counter('dup_total', 'Dup.', ['x']);
    assert.throws(
      () => reg.gauge('dup_total', 'Dup.', ['x']),
      /already registered with type counter, not gauge/,
    );
    assert.throws(() => reg.counter('dup_total', 'Other.', ['x']), /help "Dup\."/);
    assert.throws(() => reg.counter('dup_total', 'Dup.', ['y']), /labels \[x\]/);
    reg.histogram('hb', 'H.', { buckets: [1] });
    assert.throws(() => reg.histogram('hb', 'H.', { buckets: [2] }), /buckets \[1\]/);
    assert.throws(() => reg.counter('hb_count', 'C.'), /already exposed by metric hb/);
  });

  it('rejects invalid metric and label names', () => {
    const reg = new MetricsRegistry();
    for (const bad of ['', '1abc', 'a-b', 'a b', 'é']) {
      assert.throws(() => reg.counter(bad, 'X.'), MetricDefinitionError, bad);
    }
    assert.doesNotThrow(() => reg.counter('ns:sub_total', 'Colons are allowed.'));
    assert.throws(() => reg.counter('ok_total', 'X.', ['a:b']), /invalid label name "a:b"/);
    assert.throws(() => reg.counter('ok2_total', 'X.', ['__x']), /reserved/);
    assert.throws(() => reg.counter('ok3_total', 'X.', ['a', 'a']), /duplicate label name/);
    assert.throws(() => reg.counter('ok4_total', ''), /help text is required/);
  });
});
