/**
 * The one logger: levels, text or JSON lines, a name per service, and
 * secret values scrubbed from every line. Services take a `Logger` (or its
 * `log` function) from the runtime instead of writing to stderr themselves.
 */

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Extra structured fields of a line (JSON keys; `k=v` in text). */
type LogFields = Readonly<Record<string, string | number | boolean | null>>;

/** The shape services are handed when they only need to say something. */
export type LogFn = (level: LogLevel, message: string, fields?: LogFields) => void;

export interface Logger {
  readonly name: string;
  readonly level: LogLevel;
  readonly log: LogFn;
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** Whether a line of `level` would be written (to skip building expensive messages). */
  enabled(level: LogLevel): boolean;
  /** The same sink and settings under another name (`saker` → `engine`). */
  child(name: string): Logger;
}

export interface LoggerOptions {
  /** Service name: the text prefix (`engine: …`) and the JSON `service` field. */
  readonly name: string;
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go. Default: stderr. */
  readonly write?: (line: string) => void;
  /** Values never written: each occurrence becomes `***` (tokens, passwords, webhook URLs). */
  readonly secrets?: readonly string[];
  /** The clock for JSON's `time`, for tests. */
  readonly now?: () => number;
}

const RANK: Readonly<Record<LogLevel, number>> = { debug: 0, info: 1, warn: 2, error: 3 };

function scrubber(secrets: readonly string[]): (text: string) => string {
  // Short values would blank ordinary words; a secret that short is no secret.
  const list = [...new Set(secrets.filter((s) => s.length >= 4))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (t) => t;
  return (text) => {
    let out = text;
    for (const s of list) out = out.split(s).join('***');
    return out;
  };
}

function textFields(fields: LogFields | undefined): string {
  if (fields === undefined) return '';
  let s = '';
  for (const [k, v] of Object.entries(fields)) {
    const t = String(v);
    s += ` ${k}=${/[\s"=]/.test(t) || t === '' ? JSON.stringify(t) : t}`;
  }
  return s;
}

export function createLogger(options: LoggerOptions): Logger {
  const level = options.level ?? 'info';
  const format = options.format ?? 'text';
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const scrub = scrubber(options.secrets ?? []);
  const now = options.now ?? Date.now;

  const make = (name: string): Logger => {
    const enabled = (l: LogLevel): boolean => RANK[l] >= RANK[level];
    const log: LogFn = (l, message, fields) => {
      if (!enabled(l)) return;
      if (format === 'json') {
        const line = JSON.stringify({
          time: new Date(now()).toISOString(),
          level: l,
          service: name,
          msg: message,
          ...fields,
        });
        write(`${scrub(line)}\n`);
        return;
      }
      write(`${scrub(`${name}: ${l === 'info' ? '' : `${l}: `}${message}${textFields(fields)}`)}\n`);
    };
    return {
      name,
      level,
      log,
      debug: (m, f) => log('debug', m, f),
      info: (m, f) => log('info', m, f),
      warn: (m, f) => log('warn', m, f),
      error: (m, f) => log('error', m, f),
      enabled,
      child: (child) => make(child),
    };
  };
  return make(options.name);
}
