// Proves, with real conclaved processes and three BMC simulators: the VIP serves the Redfish facade over HTTPS with the certificate `conclave init` would write (SAN: the VIP), the first administrator from admin.yaml is committed by the PoC, a session created on the VIP lists /redfish/v1/Systems merged from all three BMCs (each member's system reached through its own agent), a follower redirects to https://<vip>, and after a SIGKILL of the PoC the VIP moves and the same session token still works on the new PoC.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "@conclave/bmc-simulator";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import type { StatusDocument } from "../../src/control/control-protocol.ts";
import { generateFacadeCertificate, writeFacadeCertificate } from "../../src/facade-host/facade-certificate.ts";
import {
  ADMIN_PASSWORD,
  ADMIN_USER,
  type Agent,
  type Cluster,
  createCluster,
  eventually,
  fetchAnswer,
} from "./agents.ts";

/** Bounds of the waits below (timing profile `fast`); generous for a loaded machine, never asserted as speeds. */
const FORM_TIMEOUT_MS = 40_000;
const FAILOVER_TIMEOUT_MS = 20_000;

let cluster: Cluster | undefined;
const simulators: RunningSimulator[] = [];
afterAll(async () => {
  await cluster?.destroy();
  await Promise.all(simulators.map((simulator) => simulator.close()));
});

async function status(agent: Agent): Promise<StatusDocument> {
  const answer = await agent.control("GET", "/v1/status");
  if (answer.status !== 200) throw new Error(`status ${answer.status}: ${answer.body}`);
  return answer.json<StatusDocument>();
}

/** The running agents agree on one PoC that holds the lease and the VIP, among `voters` voters. */
async function pocOf(agents: Agent[], voters: number): Promise<StatusDocument | undefined> {
  const docs = await Promise.all(agents.map(status));
  const first = docs[0];
  if (first === undefined || first.pocId === null || docs.some((doc) => doc.pocId !== first.pocId)) return undefined;
  // Joiners start as learners: a failover needs the promoted voters, not just a PoC.
  if (first.members.filter((member) => member.role === "voter").length !== voters) return undefined;
  const poc = docs.find((doc) => doc.node.id === first.pocId);
  return poc?.lease.heldHere === true && poc.vip.heldHere ? poc : undefined;
}

describe("the Redfish facade on the VIP", () => {
  it("serves merged Systems over HTTPS, and a session outlives a SIGKILL of the PoC", async () => {
    let ca = "";
    cluster = await createCluster({
      size: 3,
      bootstrapExpect: 3,
      name: "facade",
      setUp: async ({ dir, vip }) => {
        const tls = { certFile: join(dir, "facade.crt"), keyFile: join(dir, "facade.key") };
        writeFacadeCertificate(tls, await generateFacadeCertificate({ clusterName: "facade", vipAddress: vip }), true);
        ca = readFileSync(tls.certFile, "utf8");
        const credentialsFile = join(dir, "bmc-credentials");
        writeFileSync(credentialsFile, "username: admin\npassword: admin\n", { mode: 0o600 });
        for (let i = 0; i < 3; i++)
          simulators.push(await startSimulator({ host: "127.0.0.1", port: 0, logger: false }));
        return (index) => ({
          facadeTls: { enabled: true, ...tls },
          bmc: { redfishUrl: simulators[index]?.url, credentialsFile },
        });
      },
    });
    const c = cluster;
    onTestFailed(() => {
      process.stderr.write(`${c.logs(60)}\n`);
    });
    const vipUrl = `https://${c.vip}:${c.facadePort}`;
    for (const agent of c.agents) agent.start();

    const formed = await eventually("one PoC with the VIP and three voters", () => pocOf(c.agents, 3), FORM_TIMEOUT_MS);
    const root = await eventually(
      "the facade to answer on the VIP over HTTPS",
      async () => {
        const answer = await fetchAnswer(`${vipUrl}/redfish/v1`, { ca });
        return answer.status === 200 ? answer.json<Record<string, unknown>>() : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    expect(root.UUID).toBe(formed.cluster.uuid);

    // The first administrator was committed by the PoC: a session can be created on the VIP.
    const login = await eventually(
      "a session for the first administrator",
      async () => {
        const answer = await fetchAnswer(`${vipUrl}/redfish/v1/SessionService/Sessions`, {
          ca,
          method: "POST",
          body: { UserName: ADMIN_USER, Password: ADMIN_PASSWORD },
        });
        return answer.status === 201 ? answer : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    const token = login.headers["x-auth-token"] as string;
    expect(token).toEqual(expect.any(String));
    const authorized = { ca, headers: { "x-auth-token": token } };

    // Systems merged from the three BMCs, each behind its member's name.
    const systemsOf = async (expected: readonly string[]) => {
      const answer = await fetchAnswer(`${vipUrl}/redfish/v1/Systems`, authorized);
      if (answer.status !== 200) throw new Error(`Systems: ${answer.status} ${answer.body}`);
      const members = answer.json<{ Members: { "@odata.id": string }[] }>().Members.map((m) => m["@odata.id"]);
      return expected.every((id) => members.includes(id)) ? members : undefined;
    };
    const allThree = ["agent-0", "agent-1", "agent-2"].map((name) => `/redfish/v1/Systems/${name}_system`);
    const merged = await eventually("Systems from all three BMCs", () => systemsOf(allThree), FAILOVER_TIMEOUT_MS);
    expect([...merged].sort()).toEqual(allThree);

    // A follower's own address sends the console to the HTTPS VIP.
    const byId = new Map<string, Agent>();
    for (const agent of c.agents) byId.set((await status(agent)).node.id, agent);
    const poc = byId.get(formed.pocId as string) as Agent;
    const follower = c.agents.find((agent) => agent !== poc) as Agent;
    const redirect = await fetchAnswer(`${follower.nodeHttpUrl()}/redfish/v1/Systems`);
    expect(redirect.status).toBe(307);
    expect(redirect.headers.location).toBe(`${vipUrl}/redfish/v1/Systems`);

    // SIGKILL of the PoC: the VIP moves, and the same token works on the new PoC.
    await poc.kill("SIGKILL");
    const survivors = c.agents.filter((agent) => agent !== poc);
    const next = await eventually("a new PoC with the VIP", () => pocOf(survivors, 3), FAILOVER_TIMEOUT_MS);
    expect(next.pocId).not.toBe(formed.pocId);
    const survivorSystems = survivors.map((agent) => `/redfish/v1/Systems/agent-${agent.index}_system`);
    await eventually(
      "Systems on the new PoC with the old token",
      () => systemsOf(survivorSystems),
      FAILOVER_TIMEOUT_MS,
    );
    const one = await fetchAnswer(`${vipUrl}${survivorSystems[0]}`, authorized);
    expect(one.status).toBe(200);
    expect(one.json()).toMatchObject({ "@odata.id": survivorSystems[0] });
  }, 120_000);
});
