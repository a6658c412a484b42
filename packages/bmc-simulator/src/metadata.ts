// The OData documents a Redfish service serves beside its resources: the CSDL $metadata
// (one reference per schema namespace the tree uses) and the service document /redfish/v1/odata.
import { isObject, type ResourceStore, SERVICE_ROOT } from "./store.ts";

/** "#ComputerSystem.v1_27_0.ComputerSystem" -> ["ComputerSystem", "ComputerSystem.v1_27_0"]. */
function namespaces(odataType: string): string[] {
  const parts = odataType.replace(/^#/, "").split(".");
  const base = parts[0] ?? "";
  return parts.length === 3 ? [base, `${base}.${parts[1]}`] : [base];
}

export function metadataXml(store: ResourceStore): string {
  const byFile = new Map<string, Set<string>>();
  const add = (namespace: string): void => {
    const base = namespace.split(".")[0] ?? namespace;
    const file = `http://redfish.dmtf.org/schemas/v1/${base}_v1.xml`;
    const set = byFile.get(file) ?? new Set<string>();
    set.add(namespace);
    byFile.set(file, set);
  };
  for (const uri of store.uris()) {
    const type = store.peek(uri)?.["@odata.type"];
    if (typeof type === "string") for (const ns of namespaces(type)) add(ns);
  }
  for (const ns of ["ServiceRoot", "Event", "Event.v1_13_0", "Message", "Message.v1_3_0"]) add(ns);
  const rootType = String(store.peek(SERVICE_ROOT)?.["@odata.type"] ?? "#ServiceRoot.v1_20_0.ServiceRoot");
  const rootNamespace = namespaces(rootType)[1] ?? "ServiceRoot.v1_20_0";
  const references = [...byFile.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([file, set]) =>
        `  <edmx:Reference Uri="${file}">\n${[...set]
          .sort()
          .map((ns) => `    <edmx:Include Namespace="${ns}"/>`)
          .join("\n")}\n  </edmx:Reference>`,
    );
  return `<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
${references.join("\n")}
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">
      <EntityContainer Name="Service" Extends="${rootNamespace}.ServiceContainer"/>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`;
}

export function odataServiceDocument(store: ResourceStore): Record<string, unknown> {
  const root = store.peek(SERVICE_ROOT) ?? {};
  const value: Array<{ name: string; kind: string; url: string }> = [
    { name: "Service", kind: "Singleton", url: "/redfish/v1/" },
  ];
  for (const [name, target] of Object.entries(root)) {
    if (isObject(target) && typeof target["@odata.id"] === "string" && name !== "Links") {
      value.push({ name, kind: "Singleton", url: target["@odata.id"] });
    }
  }
  return { "@odata.context": "/redfish/v1/$metadata", value };
}

/** The DMTF schema describing a resource, for `Link: <...>; rel=describedby`. */
export function schemaUrl(odataType: unknown): string | undefined {
  if (typeof odataType !== "string") return undefined;
  const [base, version] = namespaces(odataType);
  if (!base) return undefined;
  return `http://redfish.dmtf.org/schemas/v1/${version ?? base}.json`;
}
