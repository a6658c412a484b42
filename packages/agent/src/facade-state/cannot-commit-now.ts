// The driver errors that mean "not now" rather than "no": no leader here, leadership moving, the
// proposal timed out or was dropped, the driver busy or stopped. Every replicated store of the
// facade (accounts, operations, subscriptions) turns them into its own 503 with Retry-After.
import { NotLeaderError, ProposalDroppedError, TransferInProgressError } from "@conclave/consensus";
import {
  DriverBusyError,
  DriverStoppedError,
  LeadershipLostError,
  ProposalTimeoutError,
} from "../raft-driver/errors.ts";

export function cannotCommitNow(error: unknown): error is Error {
  return (
    error instanceof NotLeaderError ||
    error instanceof ProposalTimeoutError ||
    error instanceof LeadershipLostError ||
    error instanceof ProposalDroppedError ||
    error instanceof TransferInProgressError ||
    error instanceof DriverBusyError ||
    error instanceof DriverStoppedError
  );
}
