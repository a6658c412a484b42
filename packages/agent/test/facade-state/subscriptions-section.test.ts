// Proves the subscriptions section carries the facade's SubscriptionState through the cluster state: every change type is a registered command, changes apply as the facade's own state applies them, a refusal is a rejection with the rule's code (and the same message as the facade's) that changes nothing, a body off its schema is refused before it reaches the log, and the section round-trips through a ClusterState snapshot byte for byte (creation order and delivery cursors kept) while a damaged one is refused.
import {
  type EventSubscription,
  SUBSCRIPTION_CHANGE_TYPES,
  SUBSCRIPTIONS_MAX,
  type SubscriptionChange,
  SubscriptionRuleViolation,
  SubscriptionState,
} from "@conclave/redfish-facade";
import { describe, expect, it } from "vitest";
import { ClusterState } from "../../src/cluster-state/cluster-state.ts";
import { ClusterCommandInvalidError, StateSnapshotError } from "../../src/cluster-state/errors.ts";
import {
  facadeStateExtensions,
  SUBSCRIPTION_COMMANDS,
  subscriptionCommandInput,
  subscriptionsSection,
} from "../../src/facade-state/index.ts";

const T0 = 1_700_000_000_000;
const bootstrapMetadata = { index: 1, confState: { voters: ["a", "b", "c"], learners: [] } };

/** A cluster state at the bootstrap snapshot, fed changes one by one from index 2. */
function harness() {
  const state = new ClusterState({ extensions: facadeStateExtensions });
  state.restore(new Uint8Array(0), bootstrapMetadata);
  let index = 1;
  return {
    state,
    change(change: SubscriptionChange) {
      return state.apply(++index, state.encode(subscriptionCommandInput(change), T0 + index));
    },
  };
}

function subscription(id: string, destination = `https://console.example/${id}`): EventSubscription {
  return {
    id,
    destination,
    context: `ctx-${id}`,
    registryPrefixes: ["ResourceEvent"],
    messageIds: [],
    resourceTypes: ["ComputerSystem"],
    originResources: ["/redfish/v1/Systems/bmc1_system"],
    subordinateResources: true,
    deliveryRetryPolicy: "SuspendRetries",
    enabled: true,
  };
}

const create = (id: string): SubscriptionChange => ({ type: "create", subscription: subscription(id) });

describe("the subscriptions section", () => {
  it("registers one version-1 command per change type", () => {
    expect(SUBSCRIPTION_COMMANDS.map((command) => command.type)).toEqual(
      SUBSCRIPTION_CHANGE_TYPES.map((type) => `subscription.${type}`),
    );
    expect(SUBSCRIPTION_CHANGE_TYPES).toEqual([
      "create",
      "update",
      "suspend",
      "resume",
      "remove",
      "progress",
      "settings",
    ]);
    expect(
      SUBSCRIPTION_COMMANDS.every((command) => command.version === 1 && command.section === subscriptionsSection),
    ).toBe(true);
  });

  it("applies changes as the facade's SubscriptionState does", () => {
    const changes: SubscriptionChange[] = [
      create("b-2"),
      create("a-1"),
      { type: "update", id: "a-1", context: "rack7", deliveryRetryPolicy: "RetryForever" },
      { type: "progress", id: "a-1", delivered: { bmc1: ["3f2a9c1d", 42], _cluster: ["1a", 7] } },
      { type: "suspend", id: "b-2" },
      { type: "settings", settings: { retryAttempts: 5 } },
      create("c-3"),
      { type: "progress", id: "c-3", delivered: { bmc2: ["ff", 1] } },
      { type: "resume", id: "c-3" },
      { type: "remove", id: "b-2" },
    ];
    const h = harness();
    const own = new SubscriptionState();
    for (const change of changes) {
      expect(h.change(change), change.type).toMatchObject({ ok: true });
      own.apply(change);
    }
    const view = h.state.section(subscriptionsSection);
    expect(view.list()).toEqual(own.list());
    expect(view.settings()).toEqual({ retryAttempts: 5, retryIntervalSeconds: 30 });
    // Creation order, not id order; the cursor kept; a resumed subscription starts from the newest.
    expect(view.list().map((s) => s.id)).toEqual(["a-1", "c-3"]);
    expect(view.get("a-1")).toMatchObject({
      context: "rack7",
      deliveryRetryPolicy: "RetryForever",
      delivered: { bmc1: ["3f2a9c1d", 42], _cluster: ["1a", 7] },
    });
    expect(view.get("c-3")?.delivered).toBeUndefined();
    expect(Object.isFrozen(view.get("a-1")?.delivered)).toBe(true);
  });

  it("refuses what the rules refuse, with the rule's code and message, changing nothing", () => {
    const h = harness();
    for (let n = 0; n < SUBSCRIPTIONS_MAX; n++) expect(h.change(create(`s-${n}`))).toMatchObject({ ok: true });
    const before = h.state.section(subscriptionsSection).toSnapshot();
    const refused: [SubscriptionChange, string][] = [
      [create("s-0"), "exists"],
      [create("one-too-many"), "limit"],
      [{ type: "suspend", id: "nobody" }, "unknown"],
      [{ type: "progress", id: "s-1", delivered: { "no spaces": ["ab", 1] } }, "invalid"],
      [{ type: "settings", settings: { retryIntervalSeconds: 0 } }, "invalid"],
      [{ type: "settings", settings: { retryAttempts: 11 } }, "invalid"],
    ];
    const own = new SubscriptionState();
    for (let n = 0; n < SUBSCRIPTIONS_MAX; n++) own.apply(create(`s-${n}`));
    for (const [change, rule] of refused) {
      let ownRefusal: SubscriptionRuleViolation | undefined;
      try {
        own.apply(change);
      } catch (error) {
        if (error instanceof SubscriptionRuleViolation) ownRefusal = error;
        else throw error;
      }
      expect(ownRefusal?.rule, change.type).toBe(rule);
      expect(h.change(change)).toMatchObject({ ok: false, code: rule, message: ownRefusal?.message });
    }
    expect(h.state.rejectedCommands().count).toBe(refused.length);
    expect(h.state.section(subscriptionsSection).toSnapshot()).toEqual(before);
  });

  it("refuses a body off its schema before it reaches the log", () => {
    const h = harness();
    const bad = [
      { type: "subscription.create", body: { subscription: { ...subscription("x"), colour: "blue" } } },
      { type: "subscription.create", body: { subscription: { ...subscription("x"), id: "../etc" } } },
      { type: "subscription.progress", body: { id: "x", delivered: { bmc1: ["NOT-HEX", 1] } } },
      { type: "subscription.update", body: { id: "x", deliveryRetryPolicy: "Never" } },
      { type: "subscription.settings", body: { settings: { retryAttempts: 1.5 } } },
    ];
    for (const input of bad) {
      expect(() => h.state.encode(input, T0), JSON.stringify(input)).toThrow(ClusterCommandInvalidError);
    }
  });

  it("round-trips through a ClusterState snapshot byte for byte", () => {
    const h = harness();
    for (const change of [
      create("z-9"),
      create("m-5"),
      { type: "progress", id: "z-9", delivered: { bmc2: ["ab12", 9], bmc1: ["cd34", 3] } },
      { type: "suspend", id: "m-5" },
      { type: "settings", settings: { retryIntervalSeconds: 120 } },
    ] as SubscriptionChange[]) {
      expect(h.change(change)).toMatchObject({ ok: true });
    }
    const snapshot = h.state.snapshot();
    const restored = new ClusterState({ extensions: facadeStateExtensions });
    restored.restore(snapshot, { index: 6, confState: bootstrapMetadata.confState });
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(snapshot))).toBe(true);
    const view = restored.section(subscriptionsSection);
    expect(view.list().map((s) => [s.id, s.enabled])).toEqual([
      ["z-9", true],
      ["m-5", false],
    ]);
    expect(view.get("z-9")?.delivered).toEqual({ bmc1: ["cd34", 3], bmc2: ["ab12", 9] });
    expect(view.settings()).toEqual({ retryAttempts: 3, retryIntervalSeconds: 120 });
    // The restored state goes on applying as the original does.
    restored.apply(7, restored.encode(subscriptionCommandInput({ type: "resume", id: "m-5" }), T0 + 7));
    expect(h.change({ type: "resume", id: "m-5" })).toMatchObject({ ok: true });
    expect(restored.section(subscriptionsSection).toSnapshot()).toEqual(
      h.state.section(subscriptionsSection).toSnapshot(),
    );
  });

  it("refuses a damaged snapshot or an unknown version", () => {
    const state = new SubscriptionState();
    state.apply(create("a-1"));
    const good = state.toSnapshot();
    expect(SubscriptionState.fromSnapshot(JSON.parse(JSON.stringify(good))).list()).toEqual(state.list());
    const damaged: [unknown, RegExp][] = [
      [{ ...good, subscriptions: [good.subscriptions[0], good.subscriptions[0]] }, /a-1 appears twice/],
      [{ ...good, settings: { retryAttempts: 3, retryIntervalSeconds: 0 } }, /DeliveryRetryIntervalSeconds/],
      [{ ...good, extra: 1 }, /subscription state/],
      [{ ...good, subscriptions: [{ ...good.subscriptions[0], enabled: "yes" }] }, /subscription state/],
      [
        { ...good, subscriptions: [{ ...good.subscriptions[0], delivered: { "bad key": ["ab", 1] } }] },
        /names a stream/,
      ],
    ];
    for (const [data, message] of damaged) expect(() => subscriptionsSection.fromSnapshot(data, 1)).toThrow(message);
    expect(() => subscriptionsSection.fromSnapshot(good, 2)).toThrow(/unknown subscriptions section version 2/);

    // Through the cluster state, a damaged section stops the restore.
    const h = harness();
    h.change(create("a-1"));
    const text = Buffer.from(h.state.snapshot()).toString("utf8").replace('"enabled":true', '"enabled":"yes"');
    const restored = new ClusterState({ extensions: facadeStateExtensions });
    expect(() =>
      restored.restore(new TextEncoder().encode(text), { index: 2, confState: bootstrapMetadata.confState }),
    ).toThrow(StateSnapshotError);
    expect(() =>
      restored.restore(new TextEncoder().encode(text), { index: 2, confState: bootstrapMetadata.confState }),
    ).toThrow(/section subscriptions: subscription state: .*enabled/);
  });
});
