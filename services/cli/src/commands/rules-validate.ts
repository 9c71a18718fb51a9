import { loadResultsJson, loadRules } from '@saker/rules';
import { type Command, EXIT_FAIL, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { formatLoadResults, readRulesOrReport } from '../rules-input.js';

const NAME = 'rules validate';

/** `saker rules validate FILE|DIR...`: Falco's `-V`, with the same JSON. */
export const rulesValidate: Command = {
  name: NAME,
  summary: 'check rule files and report errors and warnings',
  help: `Usage: saker rules validate [--json] FILE|DIR...

Loads the rule files together, in order (a folder stands for its *.yaml files,
sorted), and reports each file's errors and warnings with file:line:col, the
item and a snippet. Exits 1 when any file has an error; warnings alone exit 0.

Options:
  --json      print Falco's {"falco_load_results":[...]} instead
  -h, --help  show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, {
      json: { type: 'boolean' },
    });
    if (positionals.length === 0) throw new UsageError('name at least one rules file or folder', NAME);
    const texts = await readRulesOrReport(positionals, io);
    if (!texts) return EXIT_FAIL;
    const load = loadRules(texts);
    await io.out(values.json ? `${loadResultsJson(load.results)}\n` : formatLoadResults(load.results));
    return load.ok ? EXIT_OK : EXIT_FAIL;
  },
};
