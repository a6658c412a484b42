// Proves, with real conclaved processes on loopback: after two of three agents die for good, the
// survivor cannot lead; `conclave recover` refuses while the daemon runs and, with the daemon
// stopped, refuses without --force after printing what it would do; with --force the survivor
// restarts as the only voter, becomes PoC, and the VIP serves the same cluster UUID.
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import type { StatusDocument } from "../../src/control/control-protocol.ts";
import { type Agent, type Cluster, createCluster, eventually, httpGet } from "./agents.ts";

/** Bounds of the waits below (timing profile `fast`); never asserted as speeds. */
const FORM_TIMEOUT_MS = 25_000;
const RECOVER_TIMEOUT_MS = 15_000;

let cluster: Cluster | undefined;
afterAll(async () => {
  await cluster?.destroy();
});

async function status(agent: Agent): Promise<StatusDocument> {
  const answer = await agent.control("GET", "/v1/status");
  if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.body}`);
  return answer.json<StatusDocument>();
}

describe("conclave recover", () => {
  it("turns the last survivor of a lost quorum into a cluster of one, only with --force", async () => {
    cluster = await createCluster({ size: 3, bootstrapExpect: 3, name: "recover" });
    const c = cluster;
    onTestFailed(() => {
      process.stderr.write(`${c.logs(40)}\n`);
    });
    for (const agent of c.agents) agent.start();
    const formed = await eventually(
      "one cluster with three voters",
      async () => {
        const docs = await Promise.all(c.agents.map(status));
        const poc = docs.find((doc) => doc.lease.heldHere && doc.vip.heldHere);
        const ready = docs.every(
          (doc) =>
            doc.cluster.uuid !== null &&
            doc.pocId === poc?.node.id &&
            doc.members.filter((member) => member.role === "voter").length === 3,
        );
        return ready ? poc : undefined;
      },
      FORM_TIMEOUT_MS,
    );
    const uuid = formed.cluster.uuid as string;
    const [survivor, ...lost] = c.agents as [Agent, Agent, Agent];
    const survivorId = (await status(survivor)).node.id;

    const whileRunning = await survivor.cli(["recover", "--force"]);
    expect(whileRunning.code).toBe(1);
    expect(whileRunning.stderr).toMatch(/conclaved is running/);

    for (const agent of lost) await agent.kill("SIGKILL");
    expect(await survivor.kill("SIGTERM")).toBe(0);

    const dryRun = await survivor.cli(["recover"]);
    expect(dryRun.code).toBe(1);
    expect(dryRun.stderr).toMatch(/becomes the only voter/);
    expect(dryRun.stderr).toMatch(/Nothing was changed\. Run again with --force/);

    const forced = await survivor.cli(["recover", "--force", "--json"]);
    expect(forced.code, forced.stderr).toBe(0);
    const summary = JSON.parse(forced.stdout) as { recovered: boolean; nodeId: string; removed: string[] };
    expect(summary).toMatchObject({ recovered: true, nodeId: survivorId });
    expect(summary.removed).toHaveLength(2);

    survivor.start();
    const alone = await eventually(
      "the survivor leading alone",
      async () => {
        const doc = await status(survivor);
        const voters = doc.members.filter((member) => member.role === "voter");
        return doc.pocId === survivorId && doc.lease.heldHere && doc.vip.heldHere && voters.length === 1
          ? doc
          : undefined;
      },
      RECOVER_TIMEOUT_MS,
    );
    expect(alone.cluster.uuid).toBe(uuid);
    const root = await eventually(
      "the VIP to answer",
      async () => {
        const answer = await httpGet(`${c.vipUrl}/redfish/v1`);
        return answer.status === 200 ? answer.json<{ UUID: string }>() : undefined;
      },
      RECOVER_TIMEOUT_MS,
    );
    expect(root.UUID).toBe(uuid);
  });
});
