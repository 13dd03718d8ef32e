// Server-sent events as the gateway streams them: `data: {...}` events separated by a blank
// line. Network chunks split events anywhere (even inside a line or a "\r\n"), so the parser
// keeps what is not yet a whole event.
export class SseParser {
  private buffer = "";

  /** The `data` payloads of the events completed by this chunk, in order. */
  push(chunk: string): string[] {
    this.buffer = (this.buffer + chunk).replace(/\r\n/g, "\n");
    if (this.buffer.endsWith("\r")) return []; // the "\n" of a "\r\n" is still to come
    const events = this.buffer.split("\n\n");
    this.buffer = events.pop() ?? "";
    const payloads: string[] = [];
    for (const event of events) {
      const data = event
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).replace(/^ /, ""));
      if (data.length) payloads.push(data.join("\n"));
    }
    return payloads;
  }
}

/** The text deltas of chat completion chunks; throws on an error event. */
export function deltaOf(payload: string): string {
  const chunk = JSON.parse(payload);
  if (chunk.error) throw new Error(chunk.error.message ?? "stream failed");
  return chunk.choices?.[0]?.delta?.content ?? "";
}
