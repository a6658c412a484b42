// OperationState: the rules every node applies to the journal, tasks and aggregates, its bounds,
// and its snapshots (random change sequences: a restored snapshot is the same state).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  AGGREGATE_ELEMENTS_MAX,
  AGGREGATES_MAX,
  OPERATION_CHANGE_BODIES,
  OPERATION_CHANGE_TYPES,
  OPERATION_KEEP_MS,
  OPERATIONS_FINISHED_KEPT,
  OPERATIONS_UNFINISHED_MAX,
  type OperationChange,
  OperationRuleViolation,
  OperationState,
  TASK_MESSAGES_MAX,
  TASKS_MAX,
} from "../../src/index.ts";

const T0 = 1_700_000_000_000;

function opId(n: number): string {
  return `op-${n.toString(16).padStart(16, "0")}`;
}

function accept(n: number, atMs = T0, extra: Record<string, unknown> = {}): OperationChange {
  return {
    type: "operation.accept",
    body: {
      id: opId(n),
      memberId: "peer-bmc1",
      action: {
        kind: "http",
        request: { method: "POST", path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset", headers: {} },
      },
      facadePath: "/redfish/v1/Systems/bmc1_system/Actions/ComputerSystem.Reset",
      term: 3,
      taskId: null,
      idempotencyKey: null,
      atMs,
      ...extra,
    },
  };
}

function finish(n: number, atMs = T0): OperationChange {
  return {
    type: "operation.finish",
    body: {
      id: opId(n),
      outcome: { kind: "completed", result: { statusCode: 204, headers: {}, text: "", truncated: false } },
      atMs,
    },
  };
}

function createTask(number: number, atMs = T0, subtaskCount = 2): OperationChange {
  const id = `t${number}`;
  const subtasks = Array.from({ length: subtaskCount }, (_, i) => ({
    id: `${id}-${i + 1}`,
    memberId: `peer-bmc${i + 1}`,
    targetUri: `/redfish/v1/Systems/bmc${i + 1}_system`,
    action: {
      kind: "http",
      request: { method: "POST", path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset", headers: {} },
    },
    operationId: opId(number * 1_000 + i),
  }));
  return {
    type: "task.create",
    body: {
      id,
      kind: "aggregate-reset",
      name: "Aggregate reset",
      payload: {
        targetUri: "/redfish/v1/AggregationService/Actions/AggregationService.Reset",
        httpOperation: "POST",
        jsonBody: "{}",
      },
      stopOnFailure: false,
      subtasks,
      stages: subtasks.map((s, i) => ({
        subtaskIds: [s.id],
        delayBeforeMs: i * 1_000,
        label: `batch ${i + 1}`,
        handOverFrom: null,
      })),
      atMs,
    },
  };
}

function endTask(number: number, atMs = T0): OperationChange {
  return { type: "task.advance", body: { id: `t${number}`, subtasks: [], messages: [], finish: "Completed", atMs } };
}

function refusal(state: OperationState, change: OperationChange): string {
  try {
    state.apply(change);
  } catch (error) {
    if (error instanceof OperationRuleViolation) return error.code;
    throw error;
  }
  return "applied";
}

describe("OperationState rules", () => {
  it("has a closed body schema for every change type, each with atMs", () => {
    expect(Object.keys(OPERATION_CHANGE_BODIES).sort()).toEqual([...OPERATION_CHANGE_TYPES].sort());
    for (const type of OPERATION_CHANGE_TYPES) {
      const schema = OPERATION_CHANGE_BODIES[type] as unknown as { additionalProperties: boolean; required: string[] };
      expect(schema.additionalProperties, type).toBe(false);
      expect(schema.required, type).toContain("atMs");
    }
    const state = new OperationState();
    const change = accept(1);
    expect(refusal(state, { ...change, body: { ...(change.body as object), extra: 1 } })).toBe("invalid-change");
    expect(refusal(state, { type: "operation.nope" as never, body: {} })).toBe("invalid-change");
  });

  it("accepts, finishes once, keys idempotency, and refuses what the rules forbid", () => {
    const state = new OperationState();
    state.apply(accept(1, T0, { idempotencyKey: "key-1" }));
    expect(state.operation(opId(1))?.phase).toBe("accepted");
    expect(state.operationByIdempotencyKey("key-1")?.id).toBe(opId(1));
    expect(refusal(state, accept(1))).toBe("duplicate-id");
    expect(refusal(state, accept(2, T0, { idempotencyKey: "key-1" }))).toBe("duplicate-id");
    expect(refusal(state, accept(3, T0, { taskId: "t9" }))).toBe("unknown-task");
    expect(refusal(state, finish(7))).toBe("unknown-operation");
    state.apply(finish(1, T0 + 5));
    expect(state.operation(opId(1))).toMatchObject({ phase: "completed", finishedAtMs: T0 + 5 });
    expect(refusal(state, finish(1))).toBe("already-finished");
    // Records are frozen: nobody changes the state except through apply.
    expect(Object.isFrozen(state.operation(opId(1)))).toBe(true);
  });

  it("refuses an operation beyond OPERATIONS_UNFINISHED_MAX and keeps OPERATIONS_FINISHED_KEPT finished", () => {
    const state = new OperationState();
    for (let n = 0; n < OPERATIONS_UNFINISHED_MAX; n++) state.apply(accept(n));
    expect(refusal(state, accept(OPERATIONS_UNFINISHED_MAX))).toBe("journal-full");
    for (let n = 0; n < OPERATIONS_UNFINISHED_MAX; n++) state.apply(finish(n, T0 + n));
    for (let n = OPERATIONS_UNFINISHED_MAX; n < OPERATIONS_FINISHED_KEPT + 300; n++) {
      state.apply(accept(n, T0 + n));
      state.apply(finish(n, T0 + n));
    }
    const ops = state.operations();
    expect(ops.length).toBe(OPERATIONS_FINISHED_KEPT);
    // The oldest went first.
    expect(ops[0]?.id).toBe(opId(300));
  });

  it("drops finished operations and their Idempotency-Key after OPERATION_KEEP_MS, never unfinished ones", () => {
    const state = new OperationState();
    state.apply(accept(1, T0, { idempotencyKey: "k" }));
    state.apply(finish(1, T0));
    state.apply(accept(2, T0));
    state.apply(accept(3, T0 + OPERATION_KEEP_MS + 1));
    expect(state.operation(opId(1))).toBeUndefined();
    expect(state.operationByIdempotencyKey("k")).toBeUndefined();
    expect(state.operation(opId(2))?.phase).toBe("accepted");
  });

  it("creates a task at its first stage, advances it, and refuses changes once it finished", () => {
    const state = new OperationState();
    const task = state.apply(createTask(1)) as { state: string; currentStage: number; stageNotBeforeMs: number };
    expect(task).toMatchObject({ state: "Running", currentStage: 0, stageNotBeforeMs: T0, percentComplete: 0 });
    state.apply({
      type: "task.advance",
      body: {
        id: "t1",
        subtasks: [{ id: "t1-1", state: "Completed", memberTaskMonitor: null, message: null }],
        stage: { current: 1, notBeforeMs: T0 + 1_000 },
        messages: [],
        atMs: T0 + 10,
      },
    });
    expect(state.task("t1")).toMatchObject({ percentComplete: 50, currentStage: 1, stageNotBeforeMs: T0 + 1_000 });
    const back = { id: "t1", subtasks: [], stage: { current: 0, notBeforeMs: null }, messages: [], atMs: T0 };
    expect(refusal(state, { type: "task.advance", body: back })).toBe("invalid-change");
    const undo = {
      id: "t1",
      subtasks: [{ id: "t1-1", state: "Running", memberTaskMonitor: null, message: null }],
      messages: [],
      atMs: T0,
    };
    expect(refusal(state, { type: "task.advance", body: undo })).toBe("invalid-change");
    const foreign = {
      id: "t1",
      subtasks: [{ id: "t2-1", state: "Running", memberTaskMonitor: null, message: null }],
      messages: [],
      atMs: T0,
    };
    expect(refusal(state, { type: "task.advance", body: foreign })).toBe("invalid-change");
    state.apply(endTask(1, T0 + 20));
    expect(state.task("t1")).toMatchObject({ state: "Completed", endTimeMs: T0 + 20 });
    expect(refusal(state, endTask(1))).toBe("task-finished");
    expect(refusal(state, { type: "task.advance", body: { ...back, id: "t7" } })).toBe("unknown-task");
  });

  it("refuses a plan whose stages do not hold each subtask exactly once", () => {
    const state = new OperationState();
    const change = createTask(1) as { type: "task.create"; body: { stages: { subtaskIds: string[] }[] } };
    const twice = structuredClone(change);
    (twice.body.stages[1] as { subtaskIds: string[] }).subtaskIds = ["t1-1"];
    expect(refusal(state, twice)).toBe("invalid-change");
    const missing = structuredClone(change);
    missing.body.stages = missing.body.stages.slice(0, 1);
    expect(refusal(state, missing)).toBe("invalid-change");
  });

  it("keeps TASKS_MAX tasks: the oldest finished makes room, all running refuses", () => {
    const state = new OperationState();
    for (let n = 1; n <= TASKS_MAX; n++) state.apply(createTask(n));
    expect(refusal(state, createTask(TASKS_MAX + 1))).toBe("tasks-full");
    state.apply(endTask(3));
    state.apply(endTask(2));
    state.apply(createTask(TASKS_MAX + 1));
    expect(state.task("t2")).toBeUndefined();
    expect(state.task("t3")?.state).toBe("Completed");
    expect(state.tasks().length).toBe(TASKS_MAX);
  });

  it("keeps TASK_MESSAGES_MAX messages, oldest dropped", () => {
    const state = new OperationState();
    state.apply(createTask(1));
    for (let n = 0; n < TASK_MESSAGES_MAX + 5; n++) {
      state.apply({
        type: "task.advance",
        body: {
          id: "t1",
          subtasks: [],
          messages: [{ messageId: "TaskEvent.1.0.TaskProgressChanged", message: `m${n}`, severity: "OK", args: [] }],
          atMs: T0,
        },
      });
    }
    const messages = state.task("t1")?.messages ?? [];
    expect(messages.length).toBe(TASK_MESSAGES_MAX);
    expect(messages[0]?.message).toBe("m5");
  });

  it("holds aggregates within AGGREGATES_MAX and AGGREGATE_ELEMENTS_MAX", () => {
    const state = new OperationState();
    const create = (id: string, elements: string[] = []): OperationChange => ({
      type: "aggregate.create",
      body: { id, name: id, elements, atMs: T0 },
    });
    expect(refusal(state, create("all-members"))).toBe("duplicate-aggregate");
    for (let n = 0; n < AGGREGATES_MAX; n++) state.apply(create(`a${n}`));
    expect(refusal(state, create("a0"))).toBe("duplicate-aggregate");
    expect(refusal(state, create("z"))).toBe("aggregates-full");
    const many = Array.from({ length: AGGREGATE_ELEMENTS_MAX + 1 }, (_, i) => `/redfish/v1/Systems/bmc1_s${i}`);
    expect(refusal(state, { type: "aggregate.elements", body: { id: "a1", elements: many, atMs: T0 } })).toBe(
      "too-many-elements",
    );
    state.apply({ type: "aggregate.elements", body: { id: "a1", elements: many.slice(0, 2), atMs: T0 } });
    expect(state.aggregate("a1")?.elements).toEqual(many.slice(0, 2));
    state.apply({ type: "aggregate.delete", body: { id: "a1", atMs: T0 } });
    expect(refusal(state, { type: "aggregate.delete", body: { id: "a1", atMs: T0 } })).toBe("unknown-aggregate");
    expect(refusal(state, { type: "aggregate.elements", body: { id: "a1", elements: [], atMs: T0 } })).toBe(
      "unknown-aggregate",
    );
  });

  it("restores strictly: a bad snapshot names its problem", () => {
    const state = new OperationState();
    state.apply(accept(1));
    const snapshot = state.toSnapshot();
    expect(() => OperationState.fromSnapshot({ ...snapshot, extra: 1 })).toThrow(TypeError);
    const twice = { ...snapshot, operations: [...snapshot.operations, ...snapshot.operations] };
    expect(() => OperationState.fromSnapshot(twice)).toThrow(/appears twice/);
    const wrongPhase = { ...snapshot, operations: [{ ...snapshot.operations[0], finishedAtMs: T0 }] };
    expect(() => OperationState.fromSnapshot(wrongPhase)).toThrow(/accepted with finishedAtMs/);
  });
});

// ---------------------------------------------------------------- random sequences

const changeArbitrary: fc.Arbitrary<OperationChange> = fc.oneof(
  fc
    .record({ n: fc.nat(40), dt: fc.nat(OPERATION_KEEP_MS / 4), key: fc.option(fc.constantFrom("a", "b", "c")) })
    .map(({ n, dt, key }) => accept(n, T0 + dt, { idempotencyKey: key })),
  fc.record({ n: fc.nat(40), dt: fc.nat(OPERATION_KEEP_MS * 2) }).map(({ n, dt }) => finish(n, T0 + dt)),
  fc
    .record({ n: fc.integer({ min: 1, max: 80 }), dt: fc.nat(OPERATION_KEEP_MS * 2) })
    .map(({ n, dt }) => createTask(n, T0 + dt)),
  fc
    .record({ n: fc.integer({ min: 1, max: 80 }), dt: fc.nat(OPERATION_KEEP_MS * 2) })
    .map(({ n, dt }) => endTask(n, T0 + dt)),
  fc.record({ n: fc.integer({ min: 1, max: 80 }), done: fc.boolean() }).map(({ n, done }) => ({
    type: "task.advance" as const,
    body: {
      id: `t${n}`,
      subtasks: [{ id: `t${n}-1`, state: done ? "Completed" : "Running", memberTaskMonitor: null, message: null }],
      stage: { current: 1, notBeforeMs: null },
      messages: [],
      atMs: T0,
    },
  })),
  fc.record({ n: fc.nat(40), size: fc.nat(3) }).map(({ n, size }) => ({
    type: "aggregate.create" as const,
    body: {
      id: `agg${n}`,
      name: "x",
      elements: Array.from({ length: size }, (_, i) => `/redfish/v1/Systems/bmc1_s${i}`),
      atMs: T0,
    },
  })),
  fc.nat(40).map((n) => ({ type: "aggregate.delete" as const, body: { id: `agg${n}`, atMs: T0 } })),
);

describe("OperationState under random change sequences", () => {
  it("a snapshot restores to the same state, and the bounds hold after every change", () => {
    fc.assert(
      fc.property(fc.array(changeArbitrary, { maxLength: 120 }), (changes) => {
        const state = new OperationState();
        const replica = new OperationState();
        for (const change of changes) {
          let outcome: string;
          try {
            state.apply(change);
            outcome = "applied";
          } catch (error) {
            if (!(error instanceof OperationRuleViolation)) throw error;
            outcome = error.code;
          }
          // Deterministic: another node applying the same change gets the same outcome.
          expect(refusal(replica, change)).toBe(outcome);
          const ops = state.operations();
          expect(ops.filter((op) => op.phase === "accepted").length).toBeLessThanOrEqual(OPERATIONS_UNFINISHED_MAX);
          expect(ops.filter((op) => op.phase !== "accepted").length).toBeLessThanOrEqual(OPERATIONS_FINISHED_KEPT);
          expect(state.tasks().length).toBeLessThanOrEqual(TASKS_MAX);
          expect(state.aggregates().length).toBeLessThanOrEqual(AGGREGATES_MAX);
        }
        const snapshot = state.toSnapshot();
        expect(JSON.parse(JSON.stringify(snapshot))).toEqual(snapshot);
        const restored = OperationState.fromSnapshot(JSON.parse(JSON.stringify(snapshot)));
        // The same text, not only equal values: nodes compare and hash snapshots.
        expect(JSON.stringify(restored.toSnapshot())).toBe(JSON.stringify(snapshot));
        expect(JSON.stringify(replica.toSnapshot())).toBe(JSON.stringify(snapshot));
      }),
      { numRuns: 150 },
    );
  });
});
