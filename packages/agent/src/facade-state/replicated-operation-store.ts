// The facade's OperationStore over the Raft driver: reads from the state this node applied, every
// change proposed and resolved once applied here. On the PoC (the leader, where the facade runs)
// that means committed by a quorum: an operation accepted on this PoC is found by the next one.
import {
  OPERATION_RULE_CODES,
  type OperationChange,
  type OperationRuleCode,
  OperationRuleViolation,
  OperationState,
  type OperationStore,
  OperationStoreUnavailableError,
  operationStoreOverState,
} from "@conclave/redfish-facade";
import { ClusterCommandInvalidError, ClusterCommandRejectedError } from "../cluster-state/errors.ts";
import type { RaftDriver } from "../raft-driver/raft-driver.ts";
import { cannotCommitNow } from "./cannot-commit-now.ts";
import { operationCommandInput, operationsSection } from "./operations-section.ts";

type OperationDriver = Pick<RaftDriver, "propose" | "state">;

export interface ReplicatedOperationStoreInit {
  /**
   * The node's driver, whose ClusterState was built with facadeStateExtensions; or a getter for a
   * driver created later (until it returns one, the store reads as empty and refuses changes with
   * OperationStoreUnavailableError).
   */
  readonly driver: OperationDriver | (() => OperationDriver | undefined);
}

export function createReplicatedOperationStore(init: ReplicatedOperationStoreInit): OperationStore {
  const current = typeof init.driver === "function" ? init.driver : () => init.driver as OperationDriver;
  // A driver at hand is checked now, not at the first request: its state must hold the section.
  current()?.state.section(operationsSection);
  const empty = new OperationState();
  return operationStoreOverState(
    () => current()?.state.section(operationsSection) ?? empty,
    async (change: OperationChange) => {
      const driver = current();
      if (driver === undefined) throw new OperationStoreUnavailableError("the Raft driver is not started yet");
      try {
        const result = await driver.propose(operationCommandInput(change));
        return result.value;
      } catch (error) {
        throw translate(error);
      }
    },
  );
}

function translate(error: unknown): unknown {
  if (error instanceof ClusterCommandRejectedError) {
    const code = (OPERATION_RULE_CODES as readonly string[]).includes(error.reason)
      ? (error.reason as OperationRuleCode)
      : "invalid-change";
    return new OperationRuleViolation(code, error.message);
  }
  // A change that does not encode (its body breaks the schema, or it is over COMMAND_MAX_BYTES)
  // is refused here as the state would refuse it, with the reason.
  if (error instanceof ClusterCommandInvalidError) return new OperationRuleViolation("invalid-change", error.message);
  if (cannotCommitNow(error)) {
    return new OperationStoreUnavailableError(`the cluster cannot commit now: ${error.message}`, { cause: error });
  }
  return error;
}
