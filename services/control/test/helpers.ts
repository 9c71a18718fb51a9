import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Test PKI made with the `openssl` CLI (Debian package `openssl`, installed
 * by scripts/setup.sh): a CA, a server certificate for 127.0.0.1/localhost
 * and a client certificate it signed, plus a second, unrelated CA with a
 * client certificate of its own (the "wrong CA" case). Elliptic-curve keys
 * keep generation fast.
 */
export interface TestPki extends Disposable {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  readonly otherCaCert: string;
  readonly otherClientCert: string;
  readonly otherClientKey: string;
  /** Paths of the same files, for command-line tests. */
  readonly paths: Readonly<Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string>>;
}

function openssl(dir: string, args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

function key(dir: string, name: string): void {
  openssl(dir, ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', `${name}.key`]);
}

function ca(dir: string, name: string): void {
  key(dir, name);
  openssl(dir, [
    'req',
    '-x509',
    '-new',
    '-key',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
}

function leaf(dir: string, name: string, caName: string, ext: string): void {
  key(dir, name);
  openssl(dir, ['req', '-new', '-key', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${caName}.crt`,
    '-CAkey',
    `${caName}.key`,
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

export function makePki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'saker-control-pki-'));
  ca(dir, 'ca');
  leaf(
    dir,
    'server',
    'ca',
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n',
  );
  leaf(dir, 'client', 'ca', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n');
  ca(dir, 'other-ca');
  leaf(dir, 'other-client', 'other-ca', 'extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n');
  const read = (f: string) => readFileSync(join(dir, f), 'utf8');
  return {
    dir,
    caCert: read('ca.crt'),
    serverCert: read('server.crt'),
    serverKey: read('server.key'),
    clientCert: read('client.crt'),
    clientKey: read('client.key'),
    otherCaCert: read('other-ca.crt'),
    otherClientCert: read('other-client.crt'),
    otherClientKey: read('other-client.key'),
    paths: {
      ca: join(dir, 'ca.crt'),
      serverCert: join(dir, 'server.crt'),
      serverKey: join(dir, 'server.key'),
      clientCert: join(dir, 'client.crt'),
      clientKey: join(dir, 'client.key'),
    },
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Two syscall rules with tags, and a third in a second file. */
export const GOOD_RULES = `- list: shells
  items: [bash, sh]

- rule: Shell spawned
  desc: a shell started
  condition: evt.type = execve and proc.name in (shells)
  output: "shell %proc.name (user=%user.name)"
  priority: WARNING
  tags: [process, shell]

- rule: Open etc
  desc: a file below /etc was opened
  condition: evt.type = openat and fd.name startswith /etc
  output: "open %fd.name"
  priority: ERROR
  tags: [filesystem]
`;

export const MORE_RULES = `- rule: Shell in container
  desc: a shell in a container
  condition: evt.type = execve and container.id != host and proc.name = bash
  output: "container shell %container.id"
  priority: NOTICE
  tags: [process, container]
`;

/** A condition with a syntax error on line 4, column 36 (the second `=`). */
export const BROKEN_RULES = `- rule: Broken
  desc: does not compile
  priority: WARNING
  condition: evt.type = execve and = bash
  output: "broken"
`;
