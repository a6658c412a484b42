// The chaos suite's operations workload: before each fault the console starts an aggregated power
// cycle of every system through the VIP (one system per batch, a second apart, so the fault lands
// mid-task); after healing, the task must reach a final state, no operation id may have run twice
// on any BMC, no system may have been reset twice, and a Completed task must have reset each
// system exactly once. The simulators' execution counters are the witnesses.
import { consoleRequest } from "./console-client.ts";
import { eventually, type Rack, type RackNode } from "./rack.ts";

/** Bound on the task reaching its final state after the rack converged again. */
export const WORKLOAD_TASK_TIMEOUT_MS = 90_000;
/** Bound on the console seeing every BMC's system before the fault. */
const SYSTEMS_TIMEOUT_MS = 30_000;
/** Seconds between the batches of the workload's reset. */
const BATCH_DELAY_SECONDS = 1;

interface Counters {
  readonly byTarget: Record<string, number>;
  readonly byOperationId: Record<string, { count: number; operations: string[] }>;
}

export interface StartedWorkload {
  readonly monitor: string;
  readonly targets: readonly string[];
  /** Each simulator's pid when its counters were cleared: a simulator restarted since has lost them. */
  readonly simulatorPids: ReadonlyMap<RackNode, number | undefined>;
}

export class OperationsWorkload {
  readonly #rack: Rack;
  readonly #token: string;

  constructor(rack: Rack, token: string) {
    this.#rack = rack;
    this.#token = token;
  }

  /** Clears the counters and starts the reset; a string is a violation (the console was refused). */
  async start(): Promise<StartedWorkload | string> {
    const simulatorPids = new Map<RackNode, number | undefined>();
    for (const node of this.#rack.nodes) {
      if (node.simulator === undefined) continue;
      node.simulatorAdmin("DELETE", "/_sim/counters");
      simulatorPids.set(node, node.simulator.pid);
    }
    // Every BMC's system: a member still being rediscovered (just restarted) is missing for a moment.
    const expected = simulatorPids.size;
    let targets: string[];
    try {
      targets = await eventually(
        `all ${expected} systems in the console's Systems collection`,
        async () => {
          const systems = await consoleRequest(this.#rack, {
            method: "GET",
            path: "/redfish/v1/Systems",
            token: this.#token,
          });
          const members = ((systems.json?.Members ?? []) as { "@odata.id": string }[]).map((m) => m["@odata.id"]);
          return systems.status === 200 && members.length === expected ? members : undefined;
        },
        SYSTEMS_TIMEOUT_MS,
      );
    } catch (error) {
      return `the console could not list every system before the fault: ${(error as Error).message}`;
    }
    const started = await consoleRequest(this.#rack, {
      method: "POST",
      path: "/redfish/v1/AggregationService/Actions/AggregationService.Reset",
      token: this.#token,
      body: {
        TargetURIs: targets,
        ResetType: "PowerCycle",
        BatchSize: 1,
        DelayBetweenBatchesInSeconds: BATCH_DELAY_SECONDS,
      },
    });
    const monitor = started.headers.location;
    if (started.status !== 202 || monitor === undefined) {
      return `the aggregated reset was refused before the fault: ${started.status} ${started.text.slice(0, 300)}`;
    }
    return { monitor, targets, simulatorPids };
  }

  /** After healing: the task's final state and the counters' verdict, as violations. */
  async check(started: StartedWorkload): Promise<string[]> {
    const violations: string[] = [];
    let task: Record<string, unknown> | undefined;
    try {
      task = await eventually(
        `the task at ${started.monitor} to finish`,
        async () => {
          const answer = await consoleRequest(this.#rack, { method: "GET", path: started.monitor, token: this.#token });
          const state = answer.json?.TaskState;
          return answer.status === 200 && (state === "Completed" || state === "Exception" || state === "Cancelled")
            ? answer.json
            : undefined;
        },
        WORKLOAD_TASK_TIMEOUT_MS,
      );
    } catch (error) {
      violations.push(`a task started before the fault did not finish: ${(error as Error).message}`);
    }
    for (const [node, pid] of started.simulatorPids) {
      if (node.simulator?.pid !== pid || !node.simulator?.running) continue; // restarted: its counters are gone
      const counters = node.simulatorAdmin("GET", "/_sim/counters") as Counters;
      for (const [id, entry] of Object.entries(counters.byOperationId)) {
        if (entry.count > 1) violations.push(`${node.name} ran operation ${id} ${entry.count} times`);
      }
      const resets = Object.entries(counters.byTarget).filter(([key]) => key.startsWith("ComputerSystem.Reset "));
      for (const [key, count] of resets) {
        if (count > 1) violations.push(`${node.name} ran ${key} ${count} times in one task`);
      }
      if (task?.TaskState === "Completed" && resets.reduce((sum, [, count]) => sum + count, 0) !== 1) {
        violations.push(
          `the task completed but ${node.name}'s system was reset ${resets.length === 0 ? "never" : "more than once"}`,
        );
      }
    }
    return violations;
  }
}
