// The Redfish resource type (schema name) of a URI, for `$filter=ResourceType eq 'ComputerSystem'`:
// read from the collection the resource sits in. A URI whose collection is not listed has no
// known type and matches no ResourceType filter.

/** Collection segment -> the type of its members (DMTF schema names). */
const MEMBER_TYPES: Readonly<Record<string, string>> = Object.freeze({
  Systems: "ComputerSystem",
  Chassis: "Chassis",
  Managers: "Manager",
  Processors: "Processor",
  Memory: "Memory",
  Storage: "Storage",
  Drives: "Drive",
  Volumes: "Volume",
  Controllers: "StorageController",
  EthernetInterfaces: "EthernetInterface",
  NetworkAdapters: "NetworkAdapter",
  PCIeDevices: "PCIeDevice",
  PCIeFunctions: "PCIeFunction",
  PowerSupplies: "PowerSupply",
  Fans: "Fan",
  Sensors: "Sensor",
  LogServices: "LogService",
  Entries: "LogEntry",
  Tasks: "Task",
  FirmwareInventory: "SoftwareInventory",
  SoftwareInventory: "SoftwareInventory",
  Certificates: "Certificate",
  Accounts: "ManagerAccount",
  Sessions: "Session",
  AggregationSources: "AggregationSource",
  Aggregates: "Aggregate",
  Subscriptions: "EventDestination",
  Registries: "MessageRegistryFile",
});

/** Singletons by their own segment (their parent is a resource, not a collection). */
const SINGLETON_TYPES: Readonly<Record<string, string>> = Object.freeze({
  Power: "Power",
  Thermal: "Thermal",
  PowerSubsystem: "PowerSubsystem",
  ThermalSubsystem: "ThermalSubsystem",
  Bios: "Bios",
  SecureBoot: "SecureBoot",
  NetworkProtocol: "ManagerNetworkProtocol",
  EventService: "EventService",
  UpdateService: "UpdateService",
  TaskService: "TaskService",
  SessionService: "SessionService",
  AccountService: "AccountService",
  AggregationService: "AggregationService",
});

export function resourceTypeOf(uri: string): string | undefined {
  const segments = uri
    .replace(/[?#].*$/, "")
    .replace(/\/+$/, "")
    .split("/")
    .slice(3);
  const last = segments.at(-1);
  if (last === undefined) return uri.replace(/\/+$/, "") === "/redfish/v1" ? "ServiceRoot" : undefined;
  const parent = segments.at(-2);
  if (parent !== undefined && MEMBER_TYPES[parent] !== undefined) return MEMBER_TYPES[parent];
  return SINGLETON_TYPES[last];
}
