import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, get, when, type CreatedKey, type Key, type Page } from "../api";
import { ErrorText, Field, Section } from "../ui";
import { useOrgId } from "./OrgLayout";
import { rememberKey } from "./playgroundKey";

export function Keys() {
  const orgId = useOrgId();
  const client = useQueryClient();
  const path = `/admin/v1/orgs/${orgId}/keys`;
  const keys = useQuery({ queryKey: ["keys", orgId], queryFn: () => get<Page<Key>>(`${path}?limit=200`) });
  const [name, setName] = useState("");
  const [created, setCreated] = useState<CreatedKey | null>(null);
  const [copied, setCopied] = useState(false);
  const refresh = () => client.invalidateQueries({ queryKey: ["keys", orgId] });
  const create = useMutation({
    mutationFn: () => api<CreatedKey>("POST", path, { name }),
    onSuccess: (key) => {
      setCreated(key);
      setCopied(false);
      setName("");
      rememberKey(orgId, key.key);
      refresh();
    },
  });
  const revoke = useMutation({
    mutationFn: (id: string) => api("DELETE", `${path}/${id}`),
    onSuccess: refresh,
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }
  async function copy() {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  }
  return (
    <Section title="API keys">
      <form onSubmit={submit} aria-label="New key" className="inline">
        <Field label="Key name" required value={name} onChange={(e) => setName(e.target.value)} />
        <button type="submit" disabled={create.isPending}>Create key</button>
      </form>
      <ErrorText error={create.error} />
      {created && (
        <div className="secret" role="status">
          <p>Your new key, shown this once only: store it now.</p>
          <code data-testid="new-key">{created.key}</code>
          <button type="button" onClick={copy}>{copied ? "Copied" : "Copy"}</button>
          <button type="button" onClick={() => setCreated(null)}>Done</button>
        </div>
      )}
      <ErrorText error={keys.error ?? revoke.error} />
      <table>
        <thead>
          <tr><th>Name</th><th>Key</th><th>Status</th><th>Last used</th><th>Created</th><th></th></tr>
        </thead>
        <tbody>
          {keys.data?.data.map((key) => (
            <tr key={key.id}>
              <td>{key.name}</td>
              <td><code>{key.prefix}…</code></td>
              <td>{key.status}</td>
              <td>{when(key.last_used_at)}</td>
              <td>{when(key.created_at)}</td>
              <td>
                {key.status === "active" && (
                  <button type="button" aria-label={`Revoke ${key.name}`}
                    onClick={() => window.confirm(`Revoke ${key.name}? Apps using it stop working.`) && revoke.mutate(key.id)}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
