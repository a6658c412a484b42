// A part of the facade that serves resources of its own next to the aggregated tree: the
// TaskService's cluster tasks, the AggregationService's actions and user aggregates, the
// UpdateService's actions, the cluster Manager's ForceFailover, members' ManagerDiagnosticData.
// FacadeService asks each part before anything else, and lets each decorate a member resource it
// serves; the routes offer each part a write before forwarding it to a member.
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { FacadeMember } from "./facade-cluster.ts";
import type { RequestPath } from "./request-path.ts";
import type { Served } from "./served.ts";

export interface FacadePart {
  /** A GET this part serves, or undefined when the path is not its own (found out asynchronously too). */
  resolve?(segments: readonly string[], path: string): Served | Promise<Served | undefined> | undefined;
  /**
   * Facade URIs this part adds to a merged collection; `key` is `Systems`, `TaskService/Tasks`,
   * `AggregationService/Aggregates`, ...
   */
  collectionMembers?(key: string): readonly string[];
  /** ServiceRoot properties linking the services this part serves: `{ Tasks: "/redfish/v1/TaskService" }` (the schema's property names). */
  rootLinks?(): Readonly<Record<string, string>>;
  /**
   * Serves a write on one of its resources (returns the reply, sent); undefined when the path is
   * not its own. The routes check `reply.sent`, since awaiting a sent reply gives undefined.
   */
  write?(request: FastifyRequest, reply: FastifyReply, parsed: RequestPath): Promise<FastifyReply | undefined>;
  /**
   * A member resource as the facade serves it (URIs prefixed), before it is sent: the part returns
   * a copy with what it adds (a link to a resource of its own), or undefined to leave it as is.
   */
  decorate?(
    member: FacadeMember,
    path: string,
    body: Readonly<Record<string, unknown>>,
  ): Record<string, unknown> | undefined;
  /** Registers what the part needs on the app before it is ready (a content type parser, hooks). */
  register?(app: FastifyInstance): void;
  /** Stops the part's timers (the app is closing). */
  close?(): void;
}
