import type { ListInfo, MacroInfo, Position, RuleInfo } from '@saker/rules';
import { priorityLabel } from '@saker/rules';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { loadRulePaths, rulePathsOrDefault } from '../rules-input.js';

const NAME = 'rules describe';

function where(p: Position): string {
  return `${p.name}:${p.line}:${p.column}`;
}

/** A labelled value; multi-line values go below their label, indented. */
function field(label: string, value: string): string {
  const text = value.trim();
  if (!text.includes('\n')) return `  ${`${label}:`.padEnd(11)} ${text}\n`;
  const body = text
    .split('\n')
    .map((l) => `    ${l.trimEnd()}`)
    .join('\n');
  return `  ${label}:\n${body}\n`;
}

function describeRule(r: RuleInfo): string {
  return (
    `rule: ${r.name}\n` +
    field('file', where(r.position)) +
    field('source', r.source) +
    field('priority', priorityLabel(r.priority)) +
    field('enabled', r.enabled ? 'yes' : 'no') +
    field('tags', r.tags.length > 0 ? r.tags.join(', ') : '(none)') +
    field('evttypes', r.evttypes ? r.evttypes.join(', ') : '(all: no event-type filter)') +
    field('desc', r.desc) +
    field('condition', r.condition) +
    field('output', r.output)
  );
}

function describeMacro(m: MacroInfo): string {
  return (
    `macro: ${m.name}\n` +
    field('file', where(m.position)) +
    field('source', m.source) +
    field('used', m.used ? 'yes' : 'no') +
    field('condition', m.condition)
  );
}

function describeList(l: ListInfo): string {
  return (
    `list: ${l.name}\n` +
    field('file', where(l.position)) +
    field('used', l.used ? 'yes' : 'no') +
    field('items', l.items.length > 0 ? l.items.join(', ') : '(empty)')
  );
}

/** `saker rules describe NAME`: one rule, macro or list in full. */
export const rulesDescribe: Command = {
  name: NAME,
  summary: 'show a rule, macro or list in full',
  help: `Usage: saker rules describe NAME [--json] [-r FILE|DIR]...

Prints the rule named NAME (or else the macro, or else the list) as loaded,
after appends and overrides: condition, output, priority, tags, source, the
event types it is indexed under, and where it is defined.

Options:
  -r, --rules FILE|DIR  rules to load (default: Saker's rules/ folder); repeat for more
  --json                print the item as JSON
  -h, --help            show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, {
      rules: { type: 'string', short: 'r', multiple: true },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) {
      throw new UsageError('name exactly one rule, macro or list (quote names with spaces)', NAME);
    }
    const name = positionals[0] as string;
    const paths = rulePathsOrDefault(values.rules, io);
    if (!paths) return EXIT_FAIL;
    const loaded = await loadRulePaths(paths, io);
    if (!loaded.ok) return EXIT_FAIL;
    const { rules, macros, lists } = loaded.load.ruleset;

    const rule = rules.find((r) => r.name === name);
    const macro = rule ? undefined : macros.find((m) => m.name === name);
    const list = rule || macro ? undefined : lists.find((l) => l.name === name);
    if (values.json) {
      const doc = rule
        ? { kind: 'rule', ...rule, priority: priorityLabel(rule.priority) }
        : macro
          ? { kind: 'macro', ...macro }
          : list
            ? { kind: 'list', ...list }
            : undefined;
      if (doc) {
        await io.out(`${JSON.stringify(doc)}\n`);
        return EXIT_OK;
      }
    } else if (rule || macro || list) {
      await io.out(rule ? describeRule(rule) : macro ? describeMacro(macro) : describeList(list as ListInfo));
      return EXIT_OK;
    }
    io.err(`saker: no rule, macro or list named ${JSON.stringify(name)} in ${paths.join(', ')}\n`);
    return EXIT_FAIL;
  },
};
