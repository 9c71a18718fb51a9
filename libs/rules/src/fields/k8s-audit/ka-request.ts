import type { JsonValue } from '@saker/events';
import type { AuditExtractor, AuditFieldDef } from './define.js';
import { indexed, keyed, plain } from './define.js';
import { arrayTexts, child, getPath, jsonText } from './json.js';

/**
 * The fields that describe the request itself: who made it, what it asked
 * for, what the API server decided and answered. They read the audit Event's
 * own members, never the request or response object.
 */

/** A single value at a fixed path, rendered as text (numbers and bools as JSON text: `201`, `true`). */
export function textAt(...keys: string[]): AuditExtractor {
  return (ev) => {
    const v = getPath(ev.event, keys);
    return v === undefined ? undefined : jsonText(v);
  };
}

/** Every element of the array at a fixed path, as text; missing when it is absent, not an array, or empty. */
export function listAt(...keys: string[]): AuditExtractor {
  return (ev) => arrayTexts(getPath(ev.event, keys));
}

function annotation(key: string): AuditExtractor {
  return textAt('annotations', key);
}

/**
 * One query parameter of the request URI, decoded the way Go's net/url does
 * it: `+` is a space, `%XX` a byte. The first occurrence wins. A query that Go
 * refuses (a `;` separator, a broken escape) yields no value at all, as in the
 * plugin.
 */
function uriParam(key: string): AuditExtractor {
  return (ev) => {
    const uri = ev.event.requestURI;
    if (typeof uri !== 'string') return undefined;
    const q = uri.indexOf('?');
    if (q < 0) return undefined;
    const hash = uri.indexOf('#', q);
    const query = uri.slice(q + 1, hash < 0 ? undefined : hash);
    let found: string | undefined;
    for (const pair of query.split('&')) {
      if (pair.length === 0) continue;
      if (pair.includes(';')) return undefined;
      const eq = pair.indexOf('=');
      const k = queryUnescape(eq < 0 ? pair : pair.slice(0, eq));
      const v = queryUnescape(eq < 0 ? '' : pair.slice(eq + 1));
      if (k === undefined || v === undefined) return undefined;
      if (found === undefined && k === key) found = v;
    }
    return found;
  };
}

const BAD_ESCAPE = /%(?![0-9a-fA-F]{2})/;

function queryUnescape(s: string): string | undefined {
  if (!s.includes('%') && !s.includes('+')) return s;
  if (BAD_ESCAPE.test(s)) return undefined;
  const plus = s.replaceAll('+', ' ');
  try {
    return decodeURIComponent(plus);
  } catch {
    // Valid escapes that are not valid UTF-8: keep going byte by byte, as Go does.
    const bytes: number[] = [];
    for (let i = 0; i < plus.length; i++) {
      if (plus[i] === '%') {
        bytes.push(Number.parseInt(plus.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        for (const b of Buffer.from(plus[i] as string, 'utf8')) bytes.push(b);
      }
    }
    return Buffer.from(bytes).toString('utf8');
  }
}

/** The pod's name from the response, only when the request was about a pod itself (no subresource). */
const targetPodName: AuditExtractor = (ev) => {
  const ref = ev.event.objectRef;
  if (child(ref, 'resource') !== 'pods') return undefined;
  const sub = child(ref, 'subresource');
  if (typeof sub === 'string' && sub.length > 0) return undefined;
  const name = getPath(ev.event, ['responseObject', 'metadata', 'name']);
  return name === undefined ? undefined : jsonText(name);
};

/**
 * The client addresses. The upstream plugin looks for them under the request
 * object's rules (where they never are), so its field is always empty; Saker
 * reads the Event's `sourceIPs`, as the field's documentation promises.
 */
function sourceIps(index: number | undefined): AuditExtractor {
  return (ev) => {
    const ips: JsonValue | undefined = ev.event.sourceIPs;
    if (!Array.isArray(ips)) return undefined;
    if (index === undefined) return arrayTexts(ips);
    const one = ips[index];
    return one === undefined ? undefined : [jsonText(one)];
  };
}

export const requestFields: readonly AuditFieldDef[] = [
  plain('ka.auditid', 'The audit ID the API server gave this event.', false, textAt('auditID')),
  plain(
    'ka.stage',
    'The stage of the request this event was written at: RequestReceived, ResponseStarted, ResponseComplete or Panic.',
    false,
    textAt('stage'),
  ),
  plain(
    'ka.auth.decision',
    'What the authorizer decided (`allow` or `forbid`), from the authorization.k8s.io/decision annotation.',
    false,
    annotation('authorization.k8s.io/decision'),
  ),
  plain(
    'ka.auth.reason',
    'Why the authorizer decided so, from the authorization.k8s.io/reason annotation.',
    false,
    annotation('authorization.k8s.io/reason'),
  ),
  plain(
    'ka.auth.openshift.decision',
    "The OpenShift API server's authentication decision (authentication.openshift.io/decision). OpenShift only.",
    false,
    annotation('authentication.openshift.io/decision'),
  ),
  plain(
    'ka.auth.openshift.username',
    'The user name OpenShift authenticated (authentication.openshift.io/username). OpenShift only.',
    false,
    annotation('authentication.openshift.io/username'),
  ),
  plain(
    'ka.validations.admission.policy.failure',
    'Why a ValidatingAdmissionPolicy rejected or warned about the request (validation.policy.admission.k8s.io/validation_failure).',
    false,
    annotation('validation.policy.admission.k8s.io/validation_failure'),
  ),
  plain(
    'ka.security.pod.violations',
    'The Pod Security admission violations recorded for the request (pod-security.kubernetes.io/audit-violations).',
    false,
    annotation('pod-security.kubernetes.io/audit-violations'),
  ),
  plain('ka.user.name', 'The name of the user who made the request.', false, textAt('user', 'username')),
  plain('ka.user.groups', 'The groups the requesting user belongs to.', true, listAt('user', 'groups')),
  plain(
    'ka.impuser.name',
    'The user the requester acted as, when the request used impersonation.',
    false,
    textAt('impersonatedUser', 'username'),
  ),
  plain(
    'ka.verb',
    'The API verb: get, list, watch, create, update, patch, delete, ...',
    false,
    textAt('verb'),
  ),
  plain('ka.uri', 'The request URI, path and query, as the client sent it.', false, textAt('requestURI')),
  keyed(
    'ka.uri.param',
    'The first value of one query parameter of the request URI: for `/x?command=sh`, ka.uri.param[command] is `sh`.',
    uriParam,
  ),
  plain('ka.target.name', 'The name of the object the request is about.', false, textAt('objectRef', 'name')),
  plain(
    'ka.target.namespace',
    'The namespace of the object the request is about.',
    false,
    textAt('objectRef', 'namespace'),
  ),
  plain(
    'ka.target.resource',
    'The resource type the request is about (pods, secrets, clusterroles, ...).',
    false,
    textAt('objectRef', 'resource'),
  ),
  plain(
    'ka.target.subresource',
    'The subresource the request is about (exec, attach, portforward, status, ...).',
    false,
    textAt('objectRef', 'subresource'),
  ),
  plain(
    'ka.target.pod.name',
    'For a request on a pod itself (not a subresource), the pod name from the response object.',
    false,
    targetPodName,
  ),
  plain(
    'ka.resp.name',
    'The name of the object in the response (metadata.name), e.g. the name given to a created pod.',
    false,
    textAt('responseObject', 'metadata', 'name'),
  ),
  plain(
    'ka.response.code',
    'The HTTP status code of the response, as text (`200`, `403`).',
    false,
    textAt('responseStatus', 'code'),
  ),
  plain(
    'ka.response.reason',
    'The reason of the response status (`Forbidden`, `NotFound`); usually present only on failures.',
    false,
    textAt('responseStatus', 'reason'),
  ),
  plain('ka.useragent', 'The User-Agent of the client that made the request.', false, textAt('userAgent')),
  indexed('ka.sourceips', 'The IP addresses the request came from (client first, then proxies).', sourceIps),
  plain(
    'ka.cluster.name',
    'The cluster name, when the audit pipeline adds a cluster_name annotation.',
    false,
    annotation('cluster_name'),
  ),
];
