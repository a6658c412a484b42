// Members' health per Manager: `/redfish/v1/Managers/<member>_<id>/ManagerDiagnosticData` for each
// BMC manager of a member whose BMC serves none of its own, from the health its agent last
// reported to the cluster (FacadeMember.diagnostics: OpenBMC health-monitor's CPU, memory and
// storage use, and whether the BMC answered). The member's Manager links it. A BMC that has its
// own ManagerDiagnosticData keeps it: that one is forwarded as any member resource is.
import type { FacadeMember, MemberDiagnostics } from "../facade-cluster.ts";
import type { FacadePart } from "../facade-part.ts";
import type { FacadeService } from "../facade-service.ts";
import { PREFIX_SEPARATOR } from "../member-uri.ts";
import { type Served, servedResource } from "../served.ts";

/** The last segment of the resource, as DSP0268 places it under a Manager. */
export const MANAGER_DIAGNOSTIC_DATA_SEGMENT = "ManagerDiagnosticData";
export const MANAGER_DIAGNOSTIC_DATA_TYPE = "#ManagerDiagnosticData.v1_2_3.ManagerDiagnosticData";
/** The first Manager minor version (1.x) with a ManagerDiagnosticData link. */
const MANAGER_DIAGNOSTICS_SINCE_MINOR = 14;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Whether a Manager of this @odata.type may carry the link (its schema has the property). */
function managerTypeHasDiagnostics(type: unknown): boolean {
  if (type === "#Manager.Manager") return true;
  if (typeof type !== "string") return false;
  const match = /^#Manager\.v1_(\d+)_\d+\.Manager$/.exec(type);
  return match !== null && Number(match[1]) >= MANAGER_DIAGNOSTICS_SINCE_MINOR;
}

/** The resource's body: standard identity, the numbers under Oem.Conclave (no standard property holds a percentage). */
export function managerDiagnosticData(
  member: FacadeMember,
  uri: string,
  diagnostics: MemberDiagnostics,
): Record<string, unknown> {
  const conclave: Json = {
    HealthStatus: diagnostics.health,
    BmcReachable: diagnostics.bmcReachable,
    ReportedAt: new Date(diagnostics.reportedAtMs).toISOString(),
  };
  if (diagnostics.cpuPercent !== undefined) conclave.CpuPercent = diagnostics.cpuPercent;
  if (diagnostics.memoryPercent !== undefined) conclave.MemoryPercent = diagnostics.memoryPercent;
  if (diagnostics.stateDiskPercent !== undefined) conclave.StateDiskPercent = diagnostics.stateDiskPercent;
  return {
    "@odata.type": MANAGER_DIAGNOSTIC_DATA_TYPE,
    "@odata.id": uri,
    Id: MANAGER_DIAGNOSTIC_DATA_SEGMENT,
    Name: `Diagnostic data of member ${member.name}`,
    Description:
      "The health the member's Conclave agent last reported to the cluster (it reports when its health level changes): CPU, memory and state-directory storage use, and whether its BMC answered, as of ReportedAt.",
    Oem: { Conclave: conclave },
  };
}

export interface ManagerDiagnosticsPartInit {
  readonly service: FacadeService;
}

export function managerDiagnosticsPart(init: ManagerDiagnosticsPartInit): FacadePart {
  const { service } = init;

  /** The member owning `Managers/<segment>`, when it has diagnostics to serve. */
  const ownerWithDiagnostics = (
    segment: string,
  ): { member: FacadeMember; diagnostics: MemberDiagnostics; managerPath: string } | undefined => {
    const owner = service.ownerOf(["Managers", segment], 1);
    const diagnostics = owner?.member.diagnostics;
    if (owner === undefined || diagnostics === undefined) return undefined;
    return { member: owner.member, diagnostics, managerPath: owner.memberPath };
  };

  return {
    async resolve(segments, path): Promise<Served | undefined> {
      const [first, managerSegment, last] = segments;
      if (segments.length !== 3 || first !== "Managers" || last !== MANAGER_DIAGNOSTIC_DATA_SEGMENT) return undefined;
      if (managerSegment === undefined || !managerSegment.includes(PREFIX_SEPARATOR)) return undefined;
      const owner = ownerWithDiagnostics(managerSegment);
      if (owner === undefined) return undefined;
      const map = await service.discovery.rootMap(owner.member);
      if ("kind" in map || !map.prefixCollections.has("Managers")) return undefined;
      // Only for a Manager the BMC has, and only when the BMC serves no diagnostics of its own:
      // otherwise the member resource path answers (the BMC's own resource, its 404, its outage).
      const manager = await service.reader.get(owner.member, owner.managerPath);
      if (manager.kind === "missing" || manager.statusCode !== 200 || !isObject(manager.json)) return undefined;
      if (manager.json[MANAGER_DIAGNOSTIC_DATA_SEGMENT] !== undefined) return undefined;
      return servedResource(managerDiagnosticData(owner.member, path, owner.diagnostics));
    },

    decorate(member, path, body) {
      if (member.diagnostics === undefined || body[MANAGER_DIAGNOSTIC_DATA_SEGMENT] !== undefined) return undefined;
      if (!managerTypeHasDiagnostics(body["@odata.type"])) return undefined;
      // `path` is canonical (`/redfish/v1/Managers/<member>_<id>`, segments encoded): a member Manager.
      if (!/^\/redfish\/v1\/Managers\/[^/]+$/.test(path)) return undefined;
      return {
        ...body,
        [MANAGER_DIAGNOSTIC_DATA_SEGMENT]: { "@odata.id": `${path}/${MANAGER_DIAGNOSTIC_DATA_SEGMENT}` },
      };
    },
  };
}
