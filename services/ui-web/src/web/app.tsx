/**
 * The shell: session, navigation and theme. The view is the path under the
 * base (dashboard, events, rules, health, info, login) and the filters are
 * the query string, so every view can be bookmarked and shared.
 */
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError, LOGGED_OUT, type Session, api, setCsrf } from './api.js';
import { Dashboard } from './dashboard.js';
import { EventsView } from './events.js';
import { Filters } from './filters.js';
import { HealthView } from './health.js';
import { InfoView } from './info.js';
import { LoginView } from './login.js';
import { RulesView } from './rules.js';

const VIEWS = ['dashboard', 'events', 'rules', 'health', 'info'] as const;
type View = (typeof VIEWS)[number] | 'login';

function basePath(): string {
  return new URL(document.baseURI).pathname;
}

function readView(): View {
  const base = basePath();
  const rest = location.pathname.startsWith(base) ? location.pathname.slice(base.length) : '';
  const name = rest.split('/')[0] ?? '';
  return name === 'login' || (VIEWS as readonly string[]).includes(name) ? (name as View) : 'dashboard';
}

export interface Nav {
  readonly filters: Filters;
  /** Shows `view` with `filters` (a new history entry unless `replace`). */
  go(view: View, filters: Filters, replace?: boolean): void;
  /** Changes the filters of the current view. */
  filter(filters: Filters): void;
  readonly theme: string;
  readonly session: Session;
}

function initialTheme(): string {
  const saved = localStorage.getItem('saker-theme');
  if (saved === 'dark' || saved === 'light') return saved;
  return matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export function App() {
  const [loc, setLoc] = useState(() => ({ view: readView(), filters: Filters.parse(location.search) }));
  const [session, setSession] = useState<Session | undefined>();
  const [sessionError, setSessionError] = useState<string | undefined>();
  const [theme, setTheme] = useState(initialTheme);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem('saker-theme', theme);
  }, [theme]);

  const loadSession = useCallback(() => {
    api.session().then(
      (s) => {
        setCsrf(s.csrf);
        setSession(s);
      },
      (err: unknown) => setSessionError(err instanceof Error ? err.message : String(err)),
    );
  }, []);
  useEffect(() => {
    loadSession();
    addEventListener(LOGGED_OUT, loadSession);
    return () => removeEventListener(LOGGED_OUT, loadSession);
  }, [loadSession]);

  useEffect(() => {
    const onPop = () => setLoc({ view: readView(), filters: Filters.parse(location.search) });
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const go = useCallback((view: View, filters: Filters, replace = false) => {
    const q = filters.toString();
    const url = new URL((view === 'dashboard' ? '' : view) + (q === '' ? '' : `?${q}`), document.baseURI);
    if (replace) history.replaceState(null, '', url);
    else history.pushState(null, '', url);
    setLoc({ view, filters });
  }, []);

  if (sessionError !== undefined) return <p class="error">Cannot reach the server: {sessionError}</p>;
  if (session === undefined) return <p class="loading">Loading…</p>;
  if (session.role === null || loc.view === 'login') {
    const onLogin = () => {
      loadSession();
      if (loc.view === 'login') go('dashboard', loc.filters, true);
    };
    return <LoginView session={session} onLogin={onLogin} theme={theme} onTheme={setTheme} />;
  }

  const nav: Nav = {
    filters: loc.filters,
    go,
    filter: (f) => go(loc.view, f, false),
    theme,
    session,
  };
  const logout = () => api.logout().then(loadSession, loadSession);
  const view = loc.view;

  return (
    <div class="app">
      <header class="top">
        <span class="brand">Saker</span>
        <nav>
          {VIEWS.map((v) => (
            <a
              key={v}
              href={
                new URL((v === 'dashboard' ? '' : v) + filtersSuffix(v, loc.filters), document.baseURI).href
              }
              class={v === view ? 'active' : ''}
              data-view={v}
              onClick={(e) => {
                e.preventDefault();
                go(v, v === 'dashboard' || v === 'events' ? loc.filters : Filters.parse(''));
              }}
            >
              {v[0]?.toUpperCase() + v.slice(1)}
            </a>
          ))}
        </nav>
        <span class="spacer" />
        <button
          type="button"
          class="theme"
          aria-label="Toggle dark mode"
          onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')}
        >
          {theme === 'dark' ? '☀ Light' : '☾ Dark'}
        </button>
        <span class="user" data-role={session.role}>
          {session.user ?? 'anonymous'} ({session.role})
        </span>
        {session.user !== null ? (
          <button type="button" onClick={logout}>
            Log out
          </button>
        ) : (
          session.methods.length > 0 && (
            <button type="button" onClick={() => go('login', loc.filters)}>
              Log in
            </button>
          )
        )}
      </header>
      <main>
        {view === 'dashboard' && <Dashboard nav={nav} />}
        {view === 'events' && <EventsView nav={nav} />}
        {view === 'rules' && <RulesView nav={nav} />}
        {view === 'health' && <HealthView nav={nav} />}
        {view === 'info' && <InfoView />}
      </main>
    </div>
  );
}

function filtersSuffix(view: string, filters: Filters): string {
  const q = filters.toString();
  return (view === 'dashboard' || view === 'events') && q !== '' ? `?${q}` : '';
}

/** A message for a failed call: a 403 on a write says the role is too low. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError && err.status === 403) return `not allowed (${err.message})`;
  return err instanceof Error ? err.message : String(err);
}
