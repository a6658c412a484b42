// The facade's accounts, sessions and auth settings as a section of the replicated cluster
// state, with one command per kind of change. The rules live in the facade's AuthState (the
// same code the facade's memory store runs); this file only carries them through Raft: each
// command's body is the change's body, apply hands it to AuthState.apply, and a refusal
// (AuthRuleViolation) becomes a CommandRejection with the same code, recorded identically on
// every node.
//
//   {"atMs":…,"body":{"accountId":"1","atMs":…,"clientOrigin":"10.0.0.9","context":null,"id":"<32 hex>","tokenHash":"<sha-256>"},"type":"session.create","v":1,"version":1}
//
// Commands: account.bootstrap, account.create, account.update, account.delete, session.create,
// session.delete, session.touch, auth.settings (all version 1).
import {
  AUTH_CHANGE_BODIES,
  AUTH_CHANGE_TYPES,
  type AuthChange,
  type AuthChangeResult,
  type AuthChangeType,
  AuthRuleViolation,
  AuthState,
} from "@conclave/redfish-facade";
import type { JsonValue } from "../cluster-state/canonical-json.ts";
import { type CommandDefinition, defineCommand, type StateSection } from "../cluster-state/command.ts";
import { CommandRejection } from "../cluster-state/errors.ts";

export const AUTH_SECTION_NAME = "auth";
export const AUTH_SECTION_VERSION = 1;
export const AUTH_COMMAND_VERSION = 1;

export const authSection: StateSection<AuthState> = Object.freeze({
  name: AUTH_SECTION_NAME,
  version: AUTH_SECTION_VERSION,
  initial: () => new AuthState(),
  toSnapshot: (state: AuthState) => state.toSnapshot() as unknown as JsonValue,
  fromSnapshot: (data: unknown, version: number) => {
    if (version !== AUTH_SECTION_VERSION) throw new TypeError(`unknown auth section version ${version}`);
    return AuthState.fromSnapshot(data);
  },
});

function authCommand<T extends AuthChangeType>(type: T): CommandDefinition {
  return defineCommand({
    type,
    version: AUTH_COMMAND_VERSION,
    section: authSection,
    body: AUTH_CHANGE_BODIES[type],
    apply(state: AuthState, body: unknown): AuthChangeResult {
      try {
        return state.apply({ type, body } as AuthChange);
      } catch (error) {
        if (error instanceof AuthRuleViolation) throw new CommandRejection(error.code, error.message);
        throw error;
      }
    },
  }) as CommandDefinition;
}

export const AUTH_COMMANDS: readonly CommandDefinition[] = Object.freeze(AUTH_CHANGE_TYPES.map(authCommand));

/** The command a change travels as (the driver stamps atMs and encodes it). */
export function authCommandInput(change: AuthChange): { readonly type: string; readonly body: unknown } {
  return { type: change.type, body: change.body };
}
