// A multipart/form-data request body as an async sequence of parts, parsed as it streams (busboy):
// a field arrives whole (bounded), a file part as a stream that must be read before the next part
// is parsed, so the request is read only as fast as its consumer goes (backpressure end to end).
import type { IncomingHttpHeaders } from "node:http";
import type { Readable } from "node:stream";
import Busboy from "busboy";

export type MultipartPart =
  | { readonly kind: "field"; readonly name: string; readonly value: string; readonly truncated: boolean }
  | { readonly kind: "file"; readonly name: string; readonly stream: Readable; readonly filename: string };

/** The body broke off, was malformed, or held more parts than allowed. */
export class MultipartStreamError extends Error {
  readonly code = "FACADE_ERR_MULTIPART";
  readonly kind: "interrupted" | "malformed" | "too-many-parts";

  constructor(kind: MultipartStreamError["kind"], message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MultipartStreamError";
    this.kind = kind;
  }
}

export interface MultipartLimits {
  readonly parts: number;
  readonly fieldBytes: number;
  readonly fileBytes: number;
}

export interface MultipartParts extends AsyncIterable<MultipartPart> {
  /** Stops parsing and reads the rest of the body to nowhere (so an error answer can still be sent). */
  discardRest(): void;
}

type Queued = MultipartPart | { readonly kind: "end" } | { readonly kind: "error"; readonly error: Error };

/** Throws MultipartStreamError("malformed") when the content type names no boundary. */
export function multipartParts(
  source: Readable,
  headers: IncomingHttpHeaders,
  limits: MultipartLimits,
): MultipartParts {
  let parser: Busboy.Busboy;
  try {
    parser = Busboy({
      headers,
      limits: {
        parts: limits.parts,
        fields: limits.parts,
        files: limits.parts,
        fieldSize: limits.fieldBytes,
        fileSize: limits.fileBytes,
      },
    });
  } catch (error) {
    throw new MultipartStreamError("malformed", "the multipart/form-data content type is malformed", { cause: error });
  }
  // Bounded: at most `limits.parts` parts and one end or error are ever queued.
  const queue: Queued[] = [];
  let wake: (() => void) | undefined;
  let finished = false;
  const push = (item: Queued): void => {
    if (finished) return;
    if (item.kind === "end" || item.kind === "error") finished = true;
    queue.push(item);
    wake?.();
    wake = undefined;
  };
  parser.on("field", (name, value, info) => push({ kind: "field", name, value, truncated: info.valueTruncated }));
  parser.on("file", (name, stream, info) => push({ kind: "file", name, stream, filename: info.filename ?? "" }));
  parser.on("close", () => push({ kind: "end" }));
  parser.on("error", (error: Error) => {
    const interrupted = /Unexpected end/.test(error.message);
    push({
      kind: "error",
      error: new MultipartStreamError(interrupted ? "interrupted" : "malformed", error.message, { cause: error }),
    });
  });
  const tooMany = (): void => {
    const error = new MultipartStreamError("too-many-parts", `a push holds at most ${limits.parts} parts`);
    push({ kind: "error", error });
    parser.destroy(error);
  };
  parser.on("partsLimit", tooMany);
  parser.on("filesLimit", tooMany);
  parser.on("fieldsLimit", tooMany);

  // The source breaking off (connection lost, client stopped) ends the parse with an error: the
  // part being read fails, never ends as if complete.
  let ended = false;
  source.once("end", () => {
    ended = true;
  });
  const interrupt = (cause?: unknown): void => {
    if (ended && cause === undefined) return;
    const error = new MultipartStreamError("interrupted", "the upload was interrupted", { cause });
    push({ kind: "error", error });
    parser.destroy(error);
  };
  source.once("error", interrupt);
  source.once("close", () => interrupt());
  source.pipe(parser);

  return {
    async *[Symbol.asyncIterator]() {
      for (;;) {
        while (queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
        const item = queue.shift() as Queued;
        if (item.kind === "end") return;
        if (item.kind === "error") throw item.error;
        yield item;
      }
    },
    discardRest() {
      finished = true;
      source.unpipe(parser);
      parser.removeAllListeners("file");
      if (!source.destroyed) source.resume();
    },
  };
}
