// Reads the config file (YAML or JSON), rejects unknown keys and bad values with one clear
// sentence each, fills in the schema's defaults and returns a frozen config.
import { readFileSync } from "node:fs";
import { isIPv4, isIPv6 } from "node:net";
import { basename, dirname, extname, join, resolve } from "node:path";
import { multiaddr } from "@multiformats/multiaddr";
import type { TSchema } from "typebox";
import Value from "typebox/value";
import { parse as parseYaml } from "yaml";
import { ConfigError } from "../errors.ts";
import { messageIdCovers } from "../events/event-policy.ts";
import { defaultNodeName, NODE_NAME_PATTERN as NODE_NAME_LABEL_PATTERN } from "./node-name.ts";
import { type ConclaveConfig, ConfigSchema, TOPOLOGY_ENTRIES_MAX } from "./schema.ts";

/**
 * Keys that differ from node to node, the only ones the drop-in may set: the shared file stays
 * identical on every BMC, and what makes a node itself lives next to it.
 */
export const PER_NODE_KEYS: readonly string[] = Object.freeze([
  "nodeName",
  "role",
  "priority",
  "labels",
  "nodeHttp",
  "listen",
  "interface",
  "bmc",
  "stateDir",
  "health",
]);
/** Label keys the agent reserves (see src/facade-host/member-labels.ts). */
const RESERVED_LABEL_PREFIX = "conclave.";
/** The drop-in's name: the config's, with `.local` before the extension (`conclave.local.yaml`). */
export function localConfigFileOf(file: string): string {
  const extension = extname(file);
  return join(dirname(file), `${basename(file, extension)}.local${extension}`);
}

export interface ParseConfigOptions {
  /** Name used in messages; relative paths in the config resolve against its directory. */
  readonly file: string;
  /** `json` or `yaml`; by default, taken from the file name (`.json` is JSON, anything else YAML). */
  readonly format?: "json" | "yaml";
  /** The per-node drop-in, merged over the file (its format from its own name). */
  readonly local?: { readonly file: string; readonly text: string };
}

export interface LoadedConfig {
  readonly config: ConclaveConfig;
  /** Findings that do not stop the agent (e.g. an even `maxVoters`); the daemon logs them. */
  readonly warnings: readonly string[];
}

/**
 * Reads and validates the config file, and its per-node drop-in (`localConfigFileOf(file)`) when
 * there is one, merged over it. Throws ConfigError naming the file and every problem.
 */
export function loadConfig(file: string): LoadedConfig {
  const text = readConfigText(file, true) as string;
  const localFile = localConfigFileOf(file);
  const localText = readConfigText(localFile, false);
  return parseConfig(text, {
    file,
    ...(localText === undefined ? {} : { local: { file: localFile, text: localText } }),
  });
}

function readConfigText(file: string, required: boolean): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" && !required) return undefined;
    const reason = code === "ENOENT" ? "no such file" : String(err);
    throw new ConfigError(file, [`cannot read the file (${reason})`], { cause: err });
  }
}

function parseRaw(text: string, file: string, format?: "json" | "yaml"): Record<string, unknown> {
  const effective = format ?? (extname(file).toLowerCase() === ".json" ? "json" : "yaml");
  let raw: unknown;
  try {
    raw = effective === "json" ? JSON.parse(text) : parseYaml(text, { uniqueKeys: true, prettyErrors: true });
  } catch (err) {
    const detail = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new ConfigError(file, [`not valid ${effective.toUpperCase()}: ${detail}`], { cause: err });
  }
  if (raw === null || raw === undefined) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new ConfigError(file, ["the top level must be a mapping of keys to values"]);
  }
  return raw as Record<string, unknown>;
}

/** The drop-in over the shared file: mappings merge key by key, anything else (lists too) replaces. */
function mergeOver(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const below = out[key];
    out[key] = isPlainObject(below) && isPlainObject(value) ? mergeOver(below, value) : value;
  }
  return out;
}

export function parseConfig(text: string, options: ParseConfigOptions): LoadedConfig {
  const { file } = options;
  let raw = parseRaw(text, file, options.format);
  if (options.local !== undefined) {
    const local = parseRaw(options.local.text, options.local.file);
    const problems = findUnknownKeys(ConfigSchema, local, "");
    for (const key of Object.keys(local)) {
      if (
        ConfigSchema.properties[key as keyof typeof ConfigSchema.properties] !== undefined &&
        !PER_NODE_KEYS.includes(key)
      ) {
        problems.push(
          `"${key}" is shared by every node: set it in ${basename(file)}, not in the drop-in (per-node keys: ${PER_NODE_KEYS.join(", ")})`,
        );
      }
    }
    if (problems.length > 0) throw new ConfigError(options.local.file, problems);
    raw = mergeOver(raw, local);
  }

  const problems = findUnknownKeys(ConfigSchema, raw, "");
  const withDefaults = Value.Default(ConfigSchema, Value.Clone(raw)) as Record<string, unknown>;
  problems.push(...describeSchemaErrors(withDefaults));
  if (problems.length > 0) throw new ConfigError(file, problems);

  const config = withDefaults as unknown as ConclaveConfig;
  problems.push(...checkMeaning(config));
  if (problems.length > 0) throw new ConfigError(file, problems);

  const baseDir = dirname(resolve(file));
  const hasBmc = config.role !== "witness" || raw.bmc !== undefined;
  const resolved: ConclaveConfig = {
    ...config,
    // `labels.name` is the former spelling of `nodeName` (checked to agree in checkMeaning).
    nodeName: config.nodeName ?? config.labels.name ?? defaultNodeName(),
    secretFile: resolve(baseDir, config.secretFile),
    stateDir: resolve(baseDir, config.stateDir),
    bmc: { ...config.bmc, credentialsFile: resolve(baseDir, config.bmc.credentialsFile) },
    adminCredentialFile: resolve(baseDir, config.adminCredentialFile),
    facadeTls: {
      ...config.facadeTls,
      certFile: resolve(baseDir, config.facadeTls.certFile),
      keyFile: resolve(baseDir, config.facadeTls.keyFile),
    },
    ...(hasBmc ? {} : { hasBmc }),
    ...(options.local === undefined ? {} : { localFile: resolve(options.local.file) }),
  };
  const warnings = collectWarnings(resolved);
  if (config.labels.name !== undefined && config.nodeName === undefined) {
    warnings.push("labels.name is the former spelling of nodeName: write nodeName (in the per-node drop-in)");
  }
  return { config: deepFreeze(resolved), warnings: Object.freeze(warnings) };
}

// --- unknown keys -------------------------------------------------------------------------

interface ObjectSchema {
  properties?: Record<string, TSchema>;
  additionalProperties?: boolean | TSchema;
  items?: TSchema;
}

function findUnknownKeys(schema: TSchema, value: unknown, path: string): string[] {
  const objectSchema = schema as ObjectSchema;
  // Lists of mappings (powerSequence.groups, topology.*): each item's keys are checked too.
  if (objectSchema.items !== undefined && Array.isArray(value)) {
    const items = objectSchema.items;
    return value.flatMap((item, index) => findUnknownKeys(items, item, `${path}.${index}`));
  }
  if (objectSchema.properties === undefined || !isPlainObject(value)) return [];
  const problems: string[] = [];
  const known = Object.keys(objectSchema.properties);
  for (const [key, child] of Object.entries(value)) {
    const childSchema = objectSchema.properties[key];
    const keyPath = path === "" ? key : `${path}.${key}`;
    if (childSchema !== undefined) {
      problems.push(...findUnknownKeys(childSchema, child, keyPath));
    } else if (objectSchema.additionalProperties === false) {
      const suggestion = closestKey(key, known);
      const hint = suggestion === undefined ? "" : ` (did you mean "${path === "" ? "" : `${path}.`}${suggestion}"?)`;
      problems.push(`unknown key "${keyPath}"${hint}`);
    }
  }
  return problems;
}

/** The known key a typo most likely meant: small edit distance, case ignored. */
function closestKey(key: string, known: readonly string[]): string | undefined {
  const wanted = key.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(wanted.length / 3)) + 1;
  for (const candidate of known) {
    const distance = editDistance(wanted, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}

// --- bad values ---------------------------------------------------------------------------

/**
 * TypeBox stops collecting after `maxErrors` (8 by default, a process-wide setting we leave
 * alone), so each top-level key is checked on its own: one bad section cannot hide another.
 */
function describeSchemaErrors(config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const required = new Set<string>(ConfigSchema.required ?? []);
  for (const [key, schema] of Object.entries(ConfigSchema.properties) as [string, TSchema][]) {
    const value = config[key];
    if (value === undefined) {
      if (required.has(key)) problems.push(`missing required key "${key}": expected ${describeExpected(schema)}`);
      continue;
    }
    const seen = new Set<string>();
    for (const error of Value.Errors(schema, value)) {
      // Unknown keys were reported already, with suggestions.
      if (error.keyword === "additionalProperties" || error.keyword === "boolean") continue;
      const path = [key, ...pointerToPath(error.instancePath)];
      if (error.keyword === "required") {
        for (const missing of (error.params as { requiredProperties?: string[] }).requiredProperties ?? []) {
          const keyPath = [...path, missing].join(".");
          if (seen.has(keyPath)) continue;
          seen.add(keyPath);
          problems.push(
            `missing required key "${keyPath}": expected ${describeExpected(schemaAt([...path, missing]))}`,
          );
        }
        continue;
      }
      const keyPath = path.join(".");
      if (seen.has(keyPath)) continue;
      seen.add(keyPath);
      problems.push(
        `"${keyPath}" must be ${describeExpected(schemaAt(path))} (got ${describeValue(valueAt(config, path))})`,
      );
    }
  }
  return problems;
}

function pointerToPath(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((part) => part.replaceAll("~1", "/").replaceAll("~0", "~"));
}

function schemaAt(path: readonly string[]): TSchema | undefined {
  let schema: TSchema | undefined = ConfigSchema;
  for (const part of path) {
    const node = schema as (ObjectSchema & { items?: TSchema }) | undefined;
    if (node === undefined) return undefined;
    if (node.items !== undefined && /^\d+$/.test(part)) schema = node.items;
    else if (node.properties?.[part] !== undefined) schema = node.properties[part];
    else if (typeof node.additionalProperties === "object") schema = node.additionalProperties;
    else return undefined;
  }
  return schema;
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let value = root;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

interface DescribedSchema {
  type?: string;
  enum?: unknown[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  pattern?: string;
  examples?: unknown[];
  items?: TSchema;
  description?: string;
  /** Our own annotation: the expected form in words, where the keywords would read badly (patterns). */
  expected?: string;
}

/** The expected form of a value, in words: "an integer from 1 to 15", "one of `lan`, `fast`". */
export function describeExpected(schema: TSchema | undefined): string {
  if (schema === undefined) return "a valid value";
  const s = schema as DescribedSchema;
  if (s.expected !== undefined) return s.expected;
  if (s.enum !== undefined) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(", ")}`;
  const example = s.examples?.[0] === undefined ? "" : `, e.g. ${JSON.stringify(s.examples[0])}`;
  switch (s.type) {
    case "integer":
    case "number": {
      const noun = s.type === "integer" ? "an integer" : "a number";
      if (s.minimum !== undefined && s.maximum !== undefined) return `${noun} from ${s.minimum} to ${s.maximum}`;
      if (s.minimum !== undefined) return `${noun} >= ${s.minimum}`;
      if (s.maximum !== undefined) return `${noun} <= ${s.maximum}`;
      return noun;
    }
    case "boolean":
      return "true or false";
    case "string": {
      if (s.pattern !== undefined) return `a string matching ${s.pattern}${example}`;
      const nonEmpty = s.minLength !== undefined && s.minLength > 0 ? "non-empty " : "";
      const length = s.maxLength !== undefined ? ` of at most ${s.maxLength} characters` : "";
      return `a ${nonEmpty}string${length}${example}`;
    }
    case "array": {
      const bounds: string[] = [];
      if (s.minItems !== undefined && s.minItems > 0) bounds.push(`at least ${s.minItems}`);
      if (s.maxItems !== undefined) bounds.push(`at most ${s.maxItems}`);
      const count = bounds.length > 0 ? ` (${bounds.join(", ")})` : "";
      return `a list${count}, each ${describeExpected(s.items)}`;
    }
    case "object":
      return s.maxProperties !== undefined ? `a mapping of at most ${s.maxProperties} keys` : "a mapping of keys";
    default:
      return "a valid value";
  }
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return `a list of ${value.length}`;
  if (value !== null && typeof value === "object") return "a mapping";
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

// --- meaning across keys ------------------------------------------------------------------

function checkMeaning(config: ConclaveConfig): string[] {
  const problems: string[] = [];
  for (const [index, address] of config.listen.entries()) {
    problems.push(...checkMultiaddr(`listen.${index}`, address, true));
  }
  for (const [index, address] of config.peers.entries()) {
    problems.push(...checkMultiaddr(`peers.${index}`, address, false));
  }

  const vip = config.vip;
  if (vip.mode !== "none") {
    if (vip.address === undefined) {
      problems.push(`"vip.address" is required when "vip.mode" is "${vip.mode}"`);
    } else if (!isIPv4(vip.address) && !isIPv6(vip.address)) {
      problems.push(
        `"vip.address" must be an IPv4 or IPv6 address, e.g. "10.0.0.100" (got ${describeValue(vip.address)})`,
      );
    } else if (vip.mode === "loopback" && !(isIPv4(vip.address) && vip.address.startsWith("127."))) {
      problems.push(`"vip.address" must be in 127.0.0.0/8 when "vip.mode" is "loopback" (got "${vip.address}")`);
    }
    if (vip.address !== undefined && vip.prefix !== undefined && isIPv4(vip.address) && vip.prefix > 32) {
      problems.push(`"vip.prefix" must be an integer from 0 to 32 for an IPv4 address (got ${vip.prefix})`);
    }
  }
  if (vip.mode === "interface" && config.interface === undefined) {
    problems.push(`"interface" is required when "vip.mode" is "interface": the VIP is added to it`);
  }

  const nodeHttp = parseHostPort(config.nodeHttp);
  if (nodeHttp === undefined) {
    problems.push(
      `"nodeHttp" must be an address and port such as "0.0.0.0:8444" or "[::]:8444" (got ${describeValue(config.nodeHttp)})`,
    );
  } else if (
    vip.mode !== "none" &&
    nodeHttp.port === config.facadePort &&
    (nodeHttp.host === "0.0.0.0" || nodeHttp.host === "::" || nodeHttp.host === vip.address)
  ) {
    problems.push(
      `"nodeHttp" (${config.nodeHttp}) covers the VIP's port "facadePort" (${config.facadePort}): the PoC could not bind the VIP; use another port`,
    );
  }

  for (const kind of ["cpu", "memory", "disk"] as const) {
    const { warningPercent, criticalPercent } = config.health[kind];
    if (warningPercent >= criticalPercent) {
      problems.push(
        `"health.${kind}.warningPercent" (${warningPercent}) must be below "health.${kind}.criticalPercent" (${criticalPercent})`,
      );
    }
  }

  const nameLabel = config.labels.name;
  if (nameLabel !== undefined) {
    if (!NODE_NAME_LABEL_PATTERN.test(nameLabel)) {
      problems.push(
        `"labels.name" is the former spelling of "nodeName" and must be a valid node name: letters, digits and inner hyphens, at most 63 characters, no "_" (got ${describeValue(nameLabel)})`,
      );
    } else if (config.nodeName !== undefined && config.nodeName !== nameLabel) {
      problems.push(
        `"labels.name" (${nameLabel}) and "nodeName" (${config.nodeName}) disagree: "labels.name" is the former spelling of "nodeName"; keep only "nodeName"`,
      );
    }
  }
  for (const key of Object.keys(config.labels)) {
    if (key.startsWith(RESERVED_LABEL_PREFIX)) {
      problems.push(`"labels.${key}": label keys starting with "${RESERVED_LABEL_PREFIX}" are the agent's own`);
    }
  }
  try {
    new URL(config.bmc.redfishUrl);
  } catch {
    problems.push(`"bmc.redfishUrl" must be a URL such as "https://127.0.0.1" (got "${config.bmc.redfishUrl}")`);
  }
  problems.push(...checkPowerSequence(config), ...checkTopology(config), ...checkEventPolicy(config));
  return problems;
}

function checkPowerSequence(config: ConclaveConfig): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const [index, group] of (config.powerSequence?.groups ?? []).entries()) {
    if (seen.has(group.name)) {
      problems.push(`"powerSequence.groups.${index}.name": "${group.name}" names an earlier group too`);
    }
    seen.add(group.name);
    if ((group.members ?? []).length === 0 && Object.keys(group.labels ?? {}).length === 0) {
      problems.push(
        `"powerSequence.groups.${index}" ("${group.name}") names no members and no labels: it would hold nobody`,
      );
    }
  }
  return problems;
}

/** A rule that an earlier one always matches first would never apply: a mistake, named with both places. */
function checkEventPolicy(config: ConclaveConfig): string[] {
  const rules = config.events?.policy ?? [];
  const problems: string[] = [];
  for (const [index, rule] of rules.entries()) {
    const earlier = rules.findIndex((other, at) => at < index && messageIdCovers(other.messageId, rule.messageId));
    if (earlier !== -1) {
      problems.push(
        `"events.policy.${index}": "${rule.messageId}" is always matched first by "events.policy.${earlier}" ("${rules[earlier]?.messageId}"): it would never apply`,
      );
    }
  }
  return problems;
}

function checkTopology(config: ConclaveConfig): string[] {
  const topology = config.topology;
  if (topology === undefined) return [];
  const entries =
    (topology.enclosures?.length ?? 0) + (topology.chassis?.length ?? 0) + (topology.systems?.length ?? 0);
  if (entries > TOPOLOGY_ENTRIES_MAX) {
    return [`"topology" holds ${entries} entries: at most ${TOPOLOGY_ENTRIES_MAX} in all`];
  }
  const ids = new Set<string>();
  const problems: string[] = [];
  for (const [index, enclosure] of (topology.enclosures ?? []).entries()) {
    if (ids.has(enclosure.id)) problems.push(`"topology.enclosures.${index}.id": "${enclosure.id}" is used twice`);
    ids.add(enclosure.id);
  }
  for (const [index, enclosure] of (topology.enclosures ?? []).entries()) {
    if (enclosure.containedBy !== undefined && !ids.has(enclosure.containedBy)) {
      problems.push(`"topology.enclosures.${index}.containedBy": no enclosure "${enclosure.containedBy}"`);
    }
  }
  for (const [index, placement] of (topology.chassis ?? []).entries()) {
    const container = placement.containedBy;
    if ("enclosure" in container && !ids.has(container.enclosure)) {
      problems.push(`"topology.chassis.${index}.containedBy.enclosure": no enclosure "${container.enclosure}"`);
    }
  }
  return problems;
}

/** "host:port" or "[v6]:port" with an IP literal host and a port from 0 to 65535; undefined when malformed. */
export function parseHostPort(text: string): { readonly host: string; readonly port: number } | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (match === null) return undefined;
  const host = match[1] ?? match[2] ?? "";
  const port = Number(match[3]);
  if (port > 65_535) return undefined;
  if (match[1] !== undefined ? !isIPv6(host) : !isIPv4(host)) return undefined;
  return { host, port };
}

function checkMultiaddr(keyPath: string, text: string, listening: boolean): string[] {
  let protocols: string[];
  try {
    protocols = multiaddr(text)
      .getComponents()
      .map((component) => component.name);
  } catch {
    return [`"${keyPath}" must be a multiaddr such as "/ip4/10.0.0.2/tcp/7420" (got ${describeValue(text)})`];
  }
  if (!protocols.includes("tcp")) {
    return [`"${keyPath}" must be a TCP multiaddr such as "/ip4/10.0.0.2/tcp/7420" (got "${text}")`];
  }
  if (listening && protocols.includes("p2p")) {
    return [`"${keyPath}" must not name a peer id: a listen address is this node's own (got "${text}")`];
  }
  return [];
}

function collectWarnings(config: ConclaveConfig): string[] {
  const warnings: string[] = [];
  if (config.maxVoters % 2 === 0) {
    warnings.push(
      `maxVoters is ${config.maxVoters}: an even number of voters tolerates no more failures than ${config.maxVoters - 1} and needs a larger quorum`,
    );
  }
  if (config.bootstrapExpect === 2) {
    warnings.push(
      "bootstrapExpect is 2: a two-node group cannot fail over safely; add a witness (role: witness) as a third vote",
    );
  }
  if (!config.bmc.verifyTls) warnings.push("bmc.verifyTls is off: the local BMC's certificate is not checked");

  return warnings;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
