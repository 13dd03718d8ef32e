import { useState, type FormEvent } from "react";
import { useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "react-router-dom";
import { ApiError, api, type Session } from "../api";
import { ErrorText, Field } from "../ui";

export function Login() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [needCode, setNeedCode] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const client = useQueryClient();
  const navigate = useNavigate();

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = needCode ? { email, password, code } : { email, password };
      const session = await api<Session>("POST", "/admin/v1/auth/session", body);
      client.clear();
      client.setQueryData(["session"], session);
      navigate("/");
    } catch (e) {
      if (e instanceof ApiError && e.code === "mfa_required") {
        setNeedCode(true); // the password was right: the second step
        setError(new Error("Enter the one-time code from your authenticator app"));
      } else if (e instanceof ApiError && e.status === 401 && !needCode) {
        // 401 never says which of the two was wrong; a lockout (429) says when to retry.
        setError(new Error("Invalid email or password"));
      } else {
        setError(e);
      }
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <h1>AISTRALE console</h1>
      <form onSubmit={submit} aria-label="Sign in">
        <Field label="Email" type="email" autoComplete="username" required value={email}
          onChange={(e) => setEmail(e.target.value)} autoFocus />
        <Field label="Password" type="password" autoComplete="current-password" required
          value={password} onChange={(e) => setPassword(e.target.value)} />
        {needCode && (
          <Field label="One-time code" inputMode="numeric" autoComplete="one-time-code" required
            value={code} onChange={(e) => setCode(e.target.value)} autoFocus />
        )}
        <button type="submit" disabled={busy}>
          Sign in
        </button>
        <ErrorText error={error} />
      </form>
    </main>
  );
}
