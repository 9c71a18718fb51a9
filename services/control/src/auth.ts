import { createHash, timingSafeEqual } from 'node:crypto';
import { type Metadata, status } from '@grpc/grpc-js';
import { RpcError } from './errors.js';

/**
 * Checks `authorization: Bearer <token>` against the configured token. Both
 * sides are hashed first so the comparison takes the same time whatever the
 * length or content of the presented token.
 */
export class TokenCheck {
  readonly #digest: Buffer;

  constructor(token: string) {
    this.#digest = createHash('sha256').update(token, 'utf8').digest();
  }

  /** Throws RpcError(UNAUTHENTICATED) unless the metadata carries the token. */
  verify(metadata: Metadata): void {
    const values = metadata.get('authorization');
    if (values.length === 0) {
      throw new RpcError(status.UNAUTHENTICATED, 'missing "authorization: Bearer <token>" metadata');
    }
    if (values.length > 1) throw new RpcError(status.UNAUTHENTICATED, 'more than one authorization value');
    const value = values[0];
    const m = typeof value === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(value) : null;
    if (m === null) {
      throw new RpcError(status.UNAUTHENTICATED, 'authorization metadata is not "Bearer <token>"');
    }
    const presented = createHash('sha256')
      .update(m[1] ?? '', 'utf8')
      .digest();
    if (!timingSafeEqual(presented, this.#digest)) {
      throw new RpcError(status.UNAUTHENTICATED, 'invalid bearer token');
    }
  }
}
