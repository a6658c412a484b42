// The Conclave ClusterAlert record: what a member's event policy (`events.policy`, action `alert`
// or `handover`) puts in its own event stream right after the BMC event it alerts on. Numbered by
// the member like the event itself, it reaches every console exactly once across failovers (a
// record the PoC made up would be made again by each new PoC re-reading the member's buffer).
import { conclaveRecord } from "./conclave-registry.ts";

/** How much of the event's Message the alert repeats. */
export const CLUSTER_ALERT_MESSAGE_MAX_CHARACTERS = 512;

/**
 * The alert for `event` (a Redfish EventRecord as the BMC sent it), with the severity the policy
 * gave it (else the registry's Warning) and the event's own OriginOfCondition and timestamp.
 */
export function clusterAlertRecord(
  event: Readonly<Record<string, unknown>>,
  severity: string | undefined,
  now: () => Date = () => new Date(),
): Record<string, unknown> {
  const messageId = typeof event.MessageId === "string" ? event.MessageId : "(no MessageId)";
  const text = typeof event.Message === "string" ? event.Message.slice(0, CLUSTER_ALERT_MESSAGE_MAX_CHARACTERS) : "";
  const origin = event.OriginOfCondition;
  const originUri =
    typeof origin === "object" &&
    origin !== null &&
    typeof (origin as { "@odata.id"?: unknown })["@odata.id"] === "string"
      ? ((origin as { "@odata.id": string })["@odata.id"] as string)
      : undefined;
  const timestamp = typeof event.EventTimestamp === "string" ? event.EventTimestamp : now().toISOString();
  const record = conclaveRecord("ClusterAlert", [messageId, text], originUri ?? "", timestamp);
  if (originUri === undefined) delete record.OriginOfCondition;
  if (severity === "OK" || severity === "Warning" || severity === "Critical") record.MessageSeverity = severity;
  return record;
}
