// @conclave/bmc-simulator: a Redfish BMC that stands in for OpenBMC's bmcweb in tests and in the demo.
export { buildSimulator } from "./app.ts";
export type { SimulatorContext } from "./context.ts";
export type { CountersSnapshot } from "./counters.ts";
export { OPERATION_ID_HEADER } from "./counters.ts";
export { BASE_REGISTRY, MockupError, RedfishError, SimulatorConfigError } from "./errors.ts";
export type { FaultState } from "./faults.ts";
export { generateTree } from "./generator.ts";
export { loadMockup } from "./mockup-loader.ts";
export type {
  AccountOptions,
  GeneratorOptions,
  LimitOptions,
  SensorOptions,
  SimulatorOptions,
  TimingOptions,
} from "./options.ts";
export { DEFAULT_ACCOUNTS, DEFAULT_LIMITS, DEFAULT_TIMING, resolveOptions } from "./options.ts";
export type { ListenOptions, RunningSimulator } from "./server.ts";
export { startSimulator } from "./server.ts";
export { MULTIPART_PUSH_URI, SSE_URI } from "./services.ts";
export type { JsonValue, Resource } from "./store.ts";
export { ResourceStore } from "./store.ts";
