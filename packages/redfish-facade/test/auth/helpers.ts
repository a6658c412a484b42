// Test helpers: a bare fastify app with the auth hook and routes over a memory store, a fake
// clock, stand-in routes for the resources other parts of the facade serve, and credentials.
import Fastify, { type FastifyInstance } from "fastify";
import type { AuthStore } from "../../src/auth/auth-store.ts";
import { createMemoryAuthStore } from "../../src/auth/memory-auth-store.ts";
import { registerAuth } from "../../src/auth/register-auth.ts";

export const START_MS = Date.UTC(2026, 10, 24, 2, 0, 0);

export const USERS = {
  Administrator: { userName: "root", password: "root-password-1" },
  Operator: { userName: "oper", password: "operator-password-1" },
  ReadOnly: { userName: "viewer", password: "viewer-password-1" },
} as const;

export function basic(userName: string, password: string): { authorization: string } {
  return { authorization: `Basic ${Buffer.from(`${userName}:${password}`).toString("base64")}` };
}

export const AS = {
  Administrator: basic(USERS.Administrator.userName, USERS.Administrator.password),
  Operator: basic(USERS.Operator.userName, USERS.Operator.password),
  ReadOnly: basic(USERS.ReadOnly.userName, USERS.ReadOnly.password),
};

/** Paths served by other parts of the facade, answered here by a stand-in so the hook's decision shows. */
export const STAND_IN_PATHS = [
  "/redfish",
  "/redfish/v1",
  "/redfish/v1/$metadata",
  "/redfish/v1/odata",
  "/redfish/v1/Systems",
  "/redfish/v1/Systems/node1_system",
  "/redfish/v1/Systems/node1_system/Actions/ComputerSystem.Reset",
  "/redfish/v1/Chassis/node1_chassis",
  "/redfish/v1/Chassis/node1_chassis/Power",
  "/redfish/v1/Managers/node1_bmc",
  "/redfish/v1/Managers/node1_bmc/Certificates",
  "/redfish/v1/UpdateService",
  "/redfish/v1/EventService/Subscriptions",
  "/redfish/v1/AggregationService/Aggregates/all",
  "/redfish/v1/TaskService/Tasks/1",
  "/redfish/v1/SomethingNew",
];

export interface TestService {
  readonly app: FastifyInstance;
  readonly store: AuthStore;
  readonly clock: { nowMs: number };
  /** Every change committed, in order (to count touches). */
  readonly commits: string[];
}

export async function testService(options: { sessionTimeoutSeconds?: number } = {}): Promise<TestService> {
  const clock = { nowMs: START_MS };
  const inner = await createMemoryAuthStore({
    accounts: [
      { ...USERS.Administrator, roleId: "Administrator" },
      { ...USERS.Operator, roleId: "Operator" },
      { ...USERS.ReadOnly, roleId: "ReadOnly" },
    ],
    nowMs: START_MS,
    ...(options.sessionTimeoutSeconds === undefined ? {} : { sessionTimeoutSeconds: options.sessionTimeoutSeconds }),
  });
  const commits: string[] = [];
  const store: AuthStore = {
    ...inner,
    commit: (change) => {
      commits.push(change.type);
      return inner.commit(change);
    },
  };
  const app = Fastify({ logger: false });
  registerAuth(app, { store, now: () => clock.nowMs });
  for (const url of STAND_IN_PATHS) {
    app.route({
      method: ["GET", "POST", "PATCH", "PUT", "DELETE"],
      url,
      handler: (request) => ({ served: request.method }),
    });
  }
  await app.ready();
  return { app, store, clock, commits };
}

export async function login(
  service: TestService,
  userName: string,
  password: string,
): Promise<{ token: string; location: string }> {
  const response = await service.app.inject({
    method: "POST",
    url: "/redfish/v1/SessionService/Sessions",
    payload: { UserName: userName, Password: password },
  });
  if (response.statusCode !== 201) throw new Error(`login ${userName}: ${response.statusCode} ${response.body}`);
  return { token: String(response.headers["x-auth-token"]), location: String(response.headers.location) };
}

/** The MessageIds of a Redfish error body. */
export function messageIds(body: string): string[] {
  const parsed = JSON.parse(body) as { error?: { "@Message.ExtendedInfo"?: { MessageId: string }[] } };
  return (parsed.error?.["@Message.ExtendedInfo"] ?? []).map((message) =>
    message.MessageId.replace(/^Base\.\d+\.\d+\./, ""),
  );
}
