// Proves the local BMC client against the real BMC simulator on 127.0.0.1: session login from a 0600 credentials file, re-login after the session is gone, If-Match/ETag round trips, probe, refused credentials, a BMC that resets or hangs, and logout on close.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type RunningSimulator, startSimulator } from "@conclave/bmc-simulator";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type BmcClient, createBmcClient } from "../../src/bmc/index.ts";

let simulator: RunningSimulator;
let dir: string;
const clients: BmcClient[] = [];

function credentialsFile(name: string, username: string, password: string): string {
  const file = join(dir, name);
  writeFileSync(file, `username: ${username}\npassword: "${password}"\n`, { mode: 0o600 });
  return file;
}

function client(file: string, requestTimeoutMs = 5_000): BmcClient {
  const bmc = createBmcClient({
    redfishUrl: simulator.url,
    credentialsFile: file,
    requestTimeoutMs,
    connectTimeoutMs: 1_000,
  });
  clients.push(bmc);
  return bmc;
}

async function simState(): Promise<{ sessions: number }> {
  return (await fetch(`${simulator.url}/_sim/state`)).json() as Promise<{ sessions: number }>;
}

async function setFaults(faults: Record<string, unknown> | undefined): Promise<void> {
  await fetch(`${simulator.url}/_sim/faults`, {
    method: faults === undefined ? "DELETE" : "POST",
    ...(faults === undefined ? {} : { body: JSON.stringify(faults), headers: { "content-type": "application/json" } }),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "conclave-bmc-"));
  simulator = await startSimulator({ port: 0, host: "127.0.0.1", logger: false });
});

afterEach(async () => {
  await setFaults(undefined);
  for (const bmc of clients.splice(0)) await bmc.close();
});

afterAll(async () => {
  await simulator.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("against the BMC simulator", () => {
  it("logs in with a session and reads the tree", async () => {
    const bmc = client(credentialsFile("admin", "admin", "admin"));
    const systems = await bmc.get("/redfish/v1/Systems");
    expect(systems.statusCode).toBe(200);
    expect(systems.json).toMatchObject({ Members: [{ "@odata.id": "/redfish/v1/Systems/system" }] });
    expect(bmc.authMode()).toBe("session");
    expect((await simState()).sessions).toBe(1);
    await bmc.close();
    expect((await simState()).sessions).toBe(0);
  });

  it("logs in again when its session has gone (BMC restart, expiry)", async () => {
    const bmc = client(credentialsFile("admin2", "admin", "admin"));
    await bmc.get("/redfish/v1/Systems/system");
    // Delete every session behind the client's back, as a bmcweb restart would.
    const sessions = (await (
      await fetch(`${simulator.url}/redfish/v1/SessionService/Sessions`, {
        headers: { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` },
      })
    ).json()) as { Members: { "@odata.id": string }[] };
    for (const member of sessions.Members) {
      await fetch(`${simulator.url}${member["@odata.id"]}`, {
        method: "DELETE",
        headers: { authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` },
      });
    }
    expect((await simState()).sessions).toBe(0);
    expect((await bmc.get("/redfish/v1/Systems/system")).statusCode).toBe(200);
    expect((await simState()).sessions).toBe(1);
  });

  it("round-trips ETag and If-Match on PATCH", async () => {
    const bmc = client(credentialsFile("admin3", "admin", "admin"));
    const before = await bmc.get("/redfish/v1/Systems/system");
    expect(before.etag).toBeDefined();
    const stale = await bmc.request("PATCH", "/redfish/v1/Systems/system", {
      body: { AssetTag: "rack-a-1" },
      headers: { "If-Match": '"not-the-etag"' },
    });
    expect(stale.statusCode).toBe(412);
    const fresh = await bmc.request("PATCH", "/redfish/v1/Systems/system", {
      body: { AssetTag: "rack-a-1" },
      headers: { "If-Match": before.etag! },
    });
    expect(fresh.statusCode).toBeLessThan(300);
    expect((await bmc.get("/redfish/v1/Systems/system")).json).toMatchObject({ AssetTag: "rack-a-1" });
  });

  it("probes the service root", async () => {
    const bmc = client(credentialsFile("admin4", "admin", "admin"));
    expect(await bmc.probe()).toMatchObject({ reachable: true, statusCode: 200 });
    expect((await simState()).sessions).toBe(0); // the probe needs no login
  });

  it("reports refused credentials as AGENT_ERR_BMC_AUTH", async () => {
    const bmc = client(credentialsFile("wrong", "admin", "not-the-password"));
    await expect(bmc.get("/redfish/v1/Systems")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_AUTH" });
  });

  it("reports a BMC that resets connections as unreachable, and one that hangs as a timeout", async () => {
    const bmc = client(credentialsFile("admin5", "admin", "admin"), 300);
    await bmc.get("/redfish/v1");
    await setFaults({ down: "reset" });
    await expect(bmc.get("/redfish/v1/Systems")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_UNREACHABLE" });
    expect(await bmc.probe()).toMatchObject({ reachable: false, problem: "AGENT_ERR_BMC_UNREACHABLE" });
    await setFaults(undefined); // POST merges: clear the reset first
    await setFaults({ hang: true });
    await expect(bmc.get("/redfish/v1/Systems")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_TIMEOUT" });
    expect(await bmc.probe()).toMatchObject({ reachable: false, problem: "AGENT_ERR_BMC_TIMEOUT" });
    await setFaults(undefined);
    expect((await bmc.get("/redfish/v1/Systems")).statusCode).toBe(200);
  });

  it("reports a BMC that is not listening as unreachable", async () => {
    const gone = await startSimulator({ port: 0, logger: false });
    const url = gone.url;
    await gone.close();
    const bmc = createBmcClient({ redfishUrl: url, credentialsFile: credentialsFile("admin6", "admin", "admin") });
    clients.push(bmc);
    await expect(bmc.get("/redfish/v1/Systems")).rejects.toMatchObject({ code: "AGENT_ERR_BMC_UNREACHABLE" });
    expect(await bmc.probe()).toMatchObject({ reachable: false, problem: "AGENT_ERR_BMC_UNREACHABLE" });
  });
});
