// Proves, with five real conclaved processes started at once (static peers, bootstrapExpect 5): exactly one cluster forms (one UUID, five voters after autopilot promotions), and SIGKILL of the PoC gives a new PoC that holds the loopback VIP and answers with the same UUID; SIGTERM of that PoC hands leadership over (recorded as a transfer) and exits 0.
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import type { StatusDocument } from "../../src/control/control-protocol.ts";
import { ADMIN_AUTHORIZATION, type Agent, type Cluster, createCluster, eventually, httpGet } from "./agents.ts";

const FORM_TIMEOUT_MS = 30_000;
const FAILOVER_TIMEOUT_MS = 10_000;

let cluster: Cluster | undefined;
afterAll(async () => {
  await cluster?.destroy();
});

async function status(agent: Agent): Promise<StatusDocument> {
  const answer = await agent.control("GET", "/v1/status");
  if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.body}`);
  return answer.json<StatusDocument>();
}

async function agreed(agents: Agent[], voters: number, notPoc?: string): Promise<StatusDocument | undefined> {
  const docs = await Promise.all(agents.map(status));
  const first = docs[0];
  if (first?.pocId == null || first.cluster.uuid === null || first.pocId === notPoc) return undefined;
  const same = docs.every(
    (doc) =>
      doc.pocId === first.pocId &&
      doc.cluster.uuid === first.cluster.uuid &&
      doc.members.filter((member) => member.role === "voter").length === voters,
  );
  const poc = docs.find((doc) => doc.node.id === first.pocId);
  return same && poc?.vip.heldHere === true ? poc : undefined;
}

describe("five conclaved processes on loopback", () => {
  it("form exactly one cluster of five voters and fail over on SIGKILL of the PoC", async () => {
    cluster = await createCluster({ size: 5, bootstrapExpect: 5, name: "five" });
    const c = cluster;
    onTestFailed(() => {
      process.stderr.write(`${c.logs(40)}\n`);
    });
    for (const agent of c.agents) agent.start();
    const formed = await eventually("one cluster of five voters", () => agreed(c.agents, 5), FORM_TIMEOUT_MS);
    const uuid = formed.cluster.uuid;
    expect(new Set(formed.members.map((member) => member.id)).size).toBe(5);
    const root = await httpGet(`${c.vipUrl}/redfish/v1`);
    expect(root.json<{ UUID: string }>().UUID).toBe(uuid);

    const ids = await Promise.all(c.agents.map(async (agent) => [(await status(agent)).node.id, agent] as const));
    const poc = ids.find(([id]) => id === formed.pocId)![1];
    await poc.kill("SIGKILL");
    const survivors = c.agents.filter((agent) => agent !== poc);
    const after = await eventually(
      "a new PoC among four survivors",
      () => agreed(survivors, 5, formed.pocId ?? undefined),
      FAILOVER_TIMEOUT_MS,
    );
    const moved = await eventually(
      "the VIP to answer from the new PoC",
      async () => {
        const answer = await httpGet(`${c.vipUrl}/conclave/v1/status`, { authorization: ADMIN_AUTHORIZATION });
        return answer.status === 200 && answer.json<StatusDocument>().node.id === after.pocId
          ? await httpGet(`${c.vipUrl}/redfish/v1`)
          : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    expect(moved.json<{ UUID: string }>().UUID).toBe(uuid);

    // SIGTERM of the PoC: it hands leadership over before it stops, and exits 0.
    const secondPoc = ids.find(([id]) => id === after.pocId)![1];
    expect(await secondPoc.kill("SIGTERM")).toBe(0);
    const remaining = survivors.filter((agent) => agent !== secondPoc);
    const third = await eventually(
      "a PoC among the three left",
      () => agreed(remaining, 5, after.pocId ?? undefined),
      FAILOVER_TIMEOUT_MS,
    );
    const history = await eventually(
      "the hand-over to be recorded",
      async () => {
        const answer = await remaining[0]!.control("GET", "/v1/history");
        const entries = answer.json<{ history: { pocId: string; reason: string }[] }>().history;
        return entries.at(-1)?.pocId === third.pocId ? entries : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    expect(history.at(-1)?.reason).toBe("transfer");
    for (const agent of remaining) expect(await agent.kill("SIGTERM")).toBe(0);
  });
});
