// The facade's EventService: the resource itself (DeliveryRetryAttempts and
// DeliveryRetryIntervalSeconds writable, SubmitTestEvent), its SSE stream (event-stream.ts) fed
// by the members' events (event-fan-in.ts), push subscriptions (subscription-writes.ts, delivered
// by push-delivery.ts, kept in a SubscriptionStore), and the Conclave message registry under
// /redfish/v1/Registries. Without a FacadeEventSource (a facade without members' events) the
// stream carries the cluster's own events only.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FacadeService } from "../facade-service.ts";
import { STANDARD_ROOT_COLLECTIONS } from "../member-uri.ts";
import { registerFacadeMetrics } from "../metrics/facade-metrics.ts";
import type { MetricsRegistry } from "../metrics/metrics-registry.ts";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import type { RequestPath } from "../request-path.ts";
import { READ_ONLY_ALLOW, type Served, servedResource } from "../served.ts";
import {
  CONCLAVE_REGISTRY_ID,
  CONCLAVE_REGISTRY_PREFIX,
  conclaveRegistryDocument,
  conclaveRegistryFile,
  REGISTRIES_URI,
  REGISTRY_FILE_URI,
} from "./conclave-registry.ts";
import { EventFanIn, type FanInLimits } from "./event-fan-in.ts";
import { SSE_FILTER_PROPERTIES } from "./event-filter.ts";
import { EventStream, SSE_URI } from "./event-stream.ts";
import { RESUME_ACTION, SUSPEND_ACTION, subscriptionResource, subscriptionUri } from "./event-subscription.ts";
import type { FacadeEventSource } from "./facade-event-source.ts";
import { PushDelivery } from "./push-delivery.ts";
import type { SubscriptionPolicy } from "./subscription-destination.ts";
import { createMemorySubscriptionStore, type SubscriptionStore } from "./subscription-store.ts";
import { SUBMIT_TEST_EVENT_ACTION, SubscriptionWrites } from "./subscription-writes.ts";

export const EVENT_SERVICE_URI = "/redfish/v1/EventService";
export const SUBSCRIPTIONS_URI = `${EVENT_SERVICE_URI}/Subscriptions`;
export const SUBMIT_TEST_EVENT_URI = `${EVENT_SERVICE_URI}/Actions/${SUBMIT_TEST_EVENT_ACTION}`;
/** Registries whose messages members' BMCs commonly send (bmcweb's and the simulator's), and ours. */
export const EVENT_REGISTRY_PREFIXES: readonly string[] = Object.freeze([
  "Base",
  "ResourceEvent",
  "TaskEvent",
  "Update",
  "OpenBMC",
  CONCLAVE_REGISTRY_PREFIX,
]);
/** Resource types `$filter=ResourceType eq ...` knows (resource-type.ts), as EventService lists them. */
export const EVENT_RESOURCE_TYPES: readonly string[] = Object.freeze([
  "AggregationSource",
  "Chassis",
  "ComputerSystem",
  "Drive",
  "EthernetInterface",
  "LogEntry",
  "Manager",
  "Memory",
  "PowerSupply",
  "Processor",
  "Sensor",
  "SoftwareInventory",
  "Storage",
  "Task",
]);

export interface EventServicePartInit {
  readonly service: FacadeService;
  /** Members' events; undefined: only the cluster's own events. */
  readonly source: FacadeEventSource | undefined;
  readonly limits?: Partial<FanInLimits>;
  /** Where the facade's request and event series go (the agent's /metrics); none: not counted. */
  readonly metrics?: MetricsRegistry;
  /** Push subscriptions; none: a memory store (they do not outlive this facade). */
  readonly subscriptions?: SubscriptionStore;
  /** Which Destinations a subscription may have; none: any (private networks included). */
  readonly subscriptionPolicy?: SubscriptionPolicy;
}

/** A FacadePart (facade-part.ts) with its fan-in and stream, for metrics and tests. */
export interface EventServicePart {
  readonly fanIn: EventFanIn;
  readonly stream: EventStream;
  readonly delivery: PushDelivery;
  resolve(segments: readonly string[], path: string): Served | Promise<Served> | undefined;
  collectionMembers(key: string): readonly string[];
  rootLinks(): Readonly<Record<string, string>>;
  write(request: FastifyRequest, reply: FastifyReply, parsed: RequestPath): Promise<FastifyReply | undefined>;
  register(app: FastifyInstance): void;
  close(): void;
}

export function eventServicePart(init: EventServicePartInit): EventServicePart {
  const { service } = init;
  const fanIn = new EventFanIn({
    cluster: service.cluster,
    source: init.source,
    prefixCollections: async (member) => {
      const map = await service.discovery.rootMap(member);
      return "kind" in map ? STANDARD_ROOT_COLLECTIONS : map.prefixCollections;
    },
    limits: init.limits,
  });
  const stream = new EventStream(fanIn);
  const store = init.subscriptions ?? createMemorySubscriptionStore();
  const policy = init.subscriptionPolicy;
  const delivery = new PushDelivery({ fanIn, store, cluster: service.cluster, policy });
  const writes = new SubscriptionWrites({
    store,
    rules: { registryPrefixes: EVENT_REGISTRY_PREFIXES, resourceTypes: EVENT_RESOURCE_TYPES },
    publish: (record) => fanIn.publishClusterRecord(record),
    changed: () => delivery.reconcile(),
    policy,
  });

  const eventService = (): Record<string, unknown> => {
    const supported: Record<string, boolean> = {
      EventFormatType: false,
      EventType: false,
      MessageId: false,
      MetricReportDefinition: false,
      OriginResource: false,
      RegistryPrefix: false,
      ResourceType: false,
      SubordinateResources: false,
    };
    for (const property of SSE_FILTER_PROPERTIES) supported[property] = true;
    return {
      "@odata.type": "#EventService.v1_12_0.EventService",
      "@odata.id": EVENT_SERVICE_URI,
      Id: "EventService",
      Name: "Event Service",
      Description: "Every member BMC's events and the cluster's own, in one stream that survives a failover",
      ServiceEnabled: true,
      Status: { State: "Enabled", Health: "OK" },
      ServerSentEventUri: SSE_URI,
      SSEFilterPropertiesSupported: supported,
      EventFormatTypes: ["Event"],
      RegistryPrefixes: [...EVENT_REGISTRY_PREFIXES],
      ResourceTypes: [...EVENT_RESOURCE_TYPES],
      Subscriptions: { "@odata.id": SUBSCRIPTIONS_URI },
      DeliveryRetryAttempts: store.settings().retryAttempts,
      DeliveryRetryIntervalSeconds: store.settings().retryIntervalSeconds,
      Actions: { [`#${SUBMIT_TEST_EVENT_ACTION}`]: { target: SUBMIT_TEST_EVENT_URI } },
    };
  };

  const subscriptions = (): Record<string, unknown> => {
    const members = store.list().map((subscription) => ({ "@odata.id": subscriptionUri(subscription.id) }));
    return {
      "@odata.type": "#EventDestinationCollection.EventDestinationCollection",
      "@odata.id": SUBSCRIPTIONS_URI,
      Name: "Event Subscriptions",
      Members: members,
      "Members@odata.count": members.length,
    };
  };

  const registries = async (path: string): Promise<Served> => {
    // Members' registries (prefixed) merged with ours.
    const merged = await service.aggregate(path, "Registries", await service.rootMaps());
    if (merged.kind === "error") return merged;
    return servedResource(
      {
        ...merged.body,
        "@odata.type": "#MessageRegistryFileCollection.MessageRegistryFileCollection",
        Name: "Registry File Collection",
      },
      { aggregated: true },
    );
  };

  return {
    fanIn,
    stream,
    delivery,
    resolve(segments, path) {
      const [first, second, third] = segments;
      if (first === "EventService") {
        if (segments.length === 1) return servedResource(eventService(), { allow: ["GET", "HEAD", "PATCH"] });
        if (segments.length === 2 && second === "Subscriptions") {
          return servedResource(subscriptions(), { allow: ["GET", "HEAD", "POST"] });
        }
        const subscription = segments.length === 3 && second === "Subscriptions" ? store.get(third ?? "") : undefined;
        if (subscription !== undefined) {
          return servedResource(subscriptionResource(subscription), { allow: ["GET", "HEAD", "PATCH", "DELETE"] });
        }
        return undefined;
      }
      if (first === "Registries") {
        if (segments.length === 1) return registries(path);
        if (second === CONCLAVE_REGISTRY_ID && segments.length === 2) return servedResource(conclaveRegistryFile());
        if (second === CONCLAVE_REGISTRY_ID && third === CONCLAVE_REGISTRY_ID && segments.length === 3) {
          return servedResource(conclaveRegistryDocument());
        }
      }
      return undefined;
    },
    collectionMembers(key) {
      return key === "Registries" ? [REGISTRY_FILE_URI] : [];
    },
    rootLinks() {
      return { EventService: EVENT_SERVICE_URI, Registries: REGISTRIES_URI };
    },
    async write(request: FastifyRequest, reply: FastifyReply, parsed: RequestPath) {
      const [first, second, third, fourth, fifth] = parsed.segments;
      const length = parsed.segments.length;
      const method = request.method;
      if (first === "EventService") {
        if (length === 1 && method === "PATCH") return writes.patchService(reply, request.body, eventService);
        if (length === 3 && second === "Actions" && third === SUBMIT_TEST_EVENT_ACTION && method === "POST") {
          return writes.submitTestEvent(reply, request.body);
        }
        if (second === "Subscriptions") {
          if (length === 2 && method === "POST") return writes.create(reply, request.body);
          const id = third ?? "";
          if (length === 3 && method === "PATCH") return writes.patch(reply, id, request.body);
          if (length === 3 && method === "DELETE") return writes.remove(reply, id);
          if (length === 5 && fourth === "Actions" && method === "POST") {
            return writes.suspendOrResume(
              reply,
              id,
              fifth === SUSPEND_ACTION || fifth === RESUME_ACTION ? fifth : String(fifth),
            );
          }
        }
      }
      const ours =
        first === "EventService" ||
        (first === "Registries" && (parsed.segments.length === 1 || second === CONCLAVE_REGISTRY_ID));
      if (!ours) return undefined;
      reply.header("Allow", READ_ONLY_ALLOW.join(", "));
      return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
    },
    register(app: FastifyInstance) {
      stream.register(app);
      if (init.metrics !== undefined) registerFacadeMetrics(app, init.metrics, { fanIn, stream, delivery });
      app.addHook("onReady", async () => {
        fanIn.start();
        delivery.start();
      });
    },
    close() {
      delivery.stop();
      fanIn.stop();
      stream.close();
    },
  };
}

export { REGISTRIES_URI };
