// The facade's AuthStore over the Raft driver: reads from the state this node applied, every
// change proposed and resolved once applied here. On the PoC (the leader, where the facade
// runs) that means committed by a quorum; a token created on this PoC is therefore valid on
// the next one.
import {
  AUTH_RULE_CODES,
  type AuthChangeResult,
  type AuthRuleCode,
  AuthRuleViolation,
  AuthState,
  type AuthStore,
  AuthStoreUnavailableError,
  storeOverState,
} from "@conclave/redfish-facade";
import { ClusterCommandRejectedError } from "../cluster-state/errors.ts";
import type { RaftDriver } from "../raft-driver/raft-driver.ts";
import { authCommandInput, authSection } from "./auth-section.ts";
import { cannotCommitNow } from "./cannot-commit-now.ts";

type AuthDriver = Pick<RaftDriver, "propose" | "state">;

export interface ReplicatedAuthStoreInit {
  /**
   * The node's driver, whose ClusterState was built with facadeStateExtensions; or a getter for
   * a driver created later (until it returns one, the store reads as empty and refuses changes
   * with AuthStoreUnavailableError).
   */
  readonly driver: AuthDriver | (() => AuthDriver | undefined);
}

export function createReplicatedAuthStore(init: ReplicatedAuthStoreInit): AuthStore {
  const current = typeof init.driver === "function" ? init.driver : () => init.driver as AuthDriver;
  // A driver at hand is checked now, not at the first request: its state must hold the section.
  current()?.state.section(authSection);
  const empty = new AuthState();
  return storeOverState(
    () => current()?.state.section(authSection) ?? empty,
    async (change) => {
      const driver = current();
      if (driver === undefined) throw new AuthStoreUnavailableError("the Raft driver is not started yet");
      try {
        const result = await driver.propose(authCommandInput(change));
        return (result.value ?? {}) as AuthChangeResult;
      } catch (error) {
        throw translate(error);
      }
    },
  );
}

function translate(error: unknown): unknown {
  if (error instanceof ClusterCommandRejectedError) {
    const code = (AUTH_RULE_CODES as readonly string[]).includes(error.reason)
      ? (error.reason as AuthRuleCode)
      : "invalid-change";
    return new AuthRuleViolation(code, error.message);
  }
  if (cannotCommitNow(error)) {
    return new AuthStoreUnavailableError(`the cluster cannot commit now: ${error.message}`, { cause: error });
  }
  return error;
}
