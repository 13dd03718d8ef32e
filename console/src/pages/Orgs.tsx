import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link } from "react-router-dom";
import { api, get, type Org, type Page, type Session } from "../api";
import { ErrorText, Field } from "../ui";

export function Orgs() {
  const orgs = useQuery({ queryKey: ["orgs"], queryFn: () => get<Page<Org>>("/admin/v1/orgs?limit=200") });
  const client = useQueryClient();
  const session = client.getQueryData<Session>(["session"]);
  const [name, setName] = useState("");
  const create = useMutation({
    mutationFn: () => api<Org>("POST", "/admin/v1/orgs", { name }),
    onSuccess: () => {
      setName("");
      client.invalidateQueries({ queryKey: ["orgs"] });
    },
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    create.mutate();
  }
  return (
    <>
      <h1>Organisations</h1>
      <ErrorText error={orgs.error} />
      {orgs.data && orgs.data.data.length === 0 && <p>You are in no organisation yet.</p>}
      <ul className="orgs">
        {orgs.data?.data.map((org) => (
          <li key={org.id}>
            <Link to={`/orgs/${org.id}/keys`}>{org.name}</Link>
            {org.role && <span className="muted"> {org.role}</span>}
          </li>
        ))}
      </ul>
      {session?.platform_admin && (
        <form onSubmit={submit} aria-label="New organisation" className="inline">
          <Field label="Organisation name" required value={name} onChange={(e) => setName(e.target.value)} />
          <button type="submit" disabled={create.isPending}>Create organisation</button>
          <ErrorText error={create.error} />
        </form>
      )}
    </>
  );
}
