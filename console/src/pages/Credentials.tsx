import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, get, when, type Credential, type Page } from "../api";
import { ErrorText, Field, Section, Select } from "../ui";
import { useOrgId } from "./OrgLayout";

const PROVIDERS = ["openai", "anthropic", "gemini", "groq", "huggingface"] as const;

export function Credentials() {
  const orgId = useOrgId();
  const client = useQueryClient();
  const path = `/admin/v1/orgs/${orgId}/provider-credentials`;
  const creds = useQuery({ queryKey: ["credentials", orgId], queryFn: () => get<Page<Credential>>(path) });
  const refresh = () => client.invalidateQueries({ queryKey: ["credentials", orgId] });
  const [provider, setProvider] = useState<string>("openai");
  const [secret, setSecret] = useState("");
  const save = useMutation({
    mutationFn: () => api("PUT", `${path}/${provider}`, { api_key: secret }),
    onSuccess: () => {
      setSecret(""); // the secret never comes back: the list shows its last four characters
      refresh();
    },
  });
  const remove = useMutation({
    mutationFn: (p: string) => api("DELETE", `${path}/${p}`),
    onSuccess: refresh,
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate();
  }
  return (
    <Section title="Provider credentials">
      <p className="muted">Your organisation's own provider keys (BYOK). A key is never shown again.</p>
      <ErrorText error={creds.error ?? remove.error} />
      <table>
        <thead>
          <tr><th>Provider</th><th>Key</th><th>Updated</th><th></th></tr>
        </thead>
        <tbody>
          {creds.data?.data.map((c) => (
            <tr key={c.provider}>
              <td>{c.provider}</td>
              <td><code>…{c.last4}</code></td>
              <td>{when(c.updated_at)}</td>
              <td>
                <button type="button" aria-label={`Delete ${c.provider} credential`}
                  onClick={() => window.confirm(`Delete the ${c.provider} key?`) && remove.mutate(c.provider)}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={submit} aria-label="Set provider credential" className="inline">
        <Select label="Provider" value={provider} onChange={setProvider} options={PROVIDERS} />
        <Field label="Provider API key" type="password" autoComplete="off" required value={secret}
          onChange={(e) => setSecret(e.target.value)} />
        <button type="submit" disabled={save.isPending}>Save credential</button>
      </form>
      <ErrorText error={save.error} />
    </Section>
  );
}
