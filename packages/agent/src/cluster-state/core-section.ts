// The core section of the cluster state: the cluster's identity, its members and the
// leadership history, with the commands that change them.
import type { NodeId } from "@conclave/consensus";
import Type from "typebox";
import type { JsonValue } from "./canonical-json.ts";
import { type CommandInput, defineCommand, firstProblem, type StateSection } from "./command.ts";
import { CommandRejection } from "./errors.ts";
import {
  type ClusterIdentity,
  type HealthSummary,
  LABEL_KEY_MAX_CHARS,
  LABEL_VALUE_MAX_CHARS,
  LEADERSHIP_HISTORY_MAX,
  LEADERSHIP_REASONS,
  type LeadershipReason,
  type LeadershipRecord,
  MEMBER_ADDRESS_MAX_CHARS,
  MEMBER_ADDRESSES_MAX,
  MEMBER_LABELS_MAX,
  type MemberRecord,
  type MemberRole,
  NODE_ID_MAX_CHARS,
} from "./types.ts";

/** Mutable inside apply only; everything handed out is a frozen record. */
export interface CoreState {
  identity: ClusterIdentity | null;
  readonly members: Map<NodeId, MemberRecord>;
  readonly history: LeadershipRecord[];
}

/** Priority of a member that has not reported its own (the config default). */
export const DEFAULT_MEMBER_PRIORITY = 50;

// ---------------------------------------------------------------- schemas

const NodeIdSchema = Type.String({ minLength: 1, maxLength: NODE_ID_MAX_CHARS, pattern: "^[A-Za-z0-9._-]+$" });
const TimeMsSchema = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });
const PercentSchema = Type.Number({ minimum: 0, maximum: 100 });
const PrioritySchema = Type.Integer({ minimum: 0, maximum: 100 });
const AddressesSchema = Type.Array(Type.String({ minLength: 1, maxLength: MEMBER_ADDRESS_MAX_CHARS }), {
  maxItems: MEMBER_ADDRESSES_MAX,
});
const LabelsSchema = Type.Record(
  Type.String({ pattern: `^[A-Za-z0-9][A-Za-z0-9._-]{0,${LABEL_KEY_MAX_CHARS - 1}}$` }),
  Type.String({ maxLength: LABEL_VALUE_MAX_CHARS }),
  { maxProperties: MEMBER_LABELS_MAX, additionalProperties: false },
);
const HealthStatusSchema = Type.Union([Type.Literal("ok"), Type.Literal("warning"), Type.Literal("critical")]);
/** Lower-case RFC 4122 form, as Redfish's ServiceRoot UUID. */
const UuidSchema = Type.String({
  pattern: "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
});
/** As the config's clusterName. */
const ClusterNameSchema = Type.String({ pattern: "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$" });
const ReasonSchema = Type.Union(LEADERSHIP_REASONS.map((reason) => Type.Literal(reason)));
const TermSchema = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

const HealthSnapshotSchema = Type.Object(
  {
    status: HealthStatusSchema,
    bmcReachable: Type.Boolean(),
    cpuPercent: Type.Optional(PercentSchema),
    memoryPercent: Type.Optional(PercentSchema),
    diskPercent: Type.Optional(PercentSchema),
    reportedAtMs: TimeMsSchema,
  },
  { additionalProperties: false },
);

const MemberSnapshotSchema = Type.Object(
  {
    id: NodeIdSchema,
    role: Type.Union([Type.Literal("voter"), Type.Literal("learner"), Type.Literal("witness")]),
    witness: Type.Boolean(),
    addresses: AddressesSchema,
    drained: Type.Boolean(),
    priority: PrioritySchema,
    labels: LabelsSchema,
    health: Type.Union([HealthSnapshotSchema, Type.Null()]),
    joinedAtMs: TimeMsSchema,
  },
  { additionalProperties: false },
);

const LeadershipRecordSchema = Type.Object(
  { term: TermSchema, leaderId: NodeIdSchema, atMs: TimeMsSchema, reason: ReasonSchema },
  { additionalProperties: false },
);

const CoreSnapshotSchema = Type.Object(
  {
    identity: Type.Union([
      Type.Object(
        { clusterId: UuidSchema, clusterName: ClusterNameSchema, createdAtMs: TimeMsSchema },
        { additionalProperties: false },
      ),
      Type.Null(),
    ]),
    // Members mirror the Raft configuration, which the snapshot must hold whatever its size.
    members: Type.Array(MemberSnapshotSchema, { maxItems: 4096 }),
    history: Type.Array(LeadershipRecordSchema, { maxItems: LEADERSHIP_HISTORY_MAX }),
  },
  { additionalProperties: false },
);

// ---------------------------------------------------------------- the section

export const coreSection: StateSection<CoreState> = Object.freeze({
  name: "core",
  version: 1,
  initial(): CoreState {
    return { identity: null, members: new Map(), history: [] };
  },
  toSnapshot(state: CoreState): JsonValue {
    return {
      identity: state.identity as JsonValue,
      members: [...state.members.values()].sort((a, b) => compareIds(a.id, b.id)) as unknown as JsonValue,
      history: state.history as unknown as JsonValue,
    };
  },
  fromSnapshot(data: unknown, version: number): CoreState {
    if (version !== 1) throw new Error(`unknown core section version ${version}`);
    const problem = firstProblem(CoreSnapshotSchema, data);
    if (problem !== undefined) throw new Error(`core section: ${problem}`);
    const snapshot = data as {
      identity: ClusterIdentity | null;
      members: MemberRecord[];
      history: LeadershipRecord[];
    };
    const members = new Map<NodeId, MemberRecord>();
    for (const member of snapshot.members) {
      if (members.has(member.id)) throw new Error(`core section: member ${member.id} appears twice`);
      members.set(member.id, freezeMember(member));
    }
    for (let i = 1; i < snapshot.history.length; i++) {
      if ((snapshot.history[i] as LeadershipRecord).term <= (snapshot.history[i - 1] as LeadershipRecord).term) {
        throw new Error("core section: leadership history terms must increase");
      }
    }
    return {
      identity: snapshot.identity === null ? null : Object.freeze({ ...snapshot.identity }),
      members,
      history: snapshot.history.map((record) => Object.freeze({ ...record })),
    };
  },
});

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function freezeMember(member: MemberRecord): MemberRecord {
  return Object.freeze({
    id: member.id,
    role: member.role,
    witness: member.witness,
    addresses: Object.freeze([...member.addresses]),
    drained: member.drained,
    priority: member.priority,
    labels: Object.freeze(sortedLabels(member.labels)),
    health: member.health === null ? null : Object.freeze({ ...member.health }),
    joinedAtMs: member.joinedAtMs,
  });
}

function sortedLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) sorted[key] = labels[key] as string;
  return sorted;
}

/** The role a member shows: Raft's suffrage, with voters that declared themselves witnesses shown as such. */
export function roleOf(suffrage: "voter" | "learner", witness: boolean): MemberRole {
  return suffrage === "learner" ? "learner" : witness ? "witness" : "voter";
}

export function newMember(id: NodeId, suffrage: "voter" | "learner", joinedAtMs: number): MemberRecord {
  return freezeMember({
    id,
    role: suffrage,
    witness: false,
    addresses: [],
    drained: false,
    priority: DEFAULT_MEMBER_PRIORITY,
    labels: {},
    health: null,
    joinedAtMs,
  });
}

function requireMember(state: CoreState, id: NodeId): MemberRecord {
  const member = state.members.get(id);
  if (member === undefined) throw new CommandRejection("not-a-member", `${id} is not a member of the cluster`);
  return member;
}

// ---------------------------------------------------------------- commands

export const initClusterCommand = defineCommand({
  type: "cluster.init",
  version: 1,
  section: coreSection,
  body: Type.Object({ clusterId: UuidSchema, clusterName: ClusterNameSchema }, { additionalProperties: false }),
  apply(state, body, context): ClusterIdentity {
    if (state.identity !== null) {
      // A proposer retrying after a timeout sends the same id: that is the same cluster.
      if (state.identity.clusterId === body.clusterId) return state.identity;
      throw new CommandRejection("already-initialised", "the cluster identity is set once and never changed");
    }
    const identity = Object.freeze({
      clusterId: body.clusterId,
      clusterName: body.clusterName,
      createdAtMs: context.atMs,
    });
    state.identity = identity;
    // Founding members came with the bootstrap configuration, before any time was known.
    for (const member of state.members.values()) {
      if (member.joinedAtMs === 0) state.members.set(member.id, freezeMember({ ...member, joinedAtMs: context.atMs }));
    }
    return identity;
  },
});

export const updateMemberCommand = defineCommand({
  type: "member.update",
  version: 1,
  section: coreSection,
  body: Type.Object(
    {
      id: NodeIdSchema,
      addresses: Type.Optional(AddressesSchema),
      priority: Type.Optional(PrioritySchema),
      labels: Type.Optional(LabelsSchema),
      witness: Type.Optional(Type.Boolean()),
    },
    { additionalProperties: false },
  ),
  apply(state, body): MemberRecord {
    const member = requireMember(state, body.id);
    const witness = body.witness ?? member.witness;
    const updated = freezeMember({
      ...member,
      addresses: body.addresses ?? member.addresses,
      priority: body.priority ?? member.priority,
      labels: body.labels ?? member.labels,
      witness,
      role: roleOf(member.role === "learner" ? "learner" : "voter", witness),
    });
    state.members.set(member.id, updated);
    return updated;
  },
});

export const drainMemberCommand = defineCommand({
  type: "member.drain",
  version: 1,
  section: coreSection,
  body: Type.Object({ id: NodeIdSchema, drained: Type.Boolean() }, { additionalProperties: false }),
  apply(state, body): MemberRecord {
    const member = requireMember(state, body.id);
    const updated = freezeMember({ ...member, drained: body.drained });
    state.members.set(member.id, updated);
    return updated;
  },
});

export const reportHealthCommand = defineCommand({
  type: "member.health",
  version: 1,
  section: coreSection,
  body: Type.Object(
    {
      id: NodeIdSchema,
      status: HealthStatusSchema,
      bmcReachable: Type.Boolean(),
      cpuPercent: Type.Optional(PercentSchema),
      memoryPercent: Type.Optional(PercentSchema),
      diskPercent: Type.Optional(PercentSchema),
    },
    { additionalProperties: false },
  ),
  apply(state, body, context): HealthSummary {
    const member = requireMember(state, body.id);
    const { id: _id, ...summary } = body;
    const health: HealthSummary = { ...summary, reportedAtMs: context.atMs };
    state.members.set(member.id, freezeMember({ ...member, health }));
    return health;
  },
});

export const recordLeadershipCommand = defineCommand({
  type: "leadership.record",
  version: 1,
  section: coreSection,
  body: Type.Object(
    { term: TermSchema, leaderId: NodeIdSchema, reason: ReasonSchema },
    { additionalProperties: false },
  ),
  apply(state, body, context): LeadershipRecord {
    const last = state.history.at(-1);
    if (last !== undefined && body.term <= last.term) {
      throw new CommandRejection("stale-term", `term ${body.term} is not after the last recorded term ${last.term}`);
    }
    const leader = requireMember(state, body.leaderId);
    if (leader.role === "learner") {
      throw new CommandRejection("not-a-voter", `${body.leaderId} is a learner and cannot lead`);
    }
    const record: LeadershipRecord = Object.freeze({
      term: body.term,
      leaderId: body.leaderId,
      atMs: context.atMs,
      reason: body.reason,
    });
    state.history.push(record);
    if (state.history.length > LEADERSHIP_HISTORY_MAX)
      state.history.splice(0, state.history.length - LEADERSHIP_HISTORY_MAX);
    return record;
  },
});

export const CORE_COMMANDS = Object.freeze([
  initClusterCommand,
  updateMemberCommand,
  drainMemberCommand,
  reportHealthCommand,
  recordLeadershipCommand,
]);

/** Builders for the core commands, for proposers (the daemon, the CLI's control API). */
export const clusterCommands = Object.freeze({
  initCluster(clusterId: string, clusterName: string): CommandInput {
    return { type: initClusterCommand.type, body: { clusterId, clusterName } };
  },
  updateMember(
    id: NodeId,
    update: {
      addresses?: readonly string[];
      priority?: number;
      labels?: Readonly<Record<string, string>>;
      witness?: boolean;
    },
  ): CommandInput {
    return { type: updateMemberCommand.type, body: { id, ...update } };
  },
  drainMember(id: NodeId, drained: boolean): CommandInput {
    return { type: drainMemberCommand.type, body: { id, drained } };
  },
  reportHealth(id: NodeId, health: Omit<HealthSummary, "reportedAtMs">): CommandInput {
    return { type: reportHealthCommand.type, body: { id, ...health } };
  },
  recordLeadership(term: number, leaderId: NodeId, reason: LeadershipReason): CommandInput {
    return { type: recordLeadershipCommand.type, body: { term, leaderId, reason } };
  },
});
