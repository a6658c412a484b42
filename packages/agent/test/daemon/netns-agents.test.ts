// Proves, in network namespaces on a bridge (root, as in CI): three conclaved agents with no peers configured find each other by mDNS and form one cluster (bootstrapExpect 3), the PoC adds the VIP to eth0 and serves /redfish/v1 on it, and after SIGKILL of the PoC the VIP moves to another namespace: a fourth namespace gets the same UUID from the VIP and its neighbour table shows the new PoC's MAC after the gratuitous ARP. Skips with the reason when namespaces are unavailable.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import type { StatusDocument } from "../../src/control/control-protocol.ts";
import { inNamespace, Lab, type Namespace, namespaceSupportProblem } from "../vip/netns.ts";
import { ADMIN_AUTHORIZATION, type Agent, type Cluster, createCluster, eventually } from "./agents.ts";

const problem = namespaceSupportProblem(["arping"]);
const FORM_TIMEOUT_MS = 40_000;
const FAILOVER_TIMEOUT_MS = 15_000;
const SUBNET = "10.98.0";
const VIP = `${SUBNET}.100`;
const FACADE_PORT = 8443;

let lab: Lab | undefined;
let cluster: Cluster | undefined;
afterAll(async () => {
  await cluster?.destroy();
  lab?.cleanup();
});

/** GET from inside a namespace (node's fetch; bounded). Undefined when nothing answers. */
function getFrom(namespace: string, url: string): { status: number; body: string } | undefined {
  const headers = JSON.stringify({ authorization: ADMIN_AUTHORIZATION });
  const script = `fetch(${JSON.stringify(url)},{signal:AbortSignal.timeout(2000),redirect:"manual",headers:${headers}}).then(async r=>process.stdout.write(JSON.stringify({status:r.status,body:await r.text()}))).catch(()=>process.stdout.write("null"))`;
  const out = inNamespace(namespace, [process.execPath, "-e", script], { allowFail: true }).trim();
  return out === "" || out === "null" ? undefined : (JSON.parse(out) as { status: number; body: string });
}

async function status(agent: Agent): Promise<StatusDocument> {
  const answer = await agent.control("GET", "/v1/status");
  if (answer.status !== 200) throw new Error(`status ${answer.status}`);
  return answer.json<StatusDocument>();
}

describe.skipIf(problem !== undefined)(
  `conclaved in network namespaces${problem ? ` (skipped: ${problem})` : ""}`,
  () => {
    it("discovers by mDNS, elects, and moves the VIP between namespaces on failover", async () => {
      lab = new Lab();
      const namespaces: Namespace[] = ["a", "b", "c"].map((letter, i) =>
        lab!.addNamespace(letter, [`${SUBNET}.${i + 1}/24`]),
      );
      const observer = lab.addNamespace("d", [`${SUBNET}.9/24`]);
      for (const ns of [...namespaces, observer])
        inNamespace(ns.name, ["ip", "route", "add", "224.0.0.0/4", "dev", "eth0"]);

      cluster = await createCluster({ size: 0, bootstrapExpect: 3, name: `ns${lab.suffix.slice(-6)}` });
      const c = cluster;
      onTestFailed(() => {
        process.stderr.write(`${c.logs(40)}\n`);
      });
      for (const [i, ns] of namespaces.entries()) {
        const agent = await c.add({
          extra: {
            listen: ["/ip4/0.0.0.0/tcp/7420"],
            peers: [],
            mdns: true,
            interface: "eth0",
            vip: { mode: "interface", address: VIP, prefix: 24 },
            facadePort: FACADE_PORT,
            nodeHttp: "0.0.0.0:8444",
            nodeName: `ns-${i}`,
          },
        });
        agent.launcher = ["ip", "netns", "exec", ns.name];
      }
      writeFileSync(join(c.dir, "namespaces.txt"), namespaces.map((ns) => ns.name).join("\n"));
      for (const agent of c.agents) agent.start();

      const formed = await eventually(
        "one cluster of three voters found by mDNS",
        async () => {
          const docs = await Promise.all(c.agents.map(status));
          const first = docs[0]!;
          const ok =
            first.pocId !== null &&
            first.cluster.uuid !== null &&
            docs.every(
              (doc) =>
                doc.pocId === first.pocId &&
                doc.cluster.uuid === first.cluster.uuid &&
                doc.members.filter((member) => member.role === "voter").length === 3,
            );
          return ok ? docs.find((doc) => doc.node.id === first.pocId) : undefined;
        },
        FORM_TIMEOUT_MS,
      );
      const uuid = formed.cluster.uuid;
      const first = await eventually(
        "the VIP to answer in the observer namespace",
        async () => {
          const answer = getFrom(observer.name, `http://${VIP}:${FACADE_PORT}/redfish/v1`);
          return answer?.status === 200 ? (JSON.parse(answer.body) as { UUID: string }) : undefined;
        },
        FAILOVER_TIMEOUT_MS,
      );
      expect(first.UUID).toBe(uuid);

      const ids = await Promise.all(c.agents.map(async (agent) => (await status(agent)).node.id));
      const pocIndex = ids.indexOf(formed.pocId as string);
      await c.agents[pocIndex]!.kill("SIGKILL");
      // The supervisor's cleanup (`conclave vip release`) would remove the VIP; do what it does.
      inNamespace(namespaces[pocIndex]!.name, ["ip", "addr", "del", `${VIP}/24`, "dev", "eth0"], { allowFail: true });
      const survivors = c.agents.filter((_, i) => i !== pocIndex);
      const after = await eventually(
        "a new PoC holding the VIP",
        async () => {
          const docs = await Promise.all(survivors.map(status));
          const poc = docs.find((doc) => doc.lease.heldHere && doc.vip.heldHere);
          return poc !== undefined && poc.node.id !== formed.pocId ? poc : undefined;
        },
        FAILOVER_TIMEOUT_MS,
      );
      const newNamespace = namespaces[ids.indexOf(after.node.id)]!;
      const moved = await eventually(
        "the VIP to answer from the new PoC's namespace",
        async () => {
          const answer = getFrom(observer.name, `http://${VIP}:${FACADE_PORT}/conclave/v1/status`);
          if (answer?.status !== 200 || (JSON.parse(answer.body) as StatusDocument).node.id !== after.node.id)
            return undefined;
          return getFrom(observer.name, `http://${VIP}:${FACADE_PORT}/redfish/v1`);
        },
        FAILOVER_TIMEOUT_MS,
      );
      expect((JSON.parse(moved.body) as { UUID: string }).UUID).toBe(uuid);
      const neighbour = inNamespace(observer.name, ["ip", "-4", "neigh", "show", VIP, "dev", "eth0"]);
      expect(neighbour.toLowerCase()).toContain(newNamespace.mac.toLowerCase());
      for (const agent of survivors) expect(await agent.kill("SIGTERM")).toBe(0);
    });
  },
);
