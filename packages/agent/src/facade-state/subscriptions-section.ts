// The facade's push subscriptions (EventDestination) and the EventService's delivery settings as
// a section of the replicated cluster state, with one command per kind of change. The rules live
// in the facade's SubscriptionState (the same code the facade's memory store runs); this file
// only carries them through Raft: each command's body is the change without its type, apply hands
// it to SubscriptionState.apply, and a refusal (SubscriptionRuleViolation) becomes a
// CommandRejection with the same code (`limit`, `unknown`, `exists`, `invalid`), recorded
// identically on every node. Ids are chosen by the proposer and no change reads a clock.
//
//   {"atMs":…,"body":{"delivered":{"_cluster":["1a2b",7],"bmc1":["3f2a9c1d",42]},"id":"<uuid>"},"type":"subscription.progress","v":1,"version":1}
//
// Commands: subscription.create, subscription.update, subscription.suspend, subscription.resume,
// subscription.remove, subscription.progress, subscription.settings (all version 1).
import {
  SUBSCRIPTION_CHANGE_BODIES,
  SUBSCRIPTION_CHANGE_TYPES,
  type SubscriptionChange,
  type SubscriptionChangeType,
  SubscriptionRuleViolation,
  SubscriptionState,
  subscriptionChangeBody,
  subscriptionChangeOf,
} from "@conclave/redfish-facade";
import type { JsonValue } from "../cluster-state/canonical-json.ts";
import { type CommandDefinition, defineCommand, type StateSection } from "../cluster-state/command.ts";
import { CommandRejection } from "../cluster-state/errors.ts";

export const SUBSCRIPTIONS_SECTION_NAME = "subscriptions";
export const SUBSCRIPTIONS_SECTION_VERSION = 1;
export const SUBSCRIPTIONS_COMMAND_VERSION = 1;
/** Command types are the change types under this prefix: `subscription.create`, ... */
export const SUBSCRIPTION_COMMAND_PREFIX = "subscription.";

export const subscriptionsSection: StateSection<SubscriptionState> = Object.freeze({
  name: SUBSCRIPTIONS_SECTION_NAME,
  version: SUBSCRIPTIONS_SECTION_VERSION,
  initial: () => new SubscriptionState(),
  toSnapshot: (state: SubscriptionState) => state.toSnapshot() as unknown as JsonValue,
  fromSnapshot: (data: unknown, version: number) => {
    if (version !== SUBSCRIPTIONS_SECTION_VERSION) {
      throw new TypeError(`unknown subscriptions section version ${version}`);
    }
    return SubscriptionState.fromSnapshot(data);
  },
});

function subscriptionCommand(type: SubscriptionChangeType): CommandDefinition {
  return defineCommand({
    type: `${SUBSCRIPTION_COMMAND_PREFIX}${type}`,
    version: SUBSCRIPTIONS_COMMAND_VERSION,
    section: subscriptionsSection,
    body: SUBSCRIPTION_CHANGE_BODIES[type],
    apply(state: SubscriptionState, body: unknown): Record<string, never> {
      try {
        state.apply(subscriptionChangeOf(type, body));
      } catch (error) {
        if (error instanceof SubscriptionRuleViolation) throw new CommandRejection(error.rule, error.message);
        throw error;
      }
      return {};
    },
  }) as CommandDefinition;
}

export const SUBSCRIPTION_COMMANDS: readonly CommandDefinition[] = Object.freeze(
  SUBSCRIPTION_CHANGE_TYPES.map(subscriptionCommand),
);

/** The command a change travels as (the driver stamps atMs and encodes it). */
export function subscriptionCommandInput(change: SubscriptionChange): {
  readonly type: string;
  readonly body: unknown;
} {
  return { type: `${SUBSCRIPTION_COMMAND_PREFIX}${change.type}`, body: subscriptionChangeBody(change) };
}
