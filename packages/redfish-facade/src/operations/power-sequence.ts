// Power sequencing across BMC boundaries: a multi-node system powers up in a configured order of
// member groups (storage enclosures before the compute nodes that boot from them) and down in the
// reverse order. Applied to aggregated resets whose ResetType powers on or off; restarts and
// other reset types are not sequenced (they only run in batches).
import { MEMBER_NAME_PATTERN } from "../facade-cluster.ts";
import { FacadeConfigError } from "../facade-options.ts";

/** The configured power-on order of member groups. */
export interface PowerSequenceConfig {
  /** In power-on order; power-off runs them in reverse. Members in no group come last (on) / first (off). */
  readonly groups: readonly {
    readonly name: string;
    /** Member names (nodeName) in the group. */
    readonly members?: readonly string[];
    /** Or: every member whose labels include all of these. */
    readonly labels?: Readonly<Record<string, string>>;
    /** Wait after this group is on (before the next starts); off: before the previous group goes off. */
    readonly delayAfterSeconds: number;
  }[];
}

/** Groups one sequence may hold. */
export const POWER_GROUPS_MAX = 32;
/** Members one group may name. */
export const POWER_GROUP_MEMBERS_MAX = 256;
/** Labels one group may require. */
export const POWER_GROUP_LABELS_MAX = 16;
/** Longest wait after a group (one hour). */
export const POWER_GROUP_DELAY_MAX_SECONDS = 3_600;
/** Group names appear in task messages: short, readable, no path characters. */
export const POWER_GROUP_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,62}$/;
const LABEL_TEXT_MAX_CHARS = 128;

/** ResetTypes that bring a resource up: the groups run in the configured order. */
export const POWER_ON_RESET_TYPES: ReadonlySet<string> = new Set(["On", "ForceOn"]);
/** ResetTypes that bring a resource down: the groups run in reverse. */
export const POWER_OFF_RESET_TYPES: ReadonlySet<string> = new Set(["ForceOff", "GracefulShutdown"]);

export type PowerDirection = "on" | "off";

/** Which way a ResetType powers, or undefined for one that is not sequenced (restarts, Nmi, ...). */
export function powerDirection(resetType: string): PowerDirection | undefined {
  if (POWER_ON_RESET_TYPES.has(resetType)) return "on";
  if (POWER_OFF_RESET_TYPES.has(resetType)) return "off";
  return undefined;
}

export interface PowerGroup {
  readonly name: string;
  /** Member names, or undefined when the group selects by labels. */
  readonly members: ReadonlySet<string> | undefined;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly delayAfterMs: number;
}

/** A validated sequence, frozen. */
export interface ResolvedPowerSequence {
  readonly groups: readonly PowerGroup[];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const GROUP_KEYS = new Set(["name", "members", "labels", "delayAfterSeconds"]);

function resolveGroup(group: unknown, index: number, claimed: Map<string, string>): PowerGroup {
  const where = `powerSequence.groups[${index}]`;
  if (!isObject(group)) throw new FacadeConfigError(`${where} must be an object`);
  for (const key of Object.keys(group)) {
    if (!GROUP_KEYS.has(key)) throw new FacadeConfigError(`${where} has an unknown property ${JSON.stringify(key)}`);
  }
  const { name, members, labels, delayAfterSeconds } = group;
  if (typeof name !== "string" || !POWER_GROUP_NAME_PATTERN.test(name)) {
    throw new FacadeConfigError(`${where}.name must match ${POWER_GROUP_NAME_PATTERN}, got ${JSON.stringify(name)}`);
  }
  if (
    typeof delayAfterSeconds !== "number" ||
    !Number.isInteger(delayAfterSeconds) ||
    delayAfterSeconds < 0 ||
    delayAfterSeconds > POWER_GROUP_DELAY_MAX_SECONDS
  ) {
    throw new FacadeConfigError(
      `${where}.delayAfterSeconds must be an integer from 0 to ${POWER_GROUP_DELAY_MAX_SECONDS}, got ${String(delayAfterSeconds)}`,
    );
  }
  if ((members === undefined) === (labels === undefined)) {
    throw new FacadeConfigError(`${where} (${name}) must select its members by either members or labels, not both`);
  }
  if (members !== undefined) {
    if (!Array.isArray(members) || members.length === 0 || members.length > POWER_GROUP_MEMBERS_MAX) {
      throw new FacadeConfigError(`${where}.members must list 1 to ${POWER_GROUP_MEMBERS_MAX} member names`);
    }
    for (const member of members) {
      if (typeof member !== "string" || !MEMBER_NAME_PATTERN.test(member)) {
        throw new FacadeConfigError(
          `${where}.members: ${JSON.stringify(member)} is not a member name (${MEMBER_NAME_PATTERN})`,
        );
      }
      const other = claimed.get(member);
      if (other !== undefined) {
        throw new FacadeConfigError(`${where}.members: ${member} is already in group ${other}`);
      }
      claimed.set(member, name);
    }
    return Object.freeze({
      name,
      members: new Set(members as string[]),
      labels: undefined,
      delayAfterMs: delayAfterSeconds * 1_000,
    });
  }
  if (!isObject(labels)) throw new FacadeConfigError(`${where}.labels must be an object of label values`);
  const entries = Object.entries(labels);
  if (entries.length === 0 || entries.length > POWER_GROUP_LABELS_MAX) {
    throw new FacadeConfigError(`${where}.labels must hold 1 to ${POWER_GROUP_LABELS_MAX} labels`);
  }
  for (const [key, value] of entries) {
    if (
      key === "" ||
      key.length > LABEL_TEXT_MAX_CHARS ||
      typeof value !== "string" ||
      value.length > LABEL_TEXT_MAX_CHARS
    ) {
      throw new FacadeConfigError(
        `${where}.labels.${key} must be a string of at most ${LABEL_TEXT_MAX_CHARS} characters`,
      );
    }
  }
  return Object.freeze({
    name,
    members: undefined,
    labels: Object.freeze({ ...(labels as Record<string, string>) }),
    delayAfterMs: delayAfterSeconds * 1_000,
  });
}

/**
 * Validates a power sequence (plain messages naming the bad entry), frozen; undefined when none is
 * configured. A member named by two groups is refused; a member whose labels match two groups
 * belongs to the first of them.
 */
export function resolvePowerSequence(config: PowerSequenceConfig | undefined): ResolvedPowerSequence | undefined {
  if (config === undefined) return undefined;
  if (!isObject(config) || !Array.isArray(config.groups)) {
    throw new FacadeConfigError("powerSequence must be an object with a groups array");
  }
  const groups: unknown[] = config.groups;
  if (groups.length === 0 || groups.length > POWER_GROUPS_MAX) {
    throw new FacadeConfigError(`powerSequence.groups must hold 1 to ${POWER_GROUPS_MAX} groups`);
  }
  const claimed = new Map<string, string>();
  const resolved = groups.map((group, index) => resolveGroup(group, index, claimed));
  const names = new Set<string>();
  for (const group of resolved) {
    if (names.has(group.name)) throw new FacadeConfigError(`powerSequence: two groups are named ${group.name}`);
    names.add(group.name);
  }
  return Object.freeze({ groups: Object.freeze(resolved) });
}

/** What the sequence needs to know of a target's owner. */
export interface SequencedMember {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** The index of the group a member belongs to, or undefined when it is in none. */
export function powerGroupOf(sequence: ResolvedPowerSequence, member: SequencedMember): number | undefined {
  const index = sequence.groups.findIndex((group) =>
    group.members !== undefined
      ? group.members.has(member.name)
      : Object.entries(group.labels ?? {}).every(([key, value]) => member.labels[key] === value),
  );
  return index === -1 ? undefined : index;
}

/** One step of a sequence: the targets of one group (or of no group), and the wait before it. */
export interface PowerStep<T> {
  /** The group's name, or null for the members in no group. */
  readonly group: string | null;
  readonly targets: readonly T[];
  /** The wait after the previous step finished (the previous group's delay). */
  readonly delayBeforeMs: number;
}

/**
 * Orders targets into steps: on, in the configured order with the members in no group last; off,
 * in reverse with the members in no group first. A group's delay is the wait after its own step,
 * before the next one starts, in either direction. Groups with no target are skipped (their delay
 * too). Targets keep their given order within a step.
 */
export function powerSteps<T>(
  sequence: ResolvedPowerSequence,
  targets: readonly T[],
  memberOf: (target: T) => SequencedMember,
  direction: PowerDirection,
): PowerStep<T>[] {
  const byGroup = sequence.groups.map((): T[] => []);
  const ungrouped: T[] = [];
  for (const target of targets) {
    const index = powerGroupOf(sequence, memberOf(target));
    if (index === undefined) ungrouped.push(target);
    else byGroup[index]?.push(target);
  }
  const ordered: { group: string | null; targets: T[]; delayAfterMs: number }[] = sequence.groups.map((group, i) => ({
    group: group.name,
    targets: byGroup[i] ?? [],
    delayAfterMs: group.delayAfterMs,
  }));
  const none = { group: null, targets: ungrouped, delayAfterMs: 0 };
  const steps = direction === "on" ? [...ordered, none] : [none, ...ordered.reverse()];
  const result: PowerStep<T>[] = [];
  let delayBeforeMs = 0;
  for (const step of steps) {
    if (step.targets.length === 0) continue;
    result.push({ group: step.group, targets: step.targets, delayBeforeMs: result.length === 0 ? 0 : delayBeforeMs });
    delayBeforeMs = step.delayAfterMs;
  }
  return result;
}
