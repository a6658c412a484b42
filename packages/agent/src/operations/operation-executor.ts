// `conclave.bmc.operation`: the owner's side of the operation journal. The PoC sends a journaled
// operation (or asks what became of one); the owner checks it against its OwnerLedger, which
// refuses a term older than the newest it has seen (or than its own Raft term), answers an id it
// already ran with the remembered result, and lets an id it never ran run once.
//
// The order is what makes "never twice" hold across a crash: the ledger marks the id running and
// is written to disk *before* anything is sent to the BMC; the outcome is recorded and written
// after. An agent that restarts mid-run finds the id "running" on disk and reports it "unknown"
// (it may or may not have reached the BMC), never runs it again. A failure known to have left
// nothing at the BMC (connection refused, request refused before sending) un-marks the id, so a
// resend may run it.
//
// Every request to the BMC carries `x-conclave-operation-id: <id>` (the simulator counts runs per id).
// An execution longer than one RPC may wait (a firmware push) is answered "running" and goes on.
import {
  JOURNALED_BODY_MAX_BYTES,
  type OperationAction,
  type OperationExecution,
  type OperationResult,
  type OperationStatusQuery,
  type OwnerAnswer,
  OwnerLedger,
  operationResultOf,
  UPDATE_PARAMETERS_MAX_CHARS,
} from "@conclave/redfish-facade";
import {
  AgentError,
  BmcAuthError,
  BmcCredentialsError,
  BmcRequestError,
  BmcTimeoutError,
  PeerNotAllowedError,
} from "../errors.ts";
import {
  BMC_REQUEST_TIMEOUT_MS_MAX,
  BMC_REQUEST_TIMEOUT_MS_MIN,
  type LocalBmc,
  parseBmcRequest,
} from "../facade-host/member-bmc-request.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";
import type { ImagePushTarget } from "./bmc-image-push.ts";
import { IMAGE_NAME_MAX_CHARS } from "./bmc-image-push.ts";
import { type ImageStaging, STAGE_ID_PATTERN } from "./image-staging.ts";
import { LedgerFileWriter, ledgerFileOf, loadLedgerFile } from "./operation-ledger-file.ts";

/**
 * The longest an owner takes to answer an execution: within the caller's RPC handler deadline
 * (RPC_SERVER_TIMEOUT_MS, less a margin). An operation with a longer deadline (a firmware push)
 * is answered "running" then, and goes on; its outcome comes with a later status query or resend.
 */
export const OPERATION_ANSWER_WITHIN_MS = BMC_REQUEST_TIMEOUT_MS_MAX;
/** The longest BMC deadline an operation may ask for (the facade gives a firmware push 10 minutes). */
export const OPERATION_TIMEOUT_MS_MAX = 15 * 60_000;

/** The header every operation's BMC request carries. */
export const OPERATION_ID_HEADER = "x-conclave-operation-id";
/** Operation ids, as the journal makes them. */
export const OPERATION_ID_PATTERN = /^op-[0-9a-f]{16}$/;
/** The BMC's UpdateService, where a firmware push finds its MultipartHttpPushUri. */
export const UPDATE_SERVICE_PATH = "/redfish/v1/UpdateService";
const HTTP_METHODS = new Set(["PATCH", "POST", "PUT", "DELETE"]);
const JOURNALED_HEADERS = new Set(["content-type", "if-match"]);
/**
 * Failures of a BMC request that happen before any byte of it reaches the BMC: the connection
 * was never made (the request cannot have run).
 */
const NOT_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "UND_ERR_CONNECT_TIMEOUT",
]);

/** A request the owner refuses before anything happens (a malformed body, no BMC). */
export class OperationRequestError extends Error {
  readonly code = "AGENT_ERR_OPERATION_REQUEST";

  constructor(message: string) {
    super(message);
    this.name = "OperationRequestError";
  }
}

/** The body of `conclave.bmc.operation`. */
export type OperationRpcRequest =
  | { readonly op: "execute"; readonly execution: OperationExecution }
  | { readonly op: "status"; readonly query: OperationStatusQuery };

export interface OperationExecutorInit {
  readonly stateDir: string;
  /** This node's BMC; undefined for a node without one. */
  readonly bmc: LocalBmc | undefined;
  /** The streamed firmware push to the same BMC; undefined for a node without one. */
  readonly imagePush: ImagePushTarget | undefined;
  readonly staging: ImageStaging;
  /** This node's own Raft term: a PoC of an older term is refused even before a newer one wrote. */
  readonly localTerm: () => number;
  /** Named in the refusal when there is no BMC. */
  readonly nodeName: string;
  /** How long an execution waits for its outcome before answering "running" (default OPERATION_ANSWER_WITHIN_MS). */
  readonly answerWithinMs?: number;
  readonly nowMs?: () => number;
  readonly logger?: AgentLogger;
}

export class OperationExecutor {
  readonly #init: OperationExecutorInit;
  readonly #ledger: OwnerLedger;
  readonly #file: LedgerFileWriter;
  readonly #nowMs: () => number;
  readonly #logger: AgentLogger;
  /** Until then ids without an entry are "unknown" (the ledger file was lost; see operation-ledger-file.ts). */
  readonly #forgetfulUntilMs: number | null;

  /** Reads `<stateDir>/operations/ledger.json` (a corrupt file is moved aside and logged). */
  constructor(init: OperationExecutorInit) {
    this.#init = init;
    this.#nowMs = init.nowMs ?? Date.now;
    this.#logger = init.logger ?? silentLogger;
    const file = ledgerFileOf(init.stateDir);
    const loaded = loadLedgerFile(file, this.#nowMs());
    if (loaded.quarantined !== undefined) {
      this.#logger.error(
        { file, movedTo: loaded.quarantined.file, problem: loaded.quarantined.problem },
        "the operation ledger is corrupt: moved aside; for an hour this member answers operations it has no record of as 'outcome unknown' and runs none of them",
      );
    }
    this.#ledger = new OwnerLedger(loaded.ledger);
    this.#forgetfulUntilMs = loaded.forgetfulUntilMs;
    this.#file = new LedgerFileWriter(file, () => ({
      ledger: this.#ledger.snapshot(),
      forgetfulUntilMs: this.#forgetful() ? this.#forgetfulUntilMs : null,
    }));
    // Running entries of the previous run are unknown now: on disk at once.
    if (loaded.ledger !== undefined || loaded.quarantined !== undefined) void this.#file.save().catch(() => undefined);
  }

  get ledgerFile(): string {
    return this.#file.file;
  }

  /**
   * Runs the operation once, or answers what the ledger knows; "running" when the run outlasts
   * `answerWithinMs`. Rejects when the BMC gave no answer.
   */
  async execute(execution: OperationExecution): Promise<OwnerAnswer> {
    const bmc = this.#init.bmc;
    if (bmc === undefined) throw new OperationRequestError(`${this.#init.nodeName} has no BMC to run operations on`);
    const now = this.#nowMs();
    const localTerm = this.#init.localTerm();
    if (this.#forgetful()) {
      const known = this.#ledger.status({ operationId: execution.operationId, term: execution.term }, localTerm, now);
      if (known.kind === "not-executed") {
        await this.#file.save();
        return { kind: "unknown" };
      }
    }
    const decision = this.#ledger.begin(execution, localTerm, now);
    if (decision.kind === "answer") {
      await this.#file.save();
      return decision.answer;
    }
    const id = execution.operationId;
    const action = execution.action;
    const imageFile = action.kind === "firmware-push" ? this.#init.staging.imageFile(action.stageId) : undefined;
    if (action.kind === "firmware-push" && imageFile === undefined) {
      this.#ledger.abandon(id);
      return { kind: "image-missing" };
    }
    try {
      await this.#file.save();
    } catch (error) {
      // Not on disk: running it could not be remembered across a crash.
      this.#ledger.abandon(id);
      throw error;
    }
    const run = this.#run(bmc, execution, imageFile);
    const answerWithinMs = this.#init.answerWithinMs ?? OPERATION_ANSWER_WITHIN_MS;
    if (execution.timeoutMs <= answerWithinMs) return run;
    // Longer than one RPC may wait (a firmware push): "running" for now, the outcome to a later
    // status query or resend. The run goes on and records its outcome in the ledger.
    run.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const later = new Promise<OwnerAnswer>((resolve) => {
      timer = setTimeout(() => resolve({ kind: "running" }), answerWithinMs);
    });
    try {
      return await Promise.race([run, later]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Runs a begun operation on the BMC and records its outcome (the ledger says running until then). */
  async #run(bmc: LocalBmc, execution: OperationExecution, imageFile: string | undefined): Promise<OwnerAnswer> {
    const id = execution.operationId;
    const action = execution.action;
    let result: OperationResult;
    try {
      result =
        action.kind === "http"
          ? await this.#runHttp(bmc, id, action, execution.timeoutMs)
          : await this.#runFirmwarePush(bmc, id, action, imageFile as string, execution.timeoutMs);
    } catch (error) {
      if (reachedBmc(error)) this.#ledger.finishUnknown(id, this.#nowMs());
      else this.#ledger.abandon(id);
      this.#logger.warn(
        { operationId: id, err: error, outcome: reachedBmc(error) ? "unknown" : "not run" },
        "an operation got no answer from the BMC",
      );
      await this.#file.save().catch((saveError: unknown) => this.#logSaveFailure(id, saveError));
      throw error;
    }
    this.#ledger.finish(id, result, this.#nowMs());
    await this.#file.save().catch((saveError: unknown) => this.#logSaveFailure(id, saveError));
    if (action.kind === "firmware-push" && result.statusCode >= 200 && result.statusCode < 300) {
      await this.#init.staging.abort(action.stageId);
    }
    return { kind: "executed", result };
  }

  /** What became of an id; fences older terms, durably (written before the answer). */
  async status(query: OperationStatusQuery): Promise<OwnerAnswer> {
    const answer = this.#ledger.status(query, this.#init.localTerm(), this.#nowMs());
    await this.#file.save();
    if (answer.kind === "not-executed" && this.#forgetful()) return { kind: "unknown" };
    return answer;
  }

  #forgetful(): boolean {
    return this.#forgetfulUntilMs !== null && this.#nowMs() < this.#forgetfulUntilMs;
  }

  #logSaveFailure(operationId: string, error: unknown): void {
    // The outcome is in memory; after a crash the id reads "unknown", never "not run": still safe.
    this.#logger.error({ operationId, err: error }, "the operation ledger could not be written");
  }

  async #runHttp(
    bmc: LocalBmc,
    operationId: string,
    action: Extract<OperationAction, { kind: "http" }>,
    timeoutMs: number,
  ): Promise<OperationResult> {
    const { request } = action;
    const response = await bmc.request(request.method, request.path, {
      headers: { ...request.headers, [OPERATION_ID_HEADER]: operationId },
      timeoutMs,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
    return operationResultOf(response);
  }

  async #runFirmwarePush(
    bmc: LocalBmc,
    operationId: string,
    action: Extract<OperationAction, { kind: "firmware-push" }>,
    imageFile: string,
    timeoutMs: number,
  ): Promise<OperationResult> {
    const push = this.#init.imagePush;
    if (push === undefined) throw new OperationRequestError(`${this.#init.nodeName} cannot push firmware images`);
    const deadline = this.#nowMs() + timeoutMs;
    const service = await bmc.request("GET", UPDATE_SERVICE_PATH, { timeoutMs }).catch((error: unknown) => {
      // Only a read: nothing ran, whatever happened to it.
      throw new FirmwarePushNotStartedError(`reading ${UPDATE_SERVICE_PATH} failed: ${describe(error)}`, error);
    });
    const pushUri = pushUriOf(service);
    if (pushUri === undefined) {
      throw new FirmwarePushNotStartedError(
        `the BMC's ${UPDATE_SERVICE_PATH} (HTTP ${service.statusCode}) has no MultipartHttpPushUri`,
        undefined,
      );
    }
    const answer = await push
      .push({
        path: pushUri,
        headers: { [OPERATION_ID_HEADER]: operationId },
        updateParameters: action.updateParameters,
        imageFile,
        imageName: action.imageName,
        timeoutMs: Math.max(BMC_REQUEST_TIMEOUT_MS_MIN, deadline - this.#nowMs()),
      })
      .catch((error: unknown) => {
        // The staged file is opened before the request is made: gone, nothing was sent.
        if ((error as { code?: unknown }).code === "ENOENT") {
          throw new FirmwarePushNotStartedError(`the staged image ${imageFile} is gone`, error);
        }
        throw error;
      });
    return operationResultOf(answer);
  }
}

/** The push could not start (no push URI, UpdateService unreadable): nothing reached the BMC's update. */
export class FirmwarePushNotStartedError extends Error {
  readonly code = "AGENT_ERR_FIRMWARE_PUSH";

  constructor(message: string, cause: unknown) {
    super(`the firmware push could not start: ${message}`, cause === undefined ? undefined : { cause });
    this.name = "FirmwarePushNotStartedError";
  }
}

function pushUriOf(service: { statusCode: number; text: string }): string | undefined {
  if (service.statusCode < 200 || service.statusCode >= 300) return undefined;
  try {
    const uri = (JSON.parse(service.text) as { MultipartHttpPushUri?: unknown }).MultipartHttpPushUri;
    if (typeof uri !== "string" || !uri.startsWith("/")) return undefined;
    return uri.startsWith("//") ? undefined : uri;
  } catch {
    return undefined;
  }
}

/**
 * Whether a failed request may have reached the BMC (then its outcome is unknown and it is never
 * run again). Only failures known to happen before sending count as not reached.
 */
export function reachedBmc(error: unknown): boolean {
  if (
    error instanceof OperationRequestError ||
    error instanceof FirmwarePushNotStartedError ||
    error instanceof BmcRequestError ||
    error instanceof BmcCredentialsError ||
    // Refused by the BMC's authentication: the request was not carried out.
    error instanceof BmcAuthError
  ) {
    return false;
  }
  if (error instanceof BmcTimeoutError) return true;
  if (error instanceof AgentError && error.code === "AGENT_ERR_BMC_UNREACHABLE") {
    const cause = (error as { cause?: { code?: unknown } }).cause;
    if (typeof cause?.code === "string" && NOT_SENT_CODES.has(cause.code)) return false;
    if (typeof cause?.code === "string" && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS|ERR_SSL/.test(cause.code)) {
      return false;
    }
  }
  return true;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// ---------------------------------------------------------------- the RPC body

/** Checks a `conclave.bmc.operation` body; throws OperationRequestError naming the bad value. */
export function parseOperationRequest(value: unknown): OperationRpcRequest {
  const input = objectOf(value, "an operation request");
  if (input.op === "status") {
    const query = objectOf(input.query, "query");
    return { op: "status", query: { operationId: operationIdOf(query.operationId), term: termOf(query.term) } };
  }
  if (input.op !== "execute") {
    throw new OperationRequestError(`op ${JSON.stringify(input.op)} is not one of execute, status`);
  }
  const execution = objectOf(input.execution, "execution");
  const timeoutMs = execution.timeoutMs;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs < BMC_REQUEST_TIMEOUT_MS_MIN) {
    throw new OperationRequestError(
      `timeoutMs ${JSON.stringify(timeoutMs)} is not a number of milliseconds (at least ${BMC_REQUEST_TIMEOUT_MS_MIN})`,
    );
  }
  return {
    op: "execute",
    execution: {
      operationId: operationIdOf(execution.operationId),
      term: termOf(execution.term),
      action: actionOf(execution.action),
      timeoutMs: Math.min(Math.floor(timeoutMs), OPERATION_TIMEOUT_MS_MAX),
    },
  };
}

function objectOf(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new OperationRequestError(`${what} must be an object`);
  }
  return value as Record<string, unknown>;
}

function operationIdOf(value: unknown): string {
  if (typeof value !== "string" || !OPERATION_ID_PATTERN.test(value)) {
    throw new OperationRequestError(
      `operationId ${JSON.stringify(typeof value === "string" ? value.slice(0, 80) : value)} is not op- and 16 hex digits`,
    );
  }
  return value;
}

function termOf(value: unknown): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new OperationRequestError(`term ${JSON.stringify(value)} is not a Raft term (a positive integer)`);
  }
  return value;
}

function actionOf(value: unknown): OperationAction {
  const action = objectOf(value, "action");
  if (action.kind === "http") {
    const request = objectOf(action.request, "action.request");
    const method = request.method;
    if (typeof method !== "string" || !HTTP_METHODS.has(method)) {
      throw new OperationRequestError(`method ${JSON.stringify(method)} is not one of ${[...HTTP_METHODS].join(", ")}`);
    }
    let parsed: ReturnType<typeof parseBmcRequest>;
    try {
      parsed = parseBmcRequest({ ...request, timeoutMs: BMC_REQUEST_TIMEOUT_MS_MIN });
    } catch (error) {
      throw new OperationRequestError(describe(error));
    }
    const unjournaled = Object.keys(parsed.headers).filter((name) => !JOURNALED_HEADERS.has(name));
    if (unjournaled.length > 0) {
      throw new OperationRequestError(
        `headers ${unjournaled.join(", ")} are not journaled (only content-type, if-match)`,
      );
    }
    if (parsed.body !== undefined && Buffer.byteLength(parsed.body) > JOURNALED_BODY_MAX_BYTES) {
      throw new OperationRequestError(`the body is over the ${JOURNALED_BODY_MAX_BYTES}-byte journal limit`);
    }
    return {
      kind: "http",
      request: {
        method: method as "PATCH" | "POST" | "PUT" | "DELETE",
        path: parsed.path,
        headers: parsed.headers,
        ...(parsed.body === undefined ? {} : { body: parsed.body }),
      },
    };
  }
  if (action.kind === "firmware-push") {
    const { stageId, imageName } = action;
    if (typeof stageId !== "string" || !STAGE_ID_PATTERN.test(stageId)) {
      throw new OperationRequestError(`stageId ${JSON.stringify(stageId)} is not a stage id`);
    }
    if (typeof imageName !== "string" || imageName === "" || imageName.length > IMAGE_NAME_MAX_CHARS) {
      throw new OperationRequestError(`imageName must be 1-${IMAGE_NAME_MAX_CHARS} characters`);
    }
    const updateParameters = objectOf(action.updateParameters, "updateParameters");
    if (JSON.stringify(updateParameters).length > UPDATE_PARAMETERS_MAX_CHARS) {
      throw new OperationRequestError(`updateParameters are over ${UPDATE_PARAMETERS_MAX_CHARS} characters of JSON`);
    }
    return { kind: "firmware-push", stageId, imageName, updateParameters };
  }
  throw new OperationRequestError(`action kind ${JSON.stringify(action.kind)} is not one of http, firmware-push`);
}

export interface OperationRpcHandlerInit {
  /** Raft members (voters and learners): the only callers served. */
  readonly isMember: (peerId: string) => boolean;
  readonly executor: OperationExecutor;
}

/** The `conclave.bmc.operation` handler a member registers on its RPC service. */
export function operationRpcHandler(
  init: OperationRpcHandlerInit,
): (body: unknown, context: { peerId: string }) => Promise<OwnerAnswer> {
  return async (body, context) => {
    if (!init.isMember(context.peerId)) throw new PeerNotAllowedError(context.peerId, "conclave.bmc.operation");
    const request = parseOperationRequest(body);
    return request.op === "execute" ? init.executor.execute(request.execution) : init.executor.status(request.query);
  };
}
