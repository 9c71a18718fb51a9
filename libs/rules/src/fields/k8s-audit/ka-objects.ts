import type { AuditExtractor, AuditFieldDef } from './define.js';
import { indexed, keyed, plain } from './define.js';
import { child, collect, getPath, jsonText, textsSkipMissing } from './json.js';
import { listAt, textAt } from './ka-request.js';

/**
 * The fields that read RBAC objects (roles, bindings), config maps and
 * services from the request object. Objects and arrays come out as compact
 * JSON text, which is what rule outputs print and what `contains` searches.
 */

const SUBJECTS = ['requestObject', 'subjects'];

type SubjectKind = 'User' | 'Group' | 'ServiceAccount';

/**
 * The names of the binding's subjects of one kind, optionally as
 * `namespace:name` (service accounts). Subjects missing the kind, the name or
 * (when asked for) the namespace are skipped.
 */
function subjectNames(kind: SubjectKind, withNamespace: boolean): AuditExtractor {
  return (ev) => {
    const subjects = getPath(ev.event, SUBJECTS);
    if (!Array.isArray(subjects)) return undefined;
    const out: string[] = [];
    for (const s of subjects) {
      const k = child(s, 'kind');
      const name = child(s, 'name');
      if (k === undefined || name === undefined || jsonText(k) !== kind) continue;
      if (withNamespace) {
        const ns = child(s, 'namespace');
        if (ns === undefined) continue;
        out.push(`${jsonText(ns)}:${jsonText(name)}`);
      } else {
        out.push(jsonText(name));
      }
    }
    return out.length > 0 ? out : undefined;
  };
}

/** One member (verbs, resources, ...) of every rule of a role, flattened into one list. */
function ruleMember(member: string): (index: number | undefined) => AuditExtractor {
  const keys = ['requestObject', 'rules', member];
  return (index) => (ev) => {
    const slots = collect(ev.event, index, keys);
    if (slots === undefined) return undefined;
    const out: string[] = [];
    for (const s of slots) if (Array.isArray(s)) for (const v of s) out.push(jsonText(v));
    return out.length > 0 ? out : undefined;
  };
}

export const objectFields: readonly AuditFieldDef[] = [
  plain(
    'ka.req.binding.subjects',
    'The subjects of a (cluster) role binding in the request, each as JSON text ({"kind":"User","name":"alice",...}).',
    true,
    listAt('requestObject', 'subjects'),
  ),
  plain(
    'ka.req.binding.subjects.user_names',
    'The names of the User subjects of a (cluster) role binding in the request.',
    true,
    subjectNames('User', false),
  ),
  plain(
    'ka.req.binding.subjects.serviceaccount_names',
    'The names of the ServiceAccount subjects of a (cluster) role binding in the request.',
    true,
    subjectNames('ServiceAccount', false),
  ),
  plain(
    'ka.req.binding.subjects.serviceaccount_ns_names',
    'The ServiceAccount subjects of a (cluster) role binding in the request, as namespace:name.',
    true,
    subjectNames('ServiceAccount', true),
  ),
  plain(
    'ka.req.binding.subjects.group_names',
    'The names of the Group subjects of a (cluster) role binding in the request.',
    true,
    subjectNames('Group', false),
  ),
  plain(
    'ka.req.binding.role',
    'The name of the role a (cluster) role binding in the request grants (roleRef.name).',
    false,
    textAt('requestObject', 'roleRef', 'name'),
  ),
  keyed(
    'ka.req.binding.subject.has_name',
    'Kept so that old rules load; it says `true` for any argument and should not be used.',
    () => () => 'true',
  ),
  plain(
    'ka.req.role.rules',
    'The rules of a role or cluster role in the request, each as JSON text.',
    true,
    listAt('requestObject', 'rules'),
  ),
  indexed(
    'ka.req.role.rules.apiGroups',
    "The API groups named by the role's rules (or by rule [n] only).",
    ruleMember('apiGroups'),
  ),
  indexed(
    'ka.req.role.rules.nonResourceURLs',
    "The non-resource URLs named by the role's rules (or by rule [n] only).",
    ruleMember('nonResourceURLs'),
  ),
  indexed(
    'ka.req.role.rules.verbs',
    "The verbs granted by the role's rules (or by rule [n] only).",
    ruleMember('verbs'),
  ),
  indexed(
    'ka.req.role.rules.resources',
    "The resources named by the role's rules (or by rule [n] only).",
    ruleMember('resources'),
  ),
  plain(
    'ka.req.configmap.name',
    'The name of the config map the request is about (the target name).',
    false,
    textAt('objectRef', 'name'),
  ),
  plain(
    'ka.req.configmap.obj',
    "The config map's data in the request, as JSON text, for searching with contains.",
    false,
    textAt('requestObject', 'data'),
  ),
  plain(
    'ka.req.service.type',
    'The type of the service in the request (ClusterIP, NodePort, LoadBalancer, ExternalName).',
    false,
    textAt('requestObject', 'spec', 'type'),
  ),
  indexed(
    'ka.req.service.ports',
    "The service's ports in the request: as upstream, one element holding the whole ports array as JSON text.",
    (index) => {
      const keys = ['requestObject', 'spec', 'ports'];
      return (ev) => textsSkipMissing(collect(ev.event, index, keys));
    },
  ),
];
