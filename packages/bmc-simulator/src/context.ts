// The simulator's components, wired once per instance: the routes reach everything here.
import type { Logger } from "pino";
import { AuthService } from "./auth.ts";
import { ExecutionCounters } from "./counters.ts";
import { EventHub } from "./events.ts";
import { Faults } from "./faults.ts";
import { generateTree } from "./generator.ts";
import { loadMockup } from "./mockup-loader.ts";
import type { ResolvedOptions } from "./options.ts";
import { PowerController } from "./power.ts";
import { installServices } from "./services.ts";
import { canonicalUri, isObject, type ResourceStore } from "./store.ts";
import { TaskService } from "./tasks.ts";
import { Timers } from "./timers.ts";
import { UpdateManager } from "./update-service.ts";

/** An action a resource advertises: "#ComputerSystem.Reset" at its target, owned by the resource. */
export interface ActionBinding {
  /** e.g. "ComputerSystem.Reset" */
  name: string;
  ownerUri: string;
  /** The action object as the owner advertises it (target, AllowableValues, ActionInfo). */
  advertised: Record<string, unknown>;
}

export interface SimulatorContext {
  options: ResolvedOptions;
  logger: Logger;
  store: ResourceStore;
  /** CSDL from a mockup, when it ships one; otherwise it is generated. */
  mockupMetadataXml: string | undefined;
  events: EventHub;
  tasks: TaskService;
  power: PowerController;
  updates: UpdateManager;
  auth: AuthService;
  faults: Faults;
  counters: ExecutionCounters;
  timers: Timers;
  actions: Map<string, ActionBinding>;
  now: () => Date;
}

/** Finds every action advertised in the tree, keyed by its target URI. */
export function indexActions(store: ResourceStore): Map<string, ActionBinding> {
  const actions = new Map<string, ActionBinding>();
  for (const uri of store.uris()) {
    const resource = store.peek(uri);
    const advertised = resource?.Actions;
    if (!isObject(advertised)) continue;
    for (const [key, value] of Object.entries(advertised)) {
      if (!key.startsWith("#") || !isObject(value) || typeof value.target !== "string") continue;
      actions.set(canonicalUri(value.target), { name: key.slice(1), ownerUri: uri, advertised: value });
    }
  }
  return actions;
}

export function createContext(options: ResolvedOptions, logger: Logger): SimulatorContext {
  const now = (): Date => new Date();
  let store: ResourceStore;
  let mockupMetadataXml: string | undefined;
  if (options.mockupDir !== undefined) {
    const loaded = loadMockup(options.mockupDir);
    store = loaded.store;
    mockupMetadataXml = loaded.metadataXml;
  } else {
    store = generateTree(options.generator, now());
  }
  installServices(store, options);
  const timers = new Timers();
  const events = new EventHub(
    {
      eventBufferSize: options.limits.eventBufferSize,
      maxSseClients: options.limits.maxSseClients,
      maxSseClientBufferBytes: options.limits.maxSseClientBufferBytes,
      sseKeepAliveMs: options.timing.sseKeepAliveMs,
    },
    logger.child({ component: "events" }),
    now,
  );
  const tasks = new TaskService(store, events, options.limits.maxTasksKept, now);
  return {
    options,
    logger,
    store,
    mockupMetadataXml,
    events,
    tasks,
    power: new PowerController(store, events, options.timing, timers, now),
    updates: new UpdateManager(store, tasks, events, options.timing, timers),
    auth: new AuthService(store, options.accounts, options.limits.maxSessions),
    faults: new Faults(options.faultSeed),
    counters: new ExecutionCounters(options.limits.maxCountedOperationIds),
    timers,
    actions: indexActions(store),
    now,
  };
}
