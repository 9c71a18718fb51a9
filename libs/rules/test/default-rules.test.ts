import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { SyscallEvent } from '@saker/events';
import { repoRoot, sharedPath, sharedSkip } from '@saker/testing';
import { loadRules } from '../src/loader/load.js';
import { FALCO_DEFAULT_APPEND_OUTPUT } from '../src/output/append.js';
import {
  READ,
  READ_WRITE,
  WRITE,
  chmodded,
  chowned,
  created,
  executed,
  failed,
  inContainer,
  linked,
  onHost,
  openFailed,
  opened,
  renamed,
  symlinked,
  unlinked,
} from './fixtures/default-rules-events.js';
import {
  type RuleCase,
  checkCases,
  diagnosticsOf,
  loadRepoRules,
  ruleNamesIn,
  topLevelNames,
  yamlBlocks,
} from './fixtures/default-rules-harness.js';

const { path: RULES_PATH, content, loaded } = loadRepoRules('saker_rules.yaml');

const BIN_WRITE = 'File written below a binary directory';
const BIN_ENTRY = 'Binary directory entry renamed, linked or removed';
const ETC_WRITE = 'File written below /etc';
const ETC_ENTRY = 'Entry below /etc renamed, linked or removed';
const ROOT_DIR = 'File written at the filesystem root';
const ROOT_HOME = 'File written below /root';
const SETUID = 'Setuid or setgid bit applied';
const CHMOD = 'Permissions changed on a protected path';
const CHOWN = 'Ownership changed on a protected path';
const SHELL = 'Interactive shell in a container';
const ALLOWLIST = 'Unexpected process in an allowlisted image';
const PRIVILEGED = 'Container started with privileged mode';
const PASSWORDS = 'Password or sudo configuration read by an untrusted program';
const SSH_KEYS = 'SSH private key read by an untrusted program';
const KUBE_CREDS = 'Kubernetes credentials read by an untrusted program';

const TTY = 34816; // /dev/pts/0
const nginx = 'docker.io/library/nginx';
const redis = 'redis';

const CASES: readonly RuleCase<SyscallEvent>[] = [
  // Binary directories: opens for write.
  {
    rule: BIN_WRITE,
    alert: true,
    what: 'curl overwriting /usr/bin/kubectl',
    event: opened(onHost('curl'), '/usr/bin/kubectl', WRITE),
    output: ['/usr/bin/kubectl', 'curl'],
  },
  {
    rule: BIN_WRITE,
    alert: true,
    what: 'creat of /usr/local/bin/xmrig in a container',
    event: created(inContainer('python', 'sh'), '/usr/local/bin/xmrig'),
  },
  {
    rule: BIN_WRITE,
    alert: true,
    what: 'open(O_RDWR) of /bin/ls',
    event: opened(onHost('python3'), '/bin/ls', READ_WRITE, 'open'),
  },
  {
    rule: BIN_WRITE,
    alert: true,
    what: 'openat2 write of /usr/sbin/sshd',
    event: opened(onHost('cp'), '/usr/sbin/sshd', WRITE, 'openat2'),
  },
  {
    rule: BIN_WRITE,
    alert: false,
    what: 'dpkg unpacking /usr/bin/jq',
    event: opened(onHost('dpkg', { parents: ['apt-get', 'bash'] }), '/usr/bin/jq', WRITE),
  },
  {
    rule: BIN_WRITE,
    alert: false,
    what: 'a maintainer script under apt writing /usr/sbin/policy-rc.d',
    event: opened(onHost('sh', { parents: ['dpkg', 'apt'] }), '/usr/sbin/policy-rc.d', WRITE),
  },
  {
    rule: BIN_WRITE,
    alert: false,
    what: 'reading /usr/bin/ls',
    event: opened(onHost('sha256sum'), '/usr/bin/ls', READ),
  },
  {
    rule: BIN_WRITE,
    alert: false,
    what: 'writing /usr/binaries/x (a prefix, not a path below /usr/bin)',
    event: opened(onHost('curl'), '/usr/binaries/x', WRITE),
  },
  {
    rule: BIN_WRITE,
    alert: false,
    what: 'a write open that failed with EACCES',
    event: openFailed(onHost('curl', { uid: 1000 }), '/usr/bin/kubectl', WRITE, 13),
  },

  // Binary directories: rename, link, unlink.
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'mv /tmp/sudo /usr/bin/sudo (rename)',
    event: renamed(onHost('mv'), '/tmp/sudo', '/usr/bin/sudo'),
    output: ['rename'],
  },
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'renameat2 into /usr/local/bin',
    event: renamed(inContainer('python', 'python3'), '/tmp/.x', '/usr/local/bin/pip', 'renameat2'),
  },
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'renameat moving /usr/bin/ps out of the way',
    event: renamed(onHost('mv'), '/usr/bin/ps', '/tmp/ps.orig', 'renameat'),
  },
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'hard link into /usr/local/bin',
    event: linked(onHost('ln'), '/tmp/payload', '/usr/local/bin/helper'),
  },
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'linkat into /sbin',
    event: linked(onHost('ln'), '/tmp/payload', '/sbin/modprobe', 'linkat'),
  },
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'symlink /usr/bin/sudo -> /tmp/evil',
    event: symlinked(onHost('ln'), '/tmp/evil', '/usr/bin/sudo'),
  },
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'unlink /usr/bin/ps',
    event: unlinked(onHost('rm'), '/usr/bin/ps'),
  },
  {
    rule: BIN_ENTRY,
    alert: true,
    what: 'unlinkat /sbin/auditctl',
    event: unlinked(onHost('rm'), '/sbin/auditctl', 'unlinkat'),
  },
  {
    rule: BIN_ENTRY,
    alert: false,
    what: 'rename within /tmp',
    event: renamed(onHost('mv'), '/tmp/a', '/tmp/b'),
  },
  {
    rule: BIN_ENTRY,
    alert: false,
    what: 'unlink in /tmp',
    event: unlinked(onHost('rm'), '/tmp/usr/bin/x'),
  },
  {
    rule: BIN_ENTRY,
    alert: false,
    what: 'dpkg renaming its unpacked /usr/bin/jq.dpkg-new into place',
    event: renamed(onHost('dpkg', { parents: ['apt'] }), '/usr/bin/jq.dpkg-new', '/usr/bin/jq'),
  },

  // /etc
  {
    rule: ETC_WRITE,
    alert: true,
    what: 'bash appending to /etc/passwd',
    event: opened(onHost('bash'), '/etc/passwd', 'O_WRONLY|O_APPEND|O_CREAT'),
    output: ['/etc/passwd'],
  },
  {
    rule: ETC_WRITE,
    alert: true,
    what: 'creat of /etc/cron.d/update',
    event: created(onHost('python3'), '/etc/cron.d/update'),
  },
  {
    rule: ETC_WRITE,
    alert: true,
    what: 'a shell in a container writing /etc/ld.so.preload',
    event: opened(inContainer('node', 'sh'), '/etc/ld.so.preload', WRITE),
  },
  {
    rule: ETC_WRITE,
    alert: true,
    what: 'sed -i on nginx config by a process nginx spawned (after startup)',
    event: opened(
      inContainer(nginx, 'sed', { parents: ['sh', 'nginx', 'nginx'] }),
      '/etc/nginx/conf.d/sedAb12Cd',
      WRITE,
    ),
  },
  {
    rule: ETC_WRITE,
    alert: false,
    what: "the nginx image's entrypoint helper editing /etc/nginx/conf.d at start",
    event: opened(
      inContainer(nginx, 'sed', { parents: ['10-listen-on-ip', 'docker-entrypoi'] }),
      '/etc/nginx/conf.d/sedAb12Cd',
      WRITE,
    ),
  },
  {
    rule: ETC_WRITE,
    alert: false,
    what: 'useradd writing /etc/passwd',
    event: opened(onHost('useradd'), '/etc/passwd', WRITE),
  },
  {
    rule: ETC_WRITE,
    alert: false,
    what: 'ldconfig writing /etc/ld.so.cache',
    event: opened(onHost('ldconfig', { exepath: '/usr/sbin/ldconfig' }), '/etc/ld.so.cache', WRITE),
  },
  {
    rule: ETC_WRITE,
    alert: false,
    what: 'dpkg writing /etc/default/foo',
    event: opened(onHost('dpkg'), '/etc/default/foo', WRITE),
  },
  {
    rule: ETC_WRITE,
    alert: false,
    what: 'cat reading /etc/passwd',
    event: opened(onHost('cat'), '/etc/passwd', READ),
  },
  {
    rule: ETC_WRITE,
    alert: false,
    what: 'writing /etcetera/x (a prefix, not below /etc)',
    event: opened(onHost('bash'), '/etcetera/x', WRITE),
  },
  {
    rule: ETC_ENTRY,
    alert: true,
    what: 'rename of a temp file over /etc/sudoers',
    event: renamed(onHost('sed'), '/etc/sedX1b2c3', '/etc/sudoers', 'renameat2'),
  },
  {
    rule: ETC_ENTRY,
    alert: true,
    what: 'unlink of /etc/ld.so.preload',
    event: unlinked(onHost('rm'), '/etc/ld.so.preload', 'unlinkat'),
  },
  {
    rule: ETC_ENTRY,
    alert: true,
    what: 'symlink dropped into /etc/cron.d',
    event: symlinked(onHost('ln'), '/tmp/job', '/etc/cron.d/job', 'symlinkat'),
  },
  {
    rule: ETC_ENTRY,
    alert: true,
    what: 'hard link of /tmp/x to /etc/profile.d/x.sh',
    event: linked(onHost('ln'), '/tmp/x', '/etc/profile.d/x.sh', 'linkat'),
  },
  {
    rule: ETC_ENTRY,
    alert: true,
    what: 'unlink of /etc/hosts.deny',
    event: unlinked(onHost('rm'), '/etc/hosts.deny'),
  },
  {
    rule: ETC_ENTRY,
    alert: false,
    what: "the nginx image's entrypoint helper renaming its sed output over default.conf",
    event: renamed(
      inContainer(nginx, 'sed', { parents: ['10-listen-on-ip', 'docker-entrypoi'] }),
      '/etc/nginx/conf.d/sedAb12Cd',
      '/etc/nginx/conf.d/default.conf',
    ),
  },
  {
    rule: ETC_ENTRY,
    alert: true,
    what: 'a process named docker-entrypoi on the host (the exemption is for containers only)',
    event: renamed(onHost('docker-entrypoi'), '/tmp/x', '/etc/sudoers.d/x'),
  },
  {
    rule: ETC_ENTRY,
    alert: false,
    what: 'useradd renaming /etc/passwd+ into place',
    event: renamed(onHost('useradd'), '/etc/passwd+', '/etc/passwd'),
  },
  {
    rule: ETC_ENTRY,
    alert: false,
    what: 'rename within /var/tmp',
    event: renamed(onHost('mv'), '/var/tmp/a', '/var/tmp/etc/b'),
  },

  // / and /root
  {
    rule: ROOT_DIR,
    alert: true,
    what: 'a shell creating /.x',
    event: opened(inContainer('python', 'sh'), '/.x', WRITE),
    output: ['/.x'],
  },
  {
    rule: ROOT_DIR,
    alert: true,
    what: 'creat of /backdoor',
    event: created(onHost('python3'), '/backdoor'),
  },
  {
    rule: ROOT_DIR,
    alert: false,
    what: 'writing /tmp/x',
    event: opened(onHost('python3'), '/tmp/x', WRITE),
  },
  {
    rule: ROOT_DIR,
    alert: false,
    what: 'reading /.dockerenv',
    event: opened(inContainer('python', 'python3'), '/.dockerenv', READ),
  },
  {
    rule: ROOT_HOME,
    alert: true,
    what: 'appending to /root/.ssh/authorized_keys',
    event: opened(onHost('bash'), '/root/.ssh/authorized_keys', 'O_WRONLY|O_APPEND|O_CREAT'),
    output: ['/root/.ssh/authorized_keys'],
  },
  {
    rule: ROOT_HOME,
    alert: true,
    what: 'writing /root/.bashrc',
    event: opened(inContainer('python', 'python3'), '/root/.bashrc', WRITE),
  },
  {
    rule: ROOT_HOME,
    alert: false,
    what: 'bash saving /root/.bash_history',
    event: opened(onHost('bash'), '/root/.bash_history', WRITE),
  },
  {
    rule: ROOT_HOME,
    alert: false,
    what: 'pip writing its cache below /root/.cache',
    event: opened(inContainer('python', 'pip'), '/root/.cache/pip/http/a/b', WRITE),
  },
  {
    rule: ROOT_HOME,
    alert: false,
    what: 'reading /root/.bashrc',
    event: opened(onHost('bash'), '/root/.bashrc', READ),
  },

  // Permissions and ownership.
  {
    rule: SETUID,
    alert: true,
    what: 'chmod u+s of a copied shell',
    event: chmodded(onHost('chmod'), '/tmp/.sh', 0o4755),
    output: ['S_ISUID', '/tmp/.sh'],
  },
  {
    rule: SETUID,
    alert: true,
    what: 'fchmodat g+s in a container',
    event: chmodded(inContainer('python', 'chmod'), '/app/run', 0o2755, 'fchmodat'),
  },
  {
    rule: SETUID,
    alert: true,
    what: 'fchmod setting the setuid bit',
    event: chmodded(onHost('python3'), '/var/tmp/x', 0o4711, 'fchmod'),
  },
  {
    rule: SETUID,
    alert: false,
    what: 'a chmod u+s that failed with EPERM',
    event: failed(chmodded(onHost('chmod', { uid: 1000 }), '/usr/bin/find', 0o4755), 1),
  },
  {
    rule: SETUID,
    alert: false,
    what: 'chmod 0755 (no setuid or setgid bit)',
    event: chmodded(onHost('chmod'), '/tmp/tool', 0o755),
  },
  {
    rule: SETUID,
    alert: false,
    what: 'chmod 01777 (sticky bit only)',
    event: chmodded(onHost('chmod'), '/tmp/shared', 0o1777),
  },
  {
    rule: SETUID,
    alert: false,
    what: 'dpkg setting setuid on /usr/bin/passwd',
    event: chmodded(onHost('dpkg'), '/usr/bin/passwd', 0o4755),
  },
  {
    rule: CHMOD,
    alert: true,
    what: 'chmod 0666 /etc/shadow',
    event: chmodded(onHost('chmod'), '/etc/shadow', 0o666),
    output: ['/etc/shadow'],
  },
  {
    rule: CHMOD,
    alert: true,
    what: 'fchmod 0777 on /usr/bin/sudo',
    event: chmodded(onHost('python3'), '/usr/bin/sudo', 0o777, 'fchmod'),
    output: ['/usr/bin/sudo'],
  },
  {
    rule: CHMOD,
    alert: true,
    what: 'fchmodat on /root/.ssh',
    event: chmodded(inContainer('python', 'chmod'), '/root/.ssh', 0o777, 'fchmodat'),
  },
  {
    rule: CHMOD,
    alert: false,
    what: 'a chmod of /etc/shadow that failed with EPERM',
    event: failed(chmodded(onHost('chmod', { uid: 1000 }), '/etc/shadow', 0o666), 1),
  },
  {
    rule: CHMOD,
    alert: false,
    what: 'chmod of a file in /tmp',
    event: chmodded(onHost('chmod'), '/tmp/x', 0o644),
  },
  {
    rule: CHMOD,
    alert: false,
    what: 'chmod of /etcd-data/x (a prefix, not below /etc)',
    event: chmodded(onHost('chmod'), '/etcd-data/x', 0o600),
  },
  {
    rule: CHMOD,
    alert: false,
    what: 'a package install fixing modes in /usr/lib',
    event: chmodded(onHost('chmod', { parents: ['sh', 'dpkg'] }), '/usr/lib/x/y.so', 0o644),
  },
  {
    rule: CHOWN,
    alert: true,
    what: 'chown of /etc/sudoers to uid 1000',
    event: chowned(onHost('chown'), '/etc/sudoers', 1000, 1000),
    output: ['/etc/sudoers'],
  },
  {
    rule: CHOWN,
    alert: true,
    what: 'lchown of /usr/bin/x',
    event: chowned(onHost('chown'), '/usr/bin/x', 1000, 1000, 'lchown'),
  },
  {
    rule: CHOWN,
    alert: true,
    what: 'fchownat of /root/.ssh/authorized_keys',
    event: chowned(inContainer('python', 'chown'), '/root/.ssh/authorized_keys', 1000, 1000, 'fchownat'),
  },
  {
    rule: CHOWN,
    alert: true,
    what: 'fchown of /etc/cron.d/job',
    event: chowned(onHost('python3'), '/etc/cron.d/job', 1000, 0, 'fchown'),
    output: ['/etc/cron.d/job'],
  },
  {
    rule: CHOWN,
    alert: false,
    what: 'an fchown of /etc/sudoers that failed with EPERM',
    event: failed(chowned(onHost('python3', { uid: 1000 }), '/etc/sudoers', 1000, 1000, 'fchown'), 1),
  },
  {
    rule: CHOWN,
    alert: false,
    what: 'a postgres entrypoint chowning /etc/postgresql at container start',
    event: chowned(
      inContainer('postgres', 'chown', { parents: ['docker-entrypoi'] }),
      '/etc/postgresql',
      999,
      999,
    ),
  },
  {
    rule: CHOWN,
    alert: false,
    what: 'chown of a file in /home',
    event: chowned(onHost('chown'), '/home/alice/file', 1000, 1000),
  },
  {
    rule: CHOWN,
    alert: false,
    what: 'dpkg chowning /etc/x',
    event: chowned(onHost('dpkg'), '/etc/x', 0, 0),
  },

  // Shells with a terminal in containers.
  {
    rule: SHELL,
    alert: true,
    what: 'bash with a terminal in an nginx container',
    event: executed(inContainer(nginx, 'bash', { tty: TTY, exepath: '/bin/bash', parents: ['runc'] })),
    output: ['bash', 'a1b2c3d4e5f6'],
  },
  {
    rule: SHELL,
    alert: true,
    what: 'sh via execveat with a terminal in a python container',
    event: executed(inContainer('python', 'sh', { tty: TTY, exepath: '/bin/sh' }), 'execveat'),
  },
  {
    rule: SHELL,
    alert: false,
    what: 'sh without a terminal in a container (a script)',
    event: executed(inContainer('python', 'sh', { tty: 0, exepath: '/bin/sh' })),
  },
  {
    rule: SHELL,
    alert: false,
    what: 'bash with a terminal on the host',
    event: executed(onHost('bash', { tty: TTY, exepath: '/bin/bash' })),
  },
  {
    rule: SHELL,
    alert: false,
    what: 'python with a terminal in a container (not a shell)',
    event: executed(inContainer('python', 'python3', { tty: TTY })),
  },

  // Per-image allowlists.
  {
    rule: ALLOWLIST,
    alert: true,
    what: 'sh in an nginx container',
    event: executed(inContainer(nginx, 'sh', { exepath: '/bin/sh', parents: ['nginx', 'nginx'] })),
    output: ['sh', nginx],
  },
  {
    rule: ALLOWLIST,
    alert: true,
    what: 'curl spawned by an nginx worker (short repository name)',
    event: executed(inContainer('nginx', 'curl', { parents: ['nginx', 'nginx'] })),
  },
  {
    rule: ALLOWLIST,
    alert: true,
    what: 'sh in a redis container',
    event: executed(inContainer(redis, 'sh', { exepath: '/bin/sh', parents: ['redis-server'] })),
  },
  {
    rule: ALLOWLIST,
    alert: false,
    what: 'nginx in an nginx container',
    event: executed(inContainer(nginx, 'nginx', { exepath: '/usr/sbin/nginx', vpid: 1 })),
  },
  {
    rule: ALLOWLIST,
    alert: false,
    what: 'find run by the nginx image entrypoint',
    event: executed(inContainer(nginx, 'find', { parents: ['docker-entrypoi'] })),
  },
  {
    rule: ALLOWLIST,
    alert: false,
    what: 'redis-cli (exec probe) in a redis container',
    event: executed(inContainer(redis, 'redis-cli', { args: ['ping'] })),
  },
  {
    rule: ALLOWLIST,
    alert: false,
    what: 'sh in an image without an allowlist',
    event: executed(inContainer('python', 'sh', { exepath: '/bin/sh' })),
  },
  {
    rule: ALLOWLIST,
    alert: false,
    what: 'sh on the host',
    event: executed(onHost('sh', { exepath: '/bin/sh' })),
  },
  {
    rule: ALLOWLIST,
    alert: false,
    what: 'an nginx-image process opening a file (not a process start)',
    event: opened(inContainer(nginx, 'sh'), '/tmp/x', READ),
  },

  // Privileged containers.
  {
    rule: PRIVILEGED,
    alert: true,
    what: 'the first process of a privileged container',
    event: executed(inContainer('alpine', 'sleep', { vpid: 1, privileged: true, args: ['infinity'] })),
    output: ['alpine'],
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'a later process in a privileged container',
    event: executed(inContainer('alpine', 'ls', { vpid: 12, privileged: true })),
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'the first process of an unprivileged container',
    event: executed(inContainer('alpine', 'sleep', { vpid: 1, privileged: false })),
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'a privileged container of a known node agent',
    event: executed(inContainer('quay.io/cilium/cilium', 'cilium-agent', { vpid: 1, privileged: true })),
  },
  {
    rule: PRIVILEGED,
    alert: false,
    what: 'pid 1 on the host',
    event: executed(onHost('systemd', { vpid: 1, parents: [] })),
  },

  // Sensitive files.
  {
    rule: PASSWORDS,
    alert: true,
    what: 'cat /etc/shadow',
    event: opened(onHost('cat', { args: ['/etc/shadow'] }), '/etc/shadow', READ),
    output: ['/etc/shadow', 'cat /etc/shadow'],
  },
  {
    rule: PASSWORDS,
    alert: true,
    what: 'python reading a sudoers.d drop-in in a container',
    event: opened(inContainer('python', 'python3'), '/etc/sudoers.d/90-cloud-init-users', READ),
  },
  {
    rule: PASSWORDS,
    alert: true,
    what: 'node reading /etc/pam.d/common-auth',
    event: opened(onHost('node'), '/etc/pam.d/common-auth', READ, 'open'),
  },
  {
    rule: PASSWORDS,
    alert: true,
    what: 'open(O_RDWR) of /etc/gshadow',
    event: opened(onHost('vim'), '/etc/gshadow', READ_WRITE),
  },
  {
    rule: PASSWORDS,
    alert: false,
    what: 'cat /etc/passwd',
    event: opened(onHost('cat'), '/etc/passwd', READ),
  },
  {
    rule: PASSWORDS,
    alert: false,
    what: 'sshd reading /etc/shadow',
    event: opened(onHost('sshd', { exepath: '/usr/sbin/sshd' }), '/etc/shadow', READ),
  },
  {
    rule: PASSWORDS,
    alert: false,
    what: 'sudo reading /etc/sudoers',
    event: opened(onHost('sudo'), '/etc/sudoers', READ),
  },
  {
    rule: PASSWORDS,
    alert: false,
    what: 'an open of /etc/shadow that failed with EACCES',
    event: openFailed(onHost('cat', { uid: 1000 }), '/etc/shadow', READ, 13),
  },
  {
    rule: SSH_KEYS,
    alert: true,
    what: 'cat /root/.ssh/id_rsa',
    event: opened(onHost('cat'), '/root/.ssh/id_rsa', READ),
    output: ['/root/.ssh/id_rsa'],
  },
  {
    rule: SSH_KEYS,
    alert: true,
    what: "python reading a user's id_ed25519",
    event: opened(onHost('python3', { uid: 1000 }), '/home/alice/.ssh/id_ed25519', READ),
  },
  {
    rule: SSH_KEYS,
    alert: true,
    what: 'tar reading an SSH host key',
    event: opened(onHost('tar'), '/etc/ssh/ssh_host_ed25519_key', READ),
  },
  {
    rule: SSH_KEYS,
    alert: true,
    what: 'reading /root/.ssh/authorized_keys in a container',
    event: opened(inContainer('python', 'python3'), '/root/.ssh/authorized_keys', READ),
  },
  {
    rule: SSH_KEYS,
    alert: false,
    what: 'ssh reading /root/.ssh/id_rsa',
    event: opened(onHost('ssh'), '/root/.ssh/id_rsa', READ),
  },
  {
    rule: SSH_KEYS,
    alert: false,
    what: 'cat of a public key',
    event: opened(onHost('cat'), '/home/alice/.ssh/id_rsa.pub', READ),
  },
  {
    rule: SSH_KEYS,
    alert: false,
    what: 'cat of a public host key',
    event: opened(onHost('cat'), '/etc/ssh/ssh_host_ed25519_key.pub', READ),
  },
  {
    rule: SSH_KEYS,
    alert: false,
    what: 'cat /etc/ssh/sshd_config',
    event: opened(onHost('cat'), '/etc/ssh/sshd_config', READ),
  },
  {
    rule: KUBE_CREDS,
    alert: true,
    what: 'cat of the admin kubeconfig from a container',
    event: opened(inContainer('alpine', 'cat'), '/etc/kubernetes/admin.conf', READ),
    output: ['/etc/kubernetes/admin.conf'],
  },
  {
    rule: KUBE_CREDS,
    alert: true,
    what: "openssl reading the kubelet's client key",
    event: opened(onHost('openssl'), '/var/lib/kubelet/pki/kubelet-client-current.pem', READ),
  },
  {
    rule: KUBE_CREDS,
    alert: true,
    what: 'kubectl inside a container reading /root/.kube/config',
    event: opened(inContainer('bitnami/kubectl', 'kubectl'), '/root/.kube/config', READ),
  },
  {
    rule: KUBE_CREDS,
    alert: true,
    what: "python reading a user's kubeconfig",
    event: opened(onHost('python3', { uid: 1000 }), '/home/alice/.kube/config', READ),
  },
  {
    rule: KUBE_CREDS,
    alert: false,
    what: 'kubelet reading its client certificate',
    event: opened(onHost('kubelet', { parents: ['systemd'] }), '/var/lib/kubelet/pki/kubelet.crt', READ),
  },
  {
    rule: KUBE_CREDS,
    alert: false,
    what: 'kubectl on the node reading /root/.kube/config',
    event: opened(onHost('kubectl'), '/root/.kube/config', READ),
  },
  {
    rule: KUBE_CREDS,
    alert: false,
    what: 'cat of a static pod manifest (not a credential)',
    event: opened(onHost('cat'), '/etc/kubernetes/manifests/kube-apiserver.yaml', READ),
  },
];

describe('rules/saker_rules.yaml', () => {
  it('loads with no errors and no warnings', () => {
    assert.equal(loaded.ok, true, diagnosticsOf(loaded.results));
    assert.deepEqual(diagnosticsOf(loaded.results), '');
  });

  it('keeps every list, macro and rule name apart from Falco (saker_ prefix for lists and macros)', () => {
    const names = topLevelNames(content);
    for (const n of [...names.lists, ...names.macros]) assert.match(n, /^saker_/, n);
  });

  // As Saker runs them by default: with Falco's default append_output, which
  // adds the container and pod fields the rules' own outputs leave out.
  checkCases(CASES, ruleNamesIn(content), () => {
    const appended = loaded.ruleset.withAppendedOutput(FALCO_DEFAULT_APPEND_OUTPUT);
    assert.ok(appended.ok);
    return appended.ruleset;
  });
});

describe('rules/saker_rules.yaml beside Falco', () => {
  const falcoPath = sharedPath('falco-rules', 'falco_rules.yaml');

  it('shares no list, macro or rule name with falco_rules.yaml', { skip: sharedSkip() }, () => {
    const falco = topLevelNames(readFileSync(falcoPath ?? '', 'utf8'));
    const ours = topLevelNames(content);
    for (const kind of ['lists', 'macros', 'rules'] as const) {
      const clash = ours[kind].filter((n) => falco[kind].includes(n));
      assert.deepEqual(clash, [], `${kind} defined by both files`);
    }
  });

  it('loads after falco_rules.yaml without errors or warnings of its own', { skip: sharedSkip() }, () => {
    const falcoFile = { name: falcoPath ?? '', content: readFileSync(falcoPath ?? '', 'utf8') };
    const alone = loadRules([falcoFile]);
    const both = loadRules([falcoFile, { name: RULES_PATH, content }]);
    const ours = both.results.find((r) => r.name === RULES_PATH);
    assert.ok(ours, 'a load result for saker_rules.yaml');
    assert.equal(diagnosticsOf([ours]), '');
    const falcoAlone = alone.results.find((r) => r.name === falcoFile.name);
    const falcoBoth = both.results.find((r) => r.name === falcoFile.name);
    assert.deepEqual(
      falcoBoth?.errors.map((d) => d.code),
      falcoAlone?.errors.map((d) => d.code),
      'loading Saker after Falco changes nothing about Falco',
    );
    assert.equal(both.ok, alone.ok);

    // Both rule sets are live in the combined ruleset.
    const e = opened(onHost('cat', { args: ['/etc/shadow'] }), '/etc/shadow', READ);
    const matched = both.ruleset.evaluate(e, { ruleMatching: 'all' }).map((m) => m.rule.name);
    assert.ok(matched.includes(PASSWORDS), `Saker's rule fires (got ${JSON.stringify(matched)})`);
    assert.ok(
      matched.includes('Read sensitive file untrusted'),
      `Falco's rule fires (got ${JSON.stringify(matched)})`,
    );
  });
});

describe('the tuning examples of rules/README.md, on top of saker_rules.yaml', () => {
  const readme = readFileSync(join(repoRoot(), 'rules', 'README.md'), 'utf8');
  const k8sRules = ruleNamesIn(readFileSync(join(repoRoot(), 'rules', 'saker_k8s_audit_rules.yaml'), 'utf8'));
  const isK8s = (b: string) => b.includes('saker_k8s') || k8sRules.some((r) => b.includes(`- rule: ${r}`));
  const blocks = [...yamlBlocks(readme, '## Tuning'), ...yamlBlocks(readme, '### Adding your own image')];
  const local = { name: 'rules.d/local.yaml', content: blocks.filter((b) => !isK8s(b)).join('\n\n') };
  const tuned = loadRules([{ name: RULES_PATH, content }, local]);
  const shopApi = 'registry.example.com/shop/api';

  it('load without errors or warnings', () => {
    assert.ok(local.content.includes('shop_api_images'), 'the README still shows the shop/api example');
    assert.equal(diagnosticsOf(tuned.results), '');
  });

  checkCases(
    [
      {
        rule: ALLOWLIST,
        alert: true,
        what: 'sh in the added shop/api image',
        event: executed(inContainer(shopApi, 'sh', { exepath: '/bin/sh', parents: ['api'] })),
      },
      {
        rule: ALLOWLIST,
        alert: false,
        what: 'the api binary in the shop/api image',
        event: executed(inContainer(shopApi, 'api', { exepath: '/app/api', vpid: 1 })),
      },
      {
        rule: ALLOWLIST,
        alert: false,
        what: 'wget (the shop/api liveness probe)',
        event: executed(inContainer(shopApi, 'wget', { args: ['-qO-', 'http://localhost:8080/healthz'] })),
      },
      {
        rule: ALLOWLIST,
        alert: false,
        what: 'nginx-prometheus, appended to the nginx family',
        event: executed(inContainer(nginx, 'nginx-prometheus')),
      },
      {
        rule: ALLOWLIST,
        alert: true,
        what: 'sh in nginx (the shipped families still apply)',
        event: executed(inContainer(nginx, 'sh', { exepath: '/bin/sh', parents: ['nginx'] })),
      },
      {
        rule: ETC_WRITE,
        alert: false,
        what: 'confd (appended to saker_etc_writers) writing /etc/nginx/nginx.conf',
        event: opened(onHost('confd'), '/etc/nginx/nginx.conf', WRITE),
      },
      {
        rule: ETC_WRITE,
        alert: false,
        what: 'envsubst in nginx writing /etc/nginx/conf.d (the replaced allow macro)',
        event: opened(
          inContainer(nginx, 'envsubst', { parents: ['sh', 'nginx'] }),
          '/etc/nginx/conf.d/default.conf',
          WRITE,
        ),
      },
      {
        rule: ETC_WRITE,
        alert: true,
        what: 'envsubst in nginx writing /etc/passwd (outside the allowed combination)',
        event: opened(inContainer(nginx, 'envsubst', { parents: ['sh', 'nginx'] }), '/etc/passwd', WRITE),
      },
    ],
    [ALLOWLIST, ETC_WRITE],
    () => tuned.ruleset,
  );
});
