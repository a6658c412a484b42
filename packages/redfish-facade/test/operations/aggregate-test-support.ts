// Helpers of the aggregated action tests: a facade over simulators with a memory store the test
// can read, JSON posts with the console's credentials, waiting for a cluster task to end, and the
// simulators' execution counters.
import type { LightMyRequestResponse } from "fastify";
import type { FacadeInit } from "../../src/index.ts";
import { createMemoryOperationStore } from "../../src/operations/memory-operation-store.ts";
import type { OperationStore } from "../../src/operations/operation-store.ts";
import type { TaskRecord } from "../../src/operations/operation-types.ts";
import { CONSOLE, type Facade, startFacade } from "../support/facade-fixture.ts";
import type { SimulatedMemberSpec } from "../support/simulated-cluster.ts";

export interface OperationsFacade extends Facade {
  readonly store: OperationStore;
  post(url: string, body?: unknown, method?: "POST" | "DELETE" | "PATCH"): Promise<LightMyRequestResponse>;
  /** The task a 202 names in Location, once it has ended (bounded wait). */
  finishedTask(response: LightMyRequestResponse, timeoutMs?: number): Promise<TaskRecord>;
  /** How many times each operation id ran on a member's BMC. */
  executedIds(memberName: string): Promise<Record<string, number>>;
}

const FINISHED = new Set(["Completed", "Exception", "Cancelled"]);
const TASK_POLL_MS = 20;

export async function startOperationsFacade(
  specs: readonly SimulatedMemberSpec[],
  init: Omit<FacadeInit, "cluster" | "auth" | "operations"> = {},
): Promise<OperationsFacade> {
  const store = createMemoryOperationStore();
  const facade = await startFacade(specs, { ...init, operations: store });
  const taskOf = (response: LightMyRequestResponse): string => {
    const location = response.headers.location;
    if (response.statusCode !== 202 || typeof location !== "string") {
      throw new Error(`expected 202 with a task monitor, got ${response.statusCode}: ${response.body}`);
    }
    return location.split("/").pop() as string;
  };
  return {
    ...facade,
    store,
    post(url, body, method = "POST") {
      return facade.app.inject({
        method,
        url,
        headers: { ...CONSOLE, ...(body === undefined ? {} : { "content-type": "application/json" }) },
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
      });
    },
    async finishedTask(response, timeoutMs = 10_000) {
      const id = taskOf(response);
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const task = store.task(id);
        if (task !== undefined && FINISHED.has(task.state)) return task;
        if (Date.now() > deadline) throw new Error(`task ${id} did not end: ${JSON.stringify(task)}`);
        await new Promise((resolve) => setTimeout(resolve, TASK_POLL_MS));
      }
    },
    async executedIds(memberName) {
      const response = await facade.cluster.simulator(memberName).inject({ method: "GET", url: "/_sim/counters" });
      const counters = response.json() as { byOperationId: Record<string, { count: number }> };
      return Object.fromEntries(Object.entries(counters.byOperationId).map(([id, entry]) => [id, entry.count]));
    },
  };
}

/** The generated simulators' systems: bmc1 and bmc3 have one, bmc2 two. */
export const ALL_SYSTEMS = [
  "/redfish/v1/Systems/bmc1_system",
  "/redfish/v1/Systems/bmc2_system1",
  "/redfish/v1/Systems/bmc2_system2",
  "/redfish/v1/Systems/bmc3_system",
];
