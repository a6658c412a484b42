export {
  AGGREGATION_SERVICE_URI,
  aggregationSourceUri,
  CONNECTION_METHOD_URI,
  DEFAULT_AGGREGATE_URI,
} from "./aggregation-service.ts";
export { buildApp, type FacadeInit, warmUpFacade } from "./app.ts";
export type { AuthStore, RoleId } from "./auth/auth-store.ts";
// Sessions, accounts and privileges (src/auth).
export * from "./auth/public-surface.ts";
// The alert a member's event policy adds to its own stream (the agent builds it).
export { CLUSTER_ALERT_MESSAGE_MAX_CHARACTERS, clusterAlertRecord } from "./events/cluster-alert.ts";
export { SSE_URI } from "./events/event-stream.ts";
// Members' events, as the PoC's facade pulls them (src/events).
export {
  EPOCH_PATTERN,
  type EventCursor,
  type EventsPullAnswer,
  type EventsPullRequest,
  type FacadeEventSource,
  type PulledEvent,
  parseEventCursor,
  parseEventsPullAnswer,
} from "./events/facade-event-source.ts";
// Push subscriptions as replicable state (the agent's store applies the same rules).
export {
  DEFAULT_SUBSCRIPTION_POLICY,
  DESTINATION_LOOKUP_TIMEOUT_MS,
  type DestinationLookup,
  privateAddressKind,
  privateDestinationReason,
  type SubscriptionPolicy,
} from "./events/subscription-destination.ts";
export {
  DEFAULT_DELIVERY_SETTINGS,
  type DeliveryRetryPolicy,
  type DeliverySettings,
  type EventSubscription,
  SUBSCRIPTION_CHANGE_BODIES,
  SUBSCRIPTION_CHANGE_TYPES,
  SUBSCRIPTION_RULE_CODES,
  SUBSCRIPTIONS_MAX,
  type SubscriptionChange,
  type SubscriptionChangeType,
  type SubscriptionRuleCode,
  SubscriptionRuleViolation,
  SubscriptionState,
  type SubscriptionStateSnapshot,
  type SubscriptionStateView,
  subscriptionChangeBody,
  subscriptionChangeOf,
} from "./events/subscription-state.ts";
export {
  createMemorySubscriptionStore,
  type SubscriptionStore,
  SubscriptionStoreUnavailableError,
  subscriptionStoreOverState,
} from "./events/subscription-store.ts";
export {
  type FacadeCluster,
  type FacadeMember,
  type ImageStageWriter,
  LeadershipTransferError,
  MEMBER_NAME_PATTERN,
  type MemberDiagnostics,
  type MemberHealth,
  UpstreamError,
  type UpstreamFailureKind,
  type UpstreamRequest,
  type UpstreamResponse,
} from "./facade-cluster.ts";
export {
  DEFAULT_FACADE_TIMEOUTS,
  type FacadeTimeouts,
  FORWARD_DEADLINE_GRACE_MS,
  MAX_CACHED_MEMBER_ANSWERS,
  MAX_EXPAND_LEVELS,
  MAX_EXPANDED_RESOURCES,
  MAX_FORWARDS_IN_FLIGHT_PER_MEMBER,
  MAX_PATH_BYTES,
  MAX_PATH_SEGMENTS,
  MAX_QUERY_BYTES,
  MAX_REQUEST_BODY_BYTES,
  MAX_SELECT_PROPERTIES,
  MAX_UPSTREAM_BODY_BYTES,
  RETRY_AFTER_SECONDS,
} from "./facade-limits.ts";
export { FacadeConfigError } from "./facade-options.ts";
export type { FacadePart } from "./facade-part.ts";
export { CLUSTER_MANAGER_ID, CLUSTER_MANAGER_URI, FORCE_FAILOVER_URI } from "./facade-resources.ts";
export type { WarmUpOptions, WarmUpResult } from "./facade-service.ts";
export { operationResultOf } from "./forward-write.ts";
export { FACADE_MARKER_HEADER, FACADE_MARKER_VALUE, LOOP_DETECTED_STATUS } from "./loop-guard.ts";
export {
  facadeUriOwner,
  memberUriToFacade,
  PREFIX_SEPARATOR,
  SERVICE_COLLECTIONS,
  STANDARD_ROOT_COLLECTIONS,
} from "./member-uri.ts";
// The Prometheus registry the agent's /metrics renders (src/metrics).
export {
  Counter,
  DEFAULT_SECONDS_BUCKETS,
  Histogram,
  type Labels,
  METRIC_SERIES_MAX,
  METRICS_CONTENT_TYPE,
  MetricsRegistry,
  type Sample,
} from "./metrics/metrics-registry.ts";
// The operation journal, tasks and user aggregates (src/operations).
export { createMemoryOperationStore, operationStoreOverState } from "./operations/memory-operation-store.ts";
export {
  isTaskStateFinished,
  OPERATION_CHANGE_BODIES,
  type OperationChangeBody,
  OperationState,
  type OperationStateSnapshot,
  UPDATE_PARAMETERS_MAX_CHARS,
} from "./operations/operation-state.ts";
export * from "./operations/operation-store.ts";
export * from "./operations/operation-types.ts";
export {
  type OwnerDecision,
  OwnerLedger,
  type OwnerLedgerEntry,
  type OwnerLedgerSnapshot,
} from "./operations/owner-ledger.ts";
export { type PowerSequenceConfig, resolvePowerSequence } from "./operations/power-sequence.ts";
export { type NewTaskPlan, subtaskOperationId, type TaskRunner } from "./operations/task-runner.ts";
export * from "./operations/task-uris.ts";
export { MAX_FIRMWARE_IMAGE_BYTES, MULTIPART_PUSH_URI } from "./operations/update-limits.ts";
export { PROTOCOL_FEATURES_SUPPORTED } from "./query-options.ts";
export {
  BASE_REGISTRY_PREFIX,
  type BaseMessageKey,
  baseMessage,
  type RedfishErrorBody,
  type RedfishMessage,
  redfishError,
  sendRedfishError,
} from "./redfish-error.ts";
export {
  ENCLOSURE_CHASSIS_TYPES,
  type EnclosureChassisType,
  type FacadeTopology,
  MAX_TOPOLOGY_ENTRIES,
  type MemberResourceRef,
  resolveTopology,
  type TopologyChassisPlacement,
  type TopologyEnclosure,
  TopologyError,
  type TopologySystemLinks,
} from "./topology.ts";
