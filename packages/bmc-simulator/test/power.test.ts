// Proves Reset actions move PowerState through PoweringOn/PoweringOff to the final state after the configured delay.
import type { FastifyInstance } from "fastify";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ADMIN, getJson, testSimulator, waitFor } from "./helpers.ts";

let app: FastifyInstance;
beforeEach(() => {
  app = testSimulator();
});
afterEach(async () => {
  await app.close();
});

const SYSTEM = "/redfish/v1/Systems/system";

async function reset(url: string, ResetType: unknown) {
  return app.inject({ method: "POST", url, headers: ADMIN, payload: ResetType === undefined ? {} : { ResetType } });
}

async function powerStateBecomes(uri: string, state: string): Promise<void> {
  await waitFor(async () => ((await getJson(app, uri)).PowerState === state ? true : undefined), `${uri} ${state}`);
}

describe("ComputerSystem.Reset", () => {
  it("ForceOff passes through PoweringOff to Off, and On through PoweringOn to On", async () => {
    expect((await getJson(app, SYSTEM)).PowerState).toBe("On");
    const off = await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, "ForceOff");
    expect(off.statusCode).toBe(204);
    expect((await getJson(app, SYSTEM)).PowerState).toBe("PoweringOff");
    await powerStateBecomes(SYSTEM, "Off");
    const on = await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, "On");
    expect(on.statusCode).toBe(204);
    expect((await getJson(app, SYSTEM)).PowerState).toBe("PoweringOn");
    await powerStateBecomes(SYSTEM, "On");
    const system = await getJson(app, SYSTEM);
    expect((system.BootProgress as Record<string, unknown>).LastState).toBe("OSRunning");
  });

  it("GracefulRestart goes down and comes back up; the events show each step", async () => {
    const before = app.simulator.events.lastEventId;
    await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, "GracefulRestart");
    expect((await getJson(app, SYSTEM)).PowerState).toBe("PoweringOff");
    // Off lasts no time before PoweringOn begins, so the events, not a poll, show it.
    await waitFor(() => (app.simulator.events.lastEventId >= before + 4 ? true : undefined), "four power events");
    expect((await getJson(app, SYSTEM)).PowerState).toBe("On");
    const messageIds = app.simulator.events
      .events()
      .filter((e) => e.id > before)
      .map((e) => (e.body.Events as Array<{ MessageId: string }>)[0]?.MessageId);
    expect(messageIds).toEqual([
      "ResourceEvent.1.4.3.ResourcePoweringOff",
      "ResourceEvent.1.4.3.ResourcePoweredOff",
      "ResourceEvent.1.4.3.ResourcePoweringOn",
      "ResourceEvent.1.4.3.ResourcePoweredOn",
    ]);
  });

  it("Pause and Resume, and Nmi leaves power alone", async () => {
    await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, "Pause");
    expect((await getJson(app, SYSTEM)).PowerState).toBe("Paused");
    await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, "Resume");
    expect((await getJson(app, SYSTEM)).PowerState).toBe("On");
    expect((await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, "Nmi")).statusCode).toBe(204);
    expect((await getJson(app, SYSTEM)).PowerState).toBe("On");
  });

  it("rejects a missing, unknown or mistyped ResetType with the Base registry's messages", async () => {
    const missing = await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, undefined);
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error["@Message.ExtendedInfo"][0].MessageId).toBe("Base.1.19.0.ActionParameterMissing");
    const unknown = await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, "Explode");
    expect(unknown.json().error["@Message.ExtendedInfo"][0].MessageId).toBe(
      "Base.1.19.0.ActionParameterValueNotInList",
    );
    const mistyped = await reset(`${SYSTEM}/Actions/ComputerSystem.Reset`, 3);
    expect(mistyped.json().error["@Message.ExtendedInfo"][0].MessageId).toBe(
      "Base.1.19.0.ActionParameterValueTypeError",
    );
    const extra = await app.inject({
      method: "POST",
      url: `${SYSTEM}/Actions/ComputerSystem.Reset`,
      headers: ADMIN,
      payload: { ResetType: "On", Force: true },
    });
    expect(extra.json().error["@Message.ExtendedInfo"][0].MessageId).toBe("Base.1.19.0.ActionParameterUnknown");
    expect(app.simulator.counters.snapshot().operations["ComputerSystem.Reset"]).toBeUndefined();
  });
});

describe("Chassis.Reset and Manager.Reset", () => {
  it("a chassis powered off takes its systems down with it", async () => {
    const response = await reset("/redfish/v1/Chassis/chassis/Actions/Chassis.Reset", "ForceOff");
    expect(response.statusCode).toBe(204);
    await powerStateBecomes("/redfish/v1/Chassis/chassis", "Off");
    expect((await getJson(app, SYSTEM)).PowerState).toBe("Off");
  });

  it("a manager reset goes through Status.State Starting and back to Enabled", async () => {
    const manager = "/redfish/v1/Managers/bmc";
    const response = await reset(`${manager}/Actions/Manager.Reset`, "GracefulRestart");
    expect(response.statusCode).toBe(204);
    expect(((await getJson(app, manager)).Status as Record<string, unknown>).State).toBe("Starting");
    await waitFor(
      async () =>
        ((await getJson(app, manager)).Status as Record<string, unknown>).State === "Enabled" ? true : undefined,
      "the manager to be back",
    );
    const bad = await reset(`${manager}/Actions/Manager.Reset`, "ForceOff");
    expect(bad.statusCode).toBe(400);
  });
});
