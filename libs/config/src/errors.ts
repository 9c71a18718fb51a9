import { OptionError, type OptionPlace, describePlace } from '@saker/runtime';
import { REDACTED, isSecretKey, redactText } from '@saker/telemetry';

/** Where a configuration value came from: a place in a file, an environment variable, a flag, or the caller. */
export type Origin = OptionPlace;

export const describeOrigin = describePlace;

/**
 * A configuration that cannot be used: the runtime's option-error shape
 * (`key`, `reason`, file:line:col or the variable). The message reads
 * `saker.yaml:12:3: http_output.ulr: unknown key (did you mean url?)`, or
 * `SAKER__ENGINE__REPLICAS: engine.replicas: expected an integer >= 1, got "many"`.
 */
export class ConfigError extends OptionError {
  override readonly name = 'ConfigError';
  /** Dotted path of the offending key, `rules_files[1]` for list items; '' for the whole document. */
  readonly path: string;

  constructor(path: string, why: string, origin: Origin, options?: ErrorOptions) {
    // A value quoted under a secret key (a token, a webhook URL) is never echoed; URLs elsewhere are redacted.
    const reason = isSecretKey(path) ? why.replace(/"(?:[^"\\]|\\.)*"/g, REDACTED) : redactText(why);
    super(path, reason, origin, options);
    this.path = path;
  }
}
