// Renders the config schema as the Markdown reference table of the README: key, type, default, description.
import type { TSchema } from "typebox";
import { describeExpected, PER_NODE_KEYS } from "./load-config.ts";
import { ConfigSchema } from "./schema.ts";

interface ReferenceSchema {
  type?: string;
  properties?: Record<string, TSchema>;
  additionalProperties?: boolean | TSchema;
  required?: string[];
  default?: unknown;
  description?: string;
}

export interface ConfigReferenceRow {
  readonly key: string;
  readonly type: string;
  /** Rendered default; `required` for keys without one, `—` for optional keys without one. */
  readonly defaultValue: string;
  readonly description: string;
}

/** One row per leaf key, in schema order. Objects contribute their children, not a row of their own. */
export function configReferenceRows(schema: TSchema = ConfigSchema): ConfigReferenceRow[] {
  const rows: ConfigReferenceRow[] = [];
  walk(schema as ReferenceSchema, "", rows);
  return rows;
}

function walk(schema: ReferenceSchema, path: string, rows: ConfigReferenceRow[]): void {
  for (const [key, childSchema] of Object.entries(schema.properties ?? {})) {
    const child = childSchema as ReferenceSchema;
    const keyPath = path === "" ? key : `${path}.${key}`;
    if (child.type === "object" && child.properties !== undefined) {
      walk(child, keyPath, rows);
      if (typeof child.additionalProperties === "object") {
        rows.push({
          key: `${keyPath}.*`,
          type: describeExpected(child.additionalProperties),
          defaultValue: "—",
          description: child.description ?? "",
        });
      }
      continue;
    }
    const required = (schema.required ?? []).includes(key) && child.default === undefined;
    rows.push({
      key: keyPath,
      type: describeExpected(childSchema),
      defaultValue: child.default !== undefined ? `\`${JSON.stringify(child.default)}\`` : required ? "required" : "—",
      description: child.description ?? "",
    });
  }
}

/** Said of every key an operator may set per node. */
export const PER_NODE_NOTE = "Per node: may be set in the drop-in.";

/** The Markdown table for the README's configuration reference, then how the per-node drop-in works. */
export function generateConfigReference(schema: TSchema = ConfigSchema): string {
  const escapeCell = (text: string) => text.replaceAll("|", "\\|").replaceAll("\n", " ");
  const lines = ["| key | type | default | description |", "| --- | --- | --- | --- |"];
  for (const row of configReferenceRows(schema)) {
    const perNode = PER_NODE_KEYS.includes(row.key.split(".")[0] as string) ? ` ${PER_NODE_NOTE}` : "";
    lines.push(
      `| \`${row.key}\` | ${escapeCell(row.type)} | ${escapeCell(row.defaultValue)} | ${escapeCell(row.description)}${perNode} |`,
    );
  }
  lines.push(
    "",
    "**The per-node drop-in.** The config file is meant to be identical on every BMC. What differs per node",
    `(${PER_NODE_KEYS.map((key) => `\`${key}\``).join(", ")}) goes into an optional drop-in next to it, named`,
    "after it with `.local` before the extension (`/etc/conclave/conclave.local.yaml` for",
    "`/etc/conclave/conclave.yaml`; YAML or JSON by its own extension). It has the same schema and is merged",
    "over the shared file: mappings key by key (`labels`, `bmc`, `health`), anything else replaced (lists too).",
    "A shared key in the drop-in is refused, naming the drop-in. Relative paths in either resolve against their",
    "directory. Unknown keys and bad values are reported as for the shared file.",
  );
  return `${lines.join("\n")}\n`;
}
