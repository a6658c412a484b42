// Push subscriptions (EventDestination) as state: every change is a plain JSON value applied by
// `SubscriptionState.apply` with the same rules wherever it runs, so a store can replicate the
// changes (the agent carries them through Raft as it does accounts) and every node holds the same
// subscriptions. Ids are chosen by the caller before the change is committed, and apply reads no
// clock, so applying is deterministic. The change bodies have closed schemas
// (SUBSCRIPTION_CHANGE_BODIES, also the Raft command bodies) and the snapshot is canonical JSON,
// read back strictly.
import Type, { type TSchema } from "typebox";
import Value from "typebox/value";
import { EPOCH_PATTERN } from "./facade-event-source.ts";

/** Subscriptions the service keeps at once. */
export const SUBSCRIPTIONS_MAX = 64;
/** The longest Destination URL and Context kept. */
export const DESTINATION_MAX_CHARACTERS = 1_024;
export const CONTEXT_MAX_CHARACTERS = 256;
/** Streams a subscription's delivery cursor may name (members and the cluster's own). */
export const PROGRESS_STREAMS_MAX = 1_024;
/** Entries each filter list (RegistryPrefixes, MessageIds, ...) may hold. */
export const SUBSCRIPTION_FILTER_ENTRIES_MAX = 64;
/** The longest entry of a filter list (a MessageId, an OriginResources URI). */
export const SUBSCRIPTION_FILTER_ENTRY_MAX_CHARACTERS = 512;
/** Subscription ids: the service's own (UUIDs), so no path characters. */
export const SUBSCRIPTION_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
/** Stream names in a delivery cursor: members and the cluster's own (stream-cursor.ts). */
const PROGRESS_STREAM_PATTERN = /^(_cluster|[A-Za-z0-9][A-Za-z0-9-]{0,62})$/;

export const DELIVERY_RETRY_POLICIES = ["TerminateAfterRetries", "SuspendRetries", "RetryForever"] as const;
export type DeliveryRetryPolicy = (typeof DELIVERY_RETRY_POLICIES)[number];

export interface EventSubscription {
  readonly id: string;
  readonly destination: string;
  readonly context: string;
  readonly registryPrefixes: readonly string[];
  readonly messageIds: readonly string[];
  readonly resourceTypes: readonly string[];
  readonly originResources: readonly string[];
  readonly subordinateResources: boolean;
  readonly deliveryRetryPolicy: DeliveryRetryPolicy;
  /** False while suspended (SuspendSubscription, or SuspendRetries after failed deliveries). */
  readonly enabled: boolean;
  /**
   * What the destination has accepted, as a vector cursor (`{stream: [epoch, seq]}`): a new PoC
   * resumes delivery after it. Committed every PUSH_PROGRESS_COMMIT_MS at most, so a failover may
   * repeat what was accepted since (at least once, never lost while the members still hold it).
   */
  readonly delivered?: Readonly<Record<string, readonly [string, number]>>;
}

export interface DeliverySettings {
  readonly retryAttempts: number;
  readonly retryIntervalSeconds: number;
}

export const DEFAULT_DELIVERY_SETTINGS: DeliverySettings = Object.freeze({
  retryAttempts: 3,
  retryIntervalSeconds: 30,
});
/** Bounds of the EventService's writable delivery settings. */
export const RETRY_ATTEMPTS_MAX = 10;
export const RETRY_INTERVAL_SECONDS_MAX = 3_600;

export type SubscriptionChange =
  | { readonly type: "create"; readonly subscription: EventSubscription }
  | {
      readonly type: "update";
      readonly id: string;
      readonly context?: string;
      readonly deliveryRetryPolicy?: DeliveryRetryPolicy;
    }
  | { readonly type: "suspend" | "resume" | "remove"; readonly id: string }
  | {
      readonly type: "progress";
      readonly id: string;
      readonly delivered: Readonly<Record<string, readonly [string, number]>>;
    }
  | { readonly type: "settings"; readonly settings: Partial<DeliverySettings> };

export type SubscriptionChangeType = SubscriptionChange["type"];

// ---------------------------------------------------------------- schemas

const closed = { additionalProperties: false } as const;
const SubscriptionId = Type.String({ pattern: SUBSCRIPTION_ID_PATTERN.source });
const FilterList = Type.Array(Type.String({ maxLength: SUBSCRIPTION_FILTER_ENTRY_MAX_CHARACTERS }), {
  maxItems: SUBSCRIPTION_FILTER_ENTRIES_MAX,
});
const RetryPolicy = Type.Union(DELIVERY_RETRY_POLICIES.map((policy) => Type.Literal(policy)));
/** Stream names and their count are checked by the rules (`invalid`), not here. */
const Delivered = Type.Record(
  Type.String(),
  Type.Tuple([
    Type.String({ pattern: EPOCH_PATTERN.source }),
    Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
  ]),
);
const SubscriptionSchema = Type.Object(
  {
    id: SubscriptionId,
    destination: Type.String({ minLength: 1, maxLength: DESTINATION_MAX_CHARACTERS }),
    context: Type.String({ maxLength: CONTEXT_MAX_CHARACTERS }),
    registryPrefixes: FilterList,
    messageIds: FilterList,
    resourceTypes: FilterList,
    originResources: FilterList,
    subordinateResources: Type.Boolean(),
    deliveryRetryPolicy: RetryPolicy,
    enabled: Type.Boolean(),
    delivered: Type.Optional(Delivered),
  },
  closed,
);
/** Ranges are the rules' (`invalid`); the schema only says what kind of value. */
const SettingsNumber = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER });

/** The body of each change (the change without its `type`), by type: closed TypeBox schemas. */
export const SUBSCRIPTION_CHANGE_BODIES = {
  create: Type.Object({ subscription: SubscriptionSchema }, closed),
  update: Type.Object(
    {
      id: SubscriptionId,
      context: Type.Optional(Type.String({ maxLength: CONTEXT_MAX_CHARACTERS })),
      deliveryRetryPolicy: Type.Optional(RetryPolicy),
    },
    closed,
  ),
  suspend: Type.Object({ id: SubscriptionId }, closed),
  resume: Type.Object({ id: SubscriptionId }, closed),
  remove: Type.Object({ id: SubscriptionId }, closed),
  progress: Type.Object({ id: SubscriptionId, delivered: Delivered }, closed),
  settings: Type.Object(
    {
      settings: Type.Object(
        { retryAttempts: Type.Optional(SettingsNumber), retryIntervalSeconds: Type.Optional(SettingsNumber) },
        closed,
      ),
    },
    closed,
  ),
} as const satisfies Record<SubscriptionChangeType, TSchema>;

/** The kinds of change, in the order the Raft commands that carry them are registered. */
export const SUBSCRIPTION_CHANGE_TYPES = Object.freeze(
  Object.keys(SUBSCRIPTION_CHANGE_BODIES) as SubscriptionChangeType[],
);

const SNAPSHOT_SCHEMA = Type.Object(
  {
    settings: Type.Object({ retryAttempts: SettingsNumber, retryIntervalSeconds: SettingsNumber }, closed),
    subscriptions: Type.Array(SubscriptionSchema, { maxItems: SUBSCRIPTIONS_MAX }),
  },
  closed,
);

/** The state as canonical JSON: subscriptions in creation order, every object's keys sorted. */
export interface SubscriptionStateSnapshot {
  readonly settings: DeliverySettings;
  readonly subscriptions: readonly EventSubscription[];
}

/** A change's body: the change without its `type` (and without properties left undefined). */
export function subscriptionChangeBody(change: SubscriptionChange): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(change)) if (key !== "type" && value !== undefined) body[key] = value;
  return body;
}

/** The change a body of `type` stands for (checked by apply, not here). */
export function subscriptionChangeOf(type: SubscriptionChangeType, body: unknown): SubscriptionChange {
  return { ...(body as object), type } as SubscriptionChange;
}

/** Codes of SubscriptionRuleViolation: the state refused a change (the same on every node). */
export const SUBSCRIPTION_RULE_CODES = Object.freeze(["limit", "unknown", "exists", "invalid"] as const);
export type SubscriptionRuleCode = (typeof SUBSCRIPTION_RULE_CODES)[number];

/** A change the rules refuse: the same refusal on every node. */
export class SubscriptionRuleViolation extends Error {
  readonly code = "FACADE_ERR_SUBSCRIPTION_RULE";
  readonly rule: SubscriptionRuleCode;

  constructor(rule: SubscriptionRuleCode, message: string) {
    super(message);
    this.name = "SubscriptionRuleViolation";
    this.rule = rule;
  }
}

export interface SubscriptionStateView {
  list(): readonly EventSubscription[];
  get(id: string): EventSubscription | undefined;
  settings(): DeliverySettings;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

/** A plain copy with every object's keys sorted (arrays keep their order). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = canonical((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

function firstSchemaProblem(schema: TSchema, value: unknown): string | undefined {
  if (Value.Check(schema, value)) return undefined;
  const first = [...Value.Errors(schema, value)][0];
  return first ? `${first.instancePath || "(root)"} ${first.message}` : "invalid";
}

/** Why the delivery settings are out of range, or undefined. */
function settingsProblem(settings: DeliverySettings): string | undefined {
  const attemptsOk = Number.isInteger(settings.retryAttempts) && settings.retryAttempts >= 0;
  const intervalOk = Number.isInteger(settings.retryIntervalSeconds) && settings.retryIntervalSeconds >= 1;
  if (!attemptsOk || settings.retryAttempts > RETRY_ATTEMPTS_MAX) {
    return `DeliveryRetryAttempts must be 0..${RETRY_ATTEMPTS_MAX} (RETRY_ATTEMPTS_MAX)`;
  }
  if (!intervalOk || settings.retryIntervalSeconds > RETRY_INTERVAL_SECONDS_MAX) {
    return `DeliveryRetryIntervalSeconds must be 1..${RETRY_INTERVAL_SECONDS_MAX} (RETRY_INTERVAL_SECONDS_MAX)`;
  }
  return undefined;
}

/** Why a delivery cursor cannot be kept, or undefined. */
function deliveredProblem(delivered: Readonly<Record<string, unknown>>): string | undefined {
  const streams = Object.keys(delivered);
  if (streams.length > PROGRESS_STREAMS_MAX) {
    return `a delivery cursor names at most ${PROGRESS_STREAMS_MAX} streams (PROGRESS_STREAMS_MAX)`;
  }
  const bad = streams.find((stream) => !PROGRESS_STREAM_PATTERN.test(stream));
  return bad === undefined ? undefined : `a delivery cursor names a stream ${JSON.stringify(bad.slice(0, 64))}`;
}

export class SubscriptionState implements SubscriptionStateView {
  /** In creation order (Map keeps insertion order, the same on every node and through a snapshot). */
  private readonly subscriptions = new Map<string, EventSubscription>();
  private delivery: DeliverySettings = DEFAULT_DELIVERY_SETTINGS;

  list(): readonly EventSubscription[] {
    return [...this.subscriptions.values()];
  }

  get(id: string): EventSubscription | undefined {
    return this.subscriptions.get(id);
  }

  settings(): DeliverySettings {
    return this.delivery;
  }

  /** Applies one change, or throws SubscriptionRuleViolation and changes nothing. */
  apply(change: SubscriptionChange): void {
    const schema: TSchema | undefined = (SUBSCRIPTION_CHANGE_BODIES as Record<string, TSchema>)[change.type];
    if (schema === undefined) {
      throw new SubscriptionRuleViolation("invalid", `${String(change.type)}: not a subscription change`);
    }
    const problem = firstSchemaProblem(schema, subscriptionChangeBody(change));
    if (problem !== undefined) {
      throw new SubscriptionRuleViolation("invalid", `${change.type}: the body does not match its schema: ${problem}`);
    }
    // Kept as frozen copies: what the caller (or Raft's decoder) holds is not the state.
    const kept = <T>(value: T): T => deepFreeze(structuredClone(value));
    if (change.type === "create") {
      if (this.subscriptions.has(change.subscription.id)) {
        throw new SubscriptionRuleViolation("exists", `subscription ${change.subscription.id} exists`);
      }
      if (this.subscriptions.size >= SUBSCRIPTIONS_MAX) {
        throw new SubscriptionRuleViolation("limit", `at most ${SUBSCRIPTIONS_MAX} subscriptions (SUBSCRIPTIONS_MAX)`);
      }
      const cursorProblem = change.subscription.delivered && deliveredProblem(change.subscription.delivered);
      if (cursorProblem) throw new SubscriptionRuleViolation("invalid", cursorProblem);
      this.subscriptions.set(change.subscription.id, kept(change.subscription));
      return;
    }
    if (change.type === "settings") {
      const next = { ...this.delivery, ...change.settings };
      const outOfRange = settingsProblem(next);
      if (outOfRange !== undefined) throw new SubscriptionRuleViolation("invalid", outOfRange);
      this.delivery = kept(next);
      return;
    }
    const current = this.subscriptions.get(change.id);
    if (current === undefined) throw new SubscriptionRuleViolation("unknown", `no subscription ${change.id}`);
    switch (change.type) {
      case "remove":
        this.subscriptions.delete(change.id);
        return;
      case "suspend":
        this.subscriptions.set(change.id, kept({ ...current, enabled: false }));
        return;
      case "resume": {
        // Events while suspended are not sent: delivery starts again from the newest.
        const { delivered: _skipped, ...rest } = current;
        this.subscriptions.set(change.id, kept({ ...rest, enabled: true }));
        return;
      }
      case "progress": {
        const cursorProblem = deliveredProblem(change.delivered);
        if (cursorProblem !== undefined) throw new SubscriptionRuleViolation("invalid", cursorProblem);
        this.subscriptions.set(change.id, kept({ ...current, delivered: change.delivered }));
        return;
      }
      case "update":
        this.subscriptions.set(
          change.id,
          kept({
            ...current,
            ...(change.context === undefined ? {} : { context: change.context }),
            ...(change.deliveryRetryPolicy === undefined ? {} : { deliveryRetryPolicy: change.deliveryRetryPolicy }),
          }),
        );
        return;
    }
  }

  /** Canonical: the same state gives the same JSON text on every node (keys sorted at every level). */
  toSnapshot(): SubscriptionStateSnapshot {
    return canonical({ settings: this.delivery, subscriptions: this.list() }) as SubscriptionStateSnapshot;
  }

  /** Strict: throws a TypeError naming the first problem. */
  static fromSnapshot(data: unknown): SubscriptionState {
    const problem = firstSchemaProblem(SNAPSHOT_SCHEMA, data);
    if (problem !== undefined) throw new TypeError(`subscription state: ${problem}`);
    const snapshot = data as SubscriptionStateSnapshot;
    const outOfRange = settingsProblem(snapshot.settings);
    if (outOfRange !== undefined) throw new TypeError(`subscription state: ${outOfRange}`);
    const state = new SubscriptionState();
    state.delivery = deepFreeze(structuredClone(snapshot.settings));
    for (const subscription of snapshot.subscriptions) {
      if (state.subscriptions.has(subscription.id)) {
        throw new TypeError(`subscription state: subscription ${subscription.id} appears twice`);
      }
      const cursorProblem = subscription.delivered && deliveredProblem(subscription.delivered);
      if (cursorProblem) throw new TypeError(`subscription state: subscription ${subscription.id}: ${cursorProblem}`);
      state.subscriptions.set(subscription.id, deepFreeze(structuredClone(subscription)));
    }
    return state;
  }
}
