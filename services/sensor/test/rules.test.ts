/**
 * Integration: Falco's stable rules (and Saker's defaults) against real
 * actions seen by the real probe. The sensor captures exactly what the
 * ruleset asks for (Ruleset.eventTypes()), every event goes through
 * Ruleset.evaluate with ruleMatching 'all', and each rule must fire on the
 * event of the action meant to trigger it — not merely somewhere.
 *
 * Each action satisfies the rule's condition honestly: e.g. "Run shell
 * untrusted" needs a shell whose ancestor is a protected spawner (here a
 * daemonised process named nginx) and no package manager in its ancestry,
 * "Terminal shell in container" a shell with a tty whose parent is runc, and
 * "Drop and execute new binary in container" an exe on the upper layer of a
 * containerd overlayfs rootfs. Needs root (CI runs as root).
 */
import assert from 'node:assert/strict';
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { SyscallEvent } from '@saker/events';
import { type RuleMatch, type Ruleset, loadRules, readRuleFiles, syscallFields } from '@saker/rules';
import { sharedPath, waitFor, within } from '@saker/testing';
import { interestFromEventTypes } from '../src/interest.js';
import type { Sensor } from '../src/sensor.js';
import { Containerd, buildBusyboxImage, kubepodsCgroup, newContainerId, runcRun } from './containers.js';
import {
  DrainMarker,
  FALCO_RULES,
  SAKER_RULES,
  rootRulesSkip,
  startCollecting,
  untilNoRingDrops,
  validateAfterRun,
} from './runs.js';

const SKIP = rootRulesSkip(
  'sensor rules integration test',
  'the rules integration test loads eBPF programs and runs containers',
);

const BUILD = fileURLToPath(new URL('../../build/', import.meta.url));
const MEMFD_EXEC = join(BUILD, 'saker-memfd-exec');
const PTRACE_ATTACH = join(BUILD, 'saker-ptrace-attach');

/**
 * A process's age in ms by the kernel's boot clock: /proc/uptime minus the
 * start time in /proc/<pid>/stat (field 22, clock ticks of 10 ms). Both have
 * 10 ms steps.
 */
function processAgeMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const startTicks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const uptimeS = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  assert.ok(Number.isFinite(startTicks) && Number.isFinite(uptimeS), `cannot read the age of pid ${pid}`);
  return Math.round(uptimeS * 1000 - startTicks * 10);
}

/** Falco's `proc_is_new`: proc.duration <= 5 s. */
const PROC_IS_NEW_NS = 5_000_000_000n;
/**
 * How far past the 5 s the trusted server waits: covers the 10 ms steps of
 * /proc's clocks against the event's nanosecond ones.
 */
const PROC_AGE_MARGIN_MS = 250;
/** The ssh rule's server: a documentation address (RFC 5737) in a netns of the test, a port of its list. */
const SSH_ADDR = '198.51.100.7';
const SSH_PORT = 4444;
/** Runs of the actions, at most, while the shared ring buffer overflows (see `attempt`). */
const ATTEMPTS = 3;

// The skip sits on each test (a skipped describe drops its tests from Node 20's totals).
describe('Falco stable rules fire on real actions', { timeout: 300_000 }, () => {
  let sensor: Sensor;
  let ruleset: Ruleset;
  let dir: string;
  const matches: RuleMatch[] = [];
  const events: SyscallEvent[] = [];
  const errors: Error[] = [];
  const pids: Record<string, number> = {};
  const cleanup: string[] = [];
  let containerd: Containerd | undefined;
  let runcId = '';
  let ctrId = '';
  let privId = '';
  const drain = new DrainMarker();
  /** Network namespaces made by a run and not yet deleted (after() deletes them). */
  const netns = new Set<string>();
  let trusted: ChildProcessByStdio<Writable, null, null> | undefined;

  const run = (key: string, cmd: string, args: string[], okStatus: readonly number[] = [0]): void => {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
    assert.ok(
      r.status !== null && okStatus.includes(r.status),
      `${cmd} ${args.join(' ')} exited with ${r.status}: ${r.stderr?.toString()}`,
    );
    pids[key] = r.pid ?? -1;
  };

  /** The matches of `rule` whose event satisfies `pred`. */
  const fired = (rule: string, pred: (e: SyscallEvent) => boolean): RuleMatch[] =>
    matches.filter((m) => m.rule.name === rule && m.event.source === 'syscall' && pred(m.event));
  const firedBy = (rule: string, key: string) => fired(rule, (e) => e.proc.pid === pids[key]);
  const describeMatches = (rule: string) =>
    `${rule} matched ${matches.filter((m) => m.rule.name === rule).length} event(s) in all; rules that fired: ${[
      ...new Set(matches.map((m) => m.rule.name)),
    ].join(', ')}`;

  before(async () => {
    if (SKIP) return;
    const files = await readRuleFiles([FALCO_RULES ?? '', SAKER_RULES]);
    const loaded = loadRules(files);
    assert.ok(loaded.ok, JSON.stringify(loaded.results.flatMap((r) => r.errors)));
    ruleset = loaded.ruleset;
    const interest = interestFromEventTypes(ruleset.eventTypes());
    dir = mkdtempSync(join(tmpdir(), 'saker-rules-'));

    // Containers first (image build, containerd start): slow parts happen before the probe runs.
    const ctr = await Containerd.start(join(dir, 'containerd'));
    containerd = ctr;
    const image = buildBusyboxImage(join(dir, 'img'), 'docker.io/saker/busybox:test');
    const imp = ctr.ctr(['images', 'import', image]);
    assert.equal(imp.status, 0, `ctr images import: ${imp.stderr}`);

    // One run of every action under a fresh sensor. The sensor sees the whole host, whose kernel
    // other tests and benches share: a flood of their events can overflow the ring buffer (the
    // kernel counts it), and then events of these actions may be among the lost ones. Such a run
    // proves nothing, so it is repeated (at most ATTEMPTS runs); the tests judge the last one.
    const attempt = async (work: string): Promise<Sensor> => {
      // No validation while the actions run (it would slow the consumer down); every event is
      // checked with parseEvent once the run is over, below, so these tests still prove them valid.
      sensor = await startCollecting(interest.syscalls, events, errors, drain);

      // Read sensitive file trusted after startup: a server (dash under the name httpd, one of the
      // rule's server_procs) starts now and waits on its stdin; once the kernel's clock makes it
      // older than proc_is_new's 5 s (below, after the other actions, which overlap the wait), the
      // test tells it to open /etc/shadow. If the test dies first, EOF on stdin ends it unopened.
      const httpd = join(work, 'httpd');
      symlinkSync('/bin/dash', httpd);
      const server = spawn(httpd, ['-c', 'read go || exit 3; exec 3</etc/shadow'], {
        stdio: ['pipe', 'ignore', 'ignore'],
      });
      trusted = server;
      const serverExit = new Promise<number | string | null>((r) =>
        server.on('exit', (code, sig) => r(code ?? sig)),
      );
      pids.trusted = server.pid ?? -1;
      // The same server opening /etc/shadow at once is new (proc_is_new): the rule must stay quiet.
      run('younghttpd', httpd, ['-c', 'exec 3</etc/shadow']);

      // Read sensitive file untrusted: cat is not a trusted reader.
      run('cat', 'cat', ['/etc/shadow']);

      // Run shell untrusted: a daemon named nginx (coreutils timeout under that name, reparented away
      // from this test's own ancestry) spawns a shell.
      const nginx = join(work, 'nginx');
      symlinkSync('/usr/bin/timeout', nginx);
      const rsuDone = join(work, 'rsu.done');
      run('setsid', 'setsid', ['-f', nginx, '20', 'sh', '-c', `echo saker-rsu > ${rsuDone}`]);

      // Execution from /dev/shm.
      const shmExe = `/dev/shm/saker-true-${process.pid}`;
      copyFileSync('/usr/bin/true', shmExe);
      cleanup.push(shmExe);
      run('shm', shmExe, []);

      // Fileless execution via memfd_create.
      run('memfd', MEMFD_EXEC, ['saker-rules', '/bin/true']);

      // Create Symlink / Hardlink Over Sensitive Files (/tmp and /etc share a filesystem here;
      // the rule does not need the link to succeed, but it does).
      run('symlink', 'ln', ['-s', '/etc/shadow', join(work, 'shadow-sym')]);
      run('hardlink', 'ln', ['/etc/shadow', join(work, 'shadow-hard')], [0, 1]);

      // PTRACE attached to process.
      run('ptrace', PTRACE_ATTACH, []);

      // Clear Log Activities: truncate a file under /var/log.
      const log = `/var/log/saker-rules-test-${process.pid}.log`;
      writeFileSync(log, 'line\n');
      cleanup.push(log);
      run('clearlog', 'sh', ['-c', `: > ${log}`]);

      // Remove Bulk Data from Disk.
      writeFileSync(join(work, 'bulk'), 'x'.repeat(4096));
      run('shred', 'shred', ['-u', join(work, 'bulk')]);

      // Search Private Keys or Passwords; Find AWS Credentials.
      mkdirSync(join(work, 'home/.aws'), { recursive: true });
      writeFileSync(join(work, 'home/.aws/credentials'), '[default]\n');
      run('grepkey', 'grep', ['-r', '-l', 'BEGIN RSA PRIVATE', join(work, 'home')], [0, 1]);
      run('findkey', 'find', [join(work, 'home'), '-name', 'id_rsa'], [0, 1]);
      run('findaws', 'find', [join(work, 'home'), '-path', '*/.aws/credentials']);

      // Terminal shell in container: runc with a pty, kubepods cgroup.
      runcId = newContainerId();
      const rr = runcRun({
        bundle: join(work, 'runc'),
        id: `saker-${runcId.slice(0, 12)}`,
        args: ['sh', '-c', 'cat /etc/hostname >/dev/null; echo saker-runc'],
        cgroupsPath: kubepodsCgroup(runcId),
        terminal: true,
      });
      assert.equal(rr.status, 0, `runc run: ${rr.stderr}${rr.stdout}`);

      // Drop and execute new binary in container: containerd, overlayfs, a binary written in the
      // container's upper layer and run.
      ctrId = newContainerId();
      const cr = ctr.ctr([
        'run',
        '--rm',
        '--snapshotter',
        'overlayfs',
        '--cgroup',
        kubepodsCgroup(ctrId),
        'docker.io/saker/busybox:test',
        ctrId,
        'sh',
        '-c',
        'cp /bin/busybox /tmp/echo && /tmp/echo saker-dropped',
      ]);
      assert.equal(cr.status, 0, `ctr run: ${cr.stderr}`);

      // PTRACE anti-debug attempt: a process asks to be traced by its parent.
      run('traceme', '/usr/bin/python3', ['-c', 'import ctypes; ctypes.CDLL(None).syscall(101, 0, 0, 0, 0)']);

      // Directory traversal monitored file read: cat (not below a shell) reads /etc/passwd through ../..
      const deep = join(work, 'a/b');
      mkdirSync(deep, { recursive: true });
      const up = '../'.repeat(deep.split('/').filter((c) => c !== '').length);
      const tr = spawnSync('cat', [`${up}etc/passwd`], { cwd: deep, stdio: 'ignore' });
      assert.equal(tr.status, 0, `cat ${up}etc/passwd in ${deep}`);
      pids.traversal = tr.pid ?? -1;

      // System user interactive: a daemon named sshd (coreutils timeout under that name, as root)
      // starts a shell as www-data, a system user (setpriv drops to uid 33 and execs sh), as an
      // ssh session of that user would.
      const sshd = join(work, 'sshd');
      symlinkSync('/usr/bin/timeout', sshd);
      run('sysuser', sshd, [
        '20',
        'setpriv',
        '--reuid=33',
        '--regid=33',
        '--clear-groups',
        'sh',
        '-c',
        'true',
      ]);

      // Disallowed SSH Connection Non Standard Port: in a network namespace of this test, the ssh
      // client connects to port 4444 of 198.51.100.7 (a documentation address: neither loopback nor
      // RFC 1918, so `outbound` holds), where socat accepts and hangs up (ssh then exits 255).
      const ns = `saker-rules-${process.pid}`;
      const ip = (args: string[]) => {
        const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
        assert.equal(r.status, 0, `ip ${args.join(' ')}: ${r.stderr}`);
        return r.stdout;
      };
      ip(['netns', 'add', ns]);
      netns.add(ns);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${SSH_ADDR}/32`, 'dev', 'lo']);
      const sshServer = spawn(
        'ip',
        [
          'netns',
          'exec',
          ns,
          'timeout',
          '30',
          'socat',
          `TCP-LISTEN:${SSH_PORT},bind=${SSH_ADDR},fork`,
          'EXEC:true',
        ],
        { stdio: 'ignore' },
      );
      try {
        await waitFor(
          `socat listening on ${SSH_ADDR}:${SSH_PORT} in netns ${ns}`,
          () => ip(['netns', 'exec', ns, 'ss', '-Hltn', `sport = :${SSH_PORT}`]).trim() !== '',
        );
        // `ip netns exec` execs ssh in its own process: the recorded pid is the ssh client's.
        run(
          'ssh',
          'ip',
          [
            ...['netns', 'exec', ns, 'ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no'],
            ...['-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', '-p', String(SSH_PORT)],
            `saker@${SSH_ADDR}`,
            'true',
          ],
          [255],
        );
      } finally {
        sshServer.kill('SIGKILL');
        spawnSync('ip', ['netns', 'del', ns]);
        netns.delete(ns);
      }

      // A privileged container on the host network, placed in a kubepods cgroup as a kubelet would:
      // a packet socket (arping), a write to a file named release_agent with CAP_SYS_ADMIN, a module
      // load attempt with CAP_SYS_MODULE (a bogus image the kernel refuses), and nc -e connected to
      // a listener of this test (its stdin/stdout become the socket).
      const listener = createServer((sock) => sock.end());
      await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
      const lport = (listener.address() as AddressInfo).port;
      privId = newContainerId();
      const pr = ctr.ctr([
        'run',
        '--rm',
        '--privileged',
        '--net-host',
        '--snapshotter',
        'overlayfs',
        '--cgroup',
        kubepodsCgroup(privId),
        'docker.io/saker/busybox:test',
        privId,
        'sh',
        '-c',
        [
          'arping -c 1 -w 1 -I lo 127.0.0.1 >/dev/null 2>&1',
          'echo x > /tmp/release_agent',
          'echo bogus > /tmp/m.ko; insmod /tmp/m.ko 2>/dev/null',
          `/bin/nc 127.0.0.1 ${lport} -e /bin/true`,
          'true',
        ].join('; '),
      ]);
      assert.equal(pr.status, 0, `ctr run --privileged: ${pr.stderr}`);
      listener.close();

      await waitFor('the nginx-spawned shell', () => existsSync(rsuDone));

      // The trusted server's open, once it is older than 5 s by the kernel's own clock: its start
      // time (/proc/<pid>/stat, the task's start_boottime, which the sensor's proc.start_ts also
      // comes from) against the boot clock (/proc/uptime). The wait is on the process age the rule
      // reads, bounded, not a guessed sleep, and does not depend on how far the sensor lags.
      const ageMs = () => processAgeMs(server.pid ?? -1);
      assert.ok(ageMs() >= 0, `httpd's age reads ${ageMs()} ms`);
      await waitFor(
        () => `httpd to be older than 5 s (${ageMs()} ms)`,
        () => ageMs() >= Number(PROC_IS_NEW_NS / 1_000_000n) + PROC_AGE_MARGIN_MS,
        Number(PROC_IS_NEW_NS / 1_000_000n) + PROC_AGE_MARGIN_MS + 2_000,
      );
      server.stdin.end('go\n');
      assert.equal(
        await within('httpd opening /etc/shadow', serverExit, 10_000),
        0,
        'httpd (dash) exited with an error',
      );
      // Drained: a marker open made after every action has come through the ring buffer.
      await drain.drain(
        work,
        () => `${events.length} events so far, ${sensor.stats.totals.dropRingbuf} lost`,
      );
      // stop() reads the loader's final stats record, for the drop counters.
      await sensor.stop();
      // Evaluated once the run is over, not as events arrive: the sensor then only decodes while
      // the actions run, and keeps up with a busier host before the ring buffer overflows. The
      // events carry their process state (ancestors, cwd, ...) as of their arrival.
      validateAfterRun(events, errors);
      for (const e of events) for (const m of ruleset.evaluate(e, { ruleMatching: 'all' })) matches.push(m);
      return sensor;
    };
    await untilNoRingDrops(
      'rules test',
      ATTEMPTS,
      (n) => {
        const work = join(dir, `run${n}`);
        mkdirSync(work);
        return attempt(work);
      },
      () => {
        events.length = 0;
        matches.length = 0;
        errors.length = 0;
        for (const k of Object.keys(pids)) delete pids[k];
      },
    );
  });

  after(async () => {
    if (trusted?.exitCode === null && trusted.signalCode === null) trusted.kill('SIGKILL');
    // A before() that failed half-way leaves the loader running, and the test process would never
    // end (its events piling up in memory): stop it here, bounded.
    if (sensor !== undefined) await within('Sensor.stop()', sensor.stop(), 15_000);
    for (const ns of netns) spawnSync('ip', ['netns', 'del', ns]);
    await containerd?.stop();
    for (const f of cleanup) rmSync(f, { force: true });
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('captures the interest set cleanly', { skip: SKIP }, () => {
    assert.deepEqual(
      errors.map((e) => e.message),
      [],
    );
    assert.equal(
      sensor.stats.totals.dropRingbuf,
      0n,
      `every one of ${ATTEMPTS} runs lost records in the ring buffer, which this kernel shares with other processes (a flood of their events: see the log); the rules could not be judged`,
    );
    assert.ok(events.length > 0);
  });

  it(
    'Read sensitive file trusted after startup: a server (httpd) older than 5 s opens /etc/shadow',
    { skip: SKIP },
    () => {
      const rule = 'Read sensitive file trusted after startup';
      const m = firedBy(rule, 'trusted');
      assert.ok(m.length > 0, describeMatches(rule));
      const match = m[0] as RuleMatch;
      const e = match.event as SyscallEvent;
      const duration = syscallFields.lookup('proc.duration')?.def.bind(undefined)(e);
      assert.ok(
        typeof duration === 'number' && BigInt(Math.trunc(duration)) > PROC_IS_NEW_NS,
        `proc.duration ${duration}`,
      );
      const f = match.outputFields;
      assert.equal(f['fd.name'], '/etc/shadow');
      assert.equal(f['evt.type'], 'openat');
      assert.equal(f['proc.name'], 'httpd');
      assert.equal(f['proc.exepath'], '/usr/bin/dash');
      assert.equal(f['proc.cmdline'], 'httpd -c read go || exit 3; exec 3</etc/shadow');
      assert.equal(f['proc.pname'], e.ancestors?.[0]?.name);
      assert.equal(f['user.name'], 'root');
      assert.equal(f['user.uid'], 0);
      assert.equal(f['proc.tty'], e.proc.tty);
      // A server that opens it at startup is not flagged, though its open was seen.
      assert.ok(events.some((y) => y.proc.pid === pids.younghttpd && y.fd?.name === '/etc/shadow'));
      assert.deepEqual(firedBy(rule, 'younghttpd'), []);
      assert.match(
        match.output,
        /^Sensitive file opened for reading by trusted program after startup \| file=\/etc\/shadow pcmdline=\S.* evt_type=openat user=root user_uid=0 .*process=httpd proc_exepath=\/usr\/bin\/dash /,
      );
    },
  );

  it('System user interactive: www-data runs a shell below a daemon named sshd', { skip: SKIP }, () => {
    const rule = 'System user interactive';
    const m = fired(
      rule,
      (e) => e.proc.name === 'sh' && e.user.name === 'www-data' && e.ancestors?.[0]?.name === 'sshd',
    );
    assert.ok(m.length > 0, describeMatches(rule));
    const f = (m[0] as RuleMatch).outputFields;
    assert.equal(f['user.name'], 'www-data');
    assert.equal(f['user.uid'], 33);
    assert.equal(f['proc.pname'], 'sshd');
    assert.equal(f['proc.cmdline'], 'sh -c true');
  });

  it(
    'Disallowed SSH Connection Non Standard Port: ssh to port 4444 of a public address',
    { skip: SKIP },
    () => {
      const rule = 'Disallowed SSH Connection Non Standard Port';
      const m = firedBy(rule, 'ssh');
      assert.ok(m.length > 0, describeMatches(rule));
      const match = m[0] as RuleMatch;
      assert.equal(match.event.source === 'syscall' && match.event.type, 'connect');
      const f = match.outputFields;
      assert.equal(f['fd.rport'], SSH_PORT);
      assert.equal(f['fd.l4proto'], 'tcp');
      assert.equal(f['proc.name'], 'ssh');
      assert.match(String(f['fd.name']), new RegExp(`->${SSH_ADDR.replaceAll('.', '\\.')}:${SSH_PORT}$`));
    },
  );

  it('Read sensitive file untrusted: cat /etc/shadow', { skip: SKIP }, () => {
    const m = firedBy('Read sensitive file untrusted', 'cat');
    assert.ok(m.length > 0, describeMatches('Read sensitive file untrusted'));
    assert.equal(m[0]?.event.source === 'syscall' && m[0].event.fd?.name, '/etc/shadow');
  });

  it('Run shell untrusted: sh below a daemon named nginx', { skip: SKIP }, () => {
    const m = fired(
      'Run shell untrusted',
      (e) =>
        e.proc.name === 'sh' &&
        e.proc.args.join(' ').includes('saker-rsu') &&
        e.ancestors?.[0]?.name === 'nginx',
    );
    assert.ok(m.length > 0, describeMatches('Run shell untrusted'));
  });

  it('Terminal shell in container: runc, a pty, a kubepods cgroup', { skip: SKIP }, () => {
    const m = fired(
      'Terminal shell in container',
      (e) => e.container.id === runcId.slice(0, 12) && e.proc.name === 'sh',
    );
    assert.ok(m.length > 0, describeMatches('Terminal shell in container'));
    const e = m[0]?.event as SyscallEvent;
    assert.notEqual(e.proc.tty, 0);
    assert.equal(e.ancestors?.[0]?.name, 'runc');
  });

  it('Execution from /dev/shm', { skip: SKIP }, () => {
    assert.ok(
      firedBy('Execution from /dev/shm', 'shm').length > 0,
      describeMatches('Execution from /dev/shm'),
    );
  });

  it('Fileless execution via memfd_create', { skip: SKIP }, () => {
    assert.ok(
      firedBy('Fileless execution via memfd_create', 'memfd').length > 0,
      describeMatches('Fileless execution via memfd_create'),
    );
  });

  it('Create Symlink Over Sensitive Files', { skip: SKIP }, () => {
    assert.ok(
      firedBy('Create Symlink Over Sensitive Files', 'symlink').length > 0,
      describeMatches('Create Symlink Over Sensitive Files'),
    );
  });

  it('Create Hardlink Over Sensitive Files', { skip: SKIP }, () => {
    assert.ok(
      firedBy('Create Hardlink Over Sensitive Files', 'hardlink').length > 0,
      describeMatches('Create Hardlink Over Sensitive Files'),
    );
  });

  it('PTRACE attached to process', { skip: SKIP }, () => {
    assert.ok(
      firedBy('PTRACE attached to process', 'ptrace').length > 0,
      describeMatches('PTRACE attached to process'),
    );
  });

  it('Clear Log Activities', { skip: SKIP }, () => {
    assert.ok(
      firedBy('Clear Log Activities', 'clearlog').length > 0,
      describeMatches('Clear Log Activities'),
    );
  });

  it('Remove Bulk Data from Disk', { skip: SKIP }, () => {
    assert.ok(
      firedBy('Remove Bulk Data from Disk', 'shred').length > 0,
      describeMatches('Remove Bulk Data from Disk'),
    );
  });

  it('Search Private Keys or Passwords: grep and find', { skip: SKIP }, () => {
    assert.ok(
      firedBy('Search Private Keys or Passwords', 'grepkey').length > 0,
      describeMatches('Search Private Keys or Passwords'),
    );
    assert.ok(firedBy('Search Private Keys or Passwords', 'findkey').length > 0);
  });

  it('Find AWS Credentials', { skip: SKIP }, () => {
    assert.ok(firedBy('Find AWS Credentials', 'findaws').length > 0, describeMatches('Find AWS Credentials'));
  });

  it('PTRACE anti-debug attempt: ptrace(PTRACE_TRACEME)', { skip: SKIP }, () => {
    assert.ok(
      firedBy('PTRACE anti-debug attempt', 'traceme').length > 0,
      describeMatches('PTRACE anti-debug attempt'),
    );
  });

  it('Directory traversal monitored file read: cat ../../(...)/etc/passwd', { skip: SKIP }, () => {
    const m = firedBy('Directory traversal monitored file read', 'traversal');
    assert.ok(m.length > 0, describeMatches('Directory traversal monitored file read'));
    assert.equal(m[0]?.event.source === 'syscall' ? m[0].event.fd?.name : '', '/etc/passwd');
  });

  const inPriv = (e: SyscallEvent) => e.container.id === privId.slice(0, 12);

  it('Packet socket created in container: arping in a privileged container', { skip: SKIP }, () => {
    const m = fired('Packet socket created in container', inPriv);
    assert.ok(m.length > 0, describeMatches('Packet socket created in container'));
  });

  it('Detect release_agent File Container Escapes: a write with CAP_SYS_ADMIN', { skip: SKIP }, () => {
    const m = fired('Detect release_agent File Container Escapes', inPriv);
    assert.ok(m.length > 0, describeMatches('Detect release_agent File Container Escapes'));
  });

  it(
    'Linux Kernel Module Injection Detected: insmod with CAP_SYS_MODULE in a container',
    { skip: SKIP },
    () => {
      const m = fired('Linux Kernel Module Injection Detected', inPriv);
      assert.ok(m.length > 0, describeMatches('Linux Kernel Module Injection Detected'));
    },
  );

  it(
    'Netcat Remote Code Execution in Container and Redirect STDOUT/STDIN to Network Connection',
    { skip: SKIP },
    () => {
      assert.ok(
        fired('Netcat Remote Code Execution in Container', inPriv).length > 0,
        describeMatches('Netcat Remote Code Execution in Container'),
      );
      assert.ok(
        fired('Redirect STDOUT/STDIN to Network Connection in Container', inPriv).length > 0,
        describeMatches('Redirect STDOUT/STDIN to Network Connection in Container'),
      );
    },
  );

  it('Drop and execute new binary in container: containerd, overlayfs upper layer', { skip: SKIP }, () => {
    const m = fired(
      'Drop and execute new binary in container',
      (e) => e.container.id === ctrId.slice(0, 12) && e.proc.exepath === '/tmp/echo',
    );
    assert.ok(m.length > 0, describeMatches('Drop and execute new binary in container'));
    assert.equal((m[0]?.event as SyscallEvent).proc.is_exe_upper_layer, true);
  });
});
