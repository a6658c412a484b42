// Proves, with real conclaved processes on loopback: three agents started at once with static peers and bootstrapExpect 3 form exactly one cluster (one UUID, the same members) and elect one PoC; the loopback VIP answers /redfish/v1 with the cluster UUID and a follower's own address redirects to it; a node with the wrong cluster secret stays out; SIGKILL of the PoC gives a new PoC and the VIP moves with the same UUID; the killed node restarted with its state rejoins as a follower without raising the term; transfer-leadership and drain work through the conclave CLI on a follower (forwarded to the PoC), undrain and an unknown node through its control socket; SIGTERM stops an agent with exit code 0.
import { getPriority } from "node:os";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import type { ChangeResult, StatusDocument, TransferLeadershipResult } from "../../src/control/control-protocol.ts";
import { DEFAULT_POC_NICE, DEFAULT_VOTER_NICE } from "../../src/scheduling/voter-priority.ts";
import {
  ADMIN_AUTHORIZATION,
  type Agent,
  type Cluster,
  createCluster,
  eventually,
  httpGet,
  otherSecret,
} from "./agents.ts";

/** Bounds of the waits below (timing profile `fast`); generous for a loaded CI machine, never asserted as speeds. */
const FORM_TIMEOUT_MS = 25_000;
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

/** Every running agent agrees on one PoC holding the lease, one UUID and `voters` voters. */
async function agreed(agents: Agent[], voters: number): Promise<StatusDocument | undefined> {
  const docs = await Promise.all(agents.map(status));
  const first = docs[0];
  if (first === undefined || first.pocId === null || first.cluster.uuid === null) return undefined;
  const same = docs.every(
    (doc) =>
      doc.pocId === first.pocId &&
      doc.cluster.uuid === first.cluster.uuid &&
      doc.members.filter((member) => member.role === "voter").length === voters &&
      doc.appliedIndex > 0,
  );
  const poc = docs.find((doc) => doc.node.id === first.pocId);
  return same && poc?.lease.heldHere === true && poc.vip.heldHere ? poc : undefined;
}

describe("three conclaved processes on loopback", () => {
  it("form one cluster, fail over on SIGKILL, rejoin, and obey the control socket", async () => {
    cluster = await createCluster({ size: 3, bootstrapExpect: 3, name: "three" });
    const c = cluster;
    onTestFailed(() => {
      process.stderr.write(`${c.logs(60)}\n`);
    });
    const outsider = await c.add({ secret: otherSecret() });
    for (const agent of c.agents) agent.start();
    const members = c.agents.slice(0, 3);

    // One cluster, one PoC, three voters.
    const formed = await eventually("one cluster with three voters", () => agreed(members, 3), FORM_TIMEOUT_MS);
    const uuid = formed.cluster.uuid as string;
    expect(formed.members.map((member) => member.id).sort()).toHaveLength(3);
    // Every voter's event loop runs at the voter priority, the PoC's at the PoC's (raising them
    // needs root or CAP_SYS_NICE).
    if (process.getuid?.() === 0) {
      const voterNice = Math.min(DEFAULT_VOTER_NICE, getPriority());
      const pocNice = Math.min(DEFAULT_POC_NICE, voterNice);
      await eventually(
        "every voter to run at the voter priority and the PoC at the PoC's",
        async () => {
          const docs = await Promise.all(members.map(status));
          return members.every((agent, i) => {
            const doc = docs[i];
            const wanted = doc !== undefined && doc.node.id === doc.pocId ? pocNice : voterNice;
            return getPriority(agent.child?.pid) === wanted;
          })
            ? true
            : undefined;
        },
        FAILOVER_TIMEOUT_MS,
      );
    }
    const root = await eventually(
      "the VIP to answer",
      async () => {
        const answer = await httpGet(`${c.vipUrl}/redfish/v1`);
        return answer.status === 200 ? answer.json<Record<string, unknown>>() : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    expect(root).toMatchObject({
      "@odata.id": "/redfish/v1",
      "@odata.type": expect.stringMatching(/^#ServiceRoot\.v1_\d+_\d+\.ServiceRoot$/),
      UUID: uuid,
    });
    // The status on the VIP shows the cluster's insides: it needs a Redfish login.
    expect((await httpGet(`${c.vipUrl}/conclave/v1/status`)).status).toBe(401);
    const statusOnVip = await eventually(
      "the first administrator to be committed",
      async () => {
        const answer = await httpGet(`${c.vipUrl}/conclave/v1/status`, { authorization: ADMIN_AUTHORIZATION });
        return answer.status === 200 ? answer : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    expect(statusOnVip.json<StatusDocument>().pocId).toBe(formed.pocId);

    // A follower's own address sends the client to the VIP.
    const byId = new Map<string, Agent>();
    for (const agent of members) byId.set((await status(agent)).node.id, agent);
    const aFollower = [...byId.entries()].find(([id]) => id !== formed.pocId)![1];
    const redirect = await httpGet(`${aFollower.nodeHttpUrl()}/redfish/v1`);
    expect(redirect.status).toBe(307);
    expect(redirect.headers.location).toBe(`${c.vipUrl}/redfish/v1`);

    // The node with the wrong secret never got in.
    expect(formed.members.length).toBe(3);
    expect(outsider.running).toBe(true);
    expect(outsider.log()).toContain('"known":1');

    // SIGKILL the PoC: a new one, and the VIP answers with the same UUID.
    const poc = byId.get(formed.pocId as string)!;
    await poc.kill("SIGKILL");
    const survivors = members.filter((agent) => agent !== poc);
    const after = await eventually(
      "a new PoC among the survivors",
      async () => {
        const doc = await agreed(survivors, 3);
        return doc !== undefined && doc.pocId !== formed.pocId ? doc : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    const movedRoot = await eventually(
      "the VIP to answer from the new PoC",
      async () => {
        const answer = await httpGet(`${c.vipUrl}/conclave/v1/status`, { authorization: ADMIN_AUTHORIZATION });
        const doc = answer.status === 200 ? answer.json<StatusDocument>() : undefined;
        return doc?.node.id === after.pocId ? await httpGet(`${c.vipUrl}/redfish/v1`) : undefined;
      },
      FAILOVER_TIMEOUT_MS,
    );
    expect(movedRoot.json<{ UUID: string }>().UUID).toBe(uuid);

    // Restart the killed node with its state: it follows, and the term does not move (PreVote).
    const termBefore = after.term;
    poc.start();
    const rejoined = await eventually(
      "the restarted node to follow the new PoC",
      async () => {
        const doc = await status(poc);
        return doc.pocId === after.pocId && doc.node.raftRole === "follower" && doc.appliedIndex >= after.appliedIndex
          ? doc
          : undefined;
      },
      FORM_TIMEOUT_MS,
    );
    expect(rejoined.term).toBe(termBefore);
    expect((await status(byId.get(after.pocId as string)!)).term).toBe(termBefore);

    // transfer-leadership through a follower, to a member named by its `name` label.
    const newPoc = byId.get(after.pocId as string)!;
    const target = survivors.find((agent) => agent !== newPoc)!;
    const targetName = `agent-${target.index}`;
    const asker = poc; // a follower: the request is forwarded to the PoC
    const transfer = await asker.cli(["transfer-leadership", "--to", targetName, "--json"]);
    expect(transfer.code, transfer.stderr).toBe(0);
    const transferred = JSON.parse(transfer.stdout) as TransferLeadershipResult;
    const targetId = [...byId.entries()].find(([, agent]) => agent === target)![0];
    expect(transferred.pocId).toBe(targetId);
    expect(transferred.previousPocId).toBe(after.pocId);
    await eventually(
      "everyone to see the new PoC",
      () => agreed(members, 3).then((d) => (d?.pocId === targetId ? d : undefined)),
      FAILOVER_TIMEOUT_MS,
    );

    // Unknown node names are refused, naming the value.
    const unknown = await asker.control("POST", "/v1/drain", { node: "no-such-node" });
    expect(unknown.status).toBe(404);
    expect(unknown.json<{ error: { code: string; message: string } }>().error).toMatchObject({
      code: "AGENT_ERR_UNKNOWN_NODE",
    });
    expect(unknown.body).toContain("no-such-node");

    // Drain the PoC from a follower: it hands over at once and never becomes PoC while drained.
    const drain = await asker.cli(["drain", targetName, "--json"]);
    expect(drain.code, drain.stderr).toBe(0);
    expect((JSON.parse(drain.stdout) as ChangeResult).ok).toBe(true);
    const drained = await eventually(
      "a new PoC after the drain",
      () => agreed(members, 3).then((d) => (d !== undefined && d.pocId !== targetId ? d : undefined)),
      FAILOVER_TIMEOUT_MS,
    );
    expect(drained.members.find((member) => member.id === targetId)?.drained).toBe(true);
    const undrain = await asker.control("POST", "/v1/undrain", { node: targetName });
    expect(undrain.status, undrain.body).toBe(200);
    await eventually(
      "the undrain to apply",
      () => status(target).then((d) => (d.node.drained ? undefined : d)),
      FAILOVER_TIMEOUT_MS,
    );

    // History lists the hand-overs with their reasons.
    const history = await asker.control("GET", "/v1/history");
    const reasons = history.json<{ history: { reason: string }[] }>().history.map((entry) => entry.reason);
    expect(reasons).toContain("transfer");
    expect(reasons).toContain("drain");

    // SIGTERM: graceful, exit code 0.
    for (const agent of [...members, outsider]) expect(await agent.kill("SIGTERM")).toBe(0);
  });
});
