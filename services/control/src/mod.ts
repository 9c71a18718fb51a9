export type { ControlService } from './server.js';
export { RULE_SERVICE_NAME, start } from './server.js';
export type {
  ControlKeepaliveOptions,
  ControlOptions,
  ControlTlsOptions,
  Pem,
  ResolvedControlOptions,
  ResolvedListen,
} from './options.js';
export {
  ControlConfigError,
  DEFAULT_LISTEN,
  resolveControlOptions,
} from './options.js';
export { LOAD_RESULTS_TRAILER, PROTO_LOADER_OPTIONS, loadRulesProto, rulesProtoPath } from './proto.js';
export { MAX_DOCUMENT_BYTES } from './store.js';
export { RpcError, toStatus } from './errors.js';
export type { ControlClientOptions, ControlClientTlsOptions } from './client.js';
export {
  ControlCallError,
  ControlClient,
  RETRYABLE_STATUS_CODES,
  isControlCallError,
  isGrpcServiceError,
} from './client.js';
