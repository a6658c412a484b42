// The multipart push on the facade (MultipartHttpPushUri): the UpdateParameters part names the
// targets; the UpdateFile part is streamed, never held whole, to a staging file on every target's
// owner at once (each chunk written to all before the next is read), then a firmware-update task
// has each owner push its staged copy to its own BMC. Anything wrong before the task starts (bad
// parameters, unknown targets, an image too large, an upload that breaks off, a member that
// cannot take the image) is a Redfish error and every staged file is removed: nothing is half-applied.
import { createHash, randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { FacadeMember, ImageStageWriter } from "../facade-cluster.ts";
import { UpstreamError } from "../facade-cluster.ts";
import { RETRY_AFTER_SECONDS } from "../facade-limits.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, type RedfishMessage, sendRedfishError } from "../redfish-error.ts";
import { startTaskAnswer } from "./aggregate-task-answer.ts";
import { MultipartStreamError, multipartParts } from "./multipart-parts.ts";
import type { TaskRunner } from "./task-runner.ts";
import {
  DEFAULT_UPDATE_BATCH_SIZE,
  MAX_FIRMWARE_IMAGE_BYTES,
  MAX_MULTIPART_PARTS,
  MAX_UPDATE_PARAMETERS_BYTES,
  MULTIPART_PUSH_ACTION,
  MULTIPART_PUSH_URI,
  UPDATE_SERVICE_URI,
  UPLOAD_CHUNK_BYTES,
  UPLOAD_IDLE_TIMEOUT_MS,
} from "./update-limits.ts";
import { planFirmwareUpdate, updateTargetUri } from "./update-plan.ts";
import { resolveUpdateTargets, type UpdateOwner } from "./update-targets.ts";

/** Longest image file name kept (it names the image in the task and on the BMC). */
const IMAGE_NAME_MAX_CHARS = 200;
/** Multipart framing besides the two parts' contents (boundaries, part headers). */
const MULTIPART_FRAMING_BYTES = 64 * 1024;
/** How often an upload is checked for progress. */
const IDLE_CHECK_INTERVAL_MS = 1_000;

/** A push refused before its task started: the answer to send. */
class PushRefused extends Error {
  readonly statusCode: number;
  readonly messages: readonly [RedfishMessage, ...RedfishMessage[]];
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    statusCode: number,
    messages: readonly [RedfishMessage, ...RedfishMessage[]],
    headers: Readonly<Record<string, string>> = {},
  ) {
    super(messages[0].Message);
    this.name = "PushRefused";
    this.statusCode = statusCode;
    this.messages = messages;
    this.headers = headers;
  }
}

function refused(statusCode: number, message: RedfishMessage): PushRefused {
  return new PushRefused(statusCode, [message]);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shown(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? String(value));
}

const APPLY_TIMES = ["Immediate", "OnReset"];

/** UpdateParameters, checked: what each owner's BMC gets besides its own Targets. */
function checkParameters(text: string): { passOn: Record<string, unknown>; targets: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw refused(400, baseMessage("MalformedJSON"));
  }
  if (!isObject(parsed)) throw refused(400, baseMessage("MalformedJSON"));
  const problems: RedfishMessage[] = [];
  const passOn: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed)) {
    const typeProblem = baseMessage(
      "ActionParameterValueTypeError",
      [shown(value), name, MULTIPART_PUSH_ACTION],
      [`/${name}`],
    );
    if (name === "Targets") continue;
    if (name === "ForceUpdate" || name === "Stage") {
      if (typeof value === "boolean") passOn[name] = value;
      else problems.push(typeProblem);
    } else if (name === "Oem") {
      if (isObject(value)) passOn[name] = value;
      else problems.push(typeProblem);
    } else if (name === "@Redfish.OperationApplyTime") {
      if (typeof value === "string" && APPLY_TIMES.includes(value)) passOn[name] = value;
      else
        problems.push(
          baseMessage("ActionParameterValueNotInList", [shown(value), name, MULTIPART_PUSH_ACTION], [`/${name}`]),
        );
    } else {
      problems.push(baseMessage("ActionParameterUnknown", [MULTIPART_PUSH_ACTION, name], [`/${name}`]));
    }
  }
  const [first, ...more] = problems;
  if (first !== undefined) throw new PushRefused(400, [first, ...more]);
  return { passOn, targets: parsed.Targets };
}

async function readText(stream: Readable, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw refused(413, baseMessage("PayloadTooLarge"));
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The largest image every owner's BMC takes (its UpdateService `MaxImageSizeBytes`, at most
 * MAX_FIRMWARE_IMAGE_BYTES). An owner whose BMC has no multipart push, or cannot be read now,
 * refuses the push before any byte is staged.
 */
async function imageLimit(service: FacadeService, owners: readonly UpdateOwner[]): Promise<number> {
  let limit = MAX_FIRMWARE_IMAGE_BYTES;
  const reads = await Promise.all(owners.map((owner) => service.reader.get(owner.member, UPDATE_SERVICE_URI)));
  for (const [index, read] of reads.entries()) {
    const member = (owners[index] as UpdateOwner).member;
    if (read.kind === "missing") {
      const seconds = String(RETRY_AFTER_SECONDS);
      throw new PushRefused(
        503,
        [baseMessage("ServiceTemporarilyUnavailable", [seconds]), service.missingSourceMessage(member)],
        { "retry-after": seconds },
      );
    }
    const body = isObject(read.json) ? read.json : {};
    if (read.statusCode !== 200 || typeof body.MultipartHttpPushUri !== "string") {
      throw refused(
        400,
        baseMessage("ActionParameterNotSupported", ["UpdateFile", `${MULTIPART_PUSH_ACTION} on ${member.name}`]),
      );
    }
    const max = body.MaxImageSizeBytes;
    if (typeof max === "number" && Number.isInteger(max) && max > 0) limit = Math.min(limit, max);
  }
  return limit;
}

interface Stage {
  readonly member: FacadeMember;
  readonly writer: ImageStageWriter;
}

function memberFailure(service: FacadeService, member: FacadeMember, error: unknown): PushRefused {
  if (error instanceof UpstreamError && error.kind === "timeout") {
    return new PushRefused(504, [baseMessage("OperationTimeout"), service.missingSourceMessage(member)]);
  }
  const seconds = String(RETRY_AFTER_SECONDS);
  return new PushRefused(
    503,
    [baseMessage("ServiceTemporarilyUnavailable", [seconds]), service.missingSourceMessage(member)],
    { "retry-after": seconds },
  );
}

/** Runs one step on every stage at once; the first member that fails names the refusal. */
async function onEveryStage(
  service: FacadeService,
  stages: readonly Stage[],
  step: (writer: ImageStageWriter) => Promise<unknown>,
) {
  const results = await Promise.allSettled(stages.map((stage) => step(stage.writer)));
  for (const [index, result] of results.entries()) {
    if (result.status === "rejected") throw memberFailure(service, (stages[index] as Stage).member, result.reason);
  }
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value);
}

export interface MultipartPushContext {
  readonly service: FacadeService;
  readonly tasks: TaskRunner;
}

export async function multipartPush(
  context: MultipartPushContext,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const { service } = context;
  const source = request.body as Readable;
  const length = Number(request.headers["content-length"]);
  if (
    Number.isFinite(length) &&
    length > MAX_FIRMWARE_IMAGE_BYTES + MAX_UPDATE_PARAMETERS_BYTES + MULTIPART_FRAMING_BYTES
  ) {
    source.resume();
    return sendRedfishError(reply, 413, baseMessage("PayloadTooLarge"));
  }
  let parts: ReturnType<typeof multipartParts>;
  try {
    parts = multipartParts(source, request.headers, {
      parts: MAX_MULTIPART_PARTS,
      fieldBytes: MAX_UPDATE_PARAMETERS_BYTES,
      fileBytes: MAX_FIRMWARE_IMAGE_BYTES + 1,
    });
  } catch {
    source.resume();
    return sendRedfishError(reply, 415, baseMessage("HeaderInvalid", ["Content-Type"]));
  }
  const stages: Stage[] = [];
  const stageId = `img-${randomUUID()}`;
  let lastProgressMs = Date.now();
  let idle = false;
  const idleCheck = setInterval(() => {
    if (Date.now() - lastProgressMs <= UPLOAD_IDLE_TIMEOUT_MS) return;
    idle = true;
    source.destroy(new Error(`no upload progress for ${UPLOAD_IDLE_TIMEOUT_MS} ms`));
  }, IDLE_CHECK_INTERVAL_MS);
  idleCheck.unref();
  try {
    let parameters: { passOn: Record<string, unknown>; text: string } | undefined;
    let owners: UpdateOwner[] = [];
    let limit = MAX_FIRMWARE_IMAGE_BYTES;
    let image: { name: string; bytes: number } | undefined;
    for await (const part of parts) {
      lastProgressMs = Date.now();
      if (part.name === "UpdateParameters") {
        if (parameters !== undefined)
          throw refused(400, baseMessage("ActionParameterDuplicate", [MULTIPART_PUSH_ACTION, part.name]));
        if (part.kind === "field" && part.truncated) throw refused(413, baseMessage("PayloadTooLarge"));
        const text = part.kind === "field" ? part.value : await readText(part.stream, MAX_UPDATE_PARAMETERS_BYTES);
        const checked = checkParameters(text);
        const resolved = await resolveUpdateTargets(service, checked.targets, MULTIPART_PUSH_ACTION);
        if (!("owners" in resolved)) throw new PushRefused(resolved.statusCode, resolved.messages, resolved.headers);
        if (resolved.owners.length === 0) throw refused(400, baseMessage("NoOperation"));
        owners = resolved.owners;
        limit = await imageLimit(service, owners);
        parameters = { passOn: checked.passOn, text };
        lastProgressMs = Date.now();
      } else if (part.name === "UpdateFile" && part.kind === "file") {
        if (parameters === undefined) {
          // The targets decide where the image goes: they must come first.
          part.stream.resume();
          throw refused(400, baseMessage("ActionParameterMissing", [MULTIPART_PUSH_ACTION, "UpdateParameters"]));
        }
        if (image !== undefined) {
          part.stream.resume();
          throw refused(400, baseMessage("ActionParameterDuplicate", [MULTIPART_PUSH_ACTION, part.name]));
        }
        const opened = await Promise.allSettled(
          owners.map((owner) => service.cluster.openImageStage(owner.member.id, stageId, undefined)),
        );
        for (const [index, result] of opened.entries()) {
          if (result.status === "fulfilled")
            stages.push({ member: (owners[index] as UpdateOwner).member, writer: result.value });
        }
        const failed = opened.findIndex((r) => r.status === "rejected");
        if (failed !== -1) {
          part.stream.resume();
          throw memberFailure(
            service,
            (owners[failed] as UpdateOwner).member,
            (opened[failed] as PromiseRejectedResult).reason,
          );
        }
        const name = (part.filename.split(/[/\\]/).pop() ?? "").slice(0, IMAGE_NAME_MAX_CHARS) || "image.bin";
        image = {
          name,
          bytes: await streamImage(part.stream, stages, limit, service, () => (lastProgressMs = Date.now())),
        };
      } else {
        if (part.kind === "file") part.stream.resume();
        throw refused(400, baseMessage("ActionParameterUnknown", [MULTIPART_PUSH_ACTION, part.name]));
      }
    }
    if (parameters === undefined)
      throw refused(400, baseMessage("ActionParameterMissing", [MULTIPART_PUSH_ACTION, "UpdateParameters"]));
    if (image === undefined)
      throw refused(400, baseMessage("ActionParameterMissing", [MULTIPART_PUSH_ACTION, "UpdateFile"]));
    const imageName = image.name;
    const passOn = parameters.passOn;
    const updates = owners.map((owner) => ({
      member: owner.member,
      targetUri: updateTargetUri(owner.member, owner.facadeTargets),
      action: {
        kind: "firmware-push" as const,
        stageId,
        imageName,
        updateParameters: { ...passOn, ...(owner.memberTargets.length > 0 ? { Targets: owner.memberTargets } : {}) },
      },
    }));
    const plan = planFirmwareUpdate({
      name: `Multipart update with ${imageName} (${image.bytes} bytes) on ${updates.length} member${updates.length === 1 ? "" : "s"}`.slice(
        0,
        256,
      ),
      // The UpdateParameters as sent (at most MAX_UPDATE_PARAMETERS_BYTES, below the journal's bound).
      payload: { targetUri: MULTIPART_PUSH_URI, httpOperation: "POST", jsonBody: parameters.text },
      updates,
      batchSize: DEFAULT_UPDATE_BATCH_SIZE,
    });
    const started = await startTaskAnswer(reply, service, context.tasks, plan);
    if (started.task === undefined)
      await Promise.all(stages.map((s) => s.writer.abort("the update task could not start")));
    return started.reply;
  } catch (error) {
    parts.discardRest();
    const reason = error instanceof Error ? error.message : String(error);
    await Promise.all(stages.map((stage) => stage.writer.abort(reason)));
    if (error instanceof PushRefused) {
      for (const [name, value] of Object.entries(error.headers)) reply.header(name, value);
      return sendRedfishError(reply, error.statusCode, ...error.messages);
    }
    if (error instanceof MultipartStreamError || idle) {
      // An upload that broke off, or a body that is not multipart as declared.
      const part =
        error instanceof MultipartStreamError && error.kind === "too-many-parts" ? "UpdateParameters" : "UpdateFile";
      return sendRedfishError(reply, 400, baseMessage("ActionParameterValueError", [part, MULTIPART_PUSH_ACTION]));
    }
    throw error;
  } finally {
    clearInterval(idleCheck);
  }
}

/**
 * Streams the image to every stage in UPLOAD_CHUNK_BYTES chunks (the next read waits for every
 * member to have the previous chunk), checks its size against `limit`, and finishes the stages:
 * each must report the bytes and SHA-256 the facade read. Returns the size.
 */
async function streamImage(
  stream: Readable,
  stages: readonly Stage[],
  limit: number,
  service: FacadeService,
  progressed: () => void,
): Promise<number> {
  const hash = createHash("sha256");
  let bytes = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const send = async (chunk: Buffer): Promise<void> => {
    await onEveryStage(service, stages, (writer) => writer.write(chunk));
    progressed();
  };
  for await (const data of stream as AsyncIterable<Buffer>) {
    bytes += data.length;
    if (bytes > limit) throw refused(413, baseMessage("PayloadTooLarge"));
    hash.update(data);
    pending.push(data);
    pendingBytes += data.length;
    progressed();
    while (pendingBytes >= UPLOAD_CHUNK_BYTES) {
      const joined = pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending);
      await send(joined.subarray(0, UPLOAD_CHUNK_BYTES));
      const rest = joined.subarray(UPLOAD_CHUNK_BYTES);
      pending = rest.length > 0 ? [rest] : [];
      pendingBytes = rest.length;
    }
  }
  if (pendingBytes > 0) await send(pending.length === 1 ? (pending[0] as Buffer) : Buffer.concat(pending));
  if (bytes === 0) throw refused(400, baseMessage("ActionParameterValueError", ["UpdateFile", MULTIPART_PUSH_ACTION]));
  const sha256 = hash.digest("hex");
  const finished = (await onEveryStage(service, stages, (writer) => writer.finish())) as {
    bytes: number;
    sha256: string;
  }[];
  if (finished.some((f) => f.bytes !== bytes || f.sha256 !== sha256)) {
    // A member stored something else than what was read: its copy must never be pushed.
    throw refused(502, baseMessage("OperationFailed"));
  }
  return bytes;
}
