/**
 * The chart's web UI (deploy/helm/saker, `ui:`) over `helm template`: off
 * by default; no render without a way to log in; local users from a Secret
 * of hashes; OIDC; the store on an emptyDir or a PVC whose size bounds the
 * store; control's token and CA (never its key); the Service, NetworkPolicy
 * and security context; the rendered saker.yaml loaded by @saker/config.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHART, type K8sObject, envOf, find, helm, podSpec, render, sakerConfig } from './helm.js';

const NAME = 'rel-saker';
const HASH = '$scrypt$ln=15,r=8,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U';
const USERS = { users: [{ name: 'alice', role: 'admin', hash: HASH }] };
const GiB = 1024 ** 3;

const uiDeployment = (objects: readonly K8sObject[]) => find(objects, 'Deployment', `${NAME}-ui`);
const uiContainer = (objects: readonly K8sObject[]) => {
  const c = podSpec(uiDeployment(objects)).containers.find((x) => x.name === 'ui');
  assert.ok(c, 'the ui Deployment has a container ui');
  return c;
};
const volume = (objects: readonly K8sObject[], name: string) => {
  const v = podSpec(uiDeployment(objects)).volumes?.find((x) => x.name === name);
  assert.ok(v, `the ui pod has a volume ${name}`);
  return v;
};
/** helm template's exit and stderr for values that must not render. */
const refused = (values: object) => {
  const r = helm(['template', 'rel', CHART, '--namespace', 'saker'], values);
  return { failed: r.status !== 0, stderr: r.stderr };
};

describe('chart: web UI', () => {
  it('is off by default, as falcosidekick web UI is in its chart', () => {
    const objects = render();
    assert.deepEqual(
      objects
        .filter((o) => o.metadata.name.startsWith(`${NAME}-ui`))
        .map((o) => `${o.kind}/${o.metadata.name}`),
      [],
    );
    assert.equal(sakerConfig(objects).raw.ui, undefined);
  });

  it('refuses to render with nobody able to log in, unless anonymous viewing is asked for', () => {
    const none = refused({ ui: { enabled: true } });
    assert.ok(none.failed);
    assert.match(none.stderr, /ui: no way to log in: set ui\.auth\.users/);
    // OIDC needs both halves.
    assert.match(
      refused({ ui: { enabled: true, auth: { oidc: { issuer: 'https://idp.example.com' } } } }).stderr,
      /issuer and clientId go together/,
    );
    assert.match(
      refused({ ui: { enabled: true, auth: { ...USERS, usersSecret: 'mine' } } }).stderr,
      /users or usersSecret, not both/,
    );
    // A password where a hash belongs, a role that does not exist, a name that breaks the file.
    for (const user of [
      { name: 'alice', role: 'admin', hash: 'hunter2' },
      { name: 'alice', role: 'root', hash: HASH },
      { name: 'al:ice', role: 'admin', hash: HASH },
    ]) {
      const r = refused({ ui: { enabled: true, auth: { users: [user] } } });
      assert.ok(r.failed, JSON.stringify(user));
      assert.match(r.stderr, /ui\/auth\/users\/0/);
    }
    assert.match(
      refused({ ui: { enabled: true, auth: USERS, store: { size: '100Mi' } } }).stderr,
      /at least 256Mi/,
    );
    assert.match(refused({ ui: { enabled: true, auth: USERS, store: { size: '2G' } } }).stderr, /size/);

    const anonymous = sakerConfig(render({ ui: { enabled: true, auth: { anonymous: true } } })).config.ui
      .auth;
    assert.equal(anonymous.anonymous, 'viewer');
    assert.equal(anonymous.usersFile, null);
    assert.equal(anonymous.oidc, null);
  });

  it('runs saker ui with local users from a Secret of hashes, the store bounded by its emptyDir', () => {
    const objects = render({
      ui: { enabled: true, basePath: '/saker/', auth: USERS, store: { size: '1Gi' } },
    });
    const deployment = uiDeployment(objects);
    assert.equal(deployment.spec?.replicas, 1);
    // One UI at a time: two would split the durable consumer's alerts between their stores.
    assert.equal(deployment.spec?.strategy?.type, 'Recreate');
    const c = uiContainer(objects);
    assert.deepEqual(c.args, ['ui', '--config', '/etc/saker/saker.yaml']);
    assert.deepEqual(
      c.ports?.map((p) => [p.name, p.containerPort]),
      [
        ['telemetry', 8765],
        ['http', 2802],
      ],
    );
    // Non-root, read-only root file system: the store is the only writable place besides /tmp.
    assert.equal(c.securityContext?.runAsNonRoot, true);
    assert.equal(c.securityContext?.runAsUser, 65532);
    assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
    assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
    assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
    const spec = podSpec(deployment);
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.serviceAccountName, `${NAME}-ui`);
    assert.ok(find(objects, 'ServiceAccount', `${NAME}-ui`));
    assert.deepEqual(volume(objects, 'ui-store').emptyDir, { sizeLimit: '1Gi' });
    assert.ok(c.volumeMounts?.some((m) => m.name === 'ui-store' && m.mountPath === '/var/lib/saker-ui'));
    // SQLite's temporary files go to the store's volume, not the 64Mi in-memory /tmp.
    assert.equal(envOf(c, 'SQLITE_TMPDIR'), '/var/lib/saker-ui');

    // The users file: one line per user, name:role:hash, in a Secret, never a password.
    const secret = find(objects, 'Secret', `${NAME}-ui-users`);
    assert.equal(secret.stringData?.users, `alice:admin:${HASH}\n`);
    assert.deepEqual(volume(objects, 'ui-users').secret?.items, [{ key: 'users', path: 'users' }]);

    // Control: its token and only its CA, never its private key.
    assert.deepEqual(volume(objects, 'control-ca').secret, {
      secretName: `${NAME}-control-tls`,
      defaultMode: 0o444,
      items: [{ key: 'ca.crt', path: 'ca.crt' }],
    });
    assert.equal(envOf(c, 'SAKER__CONTROL__TOKEN_FILE'), '/etc/saker/control-token/token');

    // saker.yaml as the real loader reads it: the store's limits come from the volume's size.
    const ui = sakerConfig(objects).config.ui;
    assert.equal(ui.listen, '0.0.0.0:2802');
    assert.equal(ui.basePath, '/saker');
    assert.equal(ui.store.path, '/var/lib/saker-ui/alerts.db');
    assert.equal(ui.store.maxBytes, Math.floor(GiB * 0.7));
    assert.equal(ui.store.maxRows, 1_000_000);
    assert.equal(ui.store.maxAgeMs, 7 * 24 * 3600 * 1000);
    assert.equal(ui.auth.usersFile, '/etc/saker/ui-users/users');
    assert.equal(ui.auth.anonymous, null);
    assert.equal(ui.control.address, `${NAME}-control:5060`);
    assert.equal(ui.control.ca, '/etc/saker/control-ca/ca.crt');

    const service = find(objects, 'Service', `${NAME}-ui`);
    assert.deepEqual(
      service.spec?.ports?.map((p) => [p.name, p.port]),
      [['http', 2802]],
    );
  });

  it('keeps the store on a PVC, with OIDC, its client secret, TLS and an existing users Secret', () => {
    const objects = render({
      ui: {
        enabled: true,
        port: 8443,
        auth: {
          usersSecret: 'ui-users',
          oidc: {
            issuer: 'https://idp.example.com/realms/ops',
            clientId: 'saker',
            clientSecretSecret: 'saker-oidc',
            clientSecretKey: 'secret',
            adminValues: ['secops'],
          },
        },
        tls: { secretName: 'ui-cert' },
        store: {
          persistence: { enabled: true, storageClass: 'fast' },
          size: '10Gi',
          maxRows: 5000,
          maxAgeHours: 24,
        },
      },
    });
    assert.deepEqual(volume(objects, 'ui-store').persistentVolumeClaim, { claimName: `${NAME}-ui` });
    const pvc = find(objects, 'PersistentVolumeClaim', `${NAME}-ui`);
    assert.deepEqual(pvc.spec?.resources?.requests, { storage: '10Gi' });
    assert.ok(!objects.some((o) => o.kind === 'Secret' && o.metadata.name === `${NAME}-ui-users`));
    assert.equal(volume(objects, 'ui-users').secret?.secretName, 'ui-users');
    const c = uiContainer(objects);
    assert.equal(envOf(c, 'SAKER__UI__AUTH__OIDC__CLIENT_SECRET_FILE'), '/etc/saker/ui-oidc/client-secret');
    assert.deepEqual(volume(objects, 'ui-oidc').secret?.items, [{ key: 'secret', path: 'client-secret' }]);
    // Without the pod's variables: the loader would read the client secret's file, mounted only in the pod.
    const ui = sakerConfig(objects).config.ui;
    assert.equal(ui.store.maxBytes, Math.floor(10 * GiB * 0.7));
    assert.equal(ui.store.maxRows, 5000);
    assert.equal(ui.store.maxAgeMs, 24 * 3600 * 1000);
    assert.equal(ui.listen, '0.0.0.0:8443');
    assert.deepEqual(ui.tls, { cert: '/etc/saker/ui-tls/tls.crt', key: '/etc/saker/ui-tls/tls.key' });
    assert.equal(ui.auth.oidc?.issuer, 'https://idp.example.com/realms/ops');
    assert.equal(ui.auth.oidc?.clientId, 'saker');
    assert.deepEqual(ui.auth.oidc?.adminValues, ['secops']);
    assert.deepEqual(ui.auth.oidc?.scopes, ['openid', 'profile', 'email']);
    assert.equal(ui.auth.oidc?.redirectUri, null);

    // control without TLS: no CA mounted or configured.
    const plain = render({
      ui: { enabled: true, auth: USERS },
      control: { tls: { enabled: false }, allowPlaintextToken: true },
    });
    assert.ok(!podSpec(uiDeployment(plain)).volumes?.some((v) => v.name === 'control-ca'));
    assert.equal(sakerConfig(plain).config.ui.control.ca, null);
  });

  it("control with mTLS: the UI's client certificate (only its two keys) mounted and configured, control's delegates from config", () => {
    const objects = render({
      ui: { enabled: true, auth: USERS, control: { clientCertSecret: 'ui-control-client' } },
      control: { tls: { clientCaSecret: 'control-clients-ca' } },
      config: { control: { delegates: ['token', 'mtls:saker-ui'] } },
    });
    assert.deepEqual(volume(objects, 'control-client').secret, {
      secretName: 'ui-control-client',
      defaultMode: 0o440,
      items: [
        { key: 'tls.crt', path: 'tls.crt' },
        { key: 'tls.key', path: 'tls.key' },
      ],
    });
    assert.ok(
      uiContainer(objects).volumeMounts?.some(
        (m) =>
          m.name === 'control-client' && m.mountPath === '/etc/saker/control-client' && m.readOnly === true,
      ),
    );
    const { config } = sakerConfig(objects);
    assert.deepEqual(config.ui.control, {
      address: `${NAME}-control:5060`,
      ca: '/etc/saker/control-ca/ca.crt',
      cert: '/etc/saker/control-client/tls.crt',
      key: '/etc/saker/control-client/tls.key',
    });
    assert.deepEqual(config.control.delegates, ['token', 'mtls:saker-ui']);
    // Without it: no client certificate mounted or configured.
    const plain = render({ ui: { enabled: true, auth: USERS } });
    assert.ok(!podSpec(uiDeployment(plain)).volumes?.some((v) => v.name === 'control-client'));
    assert.equal(sakerConfig(plain).config.ui.control.cert, null);
  });

  it('NetworkPolicy: the UI port from networkPolicy.uiFrom; helm lint --strict passes', () => {
    const from = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }];
    const values = { ui: { enabled: true, auth: USERS }, networkPolicy: { enabled: true, uiFrom: from } };
    const policy = find(render(values), 'NetworkPolicy', `${NAME}-ui`);
    assert.deepEqual(policy.spec?.ingress, [{ ports: [{ port: 2802 }], from }]);
    const r = helm(['lint', '--strict', CHART], values);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
  });
});
