// Proves the human renderings of status, members, history and a transfer from fixture documents: aligned columns, colour only when asked, --json the raw document.
import { stripVTControlCharacters } from "node:util";
import { describe, expect, it } from "vitest";
import {
  formatDuration,
  formatTime,
  renderHistory,
  renderJson,
  renderMembers,
  renderStatus,
  renderTransfer,
} from "../../src/cli/render.ts";
import { renderTable } from "../../src/cli/table.ts";
import { HISTORY, MEMBERS, MEMBERS_DOCUMENT, STATUS, STATUS_NO_POC, TRANSFER } from "./fixtures.ts";

const plain = { color: false };

describe("status", () => {
  it("shows cluster, term, PoC, lease, VIP, then members with role, health, last contact and lag", () => {
    expect(renderStatus(STATUS, plain)).toBe(
      [
        "cluster  rack-a (5f0c6a8e-1d2b-4c3d-9e4f-0a1b2c3d4e5f)",
        "node     bmc1 (voter, leader)",
        "term     7",
        "PoC      bmc1",
        "lease    held here, 312 ms left",
        "VIP      10.0.0.100 (interface), held here",
        "log      commit 1234, applied 1234",
        "",
        "NAME  ROLE     STATE    HEALTH    LAST CONTACT  LAG  NOTES",
        "bmc1  voter    PoC      ok        -             0",
        "bmc2  voter    -        warning   2.1 s         12   cpu 93% >= 90%",
        "bmc3  witness  drained  critical  40 ms         0",
        "",
        "warning: bmc3 is drained: it will not become PoC",
        "",
      ].join("\n"),
    );
  });

  it("says plainly when there is no PoC, no lease and nobody holds the VIP", () => {
    const text = renderStatus(STATUS_NO_POC, plain);
    expect(text).toContain("node     bmc2 (voter, candidate)\n");
    expect(text).toContain("PoC      none: no node holds the lease\n");
    expect(text).toContain("lease    not held by any node\n");
    expect(text).toContain("VIP      10.0.0.100 (interface), not held: there is no PoC\n");
    expect(text).toContain("bmc1  voter    -        ok        -             -\n");
    expect(text).not.toContain("warning:");
  });

  it("handles a cluster without identity or VIP", () => {
    const text = renderStatus(
      { ...STATUS, cluster: { name: "rack-a", uuid: null }, vip: { mode: "none", address: null, heldHere: false } },
      plain,
    );
    expect(text).toContain("cluster  rack-a\n");
    expect(text).toContain("VIP      none (vip.mode is none)\n");
  });

  it("colours only when asked, and the columns still line up", () => {
    expect(renderStatus(STATUS, plain)).not.toContain("\u001b[");
    const coloured = renderStatus(STATUS, { color: true });
    expect(coloured).toContain("\u001b[31mcritical");
    expect(coloured).toContain("\u001b[33mwarning");
    // Stripped of colour, the coloured rendering is the plain one.
    expect(stripVTControlCharacters(coloured)).toBe(renderStatus(STATUS, plain));
  });
});

describe("members, history and transfer", () => {
  it("lists members with id, priority, labels and addresses", () => {
    const lines = renderMembers(MEMBERS_DOCUMENT, plain).split("\n");
    const header = lines[0] ?? "";
    expect(header.split(/ {2,}/)).toEqual([
      "NAME",
      "ID",
      "ROLE",
      "STATE",
      "PRIORITY",
      "HEALTH",
      "LAST CONTACT",
      "LAG",
      "LABELS",
      "ADDRESSES",
    ]);
    // Every row's cells start where their header does.
    expect(lines[1]?.indexOf("voter")).toBe(header.indexOf("ROLE"));
    expect(lines[3]?.indexOf("witness")).toBe(header.indexOf("ROLE"));
    expect(lines[2]?.indexOf("/ip4/10.0.0.2")).toBe(header.indexOf("ADDRESSES"));
    expect(lines[1]).toContain("bmc1  12D3KooWAAAA");
    expect(lines[1]).toMatch(/ {2}PoC {6}60 {8}ok {8}- {13}0 {4}slot=1,chassis=c1 {2}\/ip4\/10\.0\.0\.1\/tcp\/7420$/);
    expect(lines[2]).toMatch(/\/ip4\/10\.0\.0\.2\/tcp\/7420 \/ip6\/fd00::2\/tcp\/7420$/);
    expect(lines[3]).toMatch(/witness {2}drained {2}50 .* -$/);
    expect(renderMembers({ members: [] }, plain)).toBe("no members\n");
  });

  it("shows the history with names when the members are known, ids otherwise", () => {
    expect(renderHistory(HISTORY, MEMBERS, plain)).toBe(
      [
        "TERM  POC   SINCE (UTC)          REASON",
        "1     bmc2  2026-11-23 22:00:00  bootstrap",
        "7     bmc1  2026-11-24 00:31:02  transfer requested by operator",
        "",
      ].join("\n"),
    );
    expect(renderHistory(HISTORY, undefined, plain)).toContain(`7     ${MEMBERS[0]?.id}  2026-11-24 00:31:02`);
    expect(renderHistory({ history: [] }, MEMBERS, plain)).toBe("no leadership changes recorded yet\n");
  });

  it("prints the new PoC and how long the hand-over took", () => {
    expect(renderTransfer(TRANSFER, MEMBERS, plain)).toBe(
      "bmc2 is now the PoC (term 8); the hand-over from bmc1 took 142 ms\n",
    );
    expect(renderTransfer({ ...TRANSFER, previousPocId: null }, undefined, plain)).toBe(
      `${TRANSFER.pocId} is now the PoC (term 8); the hand-over took 142 ms\n`,
    );
    expect(renderTransfer({ ...TRANSFER, pocId: TRANSFER.previousPocId ?? "" }, MEMBERS, plain)).toBe(
      "bmc1 is still the PoC (term 8); nothing was handed over\n",
    );
  });

  it("--json is the document itself, indented, one trailing newline", () => {
    const text = renderJson(STATUS);
    expect(JSON.parse(text)).toEqual(STATUS);
    expect(text.endsWith("}\n")).toBe(true);
  });
});

describe("formatting", () => {
  it("durations read at a glance, times in UTC", () => {
    expect([0, 999, 1_000, 2_150, 59_999, 60_000, 3_599_999, 3_600_000, 90_000_000].map(formatDuration)).toEqual([
      "0 ms",
      "999 ms",
      "1.0 s",
      "2.1 s",
      "60.0 s",
      "1 min",
      "59 min",
      "1 h",
      "1 d",
    ]);
    expect(formatTime(Date.UTC(2026, 0, 2, 3, 4, 5, 678))).toBe("2026-01-02 03:04:05");
    expect(formatTime(Number.NaN)).toBe("NaN");
  });

  it("tables pad every column but the last and keep no trailing spaces", () => {
    expect(
      renderTable(
        ["A", "LONG HEADER"],
        [
          ["wide value", ""],
          ["x", "y"],
        ],
        plain,
      ),
    ).toBe(["A           LONG HEADER", "wide value", "x           y"].join("\n"));
  });
});
