/**
 * A clean Debian root for the install tests, made once per machine with
 * debootstrap and kept outside the repository in a versioned folder
 * (`${SAKER_TOOLS:-/var/cache/saker-tools}/debootstrap-<suite>-<hash>`, the
 * hash covering everything that shapes the root). It holds no Node.js, npm or
 * compiler: minbase plus systemd, so systemd-nspawn can boot it.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const DEBIAN_SUITE = 'bookworm';
const DEBIAN_MIRROR = 'http://deb.debian.org/debian';
/** systemd and systemd-sysv so the root can boot under systemd-nspawn; nothing that runs JavaScript or compiles. */
const DEBIAN_ROOT_PACKAGES: readonly string[] = ['systemd', 'systemd-sysv'];

function toolsDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.SAKER_TOOLS ?? '/var/cache/saker-tools';
}

/** The cached root's folder for the current settings. */
function debianRootDir(env: NodeJS.ProcessEnv = process.env): string {
  const hash = createHash('sha256')
    .update(JSON.stringify([DEBIAN_SUITE, DEBIAN_MIRROR, 'minbase', DEBIAN_ROOT_PACKAGES]))
    .digest('hex')
    .slice(0, 12);
  return join(toolsDir(env), `debootstrap-${DEBIAN_SUITE}-${hash}`);
}

/**
 * Returns the cached root, making it first if this machine has none (a few
 * minutes; as root). Made under a temporary name and renamed, so a crash
 * never leaves a half-made root behind the final name; a lock file keeps two
 * callers from making it at once.
 */
export function ensureDebianRoot(env: NodeJS.ProcessEnv = process.env): string {
  const dir = debianRootDir(env);
  if (existsSync(join(dir, 'etc/debian_version'))) return dir;
  mkdirSync(toolsDir(env), { recursive: true });
  const tmp = `${dir}.tmp`;
  // flock serialises makers across processes; the second one finds the root made.
  execFileSync(
    'flock',
    [
      `${dir}.lock`,
      'sh',
      '-c',
      'test -e "$1/etc/debian_version" && exit 0; rm -rf "$2" && debootstrap --variant=minbase --include="$3" "$4" "$2" "$5" >"$2.log" 2>&1 || { echo "debootstrap failed, see $2.log" >&2; exit 1; }; mv "$2" "$1" && rm -f "$2.log"',
      'sh',
      dir,
      tmp,
      DEBIAN_ROOT_PACKAGES.join(','),
      DEBIAN_SUITE,
      DEBIAN_MIRROR,
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  if (!existsSync(join(dir, 'etc/debian_version'))) throw new Error(`debootstrap: ${dir} was not made`);
  return dir;
}
