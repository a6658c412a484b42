// Errors of the agent: one class per failure, each with a stable `code` that logs and the CLI can key on.

export type AgentErrorCode =
  | "AGENT_ERR_CONFIG"
  | "AGENT_ERR_NODE_KEY"
  | "AGENT_ERR_CLUSTER_SECRET"
  | "AGENT_ERR_INIT_EXISTS"
  | "AGENT_ERR_FRAME_TOO_LARGE"
  | "AGENT_ERR_PEER_NOT_ALLOWED"
  | "AGENT_ERR_PROTOCOL"
  | "AGENT_ERR_RPC_TIMEOUT"
  | "AGENT_ERR_RPC_UNKNOWN_METHOD"
  | "AGENT_ERR_RPC_REMOTE"
  | "AGENT_ERR_RPC_UNAVAILABLE"
  | "AGENT_ERR_NOT_STARTED"
  // cluster state and Raft driver (src/cluster-state/, src/raft-driver/)
  | "AGENT_ERR_CLUSTER_COMMAND_INVALID"
  | "AGENT_ERR_CLUSTER_COMMAND_REJECTED"
  | "AGENT_ERR_STATE_SNAPSHOT"
  | "AGENT_ERR_PROPOSAL_TIMEOUT"
  | "AGENT_ERR_LEADERSHIP_LOST"
  | "AGENT_ERR_READ_TIMEOUT"
  | "AGENT_ERR_TRANSFER_TIMEOUT"
  | "AGENT_ERR_TRANSFER_FAILED"
  | "AGENT_ERR_DRIVER_STOPPED"
  | "AGENT_ERR_DRIVER_BUSY"
  | "AGENT_ERR_QUORUM_AT_RISK"
  | "AGENT_ERR_BOOTSTRAP"
  | "AGENT_ERR_COMMAND_FAILED"
  | "AGENT_ERR_COMMAND_TIMEOUT"
  | "AGENT_ERR_COMMAND_ABORTED"
  | "AGENT_ERR_FORCED_RECOVERY"
  | "AGENT_ERR_COMMAND_NOT_FOUND"
  | "AGENT_ERR_VIP_PERMISSION"
  | "AGENT_ERR_VIP_INTERFACE"
  | "AGENT_ERR_VIP_ADDRESS_IN_USE"
  | "AGENT_ERR_VIP_CLAIM"
  | "AGENT_ERR_VIP_RELEASE"
  // the owner's side of the operation journal (src/operations/)
  | "AGENT_ERR_OPERATION_REQUEST"
  | "AGENT_ERR_OPERATION_LEDGER"
  | "AGENT_ERR_IMAGE_STAGE"
  | "AGENT_ERR_FIRMWARE_PUSH"
  | "AGENT_ERR_BMC_CREDENTIALS"
  | "AGENT_ERR_BMC_REQUEST"
  | "AGENT_ERR_BMC_UNREACHABLE"
  | "AGENT_ERR_BMC_TIMEOUT"
  | "AGENT_ERR_BMC_AUTH"
  | "AGENT_ERR_BMC_RESPONSE_TOO_LARGE"
  // the daemon (src/daemon/)
  | "AGENT_ERR_UNKNOWN_NODE"
  | "AGENT_ERR_AMBIGUOUS_NODE"
  | "AGENT_ERR_NO_POC"
  | "AGENT_ERR_CONTROL_REQUEST"
  | "AGENT_ERR_JOIN";

export class AgentError extends Error {
  readonly code: AgentErrorCode;

  constructor(code: AgentErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The config file cannot be read, parsed or validated. `problems` lists every finding, one sentence each. */
export class ConfigError extends AgentError {
  readonly file: string;
  readonly problems: readonly string[];

  constructor(file: string, problems: readonly string[], options?: ErrorOptions) {
    super("AGENT_ERR_CONFIG", problems.map((problem) => `config ${file}: ${problem}`).join("\n"), options);
    this.file = file;
    this.problems = Object.freeze([...problems]);
  }
}

/** The node key file exists but cannot be used. It is never replaced silently: the node id would change. */
export class NodeKeyError extends AgentError {
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super("AGENT_ERR_NODE_KEY", message, options);
    this.file = file;
  }
}

export class ClusterSecretError extends AgentError {
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super("AGENT_ERR_CLUSTER_SECRET", message, options);
    this.file = file;
  }
}

/** `initCluster` would overwrite a file that already exists. */
export class InitExistsError extends AgentError {
  readonly files: readonly string[];

  constructor(files: readonly string[]) {
    super(
      "AGENT_ERR_INIT_EXISTS",
      `refusing to overwrite ${files.join(" and ")}: a cluster is already initialised here (use force to replace it, which makes every node that has the old secret unable to talk to this one)`,
    );
    this.files = Object.freeze([...files]);
  }
}

export class FrameTooLargeError extends AgentError {
  readonly frameBytes: number;
  readonly maxFrameBytes: number;

  constructor(frameBytes: number, maxFrameBytes: number) {
    super("AGENT_ERR_FRAME_TOO_LARGE", `frame of ${frameBytes} bytes exceeds the limit of ${maxFrameBytes} bytes`);
    this.frameBytes = frameBytes;
    this.maxFrameBytes = maxFrameBytes;
  }
}

export class PeerNotAllowedError extends AgentError {
  constructor(peerId: string, protocol: string) {
    super("AGENT_ERR_PEER_NOT_ALLOWED", `peer ${peerId} is not allowed on ${protocol}`);
  }
}

/** The remote end broke the protocol: a malformed frame, envelope or message. */
export class ProtocolError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_PROTOCOL", message, options);
  }
}

export class RpcTimeoutError extends AgentError {
  constructor(method: string, peerId: string, timeoutMs: number) {
    super("AGENT_ERR_RPC_TIMEOUT", `rpc ${method} to ${peerId} got no answer within ${timeoutMs} ms`);
  }
}

export class RpcUnknownMethodError extends AgentError {
  constructor(method: string, peerId: string) {
    super("AGENT_ERR_RPC_UNKNOWN_METHOD", `peer ${peerId} has no rpc method ${method}`);
  }
}

/** The remote handler failed; `remoteCode` is the code it reported, when it had one. */
export class RpcRemoteError extends AgentError {
  readonly remoteCode: string | undefined;

  constructor(method: string, peerId: string, message: string, remoteCode: string | undefined) {
    super("AGENT_ERR_RPC_REMOTE", `rpc ${method} failed on ${peerId}: ${message}`);
    this.remoteCode = remoteCode;
  }
}

/** The request could not be delivered or its stream broke: unreachable peer, refused, reset. */
export class RpcUnavailableError extends AgentError {
  constructor(method: string, peerId: string, reason: string, options?: ErrorOptions) {
    super("AGENT_ERR_RPC_UNAVAILABLE", `rpc ${method} to ${peerId} failed: ${reason}`, options);
  }
}

export class NotStartedError extends AgentError {
  constructor(component: string) {
    super("AGENT_ERR_NOT_STARTED", `${component} is not started`);
  }
}

// --- OS commands and the VIP (src/vip/) ---

/** An external command (ip, arping, na6) exited non-zero or was killed. */
export class CommandFailedError extends AgentError {
  readonly command: string;
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly stderr: string;

  constructor(command: string, args: readonly string[], exitCode: number | undefined, stderr: string) {
    const detail = stderr.trim() === "" ? `exit code ${exitCode ?? "none"}` : stderr.trim();
    super("AGENT_ERR_COMMAND_FAILED", `${command} ${args.join(" ")} failed: ${detail}`);
    this.command = command;
    this.args = Object.freeze([...args]);
    this.exitCode = exitCode;
    this.stderr = stderr;
  }
}

export class CommandTimeoutError extends AgentError {
  constructor(command: string, args: readonly string[], timeoutMs: number) {
    super("AGENT_ERR_COMMAND_TIMEOUT", `${command} ${args.join(" ")} did not finish within ${timeoutMs} ms`);
  }
}

/** The caller stopped the command (e.g. an announcement cut short by a VIP release). */
export class CommandAbortedError extends AgentError {
  constructor(command: string, args: readonly string[]) {
    super("AGENT_ERR_COMMAND_ABORTED", `${command} ${args.join(" ")} was stopped before it finished`);
  }
}

export class CommandNotFoundError extends AgentError {
  readonly command: string;

  constructor(command: string, hint: string) {
    super("AGENT_ERR_COMMAND_NOT_FOUND", `${command} is not installed or not on PATH (${hint})`);
    this.command = command;
  }
}

/** `ip` was refused: the agent lacks CAP_NET_ADMIN (run it as root, or grant the capability in the unit). */
export class VipPermissionError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_VIP_PERMISSION", message, options);
  }
}

/** The configured interface does not exist. */
export class VipInterfaceError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_VIP_INTERFACE", message, options);
  }
}

/** Loopback mode: the VIP address and port are already bound, by another agent or a stale process. */
export class VipAddressInUseError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_VIP_ADDRESS_IN_USE", message, options);
  }
}

export class VipClaimError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_VIP_CLAIM", message, options);
  }
}

export class VipReleaseError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_VIP_RELEASE", message, options);
  }
}

// --- The local BMC (src/bmc/) ---

/** The BMC credentials file is missing, too open, or not `{ username, password }`. */
export class BmcCredentialsError extends AgentError {
  readonly file: string;

  constructor(file: string, message: string, options?: ErrorOptions) {
    super("AGENT_ERR_BMC_CREDENTIALS", message, options);
    this.file = file;
  }
}

/** The caller asked for something the client will not send (a path that is not local, a bad method). */
export class BmcRequestError extends AgentError {
  constructor(message: string) {
    super("AGENT_ERR_BMC_REQUEST", message);
  }
}

/** The local BMC could not be reached: refused, reset, connect timeout, TLS failure. */
export class BmcUnreachableError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_BMC_UNREACHABLE", message, options);
  }
}

/** The local BMC accepted the connection but did not answer in time. */
export class BmcTimeoutError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_BMC_TIMEOUT", message, options);
  }
}

/** The local BMC refused our credentials, by session login and by Basic auth. */
export class BmcAuthError extends AgentError {
  readonly statusCode: number;

  constructor(message: string, statusCode: number) {
    super("AGENT_ERR_BMC_AUTH", message);
    this.statusCode = statusCode;
  }
}

export class BmcResponseTooLargeError extends AgentError {
  readonly maxBytes: number;

  constructor(path: string, maxBytes: number) {
    super("AGENT_ERR_BMC_RESPONSE_TOO_LARGE", `the local BMC's answer to ${path} exceeds ${maxBytes} bytes`);
    this.maxBytes = maxBytes;
  }
}

// ---------------------------------------------------------------- the daemon

/** A node argument (id, id prefix or member name) names no member. */
export class UnknownNodeError extends AgentError {
  readonly value: string;

  constructor(value: string) {
    super(
      "AGENT_ERR_UNKNOWN_NODE",
      `no member matches "${value}" (give a node id, a unique id prefix or a member name)`,
    );
    this.value = value;
  }
}

/** A node argument matches more than one member. */
export class AmbiguousNodeError extends AgentError {
  readonly value: string;
  readonly matches: readonly string[];

  constructor(value: string, matches: readonly string[]) {
    super(
      "AGENT_ERR_AMBIGUOUS_NODE",
      `"${value}" matches ${matches.length} members (${matches.join(", ")}): give more of the id`,
    );
    this.value = value;
    this.matches = Object.freeze([...matches]);
  }
}

/** A cluster-changing request cannot be served: there is no Point-of-Contact (no quorum, or an election under way). */
export class NoPocError extends AgentError {
  constructor(
    message = "there is no Point-of-Contact right now (no quorum, or an election is under way); try again shortly",
  ) {
    super("AGENT_ERR_NO_POC", message);
  }
}

/** A control request is malformed or asks for something that cannot be done. */
export class InvalidControlRequestError extends AgentError {
  constructor(message: string) {
    super("AGENT_ERR_CONTROL_REQUEST", message);
  }
}

/** This node could not join the cluster through the PoC. */
export class JoinError extends AgentError {
  constructor(message: string, options?: ErrorOptions) {
    super("AGENT_ERR_JOIN", message, options);
  }
}
