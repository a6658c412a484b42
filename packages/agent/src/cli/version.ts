// `conclave --version`: the agent package's version and the control API version it speaks. The
// manifest is imported (not read from disk) so that a bundled CLI, which has no package.json
// beside it, still knows its version.
import manifest from "../../package.json" with { type: "json" };
import { CONTROL_API_VERSION } from "../control/control-protocol.ts";

export function cliVersion(): string {
  return `conclave ${manifest.version} (control API v${CONTROL_API_VERSION})`;
}
