// A text/event-stream parser (WHATWG HTML §9.2.6) for the local BMC's event stream: fields `id`,
// `event`, `data` (lines joined with "\n"), comments ignored, an event dispatched at a blank line.
// Bounded: a line or an event longer than SSE_EVENT_MAX_BYTES is an error (the caller reconnects),
// never unbounded memory.

/** The longest event (all its lines) the parser holds. */
export const SSE_EVENT_MAX_BYTES = 512 * 1024;

export interface SseMessage {
  /** The last `id` seen on the stream so far (kept across events, as the standard says). */
  readonly lastEventId: string | undefined;
  readonly event: string;
  readonly data: string;
}

export class SseTooLargeError extends Error {
  readonly code = "AGENT_ERR_SSE_TOO_LARGE";
}

export class SseParser {
  private pending = "";
  private data: string[] = [];
  private dataBytes = 0;
  private event = "";
  private lastEventId: string | undefined;
  private readonly maxBytes: number;

  constructor(maxBytes = SSE_EVENT_MAX_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Feeds decoded text; returns the events it completed, in order. Throws SseTooLargeError. */
  push(text: string): SseMessage[] {
    this.pending += text;
    const messages: SseMessage[] = [];
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.pending);
      if (match === null) break;
      // A lone "\r" at the very end may be half of "\r\n": wait for the next chunk.
      if (match[0] === "\r" && match.index === this.pending.length - 1) break;
      const line = this.pending.slice(0, match.index);
      this.pending = this.pending.slice(match.index + match[0].length);
      const message = this.line(line);
      if (message !== undefined) messages.push(message);
    }
    if (this.pending.length + this.dataBytes > this.maxBytes) {
      throw new SseTooLargeError(`an event of the BMC's stream is over ${this.maxBytes} bytes`);
    }
    return messages;
  }

  private line(line: string): SseMessage | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "data") {
      this.data.push(value);
      this.dataBytes += value.length + 1;
      if (this.dataBytes > this.maxBytes) {
        throw new SseTooLargeError(`an event of the BMC's stream is over ${this.maxBytes} bytes`);
      }
    } else if (field === "event") this.event = value;
    else if (field === "id" && !value.includes("\0")) this.lastEventId = value;
    return undefined;
  }

  private dispatch(): SseMessage | undefined {
    const data = this.data;
    const event = this.event;
    this.data = [];
    this.dataBytes = 0;
    this.event = "";
    if (data.length === 0) return undefined;
    return { lastEventId: this.lastEventId, event: event === "" ? "message" : event, data: data.join("\n") };
  }
}
