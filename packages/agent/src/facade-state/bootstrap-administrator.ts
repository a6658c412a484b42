// The first administrator: the PoC commits conclave init's credential as the first account
// when the cluster has none. Safe to call on every PoC, any number of times: the command
// applies only while the cluster has no account (a second proposal, even one racing the first
// from an old PoC, is refused as already-bootstrapped by every node alike).
import { AuthRuleViolation, type AuthStore } from "@conclave/redfish-facade";
import type { AdminCredential } from "./admin-credential-file.ts";

export type BootstrapOutcome = "created" | "already-has-accounts";

/** Commits `credential` as an enabled Administrator if the cluster has no account. */
export async function bootstrapAdministrator(
  store: AuthStore,
  credential: AdminCredential,
  nowMs: number = Date.now(),
): Promise<BootstrapOutcome> {
  if (store.accounts().length > 0) return "already-has-accounts";
  try {
    await store.commit({
      type: "account.bootstrap",
      body: { userName: credential.userName, passwordHash: credential.passwordHash, atMs: Math.floor(nowMs) },
    });
    return "created";
  } catch (error) {
    if (error instanceof AuthRuleViolation && error.code === "already-bootstrapped") return "already-has-accounts";
    throw error;
  }
}
