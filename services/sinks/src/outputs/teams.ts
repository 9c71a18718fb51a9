import { field, httpUrl, oneOf } from '@saker/config';
/**
 * falcosidekick's `teams` output, as an Adaptive Card posted to a Teams
 * Workflows webhook ("Post to a channel when a webhook request is
 * received"), the replacement Microsoft documents for the retired Office 365
 * connectors and their MessageCard:
 *
 * `{type: "message", attachments: [{contentType:
 * "application/vnd.microsoft.card.adaptive", contentUrl: null, content:
 * {$schema, type: "AdaptiveCard", version: "1.4", body: [TextBlock title,
 * TextBlock output, FactSet]}}]}`.
 *
 * - `outputFormat`: `all` (default: output and facts), `text` (output
 *   only), `facts` (facts only), as falcosidekick's.
 * - The title's color follows the priority: `attention` (Error and above),
 *   `warning`, `good` (Notice), `accent` (Informational), `default`.
 * - Alert-controlled text is markdown-escaped with a backslash (Adaptive
 *   Cards' TextBlock and FactSet render a markdown subset: bold, italic,
 *   lists, links), controls and newlines are made visible, and the card is
 *   kept under Teams' 28 KB message limit (TEAMS_LIMITS).
 */
import type { FalcoAlert } from '@saker/rules';
import { parsePriority, severity } from '@saker/rules';
import { SinksOptionsError } from '../errors.js';
import { backslashBefore, chatTextFor, fieldTexts } from '../sidekick/chat-text.js';
import { chatOutput } from '../sidekick/descriptor.js';
import { type SidekickHttpOptions, SidekickJsonOutput } from '../sidekick/transport.js';

export type TeamsOutputFormat = 'all' | 'text' | 'facts';

export const TEAMS_LIMITS = Object.freeze({
  title: 300,
  text: 8000,
  factTitle: 150,
  factValue: 1000,
  facts: 40,
  /** Bytes of the whole body; Teams refuses messages over about 28 KB. */
  bodyBytes: 27 * 1024,
});

export interface TeamsOutputOptions extends SidekickHttpOptions {
  /** Default `teams`. */
  readonly name?: string;
  readonly webhookUrl: string;
  /** Default `all`. */
  readonly outputFormat?: TeamsOutputFormat;
}

const teamsText = chatTextFor(backslashBefore('\\*_~`[]()<>#-+!'));

function titleColor(priority: string): string {
  const p = parsePriority(priority) ?? 'DEBUG';
  const s = severity(p);
  if (s <= severity('ERROR')) return 'attention';
  if (p === 'WARNING') return 'warning';
  if (p === 'NOTICE') return 'good';
  if (p === 'INFORMATIONAL') return 'accent';
  return 'default';
}

export class TeamsOutput extends SidekickJsonOutput {
  readonly #format: TeamsOutputFormat;

  constructor(o: TeamsOutputOptions) {
    const name = o.name ?? 'teams';
    const path = `outputs.${name}`;
    const format = o.outputFormat ?? 'all';
    if (format !== 'all' && format !== 'text' && format !== 'facts') {
      throw new SinksOptionsError(
        `${path}.outputFormat`,
        `expected all, text or facts, got ${String(format)}`,
      );
    }
    super(name, o.webhookUrl, o);
    this.#format = format;
  }

  payload(alert: FalcoAlert): Record<string, unknown> {
    const L = TEAMS_LIMITS;
    const body: Record<string, unknown>[] = [
      {
        type: 'TextBlock',
        text: teamsText(`${alert.priority}: ${alert.rule}`, L.title),
        weight: 'bolder',
        size: 'medium',
        color: titleColor(alert.priority),
        wrap: true,
      },
    ];
    if (this.#format !== 'facts') {
      body.push({ type: 'TextBlock', text: teamsText(alert.output, L.text), wrap: true });
    }
    const facts: { title: string; value: string }[] = [];
    if (this.#format !== 'text') {
      const pairs: [string, string][] = [
        ['rule', alert.rule],
        ['priority', alert.priority],
        ['source', alert.source],
        ['hostname', alert.hostname],
        ['tags', alert.tags.join(', ')],
        ['time', alert.time],
        ...fieldTexts(alert),
      ];
      const shown = pairs.length > L.facts ? pairs.slice(0, L.facts - 1) : pairs;
      for (const [k, v] of shown) {
        facts.push({ title: teamsText(k, L.factTitle), value: teamsText(v, L.factValue) });
      }
      if (shown.length < pairs.length)
        facts.push({ title: '…', value: `${pairs.length - shown.length} more` });
      body.push({ type: 'FactSet', facts });
    }
    const message = (): Record<string, unknown> => ({
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            msteams: { width: 'Full' },
            body,
          },
        },
      ],
    });
    // Facts go, last first, until the message fits.
    let m = message();
    while (facts.length > 1 && Buffer.byteLength(JSON.stringify(m)) > L.bodyBytes) {
      facts.splice(-2, 2, { title: '…', value: 'more facts not shown' });
      m = message();
    }
    return m;
  }
}

/** `sinks.sidekick.teams`: on when `webhookurl` is set. */
export const teamsSidekick = chatOutput({
  name: 'teams',
  fields: {
    webhookurl: field(httpUrl(), ''),
    outputformat: field(
      oneOf<TeamsOutputFormat>(['all', 'text', 'facts'], (t) =>
        t === 'all' || t === 'text' || t === 'facts' ? t : undefined,
      ),
      'all',
    ),
  },
  on: 'webhookurl',
  create: (c, http) =>
    new TeamsOutput({
      webhookUrl: c.webhookurl,
      outputFormat: c.outputformat,
      ...http,
    }),
});
