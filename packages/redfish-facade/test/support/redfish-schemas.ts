// Copied from packages/bmc-simulator/test/redfish-schemas.ts (test code is not exported across packages).
// Loads the DMTF JSON schemas from ../shared/redfish/json-schema into one ajv validator and
// validates a payload against the versioned schema its @odata.type names.
//
// Load-time tweaks, all in this helper (the schemas on disk are untouched):
// - `$schema` (Redfish's own meta-schema URL) is dropped and ajv runs non-strict, since the
//   schemas carry Redfish keywords (readonly, longDescription, enumDescriptions, ...).
// - Each file gets `$id` = its file URL: odata-v4.json declares odata.v4_0_5.json as its $id,
//   but other files reference it as odata-v4.json.
// - References to schemas outside the set (Swordfish) become permissive.
// - In each unversioned file, the resource definition (an anyOf of idRef and every version)
//   becomes "an object with an @odata.id": a payload only links to other resources, and each
//   linked resource is validated on its own. Without this, compiling one schema pulls in every
//   version of every resource it can reach (25 s for ComputerSystem; 0.3 s with it).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv, type ValidateFunction } from "ajv";
import addFormatsModule from "ajv-formats";

const BASE = "http://redfish.dmtf.org/schemas/v1/";
type Json = { [key: string]: unknown };

// ajv-formats is CommonJS; its default export arrives wrapped under Node's ESM interop.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

export interface RedfishValidator {
  /** The schema file for an @odata.type, or undefined when the set has none. */
  schemaFor(odataType: string): string | undefined;
  /** Problems with the payload, empty when it is valid. */
  validate(payload: Record<string, unknown>): string[];
}

function stripMissingRefs(node: unknown, known: Set<string>): void {
  if (Array.isArray(node)) {
    for (const item of node) stripMissingRefs(item, known);
    return;
  }
  if (typeof node !== "object" || node === null) return;
  const object = node as Json;
  if (typeof object.$ref === "string" && object.$ref.startsWith("http")) {
    const file = object.$ref.split("#")[0] as string;
    if (!known.has(file)) delete object.$ref;
  }
  for (const value of Object.values(object)) stripMissingRefs(value, known);
}

let cached: RedfishValidator | undefined;

export function loadRedfishValidator(schemaDir: string): RedfishValidator {
  if (cached) return cached;
  const files = readdirSync(schemaDir).filter((f) => f.endsWith(".json"));
  const known = new Set(files.map((f) => BASE + f));
  const ajv = new Ajv({ strict: false, validateSchema: false, allErrors: true, inlineRefs: false });
  addFormats(ajv);
  for (const file of files) {
    const schema = JSON.parse(readFileSync(join(schemaDir, file), "utf8")) as Json;
    schema.$id = BASE + file;
    delete schema.$schema;
    const name = file.replace(/\.json$/, "");
    const definitions = schema.definitions as Record<string, Json> | undefined;
    const resource = definitions?.[name];
    const anyOf = resource?.anyOf as Json[] | undefined;
    if (
      !name.includes(".") &&
      definitions &&
      typeof anyOf?.[0]?.$ref === "string" &&
      anyOf[0].$ref.endsWith("#/definitions/idRef")
    ) {
      definitions[name] = {
        type: "object",
        required: ["@odata.id"],
        properties: { "@odata.id": { type: "string", format: "uri-reference" } },
      };
    }
    stripMissingRefs(schema, known);
    ajv.addSchema(schema);
  }
  const compiled = new Map<string, ValidateFunction>();
  const schemaFor = (odataType: string): string | undefined => {
    const match = /^#([A-Za-z0-9]+)\.(?:v(\d+)_(\d+)_(\d+)\.)?[A-Za-z0-9]+$/.exec(odataType);
    if (!match) return undefined;
    const [, type, major, minor, errata] = match;
    if (major === undefined) return files.includes(`${type}.json`) ? `${type}.json` : undefined;
    const exact = `${type}.v${major}_${minor}_${errata}.json`;
    if (files.includes(exact)) return exact;
    // The newest errata of the same major and minor.
    const prefix = `${type}.v${major}_${minor}_`;
    return files
      .filter((f) => f.startsWith(prefix))
      .sort((a, b) => Number(b.slice(prefix.length, -5)) - Number(a.slice(prefix.length, -5)))[0];
  };
  cached = {
    schemaFor,
    validate(payload) {
      const type = payload["@odata.type"];
      if (typeof type !== "string") return ["no @odata.type"];
      const file = schemaFor(type);
      if (file === undefined) return [`no schema for ${type}`];
      let validate = compiled.get(file);
      if (!validate) {
        validate = ajv.getSchema(BASE + file);
        if (!validate) return [`schema ${file} did not load`];
        compiled.set(file, validate);
      }
      if (validate(payload)) return [];
      return (validate.errors ?? []).map(
        (e) => `${file}${e.instancePath} ${e.message ?? ""} ${JSON.stringify(e.params)}`,
      );
    },
  };
  return cached;
}
