/**
 * The host packages: a Debian package built with dpkg-deb, and a tarball of
 * the same files. Both lay the artefact tree out as:
 *
 *   /usr/lib/saker/                     the tree, with node/bin/node
 *   /usr/bin/saker                      → ../lib/saker/bin/saker
 *   /usr/share/saker/rules/             the default rules (/usr/lib/saker/rules links here)
 *   /etc/saker/saker.yaml               commented defaults          (conffile)
 *   /etc/saker/rules.d/                 local rules
 *   /etc/default/saker                  SAKER_CONFIG, SAKER_OPTS    (conffile)
 *   /lib/systemd/system/saker.service   the unit (packaging/files/saker.service)
 *   /usr/share/doc/saker/               packaging.md, config.md, copyright
 *
 * dpkg keeps an edited conffile on upgrade; the maintainer scripts reload
 * systemd and restart a running saker on upgrade, and do not enable the
 * service on install (`systemctl enable --now saker`).
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { addNodeRuntime, checkVersion } from './tree.js';

const CONFFILES: readonly string[] = ['/etc/saker/saker.yaml', '/etc/default/saker'];
const UNIT_PATH = 'lib/systemd/system/saker.service';

export interface HostPackageOptions {
  readonly repo: string;
  /** The artefact tree (tree.ts), without a node runtime. */
  readonly tree: string;
  readonly version: string;
  /** Folder for the .deb and the tarball. */
  readonly out: string;
  /** The Node runtime to ship. Default /usr/bin/node. */
  readonly node?: string;
  /** dpkg-deb's compressor. Default xz (smallest); the tests use none (fastest). */
  readonly compression?: 'xz' | 'gzip' | 'none';
  /** Also write the tarball. Default true. */
  readonly tarball?: boolean;
}

export interface HostPackages {
  readonly deb: string;
  readonly debBytes: number;
  /** Absent when not asked for. */
  readonly tarball?: { readonly file: string; readonly bytes: number };
  /** The staged root, as installed. */
  readonly root: string;
}

/** dpkg's name for this machine's architecture. */
function debArch(): string {
  return execFileSync('dpkg', ['--print-architecture'], { encoding: 'utf8' }).trim();
}

const POSTINST = `#!/bin/sh
set -e
if [ "$1" = configure ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || true
  # An upgrade restarts a running saker on the new version; an install does not start it.
  if [ -n "$2" ]; then systemctl try-restart saker.service >/dev/null 2>&1 || true; fi
fi
`;
const PRERM = `#!/bin/sh
set -e
if [ "$1" = remove ] && [ -d /run/systemd/system ]; then
  systemctl stop saker.service >/dev/null 2>&1 || true
fi
`;
const POSTRM = `#!/bin/sh
set -e
if [ -d /run/systemd/system ]; then systemctl daemon-reload >/dev/null 2>&1 || true; fi
if [ "$1" = purge ]; then rm -rf /var/lib/saker /var/log/saker; fi
`;
const COPYRIGHT = `Saker: runtime security with Falco-compatible rules.
License: Apache-2.0 (/usr/share/common-licenses/Apache-2.0).
The bundle /usr/lib/saker/lib/saker.mjs carries its npm dependencies' license
notices at its end; /usr/lib/saker/node/bin/node is Node.js (MIT and others,
see https://github.com/nodejs/node/blob/main/LICENSE).
`;

/** Stages the installed files (no DEBIAN/) under root. */
function stageHostRoot(o: HostPackageOptions, root: string): void {
  rmSync(root, { recursive: true, force: true });
  const lib = join(root, 'usr/lib/saker');
  mkdirSync(join(root, 'usr/lib'), { recursive: true });
  cpSync(o.tree, lib, { recursive: true, verbatimSymlinks: true });
  addNodeRuntime(lib, o.node);
  mkdirSync(join(root, 'usr/share/saker'), { recursive: true });
  renameSync(join(lib, 'rules'), join(root, 'usr/share/saker/rules'));
  symlinkSync('../../share/saker/rules', join(lib, 'rules'));
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  symlinkSync('../lib/saker/bin/saker', join(root, 'usr/bin/saker'));

  const files = join(o.repo, 'packaging/files');
  mkdirSync(join(root, 'etc/saker/rules.d'), { recursive: true });
  mkdirSync(join(root, 'etc/default'), { recursive: true });
  copyFileSync(join(files, 'saker.yaml'), join(root, 'etc/saker/saker.yaml'));
  copyFileSync(join(files, 'default'), join(root, 'etc/default/saker'));
  mkdirSync(join(root, 'lib/systemd/system'), { recursive: true });
  copyFileSync(join(files, 'saker.service'), join(root, UNIT_PATH));
  const doc = join(root, 'usr/share/doc/saker');
  mkdirSync(doc, { recursive: true });
  for (const f of ['packaging.md', 'config.md']) copyFileSync(join(o.repo, 'docs', f), join(doc, f));
  writeFileSync(join(doc, 'copyright'), COPYRIGHT);
}

function installedSizeKiB(root: string): number {
  const out = execFileSync('du', ['-sk', '--exclude=DEBIAN', root], { encoding: 'utf8' });
  return Number.parseInt(out, 10);
}

export function buildHostPackages(o: HostPackageOptions): HostPackages {
  checkVersion(o.version);
  const arch = debArch();
  mkdirSync(o.out, { recursive: true });
  const root = join(o.out, `saker_${o.version}_${arch}`);
  stageHostRoot(o, root);

  const debian = join(root, 'DEBIAN');
  mkdirSync(debian);
  writeFileSync(
    join(debian, 'control'),
    [
      'Package: saker',
      `Version: ${o.version}`,
      `Architecture: ${arch}`,
      'Maintainer: Saker maintainers <maintainers@saker.invalid>',
      `Installed-Size: ${installedSizeKiB(root)}`,
      // node links the C++ runtime; the loader is static.
      'Depends: libc6 (>= 2.28), libstdc++6, libgcc-s1',
      'Section: admin',
      'Priority: optional',
      'Homepage: https://github.com/saker/saker',
      'Description: runtime security with Falco-compatible rules',
      ' Saker evaluates Falco rules against system calls seen by its eBPF sensor',
      ' and against the Kubernetes audit log, and prints Falco alerts. One saker',
      ' executable with its own Node.js runtime; the saker.service unit runs it.',
      '',
    ].join('\n'),
  );
  writeFileSync(join(debian, 'conffiles'), `${CONFFILES.join('\n')}\n`);
  for (const [name, text] of [
    ['postinst', POSTINST],
    ['prerm', PRERM],
    ['postrm', POSTRM],
  ] as const) {
    writeFileSync(join(debian, name), text);
    chmodSync(join(debian, name), 0o755);
  }
  const deb = join(o.out, `saker_${o.version}_${arch}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${o.compression ?? 'xz'}`, '--build', root, deb], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });

  if (o.tarball === false) return { deb, debBytes: statSync(deb).size, root };
  // The tarball: the same files in one folder; `tar -xzf … -C / --strip-components=1` installs them.
  rmSync(debian, { recursive: true });
  const name = `saker-${o.version}-linux-${arch}`;
  const tarball = join(o.out, `${name}.tar.gz`);
  execFileSync('tar', [
    '--create',
    '--gzip',
    '--file',
    tarball,
    '--directory',
    root,
    '--sort=name',
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    `--transform=s,^\\.,${name},`,
    '.',
  ]);
  return {
    deb,
    debBytes: statSync(deb).size,
    tarball: { file: tarball, bytes: statSync(tarball).size },
    root,
  };
}
