import { REDACTED, isSecretKey, redactText } from '@saker/telemetry';

/** Where a configuration value came from: a place in a file, an environment variable, or the caller. */
export type Origin =
  | { readonly kind: 'file'; readonly file: string; readonly line: number; readonly column: number }
  | { readonly kind: 'env'; readonly envVar: string }
  | { readonly kind: 'overrides' }
  | { readonly kind: 'default' };

export function describeOrigin(origin: Origin): string {
  switch (origin.kind) {
    case 'file':
      return `${origin.file}:${origin.line}:${origin.column}`;
    case 'env':
      return origin.envVar;
    case 'overrides':
      return 'overrides';
    case 'default':
      return 'defaults';
  }
}

/**
 * A configuration that cannot be used. The message reads
 * `saker.yaml:12:3: http_output.ulr: unknown key (did you mean url?)`, or
 * `SAKER__ENGINE__REPLICAS: engine.replicas: expected an integer >= 1, got "many"`.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  /** Dotted path of the offending key, `rules_files[1]` for list items; '' for the whole document. */
  readonly path: string;
  readonly reason: string;
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;
  readonly envVar: string | undefined;

  constructor(path: string, why: string, origin: Origin, options?: ErrorOptions) {
    const where = describeOrigin(origin);
    // A value quoted under a secret key (a token, a webhook URL) is never echoed; URLs elsewhere are redacted.
    const reason = isSecretKey(path) ? why.replace(/"(?:[^"\\]|\\.)*"/g, REDACTED) : redactText(why);
    super(path === '' ? `${where}: ${reason}` : `${where}: ${path}: ${reason}`, options);
    this.path = path;
    this.reason = reason;
    this.file = origin.kind === 'file' ? origin.file : undefined;
    this.line = origin.kind === 'file' ? origin.line : undefined;
    this.column = origin.kind === 'file' ? origin.column : undefined;
    this.envVar = origin.kind === 'env' ? origin.envVar : undefined;
  }
}
