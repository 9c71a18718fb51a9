/**
 * Rules evaluated on a view of the kernel record (RecordPipeline.evaluate,
 * event.ts's RecordEventView) against the same rules on the event built
 * whole (RecordPipeline.handle, then Ruleset.evaluate): the same matches and
 * outputs, the same events, the same event numbers, and the process table
 * updated by exec records in between either way. No kernel: the records are
 * written as the probe lays them out (wire.ts).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type RuleMatch, loadRules } from '@saker/rules';
import {
  ARGI_RET,
  type KernelRecord,
  P_CGROUP,
  P_FDINFO,
  P_SOCKADDR,
  P_SOCKTUPLE,
  P_USTR,
  REC_EXEC,
  REC_STATS,
  StreamDecoder,
} from '../src/decoder.js';
import { RecordEventView } from '../src/event.js';
import { RecordPipeline } from '../src/record-pipeline.js';
import { components, fdInfo, frame, param, record, sockTuple, streamHeader } from './wire.js';

/** Param types argv and exe path (bpf/sensor.h), which the decoder does not export. */
const P_ARGV = 7;
const P_EXEPATH = 8;
const S_IFREG = 0o100000;
const S_IFSOCK = 0o140000;

const RULES = `
- rule: shadow read by cat
  desc: reads proc, user, container, ancestors and the time in its output
  condition: evt.type = openat and fd.name = /etc/shadow and proc.name = cat
  output: "%evt.time %evt.num %proc.name %proc.exepath %proc.pname %user.name %user.loginuid %group.gid %container.id %fd.name %evt.args"
  priority: WARNING
- rule: connect to 8080
  desc: a socket tuple
  condition: evt.type = connect and fd.sport = 8080
  output: "%proc.name %fd.name %evt.res"
  priority: NOTICE
- rule: written by the new image
  desc: true only once the exec record renamed the process
  condition: evt.type = openat and evt.is_open_write = true and proc.name = newname
  output: "%proc.name %proc.cmdline %fd.name"
  priority: ERROR
`;

function open(path: string, flags: bigint, pid: number, comm: string): Buffer {
  return record({
    syscall: 257,
    ret: 3n,
    args: [-100n, 0x7fff0000n, flags, 0o644n],
    pid,
    comm,
    params: [
      param(P_FDINFO, ARGI_RET, fdInfo(3, S_IFREG | 0o640)),
      param(P_USTR, 1, Buffer.from(`${path}\0`)),
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

function connect(pid: number): Buffer {
  const sa = Buffer.alloc(16);
  sa.writeUInt16LE(2, 0);
  sa.writeUInt16BE(8080, 2);
  Buffer.from([127, 0, 0, 1]).copy(sa, 4);
  return record({
    syscall: 42,
    ret: 0n,
    args: [5n, 0x1000n, 16n],
    pid,
    comm: 'curl',
    params: [
      param(P_SOCKADDR, 1, sa),
      param(P_FDINFO, 0, fdInfo(5, S_IFSOCK, 9, 2, 6)),
      param(P_SOCKTUPLE, 0, sockTuple([127, 0, 0, 1], 40000, [127, 0, 0, 1], 8080)),
    ],
  });
}

/** An exec record: `pid` becomes `comm`, running /usr/bin/<comm> with argv. */
function exec(pid: number, comm: string): Buffer {
  return record({
    kind: REC_EXEC,
    pid,
    comm,
    args: [BigInt(pid)],
    params: [
      param(P_EXEPATH, 0, components(`/usr/bin/${comm}`)),
      param(P_ARGV, 0, Buffer.from(`${comm}\0--flag\0`)),
    ],
  });
}

const O_WRONLY_CREAT = 0o1n | 0o100n;

function stream(): Buffer {
  return Buffer.concat([
    streamHeader(),
    frame(1, open('/etc/shadow', 0n, 500, 'cat')),
    frame(1, open('/etc/hostname', 0n, 500, 'cat')),
    frame(1, connect(501)),
    frame(1, open('/tmp/out', O_WRONLY_CREAT, 502, 'oldname')),
    frame(REC_EXEC, exec(502, 'newname')),
    frame(1, open('/tmp/out', O_WRONLY_CREAT, 502, 'newname')),
    frame(1, open('/etc/shadow', 0n, 503, 'cat')),
  ]);
}

function records(bytes: Buffer): KernelRecord[] {
  const d = new StreamDecoder();
  return d.push(bytes).filter((r): r is KernelRecord => r.kind !== REC_STATS);
}

function pipeline(errors: Error[] = []): RecordPipeline {
  const p = new RecordPipeline({
    hostname: 'node-a',
    maxAncestors: 5,
    validate: false,
    onError: (e) => errors.push(e),
  });
  p.bootEpochNs = 1_700_000_000_000_000_000n;
  return p;
}

/** What a match says, for comparing the two paths. */
const said = (m: RuleMatch) => ({
  rule: m.rule.name,
  output: m.output,
  fields: m.outputFields,
  event: m.event,
});

describe('rules on a view of the kernel record', () => {
  const loaded = loadRules([{ name: 'view.yaml', content: RULES }]);
  assert.ok(loaded.ok);
  const ruleset = loaded.ruleset;
  const opts = { ruleMatching: 'all' as const };

  it('give the matches, outputs and events of the rules on the built event', () => {
    const whole = pipeline();
    const viewed = pipeline();
    const expected: ReturnType<typeof said>[] = [];
    const got: ReturnType<typeof said>[] = [];
    const views: string[] = [];
    const built: string[] = [];
    for (const rec of records(stream())) {
      const ev = whole.handle(rec);
      if (ev !== undefined) {
        expected.push(...ruleset.evaluate(ev, opts).map(said));
        built.push(JSON.stringify(ev));
      }
    }
    for (const rec of records(stream())) {
      const found: RuleMatch[] = [];
      const v = viewed.evaluate(rec, ruleset, opts, found);
      if (v !== undefined) {
        assert.ok(v instanceof RecordEventView, 'the pipeline hands out its view');
        views.push(JSON.stringify(v));
        for (const m of found)
          assert.ok(!(m.event instanceof RecordEventView), 'a match keeps the built event');
      }
      got.push(...found.map(said));
    }
    assert.deepEqual(
      expected.map((m) => m.rule),
      ['shadow read by cat', 'connect to 8080', 'written by the new image', 'shadow read by cat'],
    );
    assert.deepEqual(got, expected);
    assert.deepEqual(views, built, "a view's JSON is the built event's");
    assert.equal(viewed.num, whole.num);
    assert.equal(viewed.num, 6);
    const renamed = got.find((m) => m.rule === 'written by the new image');
    assert.match(renamed?.output ?? '', /^newname newname --flag \/tmp\/out$/);
  });

  it('make only what the rules read: an event no rule matches makes no user or ancestors until read', () => {
    const p = pipeline();
    const made = { users: 0, ancestors: 0 };
    const user = p.table.user.bind(p.table);
    const ancestors = p.table.cachedAncestors.bind(p.table);
    p.table.user = (uid) => {
      made.users++;
      return user(uid);
    };
    p.table.cachedAncestors = (e, ppid) => {
      made.ancestors++;
      return ancestors(e, ppid);
    };
    const found: RuleMatch[] = [];
    const [rec] = records(Buffer.concat([streamHeader(), frame(1, open('/etc/hostname', 0n, 600, 'cat'))]));
    assert.ok(rec !== undefined);
    const v = p.evaluate(rec, ruleset, opts, found) as RecordEventView;
    assert.deepEqual(found, []);
    assert.deepEqual(made, { users: 0, ancestors: 0 }, 'the rules read neither');
    // The view still answers every field, made on first read and kept for the next.
    assert.equal(v.type, 'openat');
    assert.equal(v.pid, 600);
    assert.equal(v.proc.name, 'cat');
    assert.equal(v.user.uid, 0);
    assert.equal(v.user, v.user);
    assert.ok(v.ancestors !== undefined);
    assert.deepEqual(made, { users: 1, ancestors: 1 });
    assert.equal(v.ts, '1700000005000000000');
    assert.equal(v.container.id, '0123456789ab');
  });

  it('count an event whose part fails to be made as invalid, and raise nothing for it', () => {
    const errors: Error[] = [];
    const p = pipeline(errors);
    p.table.cachedAncestors = () => {
      throw new Error('ancestors unavailable');
    };
    const found: RuleMatch[] = [];
    let events = 0;
    for (const rec of records(stream())) if (p.evaluate(rec, ruleset, opts, found) !== undefined) events++;
    // The four matches build their events, ancestors included, and fail; no rule's condition reads
    // ancestors, so the two events that match nothing are never built and stay valid.
    assert.equal(p.invalidEvents, 4);
    assert.deepEqual(
      errors.map((e) => e.message),
      Array(4).fill('ancestors unavailable'),
    );
    assert.deepEqual(found, []);
    assert.equal(events, 2);
    assert.equal(p.num, 2, 'invalid events take no number');
  });
});
