export { SYSCALL_IDS, resolveSyscalls } from './syscalls.js';
export { start } from './service.js';
export type { SensorService, SyscallDropNotice } from './service.js';
export { recordSensor } from './record.js';
