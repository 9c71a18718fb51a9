import { type Def, field } from './helpers.js';

export const groupFields: readonly Def[] = [
  field({
    name: 'group.gid',
    kind: 'number',
    falcoType: 'UINT32',
    description: 'The group id the process runs as.',
    extract: (e) => e.group.gid,
  }),
  field({
    name: 'group.name',
    kind: 'string',
    falcoType: 'CHARBUF',
    description: 'The name of the group the process runs as.',
    extract: (e) => e.group.name,
  }),
];
