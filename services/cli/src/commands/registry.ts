import type { Command } from '../io.js';
import { ctl } from './ctl.js';
import { fieldsList } from './fields-list.js';
import { natsAuthorization } from './nats-authorization.js';
import { replay } from './replay.js';
import { rulesDescribe } from './rules-describe.js';
import { rulesList } from './rules-list.js';
import { rulesValidate } from './rules-validate.js';
import { run } from './run.js';
import { selftest } from './selftest.js';
import { SERVICE_COMMANDS } from './service.js';
import { uiHashPassword } from './ui-hash-password.js';

/** Every command of the binary, in the order `saker --help` lists them. */
export const COMMANDS: readonly Command[] = [
  run,
  ...SERVICE_COMMANDS,
  uiHashPassword,
  ctl,
  rulesValidate,
  rulesList,
  rulesDescribe,
  fieldsList,
  replay,
  natsAuthorization,
  selftest,
];

/**
 * The command named by the leading words of argv (`rules validate ...`), and
 * the arguments after its name.
 */
export function findCommand(
  argv: readonly string[],
): { command: Command; args: readonly string[] } | undefined {
  // The longest name first: `ui hash-password` before the service `ui`.
  const longestFirst = [...COMMANDS].sort((a, b) => b.name.split(' ').length - a.name.split(' ').length);
  for (const command of longestFirst) {
    const words = command.name.split(' ');
    if (words.every((w, i) => argv[i] === w)) return { command, args: argv.slice(words.length) };
  }
  return undefined;
}

/** The commands under a group word (`rules` → validate, list, describe). */
export function groupCommands(group: string): readonly Command[] {
  return COMMANDS.filter((c) => c.name.startsWith(`${group} `));
}
