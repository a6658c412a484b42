// The Raft algorithm as a pure state machine: messages and ticks in, messages and
// log changes out. No I/O, no timers, no clock: time is `tick()`, randomness is the
// injected PRNG. `RaftNode` (raft-node.ts) wraps this with the Ready/advance contract.
import { decodeConfChange } from "./codec.ts";
import { Membership } from "./conf-change.ts";
import { PRE_VOTE_RETRY_TICKS, type RaftConfig, type ResolvedConfig, resolveConfig } from "./config.ts";
import {
  CompactedError,
  ConfChangePendingError,
  InvalidTransferError,
  NotLeaderError,
  ProposalDroppedError,
  TransferInProgressError,
} from "./errors.ts";
import type { Logger } from "./logger.ts";
import { Progress } from "./progress.ts";
import { quorumSize, quorumValue, voteResult } from "./quorum.ts";
import { RaftLog } from "./raft-log.ts";
import { MAX_PENDING_READS, ReadOnlyQueue, type ReadState } from "./read-only.ts";
import {
  type AppendMessage,
  type AppendResponseMessage,
  type ConfChange,
  type ConfState,
  type Entry,
  EntryType,
  type HardState,
  type HeartbeatMessage,
  type HeartbeatResponseMessage,
  type Message,
  NO_NODE,
  type NodeId,
  type SnapshotChunk,
  type SnapshotMessage,
  type SnapshotMetadata,
  type SnapshotResponseMessage,
  type VoteMessage,
  type VoteResponseMessage,
} from "./types.ts";

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

export interface SoftState {
  readonly leaderId: NodeId;
  readonly role: Role;
}

/** An incoming snapshot being received chunk by chunk. */
interface IncomingSnapshot {
  readonly metadata: SnapshotMetadata;
  readonly totalBytes: number;
  nextOffset: number;
}

type OutgoingMessage = Message extends infer M ? (M extends Message ? Omit<M, "from" | "term"> : never) : never;

export class Raft {
  readonly id: NodeId;
  readonly config: ResolvedConfig;
  readonly log: RaftLog;
  private readonly logger: Logger;

  term = 0;
  vote: NodeId = NO_NODE;
  role: Role = "follower";
  leaderId: NodeId = NO_NODE;
  noCampaign: boolean;

  membership: Membership;
  /** Per-member replication state; meaningful on the leader. */
  readonly progress = new Map<NodeId, Progress>();
  private votes = new Map<NodeId, boolean>();

  /** Ticks since start; stamps outgoing messages to date the lease. */
  private now = 0;
  private electionElapsed = 0;
  private heartbeatElapsed = 0;
  /** Heartbeat rounds sent in this term (learners get every learnerHeartbeatRounds-th). */
  private heartbeatRound = 0;
  private randomizedElectionTimeout = 0;
  /** When this node last heard from a leader (boot counts: a restarted node does not vote at once). */
  private lastLeaderContact = 0;
  /** Counts every contact noted in lastLeaderContact by a message (see leaderContactCount). */
  private leaderContacts = 0;
  /** The first pre-vote round since this node last heard a leader may be retried quickly (becomePreCandidate). */
  private quickPreVoteRetry = true;

  /** The log index of the newest membership change not yet applied (leader). */
  private pendingConfIndex = 0;
  leadTransferee: NodeId = NO_NODE;
  /** TimeoutNow went out this term: the lease is void until the term changes. */
  private timeoutNowSent = false;
  /**
   * A witness or drained node (noCampaign) refused a candidate whose log was older than its
   * own since it last heard from a leader: it may hold committed entries no candidate has,
   * and nobody could ever be elected. It may then campaign, and lead only until it can hand
   * leadership to a voter that has caught up (see handleAppendResponse).
   */
  private refusedOlderLog = false;
  private uncommittedBytes = 0;

  private readonly readOnly = new ReadOnlyQueue();
  /** Reads that arrived before the leader committed an entry of its term. */
  private readonly readsAwaitingCommit: string[] = [];
  readStates: ReadState[] = [];

  private incomingSnapshot: IncomingSnapshot | undefined;
  snapshotChunks: SnapshotChunk[] = [];
  messages: Message[] = [];
  /** Proposals arrived since the last broadcast: appends go out at the next Ready (batching). */
  private broadcastPending = false;

  constructor(config: RaftConfig) {
    this.config = resolveConfig(config);
    this.id = this.config.id;
    this.logger = this.config.logger;
    this.noCampaign = this.config.noCampaign;
    const storage = this.config.storage;
    const { hardState, confState } = storage.initialState();
    this.log = new RaftLog(storage, this.config.applied);
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.membership = Membership.from(confState);
    // Changes applied after the snapshot (up to `applied`) are part of the configuration too.
    this.replayAppliedConfChanges(storage.snapshotMetadata().index, this.log.applied);
    this.resetProgress();
    this.becomeFollower(this.term, NO_NODE);
    // Boot counts as leader contact because a restarted node may have acknowledged a
    // leader's lease just before it stopped. A node still at the bootstrap term (1) or a
    // new, empty one (0) has acknowledged no leader (every leader's term is at least 2),
    // so it may vote at once: otherwise campaign() on a new cluster could not win.
    if (this.term <= 1) this.lastLeaderContact = -this.config.electionTicks;
  }

  // ---------------------------------------------------------------- state

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leaderId: this.leaderId, role: this.role };
  }

  confState(): ConfState {
    return this.membership.toConfState();
  }

  tickCount(): number {
    return this.now;
  }

  /** Messages from a leader of this node's term stepped since start (a count that only grows). */
  leaderContactCount(): number {
    return this.leaderContacts;
  }

  /** Can this node stand for election? */
  private promotable(): boolean {
    return (
      this.membership.voters.has(this.id) && (!this.noCampaign || this.refusedOlderLog) && !this.log.pendingSnapshot()
    );
  }

  /**
   * True while this leader holds a lease: a quorum acknowledged messages it sent within
   * the last `leaseTicks`, and no leadership transfer has voided it. Followers refuse to
   * vote for `electionTicks` after hearing from a leader, so no other leader can exist
   * while this is true.
   */
  hasLease(): boolean {
    // Without CheckQuorum followers vote whenever asked, so no lease can be promised.
    // A noCampaign leader only passes its log on: it never holds the lease (nor the VIP).
    return (
      this.config.checkQuorum &&
      this.role === "leader" &&
      !this.noCampaign &&
      !this.timeoutNowSent &&
      this.leaseExpiry() > this.now
    );
  }

  /** The tick at which the lease ends (meaningful on a leader). */
  leaseExpiry(): number {
    const newestQuorumAck = quorumValue(this.membership.voters, (id) =>
      id === this.id ? this.now : (this.progress.get(id)?.ackedLeaseTick ?? Number.NEGATIVE_INFINITY),
    );
    return newestQuorumAck + this.config.leaseTicks;
  }

  // ---------------------------------------------------------------- transitions

  private reset(term: number): void {
    if (this.term !== term) {
      this.term = term;
      this.vote = NO_NODE;
      this.timeoutNowSent = false;
    }
    this.leaderId = NO_NODE;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.heartbeatRound = 0;
    this.resetRandomizedElectionTimeout();
    this.abortLeaderTransfer();
    this.votes = new Map();
    this.resetProgress();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readOnly.clear();
    this.readsAwaitingCommit.length = 0;
    this.broadcastPending = false;
  }

  private resetProgress(): void {
    const last = this.log.lastIndex();
    this.progress.clear();
    for (const id of this.membership.voters) this.progress.set(id, new Progress(last + 1, false));
    for (const id of this.membership.learners) this.progress.set(id, new Progress(last + 1, true));
    const self = this.progress.get(this.id);
    if (self) self.match = last;
  }

  private resetRandomizedElectionTimeout(): void {
    this.randomizedElectionTimeout = this.config.electionTicks + this.config.random.nextInt(this.config.electionTicks);
  }

  becomeFollower(term: number, leaderId: NodeId): void {
    const wasLeader = this.role === "leader";
    this.reset(term);
    this.role = "follower";
    this.leaderId = leaderId;
    if (leaderId !== NO_NODE) this.lastLeaderContact = this.now;
    if (wasLeader) this.logger.info({ id: this.id, term }, "stepped down as leader");
  }

  private becomePreCandidate(): void {
    // A pre-candidate keeps its term and vote: nothing changes unless it could win.
    this.role = "preCandidate";
    this.votes = new Map();
    this.leaderId = NO_NODE;
    this.electionElapsed = 0;
    this.resetRandomizedElectionTimeout();
    // The first timer to fire after a leader dies may fire at the lease's own bound
    // (electionTicks), while the other voters, whose ticks run at another phase, have counted one
    // tick less since that leader and ignore the pre-vote. Waiting a whole randomized timeout
    // more left the election to the second-earliest timer (hundreds of ms later). So the first
    // round after a leader contact is asked again PRE_VOTE_RETRY_TICKS later, once; a pre-vote
    // changes no term and no vote, so asking again is safe.
    if (this.quickPreVoteRetry) {
      this.quickPreVoteRetry = false;
      this.randomizedElectionTimeout = PRE_VOTE_RETRY_TICKS;
    }
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.role = "candidate";
    this.vote = this.id;
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.role = "leader";
    this.leaderId = this.id;
    this.lastLeaderContact = this.now;
    this.refusedOlderLog = false;
    for (const progress of this.progress.values()) progress.recentActive = true;
    const [noop] = this.appendEntries([{ type: EntryType.Normal, data: new Uint8Array(0) }]);
    // No membership change until this term's no-op (and so everything before it) is
    // applied: a fresh leader whose log was all applied must still commit in its own term
    // first (see conf-change.ts).
    this.pendingConfIndex = (noop as Entry).index;
    // The lease starts with a quorum's answers. Voters answer a heartbeat at once; the no-op's
    // append only after each has made it durable (an fsync: tens of ms on a loaded BMC's flash).
    for (const id of this.membership.voters) {
      const progress = this.progress.get(id);
      if (id !== this.id && progress) this.sendHeartbeat(id, progress, 0);
    }
    this.logger.info({ id: this.id, term: this.term }, "became leader");
  }

  // ---------------------------------------------------------------- ticks

  tick(): void {
    this.now++;
    if (this.role === "leader") this.tickLeader();
    else this.tickElection();
  }

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout) {
      this.electionElapsed = 0;
      this.campaign(false);
    }
  }

  private tickLeader(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    this.lastLeaderContact = this.now;
    if (this.electionElapsed >= this.config.electionTicks) {
      this.electionElapsed = 0;
      if (this.config.checkQuorum && !this.quorumActive()) {
        this.logger.warn({ id: this.id, term: this.term }, "lost contact with a quorum; stepping down");
        this.becomeFollower(this.term, NO_NODE);
        return;
      }
      if (this.leadTransferee !== NO_NODE) {
        const voidedLease = this.timeoutNowSent;
        this.logger.warn({ id: this.id, target: this.leadTransferee }, "leadership transfer timed out");
        this.abortLeaderTransfer();
        if (voidedLease) {
          // The target may already be campaigning with forced votes: step down and let
          // an ordinary election decide, rather than lead without a lease.
          this.becomeFollower(this.term, NO_NODE);
          return;
        }
      }
    }
    if (this.heartbeatElapsed >= this.config.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.broadcastHeartbeat(0);
    }
    this.resendStalledSnapshots();
  }

  private quorumActive(): boolean {
    let active = 0;
    for (const id of this.membership.voters) {
      if (id === this.id || this.progress.get(id)?.recentActive) active++;
    }
    // Every follower's round restarts, learners' too: their activity is what status reports.
    for (const [id, progress] of this.progress) {
      if (id === this.id) continue;
      progress.activeLastRound = progress.recentActive;
      progress.recentActive = false;
    }
    return active >= quorumSize(this.membership.voters.size);
  }

  // ---------------------------------------------------------------- elections

  /** Starts an election now (from an election timeout, an operator, or a transfer). */
  campaign(transfer: boolean): void {
    if (!this.promotable()) {
      this.logger.debug({ id: this.id }, "not promotable; ignoring campaign");
      return;
    }
    if (this.role === "leader") return;
    if (!transfer && this.config.checkQuorum && this.now - this.lastLeaderContact < this.config.electionTicks) {
      // Voting for itself now would break the lease this node just helped a leader hold,
      // exactly like voting for another candidate (an election timer never fires this early).
      this.logger.warn(
        { id: this.id },
        "a leader was heard from recently; not campaigning (transfer leadership instead)",
      );
      return;
    }
    if (this.hasUnappliedConfChanges()) {
      // Campaigning on a stale configuration could count the wrong voters.
      this.logger.warn({ id: this.id }, "cannot campaign while committed membership changes are unapplied");
      return;
    }
    if (this.config.preVote && !transfer) {
      this.becomePreCandidate();
      this.requestVotes("preVote", this.term + 1, false);
    } else {
      this.becomeCandidate();
      this.requestVotes("vote", this.term, transfer);
    }
  }

  private requestVotes(type: "vote" | "preVote", term: number, force: boolean): void {
    this.votes.set(this.id, true);
    if (this.tallyVotes()) return;
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of this.membership.voters) {
      if (id === this.id) continue;
      this.messages.push({ type, from: this.id, to: id, term, lastIndex, lastTerm, force });
    }
  }

  /** Returns true when the election was decided. */
  private tallyVotes(): boolean {
    const result = voteResult(this.membership.voters, this.votes);
    if (result === "won") {
      if (this.role === "preCandidate") this.campaignAfterPreVote();
      else this.becomeLeader();
      return true;
    }
    if (result === "lost") {
      this.becomeFollower(this.term, NO_NODE);
      return true;
    }
    return false;
  }

  private campaignAfterPreVote(): void {
    this.becomeCandidate();
    this.requestVotes("vote", this.term, false);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.applied >= this.log.committed) return false;
    const entries = this.log.entries(this.log.applied + 1, this.log.committed + 1, Number.MAX_SAFE_INTEGER);
    return entries.some((entry) => entry.type === EntryType.ConfChange);
  }

  // ---------------------------------------------------------------- step

  step(message: Message): void {
    if (message.to !== this.id) {
      this.logger.warn({ id: this.id, to: message.to, type: message.type }, "message for another node; dropped");
      return;
    }
    if (message.term > this.term) {
      if (!this.stepHigherTerm(message)) return;
    } else if (message.term < this.term) {
      this.stepLowerTerm(message);
      return;
    }

    switch (message.type) {
      case "vote":
      case "preVote":
        this.handleVoteRequest(message);
        return;
      default:
        break;
    }
    switch (this.role) {
      case "leader":
        this.stepLeader(message);
        return;
      case "candidate":
      case "preCandidate":
        this.stepCandidate(message);
        return;
      case "follower":
        this.stepFollower(message);
        return;
    }
  }

  /** Returns false when the message is to be ignored. */
  private stepHigherTerm(message: Message): boolean {
    if (message.type === "vote" || message.type === "preVote") {
      const inLease =
        this.config.checkQuorum &&
        (this.role === "leader" || this.now - this.lastLeaderContact < this.config.electionTicks);
      if (!message.force && inLease) {
        // A leader is known (or this node just started): honour its lease.
        this.logger.debug(
          { id: this.id, from: message.from, term: message.term },
          "ignoring vote request: a leader was heard from recently",
        );
        return false;
      }
    }
    if (message.type === "preVote") return true; // a pre-vote never changes our term
    if (message.type === "preVoteResponse" && !message.reject) return true; // our own pre-vote succeeded
    const fromLeader = message.type === "append" || message.type === "heartbeat" || message.type === "snapshot";
    this.becomeFollower(message.term, fromLeader ? message.from : NO_NODE);
    return true;
  }

  private stepLowerTerm(message: Message): void {
    if (
      (this.config.checkQuorum || this.config.preVote) &&
      (message.type === "append" || message.type === "heartbeat")
    ) {
      // A stale leader (or one partitioned away) learns of the newer term and steps down;
      // without this a node whose term ran ahead could never rejoin under CheckQuorum.
      this.send({
        type: "appendResponse",
        to: message.from,
        reject: false,
        index: 0,
        rejectHint: 0,
        hintTerm: 0,
        leaseTick: 0,
      });
    } else if (message.type === "preVote") {
      this.send({ type: "preVoteResponse", to: message.from, reject: true });
    }
  }

  private handleVoteRequest(message: VoteMessage): void {
    // The lease check of stepHigherTerm again, for requests at our own term: another
    // message (a rejected pre-vote's answer, say) may have raised our term and cleared
    // the leader we heard from a moment ago, and that leader's lease still stands.
    const inLease =
      !message.force &&
      this.config.checkQuorum &&
      this.now - this.lastLeaderContact < this.config.electionTicks &&
      this.vote !== message.from;
    const canVote =
      !inLease &&
      (this.vote === message.from ||
        (this.vote === NO_NODE && this.leaderId === NO_NODE) ||
        (message.type === "preVote" && message.term > this.term));
    const upToDate = this.log.isUpToDate(message.lastIndex, message.lastTerm);
    const responseType = message.type === "vote" ? "voteResponse" : "preVoteResponse";
    if (canVote && upToDate) {
      // Answer with the candidate's term so it can count the grant (a pre-vote's term is its future term).
      this.messages.push({ type: responseType, from: this.id, to: message.from, term: message.term, reject: false });
      if (message.type === "vote") {
        this.electionElapsed = 0;
        this.vote = message.from;
      } else if (this.role === "preCandidate" && message.from < this.id) {
        this.yieldPreVoteRound(message.from);
      }
    } else {
      if (canVote && !upToDate && this.noCampaign) this.refusedOlderLog = true;
      this.send({ type: responseType, to: message.from, reject: true });
    }
  }

  /**
   * Two voters whose timers fire within one round trip of each other both ask for pre-votes, grant
   * each other's, both win and both stand: the votes split and the next election comes a whole
   * timeout later. So a pre-candidate that grants the pre-vote of a voter with a smaller id stops
   * its own round and lets that one stand alone (the smaller id keeps its round: exactly one of
   * the two yields). Its next round waits a whole randomized timeout, as after a lost round: if
   * the other does not win, this node asks again then; asking sooner could stand against it.
   */
  private yieldPreVoteRound(to: NodeId): void {
    this.logger.debug({ id: this.id, to, term: this.term }, "pre-vote granted to a smaller id; this round stops");
    this.role = "follower";
    this.votes = new Map();
    this.electionElapsed = 0;
    this.resetRandomizedElectionTimeout();
  }

  private stepCandidate(message: Message): void {
    switch (message.type) {
      case "append":
      case "heartbeat":
      case "snapshot":
        this.becomeFollower(message.term, message.from);
        this.stepFollower(message);
        return;
      case "voteResponse":
      case "preVoteResponse":
        this.handleVoteResponse(message);
        return;
      default:
        return;
    }
  }

  private handleVoteResponse(message: VoteResponseMessage): void {
    const expected = this.role === "preCandidate" ? "preVoteResponse" : "voteResponse";
    if (message.type !== expected) return;
    if (!this.membership.voters.has(message.from)) return;
    this.votes.set(message.from, !message.reject);
    this.tallyVotes();
  }

  private stepFollower(message: Message): void {
    switch (message.type) {
      case "append":
        this.noteLeaderContact(message.from);
        this.handleAppend(message);
        return;
      case "heartbeat":
        this.noteLeaderContact(message.from);
        this.handleHeartbeat(message);
        return;
      case "snapshot":
        this.noteLeaderContact(message.from);
        this.handleSnapshotChunk(message);
        return;
      case "timeoutNow":
        if (this.noCampaign) {
          this.logger.warn(
            { id: this.id, from: message.from },
            "asked to take over leadership, but this node never campaigns",
          );
          return;
        }
        this.logger.info({ id: this.id, from: message.from }, "leadership transfer: campaigning now");
        this.campaign(true);
        return;
      default:
        return;
    }
  }

  private noteLeaderContact(from: NodeId): void {
    this.leaderContacts++;
    this.quickPreVoteRetry = true;
    this.electionElapsed = 0;
    this.refusedOlderLog = false;
    this.leaderId = from;
    this.lastLeaderContact = this.now;
  }

  // ---------------------------------------------------------------- follower handlers

  private handleAppend(message: AppendMessage): void {
    if (this.log.pendingSnapshot()) {
      // A snapshot is being installed; the leader will retry after it.
      return;
    }
    if (!entriesFollow(message)) {
      this.logger.warn({ id: this.id, from: message.from }, "append with out-of-sequence entries; dropped");
      return;
    }
    if (message.prevIndex < this.log.committed) {
      this.send({
        type: "appendResponse",
        to: message.from,
        reject: false,
        index: this.log.committed,
        rejectHint: 0,
        hintTerm: 0,
        leaseTick: message.leaseTick,
      });
      return;
    }
    const lastNew = this.log.maybeAppend(message.prevIndex, message.prevTerm, message.commit, message.entries);
    if (lastNew >= 0) {
      this.send({
        type: "appendResponse",
        to: message.from,
        reject: false,
        index: lastNew,
        rejectHint: 0,
        hintTerm: 0,
        leaseTick: message.leaseTick,
      });
      return;
    }
    const hintIndex = this.log.findConflictByTerm(Math.min(message.prevIndex, this.log.lastIndex()), message.prevTerm);
    this.send({
      type: "appendResponse",
      to: message.from,
      reject: true,
      index: message.prevIndex,
      rejectHint: hintIndex,
      hintTerm: this.log.termOrZero(hintIndex),
      leaseTick: message.leaseTick,
    });
  }

  private handleHeartbeat(message: HeartbeatMessage): void {
    // The leader sends min(match, commit), so this never commits entries we do not share.
    if (!this.log.pendingSnapshot()) this.log.commitTo(Math.min(message.commit, this.log.lastIndex()));
    this.send({
      type: "heartbeatResponse",
      to: message.from,
      leaseTick: message.leaseTick,
      readRound: message.readRound,
    });
  }

  private handleSnapshotChunk(message: SnapshotMessage): void {
    const { chunk } = message;
    const { metadata } = chunk;
    const respond = (nextOffset: number, reject: boolean): void => {
      this.send({
        type: "snapshotResponse",
        to: message.from,
        snapshotIndex: metadata.index,
        nextOffset,
        reject,
        leaseTick: message.leaseTick,
      });
    };

    if (metadata.index <= this.log.committed) {
      // Already have everything it holds, perhaps committed through appends while the
      // transfer was under way: installing it now would move the commit index back.
      this.incomingSnapshot = undefined;
      respond(chunk.totalBytes, false);
      return;
    }
    if (chunk.offset === 0) {
      if (this.log.matchTerm(metadata.index, metadata.term) && !this.log.pendingSnapshot()) {
        // The log already holds the snapshot's last entry: fast-forward the commit instead.
        this.log.commitTo(metadata.index);
        this.incomingSnapshot = undefined;
        respond(chunk.totalBytes, false);
        return;
      }
      this.incomingSnapshot = { metadata, totalBytes: chunk.totalBytes, nextOffset: 0 };
    }
    const incoming = this.incomingSnapshot;
    if (!incoming || incoming.metadata.index !== metadata.index || incoming.metadata.term !== metadata.term) {
      respond(0, true);
      return;
    }
    if (chunk.offset < incoming.nextOffset) {
      respond(incoming.nextOffset, false); // a duplicate: say where we are
      return;
    }
    if (chunk.offset > incoming.nextOffset) {
      respond(incoming.nextOffset, true);
      return;
    }
    this.snapshotChunks.push(chunk);
    incoming.nextOffset += chunk.data.length;
    if (chunk.done) {
      this.incomingSnapshot = undefined;
      this.restore(metadata);
      respond(incoming.totalBytes, false);
      return;
    }
    respond(incoming.nextOffset, false);
  }

  private restore(metadata: SnapshotMetadata): void {
    this.logger.info({ id: this.id, index: metadata.index, term: metadata.term }, "installing snapshot");
    this.log.restore(metadata);
    this.membership = Membership.from(metadata.confState);
    this.resetProgress();
  }

  // ---------------------------------------------------------------- leader

  private stepLeader(message: Message): void {
    const progress = this.progress.get(message.from);
    switch (message.type) {
      case "appendResponse":
        if (progress) this.handleAppendResponse(message, progress);
        return;
      case "heartbeatResponse":
        if (progress) this.handleHeartbeatResponse(message, progress);
        return;
      case "snapshotResponse":
        if (progress) this.handleSnapshotResponse(message, progress);
        return;
      default:
        return;
    }
  }

  private noteAck(progress: Progress, leaseTick: number): void {
    progress.recentActive = true;
    if (leaseTick > progress.ackedLeaseTick) progress.ackedLeaseTick = leaseTick;
  }

  private handleAppendResponse(message: AppendResponseMessage, progress: Progress): void {
    this.noteAck(progress, message.leaseTick);
    if (message.reject) {
      let hint = message.rejectHint;
      if (message.hintTerm > 0) hint = this.log.findConflictByTerm(message.rejectHint, message.hintTerm);
      if (progress.maybeDecreaseTo(message.index, hint)) {
        if (progress.state === "replicate") progress.becomeProbe();
        this.sendAppend(message.from, progress, false);
      }
      return;
    }
    const probeAtMatch = progress.state === "probe" && progress.match === message.index;
    if (!progress.maybeUpdate(message.index) && !probeAtMatch) return;
    switch (progress.state) {
      case "probe":
        progress.becomeReplicate();
        break;
      case "snapshot":
        if (progress.match >= progress.snapshotIndex) progress.becomeProbe();
        break;
      case "replicate":
        progress.freeInflightsTo(message.index);
        break;
    }
    if (this.maybeCommit()) {
      this.broadcastAppend();
    } else {
      // A follower that was paused missed the appends that carried the latest commit
      // index: send one even if empty, so it does not wait for the next heartbeat.
      if (progress.sentCommit < this.log.committed) this.sendAppend(message.from, progress, true);
      // Send what else is waiting, as far as flow control allows.
      while (this.sendAppend(message.from, progress, false)) {}
    }
    if (message.from === this.leadTransferee && progress.match === this.log.lastIndex()) {
      this.sendTimeoutNow(message.from);
    } else if (
      this.noCampaign &&
      this.leadTransferee === NO_NODE &&
      this.membership.voters.has(message.from) &&
      progress.match === this.log.lastIndex()
    ) {
      // A noCampaign leader hands over to the first voter that holds its whole log.
      this.transferLeadership(message.from);
    }
  }

  private handleHeartbeatResponse(message: HeartbeatResponseMessage, progress: Progress): void {
    this.noteAck(progress, message.leaseTick);
    progress.probeSent = false;
    // An append may have been lost with the window full: free one slot so replication resumes.
    if (progress.state === "replicate" && progress.inflights.length >= this.config.maxInflightMessages) {
      progress.inflights.shift();
    }
    // sendIfEmpty: in replicate state an empty append past a lost one draws a rejection, which starts a probe.
    if (progress.match < this.log.lastIndex()) this.sendAppend(message.from, progress, true);
    if (message.readRound > 0) {
      this.readOnly.acknowledge(message.from, message.readRound);
      this.releaseConfirmedReads();
    }
  }

  private handleSnapshotResponse(message: SnapshotResponseMessage, progress: Progress): void {
    this.noteAck(progress, message.leaseTick);
    if (progress.state !== "snapshot" || message.snapshotIndex !== progress.snapshotIndex) return;
    progress.snapshotChunkInFlight = false;
    const total =
      this.log.storage.snapshotMetadata().index === progress.snapshotIndex ? this.log.storage.snapshotSize() : -1;
    if (!message.reject && total >= 0 && message.nextOffset >= total) {
      progress.match = Math.max(progress.match, progress.snapshotIndex);
      progress.becomeProbe();
      this.sendAppend(message.from, progress, false);
      return;
    }
    progress.snapshotOffset = message.nextOffset;
    this.sendSnapshotChunk(message.from, progress);
  }

  private maybeCommit(): boolean {
    const index = quorumValue(this.membership.voters, (id) => this.progress.get(id)?.match ?? 0);
    // Only entries of the current term are committed by counting replicas (§5.4.2).
    if (index > this.log.committed && this.log.termOrZero(index) === this.term) {
      const hadCurrentTermCommit = this.committedEntryInCurrentTerm();
      this.log.commitTo(index);
      if (!hadCurrentTermCommit) this.serveReadsAwaitingCommit();
      return true;
    }
    return false;
  }

  private committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  /** Sends appends to everyone who can take them (also carries a new commit index). */
  private broadcastAppend(): void {
    for (const [id, progress] of this.progress) {
      if (id === this.id) continue;
      this.sendAppend(id, progress, true);
    }
  }

  private broadcastHeartbeat(readRound: number): void {
    // Learners only need to hear now and then (a read round confirms leadership with the voters).
    const every = this.config.learnerHeartbeatRounds;
    const learnersToo = every === 1 || (readRound === 0 && this.heartbeatRound++ % every === 0);
    for (const [id, progress] of this.progress) {
      if (id === this.id) continue;
      if (progress.isLearner && !learnersToo) continue;
      this.sendHeartbeat(id, progress, readRound);
    }
  }

  private sendHeartbeat(to: NodeId, progress: Progress, readRound: number): void {
    this.send({
      type: "heartbeat",
      to,
      commit: Math.min(progress.match, this.log.committed),
      leaseTick: this.now,
      readRound,
    });
  }

  /**
   * Sends the next append to `to` if flow control allows. With `sendIfEmpty`, sends
   * even with no new entries (to carry the commit index). Returns true if it sent entries.
   */
  private sendAppend(to: NodeId, progress: Progress, sendIfEmpty: boolean): boolean {
    if (progress.isPaused(this.config.maxInflightMessages)) return false;
    const prevIndex = progress.next - 1;
    const lastIndex = this.log.lastIndex();
    let prevTerm: number;
    let entries: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      entries = this.log.entries(progress.next, lastIndex + 1, this.config.maxMessageBytes);
    } catch (error) {
      if (error instanceof CompactedError) {
        this.sendSnapshotChunk(to, progress);
        return false;
      }
      throw error;
    }
    if (entries.length === 0 && !sendIfEmpty && progress.state === "replicate") return false;
    this.send({
      type: "append",
      to,
      prevIndex,
      prevTerm,
      entries,
      commit: this.log.committed,
      leaseTick: this.now,
    });
    progress.sentCommit = Math.max(progress.sentCommit, this.log.committed);
    if (entries.length > 0) {
      const last = (entries[entries.length - 1] as Entry).index;
      if (progress.state === "replicate") {
        progress.next = last + 1;
        progress.inflights.push(last);
      }
    }
    if (progress.state === "probe") progress.probeSent = true;
    return entries.length > 0 && progress.state === "replicate";
  }

  private sendSnapshotChunk(to: NodeId, progress: Progress): void {
    const storage = this.log.storage;
    const metadata = storage.snapshotMetadata();
    if (metadata.index === 0) {
      this.logger.error({ id: this.id, to }, "follower needs a snapshot but storage has none");
      return;
    }
    if (progress.state !== "snapshot" || progress.snapshotIndex !== metadata.index) {
      progress.becomeSnapshot(metadata.index);
    }
    if (progress.snapshotChunkInFlight) return;
    const totalBytes = storage.snapshotSize();
    const offset = Math.min(progress.snapshotOffset, totalBytes);
    const data = storage.readSnapshotChunk(offset, this.config.maxSnapshotChunkBytes);
    const done = offset + data.length >= totalBytes;
    this.send({
      type: "snapshot",
      to,
      chunk: { metadata, offset, totalBytes, data, done },
      leaseTick: this.now,
    });
    progress.snapshotChunkInFlight = true;
    progress.snapshotSentTick = this.now;
  }

  /** A chunk or its answer was lost: send it again after an election timeout of silence. */
  private resendStalledSnapshots(): void {
    for (const [id, progress] of this.progress) {
      if (id === this.id || progress.state !== "snapshot" || !progress.snapshotChunkInFlight) continue;
      if (this.now - progress.snapshotSentTick >= this.config.electionTicks) {
        progress.snapshotChunkInFlight = false;
        this.sendSnapshotChunk(id, progress);
      }
    }
  }

  private sendTimeoutNow(to: NodeId): void {
    this.timeoutNowSent = true;
    this.send({ type: "timeoutNow", to });
  }

  private abortLeaderTransfer(): void {
    this.leadTransferee = NO_NODE;
  }

  // ---------------------------------------------------------------- proposals and reads

  /** Appends `data` to the log (leader only). Returns its index and term. */
  propose(data: Uint8Array): { index: number; term: number } {
    return this.proposeEntry(EntryType.Normal, data);
  }

  proposeConfChange(change: ConfChange, encoded: Uint8Array): { index: number; term: number } {
    this.requireLeader();
    if (this.pendingConfIndex > this.log.applied) throw new ConfChangePendingError(this.pendingConfIndex);
    this.membership.validate(change);
    const result = this.proposeEntry(EntryType.ConfChange, encoded);
    this.pendingConfIndex = result.index;
    return result;
  }

  private proposeEntry(type: EntryType, data: Uint8Array): { index: number; term: number } {
    this.requireLeader();
    if (this.leadTransferee !== NO_NODE) throw new TransferInProgressError(this.leadTransferee);
    if (this.uncommittedBytes + data.length > this.config.maxUncommittedBytes && this.uncommittedBytes > 0) {
      throw new ProposalDroppedError(
        `${this.uncommittedBytes} bytes are already waiting to commit (maxUncommittedBytes ${this.config.maxUncommittedBytes})`,
      );
    }
    const [entry] = this.appendEntries([{ type, data }]);
    return { index: (entry as Entry).index, term: this.term };
  }

  private appendEntries(items: readonly { type: EntryType; data: Uint8Array }[]): Entry[] {
    let index = this.log.lastIndex();
    const entries = items.map((item) => {
      index++;
      this.uncommittedBytes += item.data.length;
      return { term: this.term, index, type: item.type, data: item.data };
    });
    this.log.append(entries);
    const self = this.progress.get(this.id);
    if (self) self.maybeUpdate(index);
    this.maybeCommit();
    this.broadcastPending = true;
    return entries;
  }

  /** Sends the appends that proposals have been waiting for (called before a Ready is built). */
  flushBroadcast(): void {
    if (!this.broadcastPending) return;
    this.broadcastPending = false;
    if (this.role === "leader") this.broadcastAppend();
  }

  hasPendingBroadcast(): boolean {
    return this.broadcastPending;
  }

  committedBytesApplied(bytes: number): void {
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - bytes);
  }

  /** Starts a linearizable read; its ReadState arrives in a later Ready. */
  readIndex(requestId: string): void {
    this.requireLeader();
    if (this.readOnly.size + this.readsAwaitingCommit.length >= MAX_PENDING_READS) {
      throw new ProposalDroppedError(`${MAX_PENDING_READS} reads are already waiting (MAX_PENDING_READS)`);
    }
    if (!this.committedEntryInCurrentTerm()) {
      // The commit index may lag until the leader commits an entry of its own term.
      this.readsAwaitingCommit.push(requestId);
      return;
    }
    this.startRead(requestId);
  }

  private startRead(requestId: string): void {
    if (this.membership.voters.size === 1 && this.membership.voters.has(this.id)) {
      this.readStates.push({ requestId, index: this.log.committed });
      return;
    }
    const round = this.readOnly.add(requestId, this.log.committed, this.id);
    this.broadcastHeartbeat(round);
  }

  private serveReadsAwaitingCommit(): void {
    const waiting = this.readsAwaitingCommit.splice(0);
    for (const requestId of waiting) this.startRead(requestId);
  }

  private releaseConfirmedReads(): void {
    const voters = this.membership.voters;
    const needed = quorumSize(voters.size);
    const confirmed = this.readOnly.takeConfirmed((acks) => {
      let count = 0;
      for (const id of acks) if (voters.has(id)) count++;
      return count >= needed;
    });
    for (const read of confirmed) this.readStates.push(read);
  }

  /** Hands leadership to `to` (Raft thesis §3.10): catch it up, then TimeoutNow. */
  transferLeadership(to: NodeId): void {
    this.requireLeader();
    if (to === this.id) return;
    if (!this.membership.voters.has(to)) {
      throw new InvalidTransferError(`${to} is not a voter; only voters can become leader`);
    }
    if (this.leadTransferee === to) return;
    this.abortLeaderTransfer();
    this.leadTransferee = to;
    this.electionElapsed = 0;
    this.logger.info({ id: this.id, to, term: this.term }, "transferring leadership");
    const progress = this.progress.get(to) as Progress;
    if (progress.match === this.log.lastIndex()) this.sendTimeoutNow(to);
    else this.sendAppend(to, progress, true);
  }

  private requireLeader(): void {
    if (this.role !== "leader") throw new NotLeaderError(this.leaderId);
  }

  // ---------------------------------------------------------------- membership

  /** Applies a committed membership change entry (called as entries are applied). */
  applyConfChangeEntry(entry: Entry): void {
    const change = decodeConfChange(entry.data);
    const applied = this.membership.apply(change);
    if (!applied) {
      this.logger.warn({ id: this.id, change, index: entry.index }, "membership change ignored: invalid here");
      return;
    }
    this.logger.info({ id: this.id, change, index: entry.index }, "membership changed");
    if (this.role !== "leader") {
      this.syncProgressWithMembership();
      return;
    }
    if (!this.membership.voters.has(this.id)) {
      // This leader was removed: step down so the remaining voters elect a leader.
      this.becomeFollower(this.term, NO_NODE);
      return;
    }
    this.syncProgressWithMembership();
    if (this.leadTransferee !== NO_NODE && !this.membership.voters.has(this.leadTransferee)) {
      this.abortLeaderTransfer();
      if (this.timeoutNowSent) {
        // The target may still campaign with forced votes, and the lease stays void for the
        // rest of this term: step down (as when a transfer times out) rather than lead
        // without a lease until the term changes, which might be never.
        this.becomeFollower(this.term, NO_NODE);
        return;
      }
    }
    if (this.maybeCommit()) this.broadcastAppend();
    else this.broadcastPending = true;
  }

  private syncProgressWithMembership(): void {
    const next = this.log.lastIndex() + 1;
    for (const id of [...this.progress.keys()]) {
      if (!this.membership.has(id)) this.progress.delete(id);
    }
    for (const id of this.membership.voters) {
      const progress = this.progress.get(id);
      if (progress) progress.isLearner = false;
      else this.progress.set(id, this.newProgress(id, next, false));
    }
    for (const id of this.membership.learners) {
      if (!this.progress.has(id)) this.progress.set(id, this.newProgress(id, next, true));
    }
  }

  private newProgress(id: NodeId, next: number, isLearner: boolean): Progress {
    const progress = new Progress(next, isLearner);
    // A new member counts as active so CheckQuorum does not depose the leader before it answers.
    progress.recentActive = true;
    if (id === this.id) progress.match = next - 1;
    return progress;
  }

  private replayAppliedConfChanges(fromIndex: number, toIndex: number): void {
    if (toIndex <= fromIndex) return;
    for (const entry of this.log.entries(fromIndex + 1, toIndex + 1, Number.MAX_SAFE_INTEGER)) {
      if (entry.type === EntryType.ConfChange) this.membership.apply(decodeConfChange(entry.data));
    }
  }

  // ---------------------------------------------------------------- output

  private send(message: OutgoingMessage): void {
    this.messages.push({ ...message, from: this.id, term: this.term } as Message);
  }
}

/** Entries must continue from prevIndex one by one, with terms that never decrease and never pass the message's term. */
function entriesFollow(message: AppendMessage): boolean {
  let index = message.prevIndex;
  let term = message.prevTerm;
  for (const entry of message.entries) {
    index++;
    if (entry.index !== index || entry.term < term || entry.term > message.term) return false;
    term = entry.term;
  }
  return true;
}
