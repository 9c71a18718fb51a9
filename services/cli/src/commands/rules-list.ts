import { priorityLabel } from '@saker/rules';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { loadRulePaths, rulePathsOrDefault } from '../rules-input.js';
import { table } from '../table.js';

const NAME = 'rules list';

/** `saker rules list`: every rule, macro and list of the loaded files. */
export const rulesList: Command = {
  name: NAME,
  summary: 'list the rules, macros and lists of rule files',
  help: `Usage: saker rules list [--json] [-r FILE|DIR]...

Loads the rule files (default: Saker's rules/ folder) and lists their rules
in load order, as a table or as JSON:
  {"rules":[{name,desc,priority,source,tags,enabled}],"macros":[...],"lists":[...]}

Options:
  -r, --rules FILE|DIR  rules to load; repeat for more
  --json                print JSON instead of a table
  -h, --help            show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, {
      rules: { type: 'string', short: 'r', multiple: true },
      json: { type: 'boolean' },
    });
    if (positionals.length > 0) {
      throw new UsageError(`unexpected argument ${positionals[0]} (name rule files with -r)`, NAME);
    }
    const paths = rulePathsOrDefault(values.rules, io);
    if (!paths) return EXIT_FAIL;
    const loaded = await loadRulePaths(paths, io);
    if (!loaded.ok) return EXIT_FAIL;
    const { rules, macros, lists } = loaded.load.ruleset;

    if (values.json) {
      const doc = {
        rules: rules.map((r) => ({
          name: r.name,
          desc: r.desc,
          priority: priorityLabel(r.priority),
          source: r.source,
          tags: r.tags,
          enabled: r.enabled,
        })),
        macros: macros.map((m) => ({ name: m.name, source: m.source, used: m.used })),
        lists: lists.map((l) => ({ name: l.name, items: l.items, used: l.used })),
      };
      await io.out(`${JSON.stringify(doc)}\n`);
      return EXIT_OK;
    }

    const rows = rules.map((r) => [
      r.name,
      priorityLabel(r.priority),
      r.source,
      r.enabled ? 'yes' : 'no',
      r.tags.join(','),
    ]);
    const enabled = rules.filter((r) => r.enabled).length;
    await io.out(
      `${table(['RULE', 'PRIORITY', 'SOURCE', 'ENABLED', 'TAGS'], rows)}` +
        `\n${rules.length} rules (${enabled} enabled), ${macros.length} macros, ${lists.length} lists\n`,
    );
    return EXIT_OK;
  },
};
