// The facade's FacadeEventSource in the daemon: a pull goes to the member's agent over
// `/conclave/rpc/1` (`conclave.events.pull`), or straight to this node's own buffer when the
// member is the PoC itself. The answer crossed the network: it is checked before use.
import { type FacadeEventSource, parseEventsPullAnswer } from "@conclave/redfish-facade";
import type { RpcService } from "../p2p/rpc.ts";
import type { MemberEvents } from "./attach-member-events.ts";
import { EVENTS_PULL_METHOD, parseEventsPullRequest } from "./events-pull.ts";

/** Time over the pull's own wait allowed for the round trip. */
export const EVENTS_PULL_GRACE_MS = 5_000;

export interface RpcFacadeEventSourceInit {
  readonly rpc: Pick<RpcService, "call">;
  readonly selfId: string;
  readonly local: Pick<MemberEvents, "pullLocal">;
}

export function rpcFacadeEventSource(init: RpcFacadeEventSourceInit): FacadeEventSource {
  return {
    async pull(memberId, after, max, waitMs, signal) {
      const request = parseEventsPullRequest({ after, max, waitMs });
      if (memberId === init.selfId) {
        return init.local.pullLocal(request, signal ?? new AbortController().signal);
      }
      const answer = await init.rpc.call(memberId, EVENTS_PULL_METHOD, request, {
        timeoutMs: request.waitMs + EVENTS_PULL_GRACE_MS,
        ...(signal === undefined ? {} : { signal }),
      });
      return parseEventsPullAnswer(answer);
    },
  };
}
