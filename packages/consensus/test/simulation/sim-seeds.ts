// Which seeds a test run covers: SIM_SEED=<n> replays exactly one seed (its shape follows
// from the seed), SIM_SEEDS=<count> runs seeds 1..count spread over the shapes (default
// 2000). Seeds are cut into batches so each `it` stays short and reports progress.
import { describe, expect, it } from "vitest";
import { type ClusterShape, SHAPES } from "./cluster-simulator.ts";
import { runSeed } from "./random-run.ts";

export const DEFAULT_SEED_COUNT = 2000;
/** Seeds per `it` block. */
export const SEEDS_PER_BATCH = 125;
/** A generous bound per seed (a run takes ~0.1 s; 7 voters with many faults up to ~1 s). */
const MILLISECONDS_PER_SEED_LIMIT = 4000;

function parseCount(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 0)
    throw new Error(`${name} must be a non-negative integer, got ${value}`);
  return parsed;
}

/** The seeds of this run that fall on `shape`. */
export function seedsFor(shape: ClusterShape): number[] {
  const shapeIndex = SHAPES.indexOf(shape);
  const single = process.env.SIM_SEED;
  if (single !== undefined && single !== "") {
    const seed = parseCount("SIM_SEED", single, 0);
    return seed % SHAPES.length === shapeIndex ? [seed] : [];
  }
  const count = parseCount("SIM_SEEDS", process.env.SIM_SEEDS, DEFAULT_SEED_COUNT);
  const seeds: number[] = [];
  for (let seed = 1; seed <= count; seed++) if (seed % SHAPES.length === shapeIndex) seeds.push(seed);
  return seeds;
}

/** Declares the batched random-simulation tests for one cluster shape. */
export function describeRandomRuns(shape: ClusterShape): void {
  const seeds = seedsFor(shape);
  describe(`random simulation, ${shape.name}`, () => {
    if (seeds.length === 0) {
      it.skip("no seed of this run falls on this shape", () => {});
      return;
    }
    for (let start = 0; start < seeds.length; start += SEEDS_PER_BATCH) {
      const batch = seeds.slice(start, start + SEEDS_PER_BATCH);
      const first = batch[0] as number;
      const last = batch[batch.length - 1] as number;
      it(
        `every invariant holds and the cluster recovers, seeds ${first}..${last}`,
        () => {
          let applied = 0;
          for (const seed of batch) applied += runSeed(seed, { shape }).entriesApplied;
          expect(applied).toBeGreaterThan(0);
        },
        batch.length * MILLISECONDS_PER_SEED_LIMIT,
      );
    }
  });
}
