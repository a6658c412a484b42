// What the processes and threads of `pnpm bench events` tell each other (JSON lines between the
// parent and its members' child; worker messages between the parent and its SSE clients).

/** The event every emitter publishes; its MessageArgs are [member, phase, seq, emittedAtMs]. */
export const EVENT_MESSAGE_ID = "ResourceEvent.1.4.3.ResourceChanged";
/** Each event's OriginOfCondition: the facade rewrites it with the member's prefix, as for any event. */
export const EVENT_ORIGIN = "/redfish/v1/Systems/system";

export function memberName(index: number): string {
  return `bmc${String(index).padStart(2, "0")}`;
}

/**
 * `max`: every emitter publishes as fast as it can while its member holds fewer than `window`
 * events not yet sent to the PoC. `rate`: the emitters together publish `ratePerS`, paced.
 */
export type EmitPhase =
  | { readonly kind: "max"; readonly name: string; readonly seconds: number; readonly window: number }
  | { readonly kind: "rate"; readonly name: string; readonly seconds: number; readonly ratePerS: number };

export interface MemberAddress {
  readonly name: string;
  readonly peerId: string;
  /** The member's libp2p address, with its peer id. */
  readonly address: string;
  /** Its BMC simulator's Redfish URL (the facade's discovery reads it). */
  readonly url: string;
}

export type ParentMessage = { readonly type: "emit"; readonly phase: EmitPhase };

export interface EmitReport {
  readonly type: "emitted";
  readonly phase: string;
  /** Date.now() at the first and after the last emission. */
  readonly startedAt: number;
  readonly endedAt: number;
  /** Events emitted per member in this phase (their seqs are 1..n). */
  readonly emitted: Readonly<Record<string, number>>;
  /** Events the member agents' buffers dropped (overflowed before the PoC read them) in this phase. */
  readonly droppedAtMembers: number;
  /** Times every emitter at full speed was a window ahead of the PoC and waited. */
  readonly windowWaits: number;
  /** CPU time of the members' process (emitters, simulators, agents) during the phase. */
  readonly cpuMs: number;
}

export type ChildMessage = { readonly type: "ready"; readonly members: readonly MemberAddress[] } | EmitReport;

/** One SSE client's view of one phase. */
export interface ClientPhaseReport {
  /** Events received in order, once each (per member: seq = the previous one + 1). */
  readonly received: number;
  /** Per member, the highest seq received in order. */
  readonly lastSeq: Readonly<Record<string, number>>;
  /** Events that came again (seq not above the last one received). */
  readonly duplicated: number;
  /** Events skipped (a seq jumped past the next one): never to come, the stream is ordered. */
  readonly gaps: number;
  /** Date.now() at this client's last event of the phase. */
  readonly lastAt: number;
  /** Delivery latency (receipt − emit, ms) histogram: index = ms, the last bucket holds the rest. */
  readonly latencyHistogram: readonly number[];
}

export interface ClientReport {
  readonly phases: Readonly<Record<string, ClientPhaseReport>>;
  /** Conclave EventsDropped/EventsRestarted records and other events that are not the bench's. */
  readonly otherRecords: number;
  readonly error: string | undefined;
}

/** Latency histogram buckets (1 ms each); the last one holds everything slower. */
export const LATENCY_HISTOGRAM_MS = 60_000;

export type ClientsRequest = { readonly type: "report" } | { readonly type: "progress"; readonly phase: string };
export type ClientsMessage =
  | { readonly type: "connected" }
  | {
      readonly type: "progress";
      readonly received: readonly number[];
      /** CPU time of the clients' thread so far. */
      readonly cpuMs: number;
    }
  | { readonly type: "report"; readonly clients: readonly ClientReport[] };
