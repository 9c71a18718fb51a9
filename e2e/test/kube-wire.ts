/**
 * The Kubernetes API stand-in of @saker/testing (kube-api.ts) checked against
 * the real API server's wire format: the same requests to both, the same
 * shape back (a list's envelope, each watch event type's envelope, an ERROR
 * event's Status, the content type and chunked watch streams). The stand-in
 * is fed the real server's own objects, so items compare as they are.
 */
import assert from 'node:assert/strict';
import { startKubeApiServer } from '@saker/testing';
import { kubectl, waitFor } from './k8s.js';
import { type KubeEndpoint, eventShape, kubeGet, kubeWatch, listShape } from './kube-raw.js';

const NAME = 'saker-wire-e2e';

interface Event {
  type: string;
  object: { metadata?: { name?: string } };
}

const firstOf = (events: readonly unknown[], type: string): unknown =>
  (events as Event[]).find((e) => e.type === type && (type === 'ERROR' || e.object.metadata?.name === NAME));

/** Drops the optional `details` of a Status (a 410 has none; other errors may). */
function withoutDetails(shape: Record<string, unknown>): Record<string, unknown> {
  const keys = shape.statusKeys;
  const types = shape.statusTypes;
  if (!Array.isArray(keys) || typeof types !== 'object' || types === null) return shape;
  const { details: _d, ...rest } = types as Record<string, unknown>;
  return { ...shape, statusKeys: keys.filter((k) => k !== 'details'), statusTypes: rest };
}

export async function compareWireFormat(real: KubeEndpoint): Promise<void> {
  // --- the real API server -------------------------------------------------------------------
  const realList = await kubeGet(real, '/api/v1/namespaces');
  assert.equal(realList.status, 200);
  const listed = realList.json as {
    metadata: { resourceVersion: string };
    items: { metadata: { name: string; uid?: string; labels?: Record<string, string> } }[];
  };
  const realWatch = await kubeWatch(
    real,
    `/api/v1/namespaces?watch=true&allowWatchBookmarks=true&resourceVersion=${listed.metadata.resourceVersion}`,
  );
  kubectl('create', 'namespace', NAME);
  kubectl('label', 'namespace', NAME, 'wire=yes');
  kubectl('delete', 'namespace', NAME, '--wait=false');
  await waitFor('the real watch to carry ADDED, MODIFIED and DELETED', 60_000, () =>
    ['ADDED', 'MODIFIED', 'DELETED'].every((t) => firstOf(realWatch.events, t) !== undefined)
      ? true
      : undefined,
  );
  realWatch.close();
  // An ERROR event of the real server: a watch it cannot serve (a streaming list without the
  // storage feature it needs) is answered 200 with one ERROR event carrying a Status.
  const realError = await kubeWatch(
    real,
    '/api/v1/namespaces?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&timeoutSeconds=5',
  );
  await realError.ended;

  // --- the stand-in, given the real server's objects --------------------------------------------
  await using kube = await startKubeApiServer();
  for (const item of listed.items) kube.apply('namespaces', item);
  kube.writeKubeconfig('wire');
  const fake: KubeEndpoint = { base: kube.url, token: 'saker-test-wire' };
  const fakeList = await kubeGet(fake, '/api/v1/namespaces');
  const fakeWatch = await kubeWatch(
    fake,
    `/api/v1/namespaces?watch=true&allowWatchBookmarks=true&resourceVersion=${kube.resourceVersion}`,
  );
  const ns = { metadata: { name: NAME, uid: 'wire-uid' } };
  kube.apply('namespaces', ns);
  kube.apply('namespaces', { metadata: { ...ns.metadata, labels: { wire: 'yes' } } });
  kube.remove('namespaces', NAME);
  await waitFor('the stand-in watch to carry ADDED, MODIFIED and DELETED', 10_000, () =>
    ['ADDED', 'MODIFIED', 'DELETED'].every((t) => firstOf(fakeWatch.events, t) !== undefined)
      ? true
      : undefined,
  );
  fakeWatch.close();
  const before = kube.resourceVersion;
  kube.apply('namespaces', { metadata: { name: 'later', uid: 'later-uid' } });
  kube.compact();
  const fakeGone = await kubeWatch(fake, `/api/v1/namespaces?watch=true&resourceVersion=${before}`);
  await fakeGone.ended;

  // --- the same shape ----------------------------------------------------------------------------
  assert.equal(fakeList.status, realList.status);
  assert.equal(fakeList.contentType, realList.contentType);
  assert.deepEqual(listShape(fakeList.json), listShape(realList.json));
  assert.equal(fakeWatch.status, realWatch.status);
  assert.equal(fakeWatch.contentType, realWatch.contentType);
  assert.equal(fakeWatch.transferEncoding, realWatch.transferEncoding);
  for (const type of ['ADDED', 'MODIFIED', 'DELETED']) {
    assert.deepEqual(
      eventShape(firstOf(fakeWatch.events, type)),
      eventShape(firstOf(realWatch.events, type)),
      type,
    );
  }
  const realErr = firstOf(realError.events, 'ERROR');
  const fakeErr = firstOf(fakeGone.events, 'ERROR');
  assert.ok(
    realErr !== undefined,
    `the real server sent no ERROR event: ${JSON.stringify(realError.events)}`,
  );
  assert.ok(fakeErr !== undefined, 'the stand-in sent no ERROR event');
  assert.equal(fakeGone.status, realError.status);
  assert.deepEqual(withoutDetails(eventShape(fakeErr)), withoutDetails(eventShape(realErr)));
  assert.equal((fakeErr as { object: { code: number } }).object.code, 410);
  process.stdout.write(
    `# wire format: list ${JSON.stringify(listShape(realList.json))}\n# watch ${JSON.stringify(eventShape(firstOf(realWatch.events, 'MODIFIED')))}\n# error ${JSON.stringify(eventShape(realErr))}\n`,
  );
}
