// EventDestination as the console sees it: a POST body checked into an EventSubscription (every
// bad property named, with the Base registry message for it), the resource served for one, and
// which events a subscription wants (RegistryPrefixes, MessageIds, ResourceTypes, OriginResources
// with SubordinateResources; an empty list means no restriction).
import { baseMessage, type RedfishMessage } from "../redfish-error.ts";
import { messageIdMatches } from "./event-filter.ts";
import { resourceTypeOf } from "./resource-type.ts";
import {
  CONTEXT_MAX_CHARACTERS,
  DELIVERY_RETRY_POLICIES,
  DESTINATION_MAX_CHARACTERS,
  type DeliveryRetryPolicy,
  type EventSubscription,
  SUBSCRIPTION_FILTER_ENTRIES_MAX,
  SUBSCRIPTION_FILTER_ENTRY_MAX_CHARACTERS,
} from "./subscription-state.ts";

export const SUBSCRIPTIONS_URI = "/redfish/v1/EventService/Subscriptions";
export const SUSPEND_ACTION = "EventDestination.SuspendSubscription";
export const RESUME_ACTION = "EventDestination.ResumeSubscription";

/** Properties a POST may set; anything else is PropertyUnknown (or PropertyNotWritable when read-only). */
const CREATE_PROPERTIES = new Set([
  "Destination",
  "Context",
  "Protocol",
  "SubscriptionType",
  "EventFormatType",
  "RegistryPrefixes",
  "MessageIds",
  "ResourceTypes",
  "OriginResources",
  "SubordinateResources",
  "DeliveryRetryPolicy",
]);
const READ_ONLY_PROPERTIES = new Set(["@odata.id", "@odata.type", "Id", "Name", "Status", "Actions"]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function jsonText(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 128 ? `${text.slice(0, 128)}...` : text;
}

function stringList(
  body: Record<string, unknown>,
  name: string,
  problems: RedfishMessage[],
  allowed?: readonly string[],
): string[] {
  const value = body[name];
  if (value === undefined) return [];
  if (
    !Array.isArray(value) ||
    value.some((v) => typeof v !== "string" || v.length > SUBSCRIPTION_FILTER_ENTRY_MAX_CHARACTERS) ||
    value.length > SUBSCRIPTION_FILTER_ENTRIES_MAX
  ) {
    problems.push(baseMessage("PropertyValueTypeError", [jsonText(value), name], [`/${name}`]));
    return [];
  }
  const list = value as string[];
  if (allowed !== undefined) {
    for (const [index, entry] of list.entries()) {
      if (!allowed.includes(entry))
        problems.push(baseMessage("PropertyValueNotInList", [entry, name], [`/${name}/${index}`]));
    }
  }
  return [...new Set(list)];
}

export interface SubscriptionRules {
  readonly registryPrefixes: readonly string[];
  readonly resourceTypes: readonly string[];
}

/** A POST body as a subscription with `id`, or the messages saying what is wrong with it. */
export function parseNewSubscription(
  id: string,
  body: unknown,
  rules: SubscriptionRules,
): EventSubscription | readonly [RedfishMessage, ...RedfishMessage[]] {
  if (!isObject(body)) return [baseMessage("MalformedJSON")];
  const problems: RedfishMessage[] = [];
  for (const name of Object.keys(body)) {
    if (READ_ONLY_PROPERTIES.has(name)) problems.push(baseMessage("PropertyNotWritable", [name], [`/${name}`]));
    else if (!CREATE_PROPERTIES.has(name)) problems.push(baseMessage("PropertyUnknown", [name], [`/${name}`]));
  }
  const destination = body.Destination;
  if (destination === undefined) problems.push(baseMessage("PropertyMissing", ["Destination"], ["/Destination"]));
  else if (typeof destination !== "string" || !isDeliverableUrl(destination)) {
    problems.push(baseMessage("PropertyValueFormatError", [jsonText(destination), "Destination"], ["/Destination"]));
  }
  const fixed: [string, unknown, string][] = [
    ["Protocol", body.Protocol, "Redfish"],
    ["SubscriptionType", body.SubscriptionType, "RedfishEvent"],
    ["EventFormatType", body.EventFormatType, "Event"],
  ];
  for (const [name, value, only] of fixed) {
    if (value !== undefined && value !== only) {
      problems.push(baseMessage("PropertyValueNotInList", [jsonText(value), name], [`/${name}`]));
    }
  }
  const context = body.Context ?? "";
  if (typeof context !== "string" || context.length > CONTEXT_MAX_CHARACTERS) {
    problems.push(baseMessage("PropertyValueFormatError", [jsonText(context), "Context"], ["/Context"]));
  }
  const policy = body.DeliveryRetryPolicy ?? "SuspendRetries";
  if (!(DELIVERY_RETRY_POLICIES as readonly unknown[]).includes(policy)) {
    problems.push(
      baseMessage("PropertyValueNotInList", [jsonText(policy), "DeliveryRetryPolicy"], ["/DeliveryRetryPolicy"]),
    );
  }
  const subordinate = body.SubordinateResources ?? false;
  if (typeof subordinate !== "boolean") {
    problems.push(
      baseMessage("PropertyValueTypeError", [jsonText(subordinate), "SubordinateResources"], ["/SubordinateResources"]),
    );
  }
  const registryPrefixes = stringList(body, "RegistryPrefixes", problems, rules.registryPrefixes);
  const messageIds = stringList(body, "MessageIds", problems);
  for (const [index, messageId] of messageIds.entries()) {
    const prefix = messageId.split(".")[0] ?? "";
    if (!rules.registryPrefixes.includes(prefix) || !messageId.includes(".")) {
      problems.push(baseMessage("PropertyValueNotInList", [messageId, "MessageIds"], [`/MessageIds/${index}`]));
    }
  }
  const resourceTypes = stringList(body, "ResourceTypes", problems, rules.resourceTypes);
  const origins: string[] = [];
  const originValue = body.OriginResources;
  if (originValue !== undefined) {
    if (!Array.isArray(originValue) || originValue.length > SUBSCRIPTION_FILTER_ENTRIES_MAX) {
      problems.push(
        baseMessage("PropertyValueTypeError", [jsonText(originValue), "OriginResources"], ["/OriginResources"]),
      );
    } else {
      for (const [index, origin] of originValue.entries()) {
        const uri = isObject(origin) ? origin["@odata.id"] : undefined;
        if (
          typeof uri !== "string" ||
          !uri.startsWith("/redfish/v1/") ||
          uri.length > SUBSCRIPTION_FILTER_ENTRY_MAX_CHARACTERS
        ) {
          problems.push(
            baseMessage(
              "PropertyValueFormatError",
              [jsonText(origin), "OriginResources"],
              [`/OriginResources/${index}`],
            ),
          );
        } else origins.push(uri.replace(/\/+$/, ""));
      }
    }
  }
  const [first, ...more] = problems;
  if (first !== undefined) return [first, ...more];
  return {
    id,
    destination: destination as string,
    context: context as string,
    registryPrefixes,
    messageIds,
    resourceTypes,
    originResources: origins,
    subordinateResources: subordinate as boolean,
    deliveryRetryPolicy: policy as DeliveryRetryPolicy,
    enabled: true,
  };
}

/** An http(s) URL with a host and no credentials in it, of a bounded length. */
export function isDeliverableUrl(text: string): boolean {
  if (text.length > DESTINATION_MAX_CHARACTERS) return false;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    (url.protocol === "http:" || url.protocol === "https:") &&
    url.hostname !== "" &&
    url.username === "" &&
    url.password === ""
  );
}

export function subscriptionUri(id: string): string {
  return `${SUBSCRIPTIONS_URI}/${id}`;
}

export function subscriptionResource(subscription: EventSubscription): Record<string, unknown> {
  const uri = subscriptionUri(subscription.id);
  return {
    "@odata.type": "#EventDestination.v1_14_0.EventDestination",
    "@odata.id": uri,
    Id: subscription.id,
    Name: "Event Subscription",
    Destination: subscription.destination,
    Context: subscription.context,
    Protocol: "Redfish",
    SubscriptionType: "RedfishEvent",
    EventFormatType: "Event",
    RegistryPrefixes: [...subscription.registryPrefixes],
    MessageIds: [...subscription.messageIds],
    ResourceTypes: [...subscription.resourceTypes],
    OriginResources: subscription.originResources.map((origin) => ({ "@odata.id": origin })),
    SubordinateResources: subscription.subordinateResources,
    DeliveryRetryPolicy: subscription.deliveryRetryPolicy,
    Status: { State: subscription.enabled ? "Enabled" : "Disabled", Health: "OK" },
    Actions: {
      [`#${SUSPEND_ACTION}`]: { target: `${uri}/Actions/${SUSPEND_ACTION}` },
      [`#${RESUME_ACTION}`]: { target: `${uri}/Actions/${RESUME_ACTION}` },
    },
  };
}

function originOf(record: Readonly<Record<string, unknown>>): string | undefined {
  const origin = record.OriginOfCondition;
  return isObject(origin) && typeof origin["@odata.id"] === "string"
    ? origin["@odata.id"].replace(/\/+$/, "")
    : undefined;
}

/** Whether a subscription wants an EventRecord. */
export function subscriptionWants(subscription: EventSubscription, record: Readonly<Record<string, unknown>>): boolean {
  const messageId = typeof record.MessageId === "string" ? record.MessageId : "";
  if (
    subscription.registryPrefixes.length > 0 &&
    !subscription.registryPrefixes.includes(messageId.split(".")[0] ?? "")
  ) {
    return false;
  }
  if (subscription.messageIds.length > 0 && !subscription.messageIds.some((id) => messageIdMatches(messageId, id))) {
    return false;
  }
  const origin = originOf(record);
  if (subscription.resourceTypes.length > 0) {
    const type = origin === undefined ? undefined : resourceTypeOf(origin);
    if (type === undefined || !subscription.resourceTypes.includes(type)) return false;
  }
  if (subscription.originResources.length > 0) {
    if (origin === undefined) return false;
    const wanted = subscription.originResources.some(
      (uri) => origin === uri || (subscription.subordinateResources && origin.startsWith(`${uri}/`)),
    );
    if (!wanted) return false;
  }
  return true;
}
