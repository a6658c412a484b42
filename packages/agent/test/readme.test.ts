// Proves the README's configuration reference is the one the schema generates (UPDATE_README=1 rewrites it).
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import { generateConfigReference } from "../src/index.ts";

const README = fileURLToPath(new URL("../README.md", import.meta.url));
const START = "<!-- config-reference:start -->\n";
const END = "<!-- config-reference:end -->";

it("holds the generated configuration reference", () => {
  const text = readFileSync(README, "utf8");
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const expected = `${text.slice(0, start + START.length)}${generateConfigReference()}${text.slice(end)}`;
  if (process.env.UPDATE_README === "1") {
    writeFileSync(README, expected);
    return;
  }
  expect(normalizeTables(text), "the README's configuration reference is stale: rerun with UPDATE_README=1").toBe(
    normalizeTables(expected),
  );
});

/** The formatter pads Markdown table cells; compare cell contents only. */
function normalizeTables(text: string): string {
  return text
    .split("\n")
    .map((line) =>
      line.startsWith("|")
        ? line
            .split(/(?<!\\)\|/)
            .map((cell) => cell.trim().replace(/^-{3,}$/, "---"))
            .join("|")
        : line,
    )
    .join("\n");
}
