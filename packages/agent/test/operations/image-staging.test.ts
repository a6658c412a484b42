// Proves a member's image staging: a 64 MiB image goes to disk chunk by chunk (each write is on disk when it resolves, so the store never holds the image), its size and SHA-256 come back, the named bounds hold (chunk size, image size, announced size, images at once, idle uploads, kept images), abort removes what was staged, and the RPC handler serves members only and refuses malformed bodies naming the bad value.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PeerNotAllowedError } from "../../src/errors.ts";
import {
  IMAGE_STAGE_CHUNK_BYTES,
  IMAGE_STAGE_IDLE_MS,
  IMAGE_STAGE_MAX_BYTES,
  ImageStageError,
  ImageStaging,
  imageStageHandler,
  STAGED_IMAGE_KEEP_MS,
  STAGED_IMAGES_MAX,
  stagedImagesDirOf,
} from "../../src/operations/image-staging.ts";

let stateDir: string;
let staging: ImageStaging;
let nowMs = 1_700_000_000_000;

beforeEach(() => {
  stateDir = mkdtempSync(join(tmpdir(), "conclave-staging-"));
  nowMs = Date.now();
  staging = new ImageStaging({ dir: stagedImagesDirOf(stateDir), nowMs: () => nowMs });
});
afterEach(async () => {
  await staging.close();
  rmSync(stateDir, { recursive: true, force: true });
});

/** A chunk of the image whose bytes depend on its position (so a misplaced chunk changes the hash). */
function chunkAt(index: number, bytes = IMAGE_STAGE_CHUNK_BYTES): Buffer {
  const chunk = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i += 4) chunk.writeUInt32LE((index * bytes + i) >>> 0, i);
  return chunk;
}

async function refusal(work: Promise<unknown>): Promise<string> {
  const error = await work.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(ImageStageError);
  return (error as Error).message;
}

describe("image staging", () => {
  it("streams a 64 MiB image to disk chunk by chunk: each write is on disk when it resolves", async () => {
    const chunks = (64 * 1024 * 1024) / IMAGE_STAGE_CHUNK_BYTES;
    const total = chunks * IMAGE_STAGE_CHUNK_BYTES;
    await staging.open("fw-64", total);
    const part = join(stagedImagesDirOf(stateDir), "fw-64.img.part");
    const hash = createHash("sha256");
    for (let index = 0; index < chunks; index++) {
      const chunk = chunkAt(index);
      hash.update(chunk);
      await staging.write("fw-64", index * IMAGE_STAGE_CHUNK_BYTES, chunk);
      // Written through, not gathered: the file holds every chunk so far, and nothing more.
      expect(statSync(part).size).toBe((index + 1) * IMAGE_STAGE_CHUNK_BYTES);
    }
    expect(await staging.finish("fw-64")).toEqual({ bytes: total, sha256: hash.digest("hex") });
    const file = staging.imageFile("fw-64") as string;
    expect(statSync(file).size).toBe(total);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(existsSync(part)).toBe(false);
  });

  it("refuses chunks out of order, oversize chunks and one chunk while another is written", async () => {
    await staging.open("fw-order", undefined);
    expect(await refusal(staging.write("fw-order", 10, chunkAt(0, 16)))).toMatch(/offset 10, but 0 bytes are staged/);
    expect(await refusal(staging.write("fw-order", 0, Buffer.alloc(IMAGE_STAGE_CHUNK_BYTES + 1)))).toMatch(
      new RegExp(`over the ${IMAGE_STAGE_CHUNK_BYTES}-byte chunk limit`),
    );
    const first = staging.write("fw-order", 0, chunkAt(0, 16));
    expect(await refusal(staging.write("fw-order", 0, chunkAt(0, 16)))).toMatch(/one at a time/);
    await first;
    expect(await refusal(staging.write("fw-none", 0, chunkAt(0, 16)))).toMatch(/not being staged/);
  });

  it("refuses a size mismatch with the announced size, and removes the upload", async () => {
    await staging.open("fw-short", 32);
    await staging.write("fw-short", 0, chunkAt(0, 16));
    expect(await refusal(staging.finish("fw-short"))).toMatch(/has 16 bytes, not the announced 32: removed/);
    expect(readdirSync(stagedImagesDirOf(stateDir))).toEqual([]);

    await staging.open("fw-long", 16);
    expect(await refusal(staging.write("fw-long", 0, chunkAt(0, 32)))).toMatch(/longer than the announced 16 bytes/);
    expect(readdirSync(stagedImagesDirOf(stateDir))).toEqual([]);
    expect(await refusal(staging.open("fw-huge", IMAGE_STAGE_MAX_BYTES + 1))).toMatch(
      new RegExp(`at most ${IMAGE_STAGE_MAX_BYTES} bytes`),
    );
  });

  it("removes what was staged on abort, finished or not", async () => {
    await staging.open("fw-a", undefined);
    await staging.write("fw-a", 0, chunkAt(0, 64));
    await staging.abort("fw-a");
    await staging.open("fw-b", undefined);
    await staging.write("fw-b", 0, chunkAt(0, 64));
    await staging.finish("fw-b");
    expect(staging.imageFile("fw-b")).toBeDefined();
    await staging.abort("fw-b");
    expect(staging.imageFile("fw-b")).toBeUndefined();
    expect(readdirSync(stagedImagesDirOf(stateDir))).toEqual([]);
    // Aborting something unknown, or malformed, is harmless.
    await staging.abort("fw-never");
    await staging.abort("../etc");
  });

  it(`holds at most ${STAGED_IMAGES_MAX} images at once, with a clear error; an idle upload gives its room up`, async () => {
    for (let i = 0; i < STAGED_IMAGES_MAX - 1; i++) {
      await staging.open(`fw-${i}`, undefined);
      await staging.write(`fw-${i}`, 0, chunkAt(i, 16));
      await staging.finish(`fw-${i}`);
    }
    await staging.open("fw-open", undefined);
    const message = await refusal(staging.open("fw-extra", undefined));
    expect(message).toBe(
      `${STAGED_IMAGES_MAX} images are already staged or being staged on this member (at most ${STAGED_IMAGES_MAX}); finish or abort one first, or wait until one is pushed`,
    );
    expect(await refusal(staging.open("fw-0", undefined))).toMatch(/already staged/);
    nowMs += IMAGE_STAGE_IDLE_MS + 1;
    await staging.open("fw-extra", undefined);
    expect(existsSync(join(stagedImagesDirOf(stateDir), "fw-open.img.part"))).toBe(false);
  });

  it("removes images kept too long, and uploads cut off by a restart", async () => {
    const dir = stagedImagesDirOf(stateDir);
    await staging.open("fw-old", undefined);
    await staging.write("fw-old", 0, chunkAt(0, 16));
    await staging.finish("fw-old");
    const old = new Date(Date.now() - STAGED_IMAGE_KEEP_MS - 60_000);
    utimesSync(join(dir, "fw-old.img"), old, old);
    writeFileSync(join(dir, "fw-cut.img.part"), "half");
    const restarted = new ImageStaging({ dir });
    expect(readdirSync(dir)).toEqual([]);
    await restarted.close();
  });

  it("refuses stage ids that are not file names", async () => {
    expect(await refusal(staging.open("../etc/passwd", undefined))).toMatch(/stage id "..\/etc\/passwd" is not/);
    expect(await refusal(staging.open("x".repeat(65), undefined))).toMatch(/is not 1-64/);
  });
});

describe("the conclave.image.stage handler", () => {
  it("serves members only, stages chunks sent as base64, and names bad values", async () => {
    const handler = imageStageHandler({ isMember: (peer) => peer === "member", staging });
    const member = { peerId: "member" };
    await expect(handler({ op: "open", stageId: "fw-rpc" }, { peerId: "stranger" })).rejects.toBeInstanceOf(
      PeerNotAllowedError,
    );
    await handler({ op: "open", stageId: "fw-rpc", expectedBytes: 6 }, member);
    await handler({ op: "chunk", stageId: "fw-rpc", offset: 0, data: Buffer.from("abc").toString("base64") }, member);
    await handler({ op: "chunk", stageId: "fw-rpc", offset: 3, data: Buffer.from("def").toString("base64") }, member);
    expect(await handler({ op: "finish", stageId: "fw-rpc" }, member)).toEqual({
      bytes: 6,
      sha256: createHash("sha256").update("abcdef").digest("hex"),
    });
    await expect(handler({ op: "chunk", stageId: "fw-rpc", offset: -1, data: "" }, member)).rejects.toThrow(
      /offset -1 is not a byte offset/,
    );
    await expect(handler({ op: "chunk", stageId: "fw-rpc", offset: 0, data: "!!" }, member)).rejects.toThrow(
      /data must be base64 text/,
    );
    await expect(handler({ op: "rename", stageId: "fw-rpc" }, member)).rejects.toThrow(/op "rename" is not one of/);
    await expect(handler(null, member)).rejects.toThrow(/must be an object/);
    await handler({ op: "abort", stageId: "fw-rpc" }, member);
    expect(staging.imageFile("fw-rpc")).toBeUndefined();
  });
});
