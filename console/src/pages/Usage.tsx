import { useMemo, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from "recharts";
import { get, usd, type UsageRow } from "../api";
import { ErrorText, Section, Select } from "../ui";
import { useOrgId } from "./OrgLayout";

const PERIODS = {
  "1h": { label: "Last hour", ms: 3600_000, bucket: "minute" },
  "24h": { label: "Last 24 hours", ms: 24 * 3600_000, bucket: "hour" },
  "7d": { label: "Last 7 days", ms: 7 * 24 * 3600_000, bucket: "day" },
  "30d": { label: "Last 30 days", ms: 30 * 24 * 3600_000, bucket: "day" },
} as const;
type PeriodKey = keyof typeof PERIODS;
const METRICS = [
  ["requests", "Requests"],
  ["tokens", "Tokens"],
  ["cost", "Cost (USD)"],
] as const;
type Metric = (typeof METRICS)[number][0];
const COLORS = ["#2f6fdf", "#d9822b", "#3a9d5d", "#b34ad1", "#c23c3c", "#777"];

const BUCKET_MS = { minute: 60_000, hour: 3600_000, day: 24 * 3600_000 } as const;

// Every bucket of the window, empty ones included, so that time reads left to right.
function bucketStarts(endMs: number, windowMs: number, bucket: keyof typeof BUCKET_MS): number[] {
  const size = BUCKET_MS[bucket];
  const last = Math.floor(endMs / size) * size;
  const starts: number[] = [];
  for (let t = Math.floor((endMs - windowMs) / size) * size; t <= last; t += size) starts.push(t);
  return starts;
}

function label(ms: number, bucket: keyof typeof BUCKET_MS): string {
  const d = new Date(ms);
  if (bucket === "day") return d.toLocaleDateString();
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function value(row: UsageRow, metric: Metric): number {
  if (metric === "requests") return row.requests;
  if (metric === "tokens") return row.prompt_tokens + row.completion_tokens;
  return row.cost_micro_usd / 1_000_000;
}

export default function Usage() {
  const orgId = useOrgId();
  const [period, setPeriod] = useState<PeriodKey>("24h");
  const [metric, setMetric] = useState<Metric>("requests");
  const [groupBy, setGroupBy] = useState<"model" | "key">("model");
  const { ms, bucket } = PERIODS[period];
  const usage = useQuery({
    queryKey: ["usage", orgId, period, groupBy],
    queryFn: async () => {
      const end = new Date();
      const start = new Date(end.getTime() - ms);
      const q = new URLSearchParams({ start: start.toISOString(), end: end.toISOString(), bucket, group_by: groupBy });
      const report = await get<{ data: UsageRow[] }>(`/analytics/v1/orgs/${orgId}/usage?${q}`);
      return { ...report, endMs: end.getTime() };
    },
  });
  const { points, series, totals } = useMemo(() => {
    const rows = usage.data?.data ?? [];
    const byBucket = new Map<number, Record<string, number | string>>();
    if (usage.data) {
      for (const t of bucketStarts(usage.data.endMs, ms, bucket)) byBucket.set(t, { bucket: label(t, bucket) });
    }
    const names = new Set<string>();
    const sums = { requests: 0, tokens: 0, cost: 0 };
    for (const row of rows) {
      const name = (groupBy === "model" ? row.model : row.key_id) ?? "other";
      names.add(name);
      const t = new Date(row.bucket_start).getTime();
      const point = byBucket.get(t) ?? { bucket: label(t, bucket) };
      point[name] = ((point[name] as number | undefined) ?? 0) + value(row, metric);
      byBucket.set(t, point);
      sums.requests += row.requests;
      sums.tokens += row.prompt_tokens + row.completion_tokens;
      sums.cost += row.cost_micro_usd;
    }
    const points = [...byBucket.entries()].sort(([a], [b]) => a - b).map(([, p]) => p);
    return { points, series: [...names], totals: sums };
  }, [usage.data, metric, groupBy, ms, bucket]);

  return (
    <Section title="Usage">
      <div className="inline">
        <Select label="Period" value={period} onChange={(v) => setPeriod(v as PeriodKey)}
          options={Object.entries(PERIODS).map(([k, p]) => [k, p.label] as [string, string])} />
        <Select label="Metric" value={metric} onChange={(v) => setMetric(v as Metric)}
          options={METRICS.map(([k, l]) => [k, l] as [string, string])} />
        <Select label="Group by" value={groupBy} onChange={(v) => setGroupBy(v as "model" | "key")}
          options={[["model", "Model"], ["key", "Key"]]} />
      </div>
      <ErrorText error={usage.error} />
      <p data-testid="usage-totals">
        {totals.requests} requests · {totals.tokens} tokens · {usd(totals.cost)}
      </p>
      {series.length === 0 && !usage.isPending && <p>No requests in this period.</p>}
      <div className="chart" role="img" aria-label={`Usage chart: ${metric} by ${groupBy}`}>
        <ResponsiveContainer width="100%" height={320}>
          <BarChart data={points}>
            <CartesianGrid strokeDasharray="3 3" />
            <XAxis dataKey="bucket" />
            <YAxis />
            <Tooltip />
            <Legend />
            {series.map((name, i) => (
              <Bar key={name} dataKey={name} stackId="a" fill={COLORS[i % COLORS.length]} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
    </Section>
  );
}
