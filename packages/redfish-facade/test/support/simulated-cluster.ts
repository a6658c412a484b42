// A FacadeCluster for tests over in-process BMC simulators: `forward` is the simulator's
// `inject()` with the simulator's own credentials added (as a member's agent adds its BMC's),
// bounded by the request's deadline. Members, health, quorum and the cluster UUID are settable.

import type { AddressInfo } from "node:net";
import { buildSimulator, type SimulatorOptions } from "@conclave/bmc-simulator";
import type { FastifyInstance } from "fastify";
import type { FacadeCluster, FacadeMember, UpstreamRequest, UpstreamResponse } from "../../src/index.ts";
import { UpstreamError } from "../../src/index.ts";
import { createHttpForwarder, type HttpForwarder } from "./http-forward.ts";

/** What every simulator accepts (its default account): only the "agent" side knows it. */
const SIMULATOR_AUTHORIZATION = `Basic ${Buffer.from("admin:admin").toString("base64")}`;
export const TEST_CLUSTER_UUID = "6f1c2b4e-8a0d-4c3e-9f57-2d8b6a1e0c42";

export interface SimulatedMemberSpec {
  readonly name: string;
  readonly simulator?: SimulatorOptions;
  readonly role?: FacadeMember["role"];
  readonly hasBmc?: boolean;
}

export interface ForwardRecord {
  readonly memberName: string;
  readonly request: UpstreamRequest;
}

export interface SimulatedCluster extends FacadeCluster {
  readonly simulators: ReadonlyMap<string, FastifyInstance>;
  /** Every forward, in order (tests count cache hits and check headers with it). */
  readonly forwards: ForwardRecord[];
  setQuorum(value: boolean): void;
  setUuid(value: string | null): void;
  setMember(name: string, change: Partial<Omit<FacadeMember, "id" | "name">>): void;
  setPoc(name: string): void;
  simulator(name: string): FastifyInstance;
  setFaults(name: string, faults: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export const FAST_TIMING = {
  powerOnDelayMs: 40,
  gracefulShutdownDelayMs: 40,
  forceOffDelayMs: 10,
  managerResetDelayMs: 40,
  updateStepMs: 15,
  updateStepCount: 4,
};

export interface SimulatedClusterOptions {
  readonly clusterName?: string;
  /** "inject" (default): forward with app.inject(); "http": simulators listen on loopback, forward with undici. */
  readonly transport?: "inject" | "http";
}

export async function createSimulatedCluster(
  specs: readonly SimulatedMemberSpec[],
  options: SimulatedClusterOptions = {},
): Promise<SimulatedCluster> {
  const clusterName = options.clusterName ?? "rack7";
  const simulators = new Map<string, FastifyInstance>();
  const forwarders = new Map<string, HttpForwarder>();
  let members: FacadeMember[] = specs.map((spec, index) => {
    if (spec.hasBmc !== false) {
      simulators.set(
        spec.name,
        buildSimulator({
          logger: false,
          generator: { nodeName: spec.name },
          ...spec.simulator,
          timing: { ...FAST_TIMING, ...spec.simulator?.timing },
        }),
      );
    }
    return {
      id: `peer-${spec.name}`,
      name: spec.name,
      hostName: spec.hasBmc === false ? undefined : `${spec.name}.bmc.example`,
      role: spec.role ?? "voter",
      isPoc: index === 0,
      hasBmc: spec.hasBmc !== false,
      health: "OK",
      bmcReachable: spec.hasBmc !== false,
      labels: {},
    };
  });
  if (options.transport === "http") {
    for (const [name, app] of simulators) {
      await app.listen({ port: 0, host: "127.0.0.1" });
      const address = app.server.address() as AddressInfo;
      forwarders.set(
        name,
        createHttpForwarder(`http://127.0.0.1:${address.port}`, { authorization: SIMULATOR_AUTHORIZATION }),
      );
    }
  }
  let quorum = true;
  let uuid: string | null = TEST_CLUSTER_UUID;
  const forwards: ForwardRecord[] = [];
  const simulatorNamed = (name: string): FastifyInstance => {
    const app = simulators.get(name);
    if (app === undefined) throw new Error(`no simulator ${name}`);
    return app;
  };
  const byName = (name: string): FacadeMember => {
    const member = members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  };

  return {
    clusterName,
    simulators,
    forwards,
    clusterUuid: () => uuid,
    hasQuorum: () => quorum,
    members: () => [...members].sort((a, b) => a.name.localeCompare(b.name)),
    async forward(memberId: string, request: UpstreamRequest): Promise<UpstreamResponse> {
      const member = members.find((m) => m.id === memberId);
      const app = member === undefined ? undefined : simulators.get(member.name);
      if (member === undefined || app === undefined)
        throw new UpstreamError("unknown-member", memberId, "no such member");
      forwards.push({ memberName: member.name, request });
      const http = forwarders.get(member.name);
      if (http !== undefined) return http.send(memberId, request);
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new UpstreamError("timeout", memberId, `no answer within ${request.timeoutMs} ms`)),
          request.timeoutMs,
        );
      });
      try {
        const response = await Promise.race([
          app.inject({
            method: request.method as "GET",
            url: request.path,
            headers: { ...request.headers, authorization: SIMULATOR_AUTHORIZATION },
            ...(request.body === undefined ? {} : { payload: request.body }),
          }),
          deadline,
        ]);
        return {
          statusCode: response.statusCode,
          headers: response.headers as UpstreamResponse["headers"],
          text: response.body,
        };
      } catch (error) {
        if (error instanceof UpstreamError) throw error;
        throw new UpstreamError("unreachable", memberId, `${member.name} did not answer`, { cause: error });
      } finally {
        clearTimeout(timer);
      }
    },
    setQuorum(value) {
      quorum = value;
    },
    setUuid(value) {
      uuid = value;
    },
    setMember(name, change) {
      members = members.map((m) => (m.name === name ? { ...m, ...change } : m));
    },
    setPoc(name) {
      byName(name);
      members = members.map((m) => ({ ...m, isPoc: m.name === name }));
    },
    simulator: simulatorNamed,
    async setFaults(name, faults) {
      const response = await simulatorNamed(name).inject({ method: "POST", url: "/_sim/faults", payload: faults });
      if (response.statusCode !== 200) throw new Error(`faults for ${name}: ${response.body}`);
    },
    async close() {
      await Promise.all([...forwarders.values()].map((forwarder) => forwarder.close()));
      await Promise.all([...simulators.values()].map((app) => app.close()));
    },
  };
}
