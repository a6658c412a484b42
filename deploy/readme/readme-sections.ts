// The root README's generated sections: the CLI reference (from the CLI's own help text) and the
// configuration reference (from the config schema), between `<!-- NAME:start -->` and
// `<!-- NAME:end -->` markers, so neither can drift from the code. test/deploy/readme.test.ts
// checks them; `node deploy/readme/readme-sections.ts --write` rewrites them.
import { readFileSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { COMMAND_SPECS, commandHelp, generalHelp } from "../../packages/agent/src/cli/command-specs.ts";
import { generateConfigReference } from "../../packages/agent/src/config/reference.ts";

export const README_FILE = resolve(import.meta.dirname, "../../README.md");

export interface GeneratedSection {
  readonly name: string;
  readonly body: string;
}

function fenced(text: string): string {
  return `\`\`\`text\n${text.trimEnd()}\n\`\`\`\n`;
}

/** `conclave --help`, then every command's `--help`, as the CLI prints them. */
export function generateCliReference(): string {
  const parts = ["`conclave --help`:\n", fenced(generalHelp())];
  for (const spec of COMMAND_SPECS) parts.push(`\n\`conclave ${spec.name} --help\`:\n`, fenced(commandHelp(spec)));
  return parts.join("");
}

export function generateSections(): GeneratedSection[] {
  return [
    { name: "cli-reference", body: generateCliReference() },
    { name: "config-reference", body: generateConfigReference() },
  ];
}

/** `text` with each section's body replaced by the generated one; throws naming a missing marker. */
export function withGeneratedSections(
  text: string,
  sections: readonly GeneratedSection[] = generateSections(),
): string {
  let result = text;
  for (const { name, body } of sections) {
    const start = `<!-- ${name}:start -->\n`;
    const end = `<!-- ${name}:end -->`;
    const from = result.indexOf(start);
    const to = result.indexOf(end);
    if (from < 0 || to < from) throw new Error(`README.md has no "${start.trim()}" ... "${end}" markers`);
    result = `${result.slice(0, from + start.length)}${body.endsWith("\n") ? body : `${body}\n`}${result.slice(to)}`;
  }
  return result;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  if (process.argv[2] !== "--write") {
    process.stderr.write(
      "usage: node deploy/readme/readme-sections.ts --write   (rewrites README.md's generated sections)\n",
    );
    process.exit(2);
  }
  writeFileSync(README_FILE, withGeneratedSections(readFileSync(README_FILE, "utf8")));
}
