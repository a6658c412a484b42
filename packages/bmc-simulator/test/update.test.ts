// Proves SimpleUpdate and the multipart push create Tasks that progress to Completed and change the firmware version.
import type { FastifyInstance } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { MULTIPART_PUSH_URI } from "../src/index.ts";
import { ADMIN, getJson, testSimulator, waitFor } from "./helpers.ts";

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

const SIMPLE_UPDATE = "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate";
const BMC_FIRMWARE = "/redfish/v1/UpdateService/FirmwareInventory/bmc";

function multipartBody(
  parameters: unknown,
  file: { name: string; content: Buffer } | undefined,
  boundary: string,
): Buffer {
  const parts: Buffer[] = [];
  if (parameters !== undefined) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="UpdateParameters"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(parameters)}\r\n`,
      ),
    );
  }
  if (file) {
    parts.push(
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="UpdateFile"; filename="${file.name}"\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      file.content,
      Buffer.from("\r\n"),
    );
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(parts);
}

function push(instance: FastifyInstance, parameters: unknown, file?: { name: string; content: Buffer }) {
  const boundary = "----conclave-test-boundary";
  return instance.inject({
    method: "POST",
    url: MULTIPART_PUSH_URI,
    headers: { ...ADMIN, "content-type": `multipart/form-data; boundary=${boundary}` },
    payload: multipartBody(parameters, file, boundary),
  });
}

async function monitorUntilDone(
  instance: FastifyInstance,
  monitor: string,
): Promise<{ states: string[]; percents: number[] }> {
  const states: string[] = [];
  const percents: number[] = [];
  await waitFor(async () => {
    const response = await instance.inject({ url: monitor, headers: ADMIN });
    const task = response.json();
    states.push(task.TaskState);
    percents.push(task.PercentComplete);
    if (response.statusCode === 202) {
      expect(response.headers.location).toBe(monitor);
      return undefined;
    }
    expect(response.statusCode).toBe(200);
    return true;
  }, "the task to finish");
  return { states, percents };
}

describe("UpdateService", () => {
  it("advertises the multipart push URI, SimpleUpdate and the image size limit", async () => {
    app = testSimulator({ limits: { maxImageBytes: 4096 } });
    const service = await getJson(app, "/redfish/v1/UpdateService");
    expect(service.MultipartHttpPushUri).toBe(MULTIPART_PUSH_URI);
    expect(service.MaxImageSizeBytes).toBe(4096);
    expect(service.Actions).toMatchObject({ "#UpdateService.SimpleUpdate": { target: SIMPLE_UPDATE } });
  });

  it("SimpleUpdate answers 202 with a task monitor; the task completes and the BMC version changes", async () => {
    app = testSimulator();
    const response = await app.inject({
      method: "POST",
      url: SIMPLE_UPDATE,
      headers: ADMIN,
      payload: { ImageURI: "https://images.example/obmc-phosphor-image-2.19.1.tar", TransferProtocol: "HTTPS" },
    });
    expect(response.statusCode).toBe(202);
    const monitor = String(response.headers.location);
    expect(monitor).toMatch(/^\/redfish\/v1\/TaskService\/TaskMonitors\/\d+$/);
    expect(response.json()).toMatchObject({ TaskMonitor: monitor, TaskState: "Running" });
    const { states, percents } = await monitorUntilDone(app, monitor);
    expect(states.at(-1)).toBe("Completed");
    expect(percents.at(-1)).toBe(100);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect((await getJson(app, BMC_FIRMWARE)).Version).toBe("2.19.1");
    expect((await getJson(app, "/redfish/v1/Managers/bmc")).FirmwareVersion).toBe("2.19.1");
    const task = await getJson(app, String(response.json()["@odata.id"]));
    const ids = (task.Messages as Array<{ MessageId: string }>).map((m) => m.MessageId);
    expect(ids).toContain("Update.1.3.0.UpdateSuccessful");
    expect(ids.at(-1)).toBe("TaskEvent.1.0.5.TaskCompletedOK");
    expect(app.simulator.counters.snapshot().operations["UpdateService.SimpleUpdate"]).toBe(1);
  });

  it("SimpleUpdate can target the BIOS and rejects bad parameters", async () => {
    app = testSimulator();
    const missing = await app.inject({ method: "POST", url: SIMPLE_UPDATE, headers: ADMIN, payload: { Targets: [] } });
    expect(missing.json().error["@Message.ExtendedInfo"][0].MessageId).toBe("Base.1.19.0.ActionParameterMissing");
    const badTarget = await app.inject({
      method: "POST",
      url: SIMPLE_UPDATE,
      headers: ADMIN,
      payload: { ImageURI: "http://x/bios.bin", Targets: ["/redfish/v1/Nope"] },
    });
    expect(badTarget.json().error["@Message.ExtendedInfo"][0].MessageId).toBe(
      "Base.1.19.0.ActionParameterValueNotInList",
    );
    const bios = await app.inject({
      method: "POST",
      url: SIMPLE_UPDATE,
      headers: ADMIN,
      payload: { ImageURI: "http://x/bios.bin", Targets: ["/redfish/v1/Systems/system"] },
    });
    expect(bios.statusCode).toBe(202);
    await monitorUntilDone(app, String(bios.headers.location));
    // The image name carries no version, so the last number goes up by one.
    expect((await getJson(app, "/redfish/v1/Systems/system")).BiosVersion).toBe("1.4.3");
  });

  it("the multipart push streams the image, reads the MANIFEST version and completes", async () => {
    app = testSimulator();
    const image = Buffer.concat([
      Buffer.from("purpose=xyz.openbmc_project.Software.Version.VersionPurpose.BMC\nversion=2.20.0-dev\n"),
      Buffer.alloc(200_000, 7),
    ]);
    const response = await push(
      app,
      { Targets: [BMC_FIRMWARE], "@Redfish.OperationApplyTime": "Immediate" },
      { name: "image.tar", content: image },
    );
    expect(response.statusCode).toBe(202);
    const { states } = await monitorUntilDone(app, String(response.headers.location));
    expect(states.at(-1)).toBe("Completed");
    expect((await getJson(app, BMC_FIRMWARE)).Version).toBe("2.20.0-dev");
    expect(app.simulator.counters.snapshot().operations["UpdateService.MultipartPush"]).toBe(1);
  });

  it("the multipart push rejects an image over maxImageBytes with 413 and a missing UpdateFile with 400", async () => {
    app = testSimulator({ limits: { maxImageBytes: 1024 } });
    const big = await push(app, {}, { name: "big.tar", content: Buffer.alloc(4096, 1) });
    expect(big.statusCode).toBe(413);
    expect(big.json().error.code).toBe("Base.1.19.0.PayloadTooLarge");
    const none = await push(app, { Targets: [] });
    expect(none.statusCode).toBe(400);
    expect(none.json().error["@Message.ExtendedInfo"][0].MessageId).toBe("Base.1.19.0.ActionParameterMissing");
    expect(app.simulator.counters.snapshot().operations["UpdateService.MultipartPush"]).toBeUndefined();
  });

  it("answers a second update while one runs with 503 and Retry-After; DELETE on the monitor cancels", async () => {
    app = testSimulator({ timing: { updateStepMs: 5000 } });
    const first = await app.inject({
      method: "POST",
      url: SIMPLE_UPDATE,
      headers: ADMIN,
      payload: { ImageURI: "http://x/a-1.2.3.tar" },
    });
    expect(first.statusCode).toBe(202);
    const second = await app.inject({
      method: "POST",
      url: SIMPLE_UPDATE,
      headers: ADMIN,
      payload: { ImageURI: "http://x/b-1.2.4.tar" },
    });
    expect(second.statusCode).toBe(503);
    expect(second.headers["retry-after"]).toBe("10");
    const cancel = await app.inject({ method: "DELETE", url: String(first.headers.location), headers: ADMIN });
    expect(cancel.statusCode).toBe(204);
    expect((await getJson(app, String(first.json()["@odata.id"]))).TaskState).toBe("Cancelled");
    expect((await getJson(app, BMC_FIRMWARE)).Version).toBe("2.18.0-sim");
  });
});
