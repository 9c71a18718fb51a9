import { parseArgs } from 'node:util';

/**
 * What a command may touch: its arguments and two output streams. Commands
 * return an exit code and never call process.exit, so output is flushed.
 */
export interface Io {
  /** Writes to stdout; resolves once the stream can take more (backpressure). */
  out(text: string): Promise<void>;
  err(text: string): void;
}

export function processIo(): Io {
  return {
    out: (text) =>
      new Promise<void>((resolve, reject) => {
        if (process.stdout.write(text)) resolve();
        else {
          process.stdout.once('drain', resolve);
          process.stdout.once('error', reject);
        }
      }),
    err: (text) => {
      process.stderr.write(text);
    },
  };
}

/** Exit codes: 0 success, 1 the work found a problem (load errors, bad events), 2 bad usage. */
export const EXIT_OK = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

/** A command line that cannot be run: unknown command or option, missing argument. Exit 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  /** The command whose usage to point at (`rules validate`), if known. */
  readonly command: string | undefined;

  constructor(message: string, command?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.command = command;
  }
}

/** Thrown by parseCommandArgs for `-h`/`--help`: main() prints the command's help and exits 0. */
export class HelpRequested extends Error {
  override readonly name = 'HelpRequested';
  readonly command: string;

  constructor(command: string) {
    super(`help for ${command}`);
    this.command = command;
  }
}

/** The options a command accepts, in parseArgs' shape. */
interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
}
type Options = Readonly<Record<string, OptionSpec>>;
type OptionValue<S extends OptionSpec> = S['multiple'] extends true
  ? S['type'] extends 'boolean'
    ? boolean[]
    : string[]
  : S['type'] extends 'boolean'
    ? boolean
    : string;

/** What parseArgs gives back in strict mode: each option's value (absent when not given), and the rest. */
interface ParsedCommandArgs<O extends Options> {
  readonly values: { readonly [K in keyof O]?: OptionValue<O[K]> };
  readonly positionals: readonly string[];
}

/**
 * node:util parseArgs in strict mode with positionals, its errors turned into
 * UsageError naming the command. Every command takes `-h`/`--help`: it
 * throws HelpRequested.
 */
export function parseCommandArgs<const O extends Options>(
  command: string,
  args: readonly string[],
  options: O,
) {
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: { ...options, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new UsageError(message.replace(/\. To specify a positional argument.*$/s, ''), command, {
      cause: err,
    });
  }
  if (parsed.values.help === true) throw new HelpRequested(command);
  const { help: _help, ...values } = parsed.values;
  return { values: values as ParsedCommandArgs<O>['values'], positionals: parsed.positionals };
}

/** A command of the `saker` binary. `name` is how it is typed: `rules validate`. */
export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Full help text, shown by `saker help <name>` and `<name> --help`. */
  readonly help: string;
  run(args: readonly string[], io: Io): Promise<number>;
}
