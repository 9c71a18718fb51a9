import { field, httpUrl, string } from '@saker/config';
/**
 * falcosidekick's `discord` output: one Discord webhook message per alert
 * (`POST https://discord.com/api/webhooks/…`), `{username, avatar_url?,
 * embeds: [{title, description, color, fields, footer, timestamp}],
 * allowed_mentions: {parse: []}}`.
 *
 * - `allowed_mentions.parse = []`: no `@everyone`, `@here`, user or role
 *   in an alert can ping anyone.
 * - Alert-controlled text is markdown-escaped (a backslash before
 *   `\ * _ ~ ` | > < [ ] ( ) # @ -`), controls and newlines are made visible,
 *   and every part is cut to Discord's limits (DISCORD_LIMITS), including
 *   the 6 000 characters of an embed altogether.
 * - The embed's color follows the priority (PRIORITY_COLORS).
 */
import type { FalcoAlert } from '@saker/rules';
import { backslashBefore, chatText, chatTextFor, fieldTexts, priorityColor } from '../sidekick/chat-text.js';
import { chatOutput, ifSet } from '../sidekick/descriptor.js';
import { type SidekickHttpOptions, SidekickJsonOutput } from '../sidekick/transport.js';

/** Discord's documented embed limits; `description` is kept below its 4 096 to leave room for fields. */
export const DISCORD_LIMITS = Object.freeze({
  title: 256,
  description: 2048,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  embedTotal: 6000,
  username: 80,
});

export interface DiscordOutputOptions extends SidekickHttpOptions {
  /** Default `discord`. */
  readonly name?: string;
  readonly webhookUrl: string;
  /** Default `Saker`. */
  readonly username?: string;
  readonly avatarUrl?: string;
  /** Default `Saker`. */
  readonly footer?: string;
}

const discordText = chatTextFor(backslashBefore('\\*_~`|><[]()#@-'));

interface EmbedField {
  readonly name: string;
  readonly value: string;
  readonly inline: boolean;
}

export class DiscordOutput extends SidekickJsonOutput {
  readonly #o: DiscordOutputOptions;

  constructor(o: DiscordOutputOptions) {
    super(o.name ?? 'discord', o.webhookUrl, o);
    this.#o = o;
  }

  payload(alert: FalcoAlert): Record<string, unknown> {
    const L = DISCORD_LIMITS;
    const title = discordText(`${alert.priority}: ${alert.rule}`, L.title);
    const description = discordText(alert.output, L.description);
    const footer = discordText(this.#o.footer ?? 'Saker', L.footer);
    let budget = L.embedTotal - title.length - description.length - footer.length;
    const fields: EmbedField[] = [];
    const pairs: [string, string][] = [['source', alert.source]];
    if (alert.hostname !== '') pairs.push(['hostname', alert.hostname]);
    if (alert.tags.length > 0) pairs.push(['tags', alert.tags.join(', ')]);
    pairs.push(...fieldTexts(alert));
    const NOTE_ROOM = 16; // `…` + `NNNN more`, kept free for the note
    for (const [i, [k, v]] of pairs.entries()) {
      const more = pairs.length - i;
      const name = discordText(k, L.fieldName);
      const room = Math.min(L.fieldValue, budget - name.length - NOTE_ROOM);
      if ((fields.length === L.fields - 1 && more > 1) || room < 2) {
        fields.push({ name: '…', value: `${more} more`, inline: false });
        break;
      }
      // Discord refuses empty values.
      const value = discordText(v === '' ? '-' : v, room);
      fields.push({ name, value, inline: v.length < 40 });
      budget -= name.length + value.length;
    }
    const ms = Date.parse(alert.time);
    const embed: Record<string, unknown> = {
      title,
      description,
      color: Number.parseInt(priorityColor(alert.priority).slice(1), 16),
      fields,
      footer: { text: footer },
    };
    if (!Number.isNaN(ms)) embed.timestamp = new Date(ms).toISOString();
    const body: Record<string, unknown> = {
      username: chatText(this.#o.username ?? 'Saker', L.username),
      embeds: [embed],
      allowed_mentions: { parse: [] },
    };
    if (this.#o.avatarUrl) body.avatar_url = this.#o.avatarUrl;
    return body;
  }
}

/** `sinks.sidekick.discord`: on when `webhookurl` is set. */
export const discordSidekick = chatOutput({
  name: 'discord',
  fields: { webhookurl: field(httpUrl(), ''), icon: field(string(), '') },
  on: 'webhookurl',
  create: (c, http) =>
    new DiscordOutput({
      webhookUrl: c.webhookurl,
      ...ifSet('avatarUrl', c.icon),
      ...http,
    }),
});
