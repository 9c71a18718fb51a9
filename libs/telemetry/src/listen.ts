/**
 * Who may reach a listener, worked out from its address. A bearer token
 * sent over plain HTTP or gRPC can be read by anyone on the path, so off
 * loopback a token-authenticated listener needs TLS, or an explicit opt-out.
 */
import { timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Whether `host` only ever means this machine: localhost, 127.0.0.0/8 or ::1. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(h);
  return mapped !== null && (mapped[1] ?? '').startsWith('127.');
}

export interface ListenerSecurity {
  /** What the listener is, for the message: `the audit webhook`. */
  readonly what: string;
  readonly host: string;
  readonly tls: boolean;
  readonly token: boolean;
  /** The key or flag that accepts a token in clear anyway, named in the message. */
  readonly optOutKey: string;
  readonly optOut: boolean;
}

/**
 * Why this listener must not start, or undefined when it may: a token
 * without TLS on an address other than loopback, unless opted out.
 */
export function plaintextTokenProblem(l: ListenerSecurity): string | undefined {
  if (!l.token || l.tls || l.optOut || isLoopbackHost(l.host)) return undefined;
  return (
    `refusing to accept bearer tokens in clear on ${l.host} (not a loopback address): ` +
    `configure TLS, listen on 127.0.0.1, or set ${l.optOutKey} to accept tokens readable by anyone on the network`
  );
}

/** The loud line logged when a listener runs with the opt-out in effect. */
export function plaintextTokenWarning(l: ListenerSecurity): string | undefined {
  if (!l.token || l.tls || !l.optOut || isLoopbackHost(l.host)) return undefined;
  return `WARNING: ${l.what} on ${l.host} accepts bearer tokens over plain text (${l.optOutKey}): anyone on the network path can read and reuse them`;
}

/**
 * Whether an `Authorization` header carries one of `tokens` as a bearer
 * token, compared in constant time per token.
 */
export function bearerTokenMatches(authorization: string | undefined, tokens: readonly Buffer[]): boolean {
  if (authorization === undefined || !/^bearer /i.test(authorization)) return false;
  const presented = Buffer.from(authorization.slice(7).trim(), 'utf8');
  let ok = false;
  for (const t of tokens) {
    if (t.length === presented.length && timingSafeEqual(t, presented)) ok = true;
  }
  return ok;
}
