// The power state machine: a Reset moves a system or chassis through PoweringOn /
// PoweringOff with realistic delays, and a manager through a reboot (Status.State Starting).
import { type EventHub, REGISTRIES } from "./events.ts";
import type { TimingOptions } from "./options.ts";
import { isObject, type Resource, type ResourceStore } from "./store.ts";
import type { Timers } from "./timers.ts";

export type PowerState = "On" | "Off" | "PoweringOn" | "PoweringOff" | "Paused";

/** Every ResetType of Resource.ResetType the simulator understands. */
export const SYSTEM_RESET_TYPES = [
  "On",
  "ForceOff",
  "GracefulShutdown",
  "GracefulRestart",
  "ForceRestart",
  "Nmi",
  "ForceOn",
  "PushPowerButton",
  "PowerCycle",
  "FullPowerCycle",
  "Suspend",
  "Pause",
  "Resume",
] as const;
export const CHASSIS_RESET_TYPES = [
  "On",
  "ForceOff",
  "GracefulShutdown",
  "GracefulRestart",
  "ForceRestart",
  "ForceOn",
  "PowerCycle",
  "FullPowerCycle",
] as const;
export const MANAGER_RESET_TYPES = ["GracefulRestart", "ForceRestart"] as const;

interface Step {
  state: PowerState;
  afterMs: number;
}

const POWER_MESSAGES: Record<PowerState, { key: string; text: string }> = {
  On: { key: "ResourcePoweredOn", text: "The resource '%1' has powered on." },
  Off: { key: "ResourcePoweredOff", text: "The resource '%1' has powered off." },
  PoweringOn: { key: "ResourcePoweringOn", text: "The resource '%1' is powering on." },
  PoweringOff: { key: "ResourcePoweringOff", text: "The resource '%1' is powering off." },
  Paused: { key: "ResourcePaused", text: "The resource '%1' was paused." },
};

export class PowerController {
  private readonly pending = new Map<string, NodeJS.Timeout | undefined>();
  private readonly store: ResourceStore;
  private readonly events: EventHub;
  private readonly timing: TimingOptions;
  private readonly timers: Timers;
  private readonly now: () => Date;

  constructor(store: ResourceStore, events: EventHub, timing: TimingOptions, timers: Timers, now: () => Date) {
    this.store = store;
    this.events = events;
    this.timing = timing;
    this.timers = timers;
    this.now = now;
  }

  powerState(uri: string): PowerState {
    const state = this.store.peek(uri)?.PowerState;
    return typeof state === "string" ? (state as PowerState) : "On";
  }

  /** Starts the transitions a ResetType asks for; a new reset supersedes one still in progress. */
  resetPowered(uri: string, resetType: string): void {
    const current = this.powerState(uri);
    const isOn = current === "On" || current === "PoweringOn" || current === "Paused";
    const { powerOnDelayMs: on, gracefulShutdownDelayMs: graceful, forceOffDelayMs: force } = this.timing;
    const powerOn: Step[] = [
      { state: "PoweringOn", afterMs: 0 },
      { state: "On", afterMs: on },
    ];
    const offThen = (delay: number): Step[] => [
      { state: "PoweringOff", afterMs: 0 },
      { state: "Off", afterMs: delay },
    ];
    let steps: Step[] = [];
    switch (resetType) {
      case "On":
      case "ForceOn":
        steps = current === "Paused" ? [{ state: "On", afterMs: 0 }] : isOn ? [] : powerOn;
        break;
      case "ForceOff":
        steps = current === "Off" ? [] : offThen(force);
        break;
      case "GracefulShutdown":
      case "Suspend":
        steps = current === "Off" ? [] : offThen(graceful);
        break;
      case "PushPowerButton":
        steps = isOn ? offThen(graceful) : powerOn;
        break;
      case "GracefulRestart":
        steps = isOn ? [...offThen(graceful), ...powerOn] : powerOn;
        break;
      case "ForceRestart":
      case "PowerCycle":
      case "FullPowerCycle":
        steps = isOn ? [...offThen(force), ...powerOn] : powerOn;
        break;
      case "Pause":
        steps = current === "On" ? [{ state: "Paused", afterMs: 0 }] : [];
        break;
      case "Resume":
        steps = current === "Paused" ? [{ state: "On", afterMs: 0 }] : [];
        break;
      case "Nmi":
        steps = [];
        break;
      default:
        throw new Error(`unhandled ResetType ${resetType}`);
    }
    this.timers.cancel(this.pending.get(uri));
    this.pending.delete(uri);
    this.run(uri, steps);
  }

  /** A manager reboot: Status.State Starting for managerResetDelayMs, then Enabled again. */
  resetManager(uri: string): void {
    this.timers.cancel(this.pending.get(uri));
    this.setManagerState(uri, "Starting");
    this.pending.set(
      uri,
      this.timers.after(this.timing.managerResetDelayMs, () => {
        this.pending.delete(uri);
        this.store.update(uri, (manager) => {
          manager.LastResetTime = this.now().toISOString();
        });
        this.setManagerState(uri, "Enabled");
      }),
    );
  }

  private run(uri: string, steps: Step[]): void {
    const [step, ...rest] = steps;
    if (step === undefined) return;
    const apply = (): void => {
      this.pending.delete(uri);
      this.setPowerState(uri, step.state);
      this.run(uri, rest);
    };
    if (step.afterMs === 0) apply();
    else this.pending.set(uri, this.timers.after(step.afterMs, apply));
  }

  private setPowerState(uri: string, state: PowerState): void {
    const before = this.powerState(uri);
    this.store.update(uri, (resource) => {
      resource.PowerState = state;
      if (state === "On" && before !== "Paused") resource.LastResetTime = this.now().toISOString();
      updateBootProgress(resource, state, this.now());
    });
    const message = POWER_MESSAGES[state];
    this.events.publish({
      messageId: `${REGISTRIES.resourceEvent}.${message.key}`,
      message: message.text.replace("%1", uri),
      args: [uri],
      severity: "OK",
      originOfCondition: uri,
    });
    // A chassis that loses power takes the systems in it down too.
    const resource = this.store.peek(uri);
    if (state === "Off" && resource && String(resource["@odata.type"]).includes("Chassis.")) {
      const links = resource.Links;
      const systems = isObject(links) && Array.isArray(links.ComputerSystems) ? links.ComputerSystems : [];
      for (const link of systems) {
        const systemUri = isObject(link) ? link["@odata.id"] : undefined;
        if (typeof systemUri === "string" && this.store.has(systemUri) && this.powerState(systemUri) !== "Off") {
          this.timers.cancel(this.pending.get(systemUri));
          this.pending.delete(systemUri);
          this.setPowerState(systemUri, "Off");
        }
      }
    }
  }

  private setManagerState(uri: string, state: "Starting" | "Enabled"): void {
    this.store.update(uri, (manager) => {
      const status = isObject(manager.Status) ? manager.Status : {};
      status.State = state;
      manager.Status = status;
    });
    this.events.publish({
      messageId: `${REGISTRIES.resourceEvent}.ResourceStateChanged`,
      message: `The state of resource '${uri}' has changed to ${state}.`,
      args: [uri, state],
      severity: "OK",
      originOfCondition: uri,
    });
  }
}

function updateBootProgress(resource: Resource, state: PowerState, now: Date): void {
  if (!isObject(resource.BootProgress)) return;
  const lastState =
    state === "On" ? "OSRunning" : state === "PoweringOn" ? "PrimaryProcessorInitializationStarted" : "None";
  resource.BootProgress.LastState = lastState;
  resource.BootProgress.LastStateTime = now.toISOString();
}
