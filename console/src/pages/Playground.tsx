import { useId, useState, type FormEvent } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, type CreatedKey } from "../api";
import { ErrorText, Field, Section, Select } from "../ui";
import { useOrgId } from "./OrgLayout";
import { rememberKey, rememberedKey } from "./playgroundKey";
import { SseParser, deltaOf } from "../sse";

interface Message {
  role: "user" | "assistant";
  content: string;
}

async function gatewayError(response: Response): Promise<Error> {
  try {
    const body = await response.json();
    return new Error(body?.error?.message ?? `${response.status} ${response.statusText}`);
  } catch {
    return new Error(`${response.status} ${response.statusText}`);
  }
}

// The gateway's own API, with a key of this org, exactly as an SDK would call it.
async function* streamChat(key: string, model: string, messages: Message[]): AsyncGenerator<string> {
  const response = await fetch("/v1/chat/completions", {
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    body: JSON.stringify({ model, messages, stream: true, max_tokens: 256 }),
  });
  if (!response.ok || !response.body) throw await gatewayError(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    for (const payload of parser.push(value)) {
      if (payload === "[DONE]") return;
      const delta = deltaOf(payload);
      if (delta) yield delta;
    }
  }
}

export function Playground() {
  const orgId = useOrgId();
  const [key, setKey] = useState(rememberedKey(orgId));
  const [model, setModel] = useState("");
  const [prompt, setPrompt] = useState("");
  const [messages, setMessages] = useState<Message[]>([]);
  const [error, setError] = useState<unknown>(null);
  const [streaming, setStreaming] = useState(false);
  const promptId = useId();
  const models = useQuery({
    queryKey: ["models", key],
    enabled: key.startsWith("sk-"),
    queryFn: async () => {
      const response = await fetch("/v1/models", { headers: { authorization: `Bearer ${key}` } });
      if (!response.ok) throw await gatewayError(response);
      const body: { data: { id: string }[] } = await response.json();
      return body.data.map((m) => m.id);
    },
  });
  const chosen = model || models.data?.[0] || "";
  const newKey = useMutation({
    mutationFn: () => api<CreatedKey>("POST", `/admin/v1/orgs/${orgId}/keys`, { name: "playground" }),
    onSuccess: (created) => {
      rememberKey(orgId, created.key);
      setKey(created.key);
    },
  });

  async function send(event: FormEvent) {
    event.preventDefault();
    if (!prompt.trim() || streaming) return;
    const history: Message[] = [...messages, { role: "user", content: prompt }];
    setMessages([...history, { role: "assistant", content: "" }]);
    setPrompt("");
    setError(null);
    setStreaming(true);
    let answer = "";
    try {
      for await (const delta of streamChat(key, chosen, history)) {
        answer += delta;
        setMessages([...history, { role: "assistant", content: answer }]);
      }
    } catch (e) {
      setError(e);
    } finally {
      setStreaming(false);
    }
  }

  return (
    <Section title="Playground">
      <div className="inline">
        <Field label="API key" type="password" autoComplete="off" value={key} placeholder="sk-…"
          onChange={(e) => setKey(e.target.value.trim())} />
        <button type="button" onClick={() => newKey.mutate()} disabled={newKey.isPending}>
          Create playground key
        </button>
        <Select label="Model" value={chosen} onChange={setModel} options={models.data ?? []} />
      </div>
      <ErrorText error={newKey.error ?? models.error} />
      <ol className="chat" aria-live="polite" aria-label="Conversation">
        {messages.map((m, i) => (
          <li key={i} className={m.role} data-testid={`message-${m.role}`}>
            <strong>{m.role === "user" ? "You" : chosen}:</strong> {m.content}
          </li>
        ))}
      </ol>
      <form onSubmit={send} aria-label="Chat">
        <div className="field">
          <label htmlFor={promptId}>Message</label>
          <textarea id={promptId} rows={3} value={prompt} onChange={(e) => setPrompt(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && !e.shiftKey) send(e);
            }} />
        </div>
        <button type="submit" disabled={streaming || !chosen || !key}>Send</button>
        {messages.length > 0 && (
          <button type="button" onClick={() => setMessages([])} disabled={streaming}>Clear</button>
        )}
      </form>
      <ErrorText error={error} />
    </Section>
  );
}
