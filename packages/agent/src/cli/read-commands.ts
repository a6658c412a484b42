// `conclave status`, `members` and `history`: read the daemon's documents and show them.
import type { MemberStatus } from "../control/control-protocol.ts";
import type { CliContext } from "./cli-context.ts";
import { READ_TIMEOUT_MS } from "./command-specs.ts";
import { renderHistory, renderJson, renderMembers, renderStatus } from "./render.ts";

export async function runStatus(context: CliContext): Promise<void> {
  const status = await context.daemon(READ_TIMEOUT_MS).status();
  context.stdout.write(context.options.json ? renderJson(status) : renderStatus(status, context.style));
}

export async function runMembers(context: CliContext): Promise<void> {
  const members = await context.daemon(READ_TIMEOUT_MS).members();
  context.stdout.write(context.options.json ? renderJson(members) : renderMembers(members, context.style));
}

export async function runHistory(context: CliContext): Promise<void> {
  const client = context.daemon(READ_TIMEOUT_MS);
  if (context.options.json) {
    context.stdout.write(renderJson(await client.history()));
    return;
  }
  // History entries carry ids only; the member list turns them into names when it can be had.
  const [history, members] = await Promise.all([client.history(), optionalMembers(client.members())]);
  context.stdout.write(renderHistory(history, members, context.style));
}

/** The members when they can be read; their absence only costs names, so it is not an error. */
export async function optionalMembers(
  request: Promise<{ readonly members: readonly MemberStatus[] }>,
): Promise<readonly MemberStatus[] | undefined> {
  try {
    return (await request).members;
  } catch {
    return undefined;
  }
}
