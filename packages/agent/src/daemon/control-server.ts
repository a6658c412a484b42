// The server side of the control API (src/control/control-protocol.ts): HTTP/1.1 with JSON over a
// unix socket in the state directory, mode 0600, so only root or the agent's user can drive the
// cluster. Every route of CONTROL_ROUTES is served; cluster-changing ones are handed to
// ClusterOperations, which forwards them to the PoC when this node is not it.
import { chmodSync, lstatSync, unlinkSync } from "node:fs";
import Fastify, { type FastifyInstance, type FastifyReply } from "fastify";
import {
  type ChangeResult,
  CONTROL_BODY_BYTES_MAX,
  CONTROL_ROUTES,
  type ControlErrorBody,
  type HistoryDocument,
  type MembersDocument,
  type NodeRequest,
  type RemoveRequest,
  type StatusDocument,
  type TransferLeadershipRequest,
  type TransferLeadershipResult,
} from "../control/control-protocol.ts";
import { AgentError } from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";

export const CONTROL_SOCKET_MODE = 0o600;

export interface ControlHandlers {
  status(): StatusDocument;
  members(): MembersDocument;
  history(): HistoryDocument;
  transferLeadership(request: TransferLeadershipRequest): Promise<TransferLeadershipResult>;
  stepDown(): Promise<ChangeResult>;
  drain(request: NodeRequest): Promise<ChangeResult>;
  undrain(request: NodeRequest): Promise<ChangeResult>;
  remove(request: RemoveRequest): Promise<ChangeResult>;
}

/** HTTP status for an error code; anything unlisted is 500. */
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  AGENT_ERR_CONTROL_REQUEST: 400,
  AGENT_ERR_UNKNOWN_NODE: 404,
  AGENT_ERR_AMBIGUOUS_NODE: 409,
  AGENT_ERR_QUORUM_AT_RISK: 409,
  AGENT_ERR_TRANSFER_FAILED: 409,
  AGENT_ERR_CLUSTER_COMMAND_REJECTED: 409,
  CONSENSUS_ERR_CONF_CHANGE_PENDING: 409,
  CONSENSUS_ERR_TRANSFER_IN_PROGRESS: 409,
  CONSENSUS_ERR_NOT_LEADER: 503,
  AGENT_ERR_NO_POC: 503,
  AGENT_ERR_LEADERSHIP_LOST: 503,
  AGENT_ERR_RPC_UNAVAILABLE: 503,
  AGENT_ERR_DRIVER_STOPPED: 503,
  AGENT_ERR_DRIVER_BUSY: 503,
  AGENT_ERR_PROPOSAL_TIMEOUT: 504,
  AGENT_ERR_TRANSFER_TIMEOUT: 504,
  AGENT_ERR_READ_TIMEOUT: 504,
  AGENT_ERR_RPC_TIMEOUT: 504,
});

/** An error as the control API reports it: a stable code and one sentence. */
export function toControlError(error: unknown): { status: number; body: ControlErrorBody } {
  const code =
    error instanceof AgentError
      ? error.code
      : typeof (error as { code?: unknown })?.code === "string"
        ? String((error as { code: string }).code)
        : "AGENT_ERR_INTERNAL";
  const remoteCode = (error as { remoteCode?: unknown })?.remoteCode;
  const effective = code === "AGENT_ERR_RPC_REMOTE" && typeof remoteCode === "string" ? remoteCode : code;
  const message = error instanceof Error ? error.message : String(error);
  return { status: STATUS_BY_CODE[effective] ?? 500, body: { error: { code: effective, message } } };
}

const NodeBodySchema = {
  type: "object",
  required: ["node"],
  additionalProperties: false,
  properties: { node: { type: "string", minLength: 1, maxLength: 256 } },
} as const;

export interface ControlServerInit {
  readonly socketPath: string;
  readonly handlers: ControlHandlers;
  readonly logger?: AgentLogger;
}

export interface ControlServer {
  readonly app: FastifyInstance;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function buildControlApp(handlers: ControlHandlers, logger: AgentLogger = silentLogger): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: CONTROL_BODY_BYTES_MAX, forceCloseConnections: true });
  app.setErrorHandler(async (error, request, reply: FastifyReply) => {
    if ((error as { validation?: unknown }).validation !== undefined) {
      return reply.code(400).send({ error: { code: "AGENT_ERR_CONTROL_REQUEST", message: (error as Error).message } });
    }
    const { status, body } = toControlError(error);
    if (status >= 500) logger.warn({ err: error, route: request.url }, "control request failed");
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply.code(404).send({
      error: { code: "AGENT_ERR_CONTROL_REQUEST", message: `no control route ${request.method} ${request.url}` },
    }),
  );
  const routes = CONTROL_ROUTES;
  app.get(routes.status.path, async () => handlers.status());
  app.get(routes.members.path, async () => handlers.members());
  app.get(routes.history.path, async () => handlers.history());
  app.post(
    routes.transferLeadership.path,
    {
      schema: {
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: { to: { type: "string", minLength: 1, maxLength: 256 } },
        },
      },
    },
    async (request) => handlers.transferLeadership((request.body ?? {}) as TransferLeadershipRequest),
  );
  app.post(routes.stepDown.path, async () => handlers.stepDown());
  app.post(routes.drain.path, { schema: { body: NodeBodySchema } }, async (request) =>
    handlers.drain(request.body as NodeRequest),
  );
  app.post(routes.undrain.path, { schema: { body: NodeBodySchema } }, async (request) =>
    handlers.undrain(request.body as NodeRequest),
  );
  app.post(
    routes.remove.path,
    {
      schema: {
        body: {
          type: "object",
          required: ["node"],
          additionalProperties: false,
          properties: { node: { type: "string", minLength: 1, maxLength: 256 }, force: { type: "boolean" } },
        },
      },
    },
    async (request) => handlers.remove(request.body as RemoveRequest),
  );
  return app;
}

export function createControlServer(init: ControlServerInit): ControlServer {
  const logger = init.logger ?? silentLogger;
  const app = buildControlApp(init.handlers, logger);
  return {
    app,
    async start() {
      removeStaleSocket(init.socketPath);
      // Created 0600 from the start: the umask covers the window before chmod.
      const previousUmask = process.umask(0o177);
      try {
        await app.listen({ path: init.socketPath });
      } finally {
        process.umask(previousUmask);
      }
      chmodSync(init.socketPath, CONTROL_SOCKET_MODE);
      logger.info({ socket: init.socketPath }, "control socket listening");
    },
    async stop() {
      await app.close();
      removeStaleSocket(init.socketPath);
    },
  };
}

/** A socket file left by a killed daemon would make listen fail with EADDRINUSE. Only sockets are removed. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to do
  }
}
