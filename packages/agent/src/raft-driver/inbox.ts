// The driver's inbox: network events only enqueue here; the loop takes them in order.
// Bounded by count and bytes; when full, the oldest message goes (Raft resends what matters,
// and a newer message supersedes an older one from the same peer).
import type { Message } from "@conclave/consensus";

export const INBOX_MAX_MESSAGES_DEFAULT = 4096;
export const INBOX_MAX_BYTES_DEFAULT = 16 * 1024 * 1024;
/** Rough fixed cost of a message besides its entry and snapshot data. */
const MESSAGE_OVERHEAD_BYTES = 64;

export function estimateMessageBytes(message: Message): number {
  let bytes = MESSAGE_OVERHEAD_BYTES;
  if (message.type === "append") for (const entry of message.entries) bytes += 24 + entry.data.length;
  else if (message.type === "snapshot") bytes += message.chunk.data.length;
  return bytes;
}

export class Inbox {
  readonly maxMessages: number;
  readonly maxBytes: number;
  #items: { message: Message; bytes: number }[] = [];
  #head = 0;
  #bytes = 0;
  #dropped = 0;

  constructor(maxMessages = INBOX_MAX_MESSAGES_DEFAULT, maxBytes = INBOX_MAX_BYTES_DEFAULT) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  get dropped(): number {
    return this.#dropped;
  }

  push(message: Message): void {
    const bytes = estimateMessageBytes(message);
    this.#items.push({ message, bytes });
    this.#bytes += bytes;
    while (this.length > 1 && (this.length > this.maxMessages || this.#bytes > this.maxBytes)) {
      const oldest = this.#items[this.#head++];
      if (oldest) this.#bytes -= oldest.bytes;
      this.#dropped++;
    }
  }

  /** Takes every queued message, oldest first. */
  drain(): Message[] {
    const messages = this.#items.slice(this.#head).map((item) => item.message);
    this.#items = [];
    this.#head = 0;
    this.#bytes = 0;
    return messages;
  }
}
