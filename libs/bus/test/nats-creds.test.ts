/**
 * Decentralized auth: a `.creds` file (user JWT + nkey seed) read from a
 * file, against a nats-server in operator mode. The JWTs are made here with
 * nkeys (the `nsc` tool is not installed): operator → account → user.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { type KeyPair, createAccount, createOperator, createUser } from '@nats-io/nkeys';
import { startNatsServer } from '@saker/testing';
import { connectBus } from '../src/connect.js';
import { BusConnectionError } from '../src/errors.js';

const b64u = (b: Uint8Array | string): string => Buffer.from(b).toString('base64url');

/** A NATS JWT: `sub` signed by `issuer`, with the `nats` claims. */
function natsJwt(issuer: KeyPair, sub: string, nats: Record<string, unknown>): string {
  const claims: Record<string, unknown> = {
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name: sub.slice(0, 8),
    sub,
    nats,
  };
  claims.jti = createHash('sha256').update(JSON.stringify(claims)).digest('base64url');
  const signing = `${b64u(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${b64u(JSON.stringify(claims))}`;
  return `${signing}.${b64u(issuer.sign(new TextEncoder().encode(signing)))}`;
}

describe('NATS creds file (JWT + nkey)', () => {
  it('connects with a creds file read from disk; without it, or with another account’s, it is refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'saker-nats-creds-'));
    try {
      const operator = createOperator();
      const account = createAccount();
      const limits = {
        subs: -1,
        conn: -1,
        leaf: -1,
        imports: -1,
        exports: -1,
        data: -1,
        payload: -1,
        wildcards: true,
      };
      const config = [
        `operator: ${natsJwt(operator, operator.getPublicKey(), { type: 'operator', version: 2 })}`,
        'resolver: MEMORY',
        `resolver_preload: { ${account.getPublicKey()}: ${natsJwt(operator, account.getPublicKey(), { type: 'account', version: 2, limits })} }`,
      ].join('\n');
      await using server = await startNatsServer({ config });
      const credsFor = (issuer: KeyPair, name: string): string => {
        const user = createUser();
        const jwt = natsJwt(issuer, user.getPublicKey(), {
          type: 'user',
          version: 2,
          pub: {},
          sub: {},
          subs: -1,
          data: -1,
          payload: -1,
        });
        const seed = new TextDecoder().decode(user.getSeed());
        const file = join(dir, name);
        writeFileSync(
          file,
          `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${seed}\n------END USER NKEY SEED------\n`,
        );
        return file;
      };
      const bus = await connectBus({
        url: server.url,
        auth: { credsFile: credsFor(account, 'engine.creds') },
        maxReconnectAttempts: 0,
      });
      await bus.flush();
      await bus.close();
      const refused = { maxReconnectAttempts: 0, connectTimeoutMs: 2_000 };
      await assert.rejects(connectBus({ url: server.url, ...refused }), BusConnectionError);
      await assert.rejects(
        connectBus({
          url: server.url,
          auth: { credsFile: credsFor(createAccount(), 'foreign.creds') },
          ...refused,
        }),
        BusConnectionError,
      );
      await assert.rejects(
        connectBus({ url: server.url, auth: { credsFile: join(dir, 'missing.creds') }, ...refused }),
        /auth\.credsFile: cannot read .*missing\.creds \(ENOENT\)/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
