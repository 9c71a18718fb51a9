/**
 * One class per failure mode. Each carries the metric it concerns, so a log
 * line names what was wrong without parsing the message.
 */

/** An error about one metric, named in the message and in `metric`. */
abstract class MetricError extends Error {
  readonly metric: string;
  constructor(metric: string, message: string, options?: ErrorOptions) {
    super(`metric ${JSON.stringify(metric)}: ${message}`, options);
    this.metric = metric;
  }
}

/** A metric was defined badly: an invalid name, or a name reused with another shape. */
export class MetricDefinitionError extends MetricError {
  override readonly name = 'MetricDefinitionError';
}

/** A metric was used badly: labels that do not match its label names, or a bad value. */
export class MetricUsageError extends MetricError {
  override readonly name = 'MetricUsageError';
}

/** The telemetry SDK was configured badly (bad endpoint, ratio out of range, initialised twice). */
export class TelemetryConfigError extends Error {
  override readonly name = 'TelemetryConfigError';
  readonly key: string;
  constructor(key: string, message: string, options?: ErrorOptions) {
    super(`telemetry.${key}: ${message}`, options);
    this.key = key;
  }
}
