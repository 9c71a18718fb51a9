/**
 * The command line of the standalone engine (src/main.ts). Parsed into a typed
 * value; a bad flag fails with a message naming it.
 */
import { parseArgs } from 'node:util';
import { type Priority, type RuleMatching, parsePriority } from '@saker/rules';

export interface EngineArgs {
  readonly nats: string;
  readonly rules: readonly string[];
  readonly metricsPort: number | undefined;
  readonly metricsHost: string;
  readonly name: string | undefined;
  readonly hostname: string | undefined;
  readonly subjects: readonly string[] | undefined;
  readonly queue: string | undefined;
  readonly watchRules: boolean;
  readonly minPriority: Priority | undefined;
  readonly ruleMatching: RuleMatching | undefined;
  readonly statsIntervalMs: number | undefined;
  readonly statsMinIntervalMs: number | undefined;
}

export const USAGE = `usage: node services/engine/dist/src/main.js --nats URL [--rules PATH]... [options]

  --nats URL            NATS server (required)
  --rules PATH          rules file or directory (repeatable); the ruleset until KV saker_rules holds one
  --metrics-port N      serve /metrics and /healthz on this port (0: any free port)
  --metrics-host HOST   address for /metrics (default 127.0.0.1)
  --name ID             replica id (default <hostname>-<pid>)
  --hostname NAME       alert hostname when an event has none (default the OS hostname)
  --subject PATTERN     event subject to consume (repeatable; default saker.v1.events.>)
  --queue NAME          queue group (default engine)
  --no-watch            do not watch KV saker_rules
  --min-priority P      drop rules less severe than P (Falco's priority)
  --rule-matching M     first (default) or all
  --stats-interval-ms N      stats heartbeat (default 1000)
  --stats-min-interval-ms N  stats at most this often while counters change (default 50)
`;

export class EngineArgsError extends Error {
  override readonly name = 'EngineArgsError';
}

export function parseEngineArgs(argv: readonly string[]): EngineArgs {
  let values: ReturnType<typeof parse>['values'];
  try {
    values = parse(argv).values;
  } catch (err) {
    throw new EngineArgsError(err instanceof Error ? err.message : String(err));
  }
  if (values.nats === undefined) throw new EngineArgsError('--nats URL is required');
  let metricsPort: number | undefined;
  if (values['metrics-port'] !== undefined) {
    const text = values['metrics-port'];
    metricsPort = Number(text);
    if (!/^\d+$/.test(text) || metricsPort > 65535) {
      throw new EngineArgsError(`--metrics-port: expected a port number, got ${JSON.stringify(text)}`);
    }
  }
  let minPriority: Priority | undefined;
  if (values['min-priority'] !== undefined) {
    minPriority = parsePriority(values['min-priority']);
    if (minPriority === undefined) {
      throw new EngineArgsError(`--min-priority: not a priority: ${JSON.stringify(values['min-priority'])}`);
    }
  }
  const matching = values['rule-matching'];
  if (matching !== undefined && matching !== 'first' && matching !== 'all') {
    throw new EngineArgsError(`--rule-matching: expected first or all, got ${JSON.stringify(matching)}`);
  }
  return {
    statsIntervalMs: positive('--stats-interval-ms', values['stats-interval-ms']),
    statsMinIntervalMs: positive('--stats-min-interval-ms', values['stats-min-interval-ms']),
    nats: values.nats,
    rules: values.rules ?? [],
    metricsPort,
    metricsHost: values['metrics-host'] ?? '127.0.0.1',
    name: values.name,
    hostname: values.hostname,
    subjects: values.subject,
    queue: values.queue,
    watchRules: !(values['no-watch'] ?? false),
    minPriority,
    ruleMatching: matching,
  };
}

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,6}$/.test(text)) {
    throw new EngineArgsError(`${flag}: expected a positive integer, got ${JSON.stringify(text)}`);
  }
  return Number(text);
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      nats: { type: 'string' },
      rules: { type: 'string', multiple: true },
      'metrics-port': { type: 'string' },
      'metrics-host': { type: 'string' },
      name: { type: 'string' },
      hostname: { type: 'string' },
      subject: { type: 'string', multiple: true },
      queue: { type: 'string' },
      'no-watch': { type: 'boolean' },
      'min-priority': { type: 'string' },
      'rule-matching': { type: 'string' },
      'stats-interval-ms': { type: 'string' },
      'stats-min-interval-ms': { type: 'string' },
    },
  });
}
