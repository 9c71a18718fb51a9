/**
 * Local users: a file of `name:role:hash` lines, the hash scrypt's in a
 * PHC-like string `$scrypt$ln=15,r=8,p=1$<salt>$<key>` (salt and key in
 * unpadded base64). `saker ui hash-password` prints one. There is no
 * default user and no default password.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { UiRole } from '@saker/config';

const KEY_BYTES = 32;
const DEFAULT_LN = 15;
const HASH = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

export interface LocalUser {
  readonly name: string;
  readonly role: UiRole;
  readonly hash: string;
}

class UsersFileError extends Error {
  override readonly name = 'UsersFileError';
  readonly file: string;
  readonly line: number;

  constructor(file: string, line: number, reason: string) {
    super(`${file}:${line}: ${reason}`);
    this.file = file;
    this.line = line;
  }
}

function derive(password: string, salt: Buffer, ln: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

const b64 = (b: Buffer): string => b.toString('base64').replace(/=+$/, '');

export async function hashPassword(password: string, ln = DEFAULT_LN): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, ln, 8, 1);
  return `$scrypt$ln=${ln},r=8,p=1$${b64(salt)}$${b64(key)}`;
}

/** Whether `hash` is one hashPassword could have made (parameters in bounds). */
function isPasswordHash(hash: string): boolean {
  const m = HASH.exec(hash);
  if (m === null) return false;
  const [ln, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return ln >= 10 && ln <= 20 && r >= 1 && r <= 32 && p >= 1 && p <= 16;
}

export async function verifyPassword(password: string, hash: string): Promise<boolean> {
  const m = HASH.exec(hash);
  if (m === null || !isPasswordHash(hash)) return false;
  const expected = Buffer.from(m[5] ?? '', 'base64');
  const key = await derive(
    password,
    Buffer.from(m[4] ?? '', 'base64'),
    Number(m[1]),
    Number(m[2]),
    Number(m[3]),
  );
  return expected.length === key.length && timingSafeEqual(expected, key);
}

/** A hash no password matches, checked when the user is unknown so both cases take as long. */
export const UNKNOWN_USER_HASH = `$scrypt$ln=${DEFAULT_LN},r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

/** Reads a users file; errors name the file and line, never a hash. */
export function readUsersFile(file: string): ReadonlyMap<string, LocalUser> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsersFileError(file, 0, `cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  const users = new Map<string, LocalUser>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const parts = line.split(':');
    if (parts.length !== 3) throw new UsersFileError(file, i + 1, 'expected name:role:hash');
    const [name = '', role = '', hash = ''] = parts;
    if (!/^[A-Za-z0-9._@-]{1,128}$/.test(name)) {
      throw new UsersFileError(file, i + 1, 'the name must be 1-128 of [A-Za-z0-9._@-]');
    }
    if (role !== 'viewer' && role !== 'admin') {
      throw new UsersFileError(file, i + 1, `the role must be viewer or admin, got ${JSON.stringify(role)}`);
    }
    if (!isPasswordHash(hash)) {
      throw new UsersFileError(file, i + 1, "the hash is not one 'saker ui hash-password' prints");
    }
    if (users.has(name)) throw new UsersFileError(file, i + 1, `${name} is listed twice`);
    users.set(name, { name, role, hash });
  });
  return users;
}
