// Proves the ReadIndex queue: reads are confirmed by a quorum of acknowledgements of their round or a later one.
import { describe, expect, it } from "vitest";
import { ReadOnlyQueue } from "../../src/read-only.ts";

const voters = new Set(["1", "2", "3"]);
const majority = (acks: ReadonlySet<string>): boolean => [...acks].filter((id) => voters.has(id)).length >= 2;

describe("ReadOnlyQueue", () => {
  it("numbers rounds and counts the leader's own acknowledgement", () => {
    const queue = new ReadOnlyQueue();
    expect(queue.add("a", 5, "1")).toBe(1);
    expect(queue.add("b", 6, "1")).toBe(2);
    expect(queue.size).toBe(2);
    expect(queue.takeConfirmed(majority)).toEqual([]);
  });

  it("releases a read once a quorum acknowledged its round, with the commit index it recorded", () => {
    const queue = new ReadOnlyQueue();
    queue.add("a", 5, "1");
    queue.acknowledge("2", 1);
    expect(queue.takeConfirmed(majority)).toEqual([{ requestId: "a", index: 5 }]);
    expect(queue.size).toBe(0);
  });

  it("an acknowledgement of a later round confirms earlier reads too, oldest first", () => {
    const queue = new ReadOnlyQueue();
    queue.add("a", 5, "1");
    queue.add("b", 6, "1");
    queue.add("c", 7, "1");
    queue.acknowledge("3", 2);
    expect(queue.takeConfirmed(majority)).toEqual([
      { requestId: "a", index: 5 },
      { requestId: "b", index: 6 },
    ]);
    expect(queue.size).toBe(1);
  });

  it("an acknowledgement of an earlier round does not confirm a later read", () => {
    const queue = new ReadOnlyQueue();
    queue.add("a", 5, "1");
    queue.add("b", 6, "1");
    queue.acknowledge("2", 1);
    expect(queue.takeConfirmed(majority)).toEqual([{ requestId: "a", index: 5 }]);
    expect(queue.takeConfirmed(majority)).toEqual([]);
  });

  it("acknowledgements from non-voters do not count", () => {
    const queue = new ReadOnlyQueue();
    queue.add("a", 5, "1");
    queue.acknowledge("learner", 1);
    expect(queue.takeConfirmed(majority)).toEqual([]);
  });

  it("clear drops every pending read", () => {
    const queue = new ReadOnlyQueue();
    queue.add("a", 5, "1");
    queue.clear();
    expect(queue.size).toBe(0);
    queue.acknowledge("2", 1);
    expect(queue.takeConfirmed(majority)).toEqual([]);
  });
});
