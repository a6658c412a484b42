// Forming a cluster from identical installs, and joining one. A node without Raft state waits
// until `bootstrapExpect` nodes (itself included) know each other and that set has been stable for
// BOOTSTRAP_SETTLE_MS, asking each peer whether it already belongs to a cluster. If any does, this
// node joins through it; otherwise `decideBootstrap` picks the lowest id to bootstrap alone and the
// rest join it as learners (the PoC's autopilot promotes them). A node with state only resumes.
import { NO_NODE, type NodeId } from "@conclave/consensus";
import type { TimingProfile } from "../config/timing.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import { type BootstrapDecision, decideBootstrap } from "../raft-driver/bootstrap.ts";
import type { HelloAnswer, JoinAnswer } from "./rpc-methods.ts";

/**
 * How long the discovered set must stay unchanged before bootstrapping. Longer than the static
 * dialler's first back-off and a few mDNS answers, so two nodes cannot each believe they are the
 * lowest of N because one of them has not seen a lower peer yet.
 */
export const BOOTSTRAP_SETTLE_MS: Readonly<Record<TimingProfile, number>> = Object.freeze({ lan: 3_000, fast: 1_500 });
export const FORMATION_POLL_MS = 250;
/**
 * How old a peer's hello answer may be before it is asked again while formation waits. Asking every
 * peer at every poll costs N×(N−1) RPC streams per poll across the group: about 4,000 a second for
 * 32 BMCs (200 with this refresh), which on a 2-core machine left no CPU for the very handshakes
 * formation was waiting for. Bootstrapping never relies on a cached answer: it asks every peer once
 * more first.
 */
export const HELLO_REFRESH_MS = 5_000;
/** Between join attempts while this node is not a member yet. */
export const JOIN_RETRY_MS = 500;

export type FormationOutcome =
  | { readonly action: "resume" }
  | { readonly action: "bootstrap" }
  | { readonly action: "join"; readonly via: NodeId };

export interface FormationInit {
  readonly selfId: NodeId;
  readonly bootstrapExpect: number;
  readonly hasState: boolean;
  /** This node is a witness: it never campaigns, so it never bootstraps. */
  readonly witness?: boolean;
  readonly settleMs: number;
  /** Peers connected through the private network (they hold the secret). */
  readonly discovered: () => readonly NodeId[];
  /** Asks a peer whether it is in a cluster already (rejects when it cannot be reached). */
  readonly hello: (peerId: NodeId) => Promise<HelloAnswer>;
  readonly signal: AbortSignal;
  readonly logger?: AgentLogger;
  readonly pollMs?: number;
  readonly helloRefreshMs?: number;
  readonly nowMs?: () => number;
}

interface CachedHello {
  /** Undefined when the last hello failed. */
  readonly answer: HelloAnswer | undefined;
  readonly atMs: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/** Waits for the bootstrap decision. Rejects only when `signal` aborts (shutdown). */
export async function formCluster(init: FormationInit): Promise<FormationOutcome> {
  if (init.hasState) return { action: "resume" };
  const logger = init.logger ?? silentLogger;
  const nowMs = init.nowMs ?? Date.now;
  const pollMs = init.pollMs ?? FORMATION_POLL_MS;
  let seen = "";
  let stableSinceMs = nowMs();
  let lastLogged = "";
  const hellos = new Map<NodeId, CachedHello>();
  const helloRefreshMs = init.helloRefreshMs ?? HELLO_REFRESH_MS;
  const ask = async (peers: readonly NodeId[]): Promise<void> => {
    const answers = await Promise.allSettled(peers.map((peer) => init.hello(peer)));
    const atMs = nowMs();
    peers.forEach((peer, i) => {
      const answer = answers[i];
      hellos.set(peer, { answer: answer?.status === "fulfilled" ? answer.value : undefined, atMs });
    });
  };
  for (;;) {
    const peers = [...new Set(init.discovered())].filter((id) => id !== init.selfId).sort();
    const key = peers.join(",");
    if (key !== seen) {
      seen = key;
      stableSinceMs = nowMs();
    }
    // Ask the peers never asked, those whose last hello failed, and those asked too long ago.
    await ask(
      peers.filter((peer) => {
        const cached = hellos.get(peer);
        return cached?.answer === undefined || nowMs() - cached.atMs >= helloRefreshMs;
      }),
    );
    const memberPeer = peers.find((peer) => hellos.get(peer)?.answer?.member === true);
    if (memberPeer !== undefined) return joinExisting(memberPeer, hellos.get(memberPeer)?.answer as HelloAnswer);
    const cannotLead = new Set<NodeId>(peers.filter((peer) => hellos.get(peer)?.answer?.witness === true));
    if (init.witness === true) cannotLead.add(init.selfId);
    const decision: BootstrapDecision = decideBootstrap(init.selfId, peers, init.bootstrapExpect, false, cannotLead);
    const allAnswered = peers.every((peer) => hellos.get(peer)?.answer !== undefined);
    const stableForMs = nowMs() - stableSinceMs;
    if (decision.action !== "wait" && allAnswered && stableForMs >= init.settleMs) {
      if (decision.action === "bootstrap") {
        // A cached "not a member" may be up to helloRefreshMs old: ask everyone once more, so that
        // a cluster formed meanwhile is joined rather than a second one bootstrapped.
        await ask(peers);
        const member = peers.find((peer) => hellos.get(peer)?.answer?.member === true);
        if (member !== undefined) return joinExisting(member, hellos.get(member)?.answer as HelloAnswer);
        if (peers.every((peer) => hellos.get(peer)?.answer !== undefined)) {
          logger.info(
            { peers: peers.length + 1, expect: init.bootstrapExpect },
            "lowest node id of a settled group: bootstrapping the cluster",
          );
          return { action: "bootstrap" };
        }
      }
      if (decision.action === "join") {
        logger.info({ via: decision.via }, "a settled group formed: joining through its lowest node id");
        return { action: "join", via: decision.via };
      }
    }
    const progress = `${peers.length + 1}/${init.bootstrapExpect}`;
    if (progress !== lastLogged) {
      lastLogged = progress;
      logger.info(
        { known: peers.length + 1, expect: init.bootstrapExpect },
        "waiting for peers before forming the cluster",
      );
    }
    await sleep(pollMs, init.signal);
  }

  function joinExisting(peer: NodeId, answer: HelloAnswer): FormationOutcome {
    const via = answer.leaderId ?? peer;
    logger.info({ via, peer }, "a peer already belongs to a cluster: joining it");
    return { action: "join", via };
  }
}

export interface JoinLoopInit {
  readonly via: NodeId;
  readonly isMember: () => boolean;
  /** The leader this node's Raft driver currently follows (NO_NODE when none). */
  readonly leaderHint: () => NodeId;
  readonly join: (peerId: NodeId) => Promise<JoinAnswer>;
  readonly discovered: () => readonly NodeId[];
  readonly signal: AbortSignal;
  readonly logger?: AgentLogger;
  readonly retryMs?: number;
}

/** Asks the PoC (or whoever may know it) to admit this node until the Raft configuration names it. */
export async function joinCluster(init: JoinLoopInit): Promise<void> {
  const logger = init.logger ?? silentLogger;
  let target: NodeId = init.via;
  let attempt = 0;
  while (!init.isMember()) {
    const leader = init.leaderHint();
    if (leader !== NO_NODE) target = leader;
    try {
      const answer = await init.join(target);
      if (!answer.joined) {
        if (answer.leaderId !== null && answer.leaderId !== target) target = answer.leaderId;
        else target = pickOther(init.discovered(), target, attempt);
      }
    } catch (error) {
      logger.debug({ err: error, via: target }, "join attempt failed; trying again");
      target = pickOther(init.discovered(), target, attempt);
    }
    attempt++;
    if (init.isMember()) break;
    await sleep(init.retryMs ?? JOIN_RETRY_MS, init.signal);
  }
  logger.info({}, "admitted to the cluster as a learner");
}

function pickOther(peers: readonly NodeId[], current: NodeId, attempt: number): NodeId {
  const sorted = [...peers].sort();
  if (sorted.length === 0) return current;
  return sorted[attempt % sorted.length]!;
}
