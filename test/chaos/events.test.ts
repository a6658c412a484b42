// Events through a failover, on a real rack in network namespaces (root, as in CI; skips
// otherwise with the reason): every member's BMC raises numbered test events while a console
// reads the EventService stream through the VIP; the PoC is SIGKILLed mid-stream and the console
// reconnects with Last-Event-ID to the new PoC. Every event of a member whose agent kept running
// arrives exactly once; the killed PoC's own member may miss what its BMC raised while its agent
// was down, and then the stream says so (EventsRestarted or EventsDropped) — never a duplicate.
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, describe, expect, it, onTestFailed } from "vitest";
import { supervisorReleasesVip } from "../rack/faults.ts";
import { rackSupportProblem } from "../rack/network.ts";
import { BMC_PASSWORD, BMC_PORT, BMC_USER, eventually, Rack, type RackNode } from "../rack/rack.ts";

const problem = rackSupportProblem();
const SSE_CONSOLE_MAIN = join(import.meta.dirname, "../rack/sse-console-main.ts");
const EMITTER_MAIN = join(import.meta.dirname, "../rack/event-emitter-main.ts");
/** Bound on forming the rack. */
const FORM_TIMEOUT_MS = 90_000;
/** Events each BMC raises, and how fast (10 s of events). */
const EVENTS_PER_MEMBER = 150;
const EVENTS_PER_SECOND = 15;
/** The PoC dies this long after the BMCs start raising events; its supervisor restarts it after RESTART_AFTER_MS. */
const KILL_AFTER_MS = 3_000;
const RESTART_AFTER_MS = 1_500;
/** Bound on the console receiving everything after the last event was raised. */
const DELIVERY_TIMEOUT_MS = 60_000;
/** The console process's own bound. */
const CONSOLE_SECONDS = 150;

interface ConsoleLine {
  readonly id?: string;
  readonly messageId?: string;
  readonly args?: readonly string[];
  readonly connected?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) resolve(child.exitCode);
    else child.once("exit", (code) => resolve(code));
  });
}

describe.skipIf(problem !== undefined)(`events through a failover${problem ? ` (${problem})` : ""}`, () => {
  let rack: Rack | undefined;
  const children: ChildProcess[] = [];
  afterAll(async () => {
    for (const child of children) child.kill("SIGKILL");
    await rack?.destroy();
  });

  it(
    "every member's events reach a console through the VIP exactly once across a SIGKILL of the PoC",
    async () => {
      rack = await Rack.create({ size: 3, bmcMemorySettings: true });
      const live = rack;
      onTestFailed(() => {
        process.stderr.write(`${live.logs(40)}\n`);
      });
      live.start();
      await live.converged(FORM_TIMEOUT_MS);
      const token = await live.login(FORM_TIMEOUT_MS);

      const lines: ConsoleLine[] = [];
      const console = spawn(
        "ip",
        [
          "netns",
          "exec",
          live.console.namespace,
          process.execPath,
          SSE_CONSOLE_MAIN,
          `${live.facadeUrl}/redfish/v1/EventService/SSE`,
          token,
          String(CONSOLE_SECONDS),
        ],
        { stdio: ["ignore", "pipe", "inherit"] },
      );
      children.push(console);
      createInterface({ input: console.stdout as NodeJS.ReadableStream }).on("line", (line) => {
        lines.push(JSON.parse(line) as ConsoleLine);
      });
      await eventually(
        "the console's stream",
        async () => (lines.some((l) => l.connected === 200) ? true : undefined),
        30_000,
      );

      const { poc } = await live.converged(FORM_TIMEOUT_MS);
      const emitters = live.nodes
        .filter(
          (node): node is RackNode & { simulator: NonNullable<RackNode["simulator"]> } => node.simulator !== undefined,
        )
        .map((node) => {
          const child = spawn(
            "ip",
            [
              "netns",
              "exec",
              node.host.namespace,
              process.execPath,
              EMITTER_MAIN,
              `http://127.0.0.1:${BMC_PORT}`,
              BMC_USER,
              BMC_PASSWORD,
              node.name,
              String(EVENTS_PER_MEMBER),
              String(EVENTS_PER_SECOND),
            ],
            { stdio: ["ignore", "ignore", "inherit"] },
          );
          children.push(child);
          return { node, done: exited(child) };
        });

      await sleep(KILL_AFTER_MS);
      await poc.agent.kill("SIGKILL");
      supervisorReleasesVip(live, poc);
      await sleep(RESTART_AFTER_MS);
      poc.agent.start();
      for (const emitter of emitters) expect(await emitter.done, `${emitter.node.name}'s emitter`).toBe(0);

      // The emitters' events: MessageArgs [<name>, <seq>] (Conclave's own records name a member too, but never with a seq).
      const seen = (name: string): string[] =>
        lines
          .filter((l) => l.args?.length === 2 && l.args[0] === name && l.messageId?.startsWith("Conclave.") !== true)
          .map((l) => l.args?.[1] as string);
      const survivors = emitters.map((e) => e.node).filter((node) => node !== poc);
      await eventually(
        "every surviving member's events at the console",
        async () => (survivors.every((node) => new Set(seen(node.name)).size === EVENTS_PER_MEMBER) ? true : undefined),
        DELIVERY_TIMEOUT_MS,
      );
      // The killed PoC's member: give its restarted agent the same time to deliver what it can.
      await sleep(2_000);
      console.kill("SIGTERM");

      expect(lines.filter((l) => l.connected === 200).length, "the console reconnected").toBeGreaterThanOrEqual(2);
      process.stdout.write(
        `events through a failover: ${emitters.map(({ node }) => `${node.name}${node === poc ? " (killed PoC)" : ""} ${new Set(seen(node.name)).size}/${EVENTS_PER_MEMBER}`).join(", ")}; ${lines.filter((l) => l.connected === 200).length} connections\n`,
      );
      for (const { node } of emitters) {
        const seqs = seen(node.name);
        expect(seqs.length - new Set(seqs).size, `${node.name}: duplicated events`).toBe(0);
        const numbers = seqs.map(Number);
        expect(numbers, `${node.name}: out of order`).toEqual([...numbers].sort((a, b) => a - b));
        if (node !== poc) {
          expect(seqs.length, `${node.name}: every event exactly once`).toBe(EVENTS_PER_MEMBER);
          continue;
        }
        if (seqs.length < EVENTS_PER_MEMBER) {
          const said = lines.some(
            (l) =>
              (l.messageId === "Conclave.1.0.EventsRestarted" || l.messageId === "Conclave.1.0.EventsDropped") &&
              l.args?.[0] === node.name,
          );
          expect(said, `${node.name} missed ${EVENTS_PER_MEMBER - seqs.length} events without saying so`).toBe(true);
        }
      }
    },
    FORM_TIMEOUT_MS * 2 + DELIVERY_TIMEOUT_MS + 60_000,
  );
});
