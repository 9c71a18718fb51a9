/**
 * Text for chat and incident APIs (Slack, Teams, Discord, PagerDuty,
 * Opsgenie): visible characters only, cut to a limit without splitting a
 * surrogate pair, the priority's color, the headline and the field list.
 * Pure: no I/O.
 */
import { type FalcoAlert, type Priority, parsePriority } from '@saker/rules';
import { valueText } from './template.js';

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
// C0, DEL, C1, and the bidi overrides/isolates that reorder what a reader sees.
const INVISIBLE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/**
 * Makes one code point visible: newlines, ANSI escapes and other controls
 * become `\n`, `\x1b`, `\u202e` as text, so attacker-controlled output can
 * neither forge lines in a chat message nor hide text.
 */
function visibleChar(ch: string): string {
  if (!INVISIBLE.test(ch)) return ch;
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  if (ch === '\t') return '\\t';
  const code = ch.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
}

/**
 * The chat text of an attacker-controlled string: lone surrogates replaced,
 * each code point made visible and escaped with `escapeChar`, cut so the
 * result has at most `max` UTF-16 units (ending with `…` when cut). Cutting
 * after escaping never splits an escape or a surrogate pair.
 */
/** chatText with one chat's escaping: that chat's text of an alert-controlled string. */
export function chatTextFor(escapeChar: (ch: string) => string): (s: string, max: number) => string {
  return (s, max) => chatText(s, max, escapeChar);
}

/** An escapeChar for chatText: a backslash before each of `chars` (Teams' and Discord's markdown). */
export function backslashBefore(chars: string): (ch: string) => string {
  const escaped = new Set(chars);
  return (ch) => (escaped.has(ch) ? `\\${ch}` : ch);
}

export function chatText(s: string, max: number, escapeChar: (ch: string) => string = (c) => c): string {
  const clean = s.replace(LONE_SURROGATE, '\uFFFD');
  let out = '';
  let prefix: string | undefined; // the longest prefix that leaves room for `…`
  for (const ch of clean) {
    const piece = escapeChar(visibleChar(ch));
    if (prefix === undefined && out.length + piece.length > max - 1) prefix = out;
    out += piece;
    if (out.length > max) return `${prefix ?? ''}…`;
  }
  return out;
}

/** The first `max` UTF-16 units of `s`, never splitting a surrogate pair. */
export function cutText(s: string, max: number): string {
  if (s.length <= max) return s;
  const code = s.charCodeAt(max - 1);
  return s.slice(0, code >= 0xd800 && code <= 0xdbff ? max - 1 : max);
}

/** Each priority's color (`#rrggbb`), most severe first. */
const PRIORITY_COLORS: Readonly<Record<Priority, string>> = {
  EMERGENCY: '#7f0000',
  ALERT: '#b71c1c',
  CRITICAL: '#e53935',
  ERROR: '#f4511e',
  WARNING: '#fb8c00',
  NOTICE: '#fdd835',
  INFORMATIONAL: '#1e88e5',
  DEBUG: '#90a4ae',
};

export function priorityColor(priority: string): string {
  return PRIORITY_COLORS[parsePriority(priority) ?? 'DEBUG'];
}

/** The alert's output line, or `Priority: rule` when it has none (an incident title may not be empty). */
export function headline(alert: FalcoAlert): string {
  return alert.output.trim() === '' ? `${alert.priority}: ${alert.rule}` : alert.output;
}

/** `output_fields` as `[key, text]` pairs, sorted by key (a stable message). */
export function fieldTexts(alert: FalcoAlert): [string, string][] {
  return Object.keys(alert.output_fields)
    .sort()
    .map((k) => [k, valueText(alert.output_fields[k])]);
}
