// The client for this node's own BMC, and its credentials file.
export {
  BMC_KEEP_ALIVE_TIMEOUT_MS,
  BMC_LOGOUT_TIMEOUT_MS,
  BMC_MAX_RESPONSE_BYTES,
  BMC_POOL_CONNECTIONS,
  BMC_PROBE_TIMEOUT_MS,
  type BmcAuthMode,
  type BmcClient,
  type BmcClientInit,
  type BmcProbeResult,
  type BmcRequestOptions,
  type BmcResponse,
  bmcClientFromConfig,
  createBmcClient,
  SERVICE_ROOT_PATH,
  SESSIONS_PATH,
} from "./bmc-client.ts";
export {
  type BmcCredentials,
  bmcCredentials,
  MAX_CREDENTIALS_FILE_BYTES,
  parseBmcCredentials,
  readBmcCredentials,
} from "./credentials.ts";
