// The three predefined Redfish roles and the privileges each one holds (DSP0266 §13.2.6, "Roles":
// Administrator, Operator, ReadOnly). Conclave has no custom roles and no OEM privileges.

/** The standard privileges (PrivilegeRegistry `PrivilegesUsed`). */
export const PRIVILEGES = [
  "Login",
  "ConfigureManager",
  "ConfigureUsers",
  "ConfigureComponents",
  "ConfigureSelf",
] as const;
export type Privilege = (typeof PRIVILEGES)[number];

export const ROLE_IDS = ["Administrator", "Operator", "ReadOnly"] as const;
export type RoleId = (typeof ROLE_IDS)[number];

export const ROLE_PRIVILEGES: Readonly<Record<RoleId, readonly Privilege[]>> = Object.freeze({
  Administrator: Object.freeze([
    "Login",
    "ConfigureManager",
    "ConfigureUsers",
    "ConfigureSelf",
    "ConfigureComponents",
  ] as const),
  Operator: Object.freeze(["Login", "ConfigureSelf", "ConfigureComponents"] as const),
  ReadOnly: Object.freeze(["Login", "ConfigureSelf"] as const),
});

export const ROLE_DESCRIPTIONS: Readonly<Record<RoleId, string>> = Object.freeze({
  Administrator: "Manages the whole service: users, the cluster's managers and every component.",
  Operator: "Configures and operates components (power, boot, firmware); cannot manage users or managers.",
  ReadOnly: "Reads the service and changes only its own password and sessions.",
});

export function isRoleId(value: unknown): value is RoleId {
  return typeof value === "string" && (ROLE_IDS as readonly string[]).includes(value);
}

export function roleHas(roleId: RoleId, privilege: Privilege): boolean {
  return ROLE_PRIVILEGES[roleId].includes(privilege);
}
