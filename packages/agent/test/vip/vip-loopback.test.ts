// Proves loopback mode for real: Linux routes all of 127.0.0.0/8 to lo, a claim binds an HTTP listener on 127.x.y.z (no address added, no root), a release stops it answering, and a second holder gets AGENT_ERR_VIP_ADDRESS_IN_USE.
import { execFileSync } from "node:child_process";
import { randomInt } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createVipManager, serverListenerHook, type VipManager } from "../../src/vip/index.ts";

const isLinux = process.platform === "linux";
const servers: Server[] = [];
const managers: VipManager[] = [];

function helloServer(name: string): Server {
  const server = createServer((_request, response) => {
    response.setHeader("content-type", "text/plain");
    response.end(name);
  });
  servers.push(server);
  return server;
}

function loopbackManager(address: string, server: Server, port: number): VipManager {
  const manager = createVipManager({ mode: "loopback", address, listener: serverListenerHook(server, port) });
  managers.push(manager);
  return manager;
}

/** A random address in 127.0.0.0/8 other than 127.0.0.1, so parallel runs do not meet. */
function randomLoopbackVip(): string {
  return `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(2, 255)}`;
}

async function get(address: string, port: number): Promise<string> {
  const response = await fetch(`http://${address}:${port}/`, { signal: AbortSignal.timeout(2_000) });
  return response.text();
}

afterEach(async () => {
  for (const manager of managers.splice(0)) await manager.stop().catch(() => undefined);
  for (const server of servers.splice(0)) server.close();
});

describe.skipIf(!isLinux)("loopback VIP (Linux)", () => {
  it("routes all of 127.0.0.0/8 to lo", () => {
    let table: string;
    try {
      table = execFileSync("ip", ["route", "show", "table", "local", "127.0.0.0/8"], { encoding: "utf8" });
    } catch {
      return; // no iproute2: the bind below proves it anyway
    }
    expect(table).toMatch(/local 127\.0\.0\.0\/8 dev lo/);
  });

  it("binds on claim, answers on the VIP, and stops answering on release", async () => {
    const vip = randomLoopbackVip();
    const server = helloServer("poc");
    const manager = loopbackManager(vip, server, 0);
    await manager.claim("test: elected");
    const { port, address } = server.address() as AddressInfo;
    expect(address).toBe(vip);
    expect(await get(vip, port)).toBe("poc");
    expect(manager.status()).toMatchObject({ mode: "loopback", held: true, lastReason: "test: elected" });

    await manager.release("test: lease lapsed");
    await expect(get(vip, port)).rejects.toThrow();
    await manager.claim("test: elected again");
    expect(await get(vip, port)).toBe("poc");
  });

  it("refuses a second holder of the same VIP and port with AGENT_ERR_VIP_ADDRESS_IN_USE", async () => {
    const vip = randomLoopbackVip();
    const first = helloServer("first");
    const firstManager = loopbackManager(vip, first, 0);
    await firstManager.claim("test: elected");
    const { port } = first.address() as AddressInfo;

    const secondManager = loopbackManager(vip, helloServer("second"), port);
    const claim = secondManager.claim("test: also elected");
    await expect(claim).rejects.toMatchObject({ code: "AGENT_ERR_VIP_ADDRESS_IN_USE" });
    await expect(claim).rejects.toThrow(/already bound by another process/);
    expect(secondManager.status().held).toBe(false);

    // The VIP moves: the first lets go, the second can take it.
    await firstManager.release("test: stepped down");
    await secondManager.claim("test: elected");
    expect(await get(vip, port)).toBe("second");
  });

  it("drops open keep-alive connections on release", async () => {
    const vip = randomLoopbackVip();
    const server = helloServer("poc");
    const manager = loopbackManager(vip, server, 0);
    await manager.claim("test: elected");
    const { port } = server.address() as AddressInfo;
    expect(await get(vip, port)).toBe("poc"); // leaves a keep-alive connection open
    const released = manager.release("test: lease lapsed");
    await expect(released).resolves.toBeUndefined();
    expect(server.listening).toBe(false);
  });
});
