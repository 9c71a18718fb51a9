import { checked, field, httpUrl, oneOf, string } from '@saker/config';
/**
 * falcosidekick's `slack` output: one Slack incoming-webhook message per
 * alert, `{text?, username, icon_url?, channel?, attachments: [{fallback,
 * color, text?, fields?, footer}]}`.
 *
 * - `outputFormat`: `all` (default: the alert's output as the attachment
 *   text, plus rule, priority, source, hostname, tags, time and one field
 *   per output field), `text` (the output only), `fields` (the fields only).
 * - `messageFormat`: an optional template (sidekick.ts Template) rendered
 *   into the message's top-level `text`; the operator's literal text keeps
 *   its mrkdwn, looked-up values are escaped.
 * - The attachment's color follows the priority (PRIORITY_COLORS).
 *
 * Escaping: every alert-controlled string is escaped as Slack documents
 * (`&` → `&amp;`, `<` → `&lt;`, `>` → `&gt;`), so no `<!channel>`,
 * `<@U…>` or `<url|text>` can be injected; controls and newlines are made
 * visible (`\n`, `\x1b`); each text is cut to a limit (below) so the
 * message stays far under Slack's 40 000 characters.
 */
import type { FalcoAlert } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import { chatTextFor, cutText, fieldTexts, priorityColor } from '../sidekick/chat-text.js';
import { chatOutput, ifSet } from '../sidekick/descriptor.js';
import { Template } from '../sidekick/template.js';
import { type SidekickHttpOptions, SidekickJsonOutput } from '../sidekick/transport.js';

export type SlackOutputFormat = 'all' | 'text' | 'fields';

/** Limits of each part of a message (UTF-16 units, after escaping). */
export const SLACK_LIMITS = Object.freeze({
  text: 3000,
  attachmentText: 3000,
  fallback: 300,
  fieldTitle: 150,
  fieldValue: 1000,
  fields: 30,
  footer: 300,
});

export interface SlackOutputOptions extends SidekickHttpOptions {
  /** Default `slack`. */
  readonly name?: string;
  readonly webhookUrl: string;
  /** Override the webhook's channel (legacy webhooks only). */
  readonly channel?: string;
  /** Default `Saker`. */
  readonly username?: string;
  readonly iconUrl?: string;
  /** Default `Saker`. */
  readonly footer?: string;
  /** Default `all`. */
  readonly outputFormat?: SlackOutputFormat;
  readonly messageFormat?: string;
}

/** Slack's escaping of one character of message text. */
function slackEscapeChar(ch: string): string {
  if (ch === '&') return '&amp;';
  if (ch === '<') return '&lt;';
  if (ch === '>') return '&gt;';
  return ch;
}

/** Escaped, visible and cut: the Slack text of an alert-controlled string. */
const slackText = chatTextFor(slackEscapeChar);

interface SlackField {
  readonly title: string;
  readonly value: string;
  readonly short: boolean;
}

export class SlackOutput extends SidekickJsonOutput {
  readonly #o: SlackOutputOptions;
  readonly #format: SlackOutputFormat;
  readonly #message: Template | null;

  constructor(o: SlackOutputOptions) {
    const name = o.name ?? 'slack';
    const path = `outputs.${name}`;
    const format = o.outputFormat ?? 'all';
    if (format !== 'all' && format !== 'text' && format !== 'fields') {
      throw new SinksOptionsError(
        `${path}.outputFormat`,
        `expected all, text or fields, got ${String(format)}`,
      );
    }
    const message = o.messageFormat ? new Template(`${path}.messageFormat`, o.messageFormat) : null;
    super(name, o.webhookUrl, o);
    this.#o = o;
    this.#format = format;
    this.#message = message;
  }

  /** The message body for one alert (exported through the class for tests). */
  payload(alert: FalcoAlert): Record<string, unknown> {
    const L = SLACK_LIMITS;
    const attachment: Record<string, unknown> = {
      fallback: slackText(alert.output, L.fallback),
      color: priorityColor(alert.priority),
    };
    if (this.#format !== 'fields') attachment.text = slackText(alert.output, L.attachmentText);
    if (this.#format !== 'text') {
      const fields: SlackField[] = [];
      const add = (title: string, value: string, short: boolean): void => {
        if (fields.length >= L.fields) return;
        fields.push({ title: slackText(title, L.fieldTitle), value: slackText(value, L.fieldValue), short });
      };
      add('rule', alert.rule, false);
      add('priority', alert.priority, true);
      add('source', alert.source, true);
      if (alert.hostname !== '') add('hostname', alert.hostname, true);
      if (alert.tags.length > 0) add('tags', alert.tags.join(', '), true);
      add('time', alert.time, true);
      const all = fieldTexts(alert);
      const room = L.fields - fields.length;
      const shown = all.length > room ? all.slice(0, room - 1) : all;
      for (const [k, v] of shown) add(k, v, v.length < 40);
      if (shown.length < all.length) add('…', `${all.length - shown.length} more output fields`, false);
      attachment.fields = fields;
    }
    attachment.footer = slackText(this.#o.footer ?? 'Saker', L.footer);
    const body: Record<string, unknown> = {
      username: this.#o.username ?? 'Saker',
      attachments: [attachment],
    };
    if (this.#o.iconUrl) body.icon_url = this.#o.iconUrl;
    if (this.#o.channel) body.channel = this.#o.channel;
    if (this.#message) {
      const text = this.#message.render(alert, (v) => slackText(v, L.text));
      // The operator's literal text is trusted; only its length is bounded.
      body.text = text.length > L.text ? `${cutText(text, L.text - 1).replace(/&[a-z]*$/, '')}…` : text;
    }
    return body;
  }
}

/** `sinks.sidekick.slack`: on when `webhookurl` is set. */
export const slackSidekick = chatOutput({
  name: 'slack',
  fields: {
    webhookurl: field(httpUrl(), ''),
    channel: field(string(), ''),
    username: field(string(), 'Saker'),
    icon: field(string(), ''),
    footer: field(string(), 'Saker'),
    outputformat: field(
      oneOf<SlackOutputFormat>(['all', 'text', 'fields'], (t) =>
        t === 'all' || t === 'text' || t === 'fields' ? t : undefined,
      ),
      'all',
    ),
    messageformat: field(
      checked(string(), (t) => {
        if (t !== '') new Template('messageformat', t);
      }),
      '',
    ),
  },
  on: 'webhookurl',
  create: (c, http) =>
    new SlackOutput({
      webhookUrl: c.webhookurl,
      ...ifSet('channel', c.channel),
      username: c.username,
      ...ifSet('iconUrl', c.icon),
      footer: c.footer,
      outputFormat: c.outputformat,
      ...ifSet('messageFormat', c.messageformat),
      ...http,
    }),
});
