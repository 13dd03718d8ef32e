import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { ApiError, api, get, usd, type Budget as BudgetT, type UsageSummary } from "../api";
import { ErrorText, Field, Section, Select } from "../ui";
import { useOrgId } from "./OrgLayout";

const PERIOD_WORDS = { day: "today (UTC)", month: "this month", total: "in total" } as const;

export function Budget() {
  const orgId = useOrgId();
  const client = useQueryClient();
  const path = `/admin/v1/orgs/${orgId}/budget`;
  const budget = useQuery({
    queryKey: ["budget", orgId],
    queryFn: async () => {
      try {
        return await get<BudgetT>(path);
      } catch (e) {
        if (e instanceof ApiError && e.status === 404) return null; // no budget set
        throw e;
      }
    },
  });
  const period = budget.data?.period ?? "month";
  const spend = useQuery({
    queryKey: ["spend", orgId, period],
    queryFn: () => get<UsageSummary>(`/analytics/v1/orgs/${orgId}/usage/summary?period=${period}`),
    enabled: budget.data !== undefined,
  });
  const [dollars, setDollars] = useState("");
  const [newPeriod, setNewPeriod] = useState<BudgetT["period"]>("month");
  useEffect(() => {
    if (budget.data) {
      setDollars(String(budget.data.limit_micro_usd / 1_000_000));
      setNewPeriod(budget.data.period);
    }
  }, [budget.data]);
  const refresh = () => client.invalidateQueries({ queryKey: ["budget", orgId] });
  const save = useMutation({
    mutationFn: () =>
      api("PUT", path, { limit_micro_usd: Math.round(Number(dollars) * 1_000_000), period: newPeriod }),
    onSuccess: refresh,
  });
  const clear = useMutation({ mutationFn: () => api("DELETE", path), onSuccess: refresh });
  function submit(event: FormEvent) {
    event.preventDefault();
    save.mutate();
  }
  const limit = budget.data?.limit_micro_usd ?? 0;
  const spent = spend.data?.totals.cost_micro_usd ?? 0;
  const ratio = limit > 0 ? Math.min(1, spent / limit) : spent > 0 ? 1 : 0;
  return (
    <Section title="Budget">
      <ErrorText error={budget.error ?? spend.error} />
      {budget.data === null && <p>No budget: spend is not limited.</p>}
      {budget.data && (
        <div>
          <p data-testid="budget-summary">
            {usd(spent)} spent of {usd(limit)} {PERIOD_WORDS[period]}
          </p>
          <div className="bar" role="progressbar" aria-label="Spend against the limit"
            aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(ratio * 100)}>
            <div style={{ width: `${ratio * 100}%` }} className={ratio >= 1 ? "over" : ""} />
          </div>
        </div>
      )}
      <form onSubmit={submit} aria-label="Set budget" className="inline">
        <Field label="Limit (USD)" type="number" min="0" step="0.000001" required value={dollars}
          onChange={(e) => setDollars(e.target.value)} />
        <Select label="Period" value={newPeriod} onChange={(v) => setNewPeriod(v as BudgetT["period"])}
          options={[["day", "Day"], ["month", "Month"], ["total", "Total"]]} />
        <button type="submit" disabled={save.isPending}>Save budget</button>
        {budget.data && (
          <button type="button" onClick={() => clear.mutate()} disabled={clear.isPending}>Clear budget</button>
        )}
      </form>
      <ErrorText error={save.error ?? clear.error} />
    </Section>
  );
}
