// The facade's operations, assembled for buildApp: the journal every member write goes through,
// the task runner the action parts plan with, the TaskService part, and the driver — a periodic
// timer that, on a PoC with a quorum, settles what an earlier PoC left unfinished (once per new
// term) and keeps every Running task moving.
import type { FacadeTimeouts } from "../facade-limits.ts";
import type { FacadePart } from "../facade-part.ts";
import type { FacadeService } from "../facade-service.ts";
import type { MemberWriter } from "../redfish-routes.ts";
import { OperationJournal } from "./operation-journal.ts";
import type { OperationStore } from "./operation-store.ts";
import { ClusterTaskRunner, type TaskRunner } from "./task-runner.ts";
import { taskServicePart } from "./task-service-part.ts";

/** How often the driver looks for work (a new term to resume, a task stage whose delay ended). */
export const OPERATIONS_DRIVER_INTERVAL_MS = 250;

export interface FacadeOperationsInit {
  readonly service: FacadeService;
  readonly store: OperationStore;
  readonly timeouts: FacadeTimeouts;
  /** Cluster time (default Date.now): stamped on every change, measures stage delays. */
  readonly now?: () => number;
}

export interface FacadeOperations {
  /** Every write on a member resource goes through the journal. */
  readonly writeMember: MemberWriter;
  readonly tasks: TaskRunner;
  /** The TaskService part (cluster tasks, task monitors). */
  readonly parts: readonly FacadePart[];
  /** Stops the timers (resume on a new term, task stages). */
  close(): void;
}

export function createFacadeOperations(init: FacadeOperationsInit): FacadeOperations {
  const now = init.now ?? Date.now;
  const journal = new OperationJournal({ service: init.service, store: init.store, timeouts: init.timeouts, now });
  const runner = new ClusterTaskRunner({ service: init.service, journal });
  const cluster = init.service.cluster;
  /** The term whose leftovers were settled (null: none yet, or the quorum was lost since). */
  let resumedTerm: number | null = null;
  let resuming = false;

  const drive = (): void => {
    if (!cluster.hasQuorum()) {
      resumedTerm = null;
      return;
    }
    const term = cluster.term();
    if (term !== resumedTerm && !resuming) {
      // A new PoC (or this one, re-elected): settle what an earlier term left open and no task drives.
      resuming = true;
      void journal
        .resumeUnfinished()
        .then(() => {
          if (journal.unsettled().length === 0) resumedTerm = term;
        })
        .catch(() => {
          // Asked again at the next tick.
        })
        .finally(() => {
          resuming = false;
        });
    }
    runner.driveAll();
  };

  const driver = setInterval(drive, OPERATIONS_DRIVER_INTERVAL_MS);
  driver.unref();
  return {
    writeMember: (write, request) => journal.writeMember(write, request),
    tasks: runner,
    parts: [taskServicePart({ service: init.service, store: init.store, now })],
    close() {
      clearInterval(driver);
      runner.close();
    },
  };
}
