export { buildApp, type FacadeInit } from "./app.ts";
export type { AuthStore, RoleId } from "./auth/auth-store.ts";
export {
  type FacadeCluster,
  type FacadeMember,
  MEMBER_NAME_PATTERN,
  type MemberHealth,
  UpstreamError,
  type UpstreamFailureKind,
  type UpstreamRequest,
  type UpstreamResponse,
} from "./facade-cluster.ts";
export {
  BASE_REGISTRY_PREFIX,
  type BaseMessageKey,
  baseMessage,
  type RedfishErrorBody,
  type RedfishMessage,
  redfishError,
  sendRedfishError,
} from "./redfish-error.ts";
