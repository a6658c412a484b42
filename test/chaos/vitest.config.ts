// The chaos suite runs on its own, after the unit tests (`pnpm test:chaos`): it builds a whole rack
// of agents and simulated BMCs in network namespaces, and sharing two cores with other test files
// would measure the machine, not Conclave.
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    root: `${import.meta.dirname}/../..`,
    include: ["test/chaos/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
  },
});
