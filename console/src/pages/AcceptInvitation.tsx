import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router-dom";
import { api, type Member } from "../api";
import { ErrorText, Field } from "../ui";

// Public: the invitee is not signed in. Their password (or the new account's) proves it.
export function AcceptInvitation() {
  const [params] = useSearchParams();
  const [token, setToken] = useState(params.get("token") ?? "");
  const [password, setPassword] = useState("");
  const [joined, setJoined] = useState<Member | null>(null);
  const [error, setError] = useState<unknown>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    try {
      setJoined(await api<Member>("POST", "/admin/v1/invitations/accept", { token, password }));
    } catch (e) {
      setError(e);
    }
  }

  return (
    <main className="login">
      <h1>Join an organisation</h1>
      {joined ? (
        <p role="status">
          You joined as {joined.role}. <Link to="/login">Sign in</Link>
        </p>
      ) : (
        <form onSubmit={submit} aria-label="Accept invitation">
          <Field label="Invitation token" required value={token} onChange={(e) => setToken(e.target.value)} />
          <Field label="Password" type="password" autoComplete="new-password" minLength={8} required
            value={password} onChange={(e) => setPassword(e.target.value)} />
          <p className="muted">Your password if you have an account; otherwise the new account's.</p>
          <button type="submit">Accept invitation</button>
          <ErrorText error={error} />
        </form>
      )}
    </main>
  );
}
