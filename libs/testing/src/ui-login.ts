/**
 * Checks of a running web UI (`saker ui`) as shipped (the Debian package,
 * the images), where only HTTP reaches it: its front end, and a request as a
 * logged-in local user the way the front end makes it (api/session for the
 * session cookie and CSRF token, api/login, then the request).
 */

interface UiLogin {
  readonly username: string;
  readonly password: string;
}

/** The `saker_ui` cookie a response set, else `current`. */
function sessionCookie(res: Response, current: string): string {
  for (const c of res.headers.getSetCookie()) {
    const [pair = ''] = c.split(';');
    if (pair.startsWith('saker_ui=')) return pair;
  }
  return current;
}

/** A logged-in session: requests carry its cookie, and writes its CSRF token. */
interface UiSession {
  get(path: string): Promise<Response>;
  /** POSTs `body` as JSON. */
  post(path: string, body: unknown): Promise<Response>;
}

/** Logs in at `base` (the UI's URL with its base path) as a local user; throws when the login fails. */
export async function uiLogin(base: string | URL, login: UiLogin): Promise<UiSession> {
  const session = await fetch(new URL('api/session', base));
  if (session.status !== 200) throw new Error(`${base} api/session: ${session.status}`);
  const { csrf } = (await session.json()) as { csrf?: unknown };
  let cookie = sessionCookie(session, '');
  const res = await fetch(new URL('api/login', base), {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': String(csrf) },
    body: JSON.stringify(login),
  });
  if (res.status !== 200)
    throw new Error(`${base} api/login as ${login.username}: ${res.status} ${await res.text()}`);
  cookie = sessionCookie(res, cookie);
  // The session's token changes at login.
  const token = String(((await res.json()) as { csrf?: unknown }).csrf);
  return {
    get: (path) => fetch(new URL(path, base), { headers: { cookie } }),
    post: (path, body) =>
      fetch(new URL(path, base), {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/json', 'x-csrf-token': token },
        body: JSON.stringify(body),
      }),
  };
}

/** GETs `path` (relative to `base`, the UI's URL with its base path) after logging in; throws when the login fails. */
export async function uiGetLoggedIn(base: string | URL, login: UiLogin, path: string): Promise<Response> {
  return (await uiLogin(base, login)).get(path);
}

/**
 * Checks that the UI at `base` serves the built front end (not the
 * placeholder page it shows when the front end is missing) and the script
 * index.html names; throws naming what was wrong.
 */
export async function assertUiFrontEnd(base: string | URL): Promise<void> {
  const index = await fetch(base);
  const html = await index.text();
  if (index.status !== 200) throw new Error(`${base}: ${index.status} ${html.slice(0, 200)}`);
  if (/not built here/.test(html)) throw new Error(`${base}: the placeholder page, not the front end`);
  const script = /<script[^>]+src="\.?\/?([^"]+\.js)"/.exec(html)?.[1];
  if (script === undefined) throw new Error(`${base}: index.html names no script:\n${html}`);
  const js = await fetch(new URL(script, base));
  if (js.status !== 200 || !/javascript/.test(js.headers.get('content-type') ?? '')) {
    throw new Error(`${base}${script}: ${js.status} ${js.headers.get('content-type')}`);
  }
}
