// The public surface of @conclave/agent: config, node identity and trust, the libp2p host, the cluster state and the Raft driver.
// health and the local BMC client.

export * from "./autopilot/index.ts";
export * from "./bmc/index.ts";
export {
  CliError,
  ControlProtocolError,
  ControlRequestError,
  ControlTimeoutError,
  DaemonUnreachableError,
  UsageError,
} from "./cli/cli-errors.ts";
export { type ControlClient, type ControlClientOptions, createControlClient } from "./cli/control-client.ts";
export { type CliEnvironment, runCli } from "./cli/main.ts";
export { canonicalJson, type JsonValue } from "./cluster-state/canonical-json.ts";
export { type ApplyOutcome, ClusterState, type ClusterStateOptions } from "./cluster-state/cluster-state.ts";
export {
  type ClusterView,
  COMMAND_MAX_BYTES,
  type CommandContext,
  type CommandDefinition,
  type CommandInput,
  CommandRegistry,
  defineCommand,
  type StateSection,
} from "./cluster-state/command.ts";
export { clusterCommands, DEFAULT_MEMBER_PRIORITY } from "./cluster-state/core-section.ts";
export {
  ClusterCommandInvalidError,
  ClusterCommandRejectedError,
  CommandRejection,
  StateSnapshotError,
} from "./cluster-state/errors.ts";
export * from "./cluster-state/types.ts";
export {
  type LoadedConfig,
  loadConfig,
  localConfigFileOf,
  type ParseConfigOptions,
  PER_NODE_KEYS,
  parseConfig,
} from "./config/load-config.ts";
export { defaultNodeName, NODE_NAME_PATTERN, sanitizeNodeName } from "./config/node-name.ts";
export { type ConfigReferenceRow, configReferenceRows, generateConfigReference } from "./config/reference.ts";
export {
  type ConclaveConfig,
  ConfigSchema,
  DEFAULT_ADMIN_CREDENTIAL_FILE,
  DEFAULT_CONFIG_FILE,
  DEFAULT_FACADE_CERT_FILE,
  DEFAULT_FACADE_KEY_FILE,
  DEFAULT_P2P_PORT,
  type NodeRole,
  type TimingProfileName,
  type VipMode,
} from "./config/schema.ts";
export { type RaftTiming, resolveTiming, TIMING_PROFILES, type TimingProfile } from "./config/timing.ts";
export { type Daemon, type DaemonInit, startDaemon } from "./daemon/daemon.ts";
export { createRootLogger, type RootLogger, type RootLoggerInit } from "./daemon/root-logger.ts";
export * from "./errors.ts";
export {
  AgentFacadeCluster,
  type AgentFacadeClusterInit,
  toUpstreamError,
} from "./facade-host/agent-facade-cluster.ts";
export {
  FACADE_CERTIFICATE_VALID_DAYS,
  type FacadeCertificate,
  generateFacadeCertificate,
  writeFacadeCertificate,
} from "./facade-host/facade-certificate.ts";
export { type FacadeTlsFiles, type FacadeTlsPair, readFacadeTls } from "./facade-host/facade-tls.ts";
export {
  BMC_ANSWER_BYTES_MAX,
  BMC_REQUEST_BODY_BYTES_MAX,
  BMC_REQUEST_TIMEOUT_MS_MAX,
  type BmcRequestAnswer,
  type BmcRequestBody,
  bmcRequestHandler,
  parseBmcRequest,
  runBmcRequest,
} from "./facade-host/member-bmc-request.ts";
export { assignMemberNames, type MemberNames } from "./facade-host/member-names.ts";
export * from "./facade-state/index.ts";
export * from "./health/index.ts";
export {
  type ClusterSecret,
  generateClusterSecret,
  parseClusterSecret,
  readClusterSecret,
} from "./identity/cluster-secret.ts";
export {
  CLUSTER_SECRET_FILE_NAME,
  CONFIG_FILE_NAME,
  type InitClusterOptions,
  type InitClusterResult,
  initCluster,
} from "./identity/init-cluster.ts";
export { loadOrCreateNodeKey, NODE_KEY_FILE_NAME, type NodeIdentity } from "./identity/node-key.ts";
export { type AgentLogger, silentLogger } from "./logger.ts";
export {
  type ConclaveHost,
  type ConclaveHostInit,
  createConclaveHost,
  MAX_CONNECTIONS,
  mdnsServiceTag,
} from "./p2p/host.ts";
export { type Network, type PeerGate, RAFT_PROTOCOL, RPC_PROTOCOL } from "./p2p/network.ts";
export {
  RAFT_MAX_FRAME_BYTES,
  RAFT_QUEUE_MAX_BYTES,
  RAFT_QUEUE_MAX_MESSAGES,
  type RaftPeerStats,
  type RaftTransport,
  type RaftTransportComponents,
  type RaftTransportInit,
  type RaftTransportStats,
  raftTransport,
} from "./p2p/raft-transport.ts";
export {
  RPC_DEFAULT_TIMEOUT_MS,
  RPC_MAX_FRAME_BYTES,
  type RpcCallOptions,
  type RpcComponents,
  type RpcContext,
  type RpcHandler,
  type RpcInit,
  type RpcService,
  rpcService,
} from "./p2p/rpc.ts";
export {
  type StaticPeerDialer,
  type StaticPeerDialerInit,
  type StaticPeerState,
  staticPeerDialer,
} from "./p2p/static-peers.ts";
export { type BootstrapDecision, bootstrapOnce, decideBootstrap, hasRaftState } from "./raft-driver/bootstrap.ts";
export { type LoopTimers, ManualTime, type MonotonicClock, systemClock, systemTimers } from "./raft-driver/clock.ts";
export {
  BootstrapError,
  DriverBusyError,
  DriverStoppedError,
  LeadershipLostError,
  ProposalTimeoutError,
  QuorumAtRiskError,
  ReadTimeoutError,
  TransferFailedError,
  TransferTimeoutError,
} from "./raft-driver/errors.ts";
export { INBOX_MAX_BYTES_DEFAULT, INBOX_MAX_MESSAGES_DEFAULT } from "./raft-driver/inbox.ts";
export { MemoryRaftNetwork, type MemoryRaftNetworkOptions } from "./raft-driver/memory-transport.ts";
export {
  type ApplyResult,
  type DriverPhase,
  type LeaseLostReason,
  type MemberProgress,
  PENDING_PROPOSALS_MAX,
  PROPOSE_TIMEOUT_MS_DEFAULT,
  RaftDriver,
  type RaftDriverComponents,
  type RaftDriverEvents,
  type RaftDriverInit,
  type RaftDriverStatus,
  type RaftDriverTiming,
  READ_TIMEOUT_MS_DEFAULT,
  REQUESTS_MAX,
  raftDriver,
  SNAPSHOT_EVERY_ENTRIES_DEFAULT,
  SNAPSHOT_EVERY_LOG_BYTES_DEFAULT,
  SNAPSHOT_RETAIN_ENTRIES_DEFAULT,
  type SnapshotPolicy,
  TRANSFER_TIMEOUT_MS_DEFAULT,
  type TransferResult,
} from "./raft-driver/raft-driver.ts";
export { pickTransferTarget } from "./raft-driver/transfer-target.ts";
export * from "./vip/index.ts";
