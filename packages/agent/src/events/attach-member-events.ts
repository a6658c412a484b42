// What the daemon mounts on every member: its BMC's events read into a numbered buffer, and the
// `conclave.events.pull` RPC that the PoC's facade reads them with. Each event first goes through
// the site's event policy (`events.policy`): the matching rule's severity replaces the event's,
// `log` logs it, `alert` numbers a Conclave ClusterAlert right after it (so the alert reaches
// every console exactly once, failovers included), `handover` does the same and tells the daemon,
// which hands leadership over when this node is the PoC.
import { clusterAlertRecord, type EventsPullAnswer, type EventsPullRequest } from "@conclave/redfish-facade";
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
import { applyEventPolicy, type EventPolicyRule } from "./event-policy.ts";
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
  /** The site's event policy (config `events.policy`); none: every event passes unchanged. */
  readonly policy?: readonly EventPolicyRule[];
  /**
   * An event whose rule says `handover` was just kept (its alert after it). The daemon hands
   * leadership over (reason `health`) when this node is the PoC; elsewhere it does nothing.
   */
  readonly onHandoverEvent?: (event: HandoverEvent) => void;
}

/** What `onHandoverEvent` is told: enough to log why leadership moves. */
export interface HandoverEvent {
  readonly messageId: string;
  readonly severity: string | undefined;
  /** The rule's place in `events.policy`. */
  readonly ruleIndex: number;
  readonly record: Readonly<Record<string, unknown>>;
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
  const policy = init.policy ?? [];
  const keep = (event: Record<string, unknown>): void => {
    const decision = applyEventPolicy(policy, event);
    if (decision === undefined) {
      buffer.push(event);
      return;
    }
    const record = decision.record;
    buffer.push(record);
    const about = {
      messageId: record.MessageId,
      severity: decision.severity,
      rule: decision.ruleIndex,
      message: record.Message,
      origin: record.OriginOfCondition,
    };
    if (decision.action === "log") {
      logger.info(about, "BMC event (events.policy: log)");
      return;
    }
    buffer.push(clusterAlertRecord(record, decision.severity));
    if (decision.action === "alert") {
      logger.warn(about, "BMC event raised a cluster alert (events.policy: alert)");
      return;
    }
    logger.warn(about, "BMC event calls for a leadership hand-over (events.policy: handover)");
    try {
      init.onHandoverEvent?.({
        messageId: String(record.MessageId),
        severity: decision.severity,
        ruleIndex: decision.ruleIndex,
        record,
      });
    } catch (err) {
      // The event and its alert are kept whatever the hand-over does.
      logger.error({ err }, "the hand-over for a BMC event failed");
    }
  };
  const source: BmcEventSource | undefined =
    init.bmc === undefined
      ? undefined
      : startBmcEventSource({
          bmc: init.bmc.client,
          stream: init.bmc.stream,
          onRecord: keep,
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
