// Where the facade keeps cluster accounts and sessions. The facade only reads and asks for
// changes; the agent's implementation commits every change through Raft before it resolves, so a
// console's session token and the accounts outlive the PoC. Tokens and passwords are stored hashed.
// (Owned by the auth part of the facade: extend as SessionService/AccountService need.)

export type RoleId = "Administrator" | "Operator" | "ReadOnly";

export interface AuthStore {
  /** Placeholder until the auth part lands: the facade serves no authenticated routes yet. */
  readonly kind: string;
}
