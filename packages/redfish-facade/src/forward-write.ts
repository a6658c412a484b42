// Writes on member resources (PATCH, POST, PUT, DELETE): forwarded to the owning member as they
// are, URIs un-prefixed on the way in and prefixed on the way out, If-Match passed through. This
// is the one place a write leaves the facade, so the operation journal can wrap or replace it.
import type { FacadeMember, UpstreamError } from "./facade-cluster.ts";
import { type FacadeService, memberRefused } from "./facade-service.ts";
import type { MemberRootMap } from "./member-discovery.ts";
import { headerValue, MemberBusyError, toAnswer } from "./member-reader.ts";
import { facadeUriOwner, memberResourceToFacade, memberUriToFacade, rewriteString } from "./member-uri.ts";
import { baseMessage } from "./redfish-error.ts";
import { type Served, servedError } from "./served.ts";

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

export async function forwardWrite(service: FacadeService, write: MemberWrite): Promise<WriteOutcome> {
  let text: string | undefined;
  if (write.body !== undefined) {
    const result = unprefixBody(write.body, write, service);
    if (result.foreign !== undefined) {
      return servedError(400, baseMessage("PropertyValueIncorrect", [result.foreign.pointer, result.foreign.uri]));
    }
    text = JSON.stringify(result.value);
  }
  const headers: Record<string, string> = {};
  if (text !== undefined) headers["content-type"] = "application/json";
  if (write.ifMatch !== undefined) headers["if-match"] = write.ifMatch;
  let response: Awaited<ReturnType<FacadeService["reader"]["send"]>>;
  try {
    response = await service.reader.send(write.member, {
      method: write.method,
      path: write.memberPath,
      headers,
      ...(text === undefined ? {} : { body: text }),
      timeoutMs: write.timeoutMs,
    });
  } catch (error) {
    // No answer does not mean nothing happened: forget what was cached from the member.
    service.reader.invalidate(write.member.id);
    const reason = error instanceof MemberBusyError ? "busy" : (error as UpstreamError).kind;
    return service.missingResource(
      { kind: "missing", reason, memberId: write.member.id, detail: (error as Error).message },
      write.facadePath,
    );
  }
  // The member's state may have changed: the next read asks it again.
  service.reader.invalidate(write.member.id);
  if (response.statusCode === 401 || response.statusCode === 403)
    return memberRefused(write.facadePath, response.statusCode);
  const answer = toAnswer(write.member, response, 0);
  const mapUri = (uri: string): string => memberUriToFacade(uri, write.member.name, write.map.prefixCollections);
  const out: Record<string, string> = {};
  for (const name of ["location", "link", "etag", "allow", "retry-after"]) {
    const value = headerValue(response.headers, name);
    if (value !== undefined) out[name] = rewriteString(value, mapUri);
  }
  if (answer.kind === "missing") {
    // A 5xx from the member: its own error, URIs prefixed, so the console sees what the BMC said.
    let body: unknown;
    try {
      body = response.text.trim() === "" ? undefined : JSON.parse(response.text);
    } catch {
      return servedError(502, baseMessage("OperationFailed"));
    }
    return {
      kind: "answered",
      statusCode: response.statusCode,
      headers: out,
      body: memberResourceToFacade(body, write.member.name, write.map.prefixCollections),
    };
  }
  const body =
    answer.json === undefined
      ? undefined
      : memberResourceToFacade(answer.json, write.member.name, write.map.prefixCollections);
  return { kind: "answered", statusCode: response.statusCode, headers: out, body };
}
