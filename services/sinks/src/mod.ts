export { start } from './service.js';
export type { OutputSettings } from './options.js';

export type { AlertFormat } from './alert.js';
export { alertLine, parseAlert } from './alert.js';

export { SinksOptionsError } from './errors.js';

export { falcoOutputsFromConfig, inputOptionsFromConfig, sidekickOutputsFromConfig } from './config.js';

export type { Output } from './outputs/output.js';
