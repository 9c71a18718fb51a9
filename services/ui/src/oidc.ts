import { randomBytes } from 'node:crypto';
/**
 * OIDC login, as a relying party (openid-client): the authorization code
 * flow with PKCE, state and nonce. `auth/oidc/login` keeps the flow's
 * secrets server-side under a random id in the `saker_ui_oidc` cookie
 * (SameSite=Lax: it must come back on the provider's redirect, which the
 * Strict session cookie does not), `auth/oidc/callback` checks them,
 * reads the user and role claims (from the ID token, else from userinfo),
 * and starts a session. Roles: `admin_values` of `role_claim` make an
 * admin; `viewer_values` (any user when empty) a viewer; anyone else is
 * refused. An `http://` issuer is accepted on loopback only (tests).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { UiOidcConfig, UiRole } from '@saker/config';
import type { Logger } from '@saker/runtime';
import * as oidc from 'openid-client';
import type { OidcLogin } from './server.js';
import { type Sessions, cookieValue } from './sessions.js';

const FLOW_COOKIE = 'saker_ui_oidc';
const FLOW_TTL_MS = 10 * 60_000;
const MAX_FLOWS = 1000;

interface Flow {
  readonly state: string;
  readonly nonce: string;
  readonly verifier: string;
  readonly redirectUri: string;
  readonly expires: number;
}

/** The role `claims` give, or null when none does. */
function roleFrom(claims: Readonly<Record<string, unknown>>, c: UiOidcConfig): UiRole | null {
  const raw = claims[c.roleClaim];
  const values = Array.isArray(raw)
    ? raw.map(String)
    : raw === undefined || raw === null
      ? []
      : [String(raw)];
  if (values.some((v) => c.adminValues.includes(v))) return 'admin';
  if (c.viewerValues.length === 0 || values.some((v) => c.viewerValues.includes(v))) return 'viewer';
  return null;
}

export class OidcRelyingParty implements OidcLogin {
  readonly #c: UiOidcConfig;
  readonly #sessions: Sessions;
  readonly #basePath: string;
  readonly #secure: boolean;
  readonly #logger: Logger;
  readonly #flows = new Map<string, Flow>();
  #config: Promise<oidc.Configuration> | undefined;

  constructor(c: UiOidcConfig, sessions: Sessions, basePath: string, secure: boolean, logger: Logger) {
    this.#c = c;
    this.#sessions = sessions;
    this.#basePath = basePath;
    this.#secure = secure;
    this.#logger = logger;
  }

  /** The provider's metadata, discovered at the first login (the provider may start after the UI). */
  #discover(): Promise<oidc.Configuration> {
    this.#config ??= (async () => {
      const issuer = new URL(this.#c.issuer);
      const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(issuer.hostname);
      const insecure = issuer.protocol === 'http:' && loopback;
      return oidc.discovery(
        issuer,
        this.#c.clientId,
        this.#c.clientSecret ?? undefined,
        this.#c.clientSecret === null ? oidc.None() : undefined,
        insecure ? { execute: [oidc.allowInsecureRequests] } : undefined,
      );
    })();
    this.#config.catch(() => {
      this.#config = undefined;
    });
    return this.#config;
  }

  #flowCookie(value: string, maxAgeS: number): string {
    return `${FLOW_COOKIE}=${value}; Path=${this.#basePath}/auth/oidc; Max-Age=${maxAgeS}; HttpOnly; SameSite=Lax${this.#secure ? '; Secure' : ''}`;
  }

  #redirect(res: ServerResponse, location: string): void {
    res.statusCode = 302;
    res.setHeader('Location', location);
    res.setHeader('Cache-Control', 'no-store');
    res.end();
  }

  async login(_req: IncomingMessage, res: ServerResponse, origin: string): Promise<void> {
    const config = await this.#discover();
    const now = Date.now();
    for (const [id, f] of this.#flows)
      if (f.expires <= now || this.#flows.size >= MAX_FLOWS) this.#flows.delete(id);
    const verifier = oidc.randomPKCECodeVerifier();
    const flow: Flow = {
      state: oidc.randomState(),
      nonce: oidc.randomNonce(),
      verifier,
      redirectUri: this.#c.redirectUri ?? `${origin}${this.#basePath}/auth/oidc/callback`,
      expires: now + FLOW_TTL_MS,
    };
    const id = randomBytes(32).toString('base64url');
    this.#flows.set(id, flow);
    const url = oidc.buildAuthorizationUrl(config, {
      redirect_uri: flow.redirectUri,
      scope: this.#c.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: flow.state,
      nonce: flow.nonce,
    });
    res.appendHeader('Set-Cookie', this.#flowCookie(id, FLOW_TTL_MS / 1000));
    this.#redirect(res, url.href);
  }

  async callback(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const id = cookieValue(req, FLOW_COOKIE);
    const flow = id === null ? undefined : this.#flows.get(id);
    if (id !== null) this.#flows.delete(id);
    res.appendHeader('Set-Cookie', this.#flowCookie('', 0));
    const fail = (code: string, why: string): void => {
      this.#logger.warn(`OIDC login refused: ${why}`);
      this.#redirect(res, `${this.#basePath}/?login_error=${code}`);
    };
    if (flow === undefined || flow.expires <= Date.now())
      return fail('oidc_expired', 'no login in progress (or it expired)');
    let claims: Record<string, unknown>;
    try {
      const config = await this.#discover();
      const current = new URL(flow.redirectUri);
      current.search = url.search;
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
        expectedNonce: flow.nonce,
        idTokenExpected: true,
      });
      claims = { ...(tokens.claims() ?? {}) };
      const sub = typeof claims.sub === 'string' ? claims.sub : oidc.skipSubjectCheck;
      if (claims[this.#c.roleClaim] === undefined || claims[this.#c.usernameClaim] === undefined) {
        if (config.serverMetadata().userinfo_endpoint !== undefined) {
          claims = { ...(await oidc.fetchUserInfo(config, tokens.access_token, sub)), ...claims };
        }
      }
    } catch (err) {
      return fail('oidc_failed', err instanceof Error ? err.message : String(err));
    }
    const user = claims[this.#c.usernameClaim] ?? claims.sub;
    if (typeof user !== 'string' || user === '')
      return fail('oidc_failed', `no ${this.#c.usernameClaim} or sub claim`);
    const role = roleFrom(claims, this.#c);
    if (role === null)
      return fail('oidc_forbidden', `${JSON.stringify(user)} has no role (${this.#c.roleClaim})`);
    this.#sessions.login(req, res, user, role, 'oidc');
    this.#logger.info(`${user} logged in through OIDC (${role})`);
    this.#redirect(res, `${this.#basePath}/`);
  }
}
