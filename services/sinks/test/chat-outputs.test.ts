/**
 * webhook, slack, teams and discord against a real HTTP receiver, each body
 * checked against the vendor's documented wire format and limits; hostile
 * output (newlines, ANSI escapes, `<script>`, `<!channel>`, `@everyone`,
 * `&`, backticks, 100 KiB) must stay inert and valid JSON.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FalcoAlert } from '@saker/rules';
import { DeliveryError } from '../src/errors.js';
import { DISCORD_LIMITS, DiscordOutput } from '../src/outputs/discord.js';
import { SLACK_LIMITS, SlackOutput } from '../src/outputs/slack.js';
import { TEAMS_LIMITS, TeamsOutput } from '../src/outputs/teams.js';
import { WebhookOutput } from '../src/outputs/webhook.js';
import { alertJsonText, makeAlert, publishAlerts, until } from './helpers/alerts.js';
import { testEnv } from './helpers/env.js';
import { HttpReceiver } from './helpers/http-receiver.js';

const HOSTILE =
  'x\n<!channel> @everyone @here <@U123> <https://evil.example|click> &lt; <script>alert(1)</script> `rm -rf` [a](https://evil.example) **b** \x1b[31mred\x1b[0m \u202etxt\r\n';
const BIG = 'A&<'.repeat(35_000); // > 100 KiB

function hostileAlert(): FalcoAlert {
  return makeAlert(7, {
    rule: `Shell ${HOSTILE}`,
    priority: 'Critical',
    output: `12:00:00.000000000: Critical ${HOSTILE} ${BIG}`,
    hostname: '<!here>',
    tags: ['<@U1>', 'ok'],
    output_fields: { 'proc.cmdline': HOSTILE, 'big.field': BIG, 'evt.num': 1 },
  });
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => {
  assert.ok(
    typeof v === 'object' && v !== null && !Array.isArray(v),
    `object expected: ${JSON.stringify(v)}`,
  );
  return v as Json;
};
const arr = (v: unknown): unknown[] => {
  assert.ok(Array.isArray(v));
  return v;
};
const str = (v: unknown): string => {
  assert.equal(typeof v, 'string');
  return v as string;
};

/** Every string in a JSON value. */
function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (typeof v === 'object' && v !== null) return Object.values(v).flatMap(strings);
  return [];
}

function noControls(body: unknown): void {
  for (const s of strings(body)) assert.doesNotMatch(s, /[\u0000-\u001f\u007f-\u009f\u202e]/);
}

/** Slack incoming webhook message with legacy attachments. */
function checkSlack(text: string): Json {
  const body = obj(JSON.parse(text));
  const [a, ...rest] = arr(body.attachments);
  assert.equal(rest.length, 0);
  const att = obj(a);
  assert.match(str(att.color), /^#[0-9a-f]{6}$/);
  str(att.fallback);
  if (att.text !== undefined) assert.ok(str(att.text).length <= SLACK_LIMITS.attachmentText);
  if (att.fields !== undefined) {
    const fields = arr(att.fields);
    assert.ok(fields.length <= SLACK_LIMITS.fields);
    for (const f of fields) {
      const ff = obj(f);
      assert.ok(str(ff.title).length <= SLACK_LIMITS.fieldTitle);
      assert.ok(str(ff.value).length <= SLACK_LIMITS.fieldValue);
      assert.equal(typeof ff.short, 'boolean');
    }
  }
  if (body.text !== undefined) assert.ok(str(body.text).length <= SLACK_LIMITS.text);
  assert.ok(text.length < 40_000);
  return body;
}

/** Discord execute-webhook body with one embed, within Discord's limits. */
function checkDiscord(text: string): Json {
  const body = obj(JSON.parse(text));
  assert.deepEqual(body.allowed_mentions, { parse: [] });
  const [e, ...rest] = arr(body.embeds);
  assert.equal(rest.length, 0);
  const embed = obj(e);
  const title = str(embed.title);
  const description = str(embed.description);
  const footer = str(obj(embed.footer).text);
  assert.ok(title.length <= 256 && description.length <= 4096 && footer.length <= 2048);
  assert.ok(Number.isInteger(embed.color) && (embed.color as number) <= 0xffffff);
  const fields = arr(embed.fields);
  assert.ok(fields.length <= 25);
  let total = title.length + description.length + footer.length;
  for (const f of fields) {
    const ff = obj(f);
    const n = str(ff.name);
    const v = str(ff.value);
    assert.ok(n.length >= 1 && n.length <= 256 && v.length >= 1 && v.length <= 1024);
    total += n.length + v.length;
  }
  assert.ok(total <= DISCORD_LIMITS.embedTotal, `embed total ${total}`);
  if (embed.timestamp !== undefined) assert.ok(!Number.isNaN(Date.parse(str(embed.timestamp))));
  return body;
}

/** Teams Workflows message carrying one Adaptive Card. */
function checkTeams(text: string): Json {
  assert.ok(Buffer.byteLength(text) <= 28 * 1024);
  const body = obj(JSON.parse(text));
  assert.equal(body.type, 'message');
  const [a, ...rest] = arr(body.attachments);
  assert.equal(rest.length, 0);
  const att = obj(a);
  assert.equal(att.contentType, 'application/vnd.microsoft.card.adaptive');
  const card = obj(att.content);
  assert.equal(card.type, 'AdaptiveCard');
  assert.equal(card.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json');
  assert.match(str(card.version), /^1\.\d$/);
  for (const el of arr(card.body)) {
    const e = obj(el);
    if (e.type === 'TextBlock') str(e.text);
    else {
      assert.equal(e.type, 'FactSet');
      for (const f of arr(e.facts)) {
        str(obj(f).title);
        str(obj(f).value);
      }
    }
  }
  return body;
}

describe('webhook output', () => {
  it('sends the alert JSON through the framework, with custom headers and PUT', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    const a = makeAlert(1);
    await publishAlerts(env.bus, [a]);
    await env.startSinks({
      outputs: [
        {
          output: new WebhookOutput({ address: `${rx.url}in`, method: 'PUT', headers: 'X-A:1,X-B:two' }),
        },
      ],
    });
    await until('delivered', () => rx.accepted.length === 1);
    assert.equal(rx.accepted[0], alertJsonText(a));
    const r = rx.requests[0];
    assert.equal(r?.method, 'PUT');
    assert.equal(r?.url, '/in');
    assert.equal(r?.headers['x-a'], '1');
    assert.equal(r?.headers['x-b'], 'two');
    assert.equal(r?.headers['content-type'], 'application/json');
  });

  it('keeps hostile output valid JSON', async () => {
    await using rx = await new HttpReceiver().start();
    const out = new WebhookOutput({ address: rx.url });
    const a = hostileAlert();
    await out.deliver(a, alertJsonText(a));
    await out.close();
    const back = obj(JSON.parse(rx.accepted[0] ?? ''));
    assert.equal(back.output, a.output);
  });
});

describe('slack output', () => {
  it('posts an attachment colored by priority, with fields per output field', async () => {
    await using env = await testEnv();
    await using rx = await new HttpReceiver().start();
    await publishAlerts(env.bus, [makeAlert(1)]);
    const out = new SlackOutput({
      webhookUrl: rx.url,
      channel: '#falco',
      messageFormat: 'Rule *{{ .rule }}* on `{{ .output_fields["proc.cmdline"] }}`',
    });
    await env.startSinks({ outputs: [{ output: out }] });
    await until('delivered', () => rx.accepted.length === 1);
    const body = checkSlack(rx.accepted[0] ?? '');
    assert.equal(body.channel, '#falco');
    assert.equal(body.text, 'Rule *Read sensitive file* on `cat /etc/shadow id=1`');
    const att = obj(arr(body.attachments)[0]);
    assert.equal(att.color, '#fb8c00');
    assert.match(str(att.text), /Sensitive file opened/);
    const titles = arr(att.fields).map((f) => obj(f).title);
    for (const t of ['rule', 'priority', 'source', 'hostname', 'tags', 'time', 'proc.cmdline', 'alert.id']) {
      assert.ok(titles.includes(t), t);
    }
    assert.equal(rx.requests[0]?.headers['content-type'], 'application/json');
  });

  it('honours outputformat text and fields', () => {
    const a = makeAlert(1);
    const text = obj(
      arr(new SlackOutput({ webhookUrl: 'http://h/', outputFormat: 'text' }).payload(a).attachments)[0],
    );
    assert.equal(text.fields, undefined);
    str(text.text);
    const fields = obj(
      arr(new SlackOutput({ webhookUrl: 'http://h/', outputFormat: 'fields' }).payload(a).attachments)[0],
    );
    assert.equal(fields.text, undefined);
    assert.ok(arr(fields.fields).length > 3);
  });

  it('escapes & < > so no mention or link can be injected, and cuts 100 KiB', async () => {
    await using rx = await new HttpReceiver().start();
    const out = new SlackOutput({
      webhookUrl: rx.url,
      messageFormat: '<!here> {{ .output_fields["proc.cmdline"] }}',
    });
    const a = hostileAlert();
    await out.deliver(a);
    await out.close();
    const raw = rx.accepted[0] ?? '';
    const body = checkSlack(raw);
    noControls(body);
    // The operator's own literal mention stays; nothing from the alert can add one.
    assert.ok(str(body.text).startsWith('<!here> x\\n&lt;!channel&gt;'));
    for (const s of strings(body.attachments)) {
      assert.doesNotMatch(s, /[<>]/);
      assert.doesNotMatch(s, /&(?!amp;|lt;|gt;)/);
    }
    const att = obj(arr(body.attachments)[0]);
    assert.match(str(att.text), /&lt;!channel&gt; @everyone/);
    assert.match(str(att.text), /&lt;script&gt;/);
    assert.match(str(att.text), /&amp;lt;/);
    assert.match(str(att.text), /\\x1b\[31m/);
    assert.ok(str(att.text).endsWith('…'));
    assert.ok(!str(att.text).endsWith('&…') && !/&[a-z]*…$/.test(str(att.text)));
  });

  it('dead-letters on 4xx, retries on 429', async () => {
    await using rx = await new HttpReceiver().start();
    const out = new SlackOutput({ webhookUrl: rx.url });
    rx.status = 404;
    await assert.rejects(
      out.deliver(makeAlert(1)),
      (e: unknown) => e instanceof DeliveryError && e.kind === 'permanent',
    );
    rx.status = 429;
    await assert.rejects(
      out.deliver(makeAlert(1)),
      (e: unknown) => e instanceof DeliveryError && e.kind === 'retryable',
    );
    await out.close();
  });
});

describe('discord output', () => {
  it('posts one embed with allowed_mentions {parse: []}', async () => {
    await using rx = await new HttpReceiver().start();
    const out = new DiscordOutput({ webhookUrl: rx.url, username: 'falco' });
    await out.deliver(makeAlert(1));
    await out.close();
    const body = checkDiscord(rx.accepted[0] ?? '');
    assert.equal(body.username, 'falco');
    const embed = obj(arr(body.embeds)[0]);
    assert.equal(embed.color, 0xfb8c00);
    assert.equal(embed.title, 'Warning: Read sensitive file');
    assert.equal(embed.timestamp, '2023-11-14T22:13:20.000Z');
    assert.ok(
      arr(embed.fields).some((f) => obj(f).name === 'proc\\.cmdline' || obj(f).name === 'proc.cmdline'),
    );
  });

  it('escapes markdown and mentions, stays within every limit for 100 KiB', async () => {
    await using rx = await new HttpReceiver().start();
    const out = new DiscordOutput({ webhookUrl: rx.url });
    const many: Record<string, string> = {};
    for (let i = 0; i < 60; i++) many[`f${String(i).padStart(2, '0')}`] = BIG;
    await out.deliver(hostileAlert());
    await out.deliver(makeAlert(2, { output_fields: many }));
    await out.close();
    for (const raw of rx.accepted) noControls(checkDiscord(raw));
    const embed = obj(arr(checkDiscord(rx.accepted[0] ?? '').embeds)[0]);
    const d = str(embed.description);
    assert.match(d, /\\@everyone/);
    assert.match(d, /\\<\\@U123\\>/);
    assert.match(d, /\\\[a\\\]\\\(https/);
    assert.match(d, /\\`rm \\-rf\\`/);
    assert.match(d, /\\\*\\\*b\\\*\\\*/);
    assert.ok(d.endsWith('…'));
    const fields = arr(obj(arr(checkDiscord(rx.accepted[1] ?? '').embeds)[0]).fields);
    assert.equal(obj(fields.at(-1)).name, '…');
  });
});

describe('teams output', () => {
  it('posts an Adaptive Card with a colored title and facts', async () => {
    await using rx = await new HttpReceiver().start();
    rx.status = 202; // Workflows answer 202 Accepted.
    const out = new TeamsOutput({ webhookUrl: rx.url });
    await out.deliver(makeAlert(1, { priority: 'Error' }));
    await out.close();
    const body = checkTeams(rx.accepted[0] ?? '');
    const card = obj(obj(arr(body.attachments)[0]).content);
    const [title, text, facts] = arr(card.body).map(obj);
    assert.equal(title?.color, 'attention');
    assert.equal(title?.text, 'Error: Read sensitive file');
    assert.match(str(text?.text), /Sensitive file opened/);
    const titles = arr(facts?.facts).map((f) => obj(f).title);
    assert.ok(titles.includes('rule') && titles.includes('proc.cmdline'));
  });

  it('honours outputformat, escapes markdown, stays under 28 KB for 100 KiB', async () => {
    await using rx = await new HttpReceiver().start();
    const out = new TeamsOutput({ webhookUrl: rx.url });
    const facts = new TeamsOutput({ webhookUrl: rx.url, outputFormat: 'facts' });
    const text = new TeamsOutput({ webhookUrl: rx.url, outputFormat: 'text' });
    const many: Record<string, string> = {};
    for (let i = 0; i < 60; i++) many[`f${i}`] = '漢'.repeat(5000);
    await out.deliver(hostileAlert());
    await out.deliver(makeAlert(3, { output: '漢'.repeat(50_000), output_fields: many }));
    await facts.deliver(makeAlert(1));
    await text.deliver(makeAlert(1));
    for (const o of [out, facts, text]) await o.close();
    for (const raw of rx.accepted) noControls(checkTeams(raw));
    const card = (raw: string): Json[] =>
      arr(obj(obj(arr(obj(JSON.parse(raw)).attachments)[0]).content).body).map(obj);
    const hostile = card(rx.accepted[0] ?? '');
    assert.match(str(hostile[1]?.text), /\\\[a\\\]\\\(https/);
    assert.match(str(hostile[1]?.text), /\\<script\\>/);
    assert.ok(str(hostile[1]?.text).length <= TEAMS_LIMITS.text);
    assert.deepEqual(
      card(rx.accepted[2] ?? '').map((e) => e.type),
      ['TextBlock', 'FactSet'],
    );
    assert.deepEqual(
      card(rx.accepted[3] ?? '').map((e) => e.type),
      ['TextBlock', 'TextBlock'],
    );
  });
});
