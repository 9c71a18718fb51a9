import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type GrpcObject, loadPackageDefinition } from '@grpc/grpc-js';
import { type Options, loadSync } from '@grpc/proto-loader';
import type { ProtoGrpcType } from './gen/rules.js';

/**
 * How proto-loader turns messages into objects. scripts/generate.mjs passes
 * the same choices to proto-loader-gen-types, so the generated types in
 * src/gen describe exactly these objects: camelCase fields, 64-bit integers as
 * numbers (revisions stay far below 2^53), enums as their names, defaults for
 * absent fields, and virtual oneof fields (proto3 `optional` presence).
 */
const PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** Trailer carrying a refused ruleset's load results: a serialized ValidateRulesetResponse. */
export const LOAD_RESULTS_TRAILER = 'saker-load-results-bin';

/**
 * Request metadata naming whom a delegating client acts for (the web UI: its
 * logged-in user, `ui:alice`), UTF-8 (binary metadata: a user name from an
 * OIDC provider need not be ASCII). Control accepts it only from an identity
 * in `delegates` and records `<value> via <identity>` as the author.
 */
export const ON_BEHALF_OF_METADATA = 'saker-on-behalf-of-bin';

/** proto/saker/v1/rules.proto at the root of the checkout, from src/ or dist/src/. */
function rulesProtoPath(): string {
  for (const rel of ['../../../proto/saker/v1/rules.proto', '../../../../proto/saker/v1/rules.proto']) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('proto/saker/v1/rules.proto not found next to @saker/control');
}

/** Loads saker.v1 (the RuleService and its messages), typed by the generated code. */
export function loadRulesProto(): ProtoGrpcType {
  const definition = loadSync(rulesProtoPath(), PROTO_LOADER_OPTIONS);
  const loaded: GrpcObject = loadPackageDefinition(definition);
  // The generated ProtoGrpcType is the static description of this very object.
  return loaded as unknown as ProtoGrpcType;
}
