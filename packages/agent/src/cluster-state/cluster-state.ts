// The replicated cluster state: the Raft state machine of the agent. Pure and deterministic:
// the same log gives the same state and the same snapshot bytes on every node. Nothing here
// reads a clock, draws randomness or does I/O; time arrives in each command (stamped by its
// proposer) and the cluster time is the largest stamp applied so far.
import {
  type ConfChange,
  ConfChangeType,
  type ConfState,
  InvariantError,
  type NodeId,
  type SnapshotMetadata,
} from "@conclave/consensus";
import Type from "typebox";
import { canonicalJson, type JsonValue, parseJsonStrict } from "./canonical-json.ts";
import {
  type ClusterView,
  type CommandContext,
  type CommandDefinition,
  type CommandInput,
  CommandRegistry,
  firstProblem,
  type StateSection,
} from "./command.ts";
import {
  CORE_COMMANDS,
  type CoreState,
  compareIds,
  coreSection,
  freezeMember,
  newMember,
  roleOf,
} from "./core-section.ts";
import { CommandRejection, StateSnapshotError } from "./errors.ts";
import {
  type ClusterIdentity,
  type LeadershipRecord,
  type MemberRecord,
  REJECTED_COMMANDS_KEPT,
  type RejectedCommand,
} from "./types.ts";

export const STATE_SNAPSHOT_FORMAT = "conclave-cluster-state";
export const STATE_SNAPSHOT_VERSION = 1;
/** A snapshot larger than this is refused on restore (the state is tens of KiB in practice). */
export const STATE_SNAPSHOT_MAX_BYTES = 64 * 1024 * 1024;

export type ApplyOutcome =
  | { readonly ok: true; readonly index: number; readonly type: string; readonly value: unknown }
  | {
      readonly ok: false;
      readonly index: number;
      readonly type: string;
      /** `too-large`, `malformed`, `unknown-command`, `invalid-body`, or the command's own code. */
      readonly code: string;
      /** Detail for the proposer and the log; not kept in the state (it may differ between versions). */
      readonly message: string;
    };

export interface ClusterStateOptions {
  /** Sections and commands added on top of the core (the facade's journal, tasks, sessions). */
  readonly extensions?: {
    readonly sections?: readonly StateSection<unknown>[];
    readonly commands?: readonly CommandDefinition[];
  };
}

const SnapshotEnvelopeSchema = Type.Object(
  {
    format: Type.Literal(STATE_SNAPSHOT_FORMAT),
    version: Type.Integer({ minimum: 1 }),
    appliedIndex: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    clusterTimeMs: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    rejected: Type.Object(
      {
        count: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
        recent: Type.Array(
          Type.Object(
            {
              index: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }),
              type: Type.String({ maxLength: 128 }),
              code: Type.String({ minLength: 1, maxLength: 64 }),
            },
            { additionalProperties: false },
          ),
          { maxItems: REJECTED_COMMANDS_KEPT },
        ),
      },
      { additionalProperties: false },
    ),
    sections: Type.Record(
      Type.String(),
      Type.Object({ version: Type.Integer({ minimum: 1 }), data: Type.Unknown() }, { additionalProperties: false }),
    ),
  },
  { additionalProperties: false },
);

interface SnapshotEnvelope {
  readonly format: string;
  readonly version: number;
  readonly appliedIndex: number;
  readonly clusterTimeMs: number;
  readonly rejected: { readonly count: number; readonly recent: readonly RejectedCommand[] };
  readonly sections: Readonly<Record<string, { readonly version: number; readonly data: unknown }>>;
}

export class ClusterState implements ClusterView {
  readonly registry: CommandRegistry;
  #sections: Map<string, unknown>;
  #appliedIndex = 0;
  #clusterTimeMs = 0;
  #rejectedCount = 0;
  #rejected: RejectedCommand[] = [];

  constructor(options: ClusterStateOptions = {}) {
    this.registry = new CommandRegistry(
      [coreSection as StateSection<unknown>, ...(options.extensions?.sections ?? [])],
      [...(CORE_COMMANDS as readonly CommandDefinition[]), ...(options.extensions?.commands ?? [])],
    );
    this.#sections = this.#initialSections();
  }

  // ---------------------------------------------------------------- reading

  /** The last log index applied (commands, no-ops and membership changes alike). */
  get appliedIndex(): number {
    return this.#appliedIndex;
  }

  /** The largest command time applied so far (ms since the epoch): the cluster's clock, which never goes back. */
  get clusterTimeMs(): number {
    return this.#clusterTimeMs;
  }

  get identity(): ClusterIdentity | null {
    return this.#core.identity;
  }

  member(id: NodeId): MemberRecord | undefined {
    return this.#core.members.get(id);
  }

  /** Sorted by id. */
  members(): readonly MemberRecord[] {
    return [...this.#core.members.values()].sort((a, b) => compareIds(a.id, b.id));
  }

  /** Oldest first, at most LEADERSHIP_HISTORY_MAX. */
  leadershipHistory(): readonly LeadershipRecord[] {
    return [...this.#core.history];
  }

  rejectedCommands(): { readonly count: number; readonly recent: readonly RejectedCommand[] } {
    return { count: this.#rejectedCount, recent: [...this.#rejected] };
  }

  /** The state of an extension section. Read it; change it only through its commands. */
  section<S>(section: StateSection<S>): S {
    if (!this.#sections.has(section.name)) throw new TypeError(`section ${section.name} is not registered`);
    return this.#sections.get(section.name) as S;
  }

  get #core(): CoreState {
    return this.#sections.get(coreSection.name) as CoreState;
  }

  // ---------------------------------------------------------------- proposing

  /** Encodes `input` stamped with `atMs`. Throws ClusterCommandInvalidError before anything reaches the log. */
  encode(input: CommandInput, atMs: number): Uint8Array {
    return this.registry.encode(input, atMs);
  }

  // ---------------------------------------------------------------- applying

  /**
   * Applies the command in the normal entry at `index` (the next one). A command that does
   * not decode, is unknown, has a bad body or is refused by its definition changes nothing
   * but the rejection record, identically on every node.
   */
  apply(index: number, data: Uint8Array): ApplyOutcome {
    this.#advanceTo(index);
    const decoded = this.registry.decode(data);
    if (decoded.envelope !== undefined) {
      this.#clusterTimeMs = Math.max(this.#clusterTimeMs, decoded.envelope.atMs);
    }
    if (!decoded.ok) return this.#reject(index, decoded.envelope?.type ?? "", decoded.code, decoded.message);
    const { envelope, definition } = decoded;
    const context: CommandContext = {
      index,
      atMs: envelope.atMs,
      clusterTimeMs: this.#clusterTimeMs,
      cluster: this,
    };
    try {
      const value = definition.apply(this.#sections.get(definition.section.name), envelope.body, context);
      return { ok: true, index, type: envelope.type, value };
    } catch (error) {
      // Anything but a rejection is a bug in apply: stop rather than risk diverging state.
      if (!(error instanceof CommandRejection)) throw error;
      return this.#reject(index, envelope.type, error.code, error.message);
    }
  }

  /** An entry with nothing to apply (a new leader's no-op). */
  applyEmpty(index: number): void {
    this.#advanceTo(index);
  }

  /**
   * Mirrors a committed membership change, with the same rules as the Raft core (an invalid
   * change is ignored there, so it is ignored here). Returns whether anything changed.
   */
  applyConfChange(index: number, change: ConfChange): boolean {
    this.#advanceTo(index);
    const members = this.#core.members;
    const existing = members.get(change.nodeId);
    switch (change.type) {
      case ConfChangeType.AddVoter:
        if (existing !== undefined && existing.role !== "learner") return false;
        members.set(
          change.nodeId,
          existing === undefined
            ? newMember(change.nodeId, "voter", this.#clusterTimeMs)
            : freezeMember({ ...existing, role: roleOf("voter", existing.witness) }),
        );
        return true;
      case ConfChangeType.AddLearner:
        if (existing !== undefined) return false;
        members.set(change.nodeId, newMember(change.nodeId, "learner", this.#clusterTimeMs));
        return true;
      case ConfChangeType.RemoveNode: {
        if (existing === undefined) return false;
        const voters = [...members.values()].filter((member) => member.role !== "learner").length;
        if (existing.role !== "learner" && voters === 1) return false;
        members.delete(change.nodeId);
        return true;
      }
      default:
        return false;
    }
  }

  #advanceTo(index: number): void {
    if (index !== this.#appliedIndex + 1) {
      throw new InvariantError(`cluster state applied ${this.#appliedIndex} and was handed index ${index}`);
    }
    this.#appliedIndex = index;
  }

  #reject(index: number, type: string, code: string, message: string): ApplyOutcome {
    this.#rejectedCount++;
    this.#rejected.push(Object.freeze({ index, type: type.slice(0, 128), code }));
    if (this.#rejected.length > REJECTED_COMMANDS_KEPT) this.#rejected.shift();
    return { ok: false, index, type, code, message };
  }

  // ---------------------------------------------------------------- snapshots

  /** The whole state as canonical JSON: equal states give equal bytes. */
  snapshot(): Uint8Array {
    const sections: Record<string, JsonValue> = {};
    for (const section of this.registry.sections) {
      sections[section.name] = { version: section.version, data: section.toSnapshot(this.#sections.get(section.name)) };
    }
    const envelope = {
      format: STATE_SNAPSHOT_FORMAT,
      version: STATE_SNAPSHOT_VERSION,
      appliedIndex: this.#appliedIndex,
      clusterTimeMs: this.#clusterTimeMs,
      rejected: { count: this.#rejectedCount, recent: this.#rejected },
      sections,
    };
    return new TextEncoder().encode(canonicalJson(envelope));
  }

  /**
   * Replaces the whole state with the snapshot Raft holds at `metadata`. Empty data is the
   * bootstrap snapshot: a new cluster whose members are the configuration's. All or nothing:
   * on StateSnapshotError the state is unchanged (and the node must stop).
   */
  restore(data: Uint8Array, metadata: Pick<SnapshotMetadata, "index" | "confState">): void {
    if (data.length === 0) {
      const sections = this.#initialSections();
      const core = sections.get(coreSection.name) as CoreState;
      for (const id of metadata.confState.voters) core.members.set(id, newMember(id, "voter", 0));
      for (const id of metadata.confState.learners) {
        if (!core.members.has(id)) core.members.set(id, newMember(id, "learner", 0));
      }
      this.#sections = sections;
      this.#appliedIndex = metadata.index;
      this.#clusterTimeMs = 0;
      this.#rejectedCount = 0;
      this.#rejected = [];
      return;
    }
    const envelope = this.#readSnapshot(data);
    if (envelope.appliedIndex !== metadata.index) {
      throw new StateSnapshotError(
        `snapshot data was taken at index ${envelope.appliedIndex} but Raft holds it at ${metadata.index}`,
      );
    }
    const sections = new Map<string, unknown>();
    for (const section of this.registry.sections) {
      const stored = envelope.sections[section.name];
      if (stored === undefined) {
        sections.set(section.name, section.initial()); // a section added after the snapshot was taken
        continue;
      }
      if (stored.version > section.version) {
        throw new StateSnapshotError(
          `section ${section.name} is version ${stored.version}, newer than this agent's ${section.version}`,
        );
      }
      try {
        sections.set(section.name, section.fromSnapshot(stored.data, stored.version));
      } catch (error) {
        throw new StateSnapshotError(`section ${section.name}: ${(error as Error).message}`, { cause: error });
      }
    }
    for (const name of Object.keys(envelope.sections)) {
      if (!sections.has(name)) {
        throw new StateSnapshotError(`unknown section ${name}: written by a newer agent? refusing to drop it`);
      }
    }
    checkMembersMatch(sections.get(coreSection.name) as CoreState, metadata.confState);
    this.#sections = sections;
    this.#appliedIndex = envelope.appliedIndex;
    this.#clusterTimeMs = envelope.clusterTimeMs;
    this.#rejectedCount = envelope.rejected.count;
    this.#rejected = envelope.rejected.recent.map((record) => Object.freeze({ ...record }));
  }

  #readSnapshot(data: Uint8Array): SnapshotEnvelope {
    if (data.length > STATE_SNAPSHOT_MAX_BYTES) {
      throw new StateSnapshotError(
        `${data.length} bytes exceeds STATE_SNAPSHOT_MAX_BYTES (${STATE_SNAPSHOT_MAX_BYTES})`,
      );
    }
    let raw: unknown;
    try {
      raw = parseJsonStrict(new TextDecoder("utf-8", { fatal: true }).decode(data));
    } catch (error) {
      throw new StateSnapshotError(`not JSON: ${(error as Error).message}`, { cause: error });
    }
    if (typeof raw === "object" && raw !== null && "version" in raw && typeof raw.version === "number") {
      if (raw.version > STATE_SNAPSHOT_VERSION) {
        throw new StateSnapshotError(
          `format version ${raw.version} is newer than this agent's ${STATE_SNAPSHOT_VERSION}`,
        );
      }
    }
    const problem = firstProblem(SnapshotEnvelopeSchema, raw);
    if (problem !== undefined) throw new StateSnapshotError(problem);
    return raw as SnapshotEnvelope;
  }

  #initialSections(): Map<string, unknown> {
    return new Map(this.registry.sections.map((section) => [section.name, section.initial()]));
  }
}

/** The members in a snapshot must be exactly the Raft configuration stored with it. */
function checkMembersMatch(core: CoreState, confState: ConfState): void {
  const voters = [...core.members.values()].filter((member) => member.role !== "learner").map((member) => member.id);
  const learners = [...core.members.values()].filter((member) => member.role === "learner").map((member) => member.id);
  const same = (a: readonly string[], b: readonly string[]) =>
    a.length === b.length && [...a].sort().every((id, i) => id === [...b].sort()[i]);
  if (!same(voters, confState.voters) || !same(learners, confState.learners)) {
    throw new StateSnapshotError(
      `members (voters ${voters.join(",")}; learners ${learners.join(",")}) differ from the Raft configuration (voters ${confState.voters.join(",")}; learners ${confState.learners.join(",")})`,
    );
  }
}
