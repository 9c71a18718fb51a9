export type { AuditService } from './service.js';
export { start } from './service.js';
export type {
  AuditOptions,
  FileSourceOptions,
  HandoffOptionsInput,
  ResolvedAuditOptions,
  WebhookOptions,
} from './options.js';
export {
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_WEBHOOK_PATH,
  DEFAULT_WEBHOOK_PORT,
  resolveAuditOptions,
} from './options.js';
export type { WebhookServer, WebhookTls } from './webhook.js';
export type { HandoffMode, HandoffResult } from './handoff.js';
export { AUDIT_STREAM, AuditHandoff, packChunks } from './handoff.js';
export type { DecodedBody, RejectedItem, CheckedItem } from './decode.js';
export { AUDIT_API_VERSION, checkAuditEvent, decodeAuditBody } from './decode.js';
export { encodeAuditLine } from './encode.js';
export type { Checkpoint } from './checkpoint.js';
export { readCheckpoint, writeCheckpoint } from './checkpoint.js';
export type { AuditInput, AuditMetrics } from './metrics.js';
export type { RejectReason } from './errors.js';
export { AuditConfigError, AuditHandoffError, AuditRequestError, CheckpointError } from './errors.js';
