// The Conclave message registry (Conclave.1.0.0): events of the cluster itself. The document lives
// in the package (the service runs without anything else) and is served at REGISTRY_DOCUMENT_URI;
// `conclaveRecord` builds an EventRecord from it, so a message can never drift from its registry.
import registry from "./Conclave.1.0.0.json" with { type: "json" };

export const CONCLAVE_REGISTRY_PREFIX = "Conclave";
export const CONCLAVE_REGISTRY_ID = "Conclave.1.0.0";
/** Message ids carry major.minor only (DSP0266 §9.6). */
export const CONCLAVE_MESSAGE_PREFIX = "Conclave.1.0";
export const REGISTRIES_URI = "/redfish/v1/Registries";
export const REGISTRY_FILE_URI = `${REGISTRIES_URI}/${CONCLAVE_REGISTRY_ID}`;
export const REGISTRY_DOCUMENT_URI = `${REGISTRY_FILE_URI}/${CONCLAVE_REGISTRY_ID}`;

export type ConclaveMessageKey = keyof typeof registry.Messages;

interface RegistryMessage {
  readonly Message: string;
  readonly MessageSeverity: "OK" | "Warning" | "Critical";
  readonly NumberOfArgs: number;
  readonly Resolution: string;
}

const MESSAGES = registry.Messages as unknown as Readonly<Record<string, RegistryMessage>>;

/** The registry document as served (a copy: callers may not change the package's). */
export function conclaveRegistryDocument(): Record<string, unknown> {
  return { ...structuredClone(registry), "@odata.id": REGISTRY_DOCUMENT_URI };
}

/** The MessageRegistryFile that points at the document. */
export function conclaveRegistryFile(): Record<string, unknown> {
  return {
    "@odata.type": "#MessageRegistryFile.v1_1_5.MessageRegistryFile",
    "@odata.id": REGISTRY_FILE_URI,
    Id: CONCLAVE_REGISTRY_ID,
    Name: "Conclave Message Registry File",
    Description: "Events of the Conclave cluster itself",
    Languages: ["en"],
    Registry: CONCLAVE_REGISTRY_ID,
    Location: [{ Language: "en", Uri: REGISTRY_DOCUMENT_URI }],
  };
}

/** One EventRecord of a Conclave message. Throws on a wrong argument count (a bug). */
export function conclaveRecord(
  key: ConclaveMessageKey,
  args: readonly string[],
  originOfCondition: string,
  timestamp: string,
): Record<string, unknown> {
  const entry = MESSAGES[key] as RegistryMessage;
  if (args.length !== entry.NumberOfArgs) throw new Error(`${key} takes ${entry.NumberOfArgs} arguments`);
  return {
    EventType: "Other",
    MemberId: "0",
    EventTimestamp: timestamp,
    MessageId: `${CONCLAVE_MESSAGE_PREFIX}.${key}`,
    Message: entry.Message.replace(/%(\d+)/g, (_match, n: string) => args[Number(n) - 1] ?? ""),
    MessageArgs: [...args],
    MessageSeverity: entry.MessageSeverity,
    Resolution: entry.Resolution,
    OriginOfCondition: { "@odata.id": originOfCondition },
  };
}
