import { type Def, field } from './helpers.js';

/** The kernel's "no login uid" value, which Falco shows as -1 so `user.loginuid = -1` works. */
const UNSET_UID = 4294967295;

export const userFields: readonly Def[] = [
  field({
    name: 'user.uid',
    kind: 'number',
    falcoType: 'UINT32',
    description: 'The user id the process runs as.',
    extract: (e) => e.user.uid,
  }),
  field({
    name: 'user.name',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The name of the user the process runs as.',
    extract: (e) => e.user.name,
  }),
  field({
    name: 'user.homedir',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The home directory of the user.',
    extract: (e) => e.user.homedir,
  }),
  field({
    name: 'user.shell',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The login shell of the user.',
    extract: (e) => e.user.shell,
  }),
  field({
    name: 'user.loginuid',
    kind: 'number',
    falcoType: 'INT64',
    description: 'The audit user id: who logged in, kept across su and sudo. -1 when there was no login.',
    extract: (e) => (e.user.loginuid === UNSET_UID ? -1 : e.user.loginuid),
  }),
  field({
    name: 'user.loginname',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The name of the audit (login) user.',
    extract: (e) => e.user.loginname,
  }),
];
