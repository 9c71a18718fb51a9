/**
 * A real rsyslogd for the syslog tests: its own config and work dir in a
 * temp dir, imtcp on an ephemeral loopback port (rsyslog writes the port it
 * bound to a file: the readiness signal) and imudp on a loopback port, every
 * message written as one JSON line of the fields rsyslog parsed, which the
 * test reads back.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freeLoopbackPort, startInDir, stopAndRemove } from './daemon.js';

const RSYSLOG_PACKAGE = 'rsyslog';
const RSYSLOGD = '/usr/sbin/rsyslogd';

/** One message as rsyslog parsed it (RFC 5424 or 3164 fields; `-` where absent). */
interface SyslogRecord {
  readonly pri: string;
  readonly facility: string;
  readonly severity: string;
  readonly hostname: string;
  readonly app: string;
  readonly procid: string;
  readonly msgid: string;
  readonly sd: string;
  readonly msg: string;
  /** `1` for RFC 5424, `0` for the BSD format. */
  readonly protocol: string;
  /** `imtcp` or `imudp`. */
  readonly input: string;
}

export interface RsyslogServer extends AsyncDisposable {
  readonly tcpPort: number;
  readonly udpPort: number;
  records(): SyslogRecord[];
  /** Waits until `pred` holds for the records received so far. */
  waitFor(
    what: string,
    pred: (records: SyslogRecord[]) => boolean,
    timeoutMs?: number,
  ): Promise<SyslogRecord[]>;
  log(): string;
  stop(): Promise<void>;
}

const FIELDS: readonly [string, string][] = [
  ['pri', 'pri'],
  ['facility', 'syslogfacility-text'],
  ['severity', 'syslogseverity-text'],
  ['hostname', 'hostname'],
  ['app', 'app-name'],
  ['procid', 'procid'],
  ['msgid', 'msgid'],
  ['sd', 'structured-data'],
  ['msg', 'msg'],
  ['protocol', 'protocol-version'],
  ['input', 'inputname'],
];

function config(dir: string, udpPort: number): string {
  const props = FIELDS.map(
    ([out, name]) => `  property(outname="${out}" name="${name}" format="jsonf")`,
  ).join('\n');
  // Messages up to 4 MiB, as the syslog output sends over TCP (octet counting).
  return `global(workDirectory="${dir}" maxMessageSize="4m")
module(load="imtcp" maxFrameSize="4194304")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="${dir}/tcp.port" ruleset="saker")
input(type="imudp" address="127.0.0.1" port="${udpPort}" ruleset="saker")
template(name="saker_fields" type="list" option.jsonf="on") {
${props}
}
ruleset(name="saker") {
  action(type="omfile" file="${dir}/messages.jsonl" template="saker_fields")
}
`;
}

/** Starts rsyslogd with its own config (as any user: it binds unprivileged loopback ports). */
export async function startRsyslog(options: { startTimeoutMs?: number } = {}): Promise<RsyslogServer> {
  const dir = mkdtempSync(join(tmpdir(), 'saker-rsyslog-'));
  const udpPort = await freeLoopbackPort('udp');
  writeFileSync(join(dir, 'rsyslog.conf'), config(dir, udpPort));
  const portFile = join(dir, 'tcp.port');
  const d = await startInDir(
    dir,
    {
      what: 'rsyslogd',
      debianPackage: RSYSLOG_PACKAGE,
      binary: RSYSLOGD,
      args: ['-n', '-f', join(dir, 'rsyslog.conf'), '-i', join(dir, 'rsyslogd.pid')],
      cwd: dir,
    },
    () => existsSync(portFile) && /^\d+\s*$/.test(readFileSync(portFile, 'utf8')),
    options.startTimeoutMs ?? 15_000,
  );
  const tcpPort = Number(readFileSync(portFile, 'utf8').trim());
  const file = join(dir, 'messages.jsonl');
  const records = (): SyslogRecord[] => {
    if (!existsSync(file)) return [];
    const lines = readFileSync(file, 'utf8').split('\n');
    // The last piece is a line rsyslog is still writing (or the empty rest after the final newline).
    lines.pop();
    return lines.map((l) => JSON.parse(l) as SyslogRecord);
  };
  const stop = stopAndRemove(d, dir);
  return {
    tcpPort,
    udpPort,
    records,
    waitFor: async (what, pred, timeoutMs = 10_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const got = records();
        if (pred(got)) return got;
        if (d.exited() || Date.now() > deadline) {
          throw new Error(
            `rsyslogd: no ${what} within ${timeoutMs} ms (${got.length} records: ${JSON.stringify(got).slice(0, 2000)}); log:\n${d.output()}`,
          );
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    },
    log: () => d.output(),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
