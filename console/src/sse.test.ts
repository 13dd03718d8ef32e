import { describe, expect, it } from "vitest";
import { SseParser, deltaOf } from "./sse";

const chunk = (content: string) => JSON.stringify({ choices: [{ delta: { content } }] });
const stream = [chunk("Hello"), chunk(" world"), "[DONE]"].map((d) => `data: ${d}\n\n`).join("");

describe("SseParser", () => {
  it("parses whole events", () => {
    expect(new SseParser().push(stream)).toEqual([chunk("Hello"), chunk(" world"), "[DONE]"]);
  });

  it("gives the same events whatever the chunk boundaries", () => {
    for (let size = 1; size < stream.length; size += 3) {
      const parser = new SseParser();
      const got: string[] = [];
      for (let i = 0; i < stream.length; i += size) got.push(...parser.push(stream.slice(i, i + size)));
      expect(got).toEqual([chunk("Hello"), chunk(" world"), "[DONE]"]);
    }
  });

  it("accepts CRLF line ends split between chunks", () => {
    const parser = new SseParser();
    const crlf = `data: ${chunk("a")}\r\n\r\n`;
    const cut = crlf.length - 1;
    expect([...parser.push(crlf.slice(0, cut)), ...parser.push(crlf.slice(cut))]).toEqual([chunk("a")]);
  });

  it("ignores comments and keep-alives", () => {
    expect(new SseParser().push(`: ping\n\ndata: ${chunk("x")}\n\n`)).toEqual([chunk("x")]);
  });
});

describe("deltaOf", () => {
  it("reads the text and raises the gateway's error", () => {
    expect(deltaOf(chunk("hi"))).toBe("hi");
    expect(deltaOf(JSON.stringify({ choices: [] }))).toBe(""); // the usage chunk
    expect(() => deltaOf(JSON.stringify({ error: { message: "Budget exceeded" } }))).toThrow("Budget exceeded");
  });
});
