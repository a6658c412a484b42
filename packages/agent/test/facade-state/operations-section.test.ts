// Proves the operations section carries the facade's OperationState through the cluster state: every change type is a registered command, changes apply as the facade's own state applies them, a refusal is a rejection with the rule's code (and the same message as the facade's), and the section round-trips through a ClusterState snapshot byte for byte.
import {
  OPERATION_CHANGE_TYPES,
  type OperationChange,
  OperationRuleViolation,
  OperationState,
} from "@conclave/redfish-facade";
import { describe, expect, it } from "vitest";
import { ClusterState } from "../../src/cluster-state/cluster-state.ts";
import {
  facadeStateExtensions,
  OPERATION_COMMANDS,
  operationCommandInput,
  operationsSection,
} from "../../src/facade-state/index.ts";

const T0 = 1_700_000_000_000;
const bootstrapMetadata = { index: 1, confState: { voters: ["a", "b", "c"], learners: [] } };

/** A cluster state at the bootstrap snapshot, fed changes one by one from index 2. */
function harness() {
  const state = new ClusterState({ extensions: facadeStateExtensions });
  state.restore(new Uint8Array(0), bootstrapMetadata);
  let index = 1;
  return {
    state,
    change(change: OperationChange) {
      return state.apply(++index, state.encode(operationCommandInput(change), T0 + index));
    },
  };
}

const accept = (id: string, atMs = T0, idempotencyKey: string | null = null): OperationChange => ({
  type: "operation.accept",
  body: {
    id,
    memberId: "b",
    action: {
      kind: "http",
      request: {
        method: "POST",
        path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
        headers: { "content-type": "application/json" },
        body: '{"ResetType":"ForceRestart"}',
      },
    },
    facadePath: "/redfish/v1/Systems/bmc2_system/Actions/ComputerSystem.Reset",
    term: 3,
    taskId: null,
    idempotencyKey,
    atMs,
  },
});

const finish = (id: string, atMs = T0 + 10): OperationChange => ({
  type: "operation.finish",
  body: {
    id,
    outcome: {
      kind: "completed",
      result: { statusCode: 204, headers: {}, text: "", truncated: false },
    },
    atMs,
  },
});

describe("the operations section", () => {
  it("registers one version-1 command per change type", () => {
    expect(OPERATION_COMMANDS.map((command) => command.type)).toEqual([...OPERATION_CHANGE_TYPES]);
    expect(OPERATION_COMMANDS.every((command) => command.version === 1 && command.section === operationsSection)).toBe(
      true,
    );
  });

  it("applies changes as the facade's OperationState does", () => {
    const h = harness();
    const accepted = h.change(accept("op-00000000000000a1", T0, "key-1"));
    expect(accepted).toMatchObject({ ok: true, value: { id: "op-00000000000000a1", phase: "accepted" } });
    expect(h.change(finish("op-00000000000000a1"))).toMatchObject({ ok: true, value: { phase: "completed" } });
    const view = h.state.section(operationsSection);
    expect(view.operation("op-00000000000000a1")).toMatchObject({ memberId: "b", phase: "completed", acceptedTerm: 3 });
    expect(view.operationByIdempotencyKey("key-1")?.id).toBe("op-00000000000000a1");

    // The same changes on the facade's own state give the same records.
    const own = new OperationState();
    own.apply(accept("op-00000000000000a1", T0, "key-1"));
    own.apply(finish("op-00000000000000a1"));
    expect(view.operations()).toEqual(own.operations());
  });

  it("refuses what the rules refuse, with the rule's code and message, changing nothing", () => {
    const h = harness();
    h.change(accept("op-00000000000000b1"));
    const before = h.state.snapshot();
    const duplicate = h.change(accept("op-00000000000000b1"));
    const unknown = h.change(finish("op-00000000000000ff"));

    const own = new OperationState();
    own.apply(accept("op-00000000000000b1"));
    const refusal = (change: OperationChange): OperationRuleViolation => {
      try {
        own.apply(change);
      } catch (error) {
        if (error instanceof OperationRuleViolation) return error;
        throw error;
      }
      throw new Error("applied");
    };
    const ownDuplicate = refusal(accept("op-00000000000000b1"));
    const ownUnknown = refusal(finish("op-00000000000000ff"));
    expect(duplicate).toMatchObject({ ok: false, code: ownDuplicate.code, message: ownDuplicate.message });
    expect(unknown).toMatchObject({ ok: false, code: ownUnknown.code, message: ownUnknown.message });
    expect(ownDuplicate.code).toBe("duplicate-id");
    expect(ownUnknown.code).toBe("unknown-operation");
    expect(h.state.rejectedCommands().count).toBe(2);
    // Only the rejection record differs: the section itself is as before.
    const after = new ClusterState({ extensions: facadeStateExtensions });
    after.restore(h.state.snapshot(), { index: 4, confState: bootstrapMetadata.confState });
    const earlier = new ClusterState({ extensions: facadeStateExtensions });
    earlier.restore(before, { index: 2, confState: bootstrapMetadata.confState });
    expect(after.section(operationsSection).toSnapshot()).toEqual(earlier.section(operationsSection).toSnapshot());
  });

  it("round-trips through a ClusterState snapshot byte for byte", () => {
    const h = harness();
    const changes = [
      accept("op-00000000000000c1"),
      finish("op-00000000000000c1"),
      accept("op-00000000000000c2", T0 + 20),
    ];
    for (const change of changes) expect(h.change(change)).toMatchObject({ ok: true });
    h.change({
      type: "aggregate.create",
      body: { id: "rack1", name: "Rack 1", elements: ["/redfish/v1/Systems/bmc2_system"], atMs: T0 + 30 },
    });
    const snapshot = h.state.snapshot();
    const restored = new ClusterState({ extensions: facadeStateExtensions });
    restored.restore(snapshot, { index: 5, confState: bootstrapMetadata.confState });
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(snapshot))).toBe(true);
    const view = restored.section(operationsSection);
    expect(view.operation("op-00000000000000c2")?.phase).toBe("accepted");
    expect(view.aggregate("rack1")?.elements).toEqual(["/redfish/v1/Systems/bmc2_system"]);
  });

  it("refuses an unknown snapshot version", () => {
    expect(() => operationsSection.fromSnapshot(new OperationState().toSnapshot(), 2)).toThrow(
      /unknown operations section version 2/,
    );
  });
});
