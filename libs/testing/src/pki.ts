/**
 * A throwaway PKI for tests, made with the `openssl` CLI (Debian package
 * `openssl`, installed by scripts/setup.sh). Elliptic-curve (P-256) keys keep
 * generation fast; certificates are valid for two days.
 *
 * - a CA;
 * - a server certificate signed by it for 127.0.0.1 and localhost (serverAuth);
 * - a client certificate signed by it (clientAuth, configurable CN);
 * - a second, unrelated "rogue" CA and a client certificate signed by it (the
 *   intruder / wrong-CA case), with the same CN as the legitimate client so
 *   that only the issuer differs.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestPkiOptions {
  /** Common name of the client certificates (legitimate and rogue). Default `saker-test-client`. */
  readonly clientCn?: string;
  /** Common name of the server certificate. Default `saker-test-server`. */
  readonly serverCn?: string;
  /** Prefix of the temporary directory's name. Default `saker-pki-`. */
  readonly prefix?: string;
  /** Extra subjectAltNames of the server certificate (`IP:10.96.0.20`, `DNS:saker-audit.saker.svc`), after 127.0.0.1 and localhost. */
  readonly serverSans?: readonly string[];
}

/** The PKI's material by name: PEM text in TestPki, file paths in TestPkiFiles. */
interface PkiMaterial {
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  /** Client certificate signed by the CA. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Certificate of the second, unrelated CA. */
  readonly rogueCaCert: string;
  /** Client certificate signed by the rogue CA. */
  readonly rogueCert: string;
  readonly rogueKey: string;
}

/** Paths of the PKI's files, for consumers that take file names (CLI flags, config). */
interface TestPkiFiles extends PkiMaterial {
  /** A directory holding only the CA certificate (`ca.crt`), for "CA path" options. */
  readonly caDir: string;
}

/** The PKI as PEM strings, plus the same material as files. Disposing removes the directory. */
export interface TestPki extends Disposable, PkiMaterial {
  /** The temporary directory holding every file. */
  readonly dir: string;
  readonly files: TestPkiFiles;
}

const DAYS = '2';
const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'] as const;
const serverExt = (sans: readonly string[]): string =>
  `subjectAltName=${['IP:127.0.0.1', 'DNS:localhost', ...sans].join(',')}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n`;
const CLIENT_EXT = 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n';

function openssl(dir: string, args: readonly string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** `openssl req` arguments for a new EC key `<name>.key` and the request or certificate `out` for CN `cn`. */
function newKey(name: string, out: string, cn: string): string[] {
  return [...EC_KEY, '-keyout', `${name}.key`, '-out', out, '-subj', `/CN=${cn}`];
}

function selfSignedCa(dir: string, name: string, cn: string): void {
  openssl(dir, [
    'req',
    '-x509',
    ...newKey(name, `${name}.crt`, cn),
    '-days',
    DAYS,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

function leaf(dir: string, name: string, cn: string, ca: string, ext: string): void {
  openssl(dir, ['req', '-new', ...newKey(name, `${name}.csr`, cn)]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    DAYS,
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Makes a fresh PKI in a temporary directory; dispose of it (`using`) to remove the directory. */
export function makeTestPki(options: TestPkiOptions = {}): TestPki {
  const clientCn = options.clientCn ?? 'saker-test-client';
  const dir = mkdtempSync(join(tmpdir(), options.prefix ?? 'saker-pki-'));
  const dispose = (): void => rmSync(dir, { recursive: true, force: true });
  try {
    selfSignedCa(dir, 'ca', 'saker-test-ca');
    leaf(dir, 'server', options.serverCn ?? 'saker-test-server', 'ca', serverExt(options.serverSans ?? []));
    leaf(dir, 'client', clientCn, 'ca', CLIENT_EXT);
    selfSignedCa(dir, 'rogue-ca', 'saker-test-rogue-ca');
    leaf(dir, 'rogue', clientCn, 'rogue-ca', CLIENT_EXT);
    const caDir = join(dir, 'ca.d');
    mkdirSync(caDir);
    copyFileSync(join(dir, 'ca.crt'), join(caDir, 'ca.crt'));
    const files: TestPkiFiles = {
      caCert: join(dir, 'ca.crt'),
      serverCert: join(dir, 'server.crt'),
      serverKey: join(dir, 'server.key'),
      clientCert: join(dir, 'client.crt'),
      clientKey: join(dir, 'client.key'),
      rogueCaCert: join(dir, 'rogue-ca.crt'),
      rogueCert: join(dir, 'rogue.crt'),
      rogueKey: join(dir, 'rogue.key'),
      caDir,
    };
    const read = (path: string): string => readFileSync(path, 'utf8');
    return {
      dir,
      caCert: read(files.caCert),
      serverCert: read(files.serverCert),
      serverKey: read(files.serverKey),
      clientCert: read(files.clientCert),
      clientKey: read(files.clientKey),
      rogueCaCert: read(files.rogueCaCert),
      rogueCert: read(files.rogueCert),
      rogueKey: read(files.rogueKey),
      files,
      [Symbol.dispose]: dispose,
    };
  } catch (err) {
    dispose();
    throw err;
  }
}

/**
 * The nats-server `tls` block of a server with `pki`'s certificate that
 * requires a client certificate signed by its CA (mTLS).
 */
export function natsServerTls(pki: Pick<TestPki, 'files'>): string {
  return [
    'tls {',
    `  cert_file: ${JSON.stringify(pki.files.serverCert)}`,
    `  key_file: ${JSON.stringify(pki.files.serverKey)}`,
    `  ca_file: ${JSON.stringify(pki.files.caCert)}`,
    '  verify: true',
    '}',
  ].join('\n');
}
