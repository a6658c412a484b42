// A FacadeCluster for tests over in-process BMC simulators: `forward` is the simulator's
// `inject()` with the simulator's own credentials added (as a member's agent adds its BMC's),
// bounded by the request's deadline. Members, health, quorum, the term and the cluster UUID are
// settable. Each member keeps an OwnerLedger as its agent does, so journaled operations run at
// most once per id and a stale term is refused; images are staged in a temporary directory.

import { createHash } from "node:crypto";
import { openAsBlob } from "node:fs";
import { mkdir, mkdtemp, open, rm, stat } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildSimulator, OPERATION_ID_HEADER, type SimulatorOptions } from "@conclave/bmc-simulator";
import type { FastifyInstance } from "fastify";
import type {
  FacadeCluster,
  FacadeMember,
  ImageStageWriter,
  OperationExecution,
  OperationStatusQuery,
  OwnerAnswer,
  UpstreamRequest,
  UpstreamResponse,
} from "../../src/index.ts";
import { LeadershipTransferError, OwnerLedger, operationResultOf, UpstreamError } from "../../src/index.ts";
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
  /** Every executeOperation, in order, with the owner's answer (undefined: it threw). */
  readonly executions: { memberName: string; execution: OperationExecution; answer: OwnerAnswer | undefined }[];
  /** Every transferLeadership call's target, in order. */
  readonly transfers: (string | undefined)[];
  /** Each member's ledger (by name), as its agent keeps it. */
  readonly ledgers: ReadonlyMap<string, OwnerLedger>;
  setTerm(value: number): void;
  /** The owner's own Raft term (default: the cluster's): a member that has seen a newer PoC. */
  setMemberTerm(name: string, value: number | undefined): void;
  /** Makes the next transferLeadership calls fail (LeadershipTransferError) while true. */
  failTransfers(value: boolean): void;
  /** Where a member's staged images are (files `<stageId>.img`). */
  stageDir(name: string): string;
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
  /** Where each listening simulator is ("http" transport). */
  const baseUrls = new Map<string, string>();
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
      baseUrls.set(name, `http://127.0.0.1:${address.port}`);
      forwarders.set(
        name,
        createHttpForwarder(`http://127.0.0.1:${address.port}`, { authorization: SIMULATOR_AUTHORIZATION }),
      );
    }
  }
  let quorum = true;
  let uuid: string | null = TEST_CLUSTER_UUID;
  let term = 1;
  let transfersFail = false;
  const memberTerms = new Map<string, number>();
  const forwards: ForwardRecord[] = [];
  const executions: SimulatedCluster["executions"] = [];
  const transfers: (string | undefined)[] = [];
  const ledgers = new Map<string, OwnerLedger>(members.map((m) => [m.name, new OwnerLedger()]));
  const stageRoot = await mkdtemp(join(tmpdir(), "conclave-stage-"));
  const stageDir = (name: string): string => join(stageRoot, name);
  const stagedPath = (name: string, stageId: string): string => join(stageDir(name), `${stageId}.img`);
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

  const memberById = (memberId: string): FacadeMember => {
    const member = members.find((m) => m.id === memberId);
    if (member === undefined || !simulators.has(member.name)) {
      throw new UpstreamError("unknown-member", memberId, "no such member");
    }
    return member;
  };

  /** What the owner's agent does to push a staged image to its BMC (multipart/form-data). */
  const pushImage = async (
    self: FacadeCluster,
    member: FacadeMember,
    execution: OperationExecution & { action: { kind: "firmware-push" } },
  ): Promise<UpstreamResponse | "image-missing"> => {
    const file = stagedPath(member.name, execution.action.stageId);
    try {
      await stat(file);
    } catch {
      return "image-missing";
    }
    const service = await self.forward(member.id, {
      method: "GET",
      path: "/redfish/v1/UpdateService",
      headers: { accept: "application/json" },
      timeoutMs: execution.timeoutMs,
    });
    const pushUri = (JSON.parse(service.text) as { MultipartHttpPushUri?: string }).MultipartHttpPushUri;
    if (pushUri === undefined)
      throw new UpstreamError("unreachable", member.id, `${member.name} has no MultipartHttpPushUri`);
    const form = new FormData();
    form.set(
      "UpdateParameters",
      new Blob([JSON.stringify(execution.action.updateParameters)], { type: "application/json" }),
    );
    form.set("UpdateFile", await openAsBlob(file), execution.action.imageName);
    const headers = { authorization: SIMULATOR_AUTHORIZATION, [OPERATION_ID_HEADER]: execution.operationId };
    const baseUrl = baseUrls.get(member.name);
    if (baseUrl !== undefined) {
      // Over HTTP the image streams from the file, as the owner's agent sends it.
      const response = await fetch(new URL(pushUri, baseUrl), {
        method: "POST",
        body: form,
        headers,
        signal: AbortSignal.timeout(execution.timeoutMs),
      });
      const text = await response.text();
      if (response.ok) await rm(file, { force: true });
      return { statusCode: response.status, headers: Object.fromEntries(response.headers), text };
    }
    // inject() takes a whole body: encoded in memory (test images are small).
    const encoded = new Request("http://member.invalid/", { method: "POST", body: form });
    const response = await simulatorNamed(member.name).inject({
      method: "POST",
      url: pushUri,
      headers: { ...headers, "content-type": encoded.headers.get("content-type") as string },
      payload: Buffer.from(await encoded.arrayBuffer()),
    });
    if (response.statusCode >= 200 && response.statusCode < 300) await rm(file, { force: true });
    return {
      statusCode: response.statusCode,
      headers: response.headers as UpstreamResponse["headers"],
      text: response.body,
    };
  };

  const cluster: SimulatedCluster = {
    clusterName,
    simulators,
    forwards,
    executions,
    transfers,
    ledgers,
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
    term: () => term,
    async executeOperation(memberId: string, execution: OperationExecution): Promise<OwnerAnswer> {
      const member = memberById(memberId);
      const ledger = ledgers.get(member.name) as OwnerLedger;
      const record = (answer: OwnerAnswer | undefined): OwnerAnswer | undefined => {
        executions.push({ memberName: member.name, execution, answer });
        return answer;
      };
      const decision = ledger.begin(execution, memberTerms.get(member.name) ?? term, Date.now());
      if (decision.kind === "answer") return record(decision.answer) as OwnerAnswer;
      let response: UpstreamResponse | "image-missing";
      try {
        if (execution.action.kind === "http") {
          const { request } = execution.action;
          // Through `cluster.forward`, late-bound, so a test may stand in for a member's BMC.
          response = await cluster.forward(member.id, {
            method: request.method,
            path: request.path,
            headers: { ...request.headers, [OPERATION_ID_HEADER]: execution.operationId },
            ...(request.body === undefined ? {} : { body: request.body }),
            timeoutMs: execution.timeoutMs,
          });
        } else {
          response = await pushImage(
            cluster,
            member,
            execution as OperationExecution & { action: { kind: "firmware-push" } },
          );
        }
      } catch (error) {
        record(undefined);
        // A timeout may have reached the BMC: never run again. Anything else never left the owner.
        if (error instanceof UpstreamError && error.kind === "timeout")
          ledger.finishUnknown(execution.operationId, Date.now());
        else ledger.abandon(execution.operationId);
        throw error;
      }
      if (response === "image-missing") {
        ledger.abandon(execution.operationId);
        return record({ kind: "image-missing" }) as OwnerAnswer;
      }
      const result = operationResultOf(response);
      ledger.finish(execution.operationId, result, Date.now());
      return record({ kind: "executed", result }) as OwnerAnswer;
    },
    async operationStatus(memberId: string, query: OperationStatusQuery): Promise<OwnerAnswer> {
      const member = memberById(memberId);
      const ledger = ledgers.get(member.name) as OwnerLedger;
      return ledger.status(query, memberTerms.get(member.name) ?? term, Date.now());
    },
    async transferLeadership(toMemberId: string | undefined): Promise<void> {
      transfers.push(toMemberId);
      if (transfersFail) throw new LeadershipTransferError("the test cluster refuses transfers");
      const current = members.find((m) => m.isPoc);
      const target =
        toMemberId === undefined
          ? members.find((m) => m.id !== current?.id && m.role === "voter")
          : members.find((m) => m.id === toMemberId);
      if (target === undefined) throw new LeadershipTransferError("no other member can lead");
      members = members.map((m) => ({ ...m, isPoc: m.id === target.id }));
      term++;
      // This facade ran on the old PoC: it no longer has the quorum lease.
      quorum = false;
    },
    async openImageStage(
      memberId: string,
      stageId: string,
      expectedBytes: number | undefined,
    ): Promise<ImageStageWriter> {
      const member = memberById(memberId);
      await mkdir(stageDir(member.name), { recursive: true });
      const path = stagedPath(member.name, stageId);
      const handle = await open(path, "w");
      const hash = createHash("sha256");
      let bytes = 0;
      let closed = false;
      return {
        async write(chunk) {
          if (expectedBytes !== undefined && bytes + chunk.length > expectedBytes) {
            throw new UpstreamError("unreachable", memberId, `more than the ${expectedBytes} bytes announced`);
          }
          await handle.write(chunk);
          hash.update(chunk);
          bytes += chunk.length;
        },
        async finish() {
          closed = true;
          await handle.close();
          return { bytes, sha256: hash.digest("hex") };
        },
        async abort() {
          if (!closed) await handle.close().catch(() => undefined);
          closed = true;
          await rm(path, { force: true });
        },
      };
    },
    setTerm(value) {
      term = value;
    },
    setMemberTerm(name, value) {
      if (value === undefined) memberTerms.delete(name);
      else memberTerms.set(name, value);
    },
    failTransfers(value) {
      transfersFail = value;
    },
    stageDir,
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
      try {
        await Promise.all([...forwarders.values()].map((forwarder) => forwarder.close()));
        await Promise.all([...simulators.values()].map((app) => app.close()));
      } finally {
        await rm(stageRoot, { recursive: true, force: true });
      }
    },
  };
  return cluster;
}
