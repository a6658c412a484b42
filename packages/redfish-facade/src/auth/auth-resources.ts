// The Redfish resources of the SessionService and AccountService, built from the auth state.
// Nothing secret is ever in them: no hash, no token (X-Auth-Token is a header of the login
// answer only), `Password` always null as the schemas require.
import type { AccountRecord, AuthSettings, SessionRecord } from "./auth-state.ts";
import { ROLE_DESCRIPTIONS, ROLE_IDS, ROLE_PRIVILEGES, type RoleId } from "./roles.ts";

export const SESSION_SERVICE_URI = "/redfish/v1/SessionService";
export const SESSIONS_URI = `${SESSION_SERVICE_URI}/Sessions`;
export const ACCOUNT_SERVICE_URI = "/redfish/v1/AccountService";
export const ACCOUNTS_URI = `${ACCOUNT_SERVICE_URI}/Accounts`;
export const ROLES_URI = `${ACCOUNT_SERVICE_URI}/Roles`;

const SESSION_SERVICE_TYPE = "#SessionService.v1_2_0.SessionService";
const SESSION_TYPE = "#Session.v1_8_0.Session";
const SESSION_COLLECTION_TYPE = "#SessionCollection.SessionCollection";
const ACCOUNT_SERVICE_TYPE = "#AccountService.v1_18_1.AccountService";
const ACCOUNT_TYPE = "#ManagerAccount.v1_14_1.ManagerAccount";
const ACCOUNT_COLLECTION_TYPE = "#ManagerAccountCollection.ManagerAccountCollection";
const ROLE_TYPE = "#Role.v1_3_3.Role";
const ROLE_COLLECTION_TYPE = "#RoleCollection.RoleCollection";

type Json = Record<string, unknown>;

export function sessionServiceResource(settings: AuthSettings): Json {
  return {
    "@odata.id": SESSION_SERVICE_URI,
    "@odata.type": SESSION_SERVICE_TYPE,
    Id: "SessionService",
    Name: "Session Service",
    Description: "Sessions of the Conclave cluster's Redfish service; they outlive a change of PoC.",
    ServiceEnabled: true,
    SessionTimeout: settings.sessionTimeoutSeconds,
    Sessions: { "@odata.id": SESSIONS_URI },
    Status: { State: "Enabled", Health: "OK" },
  };
}

export function sessionUri(id: string): string {
  return `${SESSIONS_URI}/${id}`;
}

export function sessionResource(session: SessionRecord, account: AccountRecord | undefined): Json {
  return {
    "@odata.id": sessionUri(session.id),
    "@odata.type": SESSION_TYPE,
    Id: session.id,
    Name: "User Session",
    UserName: account?.userName ?? null,
    Password: null,
    SessionType: "Redfish",
    CreatedTime: isoTime(session.createdAtMs),
    ...(session.clientOrigin === null ? {} : { ClientOriginIPAddress: session.clientOrigin }),
    ...(session.context === null ? {} : { Context: session.context }),
    ...(account === undefined ? {} : { Roles: [account.roleId] }),
  };
}

export function collection(uri: string, type: string, name: string, memberUris: readonly string[]): Json {
  return {
    "@odata.id": uri,
    "@odata.type": type,
    Name: name,
    Members: memberUris.map((member) => ({ "@odata.id": member })),
    "Members@odata.count": memberUris.length,
  };
}

export function sessionCollection(sessions: readonly SessionRecord[]): Json {
  return collection(
    SESSIONS_URI,
    SESSION_COLLECTION_TYPE,
    "Session Collection",
    sessions.map((session) => sessionUri(session.id)),
  );
}

export function accountServiceResource(settings: AuthSettings): Json {
  return {
    "@odata.id": ACCOUNT_SERVICE_URI,
    "@odata.type": ACCOUNT_SERVICE_TYPE,
    Id: "AccountService",
    Name: "Account Service",
    Description: "Accounts of the Conclave cluster, the same on every PoC.",
    ServiceEnabled: true,
    LocalAccountAuth: "Enabled",
    HTTPBasicAuth: "Enabled",
    MinPasswordLength: settings.minPasswordLength,
    MaxPasswordLength: settings.maxPasswordLength,
    SupportedAccountTypes: ["Redfish"],
    Accounts: { "@odata.id": ACCOUNTS_URI },
    Roles: { "@odata.id": ROLES_URI },
    Status: { State: "Enabled", Health: "OK" },
  };
}

export function accountUri(id: string): string {
  return `${ACCOUNTS_URI}/${id}`;
}

export function accountResource(account: AccountRecord): Json {
  return {
    "@odata.id": accountUri(account.id),
    "@odata.type": ACCOUNT_TYPE,
    Id: account.id,
    Name: "User Account",
    Description: `Account ${account.userName}`,
    UserName: account.userName,
    Password: null,
    RoleId: account.roleId,
    Enabled: account.enabled,
    // Conclave never locks an account by itself (no lockout policy is claimed in AccountService).
    Locked: false,
    AccountTypes: ["Redfish"],
    Links: { Role: { "@odata.id": roleUri(account.roleId) } },
  };
}

export function accountCollection(accounts: readonly AccountRecord[]): Json {
  return collection(
    ACCOUNTS_URI,
    ACCOUNT_COLLECTION_TYPE,
    "Accounts Collection",
    accounts.map((account) => accountUri(account.id)),
  );
}

export function roleUri(roleId: RoleId): string {
  return `${ROLES_URI}/${roleId}`;
}

export function roleResource(roleId: RoleId): Json {
  return {
    "@odata.id": roleUri(roleId),
    "@odata.type": ROLE_TYPE,
    Id: roleId,
    Name: `${roleId} Role`,
    Description: ROLE_DESCRIPTIONS[roleId],
    RoleId: roleId,
    IsPredefined: true,
    AssignedPrivileges: [...ROLE_PRIVILEGES[roleId]],
    OemPrivileges: [],
  };
}

export function roleCollection(): Json {
  return collection(ROLES_URI, ROLE_COLLECTION_TYPE, "Roles Collection", ROLE_IDS.map(roleUri));
}

function isoTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}
