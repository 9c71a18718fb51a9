/**
 * SIEM and alerting outputs (elasticsearch, loki, prometheus, smtp), each
 * against a local server that checks the vendor's documented wire format
 * (the SMTP receiver here checks dot-stuffing and command order on the wire;
 * real-servers.test.ts sends to Postfix over STARTTLS, and to a real
 * Alertmanager); Elasticsearch's per-item bulk errors through the framework
 * (only failed items retried, mapping errors dead-lettered).
 */
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import { type AddressInfo, type Socket, createServer as createTcpServer } from 'node:net';
import { describe, it } from 'node:test';
import { MetricsRegistry } from '@saker/telemetry';
import { ElasticsearchOutput, indexName } from '../src/outputs/elasticsearch.js';
import { LokiOutput } from '../src/outputs/loki.js';
import { PrometheusOutput } from '../src/outputs/prometheus.js';
import { SmtpOutput } from '../src/outputs/smtp.js';
import { JSON_FORMAT, alertJsonText, makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { readDeadLetters, testEnv } from './helpers/env.js';

interface Got {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

type Handler = (req: Got, res: ServerResponse) => void;

async function httpServer(handler: Handler): Promise<{ url: string; got: Got[] } & AsyncDisposable> {
  const got: Got[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const g = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      got.push(g);
      handler(g, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    got,
    async [Symbol.asyncDispose]() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}

function delivery(
  i: number,
  over: Parameters<typeof makeAlert>[1] = {},
): { alert: ReturnType<typeof makeAlert>; raw: string } {
  const alert = makeAlert(i, over);
  return { alert, raw: alertJsonText(alert) };
}

/** Checks a `_bulk` body: NDJSON pairs, each action a `create` with _index and _id. */
function parseBulk(
  body: string,
): { action: { _index: string; _id: string }; doc: Record<string, unknown> }[] {
  assert.ok(body.endsWith('\n'), 'a bulk body ends with a newline');
  const lines = body.slice(0, -1).split('\n');
  assert.equal(lines.length % 2, 0);
  const out = [];
  for (let i = 0; i < lines.length; i += 2) {
    const action = JSON.parse(lines[i] ?? '') as { create?: { _index: string; _id: string } };
    assert.ok(action.create, `line ${i} is a create action`);
    out.push({ action: action.create, doc: JSON.parse(lines[i + 1] ?? '') as Record<string, unknown> });
  }
  return out;
}

describe('elasticsearch', () => {
  it('indexes through _bulk (NDJSON, daily/monthly index, auth headers)', async () => {
    await using srv = await httpServer((req, res) => {
      const n = parseBulk(req.body).length;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          took: 1,
          errors: false,
          items: Array.from({ length: n }, () => ({ create: { status: 201 } })),
        }),
      );
    });
    assert.equal(indexName('falco', 'daily', '2026-11-29T23:59:59.999999999Z'), 'falco-2026.11.29');
    assert.equal(indexName('falco', 'monthly', '2026-11-29T10:00:00Z'), 'falco-2026.11');
    assert.equal(indexName('falco', 'none', '2026-11-29T10:00:00Z'), 'falco');
    const es = new ElasticsearchOutput({ url: `${srv.url}/prefix/`, username: 'elastic', password: 'pw' });
    const a = delivery(1, { time: '2026-11-29T06:00:00.123456789Z' });
    const b = delivery(2, { time: '2026-11-30T00:00:01Z' });
    await es.deliverBatch([a, b]);
    const req = srv.got[0];
    assert.ok(req);
    assert.equal(req.method, 'POST');
    assert.equal(req.url, '/prefix/_bulk');
    assert.equal(req.headers['content-type'], 'application/x-ndjson');
    assert.equal(req.headers.authorization, `Basic ${Buffer.from('elastic:pw').toString('base64')}`);
    const items = parseBulk(req.body);
    assert.deepEqual(
      items.map((x) => x.action._index),
      ['falco-2026.11.29', 'falco-2026.11.30'],
    );
    assert.equal(items[0]?.doc['@timestamp'], '2026-11-29T06:00:00.123456789Z');
    assert.equal(items[0]?.doc.rule, 'Read sensitive file');
    assert.match(items[0]?.action._id ?? '', /^[0-9a-f]{40}$/);
    await es.close();

    const monthly = new ElasticsearchOutput({
      url: srv.url,
      apiKey: 'a2V5OnNlY3JldA==',
      suffix: 'monthly',
      index: 'sec',
    });
    await monthly.deliver(a.alert, a.raw);
    assert.equal(srv.got[1]?.headers.authorization, 'ApiKey a2V5OnNlY3JldA==');
    assert.equal(parseBulk(srv.got[1]?.body ?? '')[0]?.action._index, 'sec-2026.11');
    await monthly.close();
  });

  it('retries only the failed bulk items and dead-letters mapping errors', async () => {
    await using env = await testEnv();
    const stored = new Map<number, number>(); // alert.id → times stored
    let first429 = true;
    await using srv = await httpServer((req, res) => {
      const items = parseBulk(req.body).map(({ doc }) => {
        const id = (doc.output_fields as Record<string, number>)['alert.id'] ?? -1;
        if (id === 3) {
          return {
            create: {
              status: 400,
              error: { type: 'mapper_parsing_exception', reason: 'failed to parse field [proc.cmdline]' },
            },
          };
        }
        if (id === 5 && first429) {
          first429 = false;
          return {
            create: { status: 429, error: { type: 'es_rejected_execution_exception', reason: 'queue full' } },
          };
        }
        stored.set(id, (stored.get(id) ?? 0) + 1);
        return { create: { status: 201, result: 'created' } };
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ took: 3, errors: items.some((i) => i.create.status >= 300), items }));
    });
    const es = new ElasticsearchOutput({ name: 'es', url: srv.url });
    await env.startSinks({
      outputs: [
        {
          output: es,
          format: JSON_FORMAT,
          batch: { maxAlerts: 10, lingerMs: 200 },
          backoff: { initialMs: 50, maxMs: 100 },
        },
      ],
    });
    await publishAlerts(
      env.bus,
      Array.from({ length: 8 }, (_, i) => makeAlert(i)),
    );
    await until('7 alerts stored', () => stored.size === 7);
    const dead = await readDeadLetters(env.bus, 1);
    assert.equal(dead.length, 1);
    assert.equal(dead[0]?.reason, 'permanent');
    assert.match(String(dead[0]?.error), /400: .*mapper_parsing_exception/);
    assert.equal(
      ((dead[0]?.alert as Record<string, unknown>).output_fields as Record<string, number>)['alert.id'],
      3,
    );
    // Every stored alert once: the retry carried only the failed item.
    assert.deepEqual([...stored.values()], [1, 1, 1, 1, 1, 1, 1]);
    const retry = srv.got.find((g) => parseBulk(g.body).length === 1);
    assert.ok(retry, 'a retry request with only the 429 item');
    assert.equal((parseBulk(retry.body)[0]?.doc.output_fields as Record<string, number>)['alert.id'], 5);
    await until(
      'settled',
      () => env.sinks?.stats('es')?.delivered === 7 && env.sinks.stats('es')?.deadLettered === 1,
    );
  });

  it('whole-request statuses: 503 retryable, 401 permanent', async () => {
    let status = 503;
    await using srv = await httpServer((_req, res) => {
      res.writeHead(status);
      res.end('nope');
    });
    const es = new ElasticsearchOutput({ url: srv.url });
    const d = delivery(1);
    await assert.rejects(
      es.deliver(d.alert, d.raw),
      (e: unknown) => (e as { kind?: string }).kind === 'retryable',
    );
    status = 401;
    await assert.rejects(
      es.deliver(d.alert, d.raw),
      (e: unknown) => (e as { kind?: string }).kind === 'permanent',
    );
    await es.close();
  });
});

describe('loki', () => {
  it('pushes streams with labels, ns timestamps and the tenant header', async () => {
    await using srv = await httpServer((_req, res) => {
      res.writeHead(204);
      res.end();
    });
    const loki = new LokiOutput({
      url: srv.url,
      format: JSON_FORMAT,
      tenant: 'team-a',
      extraLabels: { cluster: 'prod-1', 'bad.name': 'x' },
      fieldLabels: ['proc.cmdline'],
    });
    const a = delivery(1, { time: '2026-11-29T06:00:00.123456789Z' });
    const b = delivery(2, { rule: 'Other rule', priority: 'Critical' });
    await loki.deliverBatch([a, b]);
    const req = srv.got[0];
    assert.ok(req);
    assert.equal(req.url, '/loki/api/v1/push');
    assert.equal(req.headers['content-type'], 'application/json');
    assert.equal(req.headers['x-scope-orgid'], 'team-a');
    const body = JSON.parse(req.body) as {
      streams: { stream: Record<string, string>; values: [string, string][] }[];
    };
    assert.equal(body.streams.length, 2);
    const s0 = body.streams[0];
    assert.ok(s0);
    assert.deepEqual(s0.stream, {
      cluster: 'prod-1',
      bad_name: 'x',
      proc_cmdline: 'cat /etc/shadow id=1',
      rule: 'Read sensitive file',
      priority: 'Warning',
      source: 'syscall',
      hostname: 'node-1',
    });
    assert.deepEqual(s0.values, [['1795932000123456789', a.raw]]);
    assert.equal(typeof s0.values[0]?.[0], 'string');
    assert.equal(body.streams[1]?.stream.priority, 'Critical');
    await loki.close();

    const plain = new LokiOutput({ url: srv.url, format: { ...JSON_FORMAT, json: false } });
    await plain.deliver(a.alert, a.raw);
    const second = srv.got[1];
    assert.ok(second);
    assert.equal(second.headers['x-scope-orgid'], undefined);
    const line = (JSON.parse(second.body) as { streams: { values: [string, string][] }[] }).streams[0]
      ?.values[0]?.[1];
    assert.match(line ?? '', /Warning Sensitive file opened/);
    await plain.close();
  });
});

describe('prometheus', () => {
  it('counts falco_events on the service registry', async () => {
    const registry = new MetricsRegistry();
    const prom = new PrometheusOutput({ registry, extraLabels: ['proc.name'] });
    const a = makeAlert(1, {
      output_fields: { 'k8s.ns.name': 'prod', 'k8s.pod.name': 'web-1', 'proc.name': 'cat' },
    });
    await prom.deliver(a);
    await prom.deliver(a);
    await prom.deliver(makeAlert(2, { priority: 'Critical', source: 'k8s_audit', tags: [] }));
    const text = registry.render();
    assert.match(text, /^# TYPE falco_events counter$/m);
    assert.ok(
      text.includes(
        'falco_events{hostname="node-1",rule="Read sensitive file",priority="warning",priority_raw="4",source="syscall",k8s_ns_name="prod",k8s_pod_name="web-1",tags="filesystem,mitre_credential_access",proc_name="cat"} 2',
      ),
      text,
    );
    assert.ok(
      text.includes(
        'priority="critical",priority_raw="6",source="k8s_audit",k8s_ns_name="",k8s_pod_name="",tags="",proc_name=""} 1',
      ),
      text,
    );
  });
});

/**
 * A strict SMTP receiver: EHLO before MAIL, MAIL before RCPT, RCPT before
 * DATA, CRLF line ends only, lines ≤ 1000 octets; DATA ends at CRLF.CRLF and
 * is un-dot-stuffed (RFC 5321 §4.5.2). Anything else is answered 503/500
 * and recorded as a violation.
 */
async function smtpReceiver(): Promise<
  {
    port: number;
    messages: { from: string; to: string[]; data: string; raw: string }[];
    violations: string[];
  } & AsyncDisposable
> {
  const messages: { from: string; to: string[]; data: string; raw: string }[] = [];
  const violations: string[] = [];
  const sockets = new Set<Socket>();
  const server = createTcpServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buf = Buffer.alloc(0);
    let state: 'init' | 'ready' | 'mail' | 'rcpt' | 'data' = 'init';
    let from = '';
    let to: string[] = [];
    let dataLines: string[] = [];
    const reply = (s: string): void => {
      sock.write(`${s}\r\n`);
    };
    const bad = (why: string): void => {
      violations.push(why);
      reply(`503 ${why}`);
    };
    sock.write('220 test.local ESMTP strict\r\n');
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (let i = buf.indexOf('\r\n'); i >= 0; i = buf.indexOf('\r\n')) {
        const line = buf.subarray(0, i).toString('utf8');
        buf = buf.subarray(i + 2);
        if (line.includes('\n') || line.includes('\r'))
          violations.push(`bare CR or LF in ${JSON.stringify(line.slice(0, 40))}`);
        if (Buffer.byteLength(line) > 998) violations.push('line over 998 octets');
        if (state === 'data') {
          if (line === '.') {
            messages.push({
              from,
              to,
              data: dataLines.map((l) => (l.startsWith('.') ? l.slice(1) : l)).join('\r\n'),
              raw: dataLines.join('\r\n'),
            });
            state = 'ready';
            reply('250 2.0.0 queued');
          } else {
            dataLines.push(line);
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO') {
          if (!/^EHLO \S+$/.test(line)) bad('bad EHLO');
          else {
            state = 'ready';
            sock.write('250-test.local\r\n250-8BITMIME\r\n250 SIZE 10485760\r\n');
          }
        } else if (verb === 'MAIL') {
          const m = /^MAIL FROM:<([^<>\r\n]+)>$/.exec(line);
          if (state !== 'ready') bad('MAIL before EHLO');
          else if (!m) bad('bad MAIL');
          else {
            from = m[1] ?? '';
            to = [];
            state = 'mail';
            reply('250 2.1.0 ok');
          }
        } else if (verb === 'RCPT') {
          const m = /^RCPT TO:<([^<>\r\n]+)>$/.exec(line);
          if (state !== 'mail' && state !== 'rcpt') bad('RCPT before MAIL');
          else if (!m) bad('bad RCPT');
          else {
            to.push(m[1] ?? '');
            state = 'rcpt';
            reply('250 2.1.5 ok');
          }
        } else if (line === 'DATA') {
          if (state !== 'rcpt') bad('DATA before RCPT');
          else {
            state = 'data';
            dataLines = [];
            reply('354 end with <CRLF>.<CRLF>');
          }
        } else if (line === 'QUIT') {
          reply('221 bye');
          sock.end();
        } else {
          bad(`unexpected command ${JSON.stringify(line.slice(0, 60))}`);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as AddressInfo).port,
    messages,
    violations,
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

function decodeQp(text: string): string {
  const joined = text.replace(/=\r\n/g, '');
  return Buffer.from(
    joined.replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

describe('smtp', () => {
  it('sends one message per alert; dot-stuffs, and CRLF.CRLF in the alert cannot end DATA', async () => {
    await using rx = await smtpReceiver();
    const smtp = new SmtpOutput({
      host: '127.0.0.1',
      port: rx.port,
      from: 'falco@saker.example',
      to: ['soc@example.com', 'oncall@example.com'],
      starttls: 'opportunistic',
    });
    const hostile =
      'sh -c "x"\r\n.\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<victim@x>\r\n.leading dot\r\n..two dots\n.';
    const a = makeAlert(1, {
      rule: 'Shell — ünïcode',
      output: `.starts with a dot ${hostile}`,
      output_fields: { 'proc.cmdline': hostile },
    });
    await smtp.deliver(a);
    await until('one message', () => rx.messages.length === 1);
    assert.deepEqual(rx.violations, []);
    const m = rx.messages[0];
    assert.ok(m);
    assert.equal(m.from, 'falco@saker.example');
    assert.deepEqual(m.to, ['soc@example.com', 'oncall@example.com']);
    // The raw DATA lines: every line that starts with '.' was stuffed.
    const rawLines = m.raw.split('\r\n');
    assert.ok(rawLines.includes('..'), 'the lone dot line arrived stuffed');
    assert.ok(rawLines.some((l) => l.startsWith('..leading dot')));
    assert.ok(rawLines.some((l) => l.startsWith('...two dots')));
    const [head, ...bodyParts] = m.data.split('\r\n\r\n');
    assert.match(head ?? '', /^Subject: =\?UTF-8\?B\?[A-Za-z0-9+/=]+\?=$/m);
    assert.equal(
      Buffer.from(/Subject: =\?UTF-8\?B\?([^?]+)\?=/.exec(head ?? '')?.[1] ?? '', 'base64').toString('utf8'),
      '[Falco] Warning: Shell — ünïcode',
    );
    assert.match(head ?? '', /^Content-Transfer-Encoding: quoted-printable$/m);
    const body = decodeQp(bodyParts.join('\r\n\r\n'));
    assert.ok(body.includes('MAIL FROM:<evil@x>'), 'attacker text is in the body, as data');
    assert.ok(body.includes('.starts with a dot'));
    await smtp.deliverBatch([
      { alert: makeAlert(2), raw: '' },
      { alert: makeAlert(3), raw: '' },
    ]);
    await until('digest', () => rx.messages.length === 2);
    assert.match(rx.messages[1]?.data ?? '', /^Subject: \[Falco\] 2 alerts$/m);
    assert.deepEqual(rx.violations, []);
  });

  it('5xx is permanent, 4xx and refused connections retryable; required STARTTLS not offered fails', async () => {
    await using rx = await smtpReceiver();
    const a = makeAlert(1);
    const bad = new SmtpOutput({
      host: '127.0.0.1',
      port: rx.port,
      from: 'falco@x',
      to: ['a@b'],
      starttls: 'required',
    });
    await assert.rejects(
      bad.deliver(a),
      (e: unknown) => (e as { kind?: string }).kind === 'retryable' && /STARTTLS/.test(String(e)),
    );
    const refused = new SmtpOutput({ host: '127.0.0.1', port: 1, from: 'falco@x', to: ['a@b'] });
    await assert.rejects(refused.deliver(a), (e: unknown) => (e as { kind?: string }).kind === 'retryable');
    assert.throws(
      () => new SmtpOutput({ host: 'h', from: 'a@b>\r\nRCPT TO:<x@y', to: ['a@b'] }),
      /smtp\.from/,
    );
  });
});
