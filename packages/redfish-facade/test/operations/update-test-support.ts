// Helpers of the update tests: who led when each operation ran, the hand-over seen from the old
// PoC's facade (the test cluster drops its quorum; here the same facade then acts as the new PoC),
// and a member's firmware version read from its own BMC.
import { readdir } from "node:fs/promises";
import type { FacadeCluster } from "../../src/facade-cluster.ts";
import { waitFor } from "../support/facade-fixture.ts";
import type { OperationsFacade } from "./aggregate-test-support.ts";

const SIMULATOR_AUTHORIZATION = `Basic ${Buffer.from("admin:admin").toString("base64")}`;

/** Each executeOperation call: the member it ran on and the member that led at that moment. */
export function recordPocAtEachExecution(facade: OperationsFacade): { member: string; poc: string | undefined }[] {
  const seen: { member: string; poc: string | undefined }[] = [];
  const cluster = facade.cluster as FacadeCluster & { executeOperation: FacadeCluster["executeOperation"] };
  const original = cluster.executeOperation.bind(cluster);
  cluster.executeOperation = (memberId, execution) => {
    const members = cluster.members();
    seen.push({
      member: members.find((m) => m.id === memberId)?.name ?? memberId,
      poc: members.find((m) => m.isPoc)?.name,
    });
    return original(memberId, execution);
  };
  return seen;
}

/** Waits for the task's hand-over, then lets this facade serve as the new PoC (quorum, new term). */
export async function resumeAsNewPoc(facade: OperationsFacade, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    async () => (facade.cluster.transfers.length > 0 ? true : undefined),
    "a leadership transfer",
    timeoutMs,
  );
  facade.cluster.setQuorum(true);
}

export async function firmwareVersion(facade: OperationsFacade, member: string): Promise<string> {
  const response = await facade.cluster.simulator(member).inject({
    method: "GET",
    url: "/redfish/v1/UpdateService/FirmwareInventory/bmc",
    headers: { authorization: SIMULATOR_AUTHORIZATION },
  });
  return (response.json() as { Version: string }).Version;
}

/** Files staged on a member (none once a push ended or was aborted). */
export async function stagedFiles(facade: OperationsFacade, member: string): Promise<string[]> {
  return readdir(facade.cluster.stageDir(member)).catch(() => []);
}
