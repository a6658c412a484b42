// `conclave transfer-leadership [--to NODE]` and `conclave step-down`: move the PoC role.
import type { TransferLeadershipRequest } from "../control/control-protocol.ts";
import type { CliContext } from "./cli-context.ts";
import { CHANGE_TIMEOUT_MS, READ_TIMEOUT_MS } from "./command-specs.ts";
import { optionalMembers } from "./read-commands.ts";
import { renderJson, renderTransfer } from "./render.ts";

export async function runTransferLeadership(context: CliContext): Promise<void> {
  const request: TransferLeadershipRequest = context.options.to === undefined ? {} : { to: context.options.to };
  // The daemon answers once the new PoC holds the lease, so waiting for the answer is waiting for the hand-over.
  const result = await context.daemon(CHANGE_TIMEOUT_MS).transferLeadership(request);
  if (context.options.json) {
    context.stdout.write(renderJson(result));
    return;
  }
  const members = await optionalMembers(context.daemon(READ_TIMEOUT_MS).members());
  context.stdout.write(renderTransfer(result, members, context.style));
}

export async function runStepDown(context: CliContext): Promise<void> {
  const result = await context.daemon(CHANGE_TIMEOUT_MS).stepDown();
  context.stdout.write(context.options.json ? renderJson(result) : `${result.message}\n`);
}
