/**
 * Secrets never printed: the one place that decides what of a URL, a piece
 * of text or a configuration value may appear in a log line, an error, a
 * dead letter or /metrics.
 *
 * - URLs lose their userinfo password (`nats://user:****@host`), the values
 *   of query parameters (`?token=****`), and the path of webhook URLs whose
 *   path is the credential (Slack, Teams, Discord, Mattermost-style
 *   `/hooks/...`).
 * - Text has every URL in it redacted so, and `Bearer <token>` masked.
 * - A configuration value under a secret key (token, password, secret,
 *   apikey, webhookurl...) is shown as `****`.
 */

export const REDACTED = '****';

/** Hosts whose webhook URL path is the secret, with the part of the path that is not. */
const SECRET_PATH_HOSTS: readonly { readonly host: RegExp; readonly keep: RegExp }[] = [
  { host: /^hooks\.slack\.com$/i, keep: /^\/(?:services|workflows|triggers)\// },
  { host: /(?:^|\.)webhook\.office\.com$|^outlook\.office(?:365)?\.com$/i, keep: /^\/webhook(?:b2)?\// },
  { host: /(?:^|\.)logic\.azure\.com$|(?:^|\.)powerplatform\.com$/i, keep: /^\// },
  { host: /^(?:(?:ptb|canary)\.)?discord(?:app)?\.com$/i, keep: /^\/api\/(?:v\d+\/)?webhooks\// },
];

/** Path segments after which everything is a credential, on any host. */
const SECRET_PATH_MARKER = /\/(?:hooks|webhooks?|services|bot[0-9]+:[^/]*)\//i;

function redactPath(host: string, path: string): string {
  for (const h of SECRET_PATH_HOSTS) {
    if (!h.host.test(host)) continue;
    const keep = h.keep.exec(path);
    return keep ? `${keep[0]}${REDACTED}` : `/${REDACTED}`;
  }
  const m = SECRET_PATH_MARKER.exec(path);
  return m ? `${path.slice(0, m.index + m[0].length)}${REDACTED}` : path;
}

/**
 * `url` safe to print. Text that is not a URL is returned with any
 * `user:password@` part masked, as a URL parser would have found it.
 */
export function redactUrl(url: string | URL): string {
  let u: URL;
  try {
    u = typeof url === 'string' ? new URL(url) : new URL(url.href);
  } catch {
    return String(url).replace(/\/\/([^/@:\s]*):[^/@\s]*@/g, `//$1:${REDACTED}@`);
  }
  if (u.password !== '') u.password = REDACTED;
  else if (u.username !== '' && u.protocol.startsWith('nats')) u.username = REDACTED; // a bare token
  const params = [...u.searchParams.keys()];
  let search = '';
  if (params.length > 0) search = `?${params.map((k) => `${encodeURIComponent(k)}=${REDACTED}`).join('&')}`;
  const path = redactPath(u.hostname, u.pathname);
  const auth = u.username === '' ? '' : `${u.username}${u.password === '' ? '' : `:${u.password}`}@`;
  // Built by hand: URL would percent-encode the asterisks.
  return `${u.protocol}//${auth}${u.host}${path}${search}${u.hash === '' ? '' : `#${REDACTED}`}`;
}

const URL_IN_TEXT = /\b[a-z][a-z0-9+.-]{1,15}:\/\/[^\s"'<>`,]+/gi;
const BEARER = /\b(Bearer\s+)[A-Za-z0-9._~+/=-]{8,}/g;

/** `text` with every URL in it redacted (redactUrl) and bearer tokens masked. */
export function redactText(text: string): string {
  return text.replace(URL_IN_TEXT, (u) => redactUrl(u)).replace(BEARER, `$1${REDACTED}`);
}

/** Key names whose values are credentials, in any case, with `_`/`-` or none between words. */
const SECRET_KEY =
  /(?:^|[._-])(?:token|password|passwd|secret|apikey|api[_-]?key|routingkey|routing[_-]?key|webhook[_-]?url|webhookurl|credentials?|private[_-]?key|auth(?:orization)?|seed|nkey|sasl)(?:$|[._-])|(?:token|password|secret|apikey|webhookurl)$/i;

/** Whether a configuration key (its last segment, or a dotted path) names a secret. */
export function isSecretKey(key: string): boolean {
  const last = key.split('.').pop() ?? key;
  return SECRET_KEY.test(last);
}

/** `value` as it may be printed under `key`: masked when the key names a secret, else URLs redacted. */
export function redactValue(key: string, value: string): string {
  if (isSecretKey(key)) return REDACTED;
  return redactText(value);
}
