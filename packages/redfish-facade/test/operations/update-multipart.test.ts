// Proves the multipart push: a 64 MiB image is streamed to every target's owner with memory far
// below its size, every member's firmware changes, the PoC's own member last after a leadership
// transfer; and an oversize image, an interrupted upload, missing or bad parts and unknown targets
// are each a Redfish error that leaves no staged file and no task.
import { Readable } from "node:stream";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { UpstreamError } from "../../src/facade-cluster.ts";
import { CONSOLE, type ErrorBody, messageIds, threeMembers, waitFor } from "../support/facade-fixture.ts";
import { type OperationsFacade, startOperationsFacade } from "./aggregate-test-support.ts";
import { firmwareVersion, recordPocAtEachExecution, resumeAsNewPoc, stagedFiles } from "./update-test-support.ts";

const PUSH_URI = "/redfish/v1/UpdateService/update-multipart";
const BOUNDARY = "conclave-test-boundary-7f3a";
const MIB = 1024 * 1024;
/** The image is generated from this one block, repeated: never allocated whole. */
const BLOCK_BYTES = 64 * 1024;

/** How often memory is sampled during the upload. */
const MEMORY_SAMPLE_MS = 20;
/** What the upload may hold at once: chunks in flight to 3 members, far below the 64 MiB image. */
const MEMORY_GROWTH_MAX_BYTES = 8 * MIB;

setFlagsFromString("--expose-gc");
const collectGarbage = runInNewContext("gc") as () => void;

let facade: OperationsFacade | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
});

interface PushBody {
  readonly parameters?: string | undefined;
  /** Bytes of the UpdateFile part; undefined: no UpdateFile. */
  readonly imageBytes?: number;
  /** The image carries an OpenBMC MANIFEST line the simulator reads its version from. */
  readonly version?: string;
  /** Throw after this many image bytes (the client goes away mid-upload). */
  readonly breakAfterBytes?: number;
  /** UpdateFile before UpdateParameters. */
  readonly fileFirst?: boolean;
  /** Called when the generator has produced its last byte. */
  readonly onDrained?: () => void;
}

function part(name: string, headers: string): string {
  return `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"${headers}\r\n\r\n`;
}

/** A multipart body generated as it is read: the image block by block. */
function pushStream(body: PushBody): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    const parameters =
      body.parameters === undefined
        ? []
        : [Buffer.from(`${part("UpdateParameters", "\r\nContent-Type: application/json")}${body.parameters}\r\n`)];
    const image: Buffer[] = [];
    if (!body.fileFirst) yield* parameters;
    if (body.imageBytes !== undefined) {
      yield Buffer.from(part("UpdateFile", '; filename="bmc-image.bin"\r\nContent-Type: application/octet-stream'));
      // Never changed once yielded: the stream may still hold a block when the next is made.
      const block = Buffer.alloc(BLOCK_BYTES, 0x5a);
      const first = Buffer.alloc(BLOCK_BYTES, 0x5a);
      Buffer.from(`version=${body.version ?? "9.9.9"}\n`).copy(first);
      let sent = 0;
      while (sent < body.imageBytes) {
        if (body.breakAfterBytes !== undefined && sent >= body.breakAfterBytes) throw new Error("client went away");
        const size = Math.min(BLOCK_BYTES, body.imageBytes - sent);
        const source = sent === 0 ? first : block;
        yield size === BLOCK_BYTES ? source : source.subarray(0, size);
        sent += size;
      }
      image.push(Buffer.from("\r\n"));
    }
    yield* image;
    if (body.fileFirst) yield* parameters;
    yield Buffer.from(`--${BOUNDARY}--\r\n`);
    body.onDrained?.();
  }
  return Readable.from(generate(), { objectMode: false });
}

function push(f: OperationsFacade, body: PushBody): Promise<LightMyRequestResponse> {
  return f.app.inject({
    method: "POST",
    url: PUSH_URI,
    headers: { ...CONSOLE, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
    payload: pushStream(body),
  });
}

/** No staged file on any member (aborts may still be running when an interrupted request ends), no task. */
async function expectNothingLeft(f: OperationsFacade): Promise<void> {
  const staged = async () => (await Promise.all(["bmc1", "bmc2", "bmc3"].map((m) => stagedFiles(f, m)))).flat();
  await waitFor(
    async () => ((await staged()).length === 0 ? true : undefined),
    "staged files to be removed",
    5_000,
  ).catch(() => undefined);
  expect(await staged()).toEqual([]);
  expect(f.store.tasks()).toEqual([]);
  expect(f.cluster.executions).toEqual([]);
}

describe("multipart push", () => {
  it("streams a 64 MiB image to 3 members with bounded memory; the PoC's own member updates last, after handing over", async () => {
    facade = await startOperationsFacade(
      threeMembers().map((spec) => ({
        ...spec,
        simulator: { ...spec.simulator, limits: { maxImageBytes: 96 * MIB } },
      })),
    );
    const pocAt = recordPocAtEachExecution(facade);
    const imageBytes = 64 * MIB;
    // Samples taken right after a full collection measure what the upload holds, not garbage
    // waiting for the collector.
    collectGarbage();
    const before = process.memoryUsage();
    let peakHeap = before.heapUsed;
    let peakBuffers = before.arrayBuffers;
    let samples = 0;
    let drained = false;
    const sampler = setInterval(() => {
      if (drained) return;
      collectGarbage();
      const now = process.memoryUsage();
      peakHeap = Math.max(peakHeap, now.heapUsed);
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers);
      samples++;
    }, MEMORY_SAMPLE_MS);
    let response: LightMyRequestResponse;
    try {
      response = await push(facade, {
        parameters: JSON.stringify({ ForceUpdate: true }),
        imageBytes,
        version: "4.2.0",
        onDrained: () => {
          drained = true;
        },
      });
    } finally {
      clearInterval(sampler);
    }
    expect(response.statusCode, response.body).toBe(202);
    // Memory while the image went through: a small fraction of it (chunks in flight, not the image).
    expect(samples).toBeGreaterThan(0);
    expect(peakHeap - before.heapUsed).toBeLessThan(MEMORY_GROWTH_MAX_BYTES);
    expect(peakBuffers - before.arrayBuffers).toBeLessThan(MEMORY_GROWTH_MAX_BYTES);

    const taskId = (response.headers.location as string).split("/").pop() as string;
    const planned = facade.store.task(taskId);
    expect(planned?.subtasks.map((s) => [s.memberId, s.action.kind])).toEqual([
      ["peer-bmc2", "firmware-push"],
      ["peer-bmc3", "firmware-push"],
      ["peer-bmc1", "firmware-push"],
    ]);
    expect(planned?.stages.at(-1)?.handOverFrom).toBe("peer-bmc1");
    await resumeAsNewPoc(facade, 60_000);
    const task = await facade.finishedTask(response, 60_000);
    expect(task.state, JSON.stringify(task.messages)).toBe("Completed");
    expect(facade.cluster.transfers).toEqual([undefined]);
    expect(pocAt.at(-1)).toEqual({ member: "bmc1", poc: "bmc2" });
    expect(pocAt.filter((e) => e.member === "bmc1").every((e) => e.poc !== "bmc1")).toBe(true);
    for (const member of ["bmc1", "bmc2", "bmc3"]) {
      expect(await firmwareVersion(facade, member)).toBe("4.2.0");
      expect(await stagedFiles(facade, member)).toEqual([]);
    }
  }, 120_000);

  it("refuses an image larger than a target's BMC takes, and removes what was staged", async () => {
    facade = await startOperationsFacade(
      threeMembers().map((spec) =>
        spec.name === "bmc3" ? { ...spec, simulator: { limits: { maxImageBytes: 1 * MIB } } } : spec,
      ),
    );
    const response = await push(facade, { parameters: "{}", imageBytes: 3 * MIB });
    expect(response.statusCode).toBe(413);
    expect(messageIds(response)).toEqual(["PayloadTooLarge"]);
    await expectNothingLeft(facade);
  });

  it("aborts every staged file when the upload breaks off", async () => {
    facade = await startOperationsFacade(threeMembers());
    const answered = await push(facade, { parameters: "{}", imageBytes: 4 * MIB, breakAfterBytes: 2 * MIB }).then(
      (response) => response,
      () => undefined,
    );
    if (answered !== undefined) expect(answered.statusCode).toBe(400);
    await expectNothingLeft(facade);
  });

  it("aborts every staged file when one member cannot take the image mid-upload", async () => {
    facade = await startOperationsFacade(threeMembers());
    const cluster = facade.cluster;
    const open = cluster.openImageStage.bind(cluster);
    cluster.openImageStage = async (memberId, stageId, expectedBytes) => {
      const writer = await open(memberId, stageId, expectedBytes);
      if (memberId !== "peer-bmc3") return writer;
      let written = 0;
      return {
        ...writer,
        async write(chunk) {
          written += chunk.length;
          if (written > MIB) throw new UpstreamError("unreachable", memberId, "bmc3's disk is full");
          await writer.write(chunk);
        },
      };
    };
    const response = await push(facade, { parameters: "{}", imageBytes: 4 * MIB });
    expect(response.statusCode).toBe(503);
    expect(messageIds(response)).toEqual(["ServiceTemporarilyUnavailable", "CouldNotEstablishConnection"]);
    expect((response.json() as ErrorBody).error["@Message.ExtendedInfo"][1]?.MessageArgs).toEqual([
      "/redfish/v1/AggregationService/AggregationSources/bmc3",
    ]);
    await expectNothingLeft(facade);
  });

  it("refuses missing, misplaced and bad parts and unknown targets, staging nothing", async () => {
    facade = await startOperationsFacade(threeMembers());
    const cases: [PushBody, number, string[]][] = [
      [{ parameters: "{}" }, 400, ["ActionParameterMissing"]],
      [{ imageBytes: 1024 }, 400, ["ActionParameterMissing"]],
      [{ parameters: "{}", imageBytes: 1024, fileFirst: true }, 400, ["ActionParameterMissing"]],
      [{ parameters: "{not json", imageBytes: 1024 }, 400, ["MalformedJSON"]],
      [{ parameters: '{"Colour":"red"}', imageBytes: 1024 }, 400, ["ActionParameterUnknown"]],
      [{ parameters: '{"ForceUpdate":"yes"}', imageBytes: 1024 }, 400, ["ActionParameterValueTypeError"]],
      [
        { parameters: '{"Targets":["/redfish/v1/UpdateService/FirmwareInventory/bmc9_bmc"]}', imageBytes: 1024 },
        400,
        ["ActionParameterValueNotInList"],
      ],
      [{ parameters: "{}", imageBytes: 0 }, 400, ["ActionParameterValueError"]],
    ];
    for (const [body, status, ids] of cases) {
      const response = await push(facade, body);
      expect([JSON.stringify(body), response.statusCode]).toEqual([JSON.stringify(body), status]);
      expect(messageIds(response)).toEqual(ids);
    }
    const json = await facade.post(PUSH_URI, { Targets: [] });
    expect(json.statusCode).toBe(415);
    const elsewhere = await facade.app.inject({
      method: "POST",
      url: "/redfish/v1/Systems/bmc1_system/Actions/ComputerSystem.Reset",
      headers: { ...CONSOLE, "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      payload: pushStream({ parameters: "{}" }),
    });
    expect(elsewhere.statusCode, elsewhere.body).toBe(415);
    expect(messageIds(elsewhere)).toEqual(["HeaderInvalid"]);
    await expectNothingLeft(facade);
  });
});
