/** Login: local users (name and password) and, when configured, OIDC. */
import { useState } from 'preact/hooks';
import { ApiError, type Session, api, oidcLoginUrl } from './api.js';
import { TextInput } from './controls.js';

interface Props {
  readonly session: Session;
  readonly onLogin: () => void;
  readonly theme: string;
  readonly onTheme: (t: string) => void;
}

export function LoginView({ session, onLogin, theme, onTheme }: Props) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const submit = (e: Event) => {
    e.preventDefault();
    api
      .login(username, password)
      .then(onLogin, (err: unknown) =>
        setError(err instanceof ApiError && err.status === 401 ? 'Wrong user name or password' : String(err)),
      );
  };
  return (
    <main class="login">
      <h1>Saker</h1>
      {session.methods.includes('local') && (
        <form onSubmit={submit} aria-label="Log in">
          <TextInput
            name="username"
            label="User"
            autoComplete="username"
            value={username}
            onValue={setUsername}
          />
          <TextInput
            name="password"
            label="Password"
            type="password"
            autoComplete="current-password"
            value={password}
            onValue={setPassword}
          />
          <button type="submit">Log in</button>
        </form>
      )}
      {session.methods.includes('oidc') && (
        <a class="button" href={oidcLoginUrl}>
          Log in with single sign-on
        </a>
      )}
      {error !== undefined && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <button type="button" class="theme" onClick={() => onTheme(theme === 'dark' ? 'light' : 'dark')}>
        {theme === 'dark' ? '☀ Light' : '☾ Dark'}
      </button>
    </main>
  );
}
