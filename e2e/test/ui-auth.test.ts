/**
 * The web UI behind an ingress-like prefix and single sign-on: a reverse
 * proxy serves `saker ui` (base_path /saker) under http://proxy/saker only,
 * and a real OpenID Connect provider (the `oidc-provider` package) signs
 * users in. A viewer sees the rules but cannot change them (no controls, a
 * 403 from the API); an admin can.
 */
import assert from 'node:assert/strict';
import { type Server, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FalcoAlert } from '@saker/rules';
import Provider from 'oidc-provider';
import type { Browser } from 'playwright-core';
import { UiStack, guardedPage, launchChromium, reloadUntilTotal, screenshot } from './ui-harness.js';

const PREFIX = '/saker';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/**
 * An ingress with a path rule: only /saker/… goes to the UI (path kept, Host
 * kept); everything else is a 404, so a URL the UI forgot to make relative
 * fails. Every path asked for is recorded.
 */
class PrefixProxy {
  readonly server: Server;
  readonly paths: string[] = [];
  target = '';

  constructor() {
    this.server = createServer((req, res) => {
      const path = req.url ?? '/';
      this.paths.push(path);
      if (path !== PREFIX && !path.startsWith(`${PREFIX}/`)) {
        res.writeHead(404).end('outside the prefix');
        return;
      }
      const up = request(`${this.target}${path}`, { method: req.method, headers: req.headers }, (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      });
      up.on('error', () => res.writeHead(502).end());
      req.pipe(up);
    });
  }
}

function alert(i: number): FalcoAlert {
  return {
    time: new Date(Date.now() - i * 1000).toISOString(),
    rule: 'Interactive shell in a container',
    priority: 'Warning',
    source: 'syscall',
    hostname: 'node-a',
    tags: ['shell'],
    output: `Behind the proxy ${i}`,
    output_fields: { 'k8s.ns.name': 'prod', 'proc.name': 'bash' },
  };
}

describe('web UI under a path prefix with OIDC login and roles', { timeout: 240_000 }, () => {
  let proxy: PrefixProxy;
  let proxyUrl: string;
  let idp: Server;
  let stack: UiStack;
  let browser: Browser;

  before(async () => {
    proxy = new PrefixProxy();
    proxyUrl = await listen(proxy.server);
    idp = createServer();
    const issuer = await listen(idp);
    const provider = new Provider(issuer, {
      clients: [
        {
          client_id: 'saker-ui',
          client_secret: 'e2e-oidc-client-secret',
          redirect_uris: [`${proxyUrl}${PREFIX}/auth/oidc/callback`],
          grant_types: ['authorization_code'],
          response_types: ['code'],
        },
      ],
      claims: { openid: ['sub'], profile: ['preferred_username', 'groups'] },
      conformIdTokenClaims: false,
      // Users are whatever name the provider's login form is given; admins' names start with "admin".
      findAccount: (_ctx, id) => ({
        accountId: id,
        claims: () => ({
          sub: id,
          preferred_username: id,
          groups: id.startsWith('admin') ? ['saker-admins'] : ['staff'],
        }),
      }),
      cookies: { keys: ['e2e-oidc-cookie-key'] },
    });
    idp.on('request', provider.callback());
    stack = await UiStack.start({
      basePath: PREFIX,
      auth: [
        '    oidc:',
        `      issuer: ${JSON.stringify(issuer)}`,
        '      client_id: saker-ui',
        '      client_secret: e2e-oidc-client-secret',
        `      redirect_uri: ${JSON.stringify(`${proxyUrl}${PREFIX}/auth/oidc/callback`)}`,
        '      role_claim: groups',
        '      admin_values: [saker-admins]',
        '      viewer_values: [staff]',
      ],
    });
    proxy.target = stack.origin;
    await stack.publish([alert(1), alert(2), alert(3)]);
    browser = await launchChromium();
  });

  after(async () => {
    await browser?.close();
    await stack?.stop();
    proxy?.server.close();
    idp?.close();
  });

  async function signIn(user: string) {
    const g = await guardedPage(browser, proxyUrl);
    const { page } = g;
    await page.goto(`${proxyUrl}${PREFIX}/events?priority=Warning`);
    await page.getByRole('link', { name: 'Log in with single sign-on' }).click();
    await page.locator('input[name=login]').fill(user);
    await page.locator('input[name=password]').fill('any');
    await page.locator('button[type=submit]').click();
    // The provider asks for consent once per client and user.
    await page.locator('button[type=submit]', { hasText: /continue/i }).click();
    await page.waitForURL((u) => u.href.startsWith(`${proxyUrl}${PREFIX}`));
    await page.locator('.user').waitFor();
    return g;
  }

  it('a viewer signs in through the provider, sees the events under /saker, and cannot change rules', async () => {
    const { page, problems, context } = await signIn('bob');
    assert.match((await page.locator('.user').textContent()) ?? '', /bob \(viewer\)/);
    await page.locator('a[data-view=events]').click();
    // The store ingests asynchronously, and the view reads its figure once per load.
    await reloadUntilTotal(page, 3);
    await page.locator('a[data-view=rules]').click();
    await page.locator('tr[data-rule]').first().waitFor();
    assert.equal(
      await page.getByRole('button', { name: 'Disable selected' }).count(),
      0,
      'no admin controls',
    );
    const status = await page.evaluate(`fetch('api/session').then((r) => r.json()).then((s) =>
      fetch('api/rules/enabled', { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf },
        body: JSON.stringify({ rules: ['Interactive shell in a container'], enabled: false, comment: 'viewer try' }) }))
      .then((r) => r.status)`);
    assert.equal(status, 403, 'a viewer cannot write');
    // A deep link with filters works under the prefix after a reload.
    await page.goto(`${proxyUrl}${PREFIX}/events?priority=Warning&namespace=prod`);
    await page.locator('[data-testid=total]', { hasText: '3 events' }).waitFor();
    await screenshot(page, 'events-under-prefix');
    assert.deepEqual(problems, []);
    await context.close();
  });

  it('an admin signs in and can change rules; no request ever left the prefix', async () => {
    const { page, problems, context } = await signIn('admin-alice');
    assert.match((await page.locator('.user').textContent()) ?? '', /admin-alice \(admin\)/);
    await page.locator('a[data-view=rules]').click();
    const row = page.locator('tr[data-rule="Interactive shell in a container"]');
    await row.waitFor();
    await row.locator('input[type=checkbox]').check();
    await page.locator('input[name=comment]').fill('admin via sso');
    await page.getByRole('button', { name: 'Disable selected' }).click();
    await page.locator('.message', { hasText: 'disabled 1 rule' }).waitFor();
    // Without CSRF token a write is refused even for an admin.
    const noCsrf =
      await page.evaluate(`fetch('api/rules/enabled', { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rules: ['Interactive shell in a container'], enabled: true, comment: 'x' }) }).then((r) => r.status)`);
    assert.equal(noCsrf, 403);
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('link', { name: 'Log in with single sign-on' }).waitFor();
    assert.deepEqual(problems, []);
    await context.close();
    const outside = proxy.paths.filter((p) => p !== PREFIX && !p.startsWith(`${PREFIX}/`));
    assert.deepEqual(outside, [], 'every request the browser made to the UI stayed under the prefix');
  });
});
