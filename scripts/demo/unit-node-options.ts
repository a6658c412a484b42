// The agent's NODE_OPTIONS (memory flags) have one home, the systemd unit; the demo and
// `pnpm bench idle` read them from there so the three cannot drift apart.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

export const SYSTEMD_UNIT_FILE = resolve(import.meta.dirname, "../../deploy/systemd/conclaved.service");

/** The value of the unit's `Environment=NODE_OPTIONS="..."` line. */
export function readUnitNodeOptions(unitFile: string = SYSTEMD_UNIT_FILE): string {
  const match = /^Environment=NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(unitFile, "utf8"));
  if (match === null) throw new Error(`${unitFile} has no Environment=NODE_OPTIONS="..." line`);
  return match[1] as string;
}
