import { hostname, userInfo } from 'node:os';
import { type ControlCallError, type ControlClient, isControlCallError } from '@saker/control/client';
import { loadResultsJson, loadRules, readRuleFiles } from '@saker/rules';
import { createLogger, onShutdown } from '@saker/runtime';
import { CONNECTION_OPTIONS, DEFAULT_CONTROL_ADDR, clientOptions, connect } from '../ctl/connection.js';
import { describeRule, revisionJson, revisionLine, rulesTable, toLoadResults } from '../ctl/format.js';
import {
  type Command,
  EXIT_FAIL,
  EXIT_OK,
  EXIT_USAGE,
  type Io,
  UsageError,
  parseCommandArgs,
} from '../io.js';
import { formatLoadResults } from '../rules-input.js';

const NAME = 'ctl';

const HELP = `Usage: saker ctl rules <command> [options]

Talks to the control service (gRPC RuleService), which keeps the ruleset
every engine runs in KV saker_rules.

Commands:
  rules list                 the rules of the current revision
  rules describe NAME        one rule
  rules validate FILE|DIR... check rule files on the server; nothing is written
  rules put FILE|DIR...      replace the ruleset (refused, exit 1, when it does not load)
  rules enable PATTERN       enable rules by name or wildcard (--tag: by tag)
  rules disable PATTERN      disable rules by name or wildcard (--tag: by tag)
  rules watch                print each new revision until interrupted

Connection:
  --addr HOST:PORT     the control service (default $SAKER_CONTROL_ADDR or ${DEFAULT_CONTROL_ADDR})
  --ca FILE            CA that signed the server's certificate (switches to TLS)
  --cert FILE          client certificate, for mTLS (with --key)
  --key FILE           client private key
  --server-name NAME   name to check the server certificate against
  --token TOKEN        bearer token (default $SAKER_CONTROL_TOKEN)
  --timeout DURATION   deadline of each call, e.g. 10s, 500ms (default 10s)

Options:
  --json               machine-readable output
  --tag                enable/disable: PATTERN is a tag
  --author NAME        put/enable/disable: recorded with the revision (default user@host)
  --comment TEXT       put/enable/disable: why, recorded with the revision
  --expected-revision N  put/enable/disable: write only if the ruleset is at revision N (0: none yet)
  --source SOURCE      list: only rules of this source
  --server-only        put: skip the local load check and let the server decide
  -h, --help           show this help

Exit codes: 0 done, 1 refused or failed (errors on stderr), 2 bad usage.
`;

const OPTIONS = {
  ...CONNECTION_OPTIONS,
  json: { type: 'boolean' },
  tag: { type: 'boolean' },
  author: { type: 'string' },
  comment: { type: 'string' },
  'expected-revision': { type: 'string' },
  source: { type: 'string' },
  'server-only': { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseCommandArgs<typeof OPTIONS>>['values'];

/** Read-only calls are retried on these codes' transient failures (see RETRYABLE_STATUS_CODES). */
async function idempotent<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (!isControlCallError(err) || !err.retryable || attempt >= 3) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

function defaultAuthor(): string {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (containers): keep "unknown".
  }
  return `${user}@${hostname()}`;
}

function expectedRevision(values: Values): number | undefined {
  const text = values['expected-revision'];
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) {
    throw new UsageError(
      `--expected-revision: expected a revision number, got ${JSON.stringify(text)}`,
      NAME,
    );
  }
  return Number(text);
}

function writeMeta(values: Values): { author: string; comment: string; expectedRevision?: number } {
  const expected = expectedRevision(values);
  return {
    author: values.author ?? defaultAuthor(),
    comment: values.comment ?? '',
    ...(expected === undefined ? {} : { expectedRevision: expected }),
  };
}

function reportCallError(err: ControlCallError, io: Io, values: Values): void {
  if (err.loadResults !== undefined && err.loadResults.length > 0) {
    const results = toLoadResults(err.loadResults);
    io.err(`saker ctl: the control service refused the ruleset: ${err.codeName}\n`);
    io.err(values.json ? `${loadResultsJson(results)}\n` : formatLoadResults(results, { errorsOnly: true }));
    return;
  }
  io.err(`saker ctl: ${err.method}: ${err.codeName}: ${err.details}\n`);
}

async function readLocal(paths: readonly string[], io: Io, verb: string) {
  if (paths.length === 0) throw new UsageError(`rules ${verb}: name at least one rules file or folder`, NAME);
  const texts = await readRuleFiles(paths);
  const unreadable = texts.filter((t) => t.readError !== undefined);
  if (unreadable.length > 0) {
    for (const t of unreadable) io.err(`saker ctl: ${t.readError}\n`);
    return undefined;
  }
  if (texts.length === 0) {
    io.err(`saker ctl: no *.yaml or *.yml rules files in ${paths.join(', ')}\n`);
    return undefined;
  }
  return texts.map((t) => ({ name: t.name, content: t.content }));
}

async function rules(
  client: ControlClient,
  sub: string,
  rest: readonly string[],
  values: Values,
  io: Io,
): Promise<number> {
  const json = values.json === true;
  switch (sub) {
    case 'list': {
      if (rest.length > 0) throw new UsageError('rules list takes no arguments', NAME);
      const res = await idempotent(() => client.listRules({ source: values.source ?? '' }));
      if (json) await io.out(`${JSON.stringify({ revision: res.revision, rules: res.rules })}\n`);
      else if (res.revision === 0) await io.out('no ruleset yet (revision 0)\n');
      else await io.out(`revision ${res.revision}\n${rulesTable(res.rules)}`);
      return EXIT_OK;
    }
    case 'describe': {
      const [name, ...extra] = rest;
      if (name === undefined || extra.length > 0)
        throw new UsageError('rules describe takes one rule NAME', NAME);
      const res = await idempotent(() => client.describeRule(name));
      if (res.rule === null) throw new Error('DescribeRule answered without a rule');
      await io.out(json ? `${JSON.stringify(res)}\n` : describeRule(res.rule, res.revision));
      return EXIT_OK;
    }
    case 'validate': {
      const files = await readLocal(rest, io, 'validate');
      if (files === undefined) return EXIT_FAIL;
      const res = await idempotent(() => client.validateRuleset({ files }));
      const results = toLoadResults(res.results);
      await io.out(json ? `${loadResultsJson(results)}\n` : formatLoadResults(results));
      return res.ok ? EXIT_OK : EXIT_FAIL;
    }
    case 'put': {
      const files = await readLocal(rest, io, 'put');
      if (files === undefined) return EXIT_FAIL;
      // Catch the obvious early and offline; the server still loads it with its own engine and decides.
      const local = values['server-only'] ? undefined : loadRules(files);
      if (local !== undefined && !local.ok) {
        io.err('saker ctl: the rules do not load; nothing was sent\n');
        io.err(
          json
            ? `${loadResultsJson(local.results)}\n`
            : formatLoadResults(local.results, { errorsOnly: true }),
        );
        return EXIT_FAIL;
      }
      const res = await client.putRuleset({ files, ...writeMeta(values) });
      if (res.revision === null) throw new Error('PutRuleset answered without a revision');
      await io.out(
        json ? `${JSON.stringify(revisionJson(res.revision))}\n` : `${revisionLine(res.revision)}\n`,
      );
      return EXIT_OK;
    }
    case 'enable':
    case 'disable': {
      const [pattern, ...extra] = rest;
      if (pattern === undefined || extra.length > 0) {
        throw new UsageError(
          `rules ${sub} takes one PATTERN (a rule name, a wildcard, or with --tag a tag)`,
          NAME,
        );
      }
      const req = { selector: values.tag ? { tags: [pattern] } : { rule: pattern }, ...writeMeta(values) };
      const res = sub === 'enable' ? await client.enableRules(req) : await client.disableRules(req);
      if (res.revision === null) throw new Error(`${sub} answered without a revision`);
      if (json) await io.out(`${JSON.stringify({ ...revisionJson(res.revision), matched: res.matched })}\n`);
      else {
        await io.out(
          `${sub}d ${res.matched.length} rule${res.matched.length === 1 ? '' : 's'}: ${res.matched.join(', ')}\n${revisionLine(res.revision)}\n`,
        );
      }
      return EXIT_OK;
    }
    case 'watch': {
      if (rest.length > 0) throw new UsageError('rules watch takes no arguments', NAME);
      const shutdown = onShutdown({ logger: createLogger({ name: 'saker ctl', write: (l) => io.err(l) }) });
      try {
        const watch = client.watchRulesets({}, shutdown.signal);
        for await (const r of watch) {
          await io.out(json ? `${JSON.stringify(revisionJson(r))}\n` : `${revisionLine(r)}\n`);
        }
      } finally {
        shutdown.dispose();
      }
      return EXIT_OK;
    }
    default:
      throw new UsageError(`unknown command "rules ${sub}"`, NAME);
  }
}

/** `saker ctl rules ...`: the control service's client. */
export const ctl: Command = {
  name: NAME,
  summary: 'manage the rules of running engines through the control service',
  help: HELP,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, OPTIONS);
    if (positionals.length === 0) {
      io.err(HELP);
      return EXIT_USAGE;
    }
    const [group, sub, ...rest] = positionals;
    if (group !== 'rules') throw new UsageError(`unknown command "${group}" (try "rules")`, NAME);
    if (sub === undefined) throw new UsageError('"rules" needs a command', NAME);
    const client = connect(clientOptions(values, process.env, NAME));
    try {
      return await rules(client, sub, rest, values, io);
    } catch (err) {
      if (isControlCallError(err)) {
        reportCallError(err, io, values);
        return EXIT_FAIL;
      }
      throw err;
    } finally {
      client.close();
    }
  },
};
