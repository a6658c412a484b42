// Commands: the only way the cluster state changes. Each one is a registered, versioned
// definition (type, version, body schema, deterministic apply) and travels through the Raft
// log as a small canonical-JSON envelope:
//
//   {"atMs":1700000000000,"body":{"drained":true,"id":"12D3Koo..."},"type":"member.drain","v":1,"version":1}
//
// Why JSON: commands are few and small (membership, health changes, leadership, later the
// facade's operations and sessions: tens per second at the very most, bounded by
// COMMAND_MAX_BYTES), the facade's bodies are JSON-shaped Redfish data already, and an entry
// read straight off the WAL is legible to an operator. A binary codec would save bytes nobody
// is short of. `v` is the envelope's format; a future binary format would start with a byte
// other than "{". `version` is the command's own schema version: a command that reached a log
// is applied forever, so a definition is never changed once released, only joined by version+1.
//
// Adding commands (the facade's operation journal, tasks, sessions): define a StateSection for
// the new state, define its commands with defineCommand, and pass both to ClusterState:
//
//   const operations: StateSection<OperationJournal> = { name: "operations", version: 1, initial, toSnapshot, fromSnapshot };
//   const submit = defineCommand({ type: "operation.submit", version: 1, section: operations,
//     body: Type.Object({ id: Type.String(), ... }, { additionalProperties: false }),
//     apply(journal, body, context) { if (journal.has(body.id)) throw new CommandRejection("duplicate", "..."); ... } });
//   new ClusterState({ extensions: { sections: [operations], commands: [submit] } });
//
// Every node must run the same registry: deploy a new command's decoder before anything proposes it
// (an unknown command is rejected, and a node that knows it would apply it).
import type { NodeId } from "@conclave/consensus";
import type { Static, TSchema } from "typebox";
import Type from "typebox";
import Value from "typebox/value";
import { canonicalJson, type JsonValue, parseJsonStrict } from "./canonical-json.ts";
import { ClusterCommandInvalidError } from "./errors.ts";
import type { ClusterIdentity, LeadershipRecord, MemberRecord } from "./types.ts";

/**
 * Largest encoded command: room for a journaled operation (a 64 KiB request body, JSON-escaped,
 * with its record) and a task of SUBTASKS_MAX subtasks. Far below Raft's maxMessageBytes (1 MiB).
 */
export const COMMAND_MAX_BYTES = 256 * 1024;
/** The envelope format written by this version. */
export const COMMAND_ENVELOPE_VERSION = 1;
/** `<section>.<verb>`: lower case words separated by dots, e.g. `member.drain`. */
export const COMMAND_TYPE_PATTERN = "^[a-z][a-z0-9-]{0,30}(\\.[a-z][a-z0-9-]{0,30}){1,3}$";
export const COMMAND_VERSION_MAX = 1000;

/** Read-only view of the core state, for extension commands that need it (e.g. "is this a member?"). */
export interface ClusterView {
  readonly identity: ClusterIdentity | null;
  member(id: NodeId): MemberRecord | undefined;
  members(): readonly MemberRecord[];
  leadershipHistory(): readonly LeadershipRecord[];
}

/** What apply may know besides the state and the body. Time comes from the command, never a clock. */
export interface CommandContext {
  /** Raft log index of the entry. */
  readonly index: number;
  /** The proposer's wall clock when it proposed (ms since the epoch). */
  readonly atMs: number;
  /** Cluster time: the largest `atMs` applied so far, this one included. Never goes back. */
  readonly clusterTimeMs: number;
  readonly cluster: ClusterView;
}

/** A piece of replicated state with its own snapshot encoding. */
export interface StateSection<S> {
  /** Unique key in the snapshot: lower case, e.g. `core`, `operations`. */
  readonly name: string;
  /** The snapshot format this code writes; it must read every earlier one. */
  readonly version: number;
  initial(): S;
  /** Must be a pure function of the state: maps and sets as arrays sorted by a key. */
  toSnapshot(state: S): JsonValue;
  /** Strict: throws on anything unexpected (the caller wraps it in a StateSnapshotError). */
  fromSnapshot(data: unknown, version: number): S;
}

export interface CommandDefinition<S = unknown, B = unknown, R = unknown> {
  readonly type: string;
  readonly version: number;
  readonly section: StateSection<S>;
  /** TypeBox schema of the body; objects should set additionalProperties: false. Checked on encode and on apply. */
  readonly body: TSchema;
  /**
   * Deterministic: reads only `state`, `body` and `context`; no clock, randomness or I/O.
   * Throws CommandRejection (before changing anything) to refuse; any other exception is a
   * bug and stops the node. The result goes back to the proposer and must be JSON-safe.
   */
  apply(state: S, body: B, context: CommandContext): R;
}

/** Typed helper: the body type is inferred from the schema. */
export function defineCommand<S, Schema extends TSchema, R>(definition: {
  readonly type: string;
  readonly version: number;
  readonly section: StateSection<S>;
  readonly body: Schema;
  apply(state: S, body: Static<Schema>, context: CommandContext): R;
}): CommandDefinition<S, Static<Schema>, R> {
  return Object.freeze({ ...definition });
}

/** What a proposer hands in; the driver stamps `atMs` and encodes it. */
export interface CommandInput {
  readonly type: string;
  /** Defaults to the newest registered version of `type`. */
  readonly version?: number;
  readonly body: unknown;
}

export interface CommandEnvelope {
  readonly v: number;
  readonly type: string;
  readonly version: number;
  readonly atMs: number;
  readonly body: unknown;
}

const EnvelopeSchema = Type.Object(
  {
    v: Type.Integer({ minimum: 1, maximum: 255 }),
    type: Type.String({ minLength: 1, maxLength: 128 }),
    version: Type.Integer({ minimum: 1, maximum: COMMAND_VERSION_MAX }),
    atMs: Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }),
    body: Type.Unknown(),
  },
  { additionalProperties: false, required: ["v", "type", "version", "atMs", "body"] },
);

const typePattern = new RegExp(COMMAND_TYPE_PATTERN);
const SECTION_NAME_PATTERN = /^[a-z][a-z0-9-]{0,30}$/;

export type DecodedCommand =
  | { readonly ok: true; readonly envelope: CommandEnvelope; readonly definition: CommandDefinition }
  | {
      readonly ok: false;
      /** The envelope when it could be read (its atMs still counts as cluster time). */
      readonly envelope: CommandEnvelope | undefined;
      readonly code: "too-large" | "malformed" | "unknown-command" | "invalid-body";
      readonly message: string;
    };

/** The set of commands and sections a node understands. The same on every node. */
export class CommandRegistry {
  readonly sections: readonly StateSection<unknown>[];
  readonly #byKey = new Map<string, CommandDefinition>();
  readonly #latest = new Map<string, number>();

  constructor(sections: readonly StateSection<unknown>[], commands: readonly CommandDefinition[]) {
    const names = new Set<string>();
    for (const section of sections) {
      if (!SECTION_NAME_PATTERN.test(section.name)) throw new TypeError(`bad section name ${section.name}`);
      if (names.has(section.name)) throw new TypeError(`section ${section.name} is registered twice`);
      if (!Number.isSafeInteger(section.version) || section.version < 1) {
        throw new TypeError(`section ${section.name} needs a positive integer version`);
      }
      names.add(section.name);
    }
    for (const command of commands) {
      if (!typePattern.test(command.type)) throw new TypeError(`bad command type ${command.type}`);
      if (!Number.isSafeInteger(command.version) || command.version < 1 || command.version > COMMAND_VERSION_MAX) {
        throw new TypeError(`command ${command.type} needs a version in [1, ${COMMAND_VERSION_MAX}]`);
      }
      if (!sections.includes(command.section)) {
        throw new TypeError(`command ${command.type} changes section ${command.section.name}, which is not registered`);
      }
      const key = commandKey(command.type, command.version);
      if (this.#byKey.has(key)) throw new TypeError(`command ${key} is registered twice`);
      this.#byKey.set(key, command);
      this.#latest.set(command.type, Math.max(this.#latest.get(command.type) ?? 0, command.version));
    }
    this.sections = Object.freeze([...sections]);
  }

  lookup(type: string, version: number): CommandDefinition | undefined {
    return this.#byKey.get(commandKey(type, version));
  }

  latestVersion(type: string): number | undefined {
    return this.#latest.get(type);
  }

  /** Validates and encodes a command for proposing. Throws ClusterCommandInvalidError. */
  encode(input: CommandInput, atMs: number): Uint8Array {
    const version = input.version ?? this.latestVersion(input.type);
    const definition = version === undefined ? undefined : this.lookup(input.type, version);
    if (definition === undefined || version === undefined) {
      throw new ClusterCommandInvalidError(`unknown command ${input.type}${input.version ? `@${input.version}` : ""}`);
    }
    if (!Number.isSafeInteger(atMs) || atMs < 0) {
      throw new ClusterCommandInvalidError(`command time must be a non-negative integer (ms), got ${atMs}`);
    }
    const problem = firstProblem(definition.body, input.body);
    if (problem !== undefined) throw new ClusterCommandInvalidError(`command ${input.type}: ${problem}`);
    let text: string;
    try {
      text = canonicalJson({ v: COMMAND_ENVELOPE_VERSION, type: input.type, version, atMs, body: input.body });
    } catch (error) {
      throw new ClusterCommandInvalidError(`command ${input.type}: ${(error as Error).message}`);
    }
    const bytes = new TextEncoder().encode(text);
    if (bytes.length > COMMAND_MAX_BYTES) {
      throw new ClusterCommandInvalidError(
        `command ${input.type} is ${bytes.length} bytes; the limit is ${COMMAND_MAX_BYTES} (COMMAND_MAX_BYTES)`,
      );
    }
    return bytes;
  }

  /** Strict decoding of an entry from the log. Never throws: bad input is an outcome. */
  decode(data: Uint8Array): DecodedCommand {
    if (data.length > COMMAND_MAX_BYTES) {
      return { ok: false, envelope: undefined, code: "too-large", message: `${data.length} bytes` };
    }
    let raw: unknown;
    try {
      raw = parseJsonStrict(new TextDecoder("utf-8", { fatal: true }).decode(data));
    } catch (error) {
      return { ok: false, envelope: undefined, code: "malformed", message: (error as Error).message };
    }
    const envelopeProblem = firstProblem(EnvelopeSchema, raw);
    if (envelopeProblem !== undefined) {
      return { ok: false, envelope: undefined, code: "malformed", message: `envelope: ${envelopeProblem}` };
    }
    const envelope = raw as CommandEnvelope;
    if (envelope.v !== COMMAND_ENVELOPE_VERSION) {
      return { ok: false, envelope: undefined, code: "malformed", message: `unknown envelope version ${envelope.v}` };
    }
    const definition = this.lookup(envelope.type, envelope.version);
    if (definition === undefined) {
      return {
        ok: false,
        envelope,
        code: "unknown-command",
        message: `${envelope.type.slice(0, 64)}@${envelope.version}`,
      };
    }
    const bodyProblem = firstProblem(definition.body, envelope.body);
    if (bodyProblem !== undefined) return { ok: false, envelope, code: "invalid-body", message: bodyProblem };
    return { ok: true, envelope, definition };
  }
}

function commandKey(type: string, version: number): string {
  return `${type}@${version}`;
}

/** The first schema violation, as "<path> <message>", or undefined when `value` fits. */
export function firstProblem(schema: TSchema, value: unknown): string | undefined {
  if (Value.Check(schema, value)) return undefined;
  for (const error of Value.Errors(schema, value)) {
    return `${error.instancePath === "" ? "(root)" : error.instancePath} ${error.message}`;
  }
  return "does not match its schema";
}
