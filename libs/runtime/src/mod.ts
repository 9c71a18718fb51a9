export type { ErrorKind, OptionPlace } from './errors.js';
export { OptionError, StartupError, describePlace, errorKind } from './errors.js';
export type { HostPort, HostPortOptions } from './host-port.js';
export { formatHostPort, isLoopbackHost, parseHostPort } from './host-port.js';
export type { LogFields, LogFn, LogFormat, LogLevel, Logger, LoggerOptions } from './log.js';
export { LOG_FORMATS, LOG_LEVELS, createLogger, isLogFormat, isLogLevel } from './log.js';
export type { Shutdown, ShutdownOptions } from './signals.js';
export { aborted, onShutdown } from './signals.js';
export type {
  FlagSpec,
  FlagSpecs,
  FlagValues,
  ServiceContext,
  ServiceHandle,
  ServiceModule,
  ServiceStage,
} from './service.js';
export { STAGES } from './service.js';
export type { Supervised } from './supervisor.js';
export { supervise } from './supervisor.js';
export type { HostOptions } from './host.js';
export { hostServices } from './host.js';
