// The member side of `pnpm bench events`, run in a child process: MEMBER_COUNT BMC simulators on
// loopback, and for each a member agent's event path as the daemon mounts it — its own libp2p
// host (createConclaveHost: TCP, the cluster's pre-shared key, noise, yamux) with
// attachMemberEvents (the agent's SSE reader of its BMC over HTTP, its numbered buffer, and the
// `conclave.events.pull` handler on `/conclave/rpc/1`). The emitters publish straight into each
// simulator's EventHub (what SubmitTestEvent does, without an HTTP request per event), so the
// agent reads them from the simulator's real SSE stream.
//
// Lines on stdin and stdout are JSON (events-protocol.ts): the parent asks for an emission phase,
// the child answers with what it emitted; stdin closing stops everything.
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { pathToFileURL } from "node:url";
import { createBmcClient } from "../packages/agent/src/bmc/bmc-client.ts";
import { bmcCredentials } from "../packages/agent/src/bmc/credentials.ts";
import { attachMemberEvents, type MemberEvents } from "../packages/agent/src/events/attach-member-events.ts";
import {
  type ConclaveHost,
  type ConclaveHostInit,
  createConclaveHost,
  parseClusterSecret,
} from "../packages/agent/src/index.ts";
import type { EventHub } from "../packages/bmc-simulator/src/events.ts";
import { type RunningSimulator, startSimulator } from "../packages/bmc-simulator/src/index.ts";
import {
  type EmitPhase,
  type EmitReport,
  EVENT_MESSAGE_ID,
  EVENT_ORIGIN,
  type MemberAddress,
  memberName,
  type ParentMessage,
} from "./events-protocol.ts";

/** Events one emitter publishes before it yields to the event loop (its agent must read them). */
const EMIT_BATCH = 64;
/** An emitter at full speed waits this long when its member is a full window ahead of the PoC. */
const WINDOW_FULL_WAIT_MS = 1;
/** A paced emitter's tick; events due are published at each. */
const PACE_TICK_MS = 5;
/** Events a paced emitter publishes in one tick at most (catching up after a stall is bounded). */
const PACE_BURST_MAX = 2_000;
/** Room for the emitters' own SSE streams plus the agent's: the hub keeps a bigger buffer for resumes. */
const SIMULATOR_EVENT_BUFFER = 8_192;
const SIMULATOR_SSE_CLIENT_BUFFER_BYTES = 8 * 1024 * 1024;

// libp2p's key functions are the agent's dependency, not the bench's: loaded from where the agent finds them.
const keysModule = createRequire(new URL("../packages/agent/package.json", import.meta.url)).resolve(
  "@libp2p/crypto/keys",
);
const { generateKeyPair } = (await import(pathToFileURL(keysModule).href)) as {
  generateKeyPair(type: "Ed25519"): Promise<ConclaveHostInit["privateKey"]>;
};

/** A fresh Ed25519 node key, as a new agent draws one. */
export function newNodeKey(): Promise<ConclaveHostInit["privateKey"]> {
  return generateKeyPair("Ed25519");
}

interface Member {
  readonly name: string;
  readonly simulator: RunningSimulator;
  readonly hub: EventHub;
  readonly host: ConclaveHost;
  readonly events: MemberEvents;
  close(): Promise<void>;
}

function send(message: unknown): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

async function startMember(index: number, psk: Uint8Array): Promise<Member> {
  const name = memberName(index);
  const simulator = await startSimulator({
    port: 0,
    host: "127.0.0.1",
    logger: false,
    generator: { nodeName: name },
    limits: { eventBufferSize: SIMULATOR_EVENT_BUFFER, maxSseClientBufferBytes: SIMULATOR_SSE_CLIENT_BUFFER_BYTES },
  });
  const hub = (simulator.app as unknown as { simulator: { events: EventHub } }).simulator.events;
  const credentials = bmcCredentials("admin", "admin");
  const client = createBmcClient({ redfishUrl: simulator.url, credentials, authMode: "basic" });
  const host = await createConclaveHost({
    privateKey: await newNodeKey(),
    clusterSecret: psk,
    clusterName: "bench-events",
    listen: ["/ip4/127.0.0.1/tcp/0"],
    mdns: false,
    // The pre-shared key is the gate here: the PoC's peer id is not known before it dials.
    isPeerAllowed: () => true,
    onRaftMessage: () => {},
  });
  await host.start();
  const events = attachMemberEvents({
    rpc: host.rpc,
    bmc: { client, stream: { redfishUrl: simulator.url, credentials: () => credentials } },
    isMember: () => true,
  });
  return {
    name,
    simulator,
    hub,
    host,
    events,
    async close() {
      await events.close();
      await host.stop();
      await client.close();
      await simulator.close();
    },
  };
}

/** Events of this member not yet sent to the PoC: on the BMC's stream, or in the agent's buffer. */
function unsent(member: Member): number {
  return member.hub.lastEventId - member.events.buffer.countsSoFar().delivered;
}

function publish(member: Member, phase: EmitPhase, seq: number): void {
  member.hub.publish({
    messageId: EVENT_MESSAGE_ID,
    message: `Bench event ${seq} of ${member.name}.`,
    // Read back by the SSE clients: the stream, the phase, the sequence and the emit time (ms).
    args: [member.name, phase.name, String(seq), String(Date.now())],
    severity: "OK",
    originOfCondition: EVENT_ORIGIN,
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const yieldToLoop = () => new Promise((resolve) => setImmediate(resolve));

/** One phase: every member's emitter, at full speed (within the window) or paced, for `seconds`. */
async function emit(members: readonly Member[], phase: EmitPhase): Promise<EmitReport> {
  const emitted = members.map(() => 0);
  const cpuBefore = process.cpuUsage();
  const startedAt = Date.now();
  const endAt = startedAt + phase.seconds * 1_000;
  const dropsBefore = members.reduce((sum, m) => sum + m.events.buffer.countsSoFar().dropped, 0);
  let windowWaits = 0;
  if (phase.kind === "max") {
    while (Date.now() < endAt) {
      let published = 0;
      members.forEach((member, i) => {
        for (let n = 0; n < EMIT_BATCH && unsent(member) < phase.window; n++) {
          emitted[i] = (emitted[i] as number) + 1;
          publish(member, phase, emitted[i] as number);
          published += 1;
        }
      });
      if (published === 0) {
        windowWaits += 1;
        await sleep(WINDOW_FULL_WAIT_MS);
      } else await yieldToLoop();
    }
  } else {
    const perMemberPerMs = phase.ratePerS / members.length / 1_000;
    while (Date.now() < endAt) {
      const due = Math.floor((Date.now() - startedAt) * perMemberPerMs);
      members.forEach((member, i) => {
        const burst = Math.min(PACE_BURST_MAX, due - (emitted[i] as number));
        for (let n = 0; n < burst; n++) {
          emitted[i] = (emitted[i] as number) + 1;
          publish(member, phase, emitted[i] as number);
        }
      });
      await sleep(PACE_TICK_MS);
    }
  }
  const endedAt = Date.now();
  const cpu = process.cpuUsage(cpuBefore);
  const dropsAfter = members.reduce((sum, m) => sum + m.events.buffer.countsSoFar().dropped, 0);
  return {
    type: "emitted",
    phase: phase.name,
    startedAt,
    endedAt,
    emitted: Object.fromEntries(members.map((m, i) => [m.name, emitted[i] as number])),
    droppedAtMembers: dropsAfter - dropsBefore,
    windowWaits,
    cpuMs: Math.round((cpu.user + cpu.system) / 1_000),
  };
}

export async function runMembers(memberCount: number, secretText: string): Promise<void> {
  const psk = parseClusterSecret(Buffer.from(secretText), "bench").psk;
  const members: Member[] = [];
  for (let i = 0; i < memberCount; i++) members.push(await startMember(i, psk));
  // Every agent reads its BMC's stream before the first event is emitted.
  const deadline = Date.now() + 30_000;
  while (!members.every((m) => m.events.sourceStatus()?.connected === true)) {
    if (Date.now() > deadline) throw new Error("the member agents did not open their BMCs' event streams");
    await sleep(20);
  }
  const addresses: MemberAddress[] = members.map((m) => ({
    name: m.name,
    peerId: m.host.nodeId,
    address: (m.host.getMultiaddrs()[0] as { toString(): string }).toString(),
    url: m.simulator.url,
  }));
  send({ type: "ready", members: addresses });
  const lines = createInterface({ input: process.stdin });
  let queue = Promise.resolve();
  lines.on("line", (line) => {
    const message = JSON.parse(line) as ParentMessage;
    if (message.type === "emit") queue = queue.then(async () => send(await emit(members, message.phase)));
  });
  lines.on("close", async () => {
    await queue;
    await Promise.all(members.map((m) => m.close()));
    process.exit(0);
  });
}
