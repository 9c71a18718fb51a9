import { hashPassword } from '@saker/ui';
import { type Command, EXIT_OK, type Io, UsageError, parseCommandArgs } from '../io.js';

const NAME = 'ui hash-password';

/** The first line of stdin, without its line break. */
async function readLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin as AsyncIterable<Buffer>) {
    chunks.push(chunk);
    if (chunk.includes(10) || Buffer.concat(chunks).length > 4096) break;
  }
  return (Buffer.concat(chunks).toString('utf8').split('\n')[0] ?? '').replace(/\r$/, '');
}

/** `saker ui hash-password`: a password hash for ui.auth.users_file. */
export const uiHashPassword: Command = {
  name: NAME,
  summary: 'print a password hash (scrypt) for ui.auth.users_file',
  help: `Usage: saker ui hash-password [--user NAME --role viewer|admin] < password

Reads a password from the first line of stdin and prints its scrypt hash,
or with --user and --role the whole line of ui.auth.users_file
(name:role:hash). The password never goes on the command line.

Options:
  --user NAME          print the users file line for this user
  --role ROLE          viewer or admin (with --user)
  -h, --help           show this help
`,
  async run(args: readonly string[], io: Io): Promise<number> {
    const { values, positionals } = parseCommandArgs(NAME, args, {
      user: { type: 'string' },
      role: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) {
      await io.out(this.help);
      return EXIT_OK;
    }
    if (positionals.length > 0)
      throw new UsageError('the password is read from stdin, not the command line', NAME);
    if ((values.user === undefined) !== (values.role === undefined))
      throw new UsageError('give --user and --role together', NAME);
    if (values.role !== undefined && values.role !== 'viewer' && values.role !== 'admin') {
      throw new UsageError(`--role: expected viewer or admin, got ${JSON.stringify(values.role)}`, NAME);
    }
    if (values.user !== undefined && !/^[A-Za-z0-9._@-]{1,128}$/.test(values.user)) {
      throw new UsageError('--user: 1-128 of [A-Za-z0-9._@-]', NAME);
    }
    const password = await readLine();
    if (password.length < 8) throw new UsageError('the password must have at least 8 characters', NAME);
    const hash = await hashPassword(password);
    await io.out(values.user === undefined ? `${hash}\n` : `${values.user}:${values.role}:${hash}\n`);
    return EXIT_OK;
  },
};
