// Firmware images staged on the member that will push them to its own BMC: the PoC streams an
// uploaded image to each target's agent in chunks (`conclave.image.stage`), the agent appends
// each chunk to a file under `<stateDir>/staged-images/` as it arrives, and a firmware-push
// operation later streams that file to the BMC. An image is never held whole in memory: a chunk
// is written (and hashed) before the write resolves, so the sender's next chunk waits for the disk.
//
// Bounded everywhere: the chunk size, the image size, how many images are staged or being staged
// at once, how long a finished image is kept, and how long an upload may sit idle.
import { createHash, type Hash } from "node:crypto";
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { type FileHandle, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { PeerNotAllowedError } from "../errors.ts";
import { type AgentLogger, silentLogger } from "../logger.ts";

/** Largest chunk one `conclave.image.stage` call carries (raw bytes; base64 in the RPC body). */
export const IMAGE_STAGE_CHUNK_BYTES = 256 * 1024;
/** Largest image a member stages. */
export const IMAGE_STAGE_MAX_BYTES = 512 * 1024 * 1024;
/** Images staged or being staged on one member at once. */
export const STAGED_IMAGES_MAX = 4;
/** A staged image not pushed within this long is removed (at start and at every open). */
export const STAGED_IMAGE_KEEP_MS = 60 * 60_000;
/**
 * An upload that received no chunk for this long is abandoned (its sender is gone: a PoC that
 * failed over mid-upload); it is removed at the next open, making room for a new one.
 */
export const IMAGE_STAGE_IDLE_MS = 2 * 60_000;
/** Stage ids: what a file name may safely be (the facade derives them from task ids). */
export const STAGE_ID_PATTERN = /^[A-Za-z0-9-]{1,64}$/;
/** The folder under the state directory. */
export const STAGED_IMAGES_DIR = "staged-images";

export function stagedImagesDirOf(stateDir: string): string {
  return join(stateDir, STAGED_IMAGES_DIR);
}

const IMAGE_SUFFIX = ".img";
const PART_SUFFIX = ".part";

/** A staging request refused: bad stage id, too big, no room, out of order, size mismatch. */
export class ImageStageError extends Error {
  readonly code = "AGENT_ERR_IMAGE_STAGE";

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImageStageError";
  }
}

export interface StagedImage {
  readonly bytes: number;
  /** Hex SHA-256 of the staged bytes. */
  readonly sha256: string;
}

interface OpenStage {
  readonly file: FileHandle;
  readonly hash: Hash;
  readonly expectedBytes: number | undefined;
  bytes: number;
  lastChunkAtMs: number;
  /** One chunk at a time, in order: a write while another is running is refused. */
  busy: boolean;
}

export interface ImageStagingInit {
  /** `<stateDir>/staged-images`. */
  readonly dir: string;
  readonly nowMs?: () => number;
  readonly logger?: AgentLogger;
}

export class ImageStaging {
  readonly dir: string;
  readonly #nowMs: () => number;
  readonly #logger: AgentLogger;
  readonly #open = new Map<string, OpenStage>();

  constructor(init: ImageStagingInit) {
    this.dir = init.dir;
    this.#nowMs = init.nowMs ?? Date.now;
    this.#logger = init.logger ?? silentLogger;
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Uploads cut off by a restart cannot be continued (their sender has moved on): removed.
    for (const name of readdirSync(this.dir)) {
      if (name.endsWith(PART_SUFFIX)) rmSync(join(this.dir, name), { force: true });
    }
    this.#removeExpired();
  }

  /** The staged image's file, or undefined when there is none (never staged, pushed, expired). */
  imageFile(stageId: string): string | undefined {
    if (!STAGE_ID_PATTERN.test(stageId)) return undefined;
    const file = this.#imagePath(stageId);
    try {
      return statSync(file).isFile() ? file : undefined;
    } catch {
      return undefined;
    }
  }

  async open(stageId: string, expectedBytes: number | undefined): Promise<void> {
    checkStageId(stageId);
    if (
      expectedBytes !== undefined &&
      (!Number.isSafeInteger(expectedBytes) || expectedBytes < 0 || expectedBytes > IMAGE_STAGE_MAX_BYTES)
    ) {
      throw new ImageStageError(
        `expectedBytes ${JSON.stringify(expectedBytes)} is not a size of at most ${IMAGE_STAGE_MAX_BYTES} bytes`,
      );
    }
    if (this.#open.has(stageId) || this.imageFile(stageId) !== undefined) {
      throw new ImageStageError(`image ${stageId} is already staged or being staged`);
    }
    await this.#abandonIdle();
    this.#removeExpired();
    const held = this.#open.size + this.#finishedImages().length;
    if (held >= STAGED_IMAGES_MAX) {
      throw new ImageStageError(
        `${held} images are already staged or being staged on this member (at most ${STAGED_IMAGES_MAX}); finish or abort one first, or wait until one is pushed`,
      );
    }
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const file = await open(this.#partPath(stageId), "wx", 0o600);
    this.#open.set(stageId, {
      file,
      hash: createHash("sha256"),
      expectedBytes,
      bytes: 0,
      lastChunkAtMs: this.#nowMs(),
      busy: false,
    });
  }

  /** Appends one chunk at `offset` (the bytes staged so far); resolves once it is written. */
  async write(stageId: string, offset: number, data: Uint8Array): Promise<void> {
    const stage = this.#stage(stageId);
    if (stage.busy) throw new ImageStageError(`image ${stageId}: a chunk is still being written; send one at a time`);
    if (data.byteLength > IMAGE_STAGE_CHUNK_BYTES) {
      throw new ImageStageError(
        `a chunk of ${data.byteLength} bytes is over the ${IMAGE_STAGE_CHUNK_BYTES}-byte chunk limit`,
      );
    }
    if (offset !== stage.bytes) {
      throw new ImageStageError(`image ${stageId}: chunk at offset ${offset}, but ${stage.bytes} bytes are staged`);
    }
    const limit = stage.expectedBytes ?? IMAGE_STAGE_MAX_BYTES;
    if (stage.bytes + data.byteLength > limit) {
      await this.abort(stageId);
      throw new ImageStageError(
        stage.expectedBytes === undefined
          ? `image ${stageId} is over the ${IMAGE_STAGE_MAX_BYTES}-byte limit of a staged image: removed`
          : `image ${stageId} is longer than the announced ${stage.expectedBytes} bytes: removed`,
      );
    }
    stage.busy = true;
    try {
      await stage.file.write(data, 0, data.byteLength, offset);
      stage.hash.update(data);
      stage.bytes += data.byteLength;
      stage.lastChunkAtMs = this.#nowMs();
    } catch (error) {
      await this.abort(stageId);
      throw new ImageStageError(`image ${stageId} could not be written: ${String(error)}`, { cause: error });
    } finally {
      stage.busy = false;
    }
  }

  /** Syncs the file and makes it the staged image. Refused (and removed) when shorter than announced. */
  async finish(stageId: string): Promise<StagedImage> {
    const stage = this.#stage(stageId);
    if (stage.busy) throw new ImageStageError(`image ${stageId}: a chunk is still being written; finish after it`);
    if (stage.expectedBytes !== undefined && stage.bytes !== stage.expectedBytes) {
      await this.abort(stageId);
      throw new ImageStageError(
        `image ${stageId} has ${stage.bytes} bytes, not the announced ${stage.expectedBytes}: removed`,
      );
    }
    this.#open.delete(stageId);
    try {
      await stage.file.sync();
      await stage.file.close();
      await rename(this.#partPath(stageId), this.#imagePath(stageId));
    } catch (error) {
      await stage.file.close().catch(() => undefined);
      await rm(this.#partPath(stageId), { force: true });
      throw new ImageStageError(`image ${stageId} could not be stored: ${String(error)}`, { cause: error });
    }
    const staged = { bytes: stage.bytes, sha256: stage.hash.digest("hex") };
    this.#logger.info({ stageId, ...staged }, "firmware image staged");
    return staged;
  }

  /** Removes the upload or the staged image. Never rejects. */
  async abort(stageId: string): Promise<void> {
    if (!STAGE_ID_PATTERN.test(stageId)) return;
    const stage = this.#open.get(stageId);
    this.#open.delete(stageId);
    await stage?.file.close().catch(() => undefined);
    await rm(this.#partPath(stageId), { force: true }).catch(() => undefined);
    await rm(this.#imagePath(stageId), { force: true }).catch(() => undefined);
  }

  /** Closes every upload in progress and removes their partial files (daemon stop). */
  async close(): Promise<void> {
    await Promise.all([...this.#open.keys()].map((stageId) => this.abort(stageId)));
  }

  #stage(stageId: string): OpenStage {
    checkStageId(stageId);
    const stage = this.#open.get(stageId);
    if (stage === undefined) throw new ImageStageError(`image ${stageId} is not being staged (open it first)`);
    return stage;
  }

  async #abandonIdle(): Promise<void> {
    const now = this.#nowMs();
    for (const [stageId, stage] of this.#open) {
      if (!stage.busy && now - stage.lastChunkAtMs > IMAGE_STAGE_IDLE_MS) {
        this.#logger.warn({ stageId, bytes: stage.bytes }, "an image upload went idle: removed");
        await this.abort(stageId);
      }
    }
  }

  #finishedImages(): string[] {
    return readdirSync(this.dir).filter((name) => name.endsWith(IMAGE_SUFFIX));
  }

  #removeExpired(): void {
    const now = this.#nowMs();
    for (const name of this.#finishedImages()) {
      const file = join(this.dir, name);
      try {
        if (now - statSync(file).mtimeMs > STAGED_IMAGE_KEEP_MS) {
          rmSync(file, { force: true });
          this.#logger.info({ file }, "a staged image was never pushed: removed");
        }
      } catch {
        // Gone meanwhile.
      }
    }
  }

  #imagePath(stageId: string): string {
    return join(this.dir, `${stageId}${IMAGE_SUFFIX}`);
  }

  #partPath(stageId: string): string {
    return join(this.dir, `${stageId}${IMAGE_SUFFIX}${PART_SUFFIX}`);
  }
}

function checkStageId(stageId: unknown): asserts stageId is string {
  if (typeof stageId !== "string" || !STAGE_ID_PATTERN.test(stageId)) {
    throw new ImageStageError(
      `stage id ${JSON.stringify(typeof stageId === "string" ? stageId.slice(0, 80) : stageId)} is not 1-64 letters, digits and hyphens`,
    );
  }
}

/** The body of `conclave.image.stage`. */
export type ImageStageRequest =
  | { readonly op: "open"; readonly stageId: string; readonly expectedBytes?: number }
  | { readonly op: "chunk"; readonly stageId: string; readonly offset: number; readonly data: string }
  | { readonly op: "finish"; readonly stageId: string }
  | { readonly op: "abort"; readonly stageId: string };

/** The answer: `{}` for open, chunk and abort; the staged image for finish. */
export type ImageStageAnswer = Record<string, never> | StagedImage;

/** Base64 text of a full chunk (4 characters per 3 bytes, padded). */
const CHUNK_BASE64_MAX_CHARS = Math.ceil(IMAGE_STAGE_CHUNK_BYTES / 3) * 4;

export interface ImageStageHandlerInit {
  /** Raft members (voters and learners): the only callers served. */
  readonly isMember: (peerId: string) => boolean;
  readonly staging: ImageStaging;
}

/** The `conclave.image.stage` handler a member registers on its RPC service. */
export function imageStageHandler(
  init: ImageStageHandlerInit,
): (body: unknown, context: { peerId: string }) => Promise<ImageStageAnswer> {
  return async (body, context) => {
    if (!init.isMember(context.peerId)) throw new PeerNotAllowedError(context.peerId, "conclave.image.stage");
    const request = parseImageStageRequest(body);
    switch (request.op) {
      case "open":
        await init.staging.open(request.stageId, request.expectedBytes);
        return {};
      case "chunk":
        await init.staging.write(request.stageId, request.offset, Buffer.from(request.data, "base64"));
        return {};
      case "finish":
        return init.staging.finish(request.stageId);
      case "abort":
        await init.staging.abort(request.stageId);
        return {};
    }
  };
}

/** Checks a `conclave.image.stage` body; throws ImageStageError naming the bad value. */
export function parseImageStageRequest(value: unknown): ImageStageRequest {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ImageStageError("an image stage request must be an object");
  }
  const input = value as Record<string, unknown>;
  checkStageId(input.stageId);
  const stageId = input.stageId;
  switch (input.op) {
    case "open": {
      const expectedBytes = input.expectedBytes;
      if (expectedBytes !== undefined && typeof expectedBytes !== "number") {
        throw new ImageStageError("expectedBytes must be a number of bytes");
      }
      return { op: "open", stageId, ...(expectedBytes === undefined ? {} : { expectedBytes }) };
    }
    case "chunk": {
      const { offset, data } = input;
      if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
        throw new ImageStageError(`offset ${JSON.stringify(offset)} is not a byte offset`);
      }
      if (typeof data !== "string" || data.length > CHUNK_BASE64_MAX_CHARS || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
        throw new ImageStageError(
          `data must be base64 text of at most ${IMAGE_STAGE_CHUNK_BYTES} bytes (${CHUNK_BASE64_MAX_CHARS} characters)`,
        );
      }
      return { op: "chunk", stageId, offset, data };
    }
    case "finish":
    case "abort":
      return { op: input.op, stageId };
    default:
      throw new ImageStageError(`op ${JSON.stringify(input.op)} is not one of open, chunk, finish, abort`);
  }
}
