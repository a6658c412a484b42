// Errors of the Raft driver. NotLeaderError (with the leader's id), ConfChangePendingError,
// InvalidConfChangeError, InvalidTransferError and ProposalDroppedError come from the
// consensus core unchanged; these are the ones the driver adds.
import { AgentError } from "../errors.ts";

/** The proposal was not applied within its bound. It may still be applied later: retry idempotently. */
export class ProposalTimeoutError extends AgentError {
  constructor(timeoutMs: number) {
    super("AGENT_ERR_PROPOSAL_TIMEOUT", `proposal not applied within ${timeoutMs} ms; it may still be applied later`);
  }
}

/** This node stopped being leader before the proposal or read completed. A proposal may still be applied by the next leader. */
export class LeadershipLostError extends AgentError {
  constructor(what: string) {
    super("AGENT_ERR_LEADERSHIP_LOST", `leadership was lost before the ${what} completed; its outcome is unknown`);
  }
}

export class ReadTimeoutError extends AgentError {
  constructor(timeoutMs: number) {
    super("AGENT_ERR_READ_TIMEOUT", `linearizable read not confirmed by a quorum within ${timeoutMs} ms`);
  }
}

export class TransferTimeoutError extends AgentError {
  constructor(to: string, timeoutMs: number) {
    super("AGENT_ERR_TRANSFER_TIMEOUT", `no new leader known within ${timeoutMs} ms of handing leadership to ${to}`);
  }
}

/** The core gave up the transfer (the target did not catch up within an election timeout) or no member could take over. */
export class TransferFailedError extends AgentError {
  constructor(message: string) {
    super("AGENT_ERR_TRANSFER_FAILED", message);
  }
}

export class DriverStoppedError extends AgentError {
  constructor(reason: string, options?: ErrorOptions) {
    super("AGENT_ERR_DRIVER_STOPPED", `the Raft driver is stopped (${reason})`, options);
  }
}

/** A named queue bound was reached; the request was not taken. */
export class DriverBusyError extends AgentError {
  constructor(what: string, limit: number) {
    super("AGENT_ERR_DRIVER_BUSY", `too many ${what} waiting (limit ${limit}); try again`);
  }
}

/** Removing the member would leave fewer live voters than a quorum of the new configuration. */
export class QuorumAtRiskError extends AgentError {
  readonly liveVoters: number;
  readonly quorum: number;

  constructor(nodeId: string, liveVoters: number, quorum: number) {
    super(
      "AGENT_ERR_QUORUM_AT_RISK",
      `removing ${nodeId} leaves ${liveVoters} reachable voter(s) where a quorum needs ${quorum}: the cluster would stop accepting changes until enough voters return (use force to remove it anyway)`,
    );
    this.liveVoters = liveVoters;
    this.quorum = quorum;
  }
}

export class BootstrapError extends AgentError {
  constructor(message: string) {
    super("AGENT_ERR_BOOTSTRAP", message);
  }
}
