/**
 * Signed rulesets. Control signs every revision it writes to KV `saker_rules`
 * with an Ed25519 key; engines given the public keys refuse a revision that
 * is unsigned, signed by another key, or altered after signing, and keep the
 * ruleset they have. Anyone able to write the bucket (a leaked NATS
 * credential, a mistaken `kv put`) can then no longer change what engines
 * detect.
 *
 * What is signed: a canonical encoding of the document's meaningful fields
 * (format, files, selections, author, comment, updatedAt), under a domain
 * prefix, so the JSON's key order or extra keys do not matter and a
 * signature over something else cannot be replayed as a ruleset signature.
 */
import { type KeyObject, createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { RulesetDocument, RulesetSignature } from './ruleset-doc.js';

const DOMAIN = 'saker-ruleset-signature-v1\n';

/** The bytes a signature covers. */
function rulesetSignedBytes(doc: RulesetDocument): Uint8Array {
  const canonical = [
    doc.format,
    doc.files.map((f) => [f.name, f.content]),
    doc.selections.map((s) => [
      s.action,
      s.selector.rule ?? null,
      s.selector.substring ?? null,
      s.selector.tags ?? null,
    ]),
    doc.author ?? null,
    doc.comment ?? null,
    doc.updatedAt,
  ];
  return new TextEncoder().encode(DOMAIN + JSON.stringify(canonical));
}

/** A short, stable name of a public key: the first 16 hex digits of the SHA-256 of its SPKI DER. */
export function rulesetKeyId(key: KeyObject): string {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return createHash('sha256')
    .update(pub.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** A key file that is not an Ed25519 key, or cannot be read. */
export class RulesetKeyError extends Error {
  override readonly name = 'RulesetKeyError';
  readonly file: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.file = file;
  }
}

function readPem(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new RulesetKeyError(
      file,
      `cannot read the key (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
      {
        cause: err,
      },
    );
  }
}

function ed25519(file: string, key: KeyObject): KeyObject {
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new RulesetKeyError(
      file,
      `expected an Ed25519 key, got ${key.asymmetricKeyType ?? 'a secret key'}`,
    );
  }
  return key;
}

/** An Ed25519 key from a PEM file, made by `make`; `what` names the PEM expected. */
function readKey(file: string, make: (pem: string) => KeyObject, what: string): KeyObject {
  const pem = readPem(file);
  try {
    return ed25519(file, make(pem));
  } catch (err) {
    if (err instanceof RulesetKeyError) throw err;
    throw new RulesetKeyError(file, `not a PEM ${what}`, { cause: err });
  }
}

/** The signing key (PEM PKCS#8, `openssl genpkey -algorithm ed25519`) from a file. */
export function readRulesetSigningKey(file: string): KeyObject {
  return readKey(file, createPrivateKey, 'private key');
}

/** A verification key from a file: a PEM public key (or a private key, whose public half is used). */
export function readRulesetVerifyKey(file: string): KeyObject {
  return readKey(file, createPublicKey, 'public key');
}

/** `doc` with a signature by `key` (any previous signature replaced). */
export function signRulesetDocument(doc: RulesetDocument, key: KeyObject): RulesetDocument {
  const { signature: _previous, ...unsigned } = doc;
  const signature: RulesetSignature = {
    alg: 'ed25519',
    keyId: rulesetKeyId(key),
    value: sign(null, rulesetSignedBytes(unsigned), key).toString('base64'),
  };
  return { ...unsigned, signature };
}

export type RulesetVerdict =
  | { readonly ok: true; readonly keyId: string }
  | {
      readonly ok: false;
      readonly reason: 'unsigned' | 'unknown key' | 'bad signature';
      readonly detail: string;
    };

/** Checks `doc`'s signature against the trusted public keys. */
export function verifyRulesetDocument(doc: RulesetDocument, trusted: readonly KeyObject[]): RulesetVerdict {
  const sig = doc.signature;
  if (sig === undefined)
    return { ok: false, reason: 'unsigned', detail: 'the revision carries no signature' };
  const key = trusted.find((k) => rulesetKeyId(k) === sig.keyId);
  if (key === undefined) {
    return {
      ok: false,
      reason: 'unknown key',
      detail: `signed by key ${sig.keyId}, which is not among the trusted keys (${trusted.map(rulesetKeyId).join(', ')})`,
    };
  }
  const good = verify(null, rulesetSignedBytes(doc), key, Buffer.from(sig.value, 'base64'));
  return good
    ? { ok: true, keyId: sig.keyId }
    : {
        ok: false,
        reason: 'bad signature',
        detail: `the signature by key ${sig.keyId} does not match the content`,
      };
}
