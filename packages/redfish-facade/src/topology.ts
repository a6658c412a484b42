// One tree across BMC boundaries: where member chassis sit (in a facade-level enclosure or rack,
// or in another member's chassis), which managers manage what, and which system supplies which
// (a DPU and its host). From this the facade adds `Links.ContainedBy` / `Contains` / `ManagedBy`
// / `ManagerForChassis` / `ManagerForServers` / `SupplyingComputerSystems` /
// `ConsumingComputerSystems` to the resources it serves, on both ends of every relation.
import { MEMBER_NAME_PATTERN } from "./facade-cluster.ts";
import { PREFIX_SEPARATOR } from "./member-uri.ts";
import { encodeSegment } from "./request-path.ts";

/** A member's resource, named as the member itself names it: member name and the id in its collection. */
export interface MemberResourceRef {
  readonly member: string;
  readonly id: string;
}

/** Chassis types a facade-level enclosure may have (groups of BMCs, not a single board). */
export const ENCLOSURE_CHASSIS_TYPES = ["Rack", "RackGroup", "Enclosure", "Shelf", "Drawer", "Row", "Pod"] as const;
export type EnclosureChassisType = (typeof ENCLOSURE_CHASSIS_TYPES)[number];

/** A chassis the facade serves itself at `/redfish/v1/Chassis/<id>`, e.g. the rack the group is in. */
export interface TopologyEnclosure {
  readonly id: string;
  readonly name: string;
  readonly chassisType: EnclosureChassisType;
  /** Another enclosure this one sits in (a rack in a row). */
  readonly containedBy?: string;
}

export interface TopologyChassisPlacement {
  readonly chassis: MemberResourceRef;
  /** A facade enclosure id, or another member's chassis (a blade in a chassis whose own BMC manages it). */
  readonly containedBy: { readonly enclosure: string } | { readonly chassis: MemberResourceRef };
  /** Member managers that manage this chassis besides its own BMC. */
  readonly managedBy?: readonly MemberResourceRef[];
}

export interface TopologySystemLinks {
  readonly system: MemberResourceRef;
  /** Member managers that manage this system besides its own BMC. */
  readonly managedBy?: readonly MemberResourceRef[];
  /** Systems this one supplies resources to (a DPU -> its host): `SupplyingComputerSystems` on them. */
  readonly supplies?: readonly MemberResourceRef[];
}

export interface FacadeTopology {
  readonly enclosures?: readonly TopologyEnclosure[];
  readonly chassis?: readonly TopologyChassisPlacement[];
  readonly systems?: readonly TopologySystemLinks[];
}

/** Entries of all three lists together. */
export const MAX_TOPOLOGY_ENTRIES = 1_024;
/** Enclosure ids: what a facade Chassis id may be (no `_`, so never mistaken for a member resource). */
export const ENCLOSURE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/;
/** Longest member resource id in a topology reference. */
const MAX_REFERENCE_ID_LENGTH = 255;

export class TopologyError extends Error {
  readonly code = "FACADE_ERR_TOPOLOGY";
  constructor(message: string) {
    super(message);
    this.name = "TopologyError";
  }
}

/** The links the topology adds to one resource (facade URIs). */
export interface AddedLinks {
  containedBy?: string;
  readonly contains: string[];
  readonly managedBy: string[];
  readonly managerForChassis: string[];
  readonly managerForServers: string[];
  readonly supplying: string[];
  readonly consuming: string[];
}

export interface ResolvedTopology {
  readonly enclosures: readonly TopologyEnclosure[];
  /** Facade URI -> links to add to the resource there. */
  readonly links: ReadonlyMap<string, AddedLinks>;
}

export function memberResourceUri(collection: "Chassis" | "Systems" | "Managers", ref: MemberResourceRef): string {
  return `/redfish/v1/${collection}/${ref.member}${PREFIX_SEPARATOR}${encodeSegment(ref.id)}`;
}

export function enclosureUri(id: string): string {
  return `/redfish/v1/Chassis/${id}`;
}

function checkRef(ref: MemberResourceRef, where: string): void {
  if (typeof ref?.member !== "string" || !MEMBER_NAME_PATTERN.test(ref.member)) {
    throw new TopologyError(
      `${where}: member must be a member name (${MEMBER_NAME_PATTERN}), got ${JSON.stringify(ref?.member)}`,
    );
  }
  if (typeof ref.id !== "string" || ref.id === "" || ref.id.length > MAX_REFERENCE_ID_LENGTH || /[/\\]/.test(ref.id)) {
    throw new TopologyError(
      `${where}: id must be 1-${MAX_REFERENCE_ID_LENGTH} characters without '/', got ${JSON.stringify(ref.id)}`,
    );
  }
}

/** Validates a topology (plain messages naming the bad entry), and works out every added link. */
export function resolveTopology(
  topology: FacadeTopology | undefined,
  reservedChassisIds: readonly string[] = [],
): ResolvedTopology {
  const enclosures = topology?.enclosures ?? [];
  const placements = topology?.chassis ?? [];
  const systems = topology?.systems ?? [];
  if (enclosures.length + placements.length + systems.length > MAX_TOPOLOGY_ENTRIES) {
    throw new TopologyError(`a topology holds at most ${MAX_TOPOLOGY_ENTRIES} entries`);
  }
  const links = new Map<string, AddedLinks>();
  const at = (uri: string): AddedLinks => {
    let added = links.get(uri);
    if (added === undefined) {
      added = {
        contains: [],
        managedBy: [],
        managerForChassis: [],
        managerForServers: [],
        supplying: [],
        consuming: [],
      };
      links.set(uri, added);
    }
    return added;
  };
  const push = (list: string[], uri: string): void => {
    if (!list.includes(uri)) list.push(uri);
  };

  const enclosureIds = new Set<string>();
  for (const [i, enclosure] of enclosures.entries()) {
    const where = `topology.enclosures[${i}]`;
    if (typeof enclosure?.id !== "string" || !ENCLOSURE_ID_PATTERN.test(enclosure.id)) {
      throw new TopologyError(`${where}: id must match ${ENCLOSURE_ID_PATTERN}, got ${JSON.stringify(enclosure?.id)}`);
    }
    if (enclosureIds.has(enclosure.id) || reservedChassisIds.includes(enclosure.id)) {
      throw new TopologyError(`${where}: id ${JSON.stringify(enclosure.id)} is used twice`);
    }
    if (typeof enclosure.name !== "string" || enclosure.name === "")
      throw new TopologyError(`${where}: name is required`);
    if (!(ENCLOSURE_CHASSIS_TYPES as readonly string[]).includes(enclosure.chassisType)) {
      throw new TopologyError(
        `${where}: chassisType must be one of ${ENCLOSURE_CHASSIS_TYPES.join(", ")}, got ${JSON.stringify(enclosure.chassisType)}`,
      );
    }
    enclosureIds.add(enclosure.id);
  }
  for (const [i, enclosure] of enclosures.entries()) {
    if (enclosure.containedBy === undefined) continue;
    if (!enclosureIds.has(enclosure.containedBy) || enclosure.containedBy === enclosure.id) {
      throw new TopologyError(
        `topology.enclosures[${i}]: containedBy names no other enclosure: ${JSON.stringify(enclosure.containedBy)}`,
      );
    }
    at(enclosureUri(enclosure.id)).containedBy = enclosureUri(enclosure.containedBy);
    push(at(enclosureUri(enclosure.containedBy)).contains, enclosureUri(enclosure.id));
  }
  // An enclosure inside itself through others would make the tree a loop.
  for (const enclosure of enclosures) {
    const seen = new Set<string>([enclosure.id]);
    let next = enclosure.containedBy;
    while (next !== undefined) {
      if (seen.has(next)) throw new TopologyError(`topology.enclosures: ${enclosure.id} is contained in itself`);
      seen.add(next);
      next = enclosures.find((e) => e.id === next)?.containedBy;
    }
  }

  const placed = new Map<string, string>();
  for (const [i, placement] of placements.entries()) {
    const where = `topology.chassis[${i}]`;
    checkRef(placement?.chassis, `${where}.chassis`);
    const uri = memberResourceUri("Chassis", placement.chassis);
    if (placed.has(uri)) throw new TopologyError(`${where}: ${uri} is placed twice`);
    const container = placement.containedBy;
    let containerUri: string;
    if (container !== null && typeof container === "object" && "enclosure" in container) {
      if (!enclosureIds.has(container.enclosure)) {
        throw new TopologyError(`${where}: containedBy names no enclosure: ${JSON.stringify(container.enclosure)}`);
      }
      containerUri = enclosureUri(container.enclosure);
    } else if (container !== null && typeof container === "object" && "chassis" in container) {
      checkRef(container.chassis, `${where}.containedBy.chassis`);
      containerUri = memberResourceUri("Chassis", container.chassis);
      if (containerUri === uri) throw new TopologyError(`${where}: a chassis cannot contain itself`);
    } else {
      throw new TopologyError(`${where}: containedBy must be { enclosure } or { chassis }`);
    }
    placed.set(uri, containerUri);
    at(uri).containedBy = containerUri;
    push(at(containerUri).contains, uri);
    for (const [j, manager] of (placement.managedBy ?? []).entries()) {
      checkRef(manager, `${where}.managedBy[${j}]`);
      const managerUri = memberResourceUri("Managers", manager);
      push(at(uri).managedBy, managerUri);
      push(at(managerUri).managerForChassis, uri);
    }
  }
  for (const uri of placed.keys()) {
    const seen = new Set<string>([uri]);
    let next = placed.get(uri);
    while (next !== undefined) {
      if (seen.has(next)) throw new TopologyError(`topology.chassis: ${uri} is contained in itself`);
      seen.add(next);
      next = placed.get(next);
    }
  }

  for (const [i, entry] of systems.entries()) {
    const where = `topology.systems[${i}]`;
    checkRef(entry?.system, `${where}.system`);
    const uri = memberResourceUri("Systems", entry.system);
    for (const [j, manager] of (entry.managedBy ?? []).entries()) {
      checkRef(manager, `${where}.managedBy[${j}]`);
      const managerUri = memberResourceUri("Managers", manager);
      push(at(uri).managedBy, managerUri);
      push(at(managerUri).managerForServers, uri);
    }
    for (const [j, consumer] of (entry.supplies ?? []).entries()) {
      checkRef(consumer, `${where}.supplies[${j}]`);
      const consumerUri = memberResourceUri("Systems", consumer);
      if (consumerUri === uri) throw new TopologyError(`${where}: a system cannot supply itself`);
      push(at(uri).consuming, consumerUri);
      push(at(consumerUri).supplying, uri);
    }
  }
  return { enclosures: enclosures.map((e) => Object.freeze({ ...e })), links };
}

function asLinks(value: unknown): Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? { ...(value as Record<string, unknown>) }
    : {};
}

function addAll(links: Record<string, unknown>, name: string, uris: readonly string[]): void {
  if (uris.length === 0) return;
  const existing = Array.isArray(links[name]) ? (links[name] as unknown[]) : [];
  const have = new Set(existing.map((l) => (l as { "@odata.id"?: unknown })?.["@odata.id"]));
  const merged = [...existing, ...uris.filter((u) => !have.has(u)).map((u) => ({ "@odata.id": u }))];
  links[name] = merged;
  links[`${name}@odata.count`] = merged.length;
}

/** The resource with the topology's links added (a new object; the input is not changed). */
export function withTopologyLinks(
  resource: Record<string, unknown>,
  added: AddedLinks | undefined,
): Record<string, unknown> {
  if (added === undefined) return resource;
  const type = String(resource["@odata.type"] ?? "");
  const links = asLinks(resource.Links);
  if (type.startsWith("#Chassis.")) {
    if (added.containedBy !== undefined) links.ContainedBy = { "@odata.id": added.containedBy };
    addAll(links, "Contains", added.contains);
    addAll(links, "ManagedBy", added.managedBy);
  } else if (type.startsWith("#ComputerSystem.")) {
    addAll(links, "ManagedBy", added.managedBy);
    addAll(links, "SupplyingComputerSystems", added.supplying);
    addAll(links, "ConsumingComputerSystems", added.consuming);
  } else if (type.startsWith("#Manager.")) {
    addAll(links, "ManagerForChassis", added.managerForChassis);
    addAll(links, "ManagerForServers", added.managerForServers);
  } else {
    return resource;
  }
  return { ...resource, Links: links };
}
