/**
 * Loads proto/cri/runtime/v1/api.proto (the CRI subset) at run time, the way
 * @saker/control loads its own proto. Messages come out with camelCase
 * fields, 64-bit integers as decimal strings (nanosecond timestamps do not fit
 * a double), enums as their names and defaults for absent fields; the
 * replies are then checked by validate.ts before anything uses them.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type GrpcObject, type ServiceClientConstructor, loadPackageDefinition } from '@grpc/grpc-js';
import { type Options, loadSync } from '@grpc/proto-loader';

const CRI_PROTO_LOADER_OPTIONS: Options = {
  keepCase: false,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
};

/** proto/cri/runtime/v1/api.proto at the root of the checkout, from src/cri or dist/src/cri. */
function criProtoPath(): string {
  for (const rel of [
    '../../../../proto/cri/runtime/v1/api.proto',
    '../../../../../proto/cri/runtime/v1/api.proto',
  ]) {
    const path = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(path)) return path;
  }
  throw new Error('proto/cri/runtime/v1/api.proto not found next to @saker/enrich');
}

export interface CriProto {
  readonly RuntimeService: ServiceClientConstructor;
  readonly ImageService: ServiceClientConstructor;
}

/** Loads the runtime.v1 RuntimeService and ImageService client constructors (each client loads its own). */
export function loadCriProto(): CriProto {
  const loaded: GrpcObject = loadPackageDefinition(loadSync(criProtoPath(), CRI_PROTO_LOADER_OPTIONS));
  const runtime = loaded.runtime as GrpcObject | undefined;
  const v1 = runtime?.v1 as GrpcObject | undefined;
  const rs = v1?.RuntimeService;
  const is = v1?.ImageService;
  if (typeof rs !== 'function' || typeof is !== 'function') {
    throw new Error(`${criProtoPath()}: runtime.v1.RuntimeService or ImageService is missing`);
  }
  return { RuntimeService: rs as ServiceClientConstructor, ImageService: is as ServiceClientConstructor };
}
