/**
 * A real Postfix MTA for the SMTP tests: its own config, queue and mailbox in
 * a temp dir, an smtpd on a loopback port that requires STARTTLS before MAIL
 * (smtpd_tls_security_level = encrypt), delivering every recipient of the
 * test domain to one Maildir the test reads back. Debian's system instance is
 * never touched (scripts/setup.sh keeps it from starting).
 */
import {
  chmodSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Daemon, DaemonStartError, freeLoopbackPort, startInDir, stopAndRemove } from './daemon.js';

const POSTFIX_PACKAGE = 'postfix';
const MASTER = '/usr/lib/postfix/sbin/master';
/** Debian's nobody: the virtual delivery agent refuses root. */
const MAILBOX_UID = 65534;

export interface PostfixOptions {
  /** PEM files of the server certificate and key offered on STARTTLS. */
  readonly certFile: string;
  readonly keyFile: string;
  /** The domain delivered to the Maildir. Default `saker.test`. */
  readonly domain?: string;
  /** Default 20 s. */
  readonly startTimeoutMs?: number;
}

/** One delivered message: the file Postfix wrote into the Maildir. */
interface DeliveredMail {
  readonly file: string;
  /** The whole message as stored: Postfix's Received headers, then the client's headers and body. */
  readonly raw: string;
}

export interface PostfixServer extends AsyncDisposable {
  readonly host: '127.0.0.1';
  readonly port: number;
  readonly domain: string;
  /** The messages delivered so far, oldest first. */
  messages(): DeliveredMail[];
  /** Waits for at least `n` delivered messages (the queue delivers asynchronously). */
  waitForMessages(n: number, timeoutMs?: number): Promise<DeliveredMail[]>;
  /** Postfix's log so far. */
  log(): string;
  stop(): Promise<void>;
}

function mainCf(dir: string, o: Required<Omit<PostfixOptions, 'startTimeoutMs'>>): string {
  return [
    'compatibility_level = 3.6',
    `queue_directory = ${dir}/queue`,
    `data_directory = ${dir}/data`,
    `myhostname = mx.${o.domain}`,
    'mydestination =',
    'inet_interfaces = 127.0.0.1',
    'inet_protocols = ipv4',
    'mynetworks = 127.0.0.0/8',
    'smtpd_relay_restrictions = permit_mynetworks, reject',
    'alias_maps =',
    'alias_database =',
    `smtpd_tls_cert_file = ${o.certFile}`,
    `smtpd_tls_key_file = ${o.keyFile}`,
    // No MAIL before STARTTLS, and the Received header says which TLS was used.
    'smtpd_tls_security_level = encrypt',
    'smtpd_tls_received_header = yes',
    `virtual_mailbox_domains = ${o.domain}`,
    `virtual_mailbox_base = ${dir}/mail`,
    'virtual_mailbox_maps = static:inbox/',
    `virtual_uid_maps = static:${MAILBOX_UID}`,
    `virtual_gid_maps = static:${MAILBOX_UID}`,
    `maillog_file = ${dir}/maillog`,
    `maillog_file_prefixes = ${dir}`,
    '',
  ].join('\n');
}

/** Only the services this instance uses; no chroot (the queue dir has no /etc). */
function masterCf(port: number): string {
  return [
    `127.0.0.1:${port} inet n - n - - smtpd`,
    'cleanup unix n - n - 0 cleanup',
    'qmgr unix n - n 300 1 qmgr',
    'tlsmgr unix - - n 1000? 1 tlsmgr',
    'rewrite unix - - n - - trivial-rewrite',
    'bounce unix - - n - 0 bounce',
    'defer unix - - n - 0 bounce',
    'trace unix - - n - 0 bounce',
    'verify unix - - n - 1 verify',
    'flush unix n - n 1000? 0 flush',
    'proxymap unix - - n - - proxymap',
    'smtp unix - - n - - smtp',
    'error unix - - n - - error',
    'retry unix - - n - - error',
    'discard unix - - n - - discard',
    'virtual unix - n n - - virtual',
    'anvil unix - - n - 1 anvil',
    'scache unix - - n - 1 scache',
    'postlog unix-dgram n - n - 1 postlogd',
    '',
  ].join('\n');
}

/** The uid or gid of `name` in /etc/passwd or /etc/group; throws naming the package when absent. */
function idOf(file: '/etc/passwd' | '/etc/group', name: string): number {
  const line = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  const id = Number(line?.split(':')[2]);
  if (line === undefined || !Number.isInteger(id)) {
    throw new DaemonStartError(
      `no ${name} in ${file}: install the Debian package "${POSTFIX_PACKAGE}" (scripts/setup.sh does)`,
      {},
    );
  }
  return id;
}

/**
 * The queue's subdirectories with the owners and modes of Postfix's
 * postfix-files, made directly: `postfix set-permissions` does the same but
 * walks the whole installation, which takes seconds.
 */
function makeQueue(dir: string): void {
  const postfix = idOf('/etc/passwd', 'postfix');
  const postdrop = idOf('/etc/group', 'postdrop');
  const queue = join(dir, 'queue');
  const own = [
    'active',
    'bounce',
    'corrupt',
    'defer',
    'deferred',
    'flush',
    'hold',
    'incoming',
    'private',
    'saved',
    'trace',
  ];
  const make = (name: string, mode: number, uid: number, gid: number): void => {
    mkdirSync(join(queue, name), { mode });
    chmodSync(join(queue, name), mode);
    chownSync(join(queue, name), uid, gid);
  };
  for (const d of own) make(d, 0o700, postfix, 0);
  make('maildrop', 0o730, postfix, postdrop);
  make('public', 0o710, postfix, postdrop);
  make('pid', 0o755, 0, 0);
  chmodSync(join(dir, 'data'), 0o700);
  chownSync(join(dir, 'data'), postfix, 0);
}

/** Resolves when the port answers with an SMTP greeting. */
function greets(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(1_000, () => done(false));
    sock.once('error', () => done(false));
    sock.once('data', (b: Buffer) => done(b.toString('latin1').startsWith('220 ')));
  });
}

/** Starts a Postfix instance of its own on a loopback port (as root: Postfix drops to its own users). */
export async function startPostfix(options: PostfixOptions): Promise<PostfixServer> {
  const o = { certFile: options.certFile, keyFile: options.keyFile, domain: options.domain ?? 'saker.test' };
  const timeoutMs = options.startTimeoutMs ?? 20_000;
  let lastErr: unknown;
  // The port is picked free, then bound by Postfix: retry the rare race.
  for (let attempt = 0; attempt < 3; attempt++) {
    const dir = mkdtempSync(join(tmpdir(), 'saker-postfix-'));
    // The postfix and nobody users walk into it.
    chmodSync(dir, 0o755);
    for (const d of ['conf', 'queue', 'data', 'mail']) mkdirSync(join(dir, d));
    chownSync(join(dir, 'mail'), MAILBOX_UID, MAILBOX_UID);
    const port = await freeLoopbackPort('tcp');
    writeFileSync(join(dir, 'conf', 'main.cf'), mainCf(dir, o));
    writeFileSync(join(dir, 'conf', 'master.cf'), masterCf(port));
    const env = { ...process.env, MAIL_CONFIG: join(dir, 'conf') };
    makeQueue(dir);
    let daemon: Daemon;
    try {
      daemon = await startInDir(
        dir,
        {
          what: 'postfix master',
          debianPackage: POSTFIX_PACKAGE,
          binary: MASTER,
          // -d: stay in the foreground; -s: log through postlogd to maillog_file from the start.
          args: ['-c', join(dir, 'conf'), '-d', '-s'],
          env,
          cwd: dir,
        },
        () => greets(port),
        timeoutMs,
      );
    } catch (err) {
      lastErr = err;
      if (err instanceof DaemonStartError && err.output.includes('Address already in use')) continue;
      throw err;
    }
    return handle(daemon, dir, port, o.domain);
  }
  throw lastErr;
}

function readIfThere(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function handle(daemon: Daemon, dir: string, port: number, domain: string): PostfixServer {
  const maildirNew = join(dir, 'mail', 'inbox', 'new');
  const messages = (): DeliveredMail[] => {
    let names: string[];
    try {
      names = readdirSync(maildirNew);
    } catch {
      return [];
    }
    // Maildir names start with the delivery time in seconds, then a unique part.
    return names.sort().map((n) => ({ file: n, raw: readFileSync(join(maildirNew, n), 'utf8') }));
  };
  const stop = stopAndRemove(daemon, dir);
  return {
    host: '127.0.0.1',
    port,
    domain,
    messages,
    waitForMessages: async (n, timeoutMs = 15_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = messages();
        if (got.length >= n) return got;
        if (Date.now() > deadline) {
          throw new Error(
            `postfix delivered ${got.length} of ${n} messages within ${timeoutMs} ms; log:\n${daemon.output()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    log: () => `${daemon.output()}${readIfThere(join(dir, 'maillog'))}`,
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
