// The safety properties the simulator asserts after every step, kept incrementally so that
// checking them after every message costs little: election safety, log matching, leader
// completeness, state machine safety, lease exclusivity, commit monotonicity, ReadIndex
// freshness and durability across crashes.

import type { Ready } from "../../src/raft-node.ts";
import type { ReadState } from "../../src/read-only.ts";
import type { Storage } from "../../src/storage.ts";
import type { Entry, HardState, Message, NodeId } from "../../src/types.ts";
import { entryFingerprint, INITIAL_STATE_HASH, proposalIdOf } from "./tiny-state-machine.ts";

export class InvariantViolation extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvariantViolation";
  }
}

function violated(message: string): never {
  throw new InvariantViolation(message);
}

/** What the invariants need to see of a running node. */
export interface ObservedNode {
  readonly id: NodeId;
  readonly storage: Storage;
  readonly role: string;
  readonly term: number;
  readonly commit: number;
  readonly lastIndex: number;
  readonly hasLease: boolean;
}

/** The durable state a node had after its last completed persist(). */
interface DurableState {
  hardState: HardState;
  lastIndex: number;
  lastTerm: number;
}

interface LoggedEntry {
  readonly fingerprint: string;
  /** Term of the entry just before it: equal (index, term) pairs must share it (log matching). */
  readonly previousTerm: number;
}

export interface InvariantStats {
  leadersElected: number;
  entriesApplied: number;
  snapshotsRestored: number;
  readsServed: number;
  leaseChecks: number;
}

export class ClusterInvariants {
  /** Election safety: the leader of each term, over the whole history. */
  private readonly leaderOfTerm = new Map<number, NodeId>();
  /** Every (index, term) ever written to a log, with its data and its predecessor's term. */
  private readonly loggedEntries = new Map<string, LoggedEntry>();
  /** The global committed sequence, by index (the bootstrap snapshot is index 1). */
  private readonly committed = new Map<number, string>();
  /** The state hash after applying each committed index. */
  private readonly hashAfter = new Map<number, number>();
  /** The highest commit index any node has persisted (a quorum holds everything up to it). */
  committedIndex = 1;
  /** Proposal id -> the index it was applied at. */
  readonly appliedProposals = new Map<number, number>();
  /** The highest index any node has applied (everything up to it is acknowledged). */
  maxAppliedIndex = 1;
  private readonly lastCommit = new Map<NodeId, number>();
  private readonly durable = new Map<NodeId, DurableState>();
  /** While a persist is in progress: the first log index it may overwrite. */
  private readonly persistRewritesFrom = new Map<NodeId, number>();
  private readonly checkedLeaders = new Set<string>();
  private readonly pendingReads = new Map<string, { node: NodeId; minimumIndex: number }>();
  readonly stats: InvariantStats = {
    leadersElected: 0,
    entriesApplied: 0,
    snapshotsRestored: 0,
    readsServed: 0,
    leaseChecks: 0,
  };

  constructor() {
    this.committed.set(1, "bootstrap");
    this.hashAfter.set(1, INITIAL_STATE_HASH);
  }

  // ---------------------------------------------------------------- persistence

  /** Before persist(): notes where the write may rewrite the log (a crash may tear it there). */
  beforePersist(node: NodeId, storage: Storage, ready: Ready): void {
    let rewritesFrom = Number.POSITIVE_INFINITY;
    const first = ready.entries[0];
    if (first) rewritesFrom = first.index;
    if (ready.installSnapshot) rewritesFrom = Math.min(rewritesFrom, storage.firstIndex());
    this.persistRewritesFrom.set(node, rewritesFrom);
    // Log matching, checked as entries are written: an (index, term) always carries the
    // same data and follows the same term, so two logs that share an entry share the prefix.
    let previousTerm: number | undefined;
    if (first) {
      if (ready.installSnapshot && first.index === ready.installSnapshot.index + 1) {
        previousTerm = ready.installSnapshot.term;
      } else {
        previousTerm = termAt(storage, first.index - 1);
      }
    }
    for (const entry of ready.entries) {
      this.recordLogged(node, entry, previousTerm);
      previousTerm = entry.term;
    }
  }

  private recordLogged(node: NodeId, entry: Entry, previousTerm: number | undefined): void {
    const key = `${entry.index}/${entry.term}`;
    const fingerprint = entryFingerprint(entry);
    const known = this.loggedEntries.get(key);
    if (!known) {
      if (previousTerm !== undefined) this.loggedEntries.set(key, { fingerprint, previousTerm });
      return;
    }
    if (known.fingerprint !== fingerprint) {
      violated(`log matching: ${node} wrote index ${entry.index} term ${entry.term} with different data`);
    }
    if (previousTerm !== undefined && known.previousTerm !== previousTerm) {
      violated(
        `log matching: ${node} holds index ${entry.index} term ${entry.term} after term ${previousTerm}, another log after term ${known.previousTerm}`,
      );
    }
  }

  /** After persist() returned: the state is durable; a raised commit index extends the committed sequence. */
  afterPersist(node: NodeId, storage: Storage, ready: Ready): void {
    this.persistRewritesFrom.delete(node);
    const hardState = storage.initialState().hardState;
    const lastIndex = storage.lastIndex();
    this.durable.set(node, { hardState, lastIndex, lastTerm: termAt(storage, lastIndex) ?? 0 });
    const commit = ready.hardState?.commit ?? hardState.commit;
    if (commit > this.committedIndex) {
      for (let index = this.committedIndex + 1; index <= commit; index++) {
        const entry = storage.entries(index, index + 1, Number.MAX_SAFE_INTEGER)[0] as Entry;
        this.noteCommitted(node, entry);
      }
      this.committedIndex = commit;
    }
  }

  private noteCommitted(node: NodeId, entry: Entry): void {
    const fingerprint = entryFingerprint(entry);
    const known = this.committed.get(entry.index);
    if (known === undefined) this.committed.set(entry.index, fingerprint);
    else if (known !== fingerprint) {
      violated(
        `state machine safety: ${node} committed index ${entry.index} as ${fingerprint}, before it was ${known}`,
      );
    }
  }

  /**
   * A node sends only after persisting: whatever a message acknowledges must already be in
   * its storage (a granted vote is a durable vote; an accepted append is a durable entry).
   */
  onSend(node: NodeId, storage: Storage, message: Message): void {
    if (message.type === "voteResponse" && !message.reject) {
      const { hardState } = storage.initialState();
      if (hardState.term !== message.term || hardState.vote !== message.to) {
        violated(
          `${node} granted its vote to ${message.to} in term ${message.term} before persisting it (term ${hardState.term}, vote ${hardState.vote || "-"})`,
        );
      }
    } else if (message.type === "appendResponse" && !message.reject && message.index > storage.lastIndex()) {
      violated(`${node} acknowledged index ${message.index} but has only ${storage.lastIndex()} in storage`);
    }
  }

  /**
   * After a restart: nothing the node made durable (and so may have acknowledged) is gone.
   * A crash in the middle of a persist may lose that write, and only from where it rewrote the log.
   */
  onRestart(node: NodeId, storage: Storage): void {
    const before = this.durable.get(node);
    const rewritesFrom = this.persistRewritesFrom.get(node) ?? Number.POSITIVE_INFINITY;
    this.persistRewritesFrom.delete(node);
    const { hardState } = storage.initialState();
    if (before) {
      const old = before.hardState;
      if (hardState.term < old.term) violated(`durability: ${node} restarted at term ${hardState.term} < ${old.term}`);
      if (hardState.term === old.term && old.vote !== "" && hardState.vote !== old.vote) {
        violated(`durability: ${node} forgot its vote for ${old.vote} in term ${old.term}`);
      }
      // The commit index may come back lower: it need not be durable (it is re-learned from
      // the leader), and FileStorage lets a commit-only persist ride on the next fsync.
      const mustHold = Math.min(before.lastIndex, rewritesFrom - 1);
      if (mustHold >= storage.firstIndex() - 1) {
        if (storage.lastIndex() < mustHold) {
          violated(`durability: ${node} restarted with last index ${storage.lastIndex()} < ${mustHold}`);
        }
        if (mustHold === before.lastIndex && termAt(storage, mustHold) !== before.lastTerm) {
          violated(`durability: ${node} lost entry ${mustHold} of term ${before.lastTerm}`);
        }
      }
    }
    this.lastCommit.set(node, Math.max(hardState.commit, storage.snapshotMetadata().index));
  }

  // ---------------------------------------------------------------- application

  onApplied(node: NodeId, entry: Entry, hash: number): void {
    this.stats.entriesApplied++;
    this.noteCommitted(node, entry);
    if (entry.index > this.committedIndex) {
      violated(`${node} applied index ${entry.index} beyond the durable commit index ${this.committedIndex}`);
    }
    const knownHash = this.hashAfter.get(entry.index);
    if (knownHash === undefined) this.hashAfter.set(entry.index, hash);
    else if (knownHash !== hash) {
      violated(`state machine safety: ${node} has state ${hash} after index ${entry.index}, others ${knownHash}`);
    }
    const proposalId = proposalIdOf(entry.data);
    if (proposalId !== undefined) {
      const at = this.appliedProposals.get(proposalId);
      if (at === undefined) this.appliedProposals.set(proposalId, entry.index);
      else if (at !== entry.index)
        violated(`proposal ${proposalId} applied at index ${at} and again at ${entry.index}`);
    }
    if (entry.index > this.maxAppliedIndex) this.maxAppliedIndex = entry.index;
  }

  onSnapshotRestored(node: NodeId, index: number, hash: number): void {
    this.stats.snapshotsRestored++;
    const knownHash = this.hashAfter.get(index);
    if (knownHash === undefined) violated(`${node} restored a snapshot at index ${index} that nobody applied`);
    if (knownHash !== hash)
      violated(`${node} restored a snapshot at ${index} with state ${hash}, expected ${knownHash}`);
  }

  // ---------------------------------------------------------------- reads

  onReadRequested(node: NodeId, requestId: string): void {
    this.pendingReads.set(requestId, { node, minimumIndex: this.committedIndex });
  }

  /** The read was refused when requested: no answer will come. */
  onReadCancelled(requestId: string): void {
    this.pendingReads.delete(requestId);
  }

  onReadState(node: NodeId, readState: ReadState): void {
    const request = this.pendingReads.get(readState.requestId);
    if (!request) violated(`${node} answered read ${readState.requestId} that nobody requested (or twice)`);
    this.pendingReads.delete(readState.requestId);
    if (request.node !== node) violated(`read ${readState.requestId} asked of ${request.node} answered by ${node}`);
    if (readState.index < request.minimumIndex) {
      violated(
        `stale read: ${readState.requestId} got index ${readState.index}, but ${request.minimumIndex} was committed when it was asked`,
      );
    }
    this.stats.readsServed++;
  }

  // ---------------------------------------------------------------- after every step

  afterStep(nodes: readonly ObservedNode[]): void {
    let leaseHolder: ObservedNode | undefined;
    let highestLeaderTerm = 0;
    for (const node of nodes) {
      const previousCommit = this.lastCommit.get(node.id) ?? 0;
      if (node.commit < previousCommit) {
        violated(`${node.id}: commit index went back from ${previousCommit} to ${node.commit}`);
      }
      this.lastCommit.set(node.id, node.commit);
      if (node.commit > node.lastIndex)
        violated(`${node.id}: commit ${node.commit} beyond last index ${node.lastIndex}`);
      if (node.role === "leader") {
        if (node.term > highestLeaderTerm) highestLeaderTerm = node.term;
        const leader = this.leaderOfTerm.get(node.term);
        if (leader === undefined) {
          this.leaderOfTerm.set(node.term, node.id);
          this.stats.leadersElected++;
        } else if (leader !== node.id) {
          violated(`election safety: ${leader} and ${node.id} both led term ${node.term}`);
        }
        const key = `${node.id}/${node.term}`;
        if (!this.checkedLeaders.has(key)) {
          this.checkedLeaders.add(key);
          this.checkLeaderCompleteness(node);
        }
      }
      if (node.hasLease) {
        this.stats.leaseChecks++;
        if (leaseHolder) violated(`lease exclusivity: ${leaseHolder.id} and ${node.id} both hold a lease`);
        leaseHolder = node;
      }
    }
    if (leaseHolder && highestLeaderTerm > leaseHolder.term) {
      violated(
        `lease exclusivity: ${leaseHolder.id} holds a lease in term ${leaseHolder.term} while term ${highestLeaderTerm} has a leader`,
      );
    }
  }

  /** A new leader's log holds every committed entry (Raft §5.4.1). */
  private checkLeaderCompleteness(node: ObservedNode): void {
    const storage = node.storage;
    if (storage.lastIndex() < this.committedIndex) {
      violated(
        `leader completeness: ${node.id} leads term ${node.term} with last index ${storage.lastIndex()} < commit ${this.committedIndex}`,
      );
    }
    const from = Math.max(storage.firstIndex(), 2);
    if (from > this.committedIndex) return;
    const entries = storage.entries(from, this.committedIndex + 1, Number.MAX_SAFE_INTEGER);
    for (const entry of entries) {
      const committed = this.committed.get(entry.index);
      if (committed !== undefined && committed !== entryFingerprint(entry)) {
        violated(
          `leader completeness: ${node.id} (term ${node.term}) holds a different entry at committed index ${entry.index}`,
        );
      }
    }
  }
}

function termAt(storage: Storage, index: number): number | undefined {
  try {
    return storage.term(index);
  } catch {
    return undefined;
  }
}
