export type { ControlService } from './server.js';
export { start } from './server.js';
