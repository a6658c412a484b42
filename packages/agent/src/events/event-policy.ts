// The per-site event policy (config `events.policy`), as IBM's ibmcrassd has: each event the
// node's own BMC sends is matched against the rules in order, and the first whose `messageId`
// matches decides. Its `severity` replaces the event's; its action says what else happens: `log`
// (the agent logs the event), `alert` (a Conclave ClusterAlert event follows it in the stream),
// `handover` (the alert, and the PoC hands leadership over). Pure: attach-member-events acts.
import type { ConclaveConfig } from "../config/schema.ts";

export type EventPolicyRule = NonNullable<ConclaveConfig["events"]>["policy"][number];
export type EventPolicyAction = EventPolicyRule["action"];
export type EventPolicySeverity = NonNullable<EventPolicyRule["severity"]>;

/** What the policy made of one event. */
export interface EventPolicyDecision {
  /** The event as it is kept: its MessageSeverity (and deprecated Severity) replaced when the rule says. */
  readonly record: Readonly<Record<string, unknown>>;
  readonly action: EventPolicyAction;
  /** The event's severity after the rule (the rule's, else the event's own; undefined when neither). */
  readonly severity: string | undefined;
  /** The rule's place in `events.policy` (0-based), for logs. */
  readonly ruleIndex: number;
}

/** Whether a rule's `messageId` (an exact id, a prefix ending in `*`, or `*`) matches an event's. */
export function messageIdMatches(pattern: string, messageId: string): boolean {
  if (pattern.endsWith("*")) return messageId.startsWith(pattern.slice(0, -1));
  return pattern === messageId;
}

/**
 * Whether every event `later` matches is matched by `earlier` first, so `later` never applies
 * (the config refuses such a rule: it is always a mistake in a first-match table).
 */
export function messageIdCovers(earlier: string, later: string): boolean {
  if (!earlier.endsWith("*")) return earlier === later;
  const prefix = earlier.slice(0, -1);
  return later.startsWith(prefix);
}

/** The event's own severity: `MessageSeverity`, else the deprecated `Severity`. */
function severityOf(record: Readonly<Record<string, unknown>>): string | undefined {
  if (typeof record.MessageSeverity === "string") return record.MessageSeverity;
  if (typeof record.Severity === "string") return record.Severity;
  return undefined;
}

/**
 * The first rule matching the event's MessageId, applied; undefined when none matches (or the
 * event has no MessageId): the event passes unchanged.
 */
export function applyEventPolicy(
  rules: readonly EventPolicyRule[],
  record: Readonly<Record<string, unknown>>,
): EventPolicyDecision | undefined {
  const messageId = record.MessageId;
  if (typeof messageId !== "string") return undefined;
  const ruleIndex = rules.findIndex((rule) => messageIdMatches(rule.messageId, messageId));
  const rule = rules[ruleIndex];
  if (rule === undefined) return undefined;
  if (rule.severity === undefined) {
    return { record, action: rule.action, severity: severityOf(record), ruleIndex };
  }
  const changed: Record<string, unknown> = { ...record, MessageSeverity: rule.severity };
  // Severity is deprecated in favour of MessageSeverity; a record carrying both must not disagree.
  if (typeof record.Severity === "string") changed.Severity = rule.severity;
  return { record: changed, action: rule.action, severity: rule.severity, ruleIndex };
}
