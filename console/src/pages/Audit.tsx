import { useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useParams } from "react-router-dom";
import { api, get, when, type AuditEntry, type Page, type Session, type Verification } from "../api";
import { ErrorText, Field, Section } from "../ui";

export function Audit() {
  const orgId = useParams().orgId;
  const session = useQueryClient().getQueryData<Session>(["session"]);
  const [action, setAction] = useState("");
  const [actor, setActor] = useState("");
  const [outcome, setOutcome] = useState("");
  const [since, setSince] = useState("");
  const [filter, setFilter] = useState({ action: "", actor: "", outcome: "", since: "" });
  const audit = useQuery({
    queryKey: ["audit", orgId, filter],
    queryFn: () => {
      const q = new URLSearchParams({ limit: "100" });
      if (orgId) q.set("org_id", orgId);
      if (filter.action) q.set("action", filter.action);
      if (filter.actor) q.set("actor_id", filter.actor);
      if (filter.outcome) q.set("outcome", filter.outcome);
      if (filter.since) q.set("since", new Date(filter.since).toISOString());
      return get<Page<AuditEntry>>(`/admin/v1/audit?${q}`);
    },
  });
  const verify = useMutation({ mutationFn: () => api<Verification>("GET", "/admin/v1/audit/verify") });
  function submit(event: FormEvent) {
    event.preventDefault();
    setFilter({ action, actor, outcome, since });
  }
  return (
    <Section title="Audit log">
      <form onSubmit={submit} aria-label="Filter audit log" className="inline">
        <Field label="Action" placeholder="key.create" value={action} onChange={(e) => setAction(e.target.value)} />
        <Field label="Actor id" value={actor} onChange={(e) => setActor(e.target.value)} />
        <Field label="Outcome" placeholder="success, failure:…" value={outcome}
          onChange={(e) => setOutcome(e.target.value)} />
        <Field label="Since" type="datetime-local" value={since} onChange={(e) => setSince(e.target.value)} />
        <button type="submit">Filter</button>
      </form>
      {session?.platform_admin && (
        <p>
          <button type="button" onClick={() => verify.mutate()} disabled={verify.isPending}>Verify chain</button>{" "}
          {verify.data && (
            <span role="status" data-testid="verify-result">
              {verify.data.ok
                ? `Chain intact: ${verify.data.checked} entries checked`
                : `Chain broken at #${verify.data.first_bad_seq}: ${verify.data.reason}`}
            </span>
          )}
        </p>
      )}
      <ErrorText error={audit.error ?? verify.error} />
      <table>
        <thead>
          <tr><th>#</th><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Outcome</th></tr>
        </thead>
        <tbody>
          {audit.data?.data.map((e) => (
            <tr key={e.seq}>
              <td>{e.seq}</td>
              <td>{when(e.occurred_at)}</td>
              <td>{e.actor_email ?? "—"}</td>
              <td>{e.action}</td>
              <td><code>{e.target ?? ""}</code></td>
              <td>{e.outcome}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
}
