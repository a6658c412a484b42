// The facade's UpdateService: served by the facade itself (the merged inventories linked as
// before), with SimpleUpdate routed to the targets' owners and a multipart push streamed to them.
import type { Readable } from "node:stream";
import type { FacadeTimeouts } from "../facade-limits.ts";
import type { FacadePart } from "../facade-part.ts";
import { SERVICE_SHELLS, updateService } from "../facade-resources.ts";
import type { FacadeService } from "../facade-service.ts";
import { baseMessage, sendRedfishError } from "../redfish-error.ts";
import { type Served, servedResource } from "../served.ts";
import { multipartPush } from "./multipart-push.ts";
import type { TaskRunner } from "./task-runner.ts";
import {
  MAX_FIRMWARE_IMAGE_BYTES,
  MULTIPART_PUSH_URI,
  SIMPLE_UPDATE_URI,
  TRANSFER_PROTOCOLS,
  UPDATE_SERVICE_URI,
} from "./update-limits.ts";
import { simpleUpdate } from "./update-simple.ts";

const MULTIPART_TYPE = "multipart/form-data";

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isMultipart(contentType: string | undefined): boolean {
  return (contentType ?? "").split(";")[0]?.trim().toLowerCase() === MULTIPART_TYPE;
}

export function updateServicePart(init: {
  readonly service: FacadeService;
  readonly tasks: TaskRunner;
  readonly timeouts: FacadeTimeouts;
}): FacadePart {
  const { service, tasks } = init;
  const context = { service, tasks };
  /** The inventories any member links, merged as FacadeService merges them. */
  const serveUpdateService = async (): Promise<Served> => {
    const maps = await service.rootMaps();
    const collections = (SERVICE_SHELLS.UpdateService?.collections ?? []).filter((c) =>
      maps.some(({ map }) => !("kind" in map) && map.serviceCollections.has(`UpdateService/${c}`)),
    );
    // What every member's BMC takes (each member's own UpdateService, as last read).
    const limits = await Promise.all(
      service.sources().map(async (member) => {
        const read = await service.reader.get(member, UPDATE_SERVICE_URI);
        const max = read.kind === "answer" && isObject(read.json) ? read.json.MaxImageSizeBytes : undefined;
        return typeof max === "number" && Number.isInteger(max) && max > 0 ? max : MAX_FIRMWARE_IMAGE_BYTES;
      }),
    );
    return servedResource(
      updateService({
        collections,
        simpleUpdateUri: SIMPLE_UPDATE_URI,
        multipartPushUri: MULTIPART_PUSH_URI,
        maxImageSizeBytes: Math.min(MAX_FIRMWARE_IMAGE_BYTES, ...limits),
        transferProtocols: TRANSFER_PROTOCOLS,
      }),
    );
  };
  return {
    register(app) {
      // The body is handed on as the raw stream: the multipart push parses it as it arrives and
      // bounds it itself (MAX_FIRMWARE_IMAGE_BYTES); fastify's bodyLimit never buffers it.
      app.addContentTypeParser(MULTIPART_TYPE, (_request, payload, done) => done(null, payload));
    },

    resolve(segments) {
      if (segments.length !== 1 || segments[0] !== "UpdateService") return undefined;
      return serveUpdateService();
    },

    async write(request, reply, parsed) {
      const multipart = isMultipart(request.headers["content-type"]);
      if (parsed.path === MULTIPART_PUSH_URI) {
        if (request.method !== "POST") {
          if (multipart) (request.body as Readable).resume();
          reply.header("Allow", "POST");
          return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
        }
        if (!multipart) return sendRedfishError(reply, 415, baseMessage("HeaderInvalid", ["Content-Type"]));
        return multipartPush(context, request, reply);
      }
      if (multipart) {
        // Only the push takes multipart bodies: nothing else may receive the raw stream. Thrown,
        // not answered, so no later handler of the write sees the request (the error handler
        // answers 415 HeaderInvalid).
        (request.body as Readable).resume();
        throw Object.assign(new Error("only the multipart push takes multipart/form-data"), {
          statusCode: 415,
          code: "FACADE_ERR_MULTIPART_ELSEWHERE",
        });
      }
      if (parsed.path === SIMPLE_UPDATE_URI) {
        if (request.method !== "POST") {
          reply.header("Allow", "POST");
          return sendRedfishError(reply, 405, baseMessage("OperationNotAllowed"));
        }
        return simpleUpdate(context, request.body, reply);
      }
      return undefined;
    },
  };
}
