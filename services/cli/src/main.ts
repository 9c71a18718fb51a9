#!/usr/bin/env node
import { COMMANDS, findCommand, groupCommands } from './commands/registry.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE, HelpRequested, type Io, UsageError, processIo } from './io.js';
import { sakerVersion } from './version.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return `Usage: saker <command> [options]

Saker evaluates Falco-compatible rules against system calls and Kubernetes
audit events and prints Falco's alerts.

Commands:
${lines.join('\n')}
  ${'help <command>'.padEnd(width)}  show a command's options

Options:
  -h, --help     show this help
  -V, --version  print the version
`;
}

function groupHelp(group: string): string | undefined {
  const cmds = groupCommands(group);
  if (cmds.length === 0) return undefined;
  const width = Math.max(...cmds.map((c) => c.name.length));
  return `Usage: saker ${group} <command> [options]\n\nCommands:\n${cmds
    .map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`)
    .join('\n')}\n`;
}

async function help(words: readonly string[], io: Io): Promise<number> {
  if (words.length === 0) {
    await io.out(overview());
    return EXIT_OK;
  }
  const found = findCommand(words);
  if (found && found.args.length === 0) {
    await io.out(found.command.help);
    return EXIT_OK;
  }
  const group = words.length === 1 ? groupHelp(words[0] as string) : undefined;
  if (group !== undefined) {
    await io.out(group);
    return EXIT_OK;
  }
  throw new UsageError(`no command named "${words.join(' ')}"`);
}

/** Runs one command line; returns the exit code. */
export async function main(argv: readonly string[], io: Io): Promise<number> {
  try {
    const [first] = argv;
    if (first === undefined) {
      io.err(overview());
      return EXIT_USAGE;
    }
    if (first === '-h' || first === '--help') return await help([], io);
    if (first === '-V' || first === '--version') {
      await io.out(`saker ${sakerVersion()}\n`);
      return EXIT_OK;
    }
    if (first === 'help') return await help(argv.slice(1), io);
    const found = findCommand(argv);
    if (found) return await found.command.run(found.args, io);
    const group = groupHelp(first);
    if (group !== undefined) {
      const sub = argv[1];
      if (sub === '-h' || sub === '--help') {
        await io.out(group);
        return EXIT_OK;
      }
      const what = sub === undefined ? `"${first}" needs a command` : `unknown command "${first} ${sub}"`;
      io.err(`saker: ${what}\n\n${group}`);
      return EXIT_USAGE;
    }
    if (first.startsWith('-')) throw new UsageError(`unknown option ${first}`);
    throw new UsageError(`unknown command "${first}"`);
  } catch (err) {
    if (err instanceof HelpRequested) return await help(err.command.split(' '), io);
    if (err instanceof UsageError) {
      const prefix = err.command === undefined ? 'saker' : `saker ${err.command}`;
      const helpCmd = err.command === undefined ? 'saker --help' : `saker help ${err.command}`;
      io.err(`${prefix}: ${err.message}\nRun '${helpCmd}' for usage.\n`);
      return EXIT_USAGE;
    }
    io.err(`saker: unexpected error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    return EXIT_FAIL;
  }
}

process.exitCode = await main(process.argv.slice(2), processIo());
