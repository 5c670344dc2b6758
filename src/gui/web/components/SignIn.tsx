import { type FormEvent, useState } from "react";
import { useApp } from "../context.js";
import { useRequest } from "../use-request.js";

export function SignIn() {
  const { call } = useApp();
  const { busy, run } = useRequest();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [guestName, setGuestName] = useState("");

  function signIn(event: FormEvent): void {
    event.preventDefault();
    void run(() => call("signIn", { username: username.trim(), password }));
  }

  function signUp(): void {
    void run(() => call("signUp", { username: username.trim(), password }));
  }

  function enterAsGuest(event: FormEvent): void {
    event.preventDefault();
    const name = guestName.trim();
    void run(() => call("guest", name === "" ? {} : { name }));
  }

  return (
    <main className="signin" aria-busy={busy}>
      <h1>Welcome to hychat</h1>
      <p className="lede">Chat in channels hosted by people's own peers.</p>
      <section className="card" aria-labelledby="account-heading">
        <h2 id="account-heading">Your account</h2>
        <form onSubmit={signIn}>
          <label htmlFor="signin-username">Username</label>
          <input
            id="signin-username"
            autoComplete="username"
            required
            value={username}
            onChange={(event) => setUsername(event.target.value)}
          />
          <label htmlFor="signin-password">Password</label>
          <input
            id="signin-password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(event) => setPassword(event.target.value)}
          />
          <p className="hint">
            New here? Pick a name and a password of at least 8 characters, then create your account.
          </p>
          <div className="actions">
            <button type="submit" className="primary" disabled={busy}>
              Sign in
            </button>
            <button
              type="button"
              disabled={busy || username.trim() === "" || password === ""}
              onClick={signUp}
            >
              Create account
            </button>
          </div>
        </form>
      </section>
      <section className="card" aria-labelledby="guest-heading">
        <h2 id="guest-heading">Just looking?</h2>
        <form onSubmit={enterAsGuest}>
          <label htmlFor="guest-name">Guest name (optional)</label>
          <input
            id="guest-name"
            autoComplete="off"
            value={guestName}
            onChange={(event) => setGuestName(event.target.value)}
          />
          <p className="hint">Guests can read channels but not send messages.</p>
          <div className="actions">
            <button type="submit" disabled={busy}>
              Enter as guest
            </button>
          </div>
        </form>
      </section>
    </main>
  );
}
