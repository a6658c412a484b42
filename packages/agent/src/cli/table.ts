// Aligned plain-text tables and key/value blocks for the human output. Widths are measured on the
// plain text and colour is added afterwards, so columns line up with or without it.

export type Tone = "plain" | "good" | "warn" | "bad" | "strong" | "dim";

/** One cell: text, or text with a tone that becomes a colour on a terminal. */
export type Cell = string | { readonly text: string; readonly tone: Tone };

export interface Style {
  readonly color: boolean;
}

const ANSI: Readonly<Record<Exclude<Tone, "plain">, readonly [string, string]>> = {
  good: ["\u001b[32m", "\u001b[39m"],
  warn: ["\u001b[33m", "\u001b[39m"],
  bad: ["\u001b[31m", "\u001b[39m"],
  strong: ["\u001b[1m", "\u001b[22m"],
  dim: ["\u001b[2m", "\u001b[22m"],
};

export function paint(text: string, tone: Tone, style: Style): string {
  if (!style.color || tone === "plain" || text === "") return text;
  const [open, close] = ANSI[tone];
  return `${open}${text}${close}`;
}

const textOf = (cell: Cell): string => (typeof cell === "string" ? cell : cell.text);
const toneOf = (cell: Cell): Tone => (typeof cell === "string" ? "plain" : cell.tone);

/** Columns separated by two spaces, the header in capitals, no trailing spaces. */
export function renderTable(headers: readonly string[], rows: readonly (readonly Cell[])[], style: Style): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => textOf(row[column] ?? "").length)),
  );
  const line = (cells: readonly Cell[], headerTone: Tone | undefined): string =>
    cells
      .map((cell, column) => {
        const text = textOf(cell);
        const padded = column === cells.length - 1 ? text : text.padEnd(widths[column] ?? 0);
        return paint(padded, headerTone ?? toneOf(cell), style);
      })
      .join("  ")
      .trimEnd();
  return [line(headers, "strong"), ...rows.map((row) => line(row, undefined))].join("\n");
}

/** `key   value` lines with the keys padded to one width. */
export function renderFields(fields: readonly (readonly [string, Cell])[], style: Style): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length));
  return fields
    .map(
      ([key, value]) => `${paint(key.padEnd(width), "strong", style)}  ${paint(textOf(value), toneOf(value), style)}`,
    )
    .join("\n");
}
