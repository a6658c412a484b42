// A bounded FIFO of outbound frames for one peer. When a peer is slow the oldest frames go first:
// Raft tolerates loss and recovers by retrying, and the newest messages carry the newest state.

export interface OutboundQueueLimits {
  /** Frames held at most. */
  readonly maxMessages: number;
  /** Bytes held at most; a single frame larger than this is still admitted, alone. */
  readonly maxBytes: number;
}

export class OutboundQueue {
  readonly #limits: OutboundQueueLimits;
  #frames: Uint8Array[] = [];
  /** Index of the head in #frames: shifting an array is O(n), so we compact lazily. */
  #head = 0;
  #bytes = 0;
  #dropped = 0;

  constructor(limits: OutboundQueueLimits) {
    if (!(limits.maxMessages >= 1) || !(limits.maxBytes >= 1)) {
      throw new RangeError("outbound queue limits must be at least 1");
    }
    this.#limits = limits;
  }

  get length(): number {
    return this.#frames.length - this.#head;
  }

  get bytes(): number {
    return this.#bytes;
  }

  /** Frames dropped since the queue was made: overflow and `clear()`. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Appends a frame, dropping the oldest until both limits hold. Returns how many were dropped. */
  push(frame: Uint8Array): number {
    this.#frames.push(frame);
    this.#bytes += frame.byteLength;
    let dropped = 0;
    while (this.length > 1 && (this.length > this.#limits.maxMessages || this.#bytes > this.#limits.maxBytes)) {
      this.#takeHead();
      dropped++;
    }
    this.#dropped += dropped;
    return dropped;
  }

  shift(): Uint8Array | undefined {
    if (this.length === 0) return undefined;
    return this.#takeHead();
  }

  /** Drops everything queued (the peer is unreachable); counted as drops. */
  clear(): number {
    const count = this.length;
    this.#dropped += count;
    this.#frames = [];
    this.#head = 0;
    this.#bytes = 0;
    return count;
  }

  #takeHead(): Uint8Array {
    const frame = this.#frames[this.#head]!;
    this.#frames[this.#head] = EMPTY;
    this.#head++;
    this.#bytes -= frame.byteLength;
    if (this.#head > 64 && this.#head * 2 > this.#frames.length) {
      this.#frames = this.#frames.slice(this.#head);
      this.#head = 0;
    }
    return frame;
  }
}

const EMPTY = new Uint8Array(0);
