// Fault knobs that tests turn through /_sim/faults: added latency, a seeded error rate,
// hanging every request, and going down (connections reset, or the listener closed).
import { SimulatorConfigError } from "./errors.ts";

/** A small seeded PRNG (mulberry32), so which requests fail is reproducible from a seed. */
export class SeededRandom {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  /** A uniformly distributed number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
}

export type DownMode = "reset" | "refuse";

export interface FaultState {
  /** Added to every Redfish request before it is handled. */
  latencyMs: number;
  /** Fraction (0..1) of Redfish requests answered 500 InternalError. */
  errorRate: number;
  /** Seed of the error-rate PRNG; setting it restarts the sequence. */
  errorSeed: number;
  /** "before": the failed request is not executed; "after": it is executed, then answered 500. */
  errorPhase: "before" | "after";
  /** Accept requests and never answer them; clearing it drops the held connections. */
  hang: boolean;
  /**
   * "reset": each Redfish request's connection is destroyed (the admin endpoint still answers);
   * "refuse": the listener closes (ECONNREFUSED) and reopens after downForMs.
   */
  down: DownMode | false;
  /** How long "refuse" keeps the listener closed; required for it, since /_sim is down too. */
  downForMs: number;
  /** When set, faults apply only to URLs starting with it. */
  pathPrefix: string;
}

export const NO_FAULTS: FaultState = {
  latencyMs: 0,
  errorRate: 0,
  errorSeed: 1,
  errorPhase: "before",
  hang: false,
  down: false,
  downForMs: 0,
  pathPrefix: "",
};

/** Upper bounds on knobs, so a typo cannot wedge a test run for hours. */
export const MAX_FAULT_LATENCY_MS = 600_000;
export const MAX_DOWN_FOR_MS = 600_000;

export class Faults {
  private current: FaultState;
  private random: SeededRandom;

  constructor(seed: number) {
    this.current = { ...NO_FAULTS, errorSeed: seed };
    this.random = new SeededRandom(seed);
  }

  get state(): Readonly<FaultState> {
    return this.current;
  }

  /** Merges a change in; throws SimulatorConfigError naming the bad knob. */
  set(change: Record<string, unknown>): FaultState {
    const next: FaultState = { ...this.current };
    for (const [key, value] of Object.entries(change)) {
      switch (key) {
        case "latencyMs":
        case "downForMs": {
          const max = key === "latencyMs" ? MAX_FAULT_LATENCY_MS : MAX_DOWN_FOR_MS;
          if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > max) {
            throw new SimulatorConfigError(`${key} must be an integer from 0 to ${max}, got ${JSON.stringify(value)}`);
          }
          next[key] = value;
          break;
        }
        case "errorRate":
          if (typeof value !== "number" || !(value >= 0 && value <= 1)) {
            throw new SimulatorConfigError(`errorRate must be a number from 0 to 1, got ${JSON.stringify(value)}`);
          }
          next.errorRate = value;
          break;
        case "errorSeed":
          if (typeof value !== "number" || !Number.isInteger(value)) {
            throw new SimulatorConfigError(`errorSeed must be an integer, got ${JSON.stringify(value)}`);
          }
          next.errorSeed = value;
          break;
        case "errorPhase":
          if (value !== "before" && value !== "after") {
            throw new SimulatorConfigError(`errorPhase must be "before" or "after", got ${JSON.stringify(value)}`);
          }
          next.errorPhase = value;
          break;
        case "hang":
          if (typeof value !== "boolean")
            throw new SimulatorConfigError(`hang must be true or false, got ${JSON.stringify(value)}`);
          next.hang = value;
          break;
        case "down":
          if (value !== false && value !== "reset" && value !== "refuse") {
            throw new SimulatorConfigError(`down must be false, "reset" or "refuse", got ${JSON.stringify(value)}`);
          }
          next.down = value;
          break;
        case "pathPrefix":
          if (typeof value !== "string")
            throw new SimulatorConfigError(`pathPrefix must be a string, got ${JSON.stringify(value)}`);
          next.pathPrefix = value;
          break;
        default:
          throw new SimulatorConfigError(`unknown fault knob ${JSON.stringify(key)}`);
      }
    }
    if (next.down === "refuse" && next.downForMs === 0) {
      throw new SimulatorConfigError(
        'down "refuse" needs downForMs > 0: the admin endpoint is unreachable while it lasts',
      );
    }
    if ("errorSeed" in change || "errorRate" in change) this.random = new SeededRandom(next.errorSeed);
    this.current = next;
    return next;
  }

  clear(): void {
    this.current = { ...NO_FAULTS, errorSeed: this.current.errorSeed };
    this.random = new SeededRandom(this.current.errorSeed);
  }

  appliesTo(url: string): boolean {
    return url.startsWith(this.current.pathPrefix);
  }

  /** Draws from the seeded sequence: whether this request fails. */
  drawError(): boolean {
    return this.current.errorRate > 0 && this.random.next() < this.current.errorRate;
  }
}
