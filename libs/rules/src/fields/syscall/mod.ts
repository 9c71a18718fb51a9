import type { SyscallEvent } from '@saker/events';
import { FieldRegistry } from '../registry.js';

// Placeholder until the field classes land: each class file exports an array of FieldDef.
export const syscallFields = new FieldRegistry<SyscallEvent>('syscall', []);
