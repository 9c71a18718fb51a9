export type { EngineService } from './engine.js';
export { start } from './engine.js';
export type { EngineOptions } from './options.js';
export type { OutgoingAlert } from './alerts.js';
export { internalAlert } from './alerts.js';
export type { EngineStats } from './stats.js';
export { decodeEngineStats } from './stats.js';
