// Who made a request, as the auth hook established it: the account (read afresh from the
// state for every request, so a new role or a disabled account counts at once), its
// privileges, and the session when the request came with X-Auth-Token.
import type { FastifyRequest } from "fastify";
import type { AccountRecord } from "./auth-state.ts";
import { type Privilege, ROLE_PRIVILEGES } from "./roles.ts";

export interface Principal {
  readonly account: AccountRecord;
  readonly privileges: readonly Privilege[];
  /** Undefined for HTTP Basic. */
  readonly sessionId: string | undefined;
}

const principals = new WeakMap<FastifyRequest, Principal>();

export function setPrincipal(
  request: FastifyRequest,
  account: AccountRecord,
  sessionId: string | undefined,
): Principal {
  const principal: Principal = Object.freeze({ account, privileges: ROLE_PRIVILEGES[account.roleId], sessionId });
  principals.set(request, principal);
  return principal;
}

/** The authenticated caller; undefined on the routes that need no authentication (ServiceRoot, login). */
export function principalOf(request: FastifyRequest): Principal | undefined {
  return principals.get(request);
}
