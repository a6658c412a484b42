// Options for one simulated BMC: what tree it serves, how fast it behaves, and every limit
// it enforces. Validated once, defaults filled in, then frozen.
import type { Logger } from "pino";
import { SimulatorConfigError } from "./errors.ts";

export interface SensorOptions {
  /** Temperature sensors per chassis (ambient, exhaust, then one per CPU, DIMM bank, ...). */
  temperatureSensorCount: number;
  /** Fans per chassis, each with a tachometer sensor. */
  fanCount: number;
  /** Power supplies per chassis, each with input power and voltage sensors. */
  powerSupplyCount: number;
}

export interface GeneratorOptions {
  /** Names the BMC: host names, UUIDs and default serial numbers derive from it. */
  nodeName: string;
  systemCount: number;
  chassisCount: number;
  /** Serial numbers for systems then chassis; missing ones derive from the node name. */
  serialNumbers: string[];
  manufacturer: string;
  model: string;
  bmcFirmwareVersion: string;
  biosVersion: string;
  cpuCountPerSystem: number;
  memoryGiBPerSystem: number;
  /** The state systems and chassis start in. */
  initialPowerState: "On" | "Off";
  sensors: SensorOptions;
}

export interface TimingOptions {
  /** Time a system or chassis spends in PoweringOn. */
  powerOnDelayMs: number;
  /** Time spent in PoweringOff for a graceful shutdown. */
  gracefulShutdownDelayMs: number;
  /** Time spent in PoweringOff for a forced power off. */
  forceOffDelayMs: number;
  /** Time a manager stays in Status.State "Starting" after Manager.Reset. */
  managerResetDelayMs: number;
  /** Time between two progress steps of an update task. */
  updateStepMs: number;
  /** Progress steps of an update task before it completes. */
  updateStepCount: number;
  /** Interval of SSE keep-alive comments. */
  sseKeepAliveMs: number;
}

export interface LimitOptions {
  /** Concurrent sessions; one more answers 503 SessionLimitExceeded. */
  maxSessions: number;
  /** Tasks kept in TaskService/Tasks; the oldest finished ones are dropped first. */
  maxTasksKept: number;
  /** Concurrent SSE streams. */
  maxSseClients: number;
  /** Events kept for Last-Event-ID resume. */
  eventBufferSize: number;
  /** Bytes queued to one SSE client before it is dropped as too slow. */
  maxSseClientBufferBytes: number;
  /** Largest JSON request body. */
  maxRequestBodyBytes: number;
  /** Largest firmware image accepted by the multipart push URI. */
  maxImageBytes: number;
  /** Largest UpdateParameters part of a multipart push. */
  maxUpdateParametersBytes: number;
  /** Requests held by the hang fault; beyond it they are dropped at once. */
  maxHungRequests: number;
  /** Distinct operation ids remembered by the execution counters. */
  maxCountedOperationIds: number;
}

export interface AccountOptions {
  userName: string;
  password: string;
  roleId: "Administrator" | "Operator" | "ReadOnly";
}

export interface SimulatorOptions {
  /** A DMTF mockup directory (the folder that mirrors /redfish/v1); when absent the tree is generated. */
  mockupDir?: string;
  generator?: Partial<Omit<GeneratorOptions, "sensors">> & { sensors?: Partial<SensorOptions> };
  timing?: Partial<TimingOptions>;
  limits?: Partial<LimitOptions>;
  /** Accounts that can log in; the default is one Administrator, admin / admin. */
  accounts?: AccountOptions[];
  /** Idle timeout of sessions, as SessionService.SessionTimeout (30..86400). */
  sessionTimeoutSeconds?: number;
  /** Seed of the PRNG that decides which requests the error-rate fault fails. */
  faultSeed?: number;
  /** A pino logger to use (the simulator makes a child); false for no logging. */
  logger?: Logger | false;
  logLevel?: string;
}

export interface ResolvedOptions {
  mockupDir: string | undefined;
  generator: GeneratorOptions;
  timing: TimingOptions;
  limits: LimitOptions;
  accounts: AccountOptions[];
  sessionTimeoutSeconds: number;
  faultSeed: number;
  logger: Logger | false | undefined;
  logLevel: string;
}

export const DEFAULT_TIMING: TimingOptions = {
  powerOnDelayMs: 3000,
  gracefulShutdownDelayMs: 3000,
  forceOffDelayMs: 300,
  managerResetDelayMs: 5000,
  updateStepMs: 1000,
  updateStepCount: 5,
  sseKeepAliveMs: 15_000,
};

export const DEFAULT_LIMITS: LimitOptions = {
  maxSessions: 64,
  maxTasksKept: 64,
  maxSseClients: 16,
  eventBufferSize: 1000,
  maxSseClientBufferBytes: 1024 * 1024,
  maxRequestBodyBytes: 1024 * 1024,
  maxImageBytes: 64 * 1024 * 1024,
  maxUpdateParametersBytes: 64 * 1024,
  maxHungRequests: 256,
  maxCountedOperationIds: 10_000,
};

export const DEFAULT_ACCOUNTS: AccountOptions[] = [{ userName: "admin", password: "admin", roleId: "Administrator" }];

function positiveInteger(name: string, value: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new SimulatorConfigError(`${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
  }
  return value;
}

export function resolveOptions(options: SimulatorOptions = {}): ResolvedOptions {
  const g = options.generator ?? {};
  const nodeName = g.nodeName ?? "bmc";
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/.test(nodeName)) {
    throw new SimulatorConfigError(
      `nodeName must be 1-63 letters, digits, '-' or '_' starting with a letter or digit, got ${JSON.stringify(nodeName)}`,
    );
  }
  const generator: GeneratorOptions = {
    nodeName,
    systemCount: positiveInteger("systemCount", g.systemCount ?? 1, 1, 64),
    chassisCount: positiveInteger("chassisCount", g.chassisCount ?? 1, 1, 64),
    serialNumbers: [...(g.serialNumbers ?? [])],
    manufacturer: g.manufacturer ?? "Conclave Systems",
    model: g.model ?? "CS-2200 Simulated Server",
    bmcFirmwareVersion: g.bmcFirmwareVersion ?? "2.18.0-sim",
    biosVersion: g.biosVersion ?? "1.4.2",
    cpuCountPerSystem: positiveInteger("cpuCountPerSystem", g.cpuCountPerSystem ?? 2, 1, 16),
    memoryGiBPerSystem: positiveInteger("memoryGiBPerSystem", g.memoryGiBPerSystem ?? 256, 1, 65536),
    initialPowerState: g.initialPowerState ?? "On",
    sensors: {
      temperatureSensorCount: positiveInteger("temperatureSensorCount", g.sensors?.temperatureSensorCount ?? 4, 0, 64),
      fanCount: positiveInteger("fanCount", g.sensors?.fanCount ?? 4, 0, 32),
      powerSupplyCount: positiveInteger("powerSupplyCount", g.sensors?.powerSupplyCount ?? 2, 0, 8),
    },
  };
  if (generator.initialPowerState !== "On" && generator.initialPowerState !== "Off") {
    throw new SimulatorConfigError(`initialPowerState must be On or Off, got ${String(generator.initialPowerState)}`);
  }
  const timing: TimingOptions = { ...DEFAULT_TIMING, ...options.timing };
  for (const [name, value] of Object.entries(timing)) positiveInteger(name, value, name === "updateStepCount" ? 1 : 0);
  const limits: LimitOptions = { ...DEFAULT_LIMITS, ...options.limits };
  for (const [name, value] of Object.entries(limits)) positiveInteger(name, value, 1);
  const accounts = options.accounts ?? DEFAULT_ACCOUNTS;
  if (accounts.length === 0) throw new SimulatorConfigError("accounts must name at least one account");
  for (const account of accounts) {
    if (!account.userName || !account.password)
      throw new SimulatorConfigError("every account needs a userName and a password");
    if (!["Administrator", "Operator", "ReadOnly"].includes(account.roleId)) {
      throw new SimulatorConfigError(
        `roleId must be Administrator, Operator or ReadOnly, got ${String(account.roleId)}`,
      );
    }
  }
  return Object.freeze({
    mockupDir: options.mockupDir,
    generator: Object.freeze(generator),
    timing: Object.freeze(timing),
    limits: Object.freeze(limits),
    accounts: accounts.map((a) => Object.freeze({ ...a })),
    sessionTimeoutSeconds: positiveInteger("sessionTimeoutSeconds", options.sessionTimeoutSeconds ?? 1800, 30, 86400),
    faultSeed: options.faultSeed ?? 1,
    logger: options.logger,
    logLevel: options.logLevel ?? "info",
  });
}
