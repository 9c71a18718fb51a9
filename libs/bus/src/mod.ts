export type {
  Bus,
  BusHeaders,
  BusMessage,
  ConsumerOptions,
  ConsumerState,
  DurableConsumer,
  KvEntry,
  KvOperation,
  KvOptions,
  KvStore,
  KvWatch,
  KvWatchEntry,
  KvWatchOptions,
  PublishAck,
  PublishDurableOptions,
  Reply,
  RequestHandler,
  RequestOptions,
  StreamInfo,
  StreamMessage,
  StreamOptions,
  SubscribeOptions,
  Subscription,
} from './transport.js';
export type { BusTarget } from './connect.js';
export { connectBus } from './connect.js';
export type { BusOperation } from './errors.js';
export {
  BusClosedError,
  BusConnectionError,
  BusError,
  BusPermissionError,
  BusTimeoutError,
  BusTransportError,
  ConfigConflictError,
  InvalidBatchEventError,
  InvalidNameError,
  InvalidSubjectError,
  KvKeyExistsError,
  KvRevisionMismatchError,
  NoRespondersError,
  NoStreamError,
  RemoteHandlerError,
  StreamNotFoundError,
} from './errors.js';
export type { AlertPriority } from './subjects.js';
export {
  ALERT_PRIORITIES,
  BUCKETS,
  BUS_VERSION,
  HEADERS,
  META_KEYS,
  QUEUE_GROUPS,
  STREAMS,
  SUBJECTS,
  assertToken,
  toToken,
} from './subjects.js';
export { subjectMatches } from './subject-syntax.js';
export type {
  BatchCodec,
  BatchSender,
  BatcherOptions,
  BatcherStats,
  DecodedBatch,
  EncodeOptions,
  EncodedBatch,
} from './batch.js';
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
export { BATCH_CODEC_BINARY, checkView, toPlainEvent, viewFault } from './batch-binary.js';
export type { MemoryBrokerOptions } from './memory/broker.js';
export { MemoryBroker } from './memory/broker.js';
export type { MemoryBusOptions } from './memory/bus.js';
export { MemoryBus } from './memory/bus.js';
export type { NatsBusOptions } from './nats/bus.js';
export { NatsBus, connectNats } from './nats/bus.js';
export type { NatsAuthFiles, NatsTlsFiles } from './nats/auth.js';
export { NatsSecurityConfigError, redactNatsUrl, splitUrlCredentials } from './nats/auth.js';
export type { NatsPermissions, NatsUserEntry, SakerService } from './permissions.js';
export {
  LEAF_SERVICES,
  SAKER_SERVICES,
  natsAuthorizationBlock,
  natsInboxPrefix,
  natsLeafPermissions,
  natsPermissions,
  natsUserPermissions,
} from './permissions.js';
export type { StreamLimits, StreamLimitsByName } from './stream-limits.js';
export { DEFAULT_STREAM_LIMITS, withStreamLimits } from './stream-limits.js';
