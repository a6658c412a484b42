// `conclave --version`: the agent package's version and the control API version it speaks.
import { readFileSync } from "node:fs";
import { CONTROL_API_VERSION } from "../control/control-protocol.ts";

export function cliVersion(): string {
  let version = "unknown";
  try {
    const manifest = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      version?: unknown;
    };
    if (typeof manifest.version === "string") version = manifest.version;
  } catch {
    // A bundled or relocated CLI has no package.json beside it; the API version still identifies it.
  }
  return `conclave ${version} (control API v${CONTROL_API_VERSION})`;
}
