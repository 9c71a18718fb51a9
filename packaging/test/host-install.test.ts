/**
 * The Debian package on a clean Debian 12 root (debootstrap, no Node.js, npm
 * or compilers): install, `saker --version`, `saker rules validate`, a replay
 * with Saker's rules and with an existing Falco falco.yaml, the eBPF sensor
 * attached from inside the root with the unit's capabilities only, the unit
 * under systemd (systemd-nspawn --boot: start, `systemctl reload` swapping
 * the rules), and an upgrade that keeps an edited /etc/saker/saker.yaml.
 *
 * Needs root (chroot, mounts, eBPF) and the cached root from debian-root.ts
 * (made once per machine, a few minutes). The packages are built from the
 * repository's compiled workspaces into a temporary folder.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertUiFrontEnd, repoRoot, sharedPath, startNatsServer, uiGetLoggedIn } from '@saker/testing';
import { type HostPackages, buildHostPackages } from '../src/deb.js';
import { buildTree, cliVersion, writeVersion } from '../src/tree.js';
import { ROOT_ENV, type TestRoot, freshDebianRoot, watch } from './chroot.js';

const isRoot = process.getuid?.() === 0;
const SKIP = isRoot ? false : 'needs root (chroot, mounts, eBPF)';
if (SKIP) console.error(`\n*** SKIPPING host-install tests: ${SKIP} ***\n`);

const REPO = repoRoot();
const V1 = cliVersion(REPO);
const V2 = `${V1}+upgrade.1`;
/** The capabilities saker.service keeps (packaging/files/saker.service). */
const UNIT_CAPS = '+bpf,+perfmon,+sys_ptrace,+sys_resource';
/** The web UI's local user in the root's users file. */
const ALICE = { username: 'alice', password: 'alice-pw' };

describe('host install: the Debian package in a clean Debian root', { skip: SKIP, timeout: 600_000 }, () => {
  let work: string;
  let v1: HostPackages;
  let v2: HostPackages;
  let root: TestRoot;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'saker-pkg-build-'));
    // One bundle; the next version is the same tree with other version files.
    const tree1 = await buildTree({ repo: REPO, out: join(work, 'tree-1'), version: V1 });
    const tree2 = join(work, 'tree-2');
    cpSync(tree1.dir, tree2, { recursive: true, verbatimSymlinks: true });
    writeVersion(tree2, V2);
    const deb = (tree: string, version: string): HostPackages =>
      buildHostPackages({
        repo: REPO,
        tree,
        version,
        out: join(work, version),
        compression: 'none',
        tarball: false,
      });
    v1 = buildHostPackages({
      repo: REPO,
      tree: tree1.dir,
      version: V1,
      out: join(work, V1),
      compression: 'none',
    });
    v2 = deb(tree2, V2);
    root = freshDebianRoot();
  });

  after(() => {
    root?.[Symbol.dispose]();
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  it('installs where there is no Node.js, npm or compiler; saker --version starts', () => {
    const found = root.run([
      'sh',
      '-c',
      'for c in node nodejs npm gcc cc clang; do command -v $c; done; true',
    ]);
    assert.equal(found, '', `the test root has ${found}`);
    // The sensor's loader is static: the root has no libbpf or libelf for it.
    const libs = root.run(['sh', '-c', 'ls /usr/lib/*/libbpf.so* /usr/lib/*/libelf.so* 2>/dev/null; true']);
    assert.equal(libs, '', `the test root has ${libs}`);
    copyFileSync(v1.deb, join(root.dir, 'tmp/saker.deb'));
    root.run(['dpkg', '-i', '/tmp/saker.deb']);
    const t0 = process.hrtime.bigint();
    const version = root.run(['saker', '--version']);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    assert.equal(version.trim(), `saker ${V1}`);
    console.log(`saker --version in the clean root: ${ms.toFixed(0)} ms (chroot included)`);
    assert.match(root.run(['dpkg-query', '-W', '-f', '${Conffiles}', 'saker']), /\/etc\/saker\/saker\.yaml/);
  });

  it('the tarball holds the files of the Debian package', () => {
    const list = (cmd: string, args: string[], strip: RegExp): string[] =>
      execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 26 })
        .split('\n')
        .map((l) => /^\S+ \S+ +\d+ \S+ \S+ (.*?)(?: -> .*)?$/.exec(l)?.[1]?.replace(strip, '') ?? '')
        .filter((p) => p !== '' && p !== '/')
        .sort();
    assert.ok(v1.tarball !== undefined);
    const inTar = list('tar', ['-tvzf', v1.tarball.file], /^saker-[^/]+(?=\/)|\/$/g);
    const inDeb = list('dpkg-deb', ['-c', v1.deb], /^\.|\/$/g);
    assert.ok(inDeb.includes('/usr/lib/saker/node/bin/node'));
    assert.deepEqual(inTar, inDeb);
  });

  it('the unit passes systemd-analyze verify', () => {
    // verify loads the unit as systemd would: its binary must exist, its keys be known.
    const out = execFileSync(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'mount -t proc proc "$1/proc" && chroot "$1" systemd-analyze verify /lib/systemd/system/saker.service 2>&1',
        'sh',
        root.dir,
      ],
      { encoding: 'utf8', env: ROOT_ENV },
    );
    assert.doesNotMatch(out, /saker\.service/, out);
  });

  it('saker rules validate passes on the shipped rules', () => {
    const out = root.run(['saker', 'rules', 'validate', '/usr/share/saker/rules', '/etc/saker/rules.d']);
    assert.match(out, /saker_rules\.yaml: OK/);
  });

  it('saker run --replay of the demo events prints their alerts', async () => {
    copyFileSync(join(REPO, 'examples/demo-events.jsonl'), join(root.dir, 'tmp/demo-events.jsonl'));
    await replayIn(
      root,
      '/etc/saker/saker.yaml',
      /File below \/etc opened for writing \(file=\/etc\/cron\.d\/backup/,
    );
  });

  it(
    'runs with an existing Falco falco.yaml and its rules files',
    { skip: sharedPath() === undefined },
    async () => {
      const falco = installFalcoFiles(root.dir);
      try {
        await replayIn(
          root,
          '/etc/falco/falco.yaml',
          /Sensitive file opened for reading by non-trusted program \| file=\/etc\/shadow/,
        );
      } finally {
        rmSync(falco, { recursive: true });
      }
    },
  );

  it('saker ui serves the front end and its API with a users file: the SQLite addon and the web files come with the package', async () => {
    // Nothing in the root could build or provide better-sqlite3 but the package.
    const tools = root.run([
      'sh',
      '-c',
      'for c in g++ c++ make python3 node-gyp; do command -v $c; done; true',
    ]);
    assert.equal(tools, '', `the test root has ${tools}`);
    const modules = root.run([
      'find',
      '/',
      '-xdev',
      '-name',
      'node_modules',
      '-not',
      '-path',
      '/usr/lib/saker/*',
    ]);
    assert.equal(modules, '', `node_modules outside the package: ${modules}`);
    root.run(
      ['sh', '-c', 'saker ui hash-password --user alice --role admin > /etc/saker/ui-users'],
      'alice-pw\n',
    );
    await using nats = await startNatsServer({ jetstream: true });
    // The root shares this machine's network: the UI reaches the nats-server on loopback.
    const ui = watch(
      'chroot',
      [
        root.dir,
        'saker',
        'ui',
        '--config',
        '/etc/saker/saker.yaml',
        '--nats',
        nats.url,
        '--listen',
        '127.0.0.1:0',
      ],
      { ...ROOT_ENV, SAKER__UI__AUTH__USERS_FILE: '/etc/saker/ui-users' },
    );
    try {
      const url = uiUrl(await ui.waitFor(/url=http:\/\/127\.0\.0\.1:\d+\//, 60_000));
      await assertUiFrontEnd(url);
      // The store (the package's SQLite addon) answers behind a login checked against the users file.
      const events = await uiGetLoggedIn(url, ALICE, 'api/events');
      assert.equal(events.status, 200);
      assert.deepEqual(await events.json(), { events: [], next: null, total: 0 });
    } finally {
      assert.equal(await ui.stop(), 0, ui.output());
    }
  });

  it('saker run with a ui login configured stores the replayed alerts in the UI', async () => {
    copyFileSync(join(REPO, 'examples/demo-events.jsonl'), join(root.dir, 'tmp/demo-events.jsonl'));
    const run = watch(
      'chroot',
      [
        root.dir,
        ...['saker', 'run', '--config', '/etc/saker/saker.yaml', '--no-sensor'],
        ...['--control-listen', 'off', '--metrics-listen', 'off', '--replay', '/tmp/demo-events.jsonl'],
      ],
      { ...ROOT_ENV, SAKER__UI__AUTH__USERS_FILE: '/etc/saker/ui-users', SAKER__UI__LISTEN: '127.0.0.1:0' },
    );
    try {
      const url = uiUrl(await run.waitFor(/ui\(url=http:\/\/127\.0\.0\.1:\d+\//, 60_000));
      await run.waitFor(/File below \/etc opened for writing/, 30_000);
      const deadline = Date.now() + 15_000;
      let total = 0;
      while (total === 0 && Date.now() < deadline) {
        const page = await uiGetLoggedIn(url, ALICE, 'api/events?q=cron.d');
        assert.equal(page.status, 200);
        total = ((await page.json()) as { total: number }).total;
        if (total === 0) await new Promise((r) => setTimeout(r, 250));
      }
      assert.ok(total > 0, `no alert about /etc/cron.d in the UI's store:\n${run.output()}`);
    } finally {
      assert.equal(await run.stop(), 0, run.output());
    }
  });

  it("the sensor attaches from inside the root with the unit's capabilities; a real write below /etc raises an alert", async () => {
    // The host's kernel through /sys (BTF, tracefs) and /proc bound into the root,
    // in a mount namespace of its own so nothing is left mounted.
    const run = watch('unshare', [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --rbind /sys "$1/sys" && mount -t proc proc "$1/proc" && exec chroot "$1" setpriv --bounding-set=-all,$2 saker run --config /etc/saker/saker.yaml --control-listen off --metrics-listen off',
      'sh',
      root.dir,
      UNIT_CAPS,
    ]);
    try {
      await run.waitFor(/saker: running: /, 60_000);
      const probe = `/etc/saker-sensor-probe-${process.pid}`;
      root.run(['sh', '-c', `echo probe > ${probe}`]);
      await run.waitFor(new RegExp(`File below /etc opened for writing \\(file=${probe}`), 30_000);
    } finally {
      assert.equal(await run.stop(), 0, run.output());
    }
  });

  it("boots under systemd-nspawn: saker.service starts, systemctl reload swaps the rules; SAKER_CONFIG runs it on Falco's falco.yaml", async () => {
    // Reloads come from systemctl only (no file watching), so the swap proves SIGHUP.
    writeFileSync(
      join(root.dir, 'etc/default/saker'),
      'SAKER__WATCH_CONFIG_FILES=false\nSAKER__RULE_MATCHING=all\nSAKER_OPTS="--replay-dir /var/lib/saker/replay --control-listen off"\n',
    );
    mkdirSync(join(root.dir, 'var/lib/saker/replay'), { recursive: true });
    const nspawn = watch('systemd-nspawn', [
      '--register=no',
      '--keep-unit',
      '--quiet',
      `--capability=${UNIT_CAPS.replaceAll('+', 'CAP_').toUpperCase()}`,
      '--system-call-filter=bpf perf_event_open',
      // The host's tracefs, which the loader attaches through (nspawn's /sys has none mounted).
      '--bind=/sys/kernel/tracing',
      '-D',
      root.dir,
      '--boot',
    ]);
    const inside = (...args: string[]): string =>
      execFileSync('nsenter', ['-t', String(initPid(nspawn.child.pid)), '-a', ...args], {
        encoding: 'utf8',
        env: ROOT_ENV,
        timeout: 60_000,
      });
    const journal = (): string => inside('journalctl', '-u', 'saker', '--no-pager', '-o', 'cat');
    const waitJournal = async (re: RegExp, ms: number): Promise<void> => {
      const deadline = Date.now() + ms;
      while (!re.test(journal())) {
        if (Date.now() > deadline) assert.fail(`no ${re} in saker's journal within ${ms} ms:\n${journal()}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    try {
      await nspawn.waitFor(/login: /, 60_000);
      inside('systemctl', 'enable', '--now', 'saker');
      assert.equal(inside('systemctl', 'is-enabled', 'saker').trim(), 'enabled');
      await waitJournal(/saker: running: .*rules=\d+/, 60_000);
      assert.equal(inside('systemctl', 'is-active', 'saker').trim(), 'active');
      assert.doesNotMatch(journal(), /sensor did not start/, "the sensor runs under the unit's sandbox");
      const rulesBefore = Number(/saker: running: .*? rules=(\d+)/.exec(journal())?.[1]);

      writeFileSync(
        join(root.dir, 'etc/saker/rules.d/local.yaml'),
        [
          '- rule: Shadow file opened (package test)',
          '  desc: a local rule added while saker.service runs',
          '  condition: evt.type = openat and fd.name = /etc/shadow',
          '  output: package test local rule fired (file=%fd.name process=%proc.name)',
          '  priority: WARNING',
          '',
        ].join('\n'),
      );
      inside('systemctl', 'reload', 'saker');
      await waitJournal(new RegExp(`rules reloaded: revision 2, ${rulesBefore + 1} rules`), 30_000);

      const replay = join(root.dir, 'var/lib/saker/replay');
      copyFileSync(join(REPO, 'examples/demo-events.jsonl'), join(replay, 'demo.tmp'));
      renameSync(join(replay, 'demo.tmp'), join(replay, 'demo.jsonl'));
      await waitJournal(/package test local rule fired \(file=\/etc\/shadow/, 30_000);
      assert.equal(inside('systemctl', 'is-active', 'saker').trim(), 'active');
      inside('systemctl', 'stop', 'saker');
      assert.match(journal(), /saker: stopped/);

      // The documented way to run the service from an existing Falco install.
      if (sharedPath() !== undefined) {
        installFalcoFiles(root.dir);
        writeFileSync(
          join(root.dir, 'etc/default/saker'),
          'SAKER_CONFIG=/etc/falco/falco.yaml\nSAKER_OPTS="--replay-dir /var/lib/saker/replay --control-listen off"\n',
        );
        inside('systemctl', 'start', 'saker');
        await waitJournal(/saker: running: [\s\S]*saker: running: /, 60_000);
        copyFileSync(join(REPO, 'examples/demo-events.jsonl'), join(replay, 'falco.tmp'));
        renameSync(join(replay, 'falco.tmp'), join(replay, 'falco.jsonl'));
        await waitJournal(
          /Sensitive file opened for reading by non-trusted program \| file=\/etc\/shadow/,
          30_000,
        );
        inside('systemctl', 'stop', 'saker');
      }
    } finally {
      try {
        inside('systemctl', 'poweroff', '--no-block');
      } catch {
        // the container is gone already
      }
      const timer = setTimeout(() => nspawn.child.kill('SIGKILL'), 30_000);
      await new Promise((r) =>
        nspawn.child.exitCode === null ? nspawn.child.once('exit', r) : r(undefined),
      );
      clearTimeout(timer);
      rmSync(join(root.dir, 'etc/saker/rules.d/local.yaml'), { force: true });
    }
  });

  it('an upgrade to the next version keeps an edited /etc/saker/saker.yaml', () => {
    const conf = join(root.dir, 'etc/saker/saker.yaml');
    appendFileSync(conf, '\n# edited on this host\njson_output: true\n');
    const edited = readFileSync(conf, 'utf8');
    copyFileSync(v2.deb, join(root.dir, 'tmp/saker.deb'));
    root.run(['dpkg', '-i', '/tmp/saker.deb']);
    assert.equal(root.run(['saker', '--version']).trim(), `saker ${V2}`);
    assert.equal(root.run(['dpkg-query', '-W', '-f', '${Version}', 'saker']), V2);
    assert.equal(readFileSync(conf, 'utf8'), edited);
    // The edited file still loads.
    assert.match(root.run(['saker', 'rules', 'validate', '/usr/share/saker/rules']), /OK/);
  });
});

/** Falco's falco.yaml and falco_rules.yaml (from $SAKER_SHARED) in the root's /etc/falco, as Falco's package leaves them. */
function installFalcoFiles(rootDir: string): string {
  const falco = join(rootDir, 'etc/falco');
  mkdirSync(join(falco, 'rules.d'), { recursive: true });
  copyFileSync(sharedPath('reference', 'falco.yaml') ?? '', join(falco, 'falco.yaml'));
  copyFileSync(sharedPath('falco-rules', 'falco_rules.yaml') ?? '', join(falco, 'falco_rules.yaml'));
  writeFileSync(join(falco, 'falco_rules.local.yaml'), '');
  return falco;
}

/** `saker run --config <config> --replay` of the demo events (copied to /tmp) in the root, until an alert matches. */
async function replayIn(root: TestRoot, config: string, alert: RegExp): Promise<void> {
  const off = ['--no-sensor', '--control-listen', 'off', '--metrics-listen', 'off'];
  const run = watch('chroot', [
    root.dir,
    'saker',
    'run',
    '--config',
    config,
    ...off,
    '--replay',
    '/tmp/demo-events.jsonl',
  ]);
  try {
    await run.waitFor(alert, 30_000);
  } finally {
    assert.equal(await run.stop(), 0, run.output());
  }
}

/** The UI's base URL from the `url=http://…/` a service printed. */
function uiUrl(printed: string): URL {
  return new URL(printed.slice(printed.indexOf('http://')));
}

/** The container's init: the child of systemd-nspawn. */
function initPid(nspawnPid: number | undefined): number {
  if (nspawnPid === undefined) throw new Error('systemd-nspawn did not start');
  const children = readFileSync(`/proc/${nspawnPid}/task/${nspawnPid}/children`, 'utf8').trim().split(/\s+/);
  const pid = Number(children[0]);
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`systemd-nspawn ${nspawnPid} has no child yet`);
  return pid;
}
