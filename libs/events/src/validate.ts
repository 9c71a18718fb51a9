import {
  type Obj,
  badBool,
  badInt,
  badNsTime,
  badObject,
  badOneOf,
  badStr,
  describe,
  fail,
  isInt,
  isNsTime,
  isObject,
  object,
  scalarRecord,
  str,
  strArray,
  stringRecord,
} from './check.js';
import type { AuditEvent, K8sAuditEvent } from './k8s-audit.js';
import { FD_TYPES, L4_PROTOS, type SyscallEvent } from './syscall.js';

export type SakerEvent = SyscallEvent | K8sAuditEvent;
export type EventSourceName = SakerEvent['source'];
const EVENT_SOURCES: readonly EventSourceName[] = ['syscall', 'k8s_audit'];

/**
 * The sub-objects of a syscall event that the events of one process share
 * (batch codec v2 carries each once per batch, docs/bus.md).
 */
export const SHARED_PARTS = ['proc', 'ancestors', 'user', 'group', 'container', 'k8s'] as const;
export type SharedPart = (typeof SHARED_PARTS)[number];

/**
 * Lets parseEvent check a sub-object shared by many events once: a value in
 * `shared` that passed the check of a part is added to `passed[part]`, and is
 * not checked again as that part. Built by one batch decoder, for one batch.
 */
export interface SharedChecks {
  /** The shared sub-objects (the batch's table). Others are checked every time. */
  readonly shared: ReadonlySet<unknown>;
  /** Per part, the shared values that passed its check. parseEvent adds to these. */
  readonly passed: { readonly [P in SharedPart]: Set<unknown> };
}

const DIRS = ['<', '>'] as const;
const FAMILIES = ['ipv4', 'ipv6', 'unix'] as const;
const isFdType = (v: string): boolean => (FD_TYPES as readonly string[]).includes(v);
const isL4Proto = (v: string): boolean => (L4_PROTOS as readonly string[]).includes(v);

/**
 * Checks an untrusted value (a decoded JSON line, a NATS message) against the
 * event model. Returns the same object, typed; throws EventValidationError
 * naming the first path that is wrong. One pass over the fields, in a fixed
 * order (so the first wrong field is always the same one); nothing is
 * allocated unless an error is thrown.
 */
export function parseEvent(value: unknown, shared?: SharedChecks): SakerEvent {
  if (!isObject(value)) badObject('$', value);
  const o = value;
  switch (o.source) {
    case 'syscall':
      return parseSyscall(o, shared);
    case 'k8s_audit':
      return parseK8sAudit(o);
    default:
      return fail('$.source', `expected "syscall" or "k8s_audit", got ${JSON.stringify(o.source)}`);
  }
}

function parseSyscall(o: Obj, shared: SharedChecks | undefined): SyscallEvent {
  let v: unknown;
  v = o.ts;
  if (!isNsTime(v)) badNsTime('$', 'ts', v);
  v = o.num;
  if (v !== undefined && !isInt(v)) badInt('$', 'num', v);
  v = o.cpu;
  if (v !== undefined && !isInt(v)) badInt('$', 'cpu', v);
  v = o.hostname;
  if (v !== undefined && typeof v !== 'string') badStr('$', 'hostname', v);
  v = o.type;
  if (typeof v !== 'string') badStr('$', 'type', v);
  if (v.length === 0) fail('$.type', 'must not be empty');
  v = o.dir;
  if (v !== undefined && v !== '<' && v !== '>') badOneOf('$', 'dir', v, DIRS);
  v = o.res;
  if (v !== undefined && !isInt(v)) badInt('$', 'res', v);
  scalarRecord(o.args, 'args', '$', true);
  scalarRecord(o.rawargs, 'rawargs', '$', false);

  v = o.proc;
  if (shared === undefined) checkProc(v);
  else if (!shared.passed.proc.has(v)) {
    checkProc(v);
    if (shared.shared.has(v)) shared.passed.proc.add(v);
  }
  v = o.ancestors;
  if (v !== undefined) {
    if (shared === undefined) checkAncestors(v);
    else if (!shared.passed.ancestors.has(v)) {
      checkAncestors(v);
      if (shared.shared.has(v)) shared.passed.ancestors.add(v);
    }
  }
  v = o.user;
  if (shared === undefined) checkUser(v);
  else if (!shared.passed.user.has(v)) {
    checkUser(v);
    if (shared.shared.has(v)) shared.passed.user.add(v);
  }
  v = o.group;
  if (shared === undefined) checkGroup(v);
  else if (!shared.passed.group.has(v)) {
    checkGroup(v);
    if (shared.shared.has(v)) shared.passed.group.add(v);
  }

  v = o.fd;
  if (v !== undefined) checkFd(v);

  v = o.container;
  if (shared === undefined) checkContainer(v);
  else if (!shared.passed.container.has(v)) {
    checkContainer(v);
    if (shared.shared.has(v)) shared.passed.container.add(v);
  }
  v = o.k8s;
  if (v !== undefined) {
    if (shared === undefined) checkK8s(v);
    else if (!shared.passed.k8s.has(v)) {
      checkK8s(v);
      if (shared.shared.has(v)) shared.passed.k8s.add(v);
    }
  }
  return o as unknown as SyscallEvent;
}

/** The parts of a syscall event a batch codec may carry apart from its scalars (binary codec, docs/bus.md). */
const SYSCALL_PARTS = ['args', 'rawargs', ...SHARED_PARTS, 'fd'] as const;
export type SyscallPart = (typeof SYSCALL_PARTS)[number];

/**
 * Checks one part of a syscall event as parseEvent checks it inside a whole
 * event (same paths and messages: `$.proc.pid`); `undefined` is accepted for
 * the optional parts. Throws EventValidationError.
 */
export function checkSyscallPart(part: SyscallPart, value: unknown): void {
  if (part === 'args' || part === 'rawargs') scalarRecord(value, part, '$', part === 'args');
  else if (part === 'proc') checkProc(value);
  else if (part === 'user') checkUser(value);
  else if (part === 'group') checkGroup(value);
  else if (part === 'container') checkContainer(value);
  else if (value === undefined) return;
  else if (part === 'ancestors') checkAncestors(value);
  else if (part === 'fd') checkFd(value);
  else checkK8s(value);
}

/** Checks the scalars of a syscall event (`ts`, `type`) as parseEvent does. */
export function checkSyscallScalar(key: 'ts' | 'type', value: unknown): void {
  if (key === 'ts') {
    if (!isNsTime(value)) badNsTime('$', 'ts', value);
    return;
  }
  if (typeof value !== 'string') badStr('$', 'type', value);
  if (value.length === 0) fail('$.type', 'must not be empty');
}

function checkProc(value: unknown): void {
  if (!isObject(value)) badObject('$.proc', value);
  const p = value;
  let v: unknown;
  v = p.pid;
  if (!isInt(v)) badInt('$.proc', 'pid', v);
  v = p.tid;
  if (!isInt(v)) badInt('$.proc', 'tid', v);
  v = p.ppid;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'ppid', v);
  v = p.vpid;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'vpid', v);
  v = p.vtid;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'vtid', v);
  v = p.sid;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'sid', v);
  v = p.pgid;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'pgid', v);
  v = p.vpgid;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'vpgid', v);
  v = p.tty;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'tty', v);
  v = p.exe_ino;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'exe_ino', v);
  v = p.pidns;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'pidns', v);
  v = p.mntns;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'mntns', v);
  v = p.nthreads;
  if (v !== undefined && !isInt(v)) badInt('$.proc', 'nthreads', v);
  v = p.name;
  if (typeof v !== 'string') badStr('$.proc', 'name', v);
  v = p.exe;
  if (typeof v !== 'string') badStr('$.proc', 'exe', v);
  v = p.exepath;
  if (typeof v !== 'string') badStr('$.proc', 'exepath', v);
  strArray(p.args, 'args', '$.proc', true);
  strArray(p.env, 'env', '$.proc', false);
  strArray(p.fdtypes, 'fdtypes', '$.proc', false);
  v = p.cwd;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'cwd', v);
  v = p.cap_permitted;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'cap_permitted', v);
  v = p.cap_effective;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'cap_effective', v);
  v = p.cap_inheritable;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'cap_inheritable', v);
  v = p.sname;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'sname', v);
  v = p.vpgid_name;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'vpgid_name', v);
  v = p.vpgid_exe;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'vpgid_exe', v);
  v = p.vpgid_exepath;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'vpgid_exepath', v);
  v = p.sid_exe;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'sid_exe', v);
  v = p.sid_exepath;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'sid_exepath', v);
  v = p.pgid_name;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'pgid_name', v);
  v = p.pgid_exe;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'pgid_exe', v);
  v = p.pgid_exepath;
  if (v !== undefined && typeof v !== 'string') badStr('$.proc', 'pgid_exepath', v);
  v = p.start_ts;
  if (v !== undefined && !isNsTime(v)) badNsTime('$.proc', 'start_ts', v);
  v = p.exe_ino_ctime;
  if (v !== undefined && !isNsTime(v)) badNsTime('$.proc', 'exe_ino_ctime', v);
  v = p.exe_ino_mtime;
  if (v !== undefined && !isNsTime(v)) badNsTime('$.proc', 'exe_ino_mtime', v);
  v = p.pidns_init_start_ts;
  if (v !== undefined && !isNsTime(v)) badNsTime('$.proc', 'pidns_init_start_ts', v);
  v = p.args_truncated;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.proc', 'args_truncated', v);
  v = p.is_exe_upper_layer;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.proc', 'is_exe_upper_layer', v);
  v = p.is_exe_lower_layer;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.proc', 'is_exe_lower_layer', v);
  v = p.is_exe_from_memfd;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.proc', 'is_exe_from_memfd', v);
  v = p.is_exe_writable;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.proc', 'is_exe_writable', v);
  v = p.stdio;
  if (v !== undefined) {
    if (!Array.isArray(v)) fail('$.proc.stdio', `expected an array, got ${describe(v)}`);
    if (v.length > 3) fail('$.proc.stdio', `expected at most 3 entries (fds 0-2), got ${v.length}`);
    for (let i = 0; i < v.length; i++) if (i in v) checkStdio(v[i], i); // forEach skipped holes
  }
}

function checkStdio(value: unknown, i: number): void {
  if (!isObject(value)) badObject(`$.proc.stdio[${i}]`, value);
  const t = value.type;
  if (typeof t !== 'string' || !isFdType(t)) {
    if (t !== undefined) badOneOf(`$.proc.stdio[${i}]`, 'type', t, FD_TYPES);
    badStr(`$.proc.stdio[${i}]`, 'type', t);
  }
  const n = value.name;
  if (n !== undefined && typeof n !== 'string') badStr(`$.proc.stdio[${i}]`, 'name', n);
}

function checkAncestors(value: unknown): void {
  if (!Array.isArray(value)) fail('$.ancestors', `expected an array, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) continue; // as forEach did, skip holes (JSON has none)
    const a: unknown = value[i];
    if (!isObject(a)) badObject(`$.ancestors[${i}]`, a);
    let v: unknown = a.pid;
    if (!isInt(v)) badInt(`$.ancestors[${i}]`, 'pid', v);
    v = a.name;
    if (typeof v !== 'string') badStr(`$.ancestors[${i}]`, 'name', v);
    v = a.exe;
    if (v !== undefined && typeof v !== 'string') badStr(`$.ancestors[${i}]`, 'exe', v);
    v = a.exepath;
    if (v !== undefined && typeof v !== 'string') badStr(`$.ancestors[${i}]`, 'exepath', v);
    v = a.args;
    if (v !== undefined) strArray(v, 'args', `$.ancestors[${i}]`, false);
    v = a.start_ts;
    if (v !== undefined && !isNsTime(v)) badNsTime(`$.ancestors[${i}]`, 'start_ts', v);
  }
}

function checkUser(value: unknown): void {
  if (!isObject(value)) badObject('$.user', value);
  const u = value;
  let v: unknown;
  v = u.uid;
  if (!isInt(v)) badInt('$.user', 'uid', v);
  v = u.loginuid;
  if (v !== undefined && !isInt(v)) badInt('$.user', 'loginuid', v);
  v = u.name;
  if (v !== undefined && typeof v !== 'string') badStr('$.user', 'name', v);
  v = u.homedir;
  if (v !== undefined && typeof v !== 'string') badStr('$.user', 'homedir', v);
  v = u.shell;
  if (v !== undefined && typeof v !== 'string') badStr('$.user', 'shell', v);
  v = u.loginname;
  if (v !== undefined && typeof v !== 'string') badStr('$.user', 'loginname', v);
}

function checkGroup(value: unknown): void {
  if (!isObject(value)) badObject('$.group', value);
  const g = value;
  let v: unknown;
  v = g.gid;
  if (!isInt(v)) badInt('$.group', 'gid', v);
  v = g.name;
  if (v !== undefined && typeof v !== 'string') badStr('$.group', 'name', v);
}

function checkFd(value: unknown): void {
  if (!isObject(value)) badObject('$.fd', value);
  const fd = value;
  let v: unknown;
  v = fd.num;
  if (!isInt(v)) badInt('$.fd', 'num', v);
  v = fd.type;
  if (typeof v !== 'string' || !isFdType(v)) {
    if (v !== undefined) badOneOf('$.fd', 'type', v, FD_TYPES);
    badStr('$.fd', 'type', v);
  }
  v = fd.name;
  if (v !== undefined && typeof v !== 'string') badStr('$.fd', 'name', v);
  v = fd.nameraw;
  if (v !== undefined && typeof v !== 'string') badStr('$.fd', 'nameraw', v);
  v = fd.name_changed;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.fd', 'name_changed', v);
  v = fd.dev;
  if (v !== undefined && !isInt(v)) badInt('$.fd', 'dev', v);
  v = fd.ino;
  if (v !== undefined && !isInt(v)) badInt('$.fd', 'ino', v);
  v = fd.is_upper_layer;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.fd', 'is_upper_layer', v);
  v = fd.is_lower_layer;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.fd', 'is_lower_layer', v);
  v = fd.net;
  if (v !== undefined) {
    if (!isObject(v)) badObject('$.fd.net', v);
    const net = v;
    v = net.l4proto;
    if (typeof v !== 'string' || !isL4Proto(v)) {
      if (v !== undefined) badOneOf('$.fd.net', 'l4proto', v, L4_PROTOS);
      badStr('$.fd.net', 'l4proto', v);
    }
    v = net.family;
    if (v !== 'ipv4' && v !== 'ipv6' && v !== 'unix') {
      if (v !== undefined) badOneOf('$.fd.net', 'family', v, FAMILIES);
      badStr('$.fd.net', 'family', v);
    }
    v = net.sip;
    if (typeof v !== 'string') badStr('$.fd.net', 'sip', v);
    v = net.sport;
    if (!isInt(v)) badInt('$.fd.net', 'sport', v);
    v = net.dip;
    if (typeof v !== 'string') badStr('$.fd.net', 'dip', v);
    v = net.dport;
    if (!isInt(v)) badInt('$.fd.net', 'dport', v);
    v = net.is_server;
    if (v !== undefined && typeof v !== 'boolean') badBool('$.fd.net', 'is_server', v);
    v = net.connected;
    if (v !== undefined && typeof v !== 'boolean') badBool('$.fd.net', 'connected', v);
  }
}

export function checkContainer(value: unknown): void {
  if (!isObject(value)) badObject('$.container', value);
  const c = value;
  let v: unknown;
  v = c.id;
  if (typeof v !== 'string') badStr('$.container', 'id', v);
  if (v.length === 0) fail('$.container.id', 'must not be empty (use "host")');
  v = c.full_id;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'full_id', v);
  v = c.name;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'name', v);
  v = c.type;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'type', v);
  v = c.image;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'image', v);
  v = c.image_id;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'image_id', v);
  v = c.image_repository;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'image_repository', v);
  v = c.image_tag;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'image_tag', v);
  v = c.image_digest;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'image_digest', v);
  v = c.ip;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'ip', v);
  v = c.cni_json;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'cni_json', v);
  v = c.healthcheck;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'healthcheck', v);
  v = c.liveness_probe;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'liveness_probe', v);
  v = c.readiness_probe;
  if (v !== undefined && typeof v !== 'string') badStr('$.container', 'readiness_probe', v);
  v = c.privileged;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.container', 'privileged', v);
  v = c.host_pid;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.container', 'host_pid', v);
  v = c.host_network;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.container', 'host_network', v);
  v = c.host_ipc;
  if (v !== undefined && typeof v !== 'boolean') badBool('$.container', 'host_ipc', v);
  v = c.start_ts;
  if (v !== undefined && !isNsTime(v)) badNsTime('$.container', 'start_ts', v);
  stringRecord(c.labels, 'labels', '$.container');
  v = c.mounts;
  if (v !== undefined) {
    if (!Array.isArray(v)) fail('$.container.mounts', `expected an array, got ${describe(v)}`);
    for (let i = 0; i < v.length; i++) if (i in v) checkMount(v[i], i); // forEach skipped holes
  }
}

function checkMount(value: unknown, i: number): void {
  if (!isObject(value)) badObject(`$.container.mounts[${i}]`, value);
  let v: unknown = value.source;
  if (typeof v !== 'string') badStr(`$.container.mounts[${i}]`, 'source', v);
  v = value.dest;
  if (typeof v !== 'string') badStr(`$.container.mounts[${i}]`, 'dest', v);
  v = value.mode;
  if (v !== undefined && typeof v !== 'string') badStr(`$.container.mounts[${i}]`, 'mode', v);
  v = value.rdwr;
  if (v !== undefined && typeof v !== 'boolean') badBool(`$.container.mounts[${i}]`, 'rdwr', v);
  v = value.propagation;
  if (v !== undefined && typeof v !== 'string') badStr(`$.container.mounts[${i}]`, 'propagation', v);
}

export function checkK8s(value: unknown): void {
  if (!isObject(value)) badObject('$.k8s', value);
  const k = value;
  let v: unknown;
  v = k.pod_name;
  if (v !== undefined && typeof v !== 'string') badStr('$.k8s', 'pod_name', v);
  v = k.pod_uid;
  if (v !== undefined && typeof v !== 'string') badStr('$.k8s', 'pod_uid', v);
  v = k.pod_ip;
  if (v !== undefined && typeof v !== 'string') badStr('$.k8s', 'pod_ip', v);
  v = k.pod_sandbox_id;
  if (v !== undefined && typeof v !== 'string') badStr('$.k8s', 'pod_sandbox_id', v);
  v = k.pod_full_sandbox_id;
  if (v !== undefined && typeof v !== 'string') badStr('$.k8s', 'pod_full_sandbox_id', v);
  v = k.ns_name;
  if (v !== undefined && typeof v !== 'string') badStr('$.k8s', 'ns_name', v);
  stringRecord(k.pod_labels, 'pod_labels', '$.k8s');
  // What cluster-mode enrichment adds; absent from most events, so one test each.
  for (const key of K8S_OBJECT_STRINGS) {
    v = k[key];
    if (v !== undefined && typeof v !== 'string') badStr('$.k8s', key, v);
  }
  for (const key of K8S_OBJECT_LABELS) stringRecord(k[key], key, '$.k8s');
  v = k.services;
  if (v !== undefined) checkServices(v);
}

const K8S_OBJECT_STRINGS = [
  'ns_uid',
  'rs_name',
  'rs_uid',
  'deployment_name',
  'deployment_uid',
  'rc_name',
  'rc_uid',
] as const;
const K8S_OBJECT_LABELS = ['ns_labels', 'rs_labels', 'deployment_labels', 'rc_labels'] as const;

function checkServices(value: unknown): void {
  if (!Array.isArray(value)) fail('$.k8s.services', `expected an array, got ${describe(value)}`);
  for (let i = 0; i < value.length; i++) {
    const path = `$.k8s.services[${i}]`;
    const s: unknown = value[i];
    if (!isObject(s)) badObject(path, s);
    str(s, 'name', path);
    str(s, 'uid', path);
    stringRecord(s.labels, 'labels', path);
  }
}

function parseK8sAudit(o: Obj): K8sAuditEvent {
  let v: unknown = o.ts;
  if (!isNsTime(v)) badNsTime('$', 'ts', v);
  v = o.hostname;
  if (v !== undefined && typeof v !== 'string') badStr('$', 'hostname', v);
  parseAuditEvent(o.event, '$.event');
  return o as unknown as K8sAuditEvent;
}

/** The audit API versions whose Event Saker reads (the Event's shape is the same in both). */
export const AUDIT_API_VERSIONS: readonly string[] = ['audit.k8s.io/v1', 'audit.k8s.io/v1beta1'];

/**
 * How an accepted audit Event departs from a plain `audit.k8s.io/v1` Event,
 * as Falco's k8saudit plugin also accepts it: `v1beta1` (an older API
 * server), `untyped` (no apiVersion or no kind, e.g. lines of a recorded log
 * that dropped them, but an audit event's shape).
 */
export type AuditLeniency = 'v1beta1' | 'untyped';

export function auditLeniency(e: AuditEvent): AuditLeniency | undefined {
  if (e.apiVersion === undefined || e.kind === undefined) return 'untyped';
  return e.apiVersion === 'audit.k8s.io/v1beta1' ? 'v1beta1' : undefined;
}

/**
 * Checks one audit Event object. Used by the webhook and the log reader too,
 * so `path` lets them say where in their own input it sat. apiVersion and
 * kind may be missing, but when present they must be an audit Event's; the
 * shape (level, auditID, stage, requestURI, verb as strings, a user object)
 * is required either way, so an arbitrary JSON object is still refused.
 */
export function parseAuditEvent(value: unknown, path: string): AuditEvent {
  const e = object(value, path);
  if (e.apiVersion !== undefined && !AUDIT_API_VERSIONS.includes(e.apiVersion as string)) {
    fail(
      `${path}.apiVersion`,
      `expected "audit.k8s.io/v1" or "audit.k8s.io/v1beta1", got ${JSON.stringify(e.apiVersion)}`,
    );
  }
  if (e.kind !== undefined && e.kind !== 'Event') {
    fail(`${path}.kind`, `expected "Event", got ${JSON.stringify(e.kind)}`);
  }
  str(e, 'level', path);
  str(e, 'auditID', path);
  str(e, 'stage', path);
  str(e, 'requestURI', path);
  str(e, 'verb', path);
  object(e.user, `${path}.user`);
  return e as AuditEvent;
}

/** Whether a JSON value has an audit Event's shape without saying so (no apiVersion, no kind). */
export function looksLikeUntypedAuditEvent(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const o = value as Record<string, unknown>;
  return (
    o.apiVersion === undefined &&
    o.kind === undefined &&
    typeof o.auditID === 'string' &&
    typeof o.stage === 'string' &&
    typeof o.verb === 'string'
  );
}

/** Builds the k8s_audit envelope for an audit Event, keyed by its stage (or receive) time. */
export function wrapAuditEvent(event: AuditEvent, hostname?: string): K8sAuditEvent {
  const stamp = event.stageTimestamp ?? event.requestReceivedTimestamp;
  const ts = typeof stamp === 'string' ? rfc3339ToNs(stamp) : undefined;
  const base = { source: 'k8s_audit' as const, ts: ts ?? '0', event };
  return hostname === undefined ? base : { ...base, hostname };
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** `2024-01-02T03:04:05.123456Z` → nanoseconds since the epoch as a decimal string. */
export function rfc3339ToNs(text: string): string | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(ms)) return undefined;
  const frac = (m[2] ?? '').padEnd(9, '0');
  return (BigInt(ms) * 1_000_000n + BigInt(frac)).toString();
}
