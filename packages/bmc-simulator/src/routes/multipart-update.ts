// The multipart push (MultipartHttpPushUri): an UpdateParameters JSON part and an UpdateFile
// part, the image streamed through a hash and never held in memory, bounded by maxImageBytes.
import { createHash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import type { SimulatorContext } from "../context.ts";
import { baseMessage, RedfishError } from "../errors.ts";
import { MULTIPART_PUSH_URI } from "../services.ts";
import { isObject, type JsonValue } from "../store.ts";
import type { TaskHandle } from "../tasks.ts";
import { MANIFEST_SNIFF_BYTES, versionFromImage } from "../update-service.ts";
import { checkParameters } from "./actions.ts";

const ACTION = "UpdateService.MultipartHttpPushUpdate";

async function readBounded(stream: AsyncIterable<Buffer>, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    size += chunk.length;
    if (size > maxBytes) throw new RedfishError(413, [baseMessage("PayloadTooLarge")]);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function parseParameters(text: string): { [key: string]: JsonValue } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new RedfishError(400, [baseMessage("MalformedJSON")]);
  }
  if (!isObject(parsed)) throw new RedfishError(400, [baseMessage("MalformedJSON")]);
  return parsed;
}

export async function multipartUpdate(
  context: SimulatorContext,
  request: FastifyRequest,
  record: () => void,
): Promise<TaskHandle> {
  if (!request.isMultipart()) {
    throw new RedfishError(415, [
      baseMessage("PropertyValueFormatError", [String(request.headers["content-type"]), "Content-Type"]),
    ]);
  }
  // Refuse before reading a large image for nothing.
  context.updates.assertIdle();
  const { maxImageBytes, maxUpdateParametersBytes } = context.options.limits;
  let parameters: { [key: string]: JsonValue } = {};
  let image: { name: string; bytes: number; sha256: string; head: string } | undefined;
  const parts = request.parts({
    limits: { fileSize: maxImageBytes, fieldSize: maxUpdateParametersBytes, files: 2, fields: 4, parts: 6 },
  });
  for await (const part of parts) {
    if (part.fieldname === "UpdateParameters") {
      if (part.type === "file") parameters = parseParameters(await readBounded(part.file, maxUpdateParametersBytes));
      // @fastify/multipart has already parsed a field sent as application/json.
      else if (isObject(part.value)) parameters = part.value;
      else parameters = parseParameters(String(part.value));
    } else if (part.fieldname === "UpdateFile" && part.type === "file") {
      const hash = createHash("sha256");
      let bytes = 0;
      let head = Buffer.alloc(0);
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        bytes += chunk.length;
        hash.update(chunk);
        if (head.length < MANIFEST_SNIFF_BYTES)
          head = Buffer.concat([head, chunk.subarray(0, MANIFEST_SNIFF_BYTES - head.length)]);
      }
      if (part.file.truncated) throw new RedfishError(413, [baseMessage("PayloadTooLarge")]);
      image = { name: part.filename || "image.bin", bytes, sha256: hash.digest("hex"), head: head.toString("latin1") };
    } else {
      if (part.type === "file") part.file.resume();
      throw new RedfishError(400, [baseMessage("ActionParameterUnknown", [ACTION, part.fieldname])]);
    }
  }
  if (image === undefined) throw new RedfishError(400, [baseMessage("ActionParameterMissing", [ACTION, "UpdateFile"])]);
  checkParameters(ACTION, parameters, {
    Targets: { type: "stringArray" },
    ForceUpdate: { type: "boolean" },
    Stage: { type: "boolean" },
    Oem: { type: "string" },
  });
  const applyTime = parameters["@Redfish.OperationApplyTime"];
  if (applyTime !== undefined && applyTime !== "Immediate" && applyTime !== "OnReset") {
    throw new RedfishError(400, [
      baseMessage("ActionParameterValueNotInList", [String(applyTime), "@Redfish.OperationApplyTime", ACTION]),
    ]);
  }
  const targets = context.updates.resolveTargets(parameters.Targets, "Targets", ACTION);
  context.updates.assertIdle();
  record();
  context.logger.info(
    { image: image.name, bytes: image.bytes, sha256: image.sha256, targets },
    "multipart image received",
  );
  return context.updates.start({
    operation: "UpdateService.MultipartPush",
    imageName: image.name,
    version: versionFromImage(image.name, image.head),
    targets,
    payload: {
      httpOperation: "POST",
      targetUri: MULTIPART_PUSH_URI,
      jsonBody: JSON.stringify(parameters),
      httpHeaders: ["Content-Type: multipart/form-data"],
    },
  });
}
