// The one way the console talks to the platform: same origin, the session cookie, and the
// CSRF token echoed on every mutating call. Errors carry the API's own message.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string | null,
  ) {
    super(message);
  }
}

function csrfToken(): string {
  const match = document.cookie.split("; ").find((c) => c.startsWith("aistrale_csrf="));
  return match ? decodeURIComponent(match.slice("aistrale_csrf=".length)) : "";
}

export let onUnauthenticated: () => void = () => {};
export function setOnUnauthenticated(handler: () => void): void {
  onUnauthenticated = handler;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = await response.json();
    const err = body?.error ?? {};
    const details: { param?: string; message?: string }[] = err.details ?? [];
    const extra = details.length
      ? ": " + details.map((d) => `${d.param ?? ""} ${d.message ?? ""}`.trim()).join("; ")
      : "";
    return new ApiError(response.status, (err.message ?? response.statusText) + extra, err.code ?? null);
  } catch {
    return new ApiError(response.status, `${response.status} ${response.statusText}`, null);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers["content-type"] = "application/json";
  if (method !== "GET") headers["x-csrf-token"] = csrfToken();
  const response = await fetch(path, {
    method,
    headers,
    credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) {
    const error = await errorOf(response);
    if (response.status === 401 && !path.endsWith("/auth/session")) onUnauthenticated();
    throw error;
  }
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

export const get = <T,>(path: string) => api<T>("GET", path);

export interface Page<T> {
  data: T[];
  has_more: boolean;
}
export interface Session {
  user_id: string;
  email: string | null;
  platform_admin: boolean;
  csrf_token: string;
}
export interface Org {
  id: string;
  name: string;
  role: string | null;
  created_at: string;
}
export interface Key {
  id: string;
  name: string;
  prefix: string;
  status: string;
  created_at: string;
  last_used_at: string | null;
}
export interface CreatedKey extends Key {
  key: string;
}
export interface Member {
  user_id: string;
  email: string;
  role: string;
}
export interface Invitation {
  email: string;
  role: string;
  token: string;
}
export interface Budget {
  limit_micro_usd: number;
  period: "day" | "month" | "total";
}
export interface Credential {
  provider: string;
  last4: string;
  updated_at: string;
}
export interface AuditEntry {
  seq: number;
  occurred_at: string;
  actor_email: string | null;
  action: string;
  target: string | null;
  org_id: string | null;
  outcome: string;
}
export interface Verification {
  ok: boolean;
  checked: number;
  first_bad_seq: number | null;
  reason: string | null;
}
export interface UsageRow {
  bucket_start: string;
  model: string | null;
  key_id: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_micro_usd: number;
}
export interface UsageSummary {
  totals: { requests: number; cost_micro_usd: number; prompt_tokens: number; completion_tokens: number };
}

export const usd = (micro: number) => `$${(micro / 1_000_000).toFixed(micro % 10_000 === 0 ? 2 : 6)}`;
export const when = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : "never");
