// Turns an operator's node argument into a member id: the full id, a unique id prefix, or a
// member name (its `name` label). Unknown or ambiguous values are errors naming the value.
import type { NodeId } from "@conclave/consensus";
import type { MemberRecord } from "../cluster-state/types.ts";
import { AmbiguousNodeError, UnknownNodeError } from "../errors.ts";

/** Characters of the id shown when a member has no `name` label (peer ids share their first characters). */
export const SHORT_ID_TAIL_CHARS = 8;

/** The member's human name: its `name` label, else the end of its id (the start is the same for every Ed25519 peer id). */
export function memberName(member: Pick<MemberRecord, "id" | "labels">): string {
  const label = member.labels.name;
  return label !== undefined && label !== "" ? label : shortId(member.id);
}

export function shortId(id: NodeId): string {
  return id.length <= SHORT_ID_TAIL_CHARS ? id : `…${id.slice(-SHORT_ID_TAIL_CHARS)}`;
}

export function resolveNode(value: string, members: readonly Pick<MemberRecord, "id" | "labels">[]): NodeId {
  const wanted = value.trim();
  if (wanted === "") throw new UnknownNodeError(value);
  const exact = members.find((member) => member.id === wanted);
  if (exact !== undefined) return exact.id;
  const byName = members.filter((member) => member.labels.name === wanted || memberName(member) === wanted);
  if (byName.length === 1) return byName[0]!.id;
  if (byName.length > 1)
    throw new AmbiguousNodeError(
      value,
      byName.map((member) => member.id),
    );
  const tail = wanted.startsWith("…") ? wanted.slice(1) : undefined;
  const byPrefix = members.filter((member) =>
    tail !== undefined ? member.id.endsWith(tail) : member.id.startsWith(wanted),
  );
  if (byPrefix.length === 1) return byPrefix[0]!.id;
  if (byPrefix.length > 1)
    throw new AmbiguousNodeError(
      value,
      byPrefix.map((member) => member.id),
    );
  throw new UnknownNodeError(value);
}
