/**
 * Helpers of the chart tests: the tools built by scripts/go-tools.sh, and
 * `helm template` output parsed into objects.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@saker/config';
import { repoRoot } from '@saker/testing';
import { load, loadAll } from 'js-yaml';

export const CHART = join(repoRoot(), 'deploy/helm/saker');

/** The bin folder of a tool of scripts/go-tools.sh (built on first use; setup.sh builds them all). */
export function toolBin(tool: string): string {
  return execFileSync('bash', [join(repoRoot(), 'scripts/go-tools.sh'), tool], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
}

export interface SecurityContext {
  privileged?: boolean;
  runAsUser?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: SecurityContext;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  ports?: { name: string; containerPort: number }[];
}

export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  configMap?: { name: string };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
  emptyDir?: Record<string, unknown>;
  persistentVolumeClaim?: { claimName: string };
}

export interface PodSpec {
  containers: Container[];
  volumes?: Volume[];
  hostPID?: boolean;
  hostNetwork?: boolean;
  automountServiceAccountToken?: boolean;
  serviceAccountName?: string;
  priorityClassName?: string;
  tolerations?: { key?: string; operator?: string; effect?: string }[];
  nodeSelector?: Record<string, string>;
  securityContext?: SecurityContext & { fsGroup?: number };
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: {
    replicas?: number;
    strategy?: { type: string };
    ports?: { name: string; port: number }[];
    resources?: { requests?: Record<string, string> };
    template?: { metadata?: { annotations?: Record<string, string> }; spec: PodSpec };
    containers?: Container[];
    clusterIP?: string;
    volumeClaimTemplates?: unknown[];
    ingress?: unknown[];
    maxUnavailable?: number | string;
  };
  data?: Record<string, string>;
  stringData?: Record<string, string>;
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  subjects?: { kind: string; name: string; namespace?: string }[];
  roleRef?: { kind: string; name: string };
}

export interface HelmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs helm with the chart's values given as an object (written to a temp file). */
export function helm(args: readonly string[], values?: object): HelmResult {
  const dir = mkdtempSync(join(tmpdir(), 'saker-helm-'));
  try {
    const file = join(dir, 'values.json');
    const extra: string[] = [];
    if (values !== undefined) {
      writeFileSync(file, JSON.stringify(values));
      extra.push('-f', file);
    }
    const r = spawnSync(join(toolBin('helm'), 'helm'), [...args, ...extra], {
      encoding: 'utf8',
      env: { ...process.env, HELM_CACHE_HOME: dir, HELM_CONFIG_HOME: dir, HELM_DATA_HOME: dir },
    });
    return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart; throws with helm's error when it fails. */
export function render(
  values: object = {},
  opts: { release?: string; namespace?: string } = {},
): K8sObject[] {
  const r = helm(
    ['template', opts.release ?? 'rel', CHART, '--namespace', opts.namespace ?? 'saker', '--include-crds'],
    values,
  );
  if (r.status !== 0) throw new Error(`helm template failed (${r.status}): ${r.stderr}`);
  return (loadAll(r.stdout) as (K8sObject | null)[]).filter((o): o is K8sObject => o !== null);
}

export function find(objects: readonly K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  if (o === undefined) {
    const have = objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ');
    throw new Error(`no ${kind}/${name} in the rendered chart (have: ${have})`);
  }
  return o;
}

export function podSpec(o: K8sObject): PodSpec {
  const spec = o.spec?.template?.spec;
  if (spec === undefined) throw new Error(`${o.kind}/${o.metadata.name} has no pod template`);
  return spec;
}

export function containers(o: K8sObject): Container[] {
  return o.spec?.template?.spec.containers ?? o.spec?.containers ?? [];
}

export function envOf(c: Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

/** The rendered saker.yaml (ConfigMap `<name>-config`), loaded by @saker/config as a service would. */
export function sakerConfig(
  objects: readonly K8sObject[],
  env: Record<string, string> = {},
  name = 'rel-saker',
) {
  const text = find(objects, 'ConfigMap', `${name}-config`).data?.['saker.yaml'];
  if (text === undefined) throw new Error(`ConfigMap ${name}-config has no saker.yaml`);
  const dir = mkdtempSync(join(tmpdir(), 'saker-chart-'));
  try {
    const file = join(dir, 'saker.yaml');
    writeFileSync(file, text);
    return {
      text,
      raw: load(text) as Record<string, unknown>,
      config: loadConfig({ file, env, onNotice: () => {} }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
