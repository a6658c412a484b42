// allWithin: a merged answer's one bound on waiting for its members' reads.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { allWithin } from "../src/all-within.ts";

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function later<T>(value: T, ms: number): Promise<T> {
  return new Promise((resolve) => setTimeout(() => resolve(value), ms));
}

describe("allWithin", () => {
  it("takes every value that settles in time, in order, and starts no timer when all are values already", async () => {
    const mixed = allWithin([1, Promise.resolve(2), later(3, 50)], 100, () => -1);
    await vi.advanceTimersByTimeAsync(50);
    await expect(mixed).resolves.toEqual([1, 2, 3]);
    vi.clearAllTimers();
    const plain = allWithin(["a", "b"], 100, () => "late");
    expect(vi.getTimerCount()).toBe(0);
    await expect(plain).resolves.toEqual(["a", "b"]);
  });

  it("answers at the bound with a stand-in for each value still pending, and clears its timer when all arrive first", async () => {
    const answer = allWithin([later("fast", 10), later("slow", 500), later("slower", 900)], 100, (i) => `late ${i}`);
    await vi.advanceTimersByTimeAsync(100);
    await expect(answer).resolves.toEqual(["fast", "late 1", "late 2"]);

    vi.clearAllTimers();
    const quick = allWithin([later("x", 10)], 100, () => "late");
    expect(vi.getTimerCount()).toBe(2);
    await vi.advanceTimersByTimeAsync(10);
    await expect(quick).resolves.toEqual(["x"]);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("lets a late value go on: it still settles, and nothing waits for it", async () => {
    let settled = false;
    const slow = later("slow", 500).then((value) => {
      settled = true;
      return value;
    });
    const answer = allWithin([slow], 100, () => "late");
    await vi.advanceTimersByTimeAsync(100);
    await expect(answer).resolves.toEqual(["late"]);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(400);
    expect(settled).toBe(true);
  });

  it("rejects with a rejection that comes in time, and ignores one that comes late", async () => {
    const failing = allWithin([Promise.reject(new Error("boom")), later(1, 500)], 100, () => 0);
    await expect(failing).rejects.toThrow("boom");

    const lateFailure = new Promise<number>((_, reject) => setTimeout(() => reject(new Error("late boom")), 500));
    const answer = allWithin([lateFailure, Promise.resolve(2)], 100, () => 0);
    await vi.advanceTimersByTimeAsync(100);
    await expect(answer).resolves.toEqual([0, 2]);
    // Handled inside allWithin: advancing past it raises no unhandled rejection.
    await vi.advanceTimersByTimeAsync(400);
  });
});
