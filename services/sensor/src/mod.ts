export { Sensor, DEFAULT_LOADER_PATH } from './sensor.js';
export type { SensorOptions, SensorStats } from './sensor.js';
export {
  StreamDecoder,
  decodeFrame,
  decodeStreamHeader,
  componentsToPath,
  STREAM_MAGIC,
  STREAM_VERSION,
} from './decoder.js';
export type {
  StreamHeader,
  KernelRecord,
  StatsRecord,
  DecodedRecord,
  CpuStats,
  RecordParams,
  ParamLookup,
  FdInfoRaw,
  SockTupleRaw,
  ExeInfoRaw,
} from './decoder.js';
export { SensorDecodeError, SensorLoaderError } from './errors.js';
export {
  renderOpenFlags,
  renderRes,
  renderTuple,
  renderSockaddr,
  netTupleOf,
  fdTypeOf,
  absolutePath,
  normalizePath,
  ppmOpenFlags,
} from './render.js';
export { ProcTable } from './proctable.js';
export type { ProcEntry, ProcTableOptions } from './proctable.js';
export { containerIdFromCgroup, cgroupPathFromProcFile, HOST_CONTAINER_ID } from './container-id.js';
export type { ContainerIdentity } from './container-id.js';
export {
  SYSCALL_IDS,
  syscallName,
  resolveSyscalls,
  renderCall,
  renderPtraceRequest,
  fdText,
} from './syscalls.js';
export type { ArgNameSource } from './syscalls.js';
export { renderNames, toFalco, capabilitiesText } from './falco-names.js';
export type { NameTable, NameTableKind } from './falco-names.js';
export { buildSyscallEvent } from './event.js';
export { start } from './service.js';
export type {
  EventTypeSource,
  SensorService,
  SensorServiceOptions,
  SensorServiceStats,
  SyscallDropNotice,
  SyscallDropWindow,
} from './service.js';
export { interestFromEventTypes } from './interest.js';
export type { InterestSet } from './interest.js';
export { EventRecorder, recordSensor } from './record.js';
export type { RecorderOptions, RecordRunOptions } from './record.js';
