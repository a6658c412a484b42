// Execution counters: how many times each operation really ran, overall, per target and
// per client-supplied operation id, so tests can prove an operation ran exactly once.

export const OPERATION_ID_HEADER = "x-conclave-operation-id";

export interface CountersSnapshot {
  /** e.g. { "ComputerSystem.Reset": 2, "PATCH": 1 } */
  operations: Record<string, number>;
  /** e.g. { "ComputerSystem.Reset /redfish/v1/Systems/system": 2 } */
  byTarget: Record<string, number>;
  /** e.g. { "op-42": { count: 1, operations: ["ComputerSystem.Reset /redfish/v1/Systems/system"] } } */
  byOperationId: Record<string, { count: number; operations: string[] }>;
}

export class ExecutionCounters {
  private operations = new Map<string, number>();
  private byTarget = new Map<string, number>();
  private byOperationId = new Map<string, { count: number; operations: string[] }>();
  private readonly maxOperationIds: number;

  constructor(maxOperationIds: number) {
    this.maxOperationIds = maxOperationIds;
  }

  record(operation: string, target: string, operationId: string | undefined): void {
    this.operations.set(operation, (this.operations.get(operation) ?? 0) + 1);
    const key = `${operation} ${target}`;
    this.byTarget.set(key, (this.byTarget.get(key) ?? 0) + 1);
    if (operationId === undefined || operationId === "") return;
    let entry = this.byOperationId.get(operationId);
    if (entry === undefined) {
      // Forget the oldest id first; Map iterates in insertion order.
      if (this.byOperationId.size >= this.maxOperationIds) {
        const oldest = this.byOperationId.keys().next().value;
        if (oldest !== undefined) this.byOperationId.delete(oldest);
      }
      entry = { count: 0, operations: [] };
      this.byOperationId.set(operationId, entry);
    }
    entry.count += 1;
    entry.operations.push(key);
  }

  snapshot(): CountersSnapshot {
    return {
      operations: Object.fromEntries(this.operations),
      byTarget: Object.fromEntries(this.byTarget),
      byOperationId: Object.fromEntries(
        [...this.byOperationId].map(([id, e]) => [id, { count: e.count, operations: [...e.operations] }]),
      ),
    };
  }

  reset(): void {
    this.operations = new Map();
    this.byTarget = new Map();
    this.byOperationId = new Map();
  }
}
