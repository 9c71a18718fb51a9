/**
 * A syslog receiver for tests that parses strictly: RFC 5424 records over
 * UDP (one per datagram), TCP and TLS (RFC 6587 octet counting:
 * `NONZERO-DIGIT *DIGIT SP MSG`, exactly LEN bytes). Anything off-format is
 * recorded in `errors`, never guessed around.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { type Socket as UdpSocket, createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer as createTcp } from 'node:net';
import { createServer as createTls } from 'node:tls';

export interface Syslog5424 {
  readonly pri: number;
  readonly timestamp: string;
  readonly hostname: string;
  readonly appName: string;
  readonly procId: string;
  readonly msgId: string;
  readonly sd: string;
  readonly msg: string;
  /** Bytes of the record (without framing). */
  readonly bytes: number;
}

const TS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?(Z|[+-]\d\d:\d\d)$/;
const FIELD = /^[\x21-\x7e]+$/;

/** Parses one RFC 5424 record; throws with the reason. */
function parse5424(buf: Buffer): Syslog5424 {
  const text = buf.toString('utf8');
  const m = /^<(\d{1,3})>1 (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[[^\]]*\])(?: ([\s\S]*))?$/.exec(text);
  if (!m) throw new Error(`not an RFC 5424 record: ${JSON.stringify(text.slice(0, 120))}`);
  const [, pri, ts, host, app, proc, msgid, sd, msg] = m;
  const p = Number(pri);
  if (p > 191 || (pri !== '0' && pri?.startsWith('0'))) throw new Error(`bad PRI ${pri}`);
  if (!TS.test(ts ?? '') && ts !== '-') throw new Error(`bad TIMESTAMP ${ts}`);
  const check = (name: string, v: string | undefined, max: number): string => {
    if (v === undefined || !FIELD.test(v) || v.length > max)
      throw new Error(`bad ${name} ${JSON.stringify(v)}`);
    return v;
  };
  return {
    pri: p,
    timestamp: ts ?? '',
    hostname: check('HOSTNAME', host, 255),
    appName: check('APP-NAME', app, 48),
    procId: check('PROCID', proc, 128),
    msgId: check('MSGID', msgid, 32),
    sd: sd ?? '-',
    msg: msg ?? '',
    bytes: buf.length,
  };
}

export type SyslogReceiverTransport = 'udp' | 'tcp' | 'tls';

export class SyslogReceiver implements AsyncDisposable {
  readonly records: Syslog5424[] = [];
  readonly errors: string[] = [];
  readonly transport: SyslogReceiverTransport;
  #udp: UdpSocket | undefined;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  port = 0;

  constructor(transport: SyslogReceiverTransport) {
    this.transport = transport;
  }

  #record(buf: Buffer): void {
    try {
      this.records.push(parse5424(buf));
    } catch (err) {
      this.errors.push(String(err));
    }
  }

  async start(tls?: { cert: string; key: string }): Promise<this> {
    if (this.transport === 'udp') {
      const sock = createSocket('udp4');
      sock.on('message', (m) => this.#record(m));
      await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', () => resolve()));
      this.#udp = sock;
      this.port = sock.address().port;
      return this;
    }
    const onConn = (sock: Socket): void => {
      this.#sockets.add(sock);
      sock.on('close', () => this.#sockets.delete(sock));
      let pending = Buffer.alloc(0);
      sock.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        for (;;) {
          const sp = pending.indexOf(0x20);
          if (sp < 0) {
            if (pending.length > 12)
              this.#fail(sock, `no octet count in ${JSON.stringify(pending.subarray(0, 20).toString())}`);
            return;
          }
          const len = pending.subarray(0, sp).toString('ascii');
          if (!/^[1-9]\d{0,9}$/.test(len)) {
            this.#fail(sock, `bad octet count ${JSON.stringify(len)}`);
            return;
          }
          const n = Number(len);
          if (pending.length < sp + 1 + n) return;
          this.#record(pending.subarray(sp + 1, sp + 1 + n));
          pending = pending.subarray(sp + 1 + n);
        }
      });
      sock.on('error', () => undefined);
    };
    const server =
      this.transport === 'tls' && tls
        ? createTls({ cert: readFileSync(tls.cert), key: readFileSync(tls.key) }, onConn)
        : createTcp(onConn);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.#server = server;
    this.port = (server.address() as AddressInfo).port;
    return this;
  }

  #fail(sock: Socket, reason: string): void {
    this.errors.push(reason);
    sock.destroy();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#udp?.close();
    for (const s of this.#sockets) s.destroy();
    const server = this.#server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

// Node has no AF_UNIX datagram sockets; the /dev/log stand-in is a few lines of Python.
const UNIX_RECEIVER = `
import socket, sys, os
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(p)
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    d = s.recv(1 << 22)
    sys.stdout.write(d.hex() + "\\n"); sys.stdout.flush()
`;

/** A unix datagram socket at `path` (like /dev/log); every datagram lands in `datagrams`. */
export class UnixDgramReceiver implements AsyncDisposable {
  readonly datagrams: Buffer[] = [];
  readonly path: string;
  #child: ChildProcess | undefined;

  constructor(path: string) {
    this.path = path;
  }

  async start(): Promise<this> {
    const child = spawn('python3', ['-c', UNIX_RECEIVER, this.path], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    this.#child = child;
    let buf = '';
    await new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`python receiver exited ${code}`)));
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        let nl = buf.indexOf('\n');
        while (nl >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === 'ready') resolve();
          else this.datagrams.push(Buffer.from(line, 'hex'));
          nl = buf.indexOf('\n');
        }
      });
    });
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const c = this.#child;
    if (c && c.exitCode === null) {
      c.removeAllListeners('exit');
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await exited;
    }
  }
}
