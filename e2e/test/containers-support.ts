/**
 * What the container e2e files share: Kubernetes audit events as the API
 * server posts them, a poster that retries as its webhook backend does, and
 * a poll with a deadline.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

/** A bearer token both the audit webhook and control accept in the container tests. */
export const E2E_TOKEN = 'containers-e2e-token-0123456789abcdef';

/**
 * One `audit.k8s.io/v1` Event (stage ResponseComplete) of `verb` on
 * `resource` `name` in default: level Metadata, or Request with `requestObject`.
 */
export function auditEvent(
  verb: string,
  resource: string,
  name: string,
  requestObject?: Record<string, unknown>,
): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: requestObject === undefined ? 'Metadata' : 'Request',
    ...(requestObject === undefined ? {} : { requestObject }),
    auditID: randomUUID(),
    stage: 'ResponseComplete',
    requestURI: `/api/v1/namespaces/default/${resource}`,
    verb,
    user: { username: 'e2e', groups: ['system:authenticated'] },
    sourceIPs: ['10.0.0.7'],
    userAgent: 'kubectl/v1.34.4',
    objectRef: { resource, namespace: 'default', name, apiVersion: 'v1' },
    responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 },
    requestReceivedTimestamp: now,
    stageTimestamp: now,
    annotations: { 'authorization.k8s.io/decision': 'allow', 'authorization.k8s.io/reason': '' },
  };
}

/**
 * Posts one EventList until the webhook answers 200 (stored in SAKER_AUDIT),
 * retrying errors and 503s with backoff as the API server's webhook backend
 * does; returns the tries it took. `url` as a function is asked again before
 * each try (a published port of 0 is a new host port after each restart).
 */
export async function postUntilStored(
  url: string | (() => string),
  token: string,
  items: readonly Record<string, unknown>[],
): Promise<number> {
  const body = JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });
  const deadline = Date.now() + 60_000;
  for (let tries = 1; ; tries++) {
    const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));
    let at = typeof url === 'string' ? url : '(no address yet)';
    const res = await Promise.resolve()
      .then(() => {
        if (typeof url !== 'string') at = url();
        return fetch(at, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
          body,
          signal: AbortSignal.timeout(10_000),
        });
      })
      .catch(asError);
    if (!(res instanceof Error)) {
      await res.arrayBuffer();
      if (res.status === 200) return tries;
    }
    assert.ok(
      Date.now() < deadline,
      `${at}: no 200 in 60 s (${res instanceof Error ? res.message : res.status})`,
    );
    await new Promise((r) => setTimeout(r, Math.min(1000, 50 * tries)));
  }
}

/** Polls `probe` every 100 ms until it returns a value (not undefined); fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined> | T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
