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
  | "AGENT_ERR_NOT_STARTED";

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
