// `conclave drain NODE`, `undrain NODE` and `remove NODE [--force]`: change a member.
import type { ChangeResult, MemberStatus } from "../control/control-protocol.ts";
import { type CliContext, nodeArgument } from "./cli-context.ts";
import { ControlRequestError } from "./cli-errors.ts";
import { CHANGE_TIMEOUT_MS, READ_TIMEOUT_MS } from "./command-specs.ts";
import { optionalMembers } from "./read-commands.ts";
import { renderJson } from "./render.ts";

/** The daemon's code for a change it refuses because the cluster would lose its quorum. */
export const QUORUM_AT_RISK_CODE = "AGENT_ERR_QUORUM_AT_RISK";

export async function runDrain(context: CliContext): Promise<void> {
  printChange(context, await context.daemon(CHANGE_TIMEOUT_MS).drain(nodeArgument(context)));
}

export async function runUndrain(context: CliContext): Promise<void> {
  printChange(context, await context.daemon(CHANGE_TIMEOUT_MS).undrain(nodeArgument(context)));
}

export async function runRemove(context: CliContext): Promise<void> {
  const node = nodeArgument(context);
  const force = context.options.force;
  if (force) {
    const members = await optionalMembers(context.daemon(READ_TIMEOUT_MS).members());
    context.stderr.write(`conclave: ${forceConsequence(node, members)}\n`);
  }
  let result: ChangeResult;
  try {
    result = await context.daemon(CHANGE_TIMEOUT_MS).remove(force ? { node, force: true } : { node });
  } catch (err) {
    if (err instanceof ControlRequestError && err.code === QUORUM_AT_RISK_CODE && !force) {
      throw new ControlRequestError(
        err.code,
        `refused to remove ${node} because the cluster would lose its quorum: ${err.message} (--force removes it anyway)`,
        err.status,
      );
    }
    throw err;
  }
  printChange(context, result);
}

/** One plain sentence on what --force risks, with the numbers when the member list can be read. */
export function forceConsequence(node: string, members: readonly MemberStatus[] | undefined): string {
  const target = members?.find((member) => member.id === node || member.name === node);
  const voters = members?.filter((member) => member.role === "voter" || member.role === "witness") ?? [];
  if (target !== undefined && voters.some((member) => member.id === target.id)) {
    const remaining = voters.length - 1;
    const quorum = Math.floor(remaining / 2) + 1;
    return `--force removes ${target.name} even if the quorum breaks: ${remaining} voting member${remaining === 1 ? "" : "s"} remain and a quorum needs ${quorum} of them up, otherwise the cluster has no PoC and no VIP until voters are added back.`;
  }
  return `--force removes ${node} even if the remaining voters cannot form a quorum, and then the cluster has no PoC and no VIP until enough voters are back.`;
}

function printChange(context: CliContext, result: ChangeResult): void {
  context.stdout.write(context.options.json ? renderJson(result) : `${result.message}\n`);
}
