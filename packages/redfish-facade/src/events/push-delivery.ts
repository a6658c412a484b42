// Push delivery to EventDestinations, on the PoC only. Each enabled subscription has its own
// worker that reads the merged event log at its own place (as an SSE client does), POSTs the
// events it wants as one Event per batch, and moves on only once the destination said 2xx. A
// failed POST is retried DeliveryRetryAttempts times, DeliveryRetryIntervalSeconds apart; then
// DeliveryRetryPolicy decides: suspend the subscription, delete it, or keep retrying. Workers do
// not wait for each other — each has its own connection, so a destination that hangs (even one
// on the same host as another) delays nobody else — and a worker holds
// no queue of its own: one that falls behind the log is told what it lost (EventsDropped).
// Under a policy without private destinations, a worker connects only to public addresses
// (checked as it connects, so a name that now resolves to a private address is not reached).
import { Agent, type Dispatcher, request } from "undici";
import { AGGREGATION_SOURCES_URI } from "../aggregation-service.ts";
import type { FacadeCluster } from "../facade-cluster.ts";
import { conclaveRecord } from "./conclave-registry.ts";
import type { EventFanIn } from "./event-fan-in.ts";
import { EVENT_TYPE } from "./event-stream.ts";
import { subscriptionWants } from "./event-subscription.ts";
import { CLUSTER_STREAM_KEY, type StreamCursor, stepCursor } from "./stream-cursor.ts";
import {
  DEFAULT_SUBSCRIPTION_POLICY,
  isPrivateLiteralDestination,
  publicOnlyLookup,
  type SubscriptionPolicy,
} from "./subscription-destination.ts";
import type { EventSubscription } from "./subscription-state.ts";
import type { SubscriptionStore } from "./subscription-store.ts";

/** Event records in one POST at most. */
export const PUSH_BATCH_RECORDS_MAX = 64;
/** How long one POST may take, connection included. */
export const PUSH_TIMEOUT_MS = 5_000;
/** How often the workers are matched to the subscriptions (and to this node being PoC). */
export const PUSH_RECONCILE_MS = 500;
/** How often, at most, a worker commits what its destination accepted (its resume point). */
export const PUSH_PROGRESS_COMMIT_MS = 1_000;

export interface PushCounts {
  /** Event POSTs a destination accepted. */
  readonly delivered: number;
  /** POSTs that failed (each retry counts). */
  readonly failedAttempts: number;
  readonly suspended: number;
  readonly terminated: number;
}

export interface PushDeliveryInit {
  readonly fanIn: EventFanIn;
  readonly store: SubscriptionStore;
  readonly cluster: Pick<FacadeCluster, "hasQuorum">;
  /** Which destinations may be reached; none: DEFAULT_SUBSCRIPTION_POLICY (private ones too). */
  readonly policy?: SubscriptionPolicy;
}

interface Worker {
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

export class PushDelivery {
  private readonly init: PushDeliveryInit;
  private readonly workers = new Map<string, Worker>();
  private timer: NodeJS.Timeout | undefined;
  private counts = { delivered: 0, failedAttempts: 0, suspended: 0, terminated: 0 };

  constructor(init: PushDeliveryInit) {
    this.init = init;
  }

  countsSoFar(): PushCounts {
    return { ...this.counts };
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.reconcile();
    this.timer = setInterval(() => this.reconcile(), PUSH_RECONCILE_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    for (const worker of this.workers.values()) worker.stop.abort();
    this.workers.clear();
  }

  /** Starts and stops workers now (after a subscription changed, rather than at the next tick). */
  reconcile(): void {
    const wanted = new Map(
      this.init.cluster.hasQuorum()
        ? this.init.store
            .list()
            .filter((s) => s.enabled)
            .map((s) => [s.id, s] as const)
        : [],
    );
    for (const [id, worker] of this.workers) {
      if (!wanted.has(id)) {
        worker.stop.abort();
        this.workers.delete(id);
      }
    }
    for (const id of wanted.keys()) {
      if (this.workers.has(id)) continue;
      const stop = new AbortController();
      this.workers.set(id, { stop, done: this.run(id, stop.signal) });
    }
  }

  /** One subscription's deliveries, from the log's end as it is now, until stopped. Never rejects. */
  private async run(id: string, signal: AbortSignal): Promise<void> {
    // Its own connection: a shared pool would queue one destination's POST behind another's hung one.
    const publicOnly = !(this.init.policy ?? DEFAULT_SUBSCRIPTION_POLICY).allowPrivateDestinations;
    const dispatcher = new Agent({
      connect: { timeout: PUSH_TIMEOUT_MS, ...(publicOnly ? { lookup: publicOnlyLookup } : {}) },
      pipelining: 1,
    });
    try {
      await this.deliverAll(id, signal, dispatcher);
    } finally {
      await dispatcher.destroy().catch(() => undefined);
    }
  }

  private async deliverAll(id: string, signal: AbortSignal, dispatcher: Dispatcher): Promise<void> {
    const { fanIn } = this.init;
    // Where the destination left off (a previous PoC committed it): the whole log, its cursor
    // skipping what was accepted. A new subscription starts with what comes next.
    const resumeFrom = this.init.store.get(id)?.delivered;
    let position = resumeFrom === undefined ? fanIn.endPosition() : fanIn.firstPosition();
    let cursor: StreamCursor =
      resumeFrom === undefined
        ? fanIn.headCursor()
        : new Map(Object.entries(resumeFrom).map(([key, [epoch, seq]]) => [key, { epoch, seq }]));
    let committedAt = 0;
    let uncommitted = false;
    const commitProgress = async (): Promise<void> => {
      const delivered: Record<string, [string, number]> = {};
      for (const [key, at] of cursor) delivered[key] = [at.epoch, at.seq];
      committedAt = performance.now();
      uncommitted = false;
      await this.init.store.commit({ type: "progress", id, delivered }).catch(() => undefined);
    };
    while (!signal.aborted) {
      const subscription = this.init.store.get(id);
      if (subscription === undefined || !subscription.enabled) return;
      const batch = this.nextBatch(subscription, position, cursor);
      if (batch.records.length === 0) {
        position = batch.position;
        cursor = batch.cursor;
        if (position >= fanIn.endPosition()) {
          if (uncommitted) await commitProgress();
          await nextAppend(fanIn, signal, PUSH_PROGRESS_COMMIT_MS);
        }
        continue;
      }
      const delivered = await this.deliver(subscription, batch.records, batch.position, signal, dispatcher);
      if (!delivered) return;
      position = batch.position;
      cursor = batch.cursor;
      uncommitted = true;
      if (performance.now() - committedAt >= PUSH_PROGRESS_COMMIT_MS) await commitProgress();
    }
  }

  /** The records after `position` the subscription wants (gap markers included), and where they end. */
  private nextBatch(
    subscription: EventSubscription,
    from: number,
    fromCursor: StreamCursor,
  ): { records: Record<string, unknown>[]; position: number; cursor: StreamCursor } {
    const { fanIn } = this.init;
    const cursor = new Map(fromCursor);
    const records: Record<string, unknown>[] = [];
    let position = Math.max(from, fanIn.firstPosition());
    while (position < fanIn.endPosition() && records.length < PUSH_BATCH_RECORDS_MAX) {
      const event = fanIn.at(position);
      position += 1;
      if (event === undefined) continue;
      const step = stepCursor(cursor, event.key, event.cursor, fanIn.isOlderEpoch);
      if (step.kind === "seen") continue;
      const timestamp =
        typeof event.record.EventTimestamp === "string" ? event.record.EventTimestamp : new Date().toISOString();
      if (event.key !== CLUSTER_STREAM_KEY) {
        const origin = `${AGGREGATION_SOURCES_URI}/${event.key}`;
        if (step.restarted) records.push(conclaveRecord("EventsRestarted", [event.key], origin, timestamp));
        if (step.dropped > 0) {
          records.push(conclaveRecord("EventsDropped", [event.key, String(step.dropped)], origin, timestamp));
        }
      }
      if (subscriptionWants(subscription, event.record)) records.push({ ...event.record });
    }
    return { records, position, cursor };
  }

  /** POSTs one Event, retrying as the settings say; false when the subscription was suspended or removed. */
  private async deliver(
    subscription: EventSubscription,
    records: Record<string, unknown>[],
    lastPosition: number,
    signal: AbortSignal,
    dispatcher: Dispatcher,
  ): Promise<boolean> {
    const body = JSON.stringify({
      "@odata.type": EVENT_TYPE,
      Id: String(lastPosition - 1),
      Name: "Conclave Event",
      Context: subscription.context,
      Events: records.map((record, index) => ({ ...record, MemberId: String(index) })),
    });
    // A literal address needs no lookup, so the policy is checked here (a subscription made before it changed).
    const refused =
      !(this.init.policy ?? DEFAULT_SUBSCRIPTION_POLICY).allowPrivateDestinations &&
      isPrivateLiteralDestination(subscription.destination);
    for (let attempt = 0; !signal.aborted; attempt++) {
      if (!refused && (await post(subscription.destination, body, signal, dispatcher))) {
        this.counts.delivered += 1;
        return true;
      }
      if (signal.aborted) return false;
      this.counts.failedAttempts += 1;
      const settings = this.init.store.settings();
      if (attempt >= settings.retryAttempts && subscription.deliveryRetryPolicy !== "RetryForever") {
        const terminate = subscription.deliveryRetryPolicy === "TerminateAfterRetries";
        await this.init.store
          .commit({ type: terminate ? "remove" : "suspend", id: subscription.id })
          .then(() => {
            if (terminate) this.counts.terminated += 1;
            else this.counts.suspended += 1;
          })
          .catch(() => undefined);
        this.reconcile();
        return false;
      }
      await sleep(settings.retryIntervalSeconds * 1000, signal);
    }
    return false;
  }
}

async function post(destination: string, body: string, signal: AbortSignal, dispatcher: Dispatcher): Promise<boolean> {
  try {
    const response = await request(destination, {
      dispatcher,
      method: "POST",
      body,
      headers: { "content-type": "application/json" },
      signal: AbortSignal.any([signal, AbortSignal.timeout(PUSH_TIMEOUT_MS)]),
      headersTimeout: PUSH_TIMEOUT_MS,
      bodyTimeout: PUSH_TIMEOUT_MS,
    });
    await response.body.dump().catch(() => undefined);
    return response.statusCode >= 200 && response.statusCode < 300;
  } catch {
    return false;
  }
}

/** Resolves at the next append, after `maxWaitMs`, or when `signal` aborts. */
function nextAppend(fanIn: EventFanIn, signal: AbortSignal, maxWaitMs: number): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      unsubscribe();
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, maxWaitMs);
    const unsubscribe = fanIn.onAppend(done);
    signal.addEventListener("abort", done, { once: true });
  });
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}
