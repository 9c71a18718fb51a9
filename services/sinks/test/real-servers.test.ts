/**
 * The SMTP, syslog and Alertmanager outputs against the real servers Debian
 * ships, each with its own config on an ephemeral loopback port
 * (libs/testing): Postfix requiring STARTTLS and delivering to a Maildir read
 * back here, rsyslogd parsing what it received into a file read back here,
 * and Prometheus Alertmanager, whose API is asked for the alert afterwards.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { makeTestPki, startAlertmanager, startPostfix, startRsyslog } from '@saker/testing';
import { AlertmanagerOutput, sanitizeLabelName } from '../src/outputs/alertmanager.js';
import { SmtpOutput } from '../src/outputs/smtp.js';
import { SyslogOutput } from '../src/outputs/syslog.js';
import { JSON_FORMAT, alertJsonText, makeAlert } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';
import { sendSyslogCase } from './helpers/syslog-case.js';

const TEXT = { ...JSON_FORMAT, json: false };

const HOSTILE =
  'sh -c "echo hi\n<13>1 2024-01-01T00:00:00Z forged - - - - FAKE RECORD\r\n\u001b[31mred\u001b[0m <script>alert(1)</script>"';

/** Decodes a quoted-printable body (soft line breaks, =XX octets) as UTF-8. */
function decodeQp(text: string): string {
  const joined = text.replace(/=\r?\n/g, '');
  return Buffer.from(
    joined.replace(/=([0-9A-F]{2})/g, (_m, h: string) => String.fromCharCode(Number.parseInt(h, 16))),
    'latin1',
  ).toString('utf8');
}

describe('smtp output to Postfix (STARTTLS required)', { timeout: 60_000 }, () => {
  it('delivers over STARTTLS to both recipients; the mailbox shows the TLS session and the alert', async () => {
    using pki = makeTestPki();
    await using mta = await startPostfix({ certFile: pki.files.serverCert, keyFile: pki.files.serverKey });
    const smtp = new SmtpOutput({
      host: mta.host,
      port: mta.port,
      from: `falco@${mta.domain}`,
      to: [`soc@${mta.domain}`, `oncall@${mta.domain}`],
      starttls: 'required',
      tls: { ca: pki.caCert, servername: 'localhost' },
    });
    const a = makeAlert(1, {
      rule: 'Shell — ünïcode',
      output: `.starts with a dot ${HOSTILE}\r\n.\r\nMAIL FROM:<evil@x>`,
      output_fields: { 'proc.cmdline': HOSTILE },
    });
    await smtp.deliver(a);
    await smtp.close();
    const got = await mta.waitForMessages(2);
    assert.equal(got.length, 2, 'one copy per recipient, and no message smuggled in by the alert text');
    for (const m of got) {
      const [head = '', ...rest] = m.raw.split('\n\n');
      // Postfix's own Received header: the message came over TLS (smtpd_tls_received_header).
      assert.match(head, /^Received: from .*\n\s+\(using TLSv1\.[23] with cipher /m, head);
      assert.match(head, /^Return-Path: <falco@saker\.test>$/m);
      assert.match(head, /^Delivered-To: (soc|oncall)@saker\.test$/m);
      const subject = /^Subject: =\?UTF-8\?B\?([^?]+)\?=$/m.exec(head)?.[1] ?? '';
      assert.equal(Buffer.from(subject, 'base64').toString('utf8'), '[Falco] Warning: Shell — ünïcode');
      const body = decodeQp(rest.join('\n\n'));
      assert.ok(body.includes('.starts with a dot'), body);
      assert.ok(body.includes('MAIL FROM:<evil@x>'), 'the attacker text is body data');
    }
    assert.deepEqual(got.map((m) => /^Delivered-To: (\S+)$/m.exec(m.raw)?.[1]).sort(), [
      'oncall@saker.test',
      'soc@saker.test',
    ]);
  });

  it('refuses to send in clear to a server that requires TLS, and fails on an untrusted certificate', async () => {
    using pki = makeTestPki();
    await using mta = await startPostfix({ certFile: pki.files.serverCert, keyFile: pki.files.serverKey });
    const base = { host: mta.host, port: mta.port, from: 'falco@saker.test', to: ['soc@saker.test'] };
    const clear = new SmtpOutput({ ...base, starttls: 'off' });
    // Postfix answers MAIL with 530 5.7.0 "Must issue a STARTTLS command first".
    await assert.rejects(clear.deliver(makeAlert(1)), /530|STARTTLS/);
    await clear.close();
    const untrusted = new SmtpOutput({ ...base, starttls: 'required', tls: { servername: 'localhost' } });
    await assert.rejects(untrusted.deliver(makeAlert(2)), /certificate|self[- ]signed|issuer/i);
    await untrusted.close();
    assert.deepEqual(mta.messages(), [], 'nothing was delivered');
  });
});

describe('syslog output to rsyslogd', { timeout: 60_000 }, () => {
  for (const transport of ['udp', 'tcp'] as const) {
    it(`RFC 5424 over ${transport} through JetStream: rsyslog parses PRI, APP-NAME, PROCID and a neutralised MSG`, async () => {
      await using env = await testEnv();
      await using rx = await startRsyslog();
      await sendSyslogCase(env, HOSTILE, { transport, port: transport === 'tcp' ? rx.tcpPort : rx.udpPort });
      const records = await rx.waitFor('3 records', (r) => r.length >= 3);
      assert.equal(records.length, 3);
      assert.deepEqual(
        new Set(records.map((r) => r.input)),
        new Set([transport === 'tcp' ? 'imtcp' : 'imudp']),
      );
      // local0 = 16: 16·8 + severity (Emergency 0, Critical 2, Debug 7).
      assert.deepEqual(
        records.map((r) => Number(r.pri)).sort((a, b) => a - b),
        [128, 130, 135],
      );
      for (const r of records) {
        assert.equal(r.protocol, '1', 'parsed as RFC 5424');
        assert.equal(r.facility, 'local0');
        assert.equal(r.app, 'falco');
        assert.equal(r.procid, String(process.pid));
        assert.doesNotMatch(r.msg, /[\u0000-\u001f\u007f]/);
      }
      const hostile = records.find((r) => r.pri === '135');
      assert.ok(hostile?.msg.includes('echo hi#012<13>1 2024-01-01T00:00:00Z forged'), hostile?.msg);
      assert.ok(hostile?.msg.includes('#033[31mred#033[0m <script>alert(1)</script>'), hostile?.msg);
      assert.equal(records.find((r) => r.pri === '128')?.hostname, 'badhostname');
      assert.equal(records.find((r) => r.pri === '130')?.severity, 'crit');
    });
  }

  it('frames a 1 MiB command line over TCP so that rsyslog reads it, and the next message, whole', async () => {
    await using rx = await startRsyslog();
    const out = new SyslogOutput({ format: TEXT, transport: 'tcp', host: '127.0.0.1', port: rx.tcpPort });
    const huge = `x${'\n'.repeat(3)}${'é'.repeat(512 * 1024)}`;
    for (const a of [makeAlert(1, { output: huge }), makeAlert(2)]) await out.deliver(a, alertJsonText(a));
    await out.close();
    const records = await rx.waitFor('2 records', (r) => r.length >= 2);
    assert.equal(records.length, 2);
    assert.ok(records[0]?.msg.startsWith('x#012#012#012éé'));
    assert.equal(Buffer.byteLength(records[0]?.msg ?? ''), 1 + 3 * 4 + 1024 * 1024);
    assert.ok(records[1]?.msg.endsWith('id=2)'), records[1]?.msg);
  });
});

interface AmAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL?: string;
  readonly status: { readonly state: string };
}

describe('alertmanager output to Prometheus Alertmanager', { timeout: 60_000 }, () => {
  it('posts v2 alerts that Alertmanager accepts (sanitized label names) and lists as active', async () => {
    assert.equal(sanitizeLabelName('k8s.ns.name'), 'k8s_ns_name');
    assert.equal(sanitizeLabelName('9lives'), '_9lives');
    assert.equal(sanitizeLabelName('__name__'), 'x__name__');
    assert.equal(sanitizeLabelName('évt-x'), '_vt_x');
    await using am = await startAlertmanager();
    const out = new AlertmanagerOutput({
      url: am.url,
      expiresAfterMs: 600_000,
      generatorUrl: 'https://saker.example/alerts',
      extraLabels: { team: 'sec' },
    });
    // Alertmanager lists only alerts that have not ended: start them now.
    const now = new Date();
    const a = makeAlert(7, {
      time: now.toISOString(),
      output_fields: { 'k8s.ns.name': 'prod', 'evt.num': 42, '9lives': 'x', empty: '', nul: null },
    });
    const b = makeAlert(8, {
      time: now.toISOString(),
      rule: 'Terminal shell in container',
      priority: 'Notice',
    });
    await out.deliverBatch([
      { alert: a, raw: alertJsonText(a) },
      { alert: b, raw: alertJsonText(b) },
    ]);
    await out.close();
    const res = await fetch(`${am.url}/api/v2/alerts?filter=team%3D%22sec%22`);
    assert.equal(res.status, 200);
    const listed = (await res.json()) as AmAlert[];
    assert.equal(listed.length, 2, JSON.stringify(listed));
    const first = listed.find((x) => x.labels.alertname === 'Read sensitive file');
    assert.ok(first, JSON.stringify(listed));
    assert.deepEqual(first.labels, {
      alertname: 'Read sensitive file',
      k8s_ns_name: 'prod',
      evt_num: '42',
      _9lives: 'x',
      team: 'sec',
      source: 'syscall',
      hostname: 'node-1',
      priority: 'Warning',
    });
    assert.equal(first.annotations.summary, 'Read sensitive file');
    assert.equal(first.annotations.description, a.output);
    assert.equal(first.status.state, 'active');
    assert.equal(first.generatorURL, 'https://saker.example/alerts');
    assert.equal(Date.parse(first.startsAt), now.getTime());
    assert.equal(Date.parse(first.endsAt) - Date.parse(first.startsAt), 600_000);
    assert.equal(
      listed.find((x) => x.labels.alertname === 'Terminal shell in container')?.labels.priority,
      'Notice',
    );
  });

  it("an alert Alertmanager's API rejects (4xx) is a permanent failure, not a retry", async () => {
    await using am = await startAlertmanager();
    // Alertmanager's API checks generatorURL is a URI.
    const out = new AlertmanagerOutput({ url: am.url, generatorUrl: '::not a uri' });
    const a = makeAlert(1, { time: new Date().toISOString() });
    await assert.rejects(
      out.deliverBatch([{ alert: a, raw: alertJsonText(a) }]),
      (e: unknown) => (e as { kind?: string }).kind === 'permanent',
    );
    await out.close();
  });
});
