// The writes of the EventService: PATCH of its delivery settings, SubmitTestEvent, and the
// EventDestination lifecycle (POST to Subscriptions, PATCH Context / DeliveryRetryPolicy, DELETE,
// SuspendSubscription, ResumeSubscription). Each change is committed to the SubscriptionStore
// first; push delivery then follows the store. A store that cannot commit now (no quorum, a
// leader change) answers 503 with Retry-After; a policy without private destinations refuses a
// Destination on a private network (subscription-destination.ts) with 400.
import { randomUUID } from "node:crypto";
import type { FastifyReply } from "fastify";
import { RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import { CLUSTER_MANAGER_URI } from "../facade-resources.ts";
import { baseMessage, type RedfishMessage, sendRedfishError } from "../redfish-error.ts";
import {
  parseNewSubscription,
  RESUME_ACTION,
  SUSPEND_ACTION,
  type SubscriptionRules,
  subscriptionResource,
  subscriptionUri,
} from "./event-subscription.ts";
import {
  DEFAULT_SUBSCRIPTION_POLICY,
  type DestinationLookup,
  privateDestinationReason,
  type SubscriptionPolicy,
  systemLookup,
} from "./subscription-destination.ts";
import {
  DELIVERY_RETRY_POLICIES,
  type DeliveryRetryPolicy,
  type DeliverySettings,
  RETRY_ATTEMPTS_MAX,
  RETRY_INTERVAL_SECONDS_MAX,
  type SubscriptionChange,
  SubscriptionRuleViolation,
} from "./subscription-state.ts";
import { type SubscriptionStore, SubscriptionStoreUnavailableError } from "./subscription-store.ts";

export const SUBMIT_TEST_EVENT_ACTION = "EventService.SubmitTestEvent";
/** The longest text a test event may carry in one property. */
const TEST_EVENT_TEXT_MAX_CHARACTERS = 1_024;

export interface SubscriptionWritesInit {
  readonly store: SubscriptionStore;
  readonly rules: SubscriptionRules;
  /** Appends a record to the cluster's event stream (SSE and push). */
  readonly publish: (record: Record<string, unknown>) => void;
  /** Called after every committed change (push delivery follows it at once). */
  readonly changed: () => void;
  /** Which Destinations are accepted; none: DEFAULT_SUBSCRIPTION_POLICY (private ones too). */
  readonly policy?: SubscriptionPolicy;
  /** How a Destination's name is resolved for the policy; none: the system resolver. */
  readonly lookup?: DestinationLookup;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function sendJson(reply: FastifyReply, statusCode: number, body: unknown, headers: Record<string, string> = {}) {
  for (const [name, value] of Object.entries(headers)) reply.header(name, value);
  return reply.code(statusCode).type("application/json; charset=utf-8").send(JSON.stringify(body));
}

function sendProblems(reply: FastifyReply, problems: readonly RedfishMessage[]): FastifyReply {
  const [first, ...more] = problems;
  return sendRedfishError(reply, 400, first ?? baseMessage("GeneralError"), ...more);
}

export class SubscriptionWrites {
  private readonly init: SubscriptionWritesInit;

  constructor(init: SubscriptionWritesInit) {
    this.init = init;
  }

  private async commit(reply: FastifyReply, change: SubscriptionChange): Promise<FastifyReply | undefined> {
    try {
      await this.init.store.commit(change);
    } catch (error) {
      if (error instanceof SubscriptionStoreUnavailableError) {
        const seconds = String(RETRY_AFTER_SECONDS);
        reply.header("Retry-After", seconds);
        return sendRedfishError(reply, 503, baseMessage("ServiceTemporarilyUnavailable", [seconds]));
      }
      if (!(error instanceof SubscriptionRuleViolation)) throw error;
      if (error.rule === "limit") return sendRedfishError(reply, 400, baseMessage("EventSubscriptionLimitExceeded"));
      if (error.rule === "unknown") {
        return sendRedfishError(
          reply,
          404,
          baseMessage("ResourceNotFound", ["EventDestination", "id" in change ? change.id : ""]),
        );
      }
      return sendRedfishError(reply, 400, baseMessage("GeneralError"));
    }
    this.init.changed();
    return undefined;
  }

  /** PATCH /redfish/v1/EventService: DeliveryRetryAttempts and DeliveryRetryIntervalSeconds. */
  async patchService(reply: FastifyReply, body: unknown, serviceBody: () => Record<string, unknown>) {
    if (!isObject(body) || Object.keys(body).length === 0)
      return sendRedfishError(reply, 400, baseMessage("MalformedJSON"));
    const problems: RedfishMessage[] = [];
    const settings: { -readonly [K in keyof DeliverySettings]?: number } = {};
    for (const [name, value] of Object.entries(body)) {
      const key =
        name === "DeliveryRetryAttempts"
          ? "retryAttempts"
          : name === "DeliveryRetryIntervalSeconds"
            ? "retryIntervalSeconds"
            : undefined;
      if (key === undefined) {
        problems.push(baseMessage("PropertyNotWritable", [name], [`/${name}`]));
        continue;
      }
      const [min, max] = key === "retryAttempts" ? [0, RETRY_ATTEMPTS_MAX] : [1, RETRY_INTERVAL_SECONDS_MAX];
      if (typeof value !== "number" || !Number.isInteger(value)) {
        problems.push(baseMessage("PropertyValueTypeError", [JSON.stringify(value), name], [`/${name}`]));
      } else if (value < min || value > max) {
        problems.push(baseMessage("PropertyValueOutOfRange", [String(value), name], [`/${name}`]));
      } else settings[key] = value;
    }
    if (problems.length > 0) return sendProblems(reply, problems);
    const refused = await this.commit(reply, { type: "settings", settings });
    return refused ?? sendJson(reply, 200, serviceBody());
  }

  /** POST of EventService.SubmitTestEvent: one test event into the stream, to every console and subscriber. */
  submitTestEvent(reply: FastifyReply, body: unknown): FastifyReply {
    const input = body === undefined ? {} : body;
    if (!isObject(input)) return sendRedfishError(reply, 400, baseMessage("MalformedJSON"));
    const text = (name: string, fallback: string): string | RedfishMessage => {
      const value = input[name];
      if (value === undefined) return fallback;
      if (typeof value !== "string" || value.length > TEST_EVENT_TEXT_MAX_CHARACTERS) {
        return baseMessage("ActionParameterValueTypeError", [
          JSON.stringify(value).slice(0, 64),
          name,
          SUBMIT_TEST_EVENT_ACTION,
        ]);
      }
      return value;
    };
    const messageId = text("MessageId", "Conclave.1.0.TestEvent");
    const message = text("Message", "Test event.");
    const origin = text("OriginOfCondition", CLUSTER_MANAGER_URI);
    const severity = input.MessageSeverity ?? input.Severity ?? "OK";
    const problems = [messageId, message, origin].filter((v): v is RedfishMessage => typeof v !== "string");
    if (severity !== "OK" && severity !== "Warning" && severity !== "Critical") {
      problems.push(
        baseMessage("ActionParameterValueNotInList", [
          String(severity).slice(0, 64),
          "MessageSeverity",
          SUBMIT_TEST_EVENT_ACTION,
        ]),
      );
    }
    const args = input.MessageArgs ?? [];
    if (!Array.isArray(args) || args.some((a) => typeof a !== "string") || args.length > 16) {
      problems.push(
        baseMessage("ActionParameterValueTypeError", ["MessageArgs", "MessageArgs", SUBMIT_TEST_EVENT_ACTION]),
      );
    }
    if (problems.length > 0) return sendProblems(reply, problems);
    this.init.publish({
      EventType: "Other",
      MemberId: "0",
      EventTimestamp: new Date().toISOString(),
      MessageId: messageId as string,
      Message: message as string,
      MessageArgs: args as string[],
      MessageSeverity: severity,
      OriginOfCondition: { "@odata.id": origin as string },
    });
    return reply.code(204).send();
  }

  async create(reply: FastifyReply, body: unknown) {
    const id = randomUUID();
    const parsed = parseNewSubscription(id, body, this.init.rules);
    if (Array.isArray(parsed)) return sendProblems(reply, parsed);
    const subscription = parsed as Exclude<typeof parsed, readonly RedfishMessage[]>;
    const policy = this.init.policy ?? DEFAULT_SUBSCRIPTION_POLICY;
    if (!policy.allowPrivateDestinations) {
      const reason = await privateDestinationReason(subscription.destination, this.init.lookup ?? systemLookup);
      if (reason !== undefined) {
        // The Base message names the property and the value; the log says why it is private.
        reply.log.info({ destination: subscription.destination, reason }, "subscription refused: private destination");
        return sendRedfishError(
          reply,
          400,
          baseMessage("PropertyValueIncorrect", ["Destination", subscription.destination], ["/Destination"]),
        );
      }
    }
    const refused = await this.commit(reply, { type: "create", subscription });
    if (refused !== undefined) return refused;
    return sendJson(reply, 201, subscriptionResource(subscription), { Location: subscriptionUri(id) });
  }

  async patch(reply: FastifyReply, id: string, body: unknown) {
    if (this.init.store.get(id) === undefined)
      return sendRedfishError(reply, 404, baseMessage("ResourceNotFound", ["EventDestination", id]));
    if (!isObject(body) || Object.keys(body).length === 0)
      return sendRedfishError(reply, 400, baseMessage("MalformedJSON"));
    const problems: RedfishMessage[] = [];
    let context: string | undefined;
    let policy: DeliveryRetryPolicy | undefined;
    for (const [name, value] of Object.entries(body)) {
      if (name === "Context" && typeof value === "string" && value.length <= 256) context = value;
      else if (name === "Context")
        problems.push(baseMessage("PropertyValueFormatError", [JSON.stringify(value), name], ["/Context"]));
      else if (name === "DeliveryRetryPolicy" && (DELIVERY_RETRY_POLICIES as readonly unknown[]).includes(value)) {
        policy = value as DeliveryRetryPolicy;
      } else if (name === "DeliveryRetryPolicy") {
        problems.push(baseMessage("PropertyValueNotInList", [JSON.stringify(value), name], ["/DeliveryRetryPolicy"]));
      } else problems.push(baseMessage("PropertyNotWritable", [name], [`/${name}`]));
    }
    if (problems.length > 0) return sendProblems(reply, problems);
    const refused = await this.commit(reply, {
      type: "update",
      id,
      ...(context === undefined ? {} : { context }),
      ...(policy === undefined ? {} : { deliveryRetryPolicy: policy }),
    });
    if (refused !== undefined) return refused;
    const current = this.init.store.get(id);
    return current === undefined ? reply.code(204).send() : sendJson(reply, 200, subscriptionResource(current));
  }

  async remove(reply: FastifyReply, id: string) {
    const refused = await this.commit(reply, { type: "remove", id });
    return refused ?? reply.code(204).send();
  }

  async suspendOrResume(reply: FastifyReply, id: string, action: string) {
    const type = action === SUSPEND_ACTION ? "suspend" : action === RESUME_ACTION ? "resume" : undefined;
    if (type === undefined) return sendRedfishError(reply, 400, baseMessage("ActionNotSupported", [action]));
    const refused = await this.commit(reply, { type, id });
    return refused ?? reply.code(204).send();
  }
}
