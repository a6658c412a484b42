// `conclaved`: wires the agent's parts into one daemon. Start-up order: config (already loaded
// by the caller), the VIP manager (removes a stale VIP: nobody is PoC at start-up), node key and
// cluster secret, Raft storage, the libp2p host, cluster formation (bootstrap, join or resume),
// the Raft driver, the HTTP listeners, health and the control socket; then READY=1.
//
// Everything that reacts to Raft happens from the driver's events or from one reconcile timer,
// never from a socket callback: the VIP follows leaseAcquired / leaseLost / leadershipChanged,
// and the PoC's duties (cluster identity, leadership history, member records, promotions,
// health and drain hand-overs) run one proposal at a time from the reconcile timer.
import { randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { FileStorage, NO_NODE, type NodeId } from "@conclave/consensus";
import { MetricsRegistry, warmUpFacade } from "@conclave/redfish-facade";
import type { FastifyInstance } from "fastify";
import { successorCandidates as autopilotSuccessors, decideHealthHandover } from "../autopilot/health-handover.ts";
import { type BmcClient, bmcClientFromConfig } from "../bmc/bmc-client.ts";
import { readBmcCredentials } from "../bmc/credentials.ts";
import { ClusterState } from "../cluster-state/cluster-state.ts";
import { clusterCommands } from "../cluster-state/core-section.ts";
import { ClusterCommandInvalidError, ClusterCommandRejectedError } from "../cluster-state/errors.ts";
import {
  LEADERSHIP_REASONS,
  type LeadershipReason,
  MEMBER_ADDRESSES_MAX,
  type MemberRecord,
} from "../cluster-state/types.ts";
import { parseHostPort } from "../config/load-config.ts";
import type { ConclaveConfig } from "../config/schema.ts";
import { resolveTiming } from "../config/timing.ts";
import { CONTROL_SOCKET_FILE_NAME, type StatusDocument } from "../control/control-protocol.ts";
import { JoinError } from "../errors.ts";
import { attachMemberEvents, type HandoverEvent } from "../events/attach-member-events.ts";
import { rpcFacadeEventSource } from "../events/facade-event-source.ts";
import { AgentFacadeCluster } from "../facade-host/agent-facade-cluster.ts";
import { type FacadeTlsPair, readFacadeTls } from "../facade-host/facade-tls.ts";
import { startFacadeWarmUp } from "../facade-host/facade-warm-up.ts";
import { bmcRequestHandler } from "../facade-host/member-bmc-request.ts";
import { BMC_HOST_LABEL, BMC_LABEL, bmcHostOf, NAME_LABEL, NO_BMC_LABEL_VALUE } from "../facade-host/member-labels.ts";
import { assignMemberNames, describeNameClashes } from "../facade-host/member-names.ts";
import { buildVipApp } from "../facade-host/vip-app.ts";
import { createVipServer, type VipServer } from "../facade-host/vip-server.ts";
import {
  AdminCredentialError,
  bootstrapAdministrator,
  createReplicatedAuthStore,
  createReplicatedOperationStore,
  createReplicatedSubscriptionStore,
  facadeStateExtensions,
  readAdminCredentialFile,
} from "../facade-state/index.ts";
import { healthChanged } from "../health/health-change.ts";
import { HealthPolicy } from "../health/health-policy.ts";
import type { HealthReport } from "../health/health-report.ts";
import { createHealthSampler, type HealthSampler } from "../health/health-sampler.ts";
import { readClusterSecret } from "../identity/cluster-secret.ts";
import { loadOrCreateNodeKey } from "../identity/node-key.ts";
import { registerAgentMetrics } from "../metrics/agent-metrics.ts";
import { createBmcImagePush } from "../operations/bmc-image-push.ts";
import { ImageStaging, imageStageHandler, stagedImagesDirOf } from "../operations/image-staging.ts";
import { OperationExecutor, operationRpcHandler } from "../operations/operation-executor.ts";
import { type ConclaveHost, createConclaveHost } from "../p2p/host.ts";
import type { RpcContext } from "../p2p/rpc.ts";
import { bootstrapOnce, hasRaftState } from "../raft-driver/bootstrap.ts";
import { RaftDriver } from "../raft-driver/raft-driver.ts";
import { VoterPriority } from "../scheduling/voter-priority.ts";
import { LEASE_GUARD_SLACK_SHARE_OF_MARGIN, type LeaseGuard, startLeaseGuard } from "../vip/lease-guard.ts";
import { serverListenerHook } from "../vip/server-listener-hook.ts";
import { ADDRESS_ABSENT, createVipManager, ipAddrDelCommand, type VipManager } from "../vip/vip-manager.ts";
import { BOOTSTRAP_SETTLE_MS, formCluster, joinCluster } from "./cluster-formation.ts";
import { ClusterOperations } from "./cluster-operations.ts";
import { type ControlServer, createControlServer } from "./control-server.ts";
import { MembershipPlanner } from "./membership-hook.ts";
import { buildNodeApp, type NodeRouting } from "./node-app.ts";
import { PeerAdmission } from "./peer-admission.ts";
import type { RootLogger } from "./root-logger.ts";
import {
  type HandoverNotice,
  HELLO_TIMEOUT_MS,
  type HelloAnswer,
  JOIN_TIMEOUT_MS,
  type JoinAnswer,
  REPORT_TIMEOUT_MS,
  RPC_METHODS,
} from "./rpc-methods.ts";
import { createSdNotifier } from "./sd-notify.ts";
import { buildHistoryDocument, buildStatusDocument, memberStatuses, type StatusInputs } from "./status-document.ts";
import { createVipFollower } from "./vip-follower.ts";

/** How often the daemon reconciles: VIP retries, the PoC's duties, this node's report to the PoC. */
export const RECONCILE_INTERVAL_MS = 200;
/**
 * How long this node's own listen addresses are reused before libp2p is asked again: asking
 * enumerates every network interface, and the reconcile timer compares them five times a second
 * (a tenth of an idle member's CPU in a 32-BMC rack). Addresses change when an interface does.
 */
export const OWN_ADDRESSES_REFRESH_MS = 2_000;
/** On SIGTERM a PoC waits at most this long for its successor before it lets go anyway. */
export const SHUTDOWN_TRANSFER_WAIT_MS = 3_000;
/** A successor remembers why leadership came to it for this long. */
export const HANDOVER_NOTICE_TTL_MS = 10_000;
/** An unhealthy or drained PoC tries to hand over at most this often. */
export const HANDOVER_RETRY_MS = 2_000;

export interface DaemonInit {
  readonly config: ConclaveConfig;
  readonly configFile: string;
  readonly logger: RootLogger;
  /** Aborts a start-up still waiting for peers (SIGTERM before the cluster formed). */
  readonly signal?: AbortSignal;
}

export interface Daemon {
  readonly nodeId: NodeId;
  /** Settles when the daemon stops: resolves after stop(), rejects when Raft failed (storage). */
  readonly done: Promise<void>;
  /** Graceful: a PoC hands over first (bounded), then the VIP is released and everything stops. */
  stop(reason: string): Promise<void>;
  /** Reads the facade's TLS certificate and key again (SIGHUP); a bad pair is refused and logged. */
  reloadTls(): void;
}

interface Listening {
  readonly url: string;
}

export async function startDaemon(init: DaemonInit): Promise<Daemon> {
  const { config, logger } = init;
  const log = logger.child({ component: "daemon" });
  const timing = resolveTiming(config.timing);
  const abort = new AbortController();
  const cleanups: (() => Promise<void> | void)[] = [];
  const runCleanups = async (): Promise<void> => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        log.warn({ err: error }, "a part did not stop cleanly");
      }
    }
  };

  const driverRef: { current: RaftDriver | undefined } = { current: undefined };
  const statusRef: { current: (() => StatusDocument) | undefined } = { current: undefined };
  const onExternalAbort = (): void => abort.abort(init.signal?.reason);
  init.signal?.addEventListener("abort", onExternalAbort, { once: true });
  cleanups.push(() => init.signal?.removeEventListener("abort", onExternalAbort));
  try {
    // ---- the facade's TLS pair: a configured pair that does not load stops the start (exit 2).
    const tlsFiles = { certFile: config.facadeTls.certFile, keyFile: config.facadeTls.keyFile };
    let tls: FacadeTlsPair | undefined;
    if (config.facadeTls.enabled === true || (config.facadeTls.enabled === undefined && tlsFilesExist(tlsFiles))) {
      tls = readFacadeTls(tlsFiles);
      log.info(
        { cert: tlsFiles.certFile, subjectAltName: tls.subjectAltName, validTo: tls.validTo },
        "the facade serves HTTPS",
      );
    } else if (config.facadeTls.enabled === undefined) {
      log.warn(
        { cert: tlsFiles.certFile, key: tlsFiles.keyFile },
        "the facade serves plain HTTP: no TLS certificate and key (conclave init writes them; facadeTls.enabled: false says plain HTTP is meant)",
      );
    }
    const facadeScheme = tls === undefined ? "http" : "https";
    let vipServer: VipServer | undefined;
    /** A replaced certificate is taken at the next claim; a bad one is refused and the last good one kept. */
    const refreshTls = (): void => {
      if (tls === undefined) return;
      try {
        const fresh = readFacadeTls(tlsFiles);
        if (fresh.fingerprint256 !== tls.fingerprint256) {
          vipServer?.refreshTls(fresh);
          tls = fresh;
          log.info({ cert: tlsFiles.certFile, validTo: fresh.validTo }, "the facade's TLS certificate was replaced");
        }
      } catch (error) {
        log.error({ err: error }, "the facade's new TLS certificate is refused: serving the previous one");
      }
    };

    // ---- the local BMC (no I/O until the first request).
    const bmc: BmcClient = bmcClientFromConfig(config.bmc, { logger: logger.child({ component: "bmc" }) });
    cleanups.push(() => bmc.close());
    const hasBmc = config.hasBmc !== false;

    // The VIP's listener, bound on claim: the facade's server exists by the first claim (after the driver).
    let vipListener: ReturnType<typeof serverListenerHook> | undefined;
    const claimListener = {
      bind: async (address: string) => {
        if (vipListener === undefined) throw new Error("the facade is not built yet");
        refreshTls();
        await vipListener.bind(address);
      },
      unbind: async (address: string) => vipListener?.unbind(address),
    };

    // ---- the VIP: a stale VIP from an earlier run goes before anything else.
    const vipAddress = config.vip.address;
    // Interface mode: a stalled agent's VIP comes off when its lease ends (lease-guard.ts). Closed
    // after the VIP manager has stopped (cleanups run in reverse).
    let leaseGuard: LeaseGuard | undefined;
    if (config.vip.mode === "interface" && vipAddress !== undefined && config.interface !== undefined) {
      const guard = startLeaseGuard({
        command: ipAddrDelCommand(vipAddress, config.vip.prefix, config.interface),
        slackMs: timing.leaseSafetyMarginMs * LEASE_GUARD_SLACK_SHARE_OF_MARGIN,
        alreadyDone: ADDRESS_ABSENT,
        logger: logger.child({ component: "vip" }),
      });
      leaseGuard = guard;
      cleanups.push(() => guard.close());
    }
    const vip: VipManager = createVipManager({
      mode: config.vip.mode,
      address: vipAddress,
      prefix: config.vip.prefix,
      interface: config.interface,
      listener: config.vip.mode === "loopback" ? claimListener : undefined,
      leaseGuard,
      logger: logger.child({ component: "vip" }),
    });
    await vip.start();
    cleanups.push(() => vip.stop("shutdown"));

    // ---- identity and trust.
    const identity = await loadOrCreateNodeKey(config.stateDir);
    const secret = readClusterSecret(config.secretFile);
    const selfId = identity.nodeId;
    log.info(
      { nodeId: selfId, created: identity.created, secretFingerprint: secret.fingerprint, config: init.configFile },
      "node identity loaded",
    );

    // ---- Raft storage, and the peer gate.
    const storage = FileStorage.open({
      dir: join(config.stateDir, "raft"),
      logger: logger.child({ component: "storage" }),
    });
    cleanups.push(() => storage.close());
    const admission = new PeerAdmission(selfId);
    const lastHeardAtMs = new Map<NodeId, number>();

    // ---- journaled operations this node runs on its own BMC, and the firmware images staged for it.
    // The ledger of operation ids it ran is read now: a file that cannot be read stops the start.
    const operationsLogger = logger.child({ component: "operations" });
    const staging = new ImageStaging({ dir: stagedImagesDirOf(config.stateDir), logger: operationsLogger });
    cleanups.push(() => staging.close());
    const imagePush = hasBmc
      ? createBmcImagePush({
          redfishUrl: config.bmc.redfishUrl,
          credentialsFile: config.bmc.credentialsFile,
          verifyTls: config.bmc.verifyTls,
          connectTimeoutMs: config.bmc.connectTimeoutMs,
        })
      : undefined;
    cleanups.push(() => imagePush?.close());
    const executor = new OperationExecutor({
      stateDir: config.stateDir,
      bmc: hasBmc ? bmc : undefined,
      imagePush,
      staging,
      // The owner's own term fences a stale PoC even before a newer one sent anything.
      localTerm: () => driverRef.current?.term ?? 0,
      nodeName: config.nodeName ?? selfId,
      logger: operationsLogger,
    });

    // ---- libp2p.
    const host: ConclaveHost = await createConclaveHost({
      privateKey: identity.privateKey,
      clusterSecret: secret.psk,
      clusterName: config.clusterName,
      listen: config.listen,
      staticPeers: config.peers,
      mdns: config.mdns,
      // The PoC listens on every address, the VIP included: peers must never connect through it.
      floatingAddresses: config.vip.mode === "none" || vipAddress === undefined ? [] : [vipAddress],
      isPeerAllowed: admission.isPeerAllowed,
      onRaftMessage: (message) => {
        // Network events only enqueue.
        lastHeardAtMs.set(message.from, Date.now());
        driverRef.current?.enqueue(message);
      },
      logger: logger.child({ component: "p2p" }),
    });
    const pendingHandover: { notice: HandoverNotice | undefined; atMs: number } = { notice: undefined, atMs: 0 };
    const isMember = (): boolean => {
      const status = driverRef.current?.status();
      return status !== undefined && (status.voters.includes(selfId) || status.learners.includes(selfId));
    };
    host.rpc.register(RPC_METHODS.hello, (): HelloAnswer => {
      const driver = driverRef.current;
      const status = driver?.status();
      return {
        member: isMember(),
        hasState: driver !== undefined && status !== undefined && (status.lastIndex > 0 || status.term > 0),
        leaderId: status === undefined || status.leaderId === NO_NODE ? null : status.leaderId,
        clusterUuid: driver?.state.identity?.clusterId ?? null,
        witness: config.role === "witness",
      };
    });
    host.rpc.register(RPC_METHODS.join, async (_body, context: RpcContext): Promise<JoinAnswer> => {
      const driver = driverRef.current;
      const status = driver?.status();
      if (driver === undefined || status === undefined || status.role !== "leader") {
        return {
          joined: false,
          leaderId: status === undefined || status.leaderId === NO_NODE ? null : status.leaderId,
        };
      }
      if (status.voters.includes(context.peerId) || status.learners.includes(context.peerId)) return { joined: true };
      if (admission.isRemoved(context.peerId)) throw new JoinError(`${context.peerId} was removed from the cluster`);
      log.info({ peer: context.peerId }, "admitting a joiner as a learner");
      await driver.addLearner(context.peerId);
      return { joined: true };
    });
    // A member sends what the PoC's facade forwards to its own BMC, with its own credentials.
    host.rpc.register(
      RPC_METHODS.bmcRequest,
      bmcRequestHandler({
        isMember: (peerId) => admission.isMember(peerId),
        bmc: hasBmc ? bmc : undefined,
        nodeName: config.nodeName ?? selfId,
      }),
    );
    // A member runs the PoC's journaled operations on its own BMC, once each, and stages images for them.
    host.rpc.register(
      RPC_METHODS.bmcOperation,
      operationRpcHandler({ isMember: (peerId) => admission.isMember(peerId), executor }),
    );
    host.rpc.register(
      RPC_METHODS.imageStage,
      imageStageHandler({ isMember: (peerId) => admission.isMember(peerId), staging }),
    );
    // Set once the PoC's duties exist (below): a BMC event whose events.policy rule says "handover".
    const eventPolicyHandover: { current: ((event: HandoverEvent) => void) | undefined } = { current: undefined };
    // A member reads its own BMC's events and keeps them, numbered, until the PoC pulls them.
    const memberEvents = attachMemberEvents({
      rpc: host.rpc,
      bmc: hasBmc
        ? {
            client: bmc,
            stream: {
              redfishUrl: config.bmc.redfishUrl,
              credentials: () => readBmcCredentials(config.bmc.credentialsFile),
              verifyTls: config.bmc.verifyTls,
              connectTimeoutMs: config.bmc.connectTimeoutMs,
            },
          }
        : undefined,
      isMember: (peerId) => admission.isMember(peerId),
      logger: logger.child({ component: "events" }),
      policy: config.events?.policy ?? [],
      onHandoverEvent: (event) => eventPolicyHandover.current?.(event),
    });
    cleanups.push(() => memberEvents.close());
    host.rpc.register(RPC_METHODS.handover, (body, context: RpcContext) => {
      const notice = body as Partial<HandoverNotice> | null;
      if (
        notice !== null &&
        typeof notice === "object" &&
        typeof notice.reason === "string" &&
        (LEADERSHIP_REASONS as readonly string[]).includes(notice.reason) &&
        typeof notice.term === "number"
      ) {
        if (driverRef.current?.status().leaderId === context.peerId) {
          pendingHandover.notice = { reason: notice.reason, term: notice.term };
          pendingHandover.atMs = Date.now();
        }
      }
      return { ok: true };
    });
    await host.start();
    cleanups.push(() => host.stop());

    // ---- forming the cluster (or resuming it).
    const formation = await formCluster({
      selfId,
      bootstrapExpect: config.bootstrapExpect,
      hasState: hasRaftState(storage),
      witness: config.role === "witness",
      settleMs: BOOTSTRAP_SETTLE_MS[config.timing],
      discovered: () => host.connectedPeers(),
      hello: async (peer) =>
        (await host.rpc.call(peer, RPC_METHODS.hello, {}, { timeoutMs: HELLO_TIMEOUT_MS })) as HelloAnswer,
      signal: abort.signal,
      logger: logger.child({ component: "formation" }),
    });
    if (formation.action === "bootstrap") bootstrapOnce(storage, [selfId]);
    log.info({ action: formation.action }, "cluster formation decided");

    // ---- the Raft driver.
    const driver = new RaftDriver(
      { selfId, timing, witness: config.role === "witness" },
      {
        storage,
        transport: host.raft,
        state: new ClusterState({ extensions: facadeStateExtensions }),
        logger: logger.child({ component: "raft" }),
      },
    );
    driverRef.current = driver;
    if (leaseGuard !== undefined) {
      const guard = leaseGuard;
      driver.setLeaseWatcher((msLeft) => guard.publishLeaseLeft(msLeft));
    }
    const metrics = new MetricsRegistry();
    const agentMetrics = registerAgentMetrics({
      registry: metrics,
      driver,
      vip,
      memberEvents: () => memberEvents.counts(),
    });
    cleanups.push(() => agentMetrics.close());

    // ---- the facade on the VIP.
    const facadeCluster = new AgentFacadeCluster({
      clusterName: config.clusterName,
      selfId,
      clusterUuid: () => driver.state.identity?.clusterId ?? null,
      members: () => driver.state.members(),
      pocId: () => driver.pocId(),
      localBmc: hasBmc ? bmc : undefined,
      rpc: host.rpc,
      term: () => driver.term,
      executor,
      staging,
      // As `conclave transfer-leadership` (ClusterOperations is built below; called only once serving).
      transferLeadership: (to) => operations.handlers().transferLeadership(to === undefined ? {} : { to }),
      logger: logger.child({ component: "facade" }),
      agentSilence: {
        lastHeardAtMs: (id) => lastHeardAtMs.get(id),
        silentAfterMs: timing.electionTimeoutMinMs,
        nowMs: () => Date.now(),
      },
    });
    // Accounts and sessions live in the replicated state: a console's token outlives the PoC.
    const auth = createReplicatedAuthStore({ driver });
    const vipApp: FastifyInstance = buildVipApp({
      cluster: facadeCluster,
      auth,
      // The operation journal and tasks live in the replicated state too: a new PoC resumes them.
      operations: createReplicatedOperationStore({ driver }),
      // Push subscriptions and each destination's delivery cursor: a new PoC resumes every delivery.
      subscriptions: createReplicatedSubscriptionStore({ driver }),
      subscriptionPolicy: { allowPrivateDestinations: config.events?.allowPrivateDestinations ?? true },
      ...(config.powerSequence === undefined ? {} : { powerSequence: config.powerSequence }),
      ...(config.topology === undefined ? {} : { topology: config.topology }),
      // Every member's events, pulled by the PoC; a new PoC resumes each console's cursor.
      events: rpcFacadeEventSource({ rpc: host.rpc, selfId, local: memberEvents }),
      metrics,
      status: () => {
        if (statusRef.current === undefined) throw new Error("status is not available yet");
        return statusRef.current();
      },
    });
    await vipApp.ready();
    cleanups.push(() => vipApp.close());
    // A voter that may be elected keeps its member cache ready to answer (facade-warm-up.ts).
    const facadeWarmUp = startFacadeWarmUp({
      warmUp: (options) => warmUpFacade(vipApp, options),
      isStandbyVoter: () => {
        const status = driver.status();
        if (config.role === "witness" || status.role === "leader" || !status.voters.includes(selfId)) return false;
        return driver.state.member(selfId)?.drained !== true;
      },
      logger: logger.child({ component: "facade" }),
    });
    cleanups.push(() => facadeWarmUp.stop());
    vipServer = createVipServer(vipApp, tls);
    vipListener = serverListenerHook(vipServer.server, config.facadePort);

    const voterPriority = new VoterPriority({
      voterNice: config.voterNice,
      pocNice: config.pocNice,
      logger: logger.child({ component: "scheduling" }),
      // Processes started before the change keep the old value: the lease guard's standby shell
      // and the VIP's command shells are moved.
      onChanged: (nice) => {
        leaseGuard?.setNice(nice);
        vip.setNice(nice);
      },
    });
    const syncMembers = (voters: readonly NodeId[], learners: readonly NodeId[]): void => {
      voterPriority.update(voters.includes(selfId));
      for (const left of admission.setMembers([...voters, ...learners])) {
        host.raft.forgetPeer(left);
        log.info({ peer: left }, "a member left the configuration: no longer served");
      }
    };
    {
      const status = driver.status();
      syncMembers(status.voters, status.learners);
    }
    const operations = new ClusterOperations({
      driver,
      rpc: host.rpc,
      logger: logger.child({ component: "operations" }),
    });
    host.rpc.register(RPC_METHODS.control, (body) => operations.serveForwarded(body));

    // ---- health.
    const healthPolicy = new HealthPolicy();
    let latestHealth: HealthReport | undefined;
    const health: HealthSampler = createHealthSampler({
      thresholds: config.health,
      stateDir: config.stateDir,
      // A node without a BMC (a witness on a management host) has nothing to probe: its health is its own.
      probeBmc: hasBmc
        ? () => bmc.probe()
        : async () => ({ reachable: true, statusCode: undefined, latencyMs: 0, problem: undefined }),
      logger: logger.child({ component: "health" }),
      onReport: (report) => {
        latestHealth = report;
        healthPolicy.observe(report.level);
      },
    });

    // ---- the VIP follows the lease (vip-follower.ts). Interface mode: the address is on the
    // interface once claimed; the VIP app then listens on it (and stops before the address goes).
    // Loopback mode binds through the VIP manager's hook.
    const vipFollower = createVipFollower({
      vip,
      leaseHeldNow: () => driver.leaseHeldNow(),
      listener:
        config.vip.mode === "interface" && vipAddress !== undefined
          ? {
              bind: () => claimListener.bind(vipAddress),
              unbind: () => claimListener.unbind(vipAddress),
              listening: () => vipServer?.server.listening === true,
            }
          : undefined,
      logger: logger.child({ component: "vip" }),
    });
    const claimVip = (reason: string): Promise<void> => vipFollower.claim(reason);
    const releaseVip = (reason: string): Promise<void> => vipFollower.release(reason);
    let pocSinceTerm = 0;
    const planner = new MembershipPlanner(config, logger.child({ component: "autopilot" }));
    driver.on("leaseAcquired", ({ term }) => {
      // The takeover's member reads wait for the claim (and then TAKEOVER_WARM_UP_DELAY_MS): the
      // console's first answers wait for the address, its announcement and this process's event loop.
      void claimVip(`PoC in term ${term}: lease acquired`).then(() => facadeWarmUp.takeover());
      if (pocSinceTerm !== term) {
        pocSinceTerm = term;
        planner.reset();
      }
    });
    // Every lease loss releases the VIP through the driver's fence, which also holds back a
    // transfer's TimeoutNow until the release is done (the successor claims the VIP at once).
    driver.setLeaseFence((reason) => releaseVip(`lease lost in term ${driver.status().term} (${reason})`));
    driver.on("leadershipChanged", ({ role, leaderId, term, previousRole, previousLeaderId }) => {
      // The PoC runs at pocNice from its first turn: its first second (the claim, the console's
      // first requests, every member's first append) is when a starved loop lost the lease.
      voterPriority.setPoc(role === "leader");
      if (previousRole === "leader" && role !== "leader") {
        releaseVip(
          `leadership lost in term ${term}: ${leaderId === NO_NODE ? "no PoC yet" : `${leaderId} leads`}`,
        ).catch(
          () => undefined, // logged by releaseVip; the reconcile timer retries
        );
      }
      healthPolicy.reset();
      // A notice is for the node that takes over: once someone else leads, it is stale.
      if (role !== "leader" && leaderId !== NO_NODE && leaderId !== previousLeaderId)
        pendingHandover.notice = undefined;
    });
    driver.on("membershipChanged", ({ voters, learners }) => syncMembers(voters, learners));
    const done = driver.run();
    cleanups.push(() => driver.stop());

    if (formation.action === "join") {
      joinCluster({
        via: formation.via,
        isMember,
        leaderHint: () => driver.status().leaderId,
        join: async (peer) =>
          (await host.rpc.call(peer, RPC_METHODS.join, {}, { timeoutMs: JOIN_TIMEOUT_MS })) as JoinAnswer,
        discovered: () => host.connectedPeers(),
        signal: abort.signal,
        logger: logger.child({ component: "formation" }),
      }).catch(() => {});
    }

    // ---- status.
    const statusInputs = (): StatusInputs => ({
      config,
      driver: driver.status(),
      members: driver.state.members(),
      clusterUuid: driver.state.identity?.clusterId ?? null,
      vip: vip.status(),
      lastContactMs: (id) => {
        const at = lastHeardAtMs.get(id);
        return at === undefined ? null : Date.now() - at;
      },
      ownHealthReasons: latestHealth?.reasons ?? [],
      extraWarnings: [
        ...(driver.status().role === "leader" ? planner.reports.map((report) => report.message) : []),
        ...describeNameClashes(assignMemberNames(driver.state.members())),
      ],
    });
    const statusDocument = () => buildStatusDocument(statusInputs());
    statusRef.current = statusDocument;

    // ---- this node's own address.
    const listenAt = parseHostPort(config.nodeHttp) ?? { host: "127.0.0.1", port: 0 };
    const vipBaseUrl =
      vipAddress === undefined
        ? undefined
        : `${facadeScheme}://${vipAddress.includes(":") ? `[${vipAddress}]` : vipAddress}:${config.facadePort}`;
    const routing = (): NodeRouting => {
      const poc = driver.pocId();
      if (poc === selfId) return { kind: "serve" };
      if (poc !== null && vipBaseUrl !== undefined && config.vip.mode !== "none")
        return { kind: "redirect", baseUrl: vipBaseUrl };
      return { kind: "unavailable" };
    };
    const nodeApp = buildNodeApp({ serve: vipApp, routing, metrics: () => metrics.render() });
    await nodeApp.listen({ host: listenAt.host, port: listenAt.port });
    cleanups.push(() => nodeApp.close());
    const nodeAddress = nodeApp.server.address();
    const nodeListening: Listening = {
      url: typeof nodeAddress === "object" && nodeAddress !== null ? `http://${listenAt.host}:${nodeAddress.port}` : "",
    };

    await health.start();
    cleanups.push(() => health.stop());

    // ---- the control socket.
    const control: ControlServer = createControlServer({
      socketPath: join(config.stateDir, CONTROL_SOCKET_FILE_NAME),
      logger: logger.child({ component: "control" }),
      handlers: {
        status: statusDocument,
        members: () => ({ members: memberStatuses(statusInputs()) }),
        history: () => buildHistoryDocument(driver.state.leadershipHistory()),
        ...operations.handlers(),
      },
    });
    await control.start();
    cleanups.push(() => control.stop());

    // ---- the reconcile loop: the PoC's duties and this node's report.
    let proposing = false;
    let reporting = false;
    let lastHandOverAtMs = 0;
    let recordedTerm = 0;
    /** The term in which this PoC last tried to commit the first administrator (once per term). */
    let adminBootstrapTerm = 0;
    // The name, and whether and where this node has a BMC, travel as reserved labels (member-labels.ts).
    const bmcHost = hasBmc ? bmcHostOf(config.bmc.redfishUrl) : undefined;
    const ownLabels: Record<string, string> = {
      ...cleanLabels(config.labels),
      [NAME_LABEL]: config.nodeName ?? selfId,
      ...(hasBmc ? {} : { [BMC_LABEL]: NO_BMC_LABEL_VALUE }),
      ...(bmcHost === undefined ? {} : { [BMC_HOST_LABEL]: bmcHost }),
    };
    let ownAddresses: { readonly atMs: number; readonly list: readonly string[] } | undefined;
    const currentAddresses = (): readonly string[] => {
      const nowMs = performance.now();
      if (ownAddresses === undefined || nowMs - ownAddresses.atMs >= OWN_ADDRESSES_REFRESH_MS) {
        const list = host
          .getMultiaddrs()
          .map(String)
          // The VIP shows up among the listen addresses while held (interface mode): it is not this node's.
          .filter((address) => vipAddress === undefined || !address.includes(`/${vipAddress}/`))
          .sort()
          .slice(0, MEMBER_ADDRESSES_MAX);
        ownAddresses = { atMs: nowMs, list };
      }
      return ownAddresses.list;
    };
    const desiredRecord = () => ({
      addresses: [...currentAddresses()],
      priority: config.priority,
      labels: ownLabels,
      witness: config.role === "witness",
    });
    const recordDiffers = (record: MemberRecord | undefined): boolean => {
      if (record === undefined) return false;
      const want = desiredRecord();
      return (
        record.priority !== want.priority ||
        record.witness !== want.witness ||
        JSON.stringify(record.addresses) !== JSON.stringify(want.addresses) ||
        JSON.stringify(record.labels) !== JSON.stringify(sortKeys(want.labels))
      );
    };
    const healthDiffers = (record: MemberRecord | undefined): boolean =>
      record !== undefined &&
      latestHealth !== undefined &&
      healthChanged(record.health, { status: latestHealth.level, bmcReachable: latestHealth.bmcReachable });
    const healthBody = (report: HealthReport) => ({
      status: report.level,
      bmcReachable: report.bmcReachable,
      ...(report.cpuPercent === undefined ? {} : { cpuPercent: report.cpuPercent }),
      ...(report.memoryPercent === undefined ? {} : { memoryPercent: report.memoryPercent }),
      ...(report.diskPercent === undefined ? {} : { diskPercent: report.diskPercent }),
    });
    const propose = (what: string, run: () => Promise<unknown>): void => {
      proposing = true;
      run()
        .catch((error: unknown) => log.debug({ err: error, what }, "PoC duty did not complete; retrying"))
        .finally(() => {
          proposing = false;
        });
    };
    eventPolicyHandover.current = (event) => {
      const status = driver.status();
      if (status.role !== "leader" || !status.lease.held) return; // only the PoC hands over
      const now = Date.now();
      if (now - lastHandOverAtMs < HANDOVER_RETRY_MS) return;
      lastHandOverAtMs = now;
      log.warn(
        { messageId: event.messageId, severity: event.severity, rule: event.ruleIndex },
        "a BMC event hands leadership over (events.policy)",
      );
      operations
        .handOver("health")
        .catch((error: unknown) => log.warn({ err: error }, "the hand-over a BMC event asked for did not happen"));
    };

    // Members report to the PoC; the PoC proposes what they report, one at a time.
    const memberReports = new Map<
      NodeId,
      { update?: ReturnType<typeof desiredRecord>; health?: ReturnType<typeof healthBody> }
    >();
    host.rpc.register(RPC_METHODS.report, (body, context: RpcContext) => {
      if (driver.status().role !== "leader") return { accepted: false };
      const report = body as {
        update?: ReturnType<typeof desiredRecord>;
        health?: ReturnType<typeof healthBody>;
      } | null;
      if (report !== null && typeof report === "object") memberReports.set(context.peerId, report);
      return { accepted: true };
    });

    const pocDuties = (): void => {
      const status = driver.status();
      if (status.role !== "leader" || proposing) return;
      // A drained (or witness) leader never holds the lease; it hands over at once. The core also
      // hands over to the first caught-up voter on its own: this picks the best one and says why.
      if (!status.lease.held) {
        const self = driver.state.member(selfId);
        const mayNotLead = self?.drained === true || self?.witness === true || config.role === "witness";
        if (mayNotLead && status.voters.length > 1 && Date.now() - lastHandOverAtMs >= HANDOVER_RETRY_MS) {
          lastHandOverAtMs = Date.now();
          propose("drain hand-over", () => operations.handOver(self?.drained === true ? "drain" : "transfer"));
        }
        return;
      }
      const state = driver.state;
      if (state.identity === null) {
        const clusterId = randomUUID();
        propose("cluster.init", async () => {
          await driver.propose(clusterCommands.initCluster(clusterId, config.clusterName));
          log.info({ clusterId }, "cluster identity created");
        });
        return;
      }
      if (recordedTerm !== status.term) {
        const last = state.leadershipHistory().at(-1);
        if (last !== undefined && last.term >= status.term) {
          recordedTerm = status.term;
        } else {
          const notice = pendingHandover.notice;
          const fresh = notice !== undefined && Date.now() - pendingHandover.atMs <= HANDOVER_NOTICE_TTL_MS;
          const reason: LeadershipReason = fresh ? notice.reason : last === undefined ? "bootstrap" : "election";
          const term = status.term;
          propose("leadership.record", async () => {
            try {
              await driver.propose(clusterCommands.recordLeadership(term, selfId, reason));
            } catch (error) {
              // A refused record (a later term already recorded) is not retried; a lost one is.
              if (error instanceof ClusterCommandRejectedError || error instanceof ClusterCommandInvalidError) {
                recordedTerm = term;
              }
              throw error;
            }
            recordedTerm = term;
            pendingHandover.notice = undefined;
            log.info({ term, reason }, "this node is PoC: leadership recorded");
          });
          return;
        }
      }
      // The first administrator, once, while the cluster has no account.
      if (auth.accounts().length === 0 && adminBootstrapTerm !== status.term) {
        adminBootstrapTerm = status.term;
        let credential: ReturnType<typeof readAdminCredentialFile>;
        try {
          credential = readAdminCredentialFile(config.adminCredentialFile);
        } catch (error) {
          const message = error instanceof AdminCredentialError ? error.message : String(error);
          log.warn(
            { file: config.adminCredentialFile, problem: message },
            "the cluster has no Redfish account and the first administrator cannot be read: nobody can log in to the facade",
          );
          return;
        }
        propose("account.bootstrap", async () => {
          try {
            const outcome = await bootstrapAdministrator(auth, credential);
            log.info({ userName: credential.userName, outcome }, "first administrator");
          } catch (error) {
            // Not committed (timeout, leadership moving): try again on the next turn.
            adminBootstrapTerm = 0;
            throw error;
          }
        });
        return;
      }
      const self = state.member(selfId);
      if (recordDiffers(self)) {
        const update = desiredRecord();
        propose("member.update", () => driver.propose(clusterCommands.updateMember(selfId, update)));
        return;
      }
      if (healthDiffers(self) && latestHealth !== undefined) {
        const body = healthBody(latestHealth);
        propose("member.health", () => driver.propose(clusterCommands.reportHealth(selfId, body)));
        return;
      }
      for (const [id, report] of memberReports) {
        memberReports.delete(id);
        const record = state.member(id);
        if (record === undefined) continue;
        if (report.update !== undefined) {
          const update = report.update;
          propose("member.update", () => driver.propose(clusterCommands.updateMember(id, update)));
          if (report.health !== undefined) memberReports.set(id, { health: report.health });
          return;
        }
        // A BMC that answers again at the same level (e.g. a warning for the disk) is news too.
        if (report.health !== undefined && healthChanged(record.health, report.health)) {
          const body = report.health;
          propose("member.health", () => driver.propose(clusterCommands.reportHealth(id, body)));
          return;
        }
      }
      // Autopilot hook: one membership change at a time.
      const change = planner.plan({
        selfId,
        nowMs: Date.now(),
        members: state.members(),
        progress: status.members,
        lastContactAtMs: (id) => lastHeardAtMs.get(id),
      });
      if (change !== null) {
        propose(`autopilot ${change.kind}`, async () => {
          log.info(
            { peer: change.nodeId, code: change.code, reason: change.reason },
            `autopilot: ${change.kind} ${change.nodeId}`,
          );
          if (change.kind === "promote") await driver.promote(change.nodeId);
          else await driver.remove(change.nodeId);
        });
        return;
      }
      // An unhealthy PoC hands over when someone healthier can take over.
      const now = Date.now();
      if (now - lastHandOverAtMs < HANDOVER_RETRY_MS) return;
      if (healthPolicy.shouldHandOver && latestHealth !== undefined) {
        const decision = decideHealthHandover({
          selfId,
          selfLevel: latestHealth.level,
          shouldHandOver: true,
          candidates: autopilotSuccessors(selfId, state.members(), status.members),
        });
        if (decision.handOver) {
          lastHandOverAtMs = now;
          log.warn(
            { to: decision.to, reason: decision.reason, reasons: latestHealth.reasons },
            "unhealthy PoC hands over",
          );
          propose("health hand-over", () => operations.handOver("health", decision.to));
        }
      }
    };

    const reportToPoc = (): void => {
      const status = driver.status();
      if (status.role === "leader" || status.leaderId === NO_NODE || reporting) return;
      const self = driver.state.member(selfId);
      const update = recordDiffers(self) ? desiredRecord() : undefined;
      const healthReport = healthDiffers(self) && latestHealth !== undefined ? healthBody(latestHealth) : undefined;
      if (update === undefined && healthReport === undefined) return;
      reporting = true;
      host.rpc
        .call(status.leaderId, RPC_METHODS.report, { update, health: healthReport }, { timeoutMs: REPORT_TIMEOUT_MS })
        .catch((error: unknown) => log.debug({ err: error }, "could not report to the PoC"))
        // Give the PoC time to commit before comparing again.
        .finally(() => setTimeout(() => (reporting = false), 4 * timing.heartbeatIntervalMs).unref());
    };

    const reconcile = (): void => {
      if (driver.phase !== "running") return;
      try {
        vipFollower.reconcile(driver.leaseHeld);
        pocDuties();
        reportToPoc();
      } catch (error) {
        log.error({ err: error }, "reconcile failed");
      }
    };
    const reconcileTimer = setInterval(reconcile, RECONCILE_INTERVAL_MS);
    cleanups.push(() => clearInterval(reconcileTimer));
    driver.on("applied", () => setImmediate(reconcile));

    // ---- systemd.
    const notifier = createSdNotifier(process.env, log);
    notifier.notify("READY=1");
    if (notifier.watchdogIntervalMs !== undefined) {
      let lastTicks = -1;
      const watchdog = setInterval(() => {
        // Only a turning Raft loop is alive.
        const ticks = driver.status().ticks;
        if (driver.phase === "running" && ticks !== lastTicks) notifier.notify("WATCHDOG=1");
        lastTicks = ticks;
      }, notifier.watchdogIntervalMs);
      cleanups.push(() => clearInterval(watchdog));
    }
    log.info(
      {
        nodeId: selfId,
        p2p: host.getMultiaddrs().map(String),
        nodeHttp: nodeListening.url,
        control: join(config.stateDir, CONTROL_SOCKET_FILE_NAME),
        vip: vipBaseUrl ?? null,
        formation: formation.action,
      },
      "conclaved ready",
    );

    let stopping: Promise<void> | undefined;
    const stop = (reason: string): Promise<void> => {
      stopping ??= (async () => {
        log.info({ reason }, "shutting down");
        notifier.notify("STOPPING=1");
        clearInterval(reconcileTimer);
        abort.abort(new Error("shutdown"));
        const status = driver.status();
        if (status.role === "leader" && status.voters.length > 1) {
          try {
            const result = await Promise.race([
              operations.handOver("transfer"),
              new Promise<never>((_, reject) =>
                setTimeout(() => reject(new Error("timed out")), SHUTDOWN_TRANSFER_WAIT_MS).unref(),
              ),
            ]);
            log.info({ to: result.pocId, tookMs: result.tookMs }, "handed leadership over before stopping");
          } catch (error) {
            log.warn({ err: error }, "could not hand leadership over before stopping");
          }
        }
        releaseVip(`shutting down (${reason})`).catch(() => undefined);
        await vipFollower.settled();
        await runCleanups();
        log.info({}, "stopped");
      })();
      return stopping;
    };
    return { nodeId: selfId, done, stop, reloadTls: refreshTls };
  } catch (error) {
    abort.abort(error);
    await runCleanups();
    throw error;
  }
}

/** TLS on by default only when both files are there (`conclave init` writes them). */
function tlsFilesExist(files: { certFile: string; keyFile: string }): boolean {
  return existsSync(files.certFile) && existsSync(files.keyFile);
}

function cleanLabels(labels: ConclaveConfig["labels"]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(labels)) {
    if (value !== undefined && /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(key)) out[key] = value;
  }
  return out;
}

function sortKeys(labels: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(labels).sort()) out[key] = labels[key] as string;
  return out;
}
