// AccountService: the service (MinPasswordLength and MaxPasswordLength, PATCHable and enforced),
// Accounts (POST create; GET, PATCH UserName/Password/RoleId/Enabled/Locked, DELETE) and the
// three predefined Roles. Who may do what follows the privilege registry: ConfigureUsers for
// anything on accounts, ConfigureSelf for reading one's own account and changing one's own
// password (the registry's Password PropertyOverride). The last enabled Administrator can be
// neither deleted, disabled nor demoted.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { baseMessage, type RedfishMessage, sendRedfishError } from "../redfish-error.ts";
import { PASSWORD_LENGTH_CEILING, PASSWORD_LENGTH_FLOOR, USER_NAME_PATTERN } from "./auth-limits.ts";
import {
  sendBadRequest,
  sendCommitFailure,
  sendForbidden,
  sendJson,
  sendNotAllowed,
  sendPreconditionFailed,
} from "./auth-replies.ts";
import {
  ACCOUNT_SERVICE_URI,
  ACCOUNTS_URI,
  accountCollection,
  accountResource,
  accountServiceResource,
  accountUri,
  ROLES_URI,
  roleCollection,
  roleResource,
} from "./auth-resources.ts";
import type { AccountRecord, AuthChangeBody, AuthSettings } from "./auth-state.ts";
import { principalOf } from "./principal.ts";
import type { AuthContext } from "./register-auth.ts";
import { type BodyValues, describe, readBody } from "./request-body.ts";
import { type PrivilegeAlternatives, requiredPrivilege, satisfies } from "./required-privilege.ts";
import { ifMatchHolds } from "./resource-etag.ts";
import { isRoleId } from "./roles.ts";

/** The registry's PropertyOverride for ManagerAccount: PATCH of Password alone needs ConfigureUsers or ConfigureSelf. */
const PASSWORD_ONLY_PATCH: PrivilegeAlternatives = [["ConfigureUsers"], ["ConfigureSelf"]];
const userNamePattern = new RegExp(USER_NAME_PATTERN);

const ACCOUNT_READ_ONLY = ["Id", "Name", "Description", "AccountTypes", "Links", "PasswordChangeRequired"];

export function registerAccountRoutes(app: FastifyInstance, context: AuthContext): void {
  const { store } = context;

  app.get(ACCOUNT_SERVICE_URI, (_request, reply) => sendJson(reply, 200, accountServiceResource(store.settings())));
  app.patch(ACCOUNT_SERVICE_URI, async (request, reply) => {
    const body = readBody(request.body, {
      writable: { MinPasswordLength: { type: "integer" }, MaxPasswordLength: { type: "integer" } },
      readOnly: [
        "Id",
        "Name",
        "Description",
        "ServiceEnabled",
        "LocalAccountAuth",
        "HTTPBasicAuth",
        "SupportedAccountTypes",
        "Accounts",
        "Roles",
        "Status",
      ],
      nonEmpty: true,
    });
    if (!body.ok) return sendBadRequest(reply, body.messages);
    if (!ifMatchHolds(request, accountServiceResource(store.settings()))) return sendPreconditionFailed(reply);
    const problems: RedfishMessage[] = [];
    for (const name of ["MinPasswordLength", "MaxPasswordLength"] as const) {
      const value = body.values[name] as number | undefined;
      if (value !== undefined && (value < PASSWORD_LENGTH_FLOOR || value > PASSWORD_LENGTH_CEILING)) {
        problems.push(baseMessage("PropertyValueOutOfRange", [String(value), name], [`/${name}`]));
      }
    }
    if (problems.length > 0) return sendBadRequest(reply, problems);
    try {
      await store.commit({
        type: "auth.settings",
        body: {
          ...(body.values.MinPasswordLength === undefined
            ? {}
            : { minPasswordLength: body.values.MinPasswordLength as number }),
          ...(body.values.MaxPasswordLength === undefined
            ? {}
            : { maxPasswordLength: body.values.MaxPasswordLength as number }),
        },
      });
    } catch (error) {
      return sendCommitFailure(reply, error, { uri: ACCOUNT_SERVICE_URI, resourceType: "AccountService", id: "" });
    }
    return sendJson(reply, 200, accountServiceResource(store.settings()));
  });
  app.route({
    method: ["POST", "PUT", "DELETE"],
    url: ACCOUNT_SERVICE_URI,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD", "PATCH"]),
  });

  app.get(ACCOUNTS_URI, (request, reply) => {
    const principal = principalOf(request);
    const seeAll = principal?.privileges.includes("ConfigureUsers") === true;
    const visible = store.accounts().filter((account) => seeAll || account.id === principal?.account.id);
    return sendJson(reply, 200, accountCollection(visible));
  });
  app.post(ACCOUNTS_URI, async (request, reply) => {
    const body = readBody(request.body, {
      writable: {
        UserName: { type: "string" },
        Password: { type: "string", secret: true },
        RoleId: { type: "string" },
        Enabled: { type: "boolean" },
      },
      readOnly: [...ACCOUNT_READ_ONLY, "Locked"],
      required: ["UserName", "Password", "RoleId"],
    });
    if (!body.ok) return sendBadRequest(reply, body.messages);
    const problems = accountValueProblems(body.values, store.settings());
    if (problems.length > 0) return sendBadRequest(reply, problems);
    const userName = body.values.UserName as string;
    let passwordHash: string;
    try {
      passwordHash = await context.passwords.hash(body.values.Password as string);
    } catch (error) {
      return sendCommitFailure(reply, error, { uri: ACCOUNTS_URI, resourceType: "ManagerAccount", id: "" });
    }
    let id: string | undefined;
    try {
      const result = await store.commit({
        type: "account.create",
        body: {
          userName,
          roleId: body.values.RoleId as AccountRecord["roleId"],
          enabled: (body.values.Enabled as boolean | undefined) ?? true,
          passwordHash,
          atMs: Math.floor(context.now()),
        },
      });
      id = result.id;
    } catch (error) {
      return sendCommitFailure(reply, error, {
        uri: ACCOUNTS_URI,
        resourceType: "ManagerAccount",
        id: userName,
        property: ["UserName", userName],
      });
    }
    const account = id === undefined ? undefined : store.account(id);
    if (account === undefined) throw new Error(`account ${userName} was committed but is not in the state`);
    return sendJson(reply.header("Location", accountUri(account.id)), 201, accountResource(account));
  });
  app.route({
    method: ["PUT", "PATCH", "DELETE"],
    url: ACCOUNTS_URI,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD", "POST"]),
  });

  /** The account at :id when the caller may do `method` to it (ConfigureSelf counts for one's own). */
  const accountFor = (
    request: FastifyRequest<{ Params: { id: string } }>,
    reply: FastifyReply,
    alternatives?: PrivilegeAlternatives,
  ): AccountRecord | undefined => {
    const account = store.account(request.params.id);
    const principal = principalOf(request);
    const rule = requiredPrivilege(request.method, request.url);
    const needed = alternatives ?? (rule.kind === "privileges" ? rule.alternatives : []);
    const own = principal !== undefined && principal.account.id === account?.id;
    // Privileges first: whether an account exists is not told to someone who may not see it.
    if (principal === undefined || !satisfies(principal.privileges, needed, own)) {
      sendForbidden(reply);
      return undefined;
    }
    if (account === undefined) {
      sendRedfishError(reply, 404, baseMessage("ResourceNotFound", ["ManagerAccount", describe(request.params.id)]));
      return undefined;
    }
    return account;
  };

  app.get<{ Params: { id: string } }>(`${ACCOUNTS_URI}/:id`, (request, reply) => {
    const account = accountFor(request, reply);
    if (account === undefined) return reply;
    return sendJson(reply, 200, accountResource(account));
  });
  app.patch<{ Params: { id: string } }>(`${ACCOUNTS_URI}/:id`, async (request, reply) => {
    const body = readBody(request.body, {
      writable: {
        UserName: { type: "string" },
        Password: { type: "string", secret: true },
        RoleId: { type: "string" },
        Enabled: { type: "boolean" },
        Locked: { type: "boolean" },
      },
      readOnly: ACCOUNT_READ_ONLY,
      nonEmpty: true,
    });
    const passwordOnly = body.ok && Object.keys(body.values).length === 1 && body.values.Password !== undefined;
    const account = accountFor(request, reply, passwordOnly ? PASSWORD_ONLY_PATCH : undefined);
    if (account === undefined) return reply;
    if (!body.ok) return sendBadRequest(reply, body.messages);
    if (!ifMatchHolds(request, accountResource(account))) return sendPreconditionFailed(reply);
    const problems = accountValueProblems(body.values, store.settings());
    // Conclave never locks an account, and the schema lets a client only unlock one.
    if (body.values.Locked === true) {
      problems.push(baseMessage("PropertyValueNotInList", ["true", "Locked"], ["/Locked"]));
    }
    if (problems.length > 0) return sendBadRequest(reply, problems);
    let change: AuthChangeBody<"account.update"> = {
      id: account.id,
      atMs: Math.floor(context.now()),
      ...(body.values.UserName === undefined ? {} : { userName: body.values.UserName as string }),
      ...(body.values.RoleId === undefined ? {} : { roleId: body.values.RoleId as AccountRecord["roleId"] }),
      ...(body.values.Enabled === undefined ? {} : { enabled: body.values.Enabled as boolean }),
    };
    try {
      if (body.values.Password !== undefined) {
        change = { ...change, passwordHash: await context.passwords.hash(body.values.Password as string) };
      }
    } catch (error) {
      return sendCommitFailure(reply, error, {
        uri: accountUri(account.id),
        resourceType: "ManagerAccount",
        id: account.id,
      });
    }
    try {
      await store.commit({ type: "account.update", body: change });
    } catch (error) {
      return sendCommitFailure(reply, error, {
        uri: accountUri(account.id),
        resourceType: "ManagerAccount",
        id: account.id,
        property: firstChanged(body.values),
      });
    }
    const updated = store.account(account.id);
    if (updated === undefined) {
      return sendRedfishError(reply, 404, baseMessage("ResourceNotFound", ["ManagerAccount", account.id]));
    }
    return sendJson(reply, 200, accountResource(updated));
  });
  app.delete<{ Params: { id: string } }>(`${ACCOUNTS_URI}/:id`, async (request, reply) => {
    const account = accountFor(request, reply);
    if (account === undefined) return reply;
    try {
      await store.commit({ type: "account.delete", body: { id: account.id } });
    } catch (error) {
      return sendCommitFailure(reply, error, {
        uri: accountUri(account.id),
        resourceType: "ManagerAccount",
        id: account.id,
      });
    }
    return reply.code(204).header("OData-Version", "4.0").send();
  });
  app.route({
    method: ["POST", "PUT"],
    url: `${ACCOUNTS_URI}/:id`,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD", "PATCH", "DELETE"]),
  });

  app.get(ROLES_URI, (_request, reply) => sendJson(reply, 200, roleCollection()));
  app.route({
    method: ["POST", "PUT", "PATCH", "DELETE"],
    url: ROLES_URI,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD"]),
  });
  app.get<{ Params: { id: string } }>(`${ROLES_URI}/:id`, (request, reply) => {
    const roleId = request.params.id;
    if (!isRoleId(roleId)) {
      return sendRedfishError(reply, 404, baseMessage("ResourceNotFound", ["Role", describe(roleId)]));
    }
    return sendJson(reply, 200, roleResource(roleId));
  });
  app.route({
    method: ["POST", "PUT", "PATCH", "DELETE"],
    url: `${ROLES_URI}/:id`,
    handler: (_request, reply) => sendNotAllowed(reply, ["GET", "HEAD"]),
  });
}

/** Value problems of UserName, RoleId and Password (the policy's lengths, in characters). */
function accountValueProblems(values: BodyValues, settings: AuthSettings): RedfishMessage[] {
  const problems: RedfishMessage[] = [];
  const userName = values.UserName as string | undefined;
  if (userName !== undefined && !userNamePattern.test(userName)) {
    problems.push(baseMessage("PropertyValueFormatError", [describe(userName), "UserName"], ["/UserName"]));
  }
  const roleId = values.RoleId as string | undefined;
  if (roleId !== undefined && !isRoleId(roleId)) {
    problems.push(baseMessage("PropertyValueNotInList", [describe(roleId), "RoleId"], ["/RoleId"]));
  }
  const password = values.Password as string | undefined;
  if (password !== undefined) {
    const length = [...password].length;
    if (length < settings.minPasswordLength || length > settings.maxPasswordLength) {
      problems.push(baseMessage("PasswordIncorrectLength", [], ["/Password"]));
    }
  }
  return problems;
}

/** The property to name when the last-administrator rule refuses a PATCH. */
function firstChanged(values: BodyValues): readonly [string, string] | undefined {
  if (values.RoleId !== undefined) return ["RoleId", String(values.RoleId)];
  if (values.Enabled !== undefined) return ["Enabled", String(values.Enabled)];
  return undefined;
}
