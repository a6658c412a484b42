// Unique member names for the facade. Each node reports its own `nodeName`; two nodes may still
// report the same one (copied configs, equal host names). Every PoC resolves a clash the same way
// from the replicated state alone: the member that joined first keeps the name, the others get
// `<name>-<end of their id>`, so a console's URIs do not change when the PoC moves.
import type { MemberRecord } from "../cluster-state/types.ts";
import { NODE_NAME_MAX_CHARS, NODE_NAME_PATTERN, sanitizeNodeName } from "../config/node-name.ts";
import { NAME_LABEL } from "./member-labels.ts";

/** Characters of the node id appended to a clashing name (peer ids differ in their last characters). */
export const CLASH_SUFFIX_ID_CHARS = 8;

export interface NameClash {
  readonly name: string;
  /** The members that asked for `name`, the keeper first. */
  readonly memberIds: readonly string[];
}

export interface MemberNames {
  readonly byId: ReadonlyMap<string, string>;
  readonly clashes: readonly NameClash[];
}

type NamedMember = Pick<MemberRecord, "id" | "labels" | "joinedAtMs">;

/** The name a member asked for, made valid; a member that reported none is `node-<end of id>`. */
export function requestedName(member: NamedMember): string {
  const label = member.labels[NAME_LABEL];
  if (label !== undefined && NODE_NAME_PATTERN.test(label)) return label;
  if (label !== undefined && label !== "") return sanitizeNodeName(label);
  return sanitizeNodeName(`node-${idTail(member.id)}`);
}

export function assignMemberNames(members: readonly NamedMember[]): MemberNames {
  const byRequested = new Map<string, NamedMember[]>();
  for (const member of members) {
    // Names compare case-insensitively: a console may not tell `BMC1_x` from `bmc1_x` apart.
    const key = requestedName(member).toLowerCase();
    const group = byRequested.get(key);
    if (group === undefined) byRequested.set(key, [member]);
    else group.push(member);
  }
  const byId = new Map<string, string>();
  const taken = new Set<string>();
  const clashes: NameClash[] = [];
  const later: NamedMember[] = [];
  for (const group of byRequested.values()) {
    group.sort((a, b) => a.joinedAtMs - b.joinedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const [keeper, ...others] = group as [NamedMember, ...NamedMember[]];
    const name = requestedName(keeper);
    byId.set(keeper.id, name);
    taken.add(name.toLowerCase());
    if (others.length > 0) {
      clashes.push({ name, memberIds: group.map((member) => member.id) });
      later.push(...others);
    }
  }
  for (const member of later.sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const base = requestedName(member);
    let suffix = idTail(member.id);
    let candidate = withSuffix(base, suffix);
    // Another member may already be called exactly that: lengthen the suffix, deterministically.
    for (let extra = CLASH_SUFFIX_ID_CHARS; taken.has(candidate.toLowerCase()) && extra < member.id.length; extra++) {
      suffix = idTail(member.id, extra + 1);
      candidate = withSuffix(base, suffix);
    }
    byId.set(member.id, candidate);
    taken.add(candidate.toLowerCase());
  }
  return { byId, clashes };
}

function idTail(id: string, chars = CLASH_SUFFIX_ID_CHARS): string {
  return id.slice(-chars).replace(/[^A-Za-z0-9]/g, "0");
}

function withSuffix(base: string, suffix: string): string {
  const room = NODE_NAME_MAX_CHARS - suffix.length - 1;
  return `${base.slice(0, room).replace(/-+$/, "")}-${suffix}`;
}

/** One sentence per clash, for the status warnings: which members asked for the name and what they got. */
export function describeNameClashes(names: MemberNames): string[] {
  return names.clashes.map((clash) => {
    const given = clash.memberIds.map((id) => `${id} is "${names.byId.get(id) ?? clash.name}"`).join(", ");
    return `${clash.memberIds.length} members have nodeName "${clash.name}": ${given}; set a unique nodeName on each`;
  });
}
