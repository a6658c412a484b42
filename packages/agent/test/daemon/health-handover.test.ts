// Proves, with three real conclaved processes: a PoC whose health turns critical (its local BMC stops answering and it allows no grace) hands leadership to a healthier member on its own, and the hand-over is recorded with the reason "health".
import { createServer, type Server } from "node:http";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import type { StatusDocument, TransferLeadershipResult } from "../../src/control/control-protocol.ts";
import { type Agent, type Cluster, createCluster, eventually } from "./agents.ts";

const FORM_TIMEOUT_MS = 25_000;
/** Three critical samples 2 s apart, then a transfer: bounded well above that. */
const HAND_OVER_TIMEOUT_MS = 20_000;

let cluster: Cluster | undefined;
let bmc: Server | undefined;
afterAll(async () => {
  await cluster?.destroy();
  bmc?.closeAllConnections();
  bmc?.close();
});

/** A stand-in for the sick node's BMC: any GET answers 200 until the test closes it. */
async function startFakeBmc(): Promise<{ server: Server; url: string }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "application/json" });
    response.end("{}");
  });
  await new Promise<void>((resolve) => server.listen({ host: "127.0.0.1", port: 0 }, resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}` };
}

async function status(agent: Agent): Promise<StatusDocument> {
  const answer = await agent.control("GET", "/v1/status");
  if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.body}`);
  return answer.json<StatusDocument>();
}

describe("health hand-over between conclaved processes", () => {
  it("a critical PoC hands over to a healthier member and records why", async () => {
    cluster = await createCluster({ size: 2, bootstrapExpect: 3, name: "health" });
    const c = cluster;
    onTestFailed(() => {
      process.stderr.write(`${c.logs(40)}\n`);
    });
    // Like the others, but with a BMC that answers until we stop it, and no grace after that.
    const fake = await startFakeBmc();
    bmc = fake.server;
    const sick = await c.add({
      extra: {
        bmc: { redfishUrl: fake.url, credentialsFile: `${c.dir}/bmc-credentials` },
        peers: c.agents.map((agent) => `/ip4/127.0.0.1/tcp/${agent.p2pPort}`),
        health: {
          bmcUnreachableGraceMs: 0,
          cpu: { warningPercent: 99, criticalPercent: 100 },
          memory: { warningPercent: 99, criticalPercent: 100 },
          disk: { warningPercent: 99, criticalPercent: 100 },
        },
      },
    });
    for (const agent of c.agents) agent.start();
    const sickId = (
      await eventually(
        "three voters",
        async () => {
          const doc = await status(sick);
          return doc.members.filter((member) => member.role === "voter").length === 3 && doc.pocId !== null
            ? doc
            : undefined;
        },
        FORM_TIMEOUT_MS,
      )
    ).node.id;

    // Its BMC stops answering: critical at the next sample.
    fake.server.closeAllConnections();
    await new Promise((resolve) => fake.server.close(resolve));
    await eventually(
      "the sick node to be reported critical",
      async () => {
        const doc = await status(c.agents[0]!);
        return doc.members.find((member) => member.id === sickId)?.health.level === "critical" ? doc : undefined;
      },
      FORM_TIMEOUT_MS,
    );

    // Make the sick node PoC; it must give the office away by itself.
    const transfer = await c.agents[0]!.control("POST", "/v1/transfer-leadership", { to: sickId });
    expect(transfer.status, transfer.body).toBe(200);
    expect(transfer.json<TransferLeadershipResult>().pocId).toBe(sickId);
    const history = await eventually(
      "the sick PoC to hand over for its health",
      async () => {
        const doc = await status(c.agents[0]!);
        if (doc.pocId === null || doc.pocId === sickId) return undefined;
        const answer = await c.agents[0]!.control("GET", "/v1/history");
        const entries = answer.json<{ history: { pocId: string; reason: string }[] }>().history;
        return entries.at(-1)?.pocId === doc.pocId ? entries : undefined;
      },
      HAND_OVER_TIMEOUT_MS,
    );
    expect(history.at(-1)?.reason).toBe("health");
    // The sick node led before: by our transfer, or from the start when it bootstrapped the cluster.
    expect(history.at(-2)?.pocId).toBe(sickId);
  });
});
