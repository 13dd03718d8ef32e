import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, get, type Invitation, type Member, type Page } from "../api";
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
  const [invited, setInvited] = useState<Invitation | null>(null);
  const add = useMutation({
    mutationFn: () => api<Invitation>("POST", path, { email, role }),
    onSuccess: (invitation) => {
      setEmail("");
      setInvited(invitation);
      refresh();
    },
  });
  const acceptUrl = invited
    ? `${window.location.origin}/console/invite?token=${encodeURIComponent(invited.token)}`
    : "";
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
      <form onSubmit={submit} aria-label="Invite member" className="inline">
        <Field label="Member email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        <Select label="Role" value={role} onChange={setRole} options={ROLES} />
        <button type="submit" disabled={add.isPending}>Invite member</button>
      </form>
      <ErrorText error={add.error} />
      {invited && (
        <div className="secret" role="status">
          <p>
            Invitation for {invited.email} ({invited.role}), shown this once: send them this link. They
            join when they accept it with their password.
          </p>
          <code data-testid="invite-link">{acceptUrl}</code>
          <button type="button" onClick={() => navigator.clipboard.writeText(acceptUrl)}>Copy link</button>
          <button type="button" onClick={() => setInvited(null)}>Done</button>
        </div>
      )}
    </Section>
  );
}
