import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, get, type Member, type Page } from "../api";
import { ErrorText, Field, Section, Select } from "../ui";
import { useOrgId } from "./OrgLayout";

const ROLES = ["owner", "admin", "member", "billing", "viewer"] as const;

export function Members() {
  const orgId = useOrgId();
  const client = useQueryClient();
  const path = `/admin/v1/orgs/${orgId}/members`;
  const members = useQuery({ queryKey: ["members", orgId], queryFn: () => get<Page<Member>>(`${path}?limit=200`) });
  const refresh = () => client.invalidateQueries({ queryKey: ["members", orgId] });
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("member");
  const [password, setPassword] = useState("");
  const add = useMutation({
    mutationFn: () => api("POST", path, { email, role, ...(password ? { password } : {}) }),
    onSuccess: () => {
      setEmail("");
      setPassword("");
      refresh();
    },
  });
  const change = useMutation({
    mutationFn: ({ userId, role }: { userId: string; role: string }) =>
      api("PATCH", `${path}/${userId}`, { role }),
    onSettled: refresh,
  });
  const remove = useMutation({
    mutationFn: (userId: string) => api("DELETE", `${path}/${userId}`),
    onSuccess: refresh,
  });
  function submit(event: FormEvent) {
    event.preventDefault();
    add.mutate();
  }
  return (
    <Section title="Members">
      <ErrorText error={members.error ?? change.error ?? remove.error} />
      <table>
        <thead>
          <tr><th>Email</th><th>Role</th><th></th></tr>
        </thead>
        <tbody>
          {members.data?.data.map((m) => (
            <tr key={m.user_id}>
              <td>{m.email}</td>
              <td>
                <label className="sr-only" htmlFor={`role-${m.user_id}`}>Role of {m.email}</label>
                <select id={`role-${m.user_id}`} value={m.role}
                  onChange={(e) => change.mutate({ userId: m.user_id, role: e.target.value })}>
                  {ROLES.map((r) => <option key={r} value={r}>{r}</option>)}
                </select>
              </td>
              <td>
                <button type="button" aria-label={`Remove ${m.email}`}
                  onClick={() => window.confirm(`Remove ${m.email} from this organisation?`) && remove.mutate(m.user_id)}>
                  Remove
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form onSubmit={submit} aria-label="Add member" className="inline">
        <Field label="Member email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Select label="Role" value={role} onChange={setRole} options={ROLES} />
        <Field label="Password for a new user (optional)" type="password" minLength={8} value={password}
          onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
        <button type="submit" disabled={add.isPending}>Add member</button>
      </form>
      <ErrorText error={add.error} />
    </Section>
  );
}
