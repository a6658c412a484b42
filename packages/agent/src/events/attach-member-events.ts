// What the daemon mounts on every member: its BMC's events read into a numbered buffer, and the
// `conclave.events.pull` RPC that the PoC's facade reads them with.
import type { EventsPullAnswer, EventsPullRequest } from "@conclave/redfish-facade";
import type { BmcClient } from "../bmc/bmc-client.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import type { RpcService } from "../p2p/rpc.ts";
import {
  type BmcEventSource,
  type BmcEventSourceStatus,
  type BmcEventTiming,
  type BmcStreamAccess,
  startBmcEventSource,
} from "./bmc-event-source.ts";
import { EVENTS_PULL_METHOD, eventsPullHandler, pullEvents } from "./events-pull.ts";
import { MemberEventBuffer, type MemberEventCounts } from "./member-event-buffer.ts";

export interface MemberEventsInit {
  readonly rpc: Pick<RpcService, "register" | "unregister">;
  /** The node's BMC; undefined on a node without one (it still answers pulls, with no events). */
  readonly bmc: { readonly client: BmcClient; readonly stream: BmcStreamAccess } | undefined;
  /** Raft members (voters and learners): the only callers served. */
  readonly isMember: (peerId: string) => boolean;
  readonly logger?: AgentLogger;
  readonly timing?: Partial<BmcEventTiming>;
  readonly bufferCapacity?: number;
}

export interface MemberEvents {
  readonly buffer: MemberEventBuffer;
  /** The PoC reading its own events without a network round trip. */
  pullLocal(request: EventsPullRequest, signal: AbortSignal): Promise<EventsPullAnswer>;
  counts(): MemberEventCounts;
  /** How the BMC's events are being read; undefined on a node without a BMC. */
  sourceStatus(): BmcEventSourceStatus | undefined;
  close(): Promise<void>;
}

export function attachMemberEvents(init: MemberEventsInit): MemberEvents {
  const logger = init.logger ?? silentLogger;
  const buffer = new MemberEventBuffer({ capacity: init.bufferCapacity });
  const source: BmcEventSource | undefined =
    init.bmc === undefined
      ? undefined
      : startBmcEventSource({
          bmc: init.bmc.client,
          stream: init.bmc.stream,
          onRecord: (record) => buffer.push(record),
          logger,
          timing: init.timing,
        });
  init.rpc.register(EVENTS_PULL_METHOD, eventsPullHandler({ buffer, isMember: init.isMember }));
  logger.info({ epoch: buffer.epoch, hasBmc: source !== undefined }, "member events: numbering this run's events");
  return {
    buffer,
    pullLocal: (request, signal) => pullEvents(buffer, request, signal),
    counts: () => buffer.countsSoFar(),
    sourceStatus: () => source?.status(),
    async close() {
      init.rpc.unregister(EVENTS_PULL_METHOD);
      await source?.close();
    },
  };
}
