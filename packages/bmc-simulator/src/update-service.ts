// Firmware updates: SimpleUpdate and the multipart push both become a Task that steps
// through transfer, verify and apply, then changes the version in FirmwareInventory (and
// the manager's FirmwareVersion or the system's BiosVersion it belongs to).
import { baseMessage, fillMessage, RedfishError } from "./errors.ts";
import { type EventHub, REGISTRIES } from "./events.ts";
import type { TimingOptions } from "./options.ts";
import { FIRMWARE_INVENTORY_URI } from "./services.ts";
import { canonicalUri, isObject, type ResourceStore, resourceType } from "./store.ts";
import { type TaskHandle, type TaskPayload, TaskService } from "./tasks.ts";
import type { Timers } from "./timers.ts";

/** Bytes of an image searched for an OpenBMC MANIFEST `version=` line. */
export const MANIFEST_SNIFF_BYTES = 64 * 1024;

const UPDATE_MESSAGES = {
  TargetDetermined: "The target device '%1' will be updated with image '%2'.",
  TransferringToComponent: "Image '%1' is being transferred to '%2'.",
  VerifyingAtComponent: "Image '%1' is being verified at '%2'.",
  ApplyingOnComponent: "Image '%1' is being applied on '%2'.",
  UpdateSuccessful: "Device '%1' successfully updated with image '%2'.",
} as const;

/** The version an image carries: an OpenBMC MANIFEST line, else a version in its file name. */
export function versionFromImage(imageName: string, head?: string): string | undefined {
  const manifest = head ? /^version=([^\s]+)\s*$/m.exec(head) : null;
  if (manifest?.[1]) return manifest[1];
  const file = imageName.split(/[/\\]/).pop() ?? "";
  const match = /v?(\d+(?:\.\d+)+(?:-[A-Za-z0-9]+(?:\.[A-Za-z0-9]+)*)?)/.exec(
    file.replace(/\.(tar|gz|bin|img|zip|tgz|pldm|signed)$/gi, ""),
  );
  return match?.[1];
}

/** The next version when an image does not say: the last number goes up by one. */
export function bumpVersion(version: string): string {
  const match = /^(.*?)(\d+)(\D*)$/.exec(version);
  if (!match) return `${version}.1`;
  return `${match[1]}${Number(match[2]) + 1}${match[3]}`;
}

export interface UpdateRequest {
  operation: "UpdateService.SimpleUpdate" | "UpdateService.MultipartPush";
  imageName: string;
  /** From the image itself; when absent each target's version is bumped. */
  version: string | undefined;
  targets: string[];
  payload: TaskPayload;
}

export class UpdateManager {
  private running: string | undefined;
  private readonly store: ResourceStore;
  private readonly tasks: TaskService;
  private readonly events: EventHub;
  private readonly timing: TimingOptions;
  private readonly timers: Timers;

  constructor(store: ResourceStore, tasks: TaskService, events: EventHub, timing: TimingOptions, timers: Timers) {
    this.store = store;
    this.tasks = tasks;
    this.events = events;
    this.timing = timing;
    this.timers = timers;
  }

  /** One update at a time, as on bmcweb: another one is answered 503 with Retry-After. */
  assertIdle(): void {
    if (this.running !== undefined && !this.tasks.isFinished(this.running)) {
      throw new RedfishError(503, [baseMessage("ServiceTemporarilyUnavailable", ["10"])], { "Retry-After": "10" });
    }
  }

  /**
   * Checks requested Targets (inventory or related resource URIs) and returns inventory URIs;
   * no Targets means the BMC's own firmware.
   */
  resolveTargets(requested: unknown, parameter: string, action: string): string[] {
    const inventory = this.store
      .members(FIRMWARE_INVENTORY_URI)
      .filter((uri) => this.store.peek(uri)?.Updateable !== false);
    if (requested === undefined || (Array.isArray(requested) && requested.length === 0)) {
      const bmc = inventory.find((uri) => this.relatedOfType(uri, "Manager"));
      const fallback = bmc ?? inventory[0];
      if (fallback === undefined)
        throw new RedfishError(400, [baseMessage("ActionParameterMissing", [action, parameter])]);
      return [fallback];
    }
    if (!Array.isArray(requested) || !requested.every((t) => typeof t === "string")) {
      throw new RedfishError(400, [
        baseMessage("ActionParameterValueTypeError", [JSON.stringify(requested), parameter, action]),
      ]);
    }
    return requested.map((target) => {
      const uri = canonicalUri(target);
      const direct = inventory.find((i) => canonicalUri(i) === uri);
      const related = inventory.find((i) => this.relatedUris(i).includes(uri));
      const found = direct ?? related;
      if (found === undefined) {
        throw new RedfishError(400, [baseMessage("ActionParameterValueNotInList", [target, parameter, action])]);
      }
      return found;
    });
  }

  start(request: UpdateRequest): TaskHandle {
    this.assertIdle();
    let cancelled = false;
    const handle = this.tasks.create(`${request.operation} of ${request.imageName}`, request.payload, () => {
      cancelled = true;
    });
    this.running = handle.id;
    const stepCount = this.timing.updateStepCount;
    const phases: Array<keyof typeof UPDATE_MESSAGES> = [
      "TransferringToComponent",
      "VerifyingAtComponent",
      "ApplyingOnComponent",
    ];
    const targetNames = request.targets.map((t) => String(this.store.peek(t)?.Id ?? t));
    this.tasks.start(handle.id);
    for (const name of targetNames) this.note(handle.id, "TargetDetermined", [name, request.imageName], 0);
    const step = (n: number): void => {
      if (cancelled) return;
      if (n < stepCount) {
        const percent = Math.floor((n * 100) / stepCount);
        const phase =
          phases[Math.min(phases.length - 1, Math.floor((n * phases.length) / stepCount))] ?? "ApplyingOnComponent";
        this.note(handle.id, phase, [request.imageName, targetNames.join(", ")], percent);
        this.timers.after(this.timing.updateStepMs, () => step(n + 1));
        return;
      }
      this.apply(request);
      for (const name of targetNames) this.note(handle.id, "UpdateSuccessful", [name, request.imageName], 100);
      this.tasks.finish(handle.id, true);
    };
    this.timers.after(this.timing.updateStepMs, () => step(1));
    return handle;
  }

  private note(taskId: string, key: keyof typeof UPDATE_MESSAGES, args: string[], percent: number): void {
    const messageId = `${REGISTRIES.update}.${key}`;
    const text = fillMessage(UPDATE_MESSAGES[key], args);
    this.tasks.progress(taskId, percent, { messageId, text: UPDATE_MESSAGES[key], args });
    this.events.publish({
      messageId,
      message: text,
      args,
      severity: "OK",
      originOfCondition: TaskService.taskUri(taskId),
    });
  }

  private relatedUris(inventoryUri: string): string[] {
    const related = this.store.peek(inventoryUri)?.RelatedItem;
    if (!Array.isArray(related)) return [];
    return related.flatMap((r) =>
      isObject(r) && typeof r["@odata.id"] === "string" ? [canonicalUri(r["@odata.id"])] : [],
    );
  }

  private relatedOfType(inventoryUri: string, type: string): string | undefined {
    return this.relatedUris(inventoryUri).find((uri) => {
      const resource = this.store.peek(uri);
      return resource !== undefined && resourceType(resource) === type;
    });
  }

  private apply(request: UpdateRequest): void {
    for (const target of request.targets) {
      const current = this.store.peek(target)?.Version;
      const version = request.version ?? bumpVersion(typeof current === "string" ? current : "1.0.0");
      this.store.update(target, (inventory) => {
        inventory.Version = version;
      });
      const manager = this.relatedOfType(target, "Manager");
      if (manager) {
        this.store.update(manager, (m) => {
          m.FirmwareVersion = version;
        });
      }
      const system = this.relatedOfType(target, "ComputerSystem");
      if (system) {
        this.store.update(system, (s) => {
          s.BiosVersion = version;
        });
      }
    }
  }
}
