/**
 * OIDC login against a real provider (oidc-provider) started here: the
 * authorization code flow with PKCE through real HTTP redirects, the role
 * from the provider's group claim, and users without a role refused.
 */
import assert from 'node:assert/strict';
import { type Server, createServer } from 'node:http';
import { describe, it } from 'node:test';
import Provider from 'oidc-provider';
import { Client, uiEnv } from './helpers/env.js';

const GROUPS: Readonly<Record<string, string[]>> = {
  carol: ['saker-admins'],
  dave: ['saker-viewers'],
  eve: ['others'],
};

/** A provider on a loopback port; its client is registered once the UI's callback URL is known. */
async function startProvider(): Promise<{
  issuer: string;
  server: Server;
  register(redirect: string): void;
  next: { account: string };
}> {
  const next = { account: 'carol' };
  let provider: Provider | undefined;
  const server = createServer((req, res) => {
    void (async () => {
      if (provider === undefined) {
        res.statusCode = 503;
        res.end();
        return;
      }
      if (req.url?.startsWith('/interaction/')) {
        const details = await provider.interactionDetails(req, res);
        let result: Record<string, unknown>;
        if (details.prompt.name === 'login') {
          result = { login: { accountId: next.account } };
        } else {
          const grant = new provider.Grant({
            accountId: details.session?.accountId ?? '',
            clientId: String(details.params.client_id),
          });
          grant.addOIDCScope(String(details.params.scope));
          result = { consent: { grantId: await grant.save() } };
        }
        await provider.interactionFinished(req, res, result, { mergeWithLastSubmission: true });
        return;
      }
      provider.callback()(req, res);
    })().catch((err: unknown) => {
      res.statusCode = 500;
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const issuer = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  return {
    issuer,
    server,
    next,
    register(redirect) {
      provider = new Provider(issuer, {
        clients: [
          {
            client_id: 'saker-ui',
            client_secret: 'a-client-secret-for-tests',
            redirect_uris: [redirect],
            grant_types: ['authorization_code'],
            response_types: ['code'],
          },
        ],
        findAccount: async (_ctx: unknown, id: string) => ({
          accountId: id,
          claims: async () => ({ sub: id, preferred_username: id, groups: GROUPS[id] ?? [] }),
        }),
        claims: { openid: ['sub'], profile: ['preferred_username', 'groups'] },
        interactions: {
          url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}`,
        },
        features: { devInteractions: { enabled: false } },
        cookies: { keys: ['a-cookie-key-for-tests'] },
      });
    },
  };
}

/** Follows the redirects of a browser login, with one cookie jar for both hosts' cookies. */
async function browserLogin(c: Client, start: string): Promise<string> {
  const jar = new Map<string, string>();
  let url = new URL(start, c.base).href;
  for (let hop = 0; hop < 20; hop++) {
    const cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, { redirect: 'manual', headers: cookie === '' ? {} : { cookie } });
    for (const sc of res.headers.getSetCookie()) {
      const [pair = ''] = sc.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      if (value === '' || /Max-Age=0/i.test(sc)) jar.delete(name);
      else jar.set(name, value);
    }
    const location = res.headers.get('location');
    await res.arrayBuffer();
    if (location === null || res.status < 300 || res.status >= 400) {
      throw new Error(`login stopped at ${url}: ${res.status}`);
    }
    const nextUrl = new URL(location, url);
    if (nextUrl.origin === new URL(c.base).origin && !nextUrl.pathname.includes('/auth/oidc/')) {
      c.cookie = jar.has('saker_ui') ? `saker_ui=${jar.get('saker_ui')}` : '';
      return nextUrl.pathname + nextUrl.search;
    }
    url = nextUrl.href;
  }
  throw new Error('too many redirects');
}

describe('oidc', () => {
  it('logs in through a real OIDC provider, with the role from its group claim', async () => {
    const idp = await startProvider();
    try {
      await using env = await uiEnv({
        ui: {
          base_path: '/saker',
          auth: {
            oidc: {
              issuer: idp.issuer,
              client_id: 'saker-ui',
              client_secret: 'a-client-secret-for-tests',
              admin_values: ['saker-admins'],
              viewer_values: ['saker-viewers'],
            },
          },
        },
      });
      idp.register(new URL('auth/oidc/callback', env.ui.url).href);

      const admin = new Client(env.ui.url);
      assert.deepEqual((await admin.session()).methods, ['local', 'oidc']);
      assert.equal(await browserLogin(admin, 'auth/oidc/login'), '/saker/');
      const s = await admin.session();
      assert.deepEqual([s.user, s.role], ['carol', 'admin']);
      assert.equal((await admin.fetch('api/events')).status, 200);

      idp.next.account = 'dave';
      const viewer = new Client(env.ui.url);
      await browserLogin(viewer, 'auth/oidc/login');
      const v = await viewer.session();
      assert.deepEqual([v.user, v.role], ['dave', 'viewer']);
      assert.equal(
        (await viewer.post('api/rules/enabled', { rules: ['x'], enabled: true, comment: '' })).status,
        403,
      );

      idp.next.account = 'eve';
      const outsider = new Client(env.ui.url);
      assert.equal(await browserLogin(outsider, 'auth/oidc/login'), '/saker/?login_error=oidc_forbidden');
      assert.equal((await outsider.session()).user, null);

      // A callback nobody started is refused.
      const forged = new Client(env.ui.url);
      const res = await forged.fetch('auth/oidc/callback?code=x&state=y');
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), '/saker/?login_error=oidc_expired');
    } finally {
      idp.server.closeAllConnections();
      await new Promise<void>((resolve) => idp.server.close(() => resolve()));
    }
  });
});
