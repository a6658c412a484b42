// An OperationStore held in this process: for tests and for a facade running without a cluster.
// Changes apply at once, under the same rules as the agent's replicated store (OperationState).

import { OperationState } from "./operation-state.ts";
import type { OperationStore } from "./operation-store.ts";

export function createMemoryOperationStore(state: OperationState = new OperationState()): OperationStore {
  return operationStoreOverState(state, async (change) => state.apply(change));
}

/** An OperationStore reading `view` (or what `view()` returns, for a state replaced by snapshots) and committing through `commit`. */
export function operationStoreOverState(
  view: OperationState | (() => OperationState),
  commit: OperationStore["commit"],
): OperationStore {
  const read = typeof view === "function" ? view : () => view;
  return {
    operation: (id) => read().operation(id),
    operations: () => read().operations(),
    operationByIdempotencyKey: (key) => read().operationByIdempotencyKey(key),
    task: (id) => read().task(id),
    tasks: () => read().tasks(),
    aggregate: (id) => read().aggregate(id),
    aggregates: () => read().aggregates(),
    commit,
  };
}
