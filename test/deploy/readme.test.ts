// Proves the root README's CLI and configuration references are the ones the CLI's help text
// and the config schema generate (`node deploy/readme/readme-sections.ts --write` rewrites them),
// and that the commands it tells a reader to run exist.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { generateSections, README_FILE, withGeneratedSections } from "../../deploy/readme/readme-sections.ts";

const readme = readFileSync(README_FILE, "utf8");
const scripts = (
  JSON.parse(readFileSync(resolve(import.meta.dirname, "../../package.json"), "utf8")) as {
    scripts: Record<string, string>;
  }
).scripts;

/** A Markdown formatter may pad table cells: compare cell contents only. */
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

describe("README.md", () => {
  it("holds the generated CLI and configuration references", () => {
    const sections = generateSections();
    expect(sections.map((s) => s.name)).toEqual(["cli-reference", "config-reference"]);
    expect(
      normalizeTables(readme),
      "the README's generated sections are stale: run node deploy/readme/readme-sections.ts --write",
    ).toBe(normalizeTables(withGeneratedSections(readme, sections)));
  });

  it("names a stale section when its markers are missing", () => {
    expect(() => withGeneratedSections("no markers here")).toThrow(/cli-reference:start/);
  });

  it("tells a reader to run only root scripts that exist", () => {
    // Commands in code: a line of a code block, or inline code.
    const named = [...readme.matchAll(/(?:^|`)(?:npm run|pnpm) ([a-z][a-z:-]*)/gm)].map((m) => m[1] as string);
    expect(named).toContain("demo");
    const builtIn = new Set(["test", "exec", "install", "vitest", "bench", "add"]);
    for (const name of named) if (!builtIn.has(name)) expect(scripts, `script "${name}"`).toHaveProperty(name);
    expect(scripts).toHaveProperty("demo");
    expect(scripts).toHaveProperty("bundle");
  });
});
