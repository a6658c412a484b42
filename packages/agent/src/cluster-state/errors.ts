// Errors of the cluster state. A command that is rejected while being applied is not an
// error: it is an outcome, recorded in the state (see CommandRejection).
import { AgentError } from "../errors.ts";

/** A proposer tried to encode a command that would be rejected anyway (unknown type, bad body, too large). */
export class ClusterCommandInvalidError extends AgentError {
  constructor(message: string) {
    super("AGENT_ERR_CLUSTER_COMMAND_INVALID", message);
  }
}

/** A command was committed and applied, and the state machine refused it; `reason` is its code. */
export class ClusterCommandRejectedError extends AgentError {
  readonly reason: string;
  readonly index: number;

  constructor(reason: string, message: string, index: number) {
    super("AGENT_ERR_CLUSTER_COMMAND_REJECTED", `command at log index ${index} rejected (${reason}): ${message}`);
    this.reason = reason;
    this.index = index;
  }
}

/** A cluster-state snapshot cannot be read: damaged, or written by a newer version. The node must stop. */
export class StateSnapshotError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_STATE_SNAPSHOT", `cluster-state snapshot: ${message}`, options);
  }
}

/**
 * Thrown by a command's `apply` to refuse it. Deterministic by construction: `code` and
 * `message` may depend only on the state and the command. Throw it before changing anything.
 */
export class CommandRejection extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = "CommandRejection";
    this.code = code;
  }
}
