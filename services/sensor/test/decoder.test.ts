import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseEvent } from '@saker/events';
import {
  ARGI_RET,
  BootEpoch,
  type KernelRecord,
  P_CGROUP,
  P_DIRPATH,
  P_FDINFO,
  P_FDPATH,
  P_SOCKADDR,
  P_SOCKTUPLE,
  P_USTR,
  REC_STATS,
  type StatsRecord,
  StreamDecoder,
} from '../src/decoder.js';
import { SensorDecodeError } from '../src/errors.js';
import { EventParts, buildSyscallEvent } from '../src/event.js';
import { ProcTable } from '../src/proctable.js';
import { ppmOpenFlags } from '../src/render.js';
import { components, fdInfo, frame, param, record, sockTuple, stats, streamHeader } from './wire.js';

const S_IFREG = 0o100000;
const S_IFSOCK = 0o140000;
const O_WRONLY_CREAT_TRUNC_CLOEXEC = 0o1 | 0o100 | 0o1000 | 0o2000000;

function openatRecord(): Buffer {
  return record({
    syscall: 257,
    ret: 3n,
    args: [-100n, 0x7fff0000n, BigInt(O_WRONLY_CREAT_TRUNC_CLOEXEC), 0o644n],
    pid: 321,
    comm: 'sh',
    params: [
      param(P_USTR, 1, Buffer.from('out/log.txt\0')),
      param(P_DIRPATH, 1, components('/home/alice')),
      param(P_FDINFO, ARGI_RET, fdInfo(3, S_IFREG | 0o644)),
      param(P_FDPATH, ARGI_RET, components('/home/alice/out/log.txt')),
      param(
        P_CGROUP,
        0,
        components(
          '/system.slice/docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope',
        ),
      ),
    ],
  });
}

function decodeAll(bytes: Buffer, chunk = bytes.length) {
  const errors: SensorDecodeError[] = [];
  const d = new StreamDecoder({ onError: (e) => errors.push(e) });
  const out = [];
  for (let i = 0; i < bytes.length; i += chunk) out.push(...d.push(bytes.subarray(i, i + chunk)));
  return { d, out, errors };
}

describe('StreamDecoder', () => {
  it('reads the header, a syscall record with its params and a stats record', () => {
    const bytes = Buffer.concat([
      streamHeader({ ncpus: 2 }),
      frame(1, openatRecord()),
      frame(
        REC_STATS,
        stats([
          [10n, 1n, 0n, 2n, 0n, 0n],
          [5n, 0n, 3n, 0n, 0n, 1n],
        ]),
      ),
    ]);
    const { d, out, errors } = decodeAll(bytes);
    assert.deepEqual(errors, []);
    assert.equal(d.header?.ncpus, 2);
    assert.equal(d.header?.loaderPid, 4242);
    assert.equal(out.length, 2);
    const r = out[0] as KernelRecord;
    assert.equal(r.syscall, 257);
    assert.equal(r.ret, 3);
    assert.equal(r.pid, 321);
    assert.equal(r.comm, 'sh');
    assert.equal(r.params.ustr.get(1), 'out/log.txt');
    assert.equal(r.params.dirpath.get(1), '/home/alice');
    assert.equal(r.params.fdpath.get(ARGI_RET), '/home/alice/out/log.txt');
    assert.equal(r.params.fdinfo.get(ARGI_RET)?.fd, 3);
    const s = out[1] as StatsRecord;
    assert.equal(s.perCpu.length, 2);
    assert.equal(s.perCpu[0]?.dropRingbuf, 1n);
    assert.equal(s.perCpu[1]?.dropScratch, 3n);
  });

  it('decodes the same records when bytes arrive one at a time', () => {
    const bytes = Buffer.concat([streamHeader(), frame(1, openatRecord()), frame(1, openatRecord())]);
    const { out, errors } = decodeAll(bytes, 1);
    assert.equal(errors.length, 0);
    assert.equal(out.length, 2);
  });

  it('rejects a bad magic and an unsupported version, naming the field', () => {
    const bad = decodeAll(Buffer.concat([streamHeader({ magic: 'NOTSAKER' }), frame(1, openatRecord())]));
    assert.equal(bad.out.length, 0);
    assert.equal(bad.d.corrupt, true);
    assert.equal(bad.errors[0]?.field, 'header.magic');
    assert.equal(bad.errors[0]?.offset, 0);

    const v = decodeAll(streamHeader({ version: 9 }));
    assert.equal(v.errors[0]?.field, 'header.version');
    assert.match(v.errors[0]?.message ?? '', /version 9 is not supported/);
  });

  it('skips a malformed frame with a counted error and keeps decoding the next', () => {
    const good = openatRecord();
    const broken = Buffer.from(good);
    // Param 0 claims more bytes than the record holds.
    broken.writeUInt16LE(60000, 168 + 2);
    const bytes = Buffer.concat([streamHeader(), frame(1, broken), frame(1, good)]);
    const { d, out, errors } = decodeAll(bytes);
    assert.equal(out.length, 1);
    assert.equal(d.errors, 1);
    assert.equal(errors[0]?.field, 'param[0].length');
    // header(32) + frame header(8) + record header(168) + 2 into the param header
    assert.equal(errors[0]?.offset, 32 + 8 + 168 + 2);
  });

  it('names size mismatches, short records, unknown types and bad fixed-size params', () => {
    const short = decodeAll(Buffer.concat([streamHeader(), frame(1, Buffer.alloc(20))]));
    assert.equal(short.errors[0]?.field, 'record.header');

    const sized = Buffer.from(openatRecord());
    sized.writeUInt32LE(9999, 8);
    assert.equal(decodeAll(Buffer.concat([streamHeader(), frame(1, sized)])).errors[0]?.field, 'record.size');

    assert.equal(
      decodeAll(Buffer.concat([streamHeader(), frame(77, openatRecord())])).errors[0]?.field,
      'frame.type',
    );

    const badInfo = record({ syscall: 257, params: [param(P_FDINFO, ARGI_RET, Buffer.alloc(12))] });
    assert.equal(
      decodeAll(Buffer.concat([streamHeader(), frame(1, badInfo)])).errors[0]?.field,
      'param[0].fd_info',
    );

    const badType = record({ syscall: 257, params: [param(99, 0, Buffer.alloc(2))] });
    assert.equal(
      decodeAll(Buffer.concat([streamHeader(), frame(1, badType)])).errors[0]?.field,
      'param[0].type',
    );

    const kindMismatch = decodeAll(Buffer.concat([streamHeader(), frame(2, openatRecord())]));
    assert.equal(kindMismatch.errors[0]?.field, 'record.kind');
  });

  it('stops on an implausible frame length instead of guessing', () => {
    const h = Buffer.alloc(8);
    h.writeUInt32LE(0x7fffffff, 0);
    h.writeUInt16LE(1, 4);
    const { d, errors } = decodeAll(Buffer.concat([streamHeader(), h, frame(1, openatRecord())]));
    assert.equal(d.corrupt, true);
    assert.equal(errors[0]?.field, 'frame.length');
    assert.equal(errors[0]?.offset, 32);
    assert.ok(errors[0] instanceof SensorDecodeError);
  });
});

describe('buildSyscallEvent', () => {
  const table = new ProcTable({ procRoot: '/nonexistent', etcRoot: '/etc' });

  it('renders openat with an absolute name, Falco flags and modes, and a valid event', () => {
    const { out } = decodeAll(Buffer.concat([streamHeader(), frame(1, openatRecord())]));
    const ev = buildSyscallEvent(out[0] as KernelRecord, {
      table,
      bootEpochNs: 1_700_000_000_000_000_000n,
      num: 1,
    });
    assert.doesNotThrow(() => parseEvent(ev));
    assert.equal(ev.type, 'openat');
    assert.equal(ev.res, 3);
    assert.equal(ev.ts, '1700000005000000000');
    assert.equal(ev.args.name, '/home/alice/out/log.txt');
    assert.equal(ev.args.flags, 'O_TRUNC|O_CREAT|O_WRONLY|O_CLOEXEC');
    // evt.rawarg.flags is Falco's PPM encoding: O_WRONLY 1<<1, O_CREAT 1<<2, O_TRUNC 1<<8, O_CLOEXEC 1<<12.
    assert.equal(ev.rawargs?.flags, (1 << 1) | (1 << 2) | (1 << 8) | (1 << 12));
    assert.equal(ppmOpenFlags(O_WRONLY_CREAT_TRUNC_CLOEXEC), ev.rawargs?.flags);
    assert.equal(ppmOpenFlags(0), 1, 'O_RDONLY is bit 0');
    assert.equal(ppmOpenFlags(2), 3, 'O_RDWR is both access bits');
    assert.equal(ev.args.mode, '0644', 'open modes print in octal, as Falco prints them');
    assert.equal(ev.fd?.name, '/home/alice/out/log.txt');
    assert.equal(ev.fd?.nameraw, 'out/log.txt');
    assert.equal(ev.fd?.type, 'file');
    assert.equal(ev.container.id, '0123456789ab');
    assert.equal(ev.user.uid, 0);
    assert.equal(ev.user.loginuid, -1);
  });

  it("renders the probe's in-place open record (fd info first, then the absolute path) like the scratch one", () => {
    // open_fast in the probe writes the fd info before the path string and sends no fd path.
    const args = [-100n, 0x7fff0000n, 0o2000000n, 0n];
    const fast = record({
      syscall: 257,
      ret: 4n,
      args,
      params: [
        param(P_FDINFO, ARGI_RET, fdInfo(4, S_IFREG | 0o600)),
        param(P_USTR, 1, Buffer.from('/etc/shadow\0')),
      ],
    });
    const slow = record({
      syscall: 257,
      ret: 4n,
      args,
      params: [
        param(P_USTR, 1, Buffer.from('/etc/shadow\0')),
        param(P_FDINFO, ARGI_RET, fdInfo(4, S_IFREG | 0o600)),
      ],
    });
    const { out, errors } = decodeAll(Buffer.concat([streamHeader(), frame(1, fast), frame(1, slow)]));
    assert.deepEqual(errors, []);
    const opts = { table, bootEpochNs: 0n, num: 1 };
    const [a, b] = out.map((r) => buildSyscallEvent(r as KernelRecord, opts));
    assert.equal(a?.fd?.name, '/etc/shadow');
    assert.equal(a?.fd?.num, 4);
    assert.equal(a?.args.flags, 'O_RDONLY|O_CLOEXEC');
    assert.deepEqual(a?.args, b?.args);
    assert.deepEqual(a?.fd, b?.fd);
    assert.doesNotThrow(() => parseEvent(a));
  });

  it('renders a connect tuple from the kernel socket and the sockaddr', () => {
    const sa = Buffer.alloc(16);
    sa.writeUInt16LE(2, 0);
    sa.writeUInt16BE(8080, 2);
    Buffer.from([127, 0, 0, 1]).copy(sa, 4);
    const rec = record({
      syscall: 42,
      ret: -115n,
      args: [5n, 0x1000n, 16n],
      params: [
        param(P_SOCKADDR, 1, sa),
        param(P_FDINFO, 0, fdInfo(5, S_IFSOCK, 9, 2, 6)),
        param(P_SOCKTUPLE, 0, sockTuple([127, 0, 0, 1], 40000, [127, 0, 0, 1], 8080)),
      ],
    });
    const { out } = decodeAll(Buffer.concat([streamHeader(), frame(1, rec)]));
    const ev = buildSyscallEvent(out[0] as KernelRecord, { table, bootEpochNs: 0n, num: 2 });
    assert.equal(ev.type, 'connect');
    assert.equal(ev.res, -115);
    assert.equal(ev.args.tuple, '127.0.0.1:40000->127.0.0.1:8080');
    assert.equal(ev.args.addr, '127.0.0.1:8080');
    assert.equal(ev.fd?.type, 'ipv4');
    assert.deepEqual(ev.fd?.net, {
      l4proto: 'tcp',
      family: 'ipv4',
      sip: '127.0.0.1',
      sport: 40000,
      dip: '127.0.0.1',
      dport: 8080,
      is_server: false,
      connected: true,
    });
  });
});

describe('hot-path shortcuts give what the plain computation gives', () => {
  it('BootEpoch.format is the bigint sum, below and above 2^53 ns of uptime and across second boundaries', () => {
    const epochs = [0n, 1_700_000_000_000_000_000n, 1_796_650_031_999_999_999n, 999_999_999n];
    const times = [
      0n,
      1n,
      999_999_999n,
      1_000_000_000n,
      5_000_000_001n,
      (1n << 53n) - 1n,
      1n << 53n,
      (1n << 53n) + 999_999_999n,
      (1n << 64n) - 1n,
    ];
    for (let i = 0; i < 200; i++) times.push(BigInt(Math.floor(Math.random() * 2 ** 52)) * 7n);
    for (const e of epochs) {
      const be = new BootEpoch(e);
      for (const t of times) {
        const hi = Number(t >> 32n);
        const lo = Number(t & 0xffffffffn);
        assert.equal(be.format(hi, lo), (e + t).toString(), `epoch ${e} + ${t}`);
      }
    }
  });

  it('an open call rendered once is shared by identical calls, and a call one byte apart is rendered anew', () => {
    const open = (path: string, ret: bigint) =>
      record({
        syscall: 257,
        ret,
        args: [-100n, 0x7fff0000n, 0n, 0n],
        pid: 321,
        comm: 'cat',
        params: [
          param(P_FDINFO, ARGI_RET, fdInfo(Number(ret), S_IFREG | 0o644)),
          param(P_USTR, 1, Buffer.from(`${path}\0`)),
        ],
      });
    const { out } = decodeAll(
      Buffer.concat([
        streamHeader(),
        frame(1, open('/etc/hostname', 3n)),
        frame(1, open('/etc/hostname', 3n)),
        frame(1, open('/etc/hostnamf', 3n)),
        frame(1, open('/etc/hostname', 4n)),
      ]),
    );
    const parts = new EventParts();
    const table = new ProcTable({ procRoot: '/nonexistent', etcRoot: '/etc' });
    const evs = out.map((r, i) =>
      buildSyscallEvent(r as KernelRecord, { table, bootEpochNs: 0n, num: i + 1, parts, validate: true }),
    );
    const [a, b, c, d] = evs;
    assert.ok(a && b && c && d);
    assert.equal(a.args, b.args, 'the same call: one shared rendering');
    assert.ok(Object.isFrozen(a.args) && Object.isFrozen(a.fd));
    assert.equal(c.args.name, '/etc/hostnamf');
    assert.equal(c.fd?.name, '/etc/hostnamf');
    assert.equal(d.args.fd, '<f>/etc/hostname');
    assert.equal(d.rawargs?.fd, 4);
    assert.equal(d.fd?.num, 4);
    assert.equal(a.args.fd, '<f>/etc/hostname');
    assert.equal(a.rawargs?.fd, 3);
  });
});
