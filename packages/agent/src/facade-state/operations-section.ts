// The facade's operation journal, tasks and user-created aggregates as a section of the
// replicated cluster state, with one command per kind of change. The rules live in the facade's
// OperationState (the same code the facade's memory store runs); this file only carries them
// through Raft: each command's body is the change's body, apply hands it to OperationState.apply,
// and a refusal (OperationRuleViolation) becomes a CommandRejection with the same code, recorded
// identically on every node. Every body carries `atMs` (the proposer's clock): apply reads no clock.
//
// Commands: operation.accept, operation.finish, task.create, task.advance, aggregate.create,
// aggregate.delete, aggregate.elements (all version 1).
import {
  OPERATION_CHANGE_BODIES,
  OPERATION_CHANGE_TYPES,
  type OperationChange,
  type OperationChangeType,
  OperationRuleViolation,
  OperationState,
} from "@conclave/redfish-facade";
import type { JsonValue } from "../cluster-state/canonical-json.ts";
import { type CommandDefinition, defineCommand, type StateSection } from "../cluster-state/command.ts";
import { CommandRejection } from "../cluster-state/errors.ts";

export const OPERATIONS_SECTION_NAME = "operations";
export const OPERATIONS_SECTION_VERSION = 1;
export const OPERATIONS_COMMAND_VERSION = 1;

export const operationsSection: StateSection<OperationState> = Object.freeze({
  name: OPERATIONS_SECTION_NAME,
  version: OPERATIONS_SECTION_VERSION,
  initial: () => new OperationState(),
  toSnapshot: (state: OperationState) => state.toSnapshot() as unknown as JsonValue,
  fromSnapshot: (data: unknown, version: number) => {
    if (version !== OPERATIONS_SECTION_VERSION) throw new TypeError(`unknown operations section version ${version}`);
    return OperationState.fromSnapshot(data);
  },
});

function operationCommand<T extends OperationChangeType>(type: T): CommandDefinition {
  return defineCommand({
    type,
    version: OPERATIONS_COMMAND_VERSION,
    section: operationsSection,
    body: OPERATION_CHANGE_BODIES[type],
    apply(state: OperationState, body: unknown): unknown {
      try {
        return state.apply({ type, body } as OperationChange);
      } catch (error) {
        if (error instanceof OperationRuleViolation) throw new CommandRejection(error.code, error.message);
        throw error;
      }
    },
  }) as CommandDefinition;
}

export const OPERATION_COMMANDS: readonly CommandDefinition[] = Object.freeze(
  OPERATION_CHANGE_TYPES.map(operationCommand),
);

/** The command a change travels as (the driver stamps atMs and encodes it). */
export function operationCommandInput(change: OperationChange): { readonly type: string; readonly body: unknown } {
  return { type: change.type, body: change.body };
}
