// Writes on member resources (PATCH, POST, PUT, DELETE), as the operation journal sends them:
// the console's request becomes the member's (URIs un-prefixed, If-Match passed through), and the
// member's answer, as the journal kept it, becomes the console's (URIs prefixed).
import type { FacadeMember, UpstreamResponse } from "./facade-cluster.ts";
import { type FacadeService, memberRefused } from "./facade-service.ts";
import type { MemberRootMap } from "./member-discovery.ts";
import { headerValue, toAnswer } from "./member-reader.ts";
import { facadeUriOwner, memberResourceToFacade, memberUriToFacade, rewriteString } from "./member-uri.ts";
import { JOURNALED_IF_MATCH_MAX_CHARS } from "./operations/operation-state.ts";
import {
  JOURNALED_BODY_MAX_BYTES,
  type JournaledRequest,
  OPERATION_RESULT_TEXT_MAX_BYTES,
  type OperationResult,
} from "./operations/operation-types.ts";
import { baseMessage } from "./redfish-error.ts";
import { type Served, type ServedError, servedError } from "./served.ts";

export interface MemberWrite {
  readonly member: FacadeMember;
  readonly map: MemberRootMap;
  readonly method: "PATCH" | "POST" | "PUT" | "DELETE";
  /** The path on the member, prefix removed. */
  readonly memberPath: string;
  /** The path the console asked for (for messages). */
  readonly facadePath: string;
  /** The parsed JSON body, undefined when there was none. */
  readonly body: unknown;
  readonly ifMatch: string | undefined;
  readonly timeoutMs: number;
}

/** The answer to a forwarded write, or `ServedError`s (a body naming another member's resource; no answer). */
export type WriteOutcome =
  | {
      readonly kind: "answered";
      readonly statusCode: number;
      readonly headers: Readonly<Record<string, string>>;
      readonly body: unknown;
    }
  | Served;

interface ForeignUri {
  readonly pointer: string;
  readonly uri: string;
}

/** The body with this member's prefix removed from every URI; the first URI of another member, if any. */
function unprefixBody(
  value: unknown,
  write: MemberWrite,
  service: FacadeService,
  pointer = "",
): { value: unknown; foreign?: ForeignUri } {
  if (typeof value === "string") {
    let foreign: ForeignUri | undefined;
    const mapped = rewriteString(value, (uri) => {
      const owner = facadeUriOwner(uri, (name) => service.memberNamed(name) !== undefined, write.map.prefixCollections);
      if (owner === undefined) return uri;
      if (owner.memberName !== write.member.name) {
        foreign ??= { pointer: pointer || "/", uri };
        return uri;
      }
      return owner.memberUri;
    });
    return foreign === undefined ? { value: mapped } : { value: mapped, foreign };
  }
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const [i, item] of value.entries()) {
      const result = unprefixBody(item, write, service, `${pointer}/${i}`);
      if (result.foreign) return result;
      out.push(result.value);
    }
    return { value: out };
  }
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const result = unprefixBody(item, write, service, `${pointer}/${key.replace(/~/g, "~0").replace(/\//g, "~1")}`);
      if (result.foreign) return result;
      out[key] = result.value;
    }
    return { value: out };
  }
  return { value };
}

/** The member request a write becomes, or the error to answer at once (another member's URI, too large). */
export function prepareMemberWrite(service: FacadeService, write: MemberWrite): JournaledRequest | ServedError {
  let text: string | undefined;
  if (write.body !== undefined) {
    const result = unprefixBody(write.body, write, service);
    if (result.foreign !== undefined) {
      return servedError(400, baseMessage("PropertyValueIncorrect", [result.foreign.pointer, result.foreign.uri]));
    }
    text = JSON.stringify(result.value);
    // The journal keeps the body in the replicated state: a bounded one.
    if (Buffer.byteLength(text) > JOURNALED_BODY_MAX_BYTES) return servedError(413, baseMessage("PayloadTooLarge"));
  }
  if (write.ifMatch !== undefined && write.ifMatch.length > JOURNALED_IF_MATCH_MAX_CHARS) {
    return servedError(400, baseMessage("HeaderInvalid", ["If-Match"]));
  }
  const headers: Record<string, string> = {};
  if (text !== undefined) headers["content-type"] = "application/json";
  if (write.ifMatch !== undefined) headers["if-match"] = write.ifMatch;
  return { method: write.method, path: write.memberPath, headers, ...(text === undefined ? {} : { body: text }) };
}

/** Longest header value the journal keeps (a Link or Location longer than this is cut). */
const RESULT_HEADER_MAX_CHARS = 4_096;
/** The headers of a BMC answer the journal keeps (the others say nothing to the console). */
const KEPT_RESULT_HEADERS = ["location", "etag", "retry-after", "link", "content-type"] as const;

/** A BMC answer as the journal and the owner's ledger keep it: chosen headers, text cut to a bound. */
export function operationResultOf(response: UpstreamResponse): OperationResult {
  const headers: Record<string, string> = {};
  for (const name of KEPT_RESULT_HEADERS) {
    const value = headerValue(response.headers, name);
    if (value !== undefined) headers[name] = value.slice(0, RESULT_HEADER_MAX_CHARS);
  }
  const bytes = Buffer.from(response.text);
  if (bytes.length <= OPERATION_RESULT_TEXT_MAX_BYTES) {
    return { statusCode: response.statusCode, headers, text: response.text, truncated: false };
  }
  // Cut on a character boundary: a decoder drops a partial last character.
  const text = new TextDecoder("utf-8", { fatal: false })
    .decode(bytes.subarray(0, OPERATION_RESULT_TEXT_MAX_BYTES))
    .replace(/\uFFFD$/, "");
  return { statusCode: response.statusCode, headers, text, truncated: true };
}

/** The console's answer from the member's answer as the journal kept it: URIs prefixed. */
export function writeOutcomeFromResult(
  service: FacadeService,
  write: Pick<MemberWrite, "member" | "map" | "facadePath">,
  result: OperationResult,
): WriteOutcome {
  // The member's state may have changed: the next read asks it again.
  service.reader.invalidate(write.member.id);
  if (result.statusCode === 401 || result.statusCode === 403) return memberRefused(write.facadePath, result.statusCode);
  const mapUri = (uri: string): string => memberUriToFacade(uri, write.member.name, write.map.prefixCollections);
  const out: Record<string, string> = {};
  for (const name of ["location", "link", "etag", "allow", "retry-after"]) {
    const value = result.headers[name];
    if (value !== undefined) out[name] = rewriteString(value, mapUri);
  }
  if (result.truncated) {
    // The answer was larger than the journal keeps: its status and headers still tell the outcome.
    if (result.statusCode >= 500) return servedError(502, baseMessage("OperationFailed"));
    return { kind: "answered", statusCode: result.statusCode, headers: out, body: undefined };
  }
  const response: UpstreamResponse = { statusCode: result.statusCode, headers: result.headers, text: result.text };
  const answer = toAnswer(write.member, response, 0);
  if (answer.kind === "missing") {
    // A 5xx from the member: its own error, URIs prefixed, so the console sees what the BMC said.
    let body: unknown;
    try {
      body = result.text.trim() === "" ? undefined : JSON.parse(result.text);
    } catch {
      return servedError(502, baseMessage("OperationFailed"));
    }
    return {
      kind: "answered",
      statusCode: result.statusCode,
      headers: out,
      body: memberResourceToFacade(body, write.member.name, write.map.prefixCollections),
    };
  }
  const body =
    answer.json === undefined
      ? undefined
      : memberResourceToFacade(answer.json, write.member.name, write.map.prefixCollections);
  return { kind: "answered", statusCode: result.statusCode, headers: out, body };
}
