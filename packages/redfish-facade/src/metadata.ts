// The OData CSDL document /redfish/v1/$metadata: one reference per schema namespace the facade
// serves (its own types and every member type it has read), as DSP0266 asks of a service.

/** "#ComputerSystem.v1_27_0.ComputerSystem" -> ["ComputerSystem", "ComputerSystem.v1_27_0"]. */
function namespaces(odataType: string): string[] {
  const parts = odataType.replace(/^#/, "").split(".");
  const base = parts[0] ?? "";
  return parts.length === 3 ? [base, `${base}.${parts[1]}`] : [base];
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function metadataXml(types: readonly string[]): string {
  const byFile = new Map<string, Set<string>>();
  for (const type of types) {
    for (const namespace of namespaces(type)) {
      if (!/^[A-Za-z0-9_.]+$/.test(namespace)) continue;
      const base = namespace.split(".")[0] as string;
      const file = `http://redfish.dmtf.org/schemas/v1/${base}_v1.xml`;
      const set = byFile.get(file) ?? new Set<string>();
      set.add(namespace);
      byFile.set(file, set);
    }
  }
  const references = [...byFile.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(
      ([file, set]) =>
        `  <edmx:Reference Uri="${escapeXml(file)}">\n${[...set]
          .sort()
          .map((ns) => `    <edmx:Include Namespace="${escapeXml(ns)}"/>`)
          .join("\n")}\n  </edmx:Reference>`,
    );
  return `<?xml version="1.0" encoding="UTF-8"?>
<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx" Version="4.0">
${references.join("\n")}
  <edmx:DataServices>
    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm" Namespace="Service">
      <EntityContainer Name="Service" Extends="ServiceRoot.v1_20_0.ServiceContainer"/>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`;
}

/** The DMTF schema describing a resource, for `Link: <...>; rel=describedby`. */
export function schemaUrl(odataType: unknown): string | undefined {
  if (typeof odataType !== "string") return undefined;
  const [base, version] = namespaces(odataType);
  if (!base || !/^[A-Za-z0-9_.]+$/.test(version ?? base)) return undefined;
  return `http://redfish.dmtf.org/schemas/v1/${version ?? base}.json`;
}
