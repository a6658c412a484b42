// The last events of a simulation, kept in a ring so a failure can show how it got there.
// Events are stored raw and only formatted when a failure prints them.
import type { Message } from "../../src/types.ts";

/** The named bound on remembered events; SIM_TRACE_EVENTS=<n> keeps more when replaying a seed. */
export const TRACE_EVENTS_LIMIT = Number(process.env.SIM_TRACE_EVENTS ?? 60);

type TraceEvent =
  | { readonly tick: number; readonly round: number; readonly kind: "deliver"; readonly message: Message }
  | { readonly tick: number; readonly round: number; readonly kind: "note"; readonly text: string };

export class Trace {
  private readonly events: (TraceEvent | undefined)[] = new Array(TRACE_EVENTS_LIMIT);
  private next = 0;
  tick = 0;
  round = 0;

  deliver(message: Message): void {
    this.push({ tick: this.tick, round: this.round, kind: "deliver", message });
  }

  note(text: string): void {
    this.push({ tick: this.tick, round: this.round, kind: "note", text });
  }

  private push(event: TraceEvent): void {
    this.events[this.next % TRACE_EVENTS_LIMIT] = event;
    this.next++;
  }

  /** The remembered events, oldest first, one per line. */
  format(limit = TRACE_EVENTS_LIMIT): string {
    const lines: string[] = [];
    const count = Math.min(this.next, TRACE_EVENTS_LIMIT, limit);
    for (let i = this.next - count; i < this.next; i++) {
      const event = this.events[i % TRACE_EVENTS_LIMIT];
      if (!event) continue;
      const when = `t${event.tick}.${event.round}`;
      lines.push(`  ${when} ${event.kind === "note" ? event.text : describeMessage(event.message)}`);
    }
    return lines.join("\n");
  }
}

export function describeMessage(message: Message): string {
  const head = `${message.from}->${message.to} ${message.type} term=${message.term}`;
  switch (message.type) {
    case "append": {
      const entries = message.entries.map((entry) => `${entry.index}@${entry.term}`).join(",");
      return `${head} prev=${message.prevIndex}@${message.prevTerm} commit=${message.commit} entries=[${entries}] lease=${message.leaseTick}`;
    }
    case "appendResponse":
      return `${head} ${message.reject ? `reject index=${message.index} hint=${message.rejectHint}@${message.hintTerm}` : `ok index=${message.index}`} lease=${message.leaseTick}`;
    case "heartbeat":
      return `${head} commit=${message.commit} lease=${message.leaseTick} read=${message.readRound}`;
    case "heartbeatResponse":
      return `${head} lease=${message.leaseTick} read=${message.readRound}`;
    case "vote":
    case "preVote":
      return `${head} last=${message.lastIndex}@${message.lastTerm}${message.force ? " force" : ""}`;
    case "voteResponse":
    case "preVoteResponse":
      return `${head} ${message.reject ? "reject" : "grant"}`;
    case "snapshot": {
      const { chunk } = message;
      return `${head} snap=${chunk.metadata.index}@${chunk.metadata.term} offset=${chunk.offset}/${chunk.totalBytes}${chunk.done ? " done" : ""}`;
    }
    case "snapshotResponse":
      return `${head} snap=${message.snapshotIndex} next=${message.nextOffset}${message.reject ? " reject" : ""}`;
    case "timeoutNow":
      return head;
  }
}
