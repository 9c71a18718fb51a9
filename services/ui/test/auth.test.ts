/**
 * Local users, roles, CSRF and the headers, over real HTTP: no default
 * login, a viewer reads and cannot write, an admin writes only with the
 * session's CSRF token, and every response carries the strict CSP.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '@saker/config';
import { CONTENT_SECURITY_POLICY, checkAuth } from '../src/mod.js';
import { ADMIN, Client, VIEWER, uiEnv } from './helpers/env.js';

describe('auth', () => {
  it('refuses to start with no way to log in, unless anonymous viewing is set', () => {
    const config = (ui: Record<string, unknown>) =>
      loadConfig({ env: {}, onNotice: () => undefined, overrides: { ui } }).ui;
    assert.throws(() => checkAuth(config({})), /ui\.auth.*no way to log in/);
    assert.doesNotThrow(() => checkAuth(config({ auth: { anonymous: 'viewer' } })));
    assert.throws(
      () => config({ auth: { anonymous: 'admin' } }),
      /ui\.auth\.anonymous: expected one of viewer/,
    );
  });

  it('logs in local users, keeps roles apart, and needs the CSRF token on every write', async () => {
    await using env = await uiEnv();
    const anon = new Client(env.ui.url);
    const s = await anon.session();
    assert.deepEqual(
      { user: s.user, role: s.role, methods: s.methods },
      { user: null, role: null, methods: ['local'] },
    );
    assert.equal((await anon.fetch('api/events')).status, 401);
    const wrong = await anon.post('api/login', { username: ADMIN.username, password: 'nope' });
    assert.equal(wrong.status, 401);
    const unknown = await anon.post('api/login', { username: 'mallory', password: ADMIN.password });
    assert.equal(unknown.status, 401);
    const noCsrf = await anon.fetch('api/login', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ADMIN),
    });
    assert.equal(noCsrf.status, 403, 'the login itself needs the CSRF token');

    const viewer = new Client(env.ui.url);
    await viewer.login(VIEWER);
    const before = viewer.cookie;
    assert.equal((await viewer.fetch('api/events')).status, 200);
    const vs = await viewer.session();
    assert.deepEqual([vs.user, vs.role], ['bob', 'viewer']);
    const write = await viewer.post('api/rules/enabled', { rules: ['x'], enabled: false, comment: 'c' });
    assert.equal(write.status, 403, 'a viewer cannot write');

    const admin = new Client(env.ui.url);
    await admin.login(ADMIN);
    const forged = await admin.fetch('api/rules/enabled', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': 'forged' },
      body: JSON.stringify({ rules: ['x'], enabled: false, comment: 'c' }),
    });
    assert.equal(forged.status, 403);
    const other = await admin.fetch('api/rules/enabled', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf-token': viewer.csrf },
      body: JSON.stringify({ rules: ['x'], enabled: false, comment: 'c' }),
    });
    assert.equal(other.status, 403, "another session's token is no good");
    const ok = await admin.post('api/rules/enabled', { rules: ['x'], enabled: false, comment: 'c' });
    assert.equal(ok.status, 503, 'past auth and CSRF (no control API in this test)');

    // Logging out ends the session; the old cookie no longer works.
    assert.equal((await viewer.post('api/logout', {})).status, 200);
    const replay = new Client(env.ui.url);
    replay.cookie = before;
    assert.equal((await replay.fetch('api/events')).status, 401);
  });

  it('sets the session cookie HttpOnly, SameSite=Strict, on the base path, and the CSP on every response', async () => {
    await using env = await uiEnv({ ui: { base_path: '/saker' } });
    const c = new Client(env.ui.url);
    const res = await c.fetch('api/session');
    const cookie = res.headers.getSetCookie()[0] ?? '';
    assert.match(
      cookie,
      /^saker_ui=[A-Za-z0-9_-]{43}; Path=\/saker; Max-Age=\d+; HttpOnly; SameSite=Strict$/,
    );
    for (const path of ['api/session', 'api/events', 'index.html', 'some/route', 'api/nothing']) {
      const r = await c.fetch(path);
      assert.equal(r.headers.get('content-security-policy'), CONTENT_SECURITY_POLICY, path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
      assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
    }
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self';/);
    assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe/);
  });

  it('lets anonymous visitors view, never write, when ui.auth.anonymous is viewer', async () => {
    await using env = await uiEnv({ ui: { auth: { anonymous: 'viewer' } } });
    const c = new Client(env.ui.url);
    const s = await c.session();
    assert.equal(s.role, 'viewer');
    assert.equal((await c.fetch('api/events')).status, 200);
    assert.equal(
      (await c.post('api/rules/enabled', { rules: ['x'], enabled: true, comment: '' })).status,
      401,
    );
  });
});
