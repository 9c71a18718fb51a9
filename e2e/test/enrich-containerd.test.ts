/**
 * Enrichment end to end: `saker run` (the real binary) with the eBPF sensor,
 * node-mode enrichment on a private containerd's CRI socket and the engine
 * with Falco's stable rules and Saker's rules/. A pod and two containers are
 * made through CRI the way kubelet makes them (one privileged with a tty, one
 * neither). The sensor's events, joined with the metadata enrich wrote to KV,
 * must carry the pod, namespace, image, container name and privileged flag,
 * and Falco's "Terminal shell in container" must fire for the tty shell only.
 *
 * Needs root (eBPF, containerd). Run it under `flock /tmp/saker-sensor.lock`
 * on a shared machine: it loads the sensor.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CriClient, type PodSandboxConfig, kubeletContainerConfig, kubeletPodConfig } from '@saker/enrich';
import {
  Containerd,
  buildBusyboxImageInfo,
  removeCgroup,
  repoRoot,
  sharedPath,
  sharedSkip,
} from '@saker/testing';

const ROOT = repoRoot();
const CLI = join(ROOT, 'services', 'cli', 'dist', 'src', 'main.js');
const FALCO_RULES = sharedPath('falco-rules', 'falco_rules.yaml');
const isRoot = process.getuid?.() === 0;
const SKIP = !isRoot
  ? 'NOT ROOT: the sensor loads eBPF programs and containerd runs containers'
  : sharedSkip();
if (SKIP) console.error(`\n*** SKIPPING enrich e2e test: ${SKIP} ***\n`);

const IMAGE = 'registry.saker.test/e2e/toolbox:3.1';
const NAMESPACE = 'e2e-shop';
const POD = 'checkout-5f7c9';

/** A rule whose condition reads joined fields: it can only match once the event is joined. */
const JOIN_RULE = `- rule: E2E joined container process
  desc: a process of the e2e pod, found by its namespace (a joined field)
  condition: spawned_process and container and k8s.ns.name = ${NAMESPACE} and proc.cmdline contains "saker-e2e-join"
  output: >-
    joined pod=%k8s.pod.name ns=%k8s.ns.name image=%container.image.repository
    name=%container.name privileged=%container.privileged cmd=%proc.cmdline
  priority: NOTICE
`;

interface Alert {
  readonly rule: string;
  readonly output: string;
  readonly output_fields: Readonly<Record<string, unknown>>;
}

class SakerRun {
  private text = '';
  readonly alerts: Alert[] = [];
  private readonly exited: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    let pending = '';
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      pending += d;
      let nl = pending.indexOf('\n');
      while (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        if (line.startsWith('{')) this.alerts.push(JSON.parse(line) as Alert);
        nl = pending.indexOf('\n');
      }
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      this.text += d;
    });
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  get log(): string {
    return this.text;
  }

  async waitLog(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      if (this.child.exitCode !== null)
        throw new Error(`saker run exited (${this.child.exitCode}) before ${re}:\n${this.text}`);
      if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms:\n${this.text}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async waitAlert(what: string, pred: (a: Alert) => boolean, timeoutMs: number): Promise<Alert> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const a = this.alerts.find(pred);
      if (a) return a;
      if (Date.now() > deadline) {
        const alerts = this.alerts.map((x) => `${x.rule}: ${x.output}`).join('\n');
        throw new Error(`no alert ${what} within ${timeoutMs} ms; alerts:\n${alerts}\nlog:\n${this.text}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(t);
  }
}

describe(
  'enrichment end to end: saker run, sensor, containerd CRI, Falco rules',
  { timeout: 120_000 },
  () => {
    let dir: string;
    let containerd: Containerd;
    let cri: CriClient;
    let saker: SakerRun;
    let pod: PodSandboxConfig;
    let podId = '';
    const ids: Record<'shell' | 'plain', string> = { shell: '', plain: '' };

    before(async () => {
      if (SKIP) return;
      dir = mkdtempSync(join(tmpdir(), 'saker-e2e-enrich-'));
      containerd = await Containerd.start(join(dir, 'containerd'), { cri: true });
      containerd.importBusyboxImage(buildBusyboxImageInfo(join(dir, 'img'), IMAGE), 'k8s.io');
      cri = new CriClient(containerd.socket);
      writeFileSync(join(dir, 'e2e_rules.yaml'), JOIN_RULE);
      writeFileSync(
        join(dir, 'saker.yaml'),
        [
          `rules_files: [${FALCO_RULES}, ${join(ROOT, 'rules')}, ${join(dir, 'e2e_rules.yaml')}]`,
          'json_output: true',
          // Every matching rule reports (Falco's default, first, would hide the e2e rule behind Terminal shell).
          'rule_matching: all',
          'syslog_output: { enabled: false }',
          'watch_config_files: false',
          'enrich:',
          '  node:',
          '    enabled: true',
          `    cri_sockets: [unix://${containerd.socket}]`,
          '    poll_interval_ms: 200',
          '',
        ].join('\n'),
      );
      const child = spawn(
        process.execPath,
        [
          CLI,
          'run',
          '--config',
          join(dir, 'saker.yaml'),
          '--control-listen',
          'off',
          '--metrics-listen',
          'off',
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      saker = new SakerRun(child);
      // The running line comes once every service started: the probe attached, enrich on the socket.
      await saker.waitLog(
        /saker: running: .* enrich\(mode=auto node=\S*containerd\.sock.* sensor\(probe=(?!off)/,
        60_000,
      );
    });

    after(async () => {
      for (const id of [ids.shell, ids.plain]) {
        if (id !== '') await cri.removeContainer(id).catch(() => undefined);
      }
      if (podId !== '') {
        await cri.stopPodSandbox(podId).catch(() => undefined);
        await cri.removePodSandbox(podId).catch(() => undefined);
      }
      await saker?.stop();
      cri?.close();
      await containerd?.stop();
      if (pod?.linux?.cgroupParent) removeCgroup(pod.linux.cgroupParent);
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it(
      'joins pod, namespace, image, name and privileged into the sensor events; Falco rules fire on them',
      { skip: SKIP },
      async () => {
        mkdirSync(join(dir, 'logs'), { recursive: true });
        pod = kubeletPodConfig({
          name: POD,
          namespace: NAMESPACE,
          labels: { app: 'checkout' },
          logDirectory: join(dir, 'logs'),
          privileged: true,
        });
        podId = await cri.runPodSandbox(pod);
        // After a second (its record is surely in KV by then): a process named
        // debugfs (busybox through a symlink), then a second shell.
        const command = (name: string): string[] => [
          '/bin/sh',
          '-c',
          `sleep 1; ln -s /bin/busybox /tmp/debugfs; /tmp/debugfs ${name}; exec /bin/sh -c "echo saker-e2e-join ${name}; sleep 60"`,
        ];
        ids.shell = await cri.createContainer(
          podId,
          kubeletContainerConfig(pod, {
            name: 'shell',
            image: IMAGE,
            command: command('shell'),
            privileged: true,
            tty: true,
            stdin: true,
          }),
          pod,
        );
        ids.plain = await cri.createContainer(
          podId,
          kubeletContainerConfig(pod, { name: 'plain', image: IMAGE, command: command('plain') }),
          pod,
        );
        await cri.startContainer(ids.shell);
        await cri.startContainer(ids.plain);

        const joined = (name: string) =>
          saker.waitAlert(
            `E2E joined container process for ${name}`,
            (a) =>
              a.rule === 'E2E joined container process' &&
              String(a.output_fields['proc.cmdline']).includes(`saker-e2e-join ${name}`),
            20_000,
          );
        const shell = await joined('shell');
        assert.equal(shell.output_fields['k8s.pod.name'], POD);
        assert.equal(shell.output_fields['k8s.ns.name'], NAMESPACE);
        assert.equal(shell.output_fields['container.image.repository'], 'registry.saker.test/e2e/toolbox');
        assert.equal(shell.output_fields['container.name'], 'shell');
        assert.equal(String(shell.output_fields['container.privileged']), 'true');
        assert.match(
          shell.output,
          new RegExp(
            `joined pod=${POD} ns=${NAMESPACE} image=registry.saker.test/e2e/toolbox name=shell privileged=true`,
          ),
        );

        const plain = await joined('plain');
        assert.equal(plain.output_fields['k8s.pod.name'], POD);
        assert.equal(plain.output_fields['container.name'], 'plain');
        assert.equal(String(plain.output_fields['container.privileged']), 'false');

        // Falco's stable rule on a joined field: debugfs in the privileged container only.
        await saker.waitAlert(
          'Debugfs Launched in Privileged Container',
          (a) =>
            a.rule === 'Debugfs Launched in Privileged Container' &&
            a.output_fields['proc.cmdline'] === 'debugfs shell',
          20_000,
        );
        assert.equal(
          saker.alerts.some(
            (a) =>
              a.rule === 'Debugfs Launched in Privileged Container' &&
              a.output_fields['proc.cmdline'] === 'debugfs plain',
          ),
          false,
          'container.privileged is false for the plain container',
        );

        // Falco's stable rule, on the tty shell (the container's entrypoint, a terminal attached).
        const terminal = await saker.waitAlert(
          'Terminal shell in container',
          (a) =>
            a.rule === 'Terminal shell in container' &&
            String(a.output_fields['proc.cmdline']).includes('saker-e2e-join shell'),
          20_000,
        );
        assert.notEqual(String(terminal.output_fields['proc.tty']), '0');
        assert.equal(
          saker.alerts.some(
            (a) =>
              a.rule === 'Terminal shell in container' &&
              String(a.output_fields['proc.cmdline']).includes('saker-e2e-join plain'),
          ),
          false,
          'no terminal, no alert',
        );
      },
    );

    it(
      '"Terminal shell in container" prints the image and the pod (append_output\'s suggested_output, Falco\'s default)',
      { skip: SKIP },
      async () => {
        const terminal = await saker.waitAlert(
          'Terminal shell in container',
          (a) =>
            a.rule === 'Terminal shell in container' &&
            String(a.output_fields['proc.cmdline']).includes('saker-e2e-join shell'),
          5_000,
        );
        // The rule's own output has no container field: Falco appends the container plugin's suggested fields.
        assert.match(
          terminal.output,
          new RegExp(
            ` container_id=${ids.shell.slice(0, 12)} container_name=shell` +
              ' container_image_repository=registry\\.saker\\.test/e2e/toolbox container_image_tag=3\\.1' +
              ` k8s_pod_name=${POD} k8s_ns_name=${NAMESPACE}$`,
          ),
        );
        assert.equal(terminal.output_fields['container.image.repository'], 'registry.saker.test/e2e/toolbox');
        assert.equal(terminal.output_fields['container.image.tag'], '3.1');
        assert.equal(terminal.output_fields['container.name'], 'shell');
        assert.equal(terminal.output_fields['k8s.pod.name'], POD);
        assert.equal(terminal.output_fields['k8s.ns.name'], NAMESPACE);
      },
    );
  },
);
