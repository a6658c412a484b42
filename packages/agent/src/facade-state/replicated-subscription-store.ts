// The facade's SubscriptionStore over the Raft driver: reads from the state this node applied,
// every change proposed and resolved once applied here. On the PoC (the leader, where the facade
// and its push delivery run) that means committed by a quorum: a subscription created on this
// PoC, and what each destination has accepted (its delivery cursor), are found by the next one.
import {
  SUBSCRIPTION_RULE_CODES,
  type SubscriptionChange,
  type SubscriptionRuleCode,
  SubscriptionRuleViolation,
  SubscriptionState,
  type SubscriptionStore,
  SubscriptionStoreUnavailableError,
  subscriptionStoreOverState,
} from "@conclave/redfish-facade";
import { ClusterCommandInvalidError, ClusterCommandRejectedError } from "../cluster-state/errors.ts";
import type { RaftDriver } from "../raft-driver/raft-driver.ts";
import { cannotCommitNow } from "./cannot-commit-now.ts";
import { subscriptionCommandInput, subscriptionsSection } from "./subscriptions-section.ts";

type SubscriptionDriver = Pick<RaftDriver, "propose" | "state">;

export interface ReplicatedSubscriptionStoreInit {
  /**
   * The node's driver, whose ClusterState was built with facadeStateExtensions; or a getter for a
   * driver created later (until it returns one, the store reads as empty and refuses changes with
   * SubscriptionStoreUnavailableError).
   */
  readonly driver: SubscriptionDriver | (() => SubscriptionDriver | undefined);
}

export function createReplicatedSubscriptionStore(init: ReplicatedSubscriptionStoreInit): SubscriptionStore {
  const current = typeof init.driver === "function" ? init.driver : () => init.driver as SubscriptionDriver;
  // A driver at hand is checked now, not at the first request: its state must hold the section.
  current()?.state.section(subscriptionsSection);
  const empty = new SubscriptionState();
  return subscriptionStoreOverState(
    () => current()?.state.section(subscriptionsSection) ?? empty,
    async (change: SubscriptionChange) => {
      const driver = current();
      if (driver === undefined) throw new SubscriptionStoreUnavailableError("the Raft driver is not started yet");
      try {
        await driver.propose(subscriptionCommandInput(change));
      } catch (error) {
        throw translate(error);
      }
    },
  );
}

function translate(error: unknown): unknown {
  if (error instanceof ClusterCommandRejectedError) {
    const code = (SUBSCRIPTION_RULE_CODES as readonly string[]).includes(error.reason)
      ? (error.reason as SubscriptionRuleCode)
      : "invalid";
    return new SubscriptionRuleViolation(code, error.message);
  }
  // A change that does not encode (its body breaks the schema, or it is over COMMAND_MAX_BYTES)
  // is refused here as the state would refuse it, with the reason.
  if (error instanceof ClusterCommandInvalidError) return new SubscriptionRuleViolation("invalid", error.message);
  if (cannotCommitNow(error)) {
    return new SubscriptionStoreUnavailableError(`the cluster cannot commit now: ${error.message}`, { cause: error });
  }
  return error;
}
