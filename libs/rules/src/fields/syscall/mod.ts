import type { SyscallEvent } from '@saker/events';
import { FieldRegistry } from '../registry.js';
import { containerFields } from './container.js';
import { evtFields } from './evt.js';
import { fdFields } from './fd.js';
import { fsPathFields } from './fspath.js';
import { groupFields } from './group.js';
import { k8sFields } from './k8s.js';
import { procFields } from './proc.js';
import { threadFields } from './thread.js';
import { userFields } from './user.js';

/**
 * Every field of the `syscall` source: evt, proc, thread, user, group, fd,
 * fs.path, container and k8s, under Falco's names and with Falco's meaning.
 */
export const syscallFields: FieldRegistry<SyscallEvent> = new FieldRegistry<SyscallEvent>('syscall', [
  ...evtFields,
  ...procFields,
  ...threadFields,
  ...userFields,
  ...groupFields,
  ...fdFields,
  ...fsPathFields,
  ...containerFields,
  ...k8sFields,
]);
