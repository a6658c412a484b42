// Proves the behaviour pinned by each testdata/*.txt scenario: every command's output matches the golden text (REWRITE=1 regenerates it).
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { formatScenario, parseScenario, ScenarioRunner } from "./scenario-runner.ts";

const directory = join(import.meta.dirname, "testdata");
const files = readdirSync(directory).filter((name) => name.endsWith(".txt"));
const rewrite = process.env.REWRITE === "1";

describe("scenarios", () => {
  it("the runner parses and formats the datadriven layout losslessly", () => {
    const text = "# a comment\ncmd 1\n----\nout\n\nquiet\n----\n";
    const blocks = parseScenario(text);
    expect(blocks.map((b) => [b.command, b.expected])).toEqual([
      ["cmd 1", "out"],
      ["quiet", ""],
    ]);
    expect(formatScenario(blocks.map((b) => ({ ...b, output: b.expected })))).toBe(text);
  });

  it.each(files)("%s", (file) => {
    const path = join(directory, file);
    const blocks = parseScenario(readFileSync(path, "utf8"));
    const runner = new ScenarioRunner();
    const results = blocks.map((block) => ({ ...block, output: runner.run(block.command) }));
    if (rewrite) {
      writeFileSync(path, formatScenario(results));
      return;
    }
    for (const result of results) {
      expect(result.output, `${file}:${result.line}: ${result.command}`).toBe(result.expected);
    }
  });
});
