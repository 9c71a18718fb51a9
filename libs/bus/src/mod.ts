export type {
  Bus,
  BusHeaders,
  BusMessage,
  ConsumerOptions,
  ConsumerState,
  DurableConsumer,
  KvStore,
  KvWatch,
  KvWatchEntry,
  PublishAck,
  StreamInfo,
  StreamMessage,
  Subscription,
} from './transport.js';
export { connectBus } from './connect.js';
export {
  BusClosedError,
  BusConnectionError,
  BusError,
  BusPermissionError,
  BusTimeoutError,
  ConfigConflictError,
  InvalidBatchEventError,
  KvKeyExistsError,
  KvRevisionMismatchError,
  NoRespondersError,
  NoStreamError,
  StreamNotFoundError,
} from './errors.js';
export type { AlertPriority } from './subjects.js';
export {
  ALERT_PRIORITIES,
  BUCKETS,
  HEADERS,
  META_KEYS,
  QUEUE_GROUPS,
  STREAMS,
  SUBJECTS,
  assertToken,
  toToken,
} from './subjects.js';
export type { BatchCodec, BatcherOptions, BatcherStats, EncodedBatch } from './batch.js';
export type { SensorDrops, SensorStats } from './sensor-stats.js';
export {
  StatusReportError,
  decodeSensorStats,
  encodeSensorStats,
  parseReportObject,
  sumDrops,
} from './sensor-stats.js';
export type { SinksLastError, SinksOutputStats, SinksStats } from './sinks-stats.js';
export { SINKS_ERROR_MAX, clipSinksError, decodeSinksStats, encodeSinksStats } from './sinks-stats.js';
export {
  BATCH_CODEC,
  BATCH_CODECS,
  BATCH_CODEC_V2,
  EventBatcher,
  batchHeaders,
  busBatchSender,
  busDurableBatchSender,
  decodeBatch,
  encodeBatch,
} from './batch.js';
export { BATCH_CODEC_BINARY, checkView, viewFault } from './batch-binary.js';
export { MemoryBroker } from './memory/broker.js';
export type { NatsBusOptions } from './nats/bus.js';
export { connectNats } from './nats/bus.js';
export type { NatsUserEntry, SakerService } from './permissions.js';
export {
  LEAF_SERVICES,
  SAKER_SERVICES,
  natsAuthorizationBlock,
  natsInboxPrefix,
  natsUserPermissions,
} from './permissions.js';
