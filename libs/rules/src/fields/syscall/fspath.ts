import type { FieldValue } from '../types.js';
import { type Def, type Ev, field } from './helpers.js';

/**
 * Where each path-taking syscall keeps its paths. `name` is the single path a
 * call works on; `source`/`target` are the two ends of a call that joins or
 * moves paths. For link() the new name is the source and the existing file the
 * target (the link points at the target), as Falco defines it.
 */
interface PathArgs {
  readonly name?: string;
  readonly source?: string;
  readonly target?: string;
  /** The path is the fd's own (fchmod, fchown) rather than an argument. */
  readonly fromFd?: boolean;
  /** The call succeeded when it returned a descriptor (open*), not when it returned 0. */
  readonly returnsFd?: boolean;
}

const PATHS: Readonly<Record<string, PathArgs>> = {
  mkdir: { name: 'path' },
  mkdirat: { name: 'path' },
  rmdir: { name: 'path' },
  unlink: { name: 'path' },
  unlinkat: { name: 'name' },
  open: { name: 'name', returnsFd: true },
  openat: { name: 'name', returnsFd: true },
  openat2: { name: 'name', returnsFd: true },
  chmod: { name: 'filename' },
  fchmodat: { name: 'filename' },
  fchmod: { fromFd: true },
  chown: { name: 'path' },
  lchown: { name: 'path' },
  fchown: { fromFd: true },
  fchownat: { name: 'pathname' },
  quotactl: { name: 'special' },
  rename: { source: 'oldpath', target: 'newpath' },
  renameat: { source: 'oldpath', target: 'newpath' },
  renameat2: { source: 'oldpath', target: 'newpath' },
  link: { source: 'newpath', target: 'oldpath' },
  linkat: { source: 'newpath', target: 'oldpath' },
  symlink: { source: 'linkpath', target: 'target' },
  symlinkat: { source: 'linkpath', target: 'target' },
  mount: { source: 'dev', target: 'dir' },
  umount: { name: 'name' },
  umount2: { name: 'name' },
};

type Role = 'name' | 'source' | 'target';

function succeeded(e: Ev, p: PathArgs): boolean {
  if (e.res === undefined) return false;
  return p.returnsFd ? e.res >= 0 : e.res === 0;
}

function asText(v: string | number | undefined): string | undefined {
  return v === undefined ? undefined : typeof v === 'string' ? v : String(v);
}

/**
 * The resolved path of `role` for this event, or undefined when the call has
 * no such path or failed. The sensor already made argument paths absolute.
 */
export function fsPath(e: Ev, role: Role): string | undefined {
  const p = PATHS[e.type];
  if (p === undefined || !succeeded(e, p)) return undefined;
  if (p.fromFd) return role === 'name' ? e.fd?.name : undefined;
  const key = p[role];
  if (key === undefined) return undefined;
  if (role === 'name' && p.returnsFd && e.fd?.name !== undefined) return e.fd.name;
  return asText(e.args[key]);
}

/** The path of `role` exactly as the process passed it (before it was made absolute), when known. */
function fsPathRaw(e: Ev, role: Role): string | undefined {
  const p = PATHS[e.type];
  if (p === undefined || !succeeded(e, p)) return undefined;
  if (p.fromFd) return role === 'name' ? (e.fd?.nameraw ?? e.fd?.name) : undefined;
  const key = p[role];
  if (key === undefined) return undefined;
  if (role === 'name' && p.returnsFd && e.fd?.nameraw !== undefined) return e.fd.nameraw;
  const raw = e.rawargs?.[key];
  return typeof raw === 'string' ? raw : asText(e.args[key]);
}

function pathField(name: string, role: Role, raw: boolean, description: string): Def {
  const extract = raw ? (e: Ev): FieldValue => fsPathRaw(e, role) : (e: Ev): FieldValue => fsPath(e, role);
  return field({ name, kind: 'string', falcoType: 'CHARBUF', description, extract });
}

export const fsPathFields: readonly Def[] = [
  pathField(
    'fs.path.name',
    'name',
    false,
    'The absolute path a successful single-path file call worked on (open*, mkdir*, unlink*, rmdir, chmod*, chown*, umount*, quotactl).',
  ),
  pathField(
    'fs.path.nameraw',
    'name',
    true,
    'Like fs.path.name, but the path as the process passed it, which may be relative.',
  ),
  pathField(
    'fs.path.source',
    'source',
    false,
    'For a successful two-path call, the absolute source: the old name for rename*, the new link for link*/symlink*, the device for mount.',
  ),
  pathField(
    'fs.path.sourceraw',
    'source',
    true,
    'Like fs.path.source, but the path as the process passed it, which may be relative.',
  ),
  pathField(
    'fs.path.target',
    'target',
    false,
    'For a successful two-path call, the absolute target: the new name for rename*, the file linked to for link*/symlink*, the mount point for mount.',
  ),
  pathField(
    'fs.path.targetraw',
    'target',
    true,
    'Like fs.path.target, but the path as the process passed it, which may be relative.',
  ),
];
