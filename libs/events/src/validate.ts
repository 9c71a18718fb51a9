import {
  type Obj,
  describe,
  fail,
  int,
  nsTime,
  object,
  oneOf,
  optBool,
  optInt,
  optObject,
  optStr,
  scalarRecord,
  str,
  strArray,
  stringRecord,
} from './check.js';
import type { AuditEvent, K8sAuditEvent } from './k8s-audit.js';
import { FD_TYPES, L4_PROTOS, type SyscallEvent } from './syscall.js';

export type SakerEvent = SyscallEvent | K8sAuditEvent;
export type EventSourceName = SakerEvent['source'];
export const EVENT_SOURCES: readonly EventSourceName[] = ['syscall', 'k8s_audit'];

/**
 * Checks an untrusted value (a decoded JSON line, a NATS message) against the
 * event model. Returns the same object, typed; throws EventValidationError
 * naming the first path that is wrong.
 */
export function parseEvent(value: unknown): SakerEvent {
  const o = object(value, '$');
  switch (o.source) {
    case 'syscall':
      return parseSyscall(o);
    case 'k8s_audit':
      return parseK8sAudit(o);
    default:
      return fail('$.source', `expected "syscall" or "k8s_audit", got ${JSON.stringify(o.source)}`);
  }
}

function parseSyscall(o: Obj): SyscallEvent {
  const p = '$';
  nsTime(o, 'ts', p, true);
  optInt(o, 'num', p);
  optInt(o, 'cpu', p);
  optStr(o, 'hostname', p);
  if (str(o, 'type', p).length === 0) fail('$.type', 'must not be empty');
  oneOf(o, 'dir', p, ['<', '>'] as const);
  optInt(o, 'res', p);
  scalarRecord(o, 'args', p, true);
  scalarRecord(o, 'rawargs', p, false);

  const proc = object(o.proc, '$.proc');
  int(proc, 'pid', '$.proc');
  int(proc, 'tid', '$.proc');
  for (const k of [
    'ppid',
    'vpid',
    'vtid',
    'sid',
    'pgid',
    'vpgid',
    'tty',
    'exe_ino',
    'pidns',
    'mntns',
    'nthreads',
  ]) {
    optInt(proc, k, '$.proc');
  }
  str(proc, 'name', '$.proc');
  str(proc, 'exe', '$.proc');
  str(proc, 'exepath', '$.proc');
  strArray(proc, 'args', '$.proc', true);
  strArray(proc, 'env', '$.proc', false);
  strArray(proc, 'fdtypes', '$.proc', false);
  for (const k of [
    'cwd',
    'cap_permitted',
    'cap_effective',
    'cap_inheritable',
    'sname',
    'vpgid_name',
    'vpgid_exe',
    'vpgid_exepath',
    'sid_exe',
    'sid_exepath',
    'pgid_name',
    'pgid_exe',
    'pgid_exepath',
  ]) {
    optStr(proc, k, '$.proc');
  }
  for (const k of ['start_ts', 'exe_ino_ctime', 'exe_ino_mtime', 'pidns_init_start_ts']) {
    nsTime(proc, k, '$.proc', false);
  }
  for (const k of [
    'args_truncated',
    'is_exe_upper_layer',
    'is_exe_lower_layer',
    'is_exe_from_memfd',
    'is_exe_writable',
  ]) {
    optBool(proc, k, '$.proc');
  }
  if (proc.stdio !== undefined) {
    if (!Array.isArray(proc.stdio)) fail('$.proc.stdio', `expected an array, got ${describe(proc.stdio)}`);
    if (proc.stdio.length > 3) {
      fail('$.proc.stdio', `expected at most 3 entries (fds 0-2), got ${proc.stdio.length}`);
    }
    proc.stdio.forEach((s, i) => {
      const sp = `$.proc.stdio[${i}]`;
      const so = object(s, sp);
      oneOf(so, 'type', sp, FD_TYPES);
      str(so, 'type', sp);
      optStr(so, 'name', sp);
    });
  }

  if (o.ancestors !== undefined) {
    if (!Array.isArray(o.ancestors)) fail('$.ancestors', `expected an array, got ${describe(o.ancestors)}`);
    o.ancestors.forEach((a, i) => {
      const ap = `$.ancestors[${i}]`;
      const ao = object(a, ap);
      int(ao, 'pid', ap);
      str(ao, 'name', ap);
      optStr(ao, 'exe', ap);
      optStr(ao, 'exepath', ap);
      strArray(ao, 'args', ap, false);
      nsTime(ao, 'start_ts', ap, false);
    });
  }

  const user = object(o.user, '$.user');
  int(user, 'uid', '$.user');
  optInt(user, 'loginuid', '$.user');
  for (const k of ['name', 'homedir', 'shell', 'loginname']) optStr(user, k, '$.user');
  const group = object(o.group, '$.group');
  int(group, 'gid', '$.group');
  optStr(group, 'name', '$.group');

  const fd = optObject(o, 'fd', p);
  if (fd) {
    int(fd, 'num', '$.fd');
    oneOf(fd, 'type', '$.fd', FD_TYPES);
    str(fd, 'type', '$.fd');
    optStr(fd, 'name', '$.fd');
    optStr(fd, 'nameraw', '$.fd');
    optBool(fd, 'name_changed', '$.fd');
    optInt(fd, 'dev', '$.fd');
    optInt(fd, 'ino', '$.fd');
    optBool(fd, 'is_upper_layer', '$.fd');
    optBool(fd, 'is_lower_layer', '$.fd');
    const net = optObject(fd, 'net', '$.fd');
    if (net) {
      const np = '$.fd.net';
      oneOf(net, 'l4proto', np, L4_PROTOS);
      str(net, 'l4proto', np);
      oneOf(net, 'family', np, ['ipv4', 'ipv6', 'unix'] as const);
      str(net, 'family', np);
      str(net, 'sip', np);
      int(net, 'sport', np);
      str(net, 'dip', np);
      int(net, 'dport', np);
      optBool(net, 'is_server', np);
      optBool(net, 'connected', np);
    }
  }

  const c = object(o.container, '$.container');
  if (str(c, 'id', '$.container').length === 0) fail('$.container.id', 'must not be empty (use "host")');
  for (const k of [
    'full_id',
    'name',
    'type',
    'image',
    'image_id',
    'image_repository',
    'image_tag',
    'image_digest',
    'ip',
    'cni_json',
    'healthcheck',
    'liveness_probe',
    'readiness_probe',
  ]) {
    optStr(c, k, '$.container');
  }
  for (const k of ['privileged', 'host_pid', 'host_network', 'host_ipc']) optBool(c, k, '$.container');
  nsTime(c, 'start_ts', '$.container', false);
  stringRecord(c, 'labels', '$.container');
  if (c.mounts !== undefined) {
    if (!Array.isArray(c.mounts)) fail('$.container.mounts', `expected an array, got ${describe(c.mounts)}`);
    c.mounts.forEach((m, i) => {
      const mp = `$.container.mounts[${i}]`;
      const mo = object(m, mp);
      str(mo, 'source', mp);
      str(mo, 'dest', mp);
      optStr(mo, 'mode', mp);
      optBool(mo, 'rdwr', mp);
      optStr(mo, 'propagation', mp);
    });
  }

  const k8s = optObject(o, 'k8s', p);
  if (k8s) {
    for (const k of ['pod_name', 'pod_uid', 'pod_ip', 'pod_sandbox_id', 'pod_full_sandbox_id', 'ns_name']) {
      optStr(k8s, k, '$.k8s');
    }
    stringRecord(k8s, 'pod_labels', '$.k8s');
  }
  return o as unknown as SyscallEvent;
}

function parseK8sAudit(o: Obj): K8sAuditEvent {
  nsTime(o, 'ts', '$', true);
  optStr(o, 'hostname', '$');
  parseAuditEvent(o.event, '$.event');
  return o as unknown as K8sAuditEvent;
}

/**
 * Checks one audit.k8s.io/v1 Event object. Used by the webhook and the log
 * reader too, so `path` lets them say where in their own input it sat.
 */
export function parseAuditEvent(value: unknown, path: string): AuditEvent {
  const e = object(value, path);
  if (e.apiVersion !== 'audit.k8s.io/v1') {
    fail(`${path}.apiVersion`, `expected "audit.k8s.io/v1", got ${JSON.stringify(e.apiVersion)}`);
  }
  if (e.kind !== 'Event') fail(`${path}.kind`, `expected "Event", got ${JSON.stringify(e.kind)}`);
  for (const k of ['level', 'auditID', 'stage', 'requestURI', 'verb']) str(e, k, path);
  object(e.user, `${path}.user`);
  return e as AuditEvent;
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
