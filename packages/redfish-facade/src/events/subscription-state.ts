// Push subscriptions (EventDestination) as state: every change is a plain JSON value applied by
// `SubscriptionState.apply` with the same rules wherever it runs, so a store can replicate the
// changes (as the agent replicates accounts) and every node holds the same subscriptions. Ids are
// chosen by the caller before the change is committed, so applying is deterministic.

/** Subscriptions the service keeps at once. */
export const SUBSCRIPTIONS_MAX = 64;
/** The longest Destination URL and Context kept. */
export const DESTINATION_MAX_CHARACTERS = 1_024;
export const CONTEXT_MAX_CHARACTERS = 256;
/** Streams a subscription's delivery cursor may name (members and the cluster's own). */
export const PROGRESS_STREAMS_MAX = 1_024;
/** Entries each filter list (RegistryPrefixes, MessageIds, ...) may hold. */
export const SUBSCRIPTION_FILTER_ENTRIES_MAX = 64;

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

export type SubscriptionRuleCode = "limit" | "unknown" | "exists" | "invalid";

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

export class SubscriptionState implements SubscriptionStateView {
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
    if (change.type === "create") {
      if (this.subscriptions.has(change.subscription.id)) {
        throw new SubscriptionRuleViolation("exists", `subscription ${change.subscription.id} exists`);
      }
      if (this.subscriptions.size >= SUBSCRIPTIONS_MAX) {
        throw new SubscriptionRuleViolation("limit", `at most ${SUBSCRIPTIONS_MAX} subscriptions`);
      }
      this.subscriptions.set(change.subscription.id, change.subscription);
      return;
    }
    if (change.type === "settings") {
      const next = { ...this.delivery, ...change.settings };
      const attemptsOk = Number.isInteger(next.retryAttempts) && next.retryAttempts >= 0;
      const intervalOk = Number.isInteger(next.retryIntervalSeconds) && next.retryIntervalSeconds >= 1;
      if (!attemptsOk || next.retryAttempts > RETRY_ATTEMPTS_MAX || !intervalOk) {
        throw new SubscriptionRuleViolation("invalid", "delivery settings out of range");
      }
      if (next.retryIntervalSeconds > RETRY_INTERVAL_SECONDS_MAX) {
        throw new SubscriptionRuleViolation("invalid", "delivery settings out of range");
      }
      this.delivery = next;
      return;
    }
    const current = this.subscriptions.get(change.id);
    if (current === undefined) throw new SubscriptionRuleViolation("unknown", `no subscription ${change.id}`);
    switch (change.type) {
      case "remove":
        this.subscriptions.delete(change.id);
        return;
      case "suspend":
        this.subscriptions.set(change.id, { ...current, enabled: false });
        return;
      case "resume": {
        // Events while suspended are not sent: delivery starts again from the newest.
        const { delivered: _skipped, ...rest } = current;
        this.subscriptions.set(change.id, { ...rest, enabled: true });
        return;
      }
      case "progress":
        if (Object.keys(change.delivered).length > PROGRESS_STREAMS_MAX) {
          throw new SubscriptionRuleViolation("invalid", "a delivery cursor names too many streams");
        }
        this.subscriptions.set(change.id, { ...current, delivered: change.delivered });
        return;
      case "update":
        this.subscriptions.set(change.id, {
          ...current,
          ...(change.context === undefined ? {} : { context: change.context }),
          ...(change.deliveryRetryPolicy === undefined ? {} : { deliveryRetryPolicy: change.deliveryRetryPolicy }),
        });
        return;
    }
  }
}
