export type {
  SyscallEvent,
  ProcessInfo,
  AncestorInfo,
  UserInfo,
  GroupInfo,
  FdInfo,
  FdType,
  L4Proto,
  NetTuple,
  ContainerInfo,
  ContainerMount,
  K8sServiceRef,
  PodInfo,
} from './syscall.js';
export { FD_TYPE_CHARS } from './syscall.js';
export type { K8sAuditEvent, AuditEvent, JsonValue, JsonObject } from './k8s-audit.js';
export type { SakerEvent, EventSourceName, SharedChecks, SharedPart, SyscallPart } from './validate.js';
export {
  SHARED_PARTS,
  checkSyscallPart,
  checkSyscallScalar,
  parseEvent,
  parseAuditEvent,
  auditLeniency,
  looksLikeUntypedAuditEvent,
  AUDIT_API_VERSIONS,
  wrapAuditEvent,
} from './validate.js';
export { EventValidationError, EventFileError } from './errors.js';
export { readEventsFile, parseEventLine, formatEventLine } from './jsonl.js';
export { nsToIso, nsToFalcoTime } from './time.js';
export { errnoText } from './errno.js';
export type {
  ContainerRecord,
  PodRecord,
  NamespaceRecord,
  WorkloadRecord,
  WorkloadKind,
  OwnerRef,
  ShardLease,
  MetaRecord,
} from './metadata.js';
export { decodeMetaRecord, encodeMetaRecord, isExpiredTombstone } from './metadata.js';
export { JsonDepthError, oneLineJson, parseJsonBounded } from './json-text.js';
