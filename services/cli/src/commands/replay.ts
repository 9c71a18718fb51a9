import { alertFormatView } from '@saker/config';
import { EventFileError, auditLeniency } from '@saker/events';
import {
  type EvaluateOptions,
  type RuleMatching,
  formatAlertJson,
  formatAlertText,
  parsePriority,
  toFalcoAlert,
} from '@saker/rules';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { ReplayInputError, readReplayFile } from '../replay-input.js';
import { loadRulePaths } from '../rules-input.js';
import { loadCommandConfig } from './service.js';

const NAME = 'replay';

/** Output is written in chunks of about this many characters, so stdout backpressure is honoured. */
const FLUSH_AT = 64 * 1024;

/** `saker replay`: evaluate recorded events against rules and print Falco's alerts. */
export const replay: Command = {
  name: NAME,
  summary: 'evaluate recorded events or Kubernetes audit logs against rules and print alerts',
  help: `Usage: saker replay --rules FILE|DIR [--rules ...] [options] EVENTS.jsonl|AUDIT.log...

Reads events from each file in turn, in the format its first line shows:
Saker's replay format (JSON lines of events, "source": ...), a Kubernetes
audit log (JSON lines of audit.k8s.io/v1 Events, as the API server's log
backend writes them) or one audit EventList (as the webhook backend posts it). It evaluates them
against the rules and prints an alert per match, as Falco's text line or as
Falco's JSON. Refuses to start when the
rules have load errors. A bad event line stops the replay: the file and line
are named, with how many events were processed, and the exit code is 1.
A summary goes to stderr.

The configuration (--config, else the defaults and SAKER__ variables) gives
append_output (Falco's default: the container and pod fields appended to
syscall alerts), json_output and its json_include_* keys, priority,
rule_matching, time_format_iso_8601 and hostname; the options win over it.

Options:
  -r, --rules FILE|DIR   rules to load; repeat for more (required)
  -c, --config FILE      saker.yaml or falco.yaml (see docs/config.md)
  --json                 print alerts as Falco's JSON lines (json_output)
  --priority P           drop rules less severe than P (emergency ... debug; default: priority, debug)
  --rule-matching M      first (default: rule_matching, first as in Falco) or all
  --hostname H           hostname in JSON alerts (default: the event's, else this machine's)
  --iso8601              ISO 8601 times in text lines (time_format_iso_8601)
  -q, --quiet            no summary on stderr
  -h, --help             show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, {
      rules: { type: 'string', short: 'r', multiple: true },
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      priority: { type: 'string' },
      'rule-matching': { type: 'string' },
      hostname: { type: 'string' },
      iso8601: { type: 'boolean' },
      quiet: { type: 'boolean', short: 'q' },
    });
    if (!values.rules || values.rules.length === 0)
      throw new UsageError('--rules FILE|DIR is required', NAME);
    if (positionals.length === 0) throw new UsageError('name at least one events file', NAME);
    const config = loadCommandConfig(NAME, io, values.config, {});
    const minPriority =
      values.priority === undefined ? config.engine.minPriority : parsePriority(values.priority);
    if (minPriority === undefined) {
      throw new UsageError(`--priority: ${values.priority} is not a priority (emergency ... debug)`, NAME);
    }
    const matching = values['rule-matching'] ?? config.ruleMatching;
    if (matching !== 'first' && matching !== 'all') {
      throw new UsageError(`--rule-matching: expected first or all, got ${matching}`, NAME);
    }
    const evaluate: EvaluateOptions = { minPriority, ruleMatching: matching satisfies RuleMatching };
    const format = alertFormatView(config);
    const json = values.json ?? format.json;
    const iso = values.iso8601 ?? format.timeIso8601;
    const fixedHost = values.hostname;

    const loaded = await loadRulePaths(values.rules, io);
    if (!loaded.ok) {
      io.err('saker: not replaying: the rules have errors\n');
      return EXIT_FAIL;
    }
    const applied = loaded.load.ruleset.withAppendedOutput(config.appendOutput);
    if (!applied.ok) {
      io.err(`saker: configuration: ${applied.error}\nsaker: not replaying\n`);
      return EXIT_FAIL;
    }
    const ruleset = applied.ruleset;

    let events = 0;
    let alerts = 0;
    let buf = '';
    // Audit events read although not plain audit.k8s.io/v1 (v1beta1, or without apiVersion/kind).
    let lenient = 0;
    const summary = (): string =>
      `${events} events, ${alerts} alerts${lenient > 0 ? `, ${lenient} audit events not audit.k8s.io/v1 (v1beta1 or untyped)` : ''}`;
    for (const file of positionals) {
      try {
        for await (const event of readReplayFile(file)) {
          events++;
          if (event.source === 'k8s_audit' && auditLeniency(event.event) !== undefined) lenient++;
          for (const m of ruleset.evaluate(event, evaluate)) {
            alerts++;
            if (json) {
              const host = fixedHost ?? event.hostname ?? config.hostname;
              const alert = toFalcoAlert(m, { hostname: host, timeIso8601: iso });
              buf += `${formatAlertJson(alert, format)}\n`;
            } else {
              buf += `${formatAlertText(m, { timeIso8601: iso })}\n`;
            }
          }
          if (buf.length >= FLUSH_AT) {
            await io.out(buf);
            buf = '';
          }
        }
      } catch (err) {
        if (buf !== '') await io.out(buf);
        const why =
          err instanceof EventFileError || err instanceof ReplayInputError
            ? err.message
            : `${file}: cannot read events: ${err instanceof Error ? err.message : String(err)}`;
        io.err(`saker: ${why}\nsaker: stopped after ${summary()}\n`);
        return EXIT_FAIL;
      }
    }
    if (buf !== '') await io.out(buf);
    if (!values.quiet) {
      const files = positionals.length === 1 ? '1 file' : `${positionals.length} files`;
      io.err(`replay: ${files}, ${summary()}\n`);
    }
    return EXIT_OK;
  },
};
