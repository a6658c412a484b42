// Proves the cluster state machine applies commands deterministically, records bad and refused commands without changing anything else, keeps its bounds, and round-trips through snapshots byte for byte.

import { ConfChangeType, InvariantError } from "@conclave/consensus";
import fc from "fast-check";
import Type from "typebox";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../src/cluster-state/canonical-json.ts";
import { ClusterState } from "../../src/cluster-state/cluster-state.ts";
import { COMMAND_MAX_BYTES, defineCommand, type StateSection } from "../../src/cluster-state/command.ts";
import { clusterCommands } from "../../src/cluster-state/core-section.ts";
import { ClusterCommandInvalidError, CommandRejection, StateSnapshotError } from "../../src/cluster-state/errors.ts";
import { LEADERSHIP_HISTORY_MAX, REJECTED_COMMANDS_KEPT } from "../../src/cluster-state/types.ts";

const UUID = "0f8fad5b-d9cb-469f-a165-70867728950e";
const T0 = 1_700_000_000_000;
const bootstrapMetadata = { index: 1, confState: { voters: ["a", "b", "c"], learners: [] } };

/** A state at the bootstrap snapshot, fed commands one by one from index 2. */
class Harness {
  readonly state: ClusterState;
  index = 1;
  constructor(state = new ClusterState()) {
    this.state = state;
    state.restore(new Uint8Array(0), bootstrapMetadata);
  }
  command(input: Parameters<ClusterState["encode"]>[0], atMs = T0 + this.index) {
    return this.state.apply(++this.index, this.state.encode(input, atMs));
  }
  raw(bytes: Uint8Array) {
    return this.state.apply(++this.index, bytes);
  }
}

const text = (value: string) => new TextEncoder().encode(value);
const envelope = (body: unknown, type = "member.drain", extra: Record<string, unknown> = {}) =>
  text(JSON.stringify({ v: 1, type, version: 1, atMs: T0, body, ...extra }));

describe("applying commands", () => {
  it("starts from the bootstrap configuration and sets the identity once", () => {
    const h = new Harness();
    expect(h.state.members().map((m) => [m.id, m.role, m.joinedAtMs])).toEqual([
      ["a", "voter", 0],
      ["b", "voter", 0],
      ["c", "voter", 0],
    ]);
    expect(h.state.identity).toBeNull();

    const init = h.command(clusterCommands.initCluster(UUID, "rack-1"), T0);
    expect(init).toMatchObject({ ok: true, value: { clusterId: UUID, clusterName: "rack-1", createdAtMs: T0 } });
    expect(h.state.members().every((m) => m.joinedAtMs === T0)).toBe(true);

    // A retry of the same init is the same cluster; another id is refused.
    expect(h.command(clusterCommands.initCluster(UUID, "rack-1"))).toMatchObject({ ok: true });
    const other = h.command(clusterCommands.initCluster("11111111-2222-4333-8444-555555555555", "rack-1"));
    expect(other).toMatchObject({ ok: false, code: "already-initialised" });
    expect(h.state.identity?.clusterId).toBe(UUID);
    expect(h.state.identity?.createdAtMs).toBe(T0);
  });

  it("updates members, drains them, records health with the proposer's time", () => {
    const h = new Harness();
    h.command(clusterCommands.initCluster(UUID, "rack-1"));
    h.command(
      clusterCommands.updateMember("b", {
        addresses: ["/ip4/10.0.0.2/tcp/7420"],
        priority: 80,
        labels: { slot: "2", chassis: "c1" },
      }),
    );
    h.command(clusterCommands.updateMember("c", { witness: true }));
    h.command(clusterCommands.drainMember("a", true));
    const health = h.command(
      clusterCommands.reportHealth("b", { status: "warning", bmcReachable: true, cpuPercent: 91 }),
      T0 + 5_000,
    );
    expect(health).toMatchObject({ ok: true, value: { status: "warning", reportedAtMs: T0 + 5_000 } });

    expect(h.state.member("a")).toMatchObject({ drained: true, role: "voter" });
    expect(h.state.member("b")).toMatchObject({
      addresses: ["/ip4/10.0.0.2/tcp/7420"],
      priority: 80,
      labels: { chassis: "c1", slot: "2" },
      health: { status: "warning", bmcReachable: true, cpuPercent: 91, reportedAtMs: T0 + 5_000 },
    });
    expect(h.state.member("c")).toMatchObject({ role: "witness", witness: true });
    expect(Object.isFrozen(h.state.member("b"))).toBe(true);

    expect(h.command(clusterCommands.drainMember("zz", true))).toMatchObject({ ok: false, code: "not-a-member" });
  });

  it("mirrors membership changes with the Raft core's rules", () => {
    const h = new Harness();
    h.command(clusterCommands.initCluster(UUID, "rack-1"), T0 + 100);
    expect(h.state.applyConfChange(++h.index, { type: ConfChangeType.AddLearner, nodeId: "d" })).toBe(true);
    expect(h.state.member("d")).toMatchObject({ role: "learner", joinedAtMs: T0 + 100 });
    // The same change again, or demoting a voter, is ignored, as in Raft.
    expect(h.state.applyConfChange(++h.index, { type: ConfChangeType.AddLearner, nodeId: "d" })).toBe(false);
    expect(h.state.applyConfChange(++h.index, { type: ConfChangeType.AddLearner, nodeId: "a" })).toBe(false);
    h.command(clusterCommands.updateMember("d", { witness: true }));
    expect(h.state.member("d")?.role).toBe("learner");
    expect(h.state.applyConfChange(++h.index, { type: ConfChangeType.AddVoter, nodeId: "d" })).toBe(true);
    expect(h.state.member("d")?.role).toBe("witness");
    expect(h.state.applyConfChange(++h.index, { type: ConfChangeType.RemoveNode, nodeId: "a" })).toBe(true);
    expect(h.state.applyConfChange(++h.index, { type: ConfChangeType.RemoveNode, nodeId: "a" })).toBe(false);
    expect(h.state.members().map((m) => m.id)).toEqual(["b", "c", "d"]);
  });

  it("keeps the leadership history ordered by term and bounded", () => {
    const h = new Harness();
    expect(h.command(clusterCommands.recordLeadership(2, "a", "election"))).toMatchObject({ ok: true });
    expect(h.command(clusterCommands.recordLeadership(2, "b", "election"))).toMatchObject({
      ok: false,
      code: "stale-term",
    });
    expect(h.command(clusterCommands.recordLeadership(3, "zz", "election"))).toMatchObject({
      ok: false,
      code: "not-a-member",
    });
    for (let term = 3; term < 3 + LEADERSHIP_HISTORY_MAX + 10; term++) {
      h.command(clusterCommands.recordLeadership(term, term % 2 ? "b" : "c", "transfer"), T0 + term);
    }
    const history = h.state.leadershipHistory();
    expect(history).toHaveLength(LEADERSHIP_HISTORY_MAX);
    expect(history.at(-1)).toMatchObject({ term: 2 + LEADERSHIP_HISTORY_MAX + 10, reason: "transfer" });
    expect(history[0]?.term).toBe(13);
  });

  it("demands contiguous indexes: a gap is an invariant violation, not a rejection", () => {
    const h = new Harness();
    expect(() => h.state.applyEmpty(5)).toThrow(InvariantError);
    h.state.applyEmpty(2);
    expect(h.state.appliedIndex).toBe(2);
  });
});

describe("bad commands from the log", () => {
  const cases: [string, Uint8Array, string][] = [
    ["not UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), "malformed"],
    ["not JSON", text("{nope"), "malformed"],
    ["JSON, not an envelope", text("[1,2,3]"), "malformed"],
    ["an envelope with an extra key", envelope({ id: "a", drained: true }, "member.drain", { extra: 1 }), "malformed"],
    ["a future envelope version", envelope({ id: "a", drained: true }, "member.drain", { v: 9 }), "malformed"],
    ["a fractional time", envelope({ id: "a", drained: true }, "member.drain", { atMs: 1.5 }), "malformed"],
    [
      "a __proto__ key",
      text(`{"v":1,"type":"member.drain","version":1,"atMs":1,"body":{"__proto__":{"x":1}}}`),
      "malformed",
    ],
    ["an unknown command", envelope({}, "member.explode"), "unknown-command"],
    ["an unknown version", envelope({ id: "a", drained: true }, "member.drain", { version: 7 }), "unknown-command"],
    ["a body with an extra key", envelope({ id: "a", drained: true, admin: true }), "invalid-body"],
    ["a body of the wrong type", envelope({ id: "a", drained: "yes" }), "invalid-body"],
    [
      "a label key that is not a name",
      envelope({ id: "a", labels: { "bad key": "x" } }, "member.update"),
      "invalid-body",
    ],
    ["an oversized command", new Uint8Array(COMMAND_MAX_BYTES + 1).fill(0x20), "too-large"],
    ["an empty-looking entry", text("null"), "malformed"],
  ];

  it.each(cases)("rejects %s deterministically and changes nothing else", (_name, bytes, code) => {
    const h = new Harness();
    h.command(clusterCommands.initCluster(UUID, "rack-1"));
    const before = canonicalSections(h.state);
    const outcome = h.raw(bytes);
    expect(outcome).toMatchObject({ ok: false, code, index: h.index });
    expect(canonicalSections(h.state)).toEqual(before);
    expect(h.state.rejectedCommands()).toMatchObject({ count: 1, recent: [{ index: h.index, code }] });
    expect(h.state.appliedIndex).toBe(h.index);
  });

  it("keeps a bounded list of rejections and the total count", () => {
    const h = new Harness();
    for (let i = 0; i < REJECTED_COMMANDS_KEPT + 5; i++) h.raw(text("garbage"));
    const rejected = h.state.rejectedCommands();
    expect(rejected.count).toBe(REJECTED_COMMANDS_KEPT + 5);
    expect(rejected.recent).toHaveLength(REJECTED_COMMANDS_KEPT);
    expect(rejected.recent[0]?.index).toBe(2 + 5);
  });

  it("refuses to encode what apply would reject", () => {
    const state = new ClusterState();
    expect(() => state.encode({ type: "member.explode", body: {} }, T0)).toThrow(ClusterCommandInvalidError);
    expect(() => state.encode(clusterCommands.drainMember("not an id!", true), T0)).toThrow(/member.drain/);
    expect(() => state.encode({ type: "member.drain", body: { id: "a", drained: true, x: 1 } }, T0)).toThrow(
      ClusterCommandInvalidError,
    );
    expect(() => state.encode(clusterCommands.drainMember("a", true), -1)).toThrow(ClusterCommandInvalidError);
    const labels = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, "x".repeat(256)]));
    const addresses = Array.from({ length: 8 }, () => "y".repeat(256));
    expect(state.encode(clusterCommands.updateMember("a", { labels, addresses }), T0).length).toBeLessThan(
      COMMAND_MAX_BYTES,
    );
  });
});

describe("determinism and snapshots", () => {
  const commandArbitrary = fc.oneof(
    fc.record({ kind: fc.constant("drain" as const), id: fc.constantFrom("a", "b", "c", "d"), drained: fc.boolean() }),
    fc.record({
      kind: fc.constant("health" as const),
      id: fc.constantFrom("a", "b", "c"),
      status: fc.constantFrom("ok" as const, "warning" as const, "critical" as const),
      cpu: fc.integer({ min: 0, max: 100 }),
    }),
    fc.record({
      kind: fc.constant("leader" as const),
      term: fc.integer({ min: 1, max: 40 }),
      id: fc.constantFrom("a", "b", "x"),
    }),
    fc.record({ kind: fc.constant("learner" as const), id: fc.constantFrom("d", "e") }),
    fc.record({ kind: fc.constant("promote" as const), id: fc.constantFrom("d", "e") }),
    fc.record({ kind: fc.constant("remove" as const), id: fc.constantFrom("a", "d", "e") }),
    fc.record({ kind: fc.constant("garbage" as const), bytes: fc.uint8Array({ maxLength: 40 }) }),
    fc.record({ kind: fc.constant("noop" as const) }),
  );
  type Step = typeof commandArbitrary extends fc.Arbitrary<infer T> ? T : never;

  function run(h: Harness, step: Step, atMs: number): void {
    switch (step.kind) {
      case "drain":
        return void h.command(clusterCommands.drainMember(step.id, step.drained), atMs);
      case "health":
        return void h.command(
          clusterCommands.reportHealth(step.id, { status: step.status, bmcReachable: true, cpuPercent: step.cpu }),
          atMs,
        );
      case "leader":
        return void h.command(clusterCommands.recordLeadership(step.term, step.id, "election"), atMs);
      case "learner":
        return void h.state.applyConfChange(++h.index, { type: ConfChangeType.AddLearner, nodeId: step.id });
      case "promote":
        return void h.state.applyConfChange(++h.index, { type: ConfChangeType.AddVoter, nodeId: step.id });
      case "remove":
        return void h.state.applyConfChange(++h.index, { type: ConfChangeType.RemoveNode, nodeId: step.id });
      case "garbage":
        return void h.raw(step.bytes);
      case "noop":
        h.state.applyEmpty(++h.index);
        return;
    }
  }

  it("gives the same state and the same snapshot bytes for the same log, and survives a snapshot anywhere", () => {
    fc.assert(
      fc.property(fc.array(commandArbitrary, { maxLength: 60 }), fc.nat(60), (steps, cut) => {
        const first = new Harness();
        const second = new Harness();
        for (const [i, step] of steps.entries()) {
          run(first, step, T0 + i * 7);
          run(second, step, T0 + i * 7);
        }
        expect(Buffer.from(first.state.snapshot()).equals(Buffer.from(second.state.snapshot()))).toBe(true);

        // Snapshot part-way, restore into a new state, continue: the same end state.
        const split = Math.min(cut, steps.length);
        const a = new Harness();
        for (const [i, step] of steps.slice(0, split).entries()) run(a, step, T0 + i * 7);
        const restored = new ClusterState();
        restored.restore(a.state.snapshot(), { index: a.index, confState: confStateOf(a.state) });
        const b = Object.assign(Object.create(Harness.prototype) as Harness, { state: restored, index: a.index });
        for (const [i, step] of steps.slice(split).entries()) run(b, step, T0 + (split + i) * 7);
        expect(Buffer.from(b.state.snapshot()).equals(Buffer.from(first.state.snapshot()))).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it("round-trips a snapshot exactly", () => {
    const h = new Harness();
    h.command(clusterCommands.initCluster(UUID, "rack-1"));
    h.command(clusterCommands.updateMember("a", { labels: { z: "1", a: "2" }, addresses: ["/ip4/1.2.3.4/tcp/1"] }));
    h.command(clusterCommands.recordLeadership(2, "a", "bootstrap"));
    h.raw(text("junk"));
    const bytes = h.state.snapshot();
    const copy = new ClusterState();
    copy.restore(bytes, { index: h.index, confState: bootstrapMetadata.confState });
    expect(copy.snapshot()).toEqual(bytes);
    expect(copy.identity).toEqual(h.state.identity);
    expect(copy.members()).toEqual(h.state.members());
    expect(copy.leadershipHistory()).toEqual(h.state.leadershipHistory());
    expect(copy.rejectedCommands()).toEqual(h.state.rejectedCommands());
    expect(copy.appliedIndex).toBe(h.index);
    expect(copy.clusterTimeMs).toBe(h.state.clusterTimeMs);
  });

  it("refuses damaged, mismatched or newer snapshots and stays as it was", () => {
    const h = new Harness();
    h.command(clusterCommands.initCluster(UUID, "rack-1"));
    const good = h.state.snapshot();
    const goodText = new TextDecoder().decode(good);
    const meta = { index: h.index, confState: bootstrapMetadata.confState };
    const target = new Harness();
    const before = target.state.snapshot();
    const bad: [Uint8Array, typeof meta, RegExp][] = [
      [good.slice(0, good.length - 3), meta, /not JSON/],
      [good, { ...meta, index: meta.index + 1 }, /taken at index/],
      [
        text(
          goodText
            .replace('"version":1,"appliedIndex"', '"version":1,"appliedIndex"')
            .replace(/"format":"[^"]+"/, '"format":"other"'),
        ),
        meta,
        /format/,
      ],
      [text(goodText.replace(/"version":1}$/, '"version":2}')), meta, /newer/],
      [
        text(goodText.replace('"sections":{', '"sections":{"journal":{"data":[],"version":1},')),
        meta,
        /unknown section journal/,
      ],
      [text(goodText.replace('"priority":50', '"priority":500')), meta, /priority/],
      [good, { ...meta, confState: { voters: ["a", "b"], learners: [] } }, /differ from the Raft configuration/],
    ];
    for (const [bytes, metadata, message] of bad) {
      expect(() => target.state.restore(bytes, metadata)).toThrow(StateSnapshotError);
      expect(() => target.state.restore(bytes, metadata)).toThrow(message);
      expect(target.state.snapshot()).toEqual(before);
    }
  });
});

describe("extensions", () => {
  interface Notes {
    readonly byId: Map<string, string>;
  }
  const notes: StateSection<Notes> = {
    name: "notes",
    version: 1,
    initial: () => ({ byId: new Map() }),
    toSnapshot: (state) => [...state.byId.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
    fromSnapshot: (data) => ({ byId: new Map(data as [string, string][]) }),
  };
  const addNote = defineCommand({
    type: "note.add",
    version: 1,
    section: notes,
    body: Type.Object(
      { id: Type.String({ maxLength: 16 }), text: Type.String({ maxLength: 64 }) },
      { additionalProperties: false },
    ),
    apply(state, body, context) {
      if (state.byId.has(body.id)) throw new CommandRejection("duplicate", `note ${body.id} exists`);
      if (context.cluster.member("a")?.drained) throw new CommandRejection("drained", "a is drained");
      state.byId.set(body.id, body.text);
      return { id: body.id, at: context.atMs };
    },
  });
  const options = { extensions: { sections: [notes as StateSection<unknown>], commands: [addNote] } };

  it("adds a section and its commands, snapshotted with the rest", () => {
    const h = new Harness(new ClusterState(options));
    expect(h.command({ type: "note.add", body: { id: "n1", text: "hello" } }, T0)).toMatchObject({
      ok: true,
      value: { id: "n1", at: T0 },
    });
    expect(h.command({ type: "note.add", body: { id: "n1", text: "again" } })).toMatchObject({
      ok: false,
      code: "duplicate",
    });
    expect(h.state.section(notes).byId.get("n1")).toBe("hello");

    const restored = new ClusterState(options);
    restored.restore(h.state.snapshot(), { index: h.index, confState: bootstrapMetadata.confState });
    expect(restored.section(notes).byId.get("n1")).toBe("hello");
    // An agent without the extension refuses rather than silently drop the journal.
    expect(() =>
      new ClusterState().restore(h.state.snapshot(), { index: h.index, confState: bootstrapMetadata.confState }),
    ).toThrow(/unknown section notes/);
    // A snapshot from before the extension existed starts it empty.
    const old = new Harness();
    old.command(clusterCommands.drainMember("b", true));
    const upgraded = new ClusterState(options);
    upgraded.restore(old.state.snapshot(), { index: old.index, confState: bootstrapMetadata.confState });
    expect(upgraded.section(notes).byId.size).toBe(0);
  });

  it("refuses a registry with clashing names", () => {
    expect(
      () => new ClusterState({ extensions: { sections: [{ ...notes, name: "core" } as StateSection<unknown>] } }),
    ).toThrow(/twice/);
    expect(() => new ClusterState({ extensions: { sections: [], commands: [addNote] } })).toThrow(/not registered/);
  });
});

function canonicalSections(state: ClusterState): string {
  return canonicalJson({ members: state.members(), identity: state.identity, history: state.leadershipHistory() });
}

function confStateOf(state: ClusterState) {
  const members = state.members();
  return {
    voters: members.filter((m) => m.role !== "learner").map((m) => m.id),
    learners: members.filter((m) => m.role === "learner").map((m) => m.id),
  };
}
