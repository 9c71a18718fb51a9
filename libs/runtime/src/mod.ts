export type { OptionPlace } from './errors.js';
export { OptionError, StartupError, describePlace, errorKind } from './errors.js';
export type { HostPort } from './host-port.js';
export { formatHostPort, parseHostPort } from './host-port.js';
export type { LogFn, LogFormat, LogLevel, Logger } from './log.js';
export { LOG_FORMATS, LOG_LEVELS, createLogger } from './log.js';

export { onShutdown } from './signals.js';
export type { FlagValues } from './service.js';
export type { ServiceContext, ServiceModule } from './service.js';

export type { HostOptions } from './host.js';
export { hostServices } from './host.js';
