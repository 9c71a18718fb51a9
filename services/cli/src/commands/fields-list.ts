import type { FieldDef } from '@saker/rules';
import { SOURCES } from '@saker/rules';
import { type Command, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';
import { table } from '../table.js';

const NAME = 'fields list';

/** What the listing shows of a field: everything but its extractor. */
type FieldMeta = Pick<FieldDef<unknown>, 'name' | 'falcoType' | 'isList' | 'arg' | 'description'>;

function argSyntax(def: FieldMeta): string {
  if (!def.arg) return def.name;
  const what = def.arg.kind === 'index' ? 'N' : def.arg.kind === 'key' ? 'KEY' : 'N|KEY';
  const form = def.arg.required ? `[${what}]` : `[${what}]?`;
  return `${def.name}${form}`;
}

function mdCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

/** `saker fields list`: the fields rules may use, per source. */
export const fieldsList: Command = {
  name: NAME,
  summary: 'list the fields conditions and outputs may use',
  help: `Usage: saker fields list [--source syscall|k8s_audit] [--json | --markdown]

Lists every field of every event source (or of one), with its Falco type and
meaning. A field written name[N] takes an index, name[KEY] a key; a trailing ?
means the argument is optional.

Options:
  --source NAME  only this source's fields
  --json         print [{source,name,type,list,arg,description}]
  --markdown     print a Markdown table per source
  -h, --help     show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, {
      source: { type: 'string' },
      json: { type: 'boolean' },
      markdown: { type: 'boolean' },
    });
    if (positionals.length > 0) throw new UsageError(`unexpected argument ${positionals[0]}`, NAME);
    if (values.json && values.markdown)
      throw new UsageError('--json and --markdown exclude each other', NAME);
    const names = [...SOURCES.keys()];
    if (values.source !== undefined && !SOURCES.has(values.source)) {
      throw new UsageError(`unknown source ${values.source}; sources: ${names.join(', ')}`, NAME);
    }
    const sources = values.source === undefined ? names : [values.source];
    const bySource = sources.map((s) => {
      const src = SOURCES.get(s);
      const defs: FieldMeta[] = src ? src.fields.list() : [];
      return { source: s, defs: defs.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)) };
    });

    if (values.json) {
      const doc = bySource.flatMap(({ source, defs }) =>
        defs.map((d) => ({
          source,
          name: d.name,
          type: d.falcoType,
          list: d.isList,
          arg: d.arg ? { required: d.arg.required, kind: d.arg.kind, dotted: d.arg.dotted ?? false } : null,
          description: d.description,
        })),
      );
      await io.out(`${JSON.stringify(doc)}\n`);
      return EXIT_OK;
    }
    let s = '';
    for (const { source, defs } of bySource) {
      if (values.markdown) {
        s += `${s === '' ? '' : '\n'}## ${source}\n\n| field | type | description |\n|---|---|---|\n`;
        for (const d of defs) {
          s += `| \`${mdCell(argSyntax(d))}\` | ${d.falcoType}${d.isList ? ' (list)' : ''} | ${mdCell(d.description)} |\n`;
        }
      } else {
        s += `${s === '' ? '' : '\n'}source ${source}: ${defs.length} fields\n`;
        s += table(
          ['FIELD', 'TYPE', 'DESCRIPTION'],
          defs.map((d) => [argSyntax(d), d.falcoType + (d.isList ? ' list' : ''), d.description]),
        );
      }
    }
    await io.out(s);
    return EXIT_OK;
  },
};
