// Generates a Redfish tree for one BMC from a handful of parameters (node name, serial
// numbers, how many systems and chassis, firmware versions, sensors). It carries all its
// data itself: nothing is read from disk, so the demo runs anywhere.
import { createHash } from "node:crypto";
import type { GeneratorOptions } from "./options.ts";
import { CHASSIS_RESET_TYPES, MANAGER_RESET_TYPES, SYSTEM_RESET_TYPES } from "./power.ts";
import { type JsonValue, type Resource, ResourceStore } from "./store.ts";

export const MANAGER_ID = "bmc";
const V1 = "/redfish/v1";

function digest(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** A stable UUID per node and purpose, so a restarted simulator keeps its identity. */
export function stableUuid(seed: string): string {
  const h = digest(seed);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

function stableMac(seed: string): string {
  const h = digest(seed);
  // Locally administered, unicast: second nibble 2.
  const bytes = [`${h[0]}2`, h.slice(2, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10, 12)];
  return bytes.join(":").toUpperCase();
}

const ENABLED_OK = { State: "Enabled", Health: "OK" } as const;
const ENABLED_OK_ROLLUP = { State: "Enabled", Health: "OK", HealthRollup: "OK" } as const;

function link(uri: string): { "@odata.id": string } {
  return { "@odata.id": uri };
}

function collection(uri: string, type: string, name: string, memberUris: string[]): Resource {
  return {
    "@odata.type": `#${type}.${type}`,
    "@odata.id": uri,
    Name: name,
    Members: memberUris.map(link),
    "Members@odata.count": memberUris.length,
  };
}

export function systemIds(options: GeneratorOptions): string[] {
  return options.systemCount === 1
    ? ["system"]
    : Array.from({ length: options.systemCount }, (_, i) => `system${i + 1}`);
}

export function chassisIds(options: GeneratorOptions): string[] {
  return options.chassisCount === 1
    ? ["chassis"]
    : Array.from({ length: options.chassisCount }, (_, i) => `chassis${i + 1}`);
}

function serial(options: GeneratorOptions, index: number, kind: string): string {
  return (
    options.serialNumbers[index] ?? `${kind}${digest(`${options.nodeName}:${kind}:${index}`).slice(0, 8).toUpperCase()}`
  );
}

interface TemperatureSensor {
  id: string;
  name: string;
  context: string;
  reading: number;
  caution: number;
  critical: number;
}

const TEMPERATURE_SENSORS: readonly Omit<TemperatureSensor, "reading">[] = [
  { id: "Ambient_Temp", name: "Ambient Temp", context: "Intake", caution: 40, critical: 45 },
  { id: "Exhaust_Temp", name: "Exhaust Temp", context: "Exhaust", caution: 65, critical: 75 },
  { id: "CPU0_Temp", name: "CPU0 Temp", context: "CPU", caution: 85, critical: 95 },
  { id: "CPU1_Temp", name: "CPU1 Temp", context: "CPU", caution: 85, critical: 95 },
  { id: "DIMM_Bank_A_Temp", name: "DIMM Bank A Temp", context: "Memory", caution: 80, critical: 90 },
  { id: "DIMM_Bank_B_Temp", name: "DIMM Bank B Temp", context: "Memory", caution: 80, critical: 90 },
  { id: "PCH_Temp", name: "PCH Temp", context: "SystemBoard", caution: 80, critical: 90 },
  { id: "VR_Temp", name: "VR Temp", context: "VoltageRegulator", caution: 90, critical: 100 },
];

function temperatureSensors(count: number, seed: string): TemperatureSensor[] {
  return Array.from({ length: count }, (_, i) => {
    const base = TEMPERATURE_SENSORS[i % TEMPERATURE_SENSORS.length] as Omit<TemperatureSensor, "reading">;
    const round = Math.floor(i / TEMPERATURE_SENSORS.length);
    const suffix = round === 0 ? "" : `_${round}`;
    const jitter = Number.parseInt(digest(`${seed}:${i}`).slice(0, 2), 16) / 32;
    const typical = base.context === "Intake" ? 23 : base.context === "Exhaust" ? 38 : base.context === "CPU" ? 52 : 41;
    return {
      ...base,
      id: `${base.id}${suffix}`,
      name: `${base.name}${suffix.replace("_", " ")}`,
      reading: Math.round((typical + jitter) * 10) / 10,
    };
  });
}

function sensor(
  uri: string,
  id: string,
  name: string,
  readingType: string,
  reading: number,
  units: string,
  context: string,
  extra: Resource = {},
): Resource {
  return {
    "@odata.type": "#Sensor.v1_12_0.Sensor",
    "@odata.id": uri,
    Id: id,
    Name: name,
    ReadingType: readingType,
    Reading: reading,
    ReadingUnits: units,
    PhysicalContext: context,
    Status: { ...ENABLED_OK },
    ...extra,
  };
}

function addChassisEnvironment(
  store: ResourceStore,
  options: GeneratorOptions,
  chassisUri: string,
  index: number,
): void {
  const sensorUris: string[] = [];
  const sensorsUri = `${chassisUri}/Sensors`;
  const temps = temperatureSensors(options.sensors.temperatureSensorCount, `${options.nodeName}:${index}`);
  for (const t of temps) {
    const uri = `${sensorsUri}/${t.id}`;
    sensorUris.push(uri);
    store.put(
      sensor(uri, t.id, t.name, "Temperature", t.reading, "Cel", t.context, {
        Thresholds: { UpperCaution: { Reading: t.caution }, UpperCritical: { Reading: t.critical } },
      }),
    );
  }
  const fanUris: string[] = [];
  for (let f = 0; f < options.sensors.fanCount; f++) {
    const id = `Fan${f}_Tach`;
    const uri = `${sensorsUri}/${id}`;
    sensorUris.push(uri);
    const rpm = 7800 + (Number.parseInt(digest(`${options.nodeName}:fan:${index}:${f}`).slice(0, 3), 16) % 900);
    store.put(sensor(uri, id, `Fan${f} Tach`, "Rotational", rpm, "RPM", "Fan", { SpeedRPM: rpm }));
    const fanUri = `${chassisUri}/ThermalSubsystem/Fans/Fan${f}`;
    fanUris.push(fanUri);
    store.put({
      "@odata.type": "#Fan.v1_6_0.Fan",
      "@odata.id": fanUri,
      Id: `Fan${f}`,
      Name: `Fan ${f}`,
      PhysicalContext: "SystemBoard",
      HotPluggable: true,
      Replaceable: true,
      Status: { ...ENABLED_OK },
      SpeedPercent: { DataSourceUri: uri, SpeedRPM: rpm, Reading: Math.round((rpm / 16000) * 100) },
      LocationIndicatorActive: false,
    });
  }
  const psuUris: string[] = [];
  for (let p = 0; p < options.sensors.powerSupplyCount; p++) {
    const powerId = `PSU${p}_Input_Power`;
    const voltageId = `PSU${p}_Input_Voltage`;
    const watts = 180 + (Number.parseInt(digest(`${options.nodeName}:psu:${index}:${p}`).slice(0, 2), 16) % 60);
    store.put(sensor(`${sensorsUri}/${powerId}`, powerId, `PSU${p} Input Power`, "Power", watts, "W", "PowerSupply"));
    store.put(
      sensor(`${sensorsUri}/${voltageId}`, voltageId, `PSU${p} Input Voltage`, "Voltage", 230, "V", "PowerSupply"),
    );
    sensorUris.push(`${sensorsUri}/${powerId}`, `${sensorsUri}/${voltageId}`);
    const psuUri = `${chassisUri}/PowerSubsystem/PowerSupplies/PSU${p}`;
    psuUris.push(psuUri);
    store.put({
      "@odata.type": "#PowerSupply.v1_6_0.PowerSupply",
      "@odata.id": psuUri,
      Id: `PSU${p}`,
      Name: `Power Supply ${p}`,
      Manufacturer: options.manufacturer,
      Model: "CS-PSU-1600",
      SerialNumber: serial(options, 1000 + index * 8 + p, "PSU"),
      PartNumber: "CS-PSU-1600-01",
      FirmwareVersion: "1.2.0",
      PowerCapacityWatts: 1600,
      PowerSupplyType: "AC",
      HotPluggable: true,
      Replaceable: true,
      Status: { ...ENABLED_OK },
      LocationIndicatorActive: false,
    });
  }
  store.put(collection(sensorsUri, "SensorCollection", "Sensors", sensorUris));
  store.put({
    "@odata.type": "#ThermalSubsystem.v1_5_0.ThermalSubsystem",
    "@odata.id": `${chassisUri}/ThermalSubsystem`,
    Id: "ThermalSubsystem",
    Name: "Thermal Subsystem",
    Status: { ...ENABLED_OK_ROLLUP },
    Fans: link(`${chassisUri}/ThermalSubsystem/Fans`),
    ThermalMetrics: link(`${chassisUri}/ThermalSubsystem/ThermalMetrics`),
  });
  store.put(collection(`${chassisUri}/ThermalSubsystem/Fans`, "FanCollection", "Fans", fanUris));
  store.put({
    "@odata.type": "#ThermalMetrics.v1_3_2.ThermalMetrics",
    "@odata.id": `${chassisUri}/ThermalSubsystem/ThermalMetrics`,
    Id: "ThermalMetrics",
    Name: "Thermal Metrics",
    TemperatureReadingsCelsius: temps.map((t) => ({
      DataSourceUri: `${sensorsUri}/${t.id}`,
      Reading: t.reading,
      DeviceName: t.name,
    })),
  });
  store.put({
    "@odata.type": "#PowerSubsystem.v1_1_3.PowerSubsystem",
    "@odata.id": `${chassisUri}/PowerSubsystem`,
    Id: "PowerSubsystem",
    Name: "Power Subsystem",
    Status: { ...ENABLED_OK_ROLLUP },
    PowerSupplies: link(`${chassisUri}/PowerSubsystem/PowerSupplies`),
  });
  store.put(
    collection(`${chassisUri}/PowerSubsystem/PowerSupplies`, "PowerSupplyCollection", "Power Supplies", psuUris),
  );
}

/** Builds the hardware part of the tree (root, systems, chassis, manager, firmware inventory). */
export function generateTree(options: GeneratorOptions, now: Date = new Date()): ResourceStore {
  const store = new ResourceStore();
  const node = options.nodeName;
  const timestamp = now.toISOString();
  const managerUri = `${V1}/Managers/${MANAGER_ID}`;
  const systems = systemIds(options);
  const chassis = chassisIds(options);
  const chassisOf = (systemIndex: number): string => `${V1}/Chassis/${chassis[systemIndex % chassis.length]}`;

  store.put({
    "@odata.type": "#ServiceRoot.v1_20_0.ServiceRoot",
    "@odata.id": V1,
    Id: "RootService",
    Name: "Root Service",
    RedfishVersion: "1.21.0",
    UUID: stableUuid(`${node}:service`),
    Vendor: "Conclave",
    Product: `Conclave BMC simulator (${node})`,
    Systems: link(`${V1}/Systems`),
    Chassis: link(`${V1}/Chassis`),
    Managers: link(`${V1}/Managers`),
    Links: {},
  });

  const systemUris = systems.map((id) => `${V1}/Systems/${id}`);
  store.put(collection(`${V1}/Systems`, "ComputerSystemCollection", "Computer System Collection", systemUris));
  systems.forEach((id, i) => {
    const uri = `${V1}/Systems/${id}`;
    const cpuUris = Array.from({ length: options.cpuCountPerSystem }, (_, c) => `${uri}/Processors/CPU${c}`);
    store.put({
      "@odata.type": "#ComputerSystem.v1_27_0.ComputerSystem",
      "@odata.id": uri,
      Id: id,
      Name: id,
      SystemType: "Physical",
      Manufacturer: options.manufacturer,
      Model: options.model,
      SerialNumber: serial(options, i, "SYS"),
      PartNumber: "CS-2200-MB",
      SKU: "CS-2200",
      UUID: stableUuid(`${node}:system:${i}`),
      HostName: systems.length === 1 ? `${node}-host` : `${node}-host${i + 1}`,
      AssetTag: "",
      IndicatorLED: "Off",
      LocationIndicatorActive: false,
      PowerState: options.initialPowerState,
      PowerRestorePolicy: "LastState",
      LastResetTime: timestamp,
      BiosVersion: options.biosVersion,
      Status: { ...ENABLED_OK_ROLLUP },
      BootProgress: {
        LastState: options.initialPowerState === "On" ? "OSRunning" : "None",
        LastStateTime: timestamp,
      },
      Boot: {
        BootSourceOverrideEnabled: "Disabled",
        BootSourceOverrideMode: "UEFI",
        BootSourceOverrideTarget: "None",
        "BootSourceOverrideTarget@Redfish.AllowableValues": [
          "None",
          "Pxe",
          "Hdd",
          "Cd",
          "Usb",
          "Diags",
          "BiosSetup",
          "UefiShell",
          "UefiHttp",
        ],
      },
      ProcessorSummary: {
        Count: options.cpuCountPerSystem,
        CoreCount: options.cpuCountPerSystem * 32,
        LogicalProcessorCount: options.cpuCountPerSystem * 64,
        Model: "Simulated Xeon-class CPU",
        Status: { ...ENABLED_OK_ROLLUP },
      },
      MemorySummary: {
        TotalSystemMemoryGiB: options.memoryGiBPerSystem,
        Status: { ...ENABLED_OK_ROLLUP },
      },
      Processors: link(`${uri}/Processors`),
      Links: {
        Chassis: [link(chassisOf(i))],
        ManagedBy: [link(managerUri)],
      },
      Actions: {
        "#ComputerSystem.Reset": {
          target: `${uri}/Actions/ComputerSystem.Reset`,
          "ResetType@Redfish.AllowableValues": [...SYSTEM_RESET_TYPES],
        },
      },
    });
    store.put(collection(`${uri}/Processors`, "ProcessorCollection", "Processor Collection", cpuUris));
    cpuUris.forEach((cpuUri, c) => {
      store.put({
        "@odata.type": "#Processor.v1_22_0.Processor",
        "@odata.id": cpuUri,
        Id: `CPU${c}`,
        Name: `Processor ${c}`,
        Socket: `CPU ${c}`,
        ProcessorType: "CPU",
        ProcessorArchitecture: "x86",
        InstructionSet: "x86-64",
        Manufacturer: "Simulated Silicon",
        Model: "Simulated Xeon-class CPU",
        MaxSpeedMHz: 3800,
        TotalCores: 32,
        TotalThreads: 64,
        Status: { ...ENABLED_OK },
      });
    });
  });

  const chassisUris = chassis.map((id) => `${V1}/Chassis/${id}`);
  store.put(collection(`${V1}/Chassis`, "ChassisCollection", "Chassis Collection", chassisUris));
  chassis.forEach((id, c) => {
    const uri = `${V1}/Chassis/${id}`;
    const contained = systemUris.filter((_, i) => i % chassis.length === c);
    store.put({
      "@odata.type": "#Chassis.v1_28_0.Chassis",
      "@odata.id": uri,
      Id: id,
      Name: id,
      ChassisType: "RackMount",
      Manufacturer: options.manufacturer,
      Model: options.model,
      SerialNumber: serial(options, systems.length + c, "CHS"),
      PartNumber: "CS-2200-CH",
      AssetTag: "",
      IndicatorLED: "Off",
      LocationIndicatorActive: false,
      PowerState: options.initialPowerState,
      Status: { ...ENABLED_OK_ROLLUP },
      Sensors: link(`${uri}/Sensors`),
      ThermalSubsystem: link(`${uri}/ThermalSubsystem`),
      PowerSubsystem: link(`${uri}/PowerSubsystem`),
      Links: {
        ComputerSystems: contained.map(link),
        ManagedBy: [link(managerUri)],
        ...(c === 0 ? { ManagersInChassis: [link(managerUri)] } : {}),
      },
      Actions: {
        "#Chassis.Reset": {
          target: `${uri}/Actions/Chassis.Reset`,
          "ResetType@Redfish.AllowableValues": [...CHASSIS_RESET_TYPES],
        },
      },
    });
    addChassisEnvironment(store, options, uri, c);
  });

  const bmcInventory = `${V1}/UpdateService/FirmwareInventory/bmc`;
  store.put(collection(`${V1}/Managers`, "ManagerCollection", "Manager Collection", [managerUri]));
  store.put({
    "@odata.type": "#Manager.v1_24_0.Manager",
    "@odata.id": managerUri,
    Id: MANAGER_ID,
    Name: `${node} BMC`,
    Description: "Baseboard Management Controller",
    ManagerType: "BMC",
    Manufacturer: options.manufacturer,
    Model: "Simulated OpenBMC",
    FirmwareVersion: options.bmcFirmwareVersion,
    UUID: stableUuid(`${node}:manager`),
    ServiceEntryPointUUID: stableUuid(`${node}:service`),
    ServiceIdentification: node,
    DateTime: timestamp,
    DateTimeLocalOffset: "+00:00",
    LastResetTime: timestamp,
    PowerState: "On",
    LocationIndicatorActive: false,
    Status: { ...ENABLED_OK_ROLLUP },
    EthernetInterfaces: link(`${managerUri}/EthernetInterfaces`),
    Links: {
      ManagerForServers: systemUris.map(link),
      ManagerForChassis: chassisUris.map(link),
      ManagerInChassis: link(chassisUris[0] as string),
      ActiveSoftwareImage: link(bmcInventory),
      SoftwareImages: [link(bmcInventory)],
    },
    Actions: {
      "#Manager.Reset": {
        target: `${managerUri}/Actions/Manager.Reset`,
        "ResetType@Redfish.AllowableValues": [...MANAGER_RESET_TYPES],
      },
    },
  });
  store.put(
    collection(
      `${managerUri}/EthernetInterfaces`,
      "EthernetInterfaceCollection",
      "Ethernet Network Interface Collection",
      [`${managerUri}/EthernetInterfaces/eth0`],
    ),
  );
  const mac = stableMac(`${node}:eth0`);
  store.put({
    "@odata.type": "#EthernetInterface.v1_12_4.EthernetInterface",
    "@odata.id": `${managerUri}/EthernetInterfaces/eth0`,
    Id: "eth0",
    Name: "Manager Ethernet Interface",
    Description: "Management Network Interface",
    MACAddress: mac,
    PermanentMACAddress: mac,
    InterfaceEnabled: true,
    LinkStatus: "LinkUp",
    SpeedMbps: 1000,
    FullDuplex: true,
    HostName: node,
    FQDN: `${node}.local`,
    IPv4Addresses: [{ Address: "127.0.0.1", SubnetMask: "255.0.0.0", AddressOrigin: "Static", Gateway: "0.0.0.0" }],
    Status: { ...ENABLED_OK },
  });

  const inventory: Array<[string, JsonValue]> = [
    [
      bmcInventory,
      {
        "@odata.type": "#SoftwareInventory.v1_13_0.SoftwareInventory",
        "@odata.id": bmcInventory,
        Id: "bmc",
        Name: "BMC Firmware",
        Description: "BMC image",
        Version: options.bmcFirmwareVersion,
        Manufacturer: options.manufacturer,
        SoftwareId: "conclave-bmc",
        Updateable: true,
        WriteProtected: false,
        Status: { ...ENABLED_OK },
        RelatedItem: [link(managerUri)],
      },
    ],
  ];
  systems.forEach((id, i) => {
    const biosUri = `${V1}/UpdateService/FirmwareInventory/${systems.length === 1 ? "bios" : `bios_${id}`}`;
    inventory.push([
      biosUri,
      {
        "@odata.type": "#SoftwareInventory.v1_13_0.SoftwareInventory",
        "@odata.id": biosUri,
        Id: systems.length === 1 ? "bios" : `bios_${id}`,
        Name: `Host Firmware (${id})`,
        Description: "Host BIOS image",
        Version: options.biosVersion,
        Manufacturer: options.manufacturer,
        SoftwareId: "conclave-bios",
        Updateable: true,
        WriteProtected: false,
        Status: { ...ENABLED_OK },
        RelatedItem: [link(systemUris[i] as string)],
      },
    ]);
  });
  store.put(
    collection(
      `${V1}/UpdateService/FirmwareInventory`,
      "SoftwareInventoryCollection",
      "Software Inventory Collection",
      inventory.map(([uri]) => uri),
    ),
  );
  for (const [, resource] of inventory) store.put(resource as Resource);
  return store;
}
