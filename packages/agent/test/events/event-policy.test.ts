// Proves the per-site event policy on the member: first match wins (exact ids, prefixes, `*`),
// the rule's severity replaces the event's, `log` logs the event, `alert` numbers a Conclave
// ClusterAlert right after it, `handover` does the same and calls onHandoverEvent — end to end
// from the BMC simulator's SSE stream to a pull, as the PoC reads it.
import { type RunningSimulator, startSimulator } from "@conclave/bmc-simulator";
import { CLUSTER_ALERT_MESSAGE_MAX_CHARACTERS, clusterAlertRecord } from "@conclave/redfish-facade";
import { afterEach, describe, expect, it } from "vitest";
import { createBmcClient } from "../../src/bmc/bmc-client.ts";
import { bmcCredentials } from "../../src/bmc/credentials.ts";
import { attachMemberEvents, type HandoverEvent } from "../../src/events/attach-member-events.ts";
import {
  applyEventPolicy,
  type EventPolicyRule,
  messageIdCovers,
  messageIdMatches,
} from "../../src/events/event-policy.ts";
import type { AgentLogger } from "../../src/logger.ts";

const FAST = { reconnectMinMs: 20, reconnectMaxMs: 80, stableMs: 60_000, idleMs: 10_000, pollIntervalMs: 20 };
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function until<T>(probe: () => T | undefined, what: string, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const RULES: readonly EventPolicyRule[] = [
  { messageId: "ResourceEvent.1.4.ResourceErrorsDetected", severity: "Critical", action: "handover" },
  { messageId: "ResourceEvent.*", action: "alert" },
  { messageId: "Test.1.0.Noted", severity: "OK", action: "log" },
];

describe("matching", () => {
  it("matches exact ids, prefixes ending in * and * alone", () => {
    expect(messageIdMatches("Base.1.0.Success", "Base.1.0.Success")).toBe(true);
    expect(messageIdMatches("Base.1.0.Success", "Base.1.0.SuccessToo")).toBe(false);
    expect(messageIdMatches("Base.*", "Base.1.0.Success")).toBe(true);
    expect(messageIdMatches("Base.*", "BaseX.1.0.Success")).toBe(false);
    expect(messageIdMatches("*", "Anything.1.0.At.All")).toBe(true);
    expect(messageIdCovers("Base.*", "Base.1.*")).toBe(true);
    expect(messageIdCovers("Base.1.*", "Base.*")).toBe(false);
    expect(messageIdCovers("Base.1.0.Success", "Base.1.0.Success")).toBe(true);
    expect(messageIdCovers("Base.1.0.Success", "Base.1.0.Success*")).toBe(false);
  });

  it("applies the first matching rule only, and leaves unmatched events alone", () => {
    const errors = {
      MessageId: "ResourceEvent.1.4.ResourceErrorsDetected",
      MessageSeverity: "Warning",
      Severity: "Warning",
    };
    expect(applyEventPolicy(RULES, errors)).toEqual({
      record: { ...errors, MessageSeverity: "Critical", Severity: "Critical" },
      action: "handover",
      severity: "Critical",
      ruleIndex: 0,
    });
    const other = { MessageId: "ResourceEvent.1.4.ResourceCreated", MessageSeverity: "OK" };
    const decision = applyEventPolicy(RULES, other);
    expect(decision).toEqual({ record: other, action: "alert", severity: "OK", ruleIndex: 1 });
    expect(decision?.record).toBe(other);
    expect(applyEventPolicy(RULES, { MessageId: "Base.1.0.Success" })).toBeUndefined();
    expect(applyEventPolicy(RULES, { Message: "no id" })).toBeUndefined();
    expect(applyEventPolicy([], errors)).toBeUndefined();
  });
});

describe("the alert record", () => {
  it("is a Conclave registry event: the event's id and message, its origin when it has one, Warning by default", () => {
    const long = "x".repeat(CLUSTER_ALERT_MESSAGE_MAX_CHARACTERS + 10);
    const alert = clusterAlertRecord({ MessageId: "Vendor.1.0.Fan", Message: long }, undefined, () => new Date(0));
    expect(alert).toEqual({
      EventType: "Other",
      MemberId: "0",
      EventTimestamp: "1970-01-01T00:00:00.000Z",
      MessageId: "Conclave.1.0.ClusterAlert",
      Message: `Event Vendor.1.0.Fan of a member's BMC raised a cluster alert: ${long.slice(0, CLUSTER_ALERT_MESSAGE_MAX_CHARACTERS)}`,
      MessageArgs: ["Vendor.1.0.Fan", long.slice(0, CLUSTER_ALERT_MESSAGE_MAX_CHARACTERS)],
      MessageSeverity: "Warning",
      Resolution: expect.stringContaining("event policy"),
    });
    const critical = clusterAlertRecord(
      { MessageId: "Vendor.1.0.Fan", OriginOfCondition: { "@odata.id": "/redfish/v1/Chassis/chassis" } },
      "Critical",
    );
    expect(critical).toMatchObject({
      MessageSeverity: "Critical",
      OriginOfCondition: { "@odata.id": "/redfish/v1/Chassis/chassis" },
    });
  });
});

describe("the policy on the member, over the BMC simulator", () => {
  it("logs, alerts and asks for a hand-over as the rules say; the alert follows its event", async () => {
    const simulator: RunningSimulator = await startSimulator({ port: 0, host: "127.0.0.1", logger: false });
    cleanups.push(() => simulator.close());
    const credentials = bmcCredentials("admin", "admin");
    const client = createBmcClient({ redfishUrl: simulator.url, credentials, authMode: "basic" });
    const logged: { level: string; object: unknown; message: string | undefined }[] = [];
    const note =
      (level: string) =>
      (object: unknown, message?: string): void =>
        void logged.push({ level, object, message });
    const logger: AgentLogger = { debug: () => {}, info: note("info"), warn: note("warn"), error: note("error") };
    const handovers: HandoverEvent[] = [];
    const events = attachMemberEvents({
      rpc: { register: () => {}, unregister: () => {} },
      bmc: { client, stream: { redfishUrl: simulator.url, credentials: () => credentials } },
      isMember: () => true,
      timing: FAST,
      logger,
      policy: RULES,
      onHandoverEvent: (event) => void handovers.push(event),
    });
    cleanups.push(async () => {
      await events.close();
      await client.close();
    });
    await until(() => (events.sourceStatus()?.connected ? true : undefined), "the stream to open");
    const submit = async (body: Record<string, unknown>): Promise<void> => {
      const answer = await fetch(`${simulator.url}/redfish/v1/EventService/Actions/EventService.SubmitTestEvent`, {
        method: "POST",
        headers: {
          authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}`,
          "content-type": "application/json",
        },
        body: JSON.stringify(body),
      });
      expect(answer.status).toBe(204);
    };
    await submit({ MessageId: "Test.1.0.Plain", MessageSeverity: "Warning" });
    await submit({ MessageId: "Test.1.0.Noted", MessageSeverity: "Critical", Message: "noted" });
    await submit({
      MessageId: "ResourceEvent.1.4.ResourceCreated",
      MessageSeverity: "OK",
      Message: "created",
      OriginOfCondition: "/redfish/v1/Systems/system",
    });
    await submit({
      MessageId: "ResourceEvent.1.4.ResourceErrorsDetected",
      MessageSeverity: "Warning",
      Message: "errors",
      OriginOfCondition: "/redfish/v1/Chassis/chassis",
    });
    // Four events, two of them followed by their alert.
    await until(() => (events.buffer.head().seq >= 6 ? true : undefined), "six records");
    const answer = await events.pullLocal({ after: null, max: 10, waitMs: 0 }, new AbortController().signal);
    const records = answer.events.map((event) => event.record);
    expect(answer.events.map((event) => event.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(records.map((record) => [record.MessageId, record.MessageSeverity])).toEqual([
      ["Test.1.0.Plain", "Warning"],
      ["Test.1.0.Noted", "OK"],
      ["ResourceEvent.1.4.ResourceCreated", "OK"],
      ["Conclave.1.0.ClusterAlert", "OK"],
      ["ResourceEvent.1.4.ResourceErrorsDetected", "Critical"],
      ["Conclave.1.0.ClusterAlert", "Critical"],
    ]);
    expect(records[3]).toMatchObject({
      MessageArgs: ["ResourceEvent.1.4.ResourceCreated", "created"],
      Message: "Event ResourceEvent.1.4.ResourceCreated of a member's BMC raised a cluster alert: created",
      OriginOfCondition: { "@odata.id": "/redfish/v1/Systems/system" },
      EventTimestamp: records[2]?.EventTimestamp,
    });
    expect(records[5]).toMatchObject({ OriginOfCondition: { "@odata.id": "/redfish/v1/Chassis/chassis" } });

    expect(handovers).toHaveLength(1);
    expect(handovers[0]).toMatchObject({
      messageId: "ResourceEvent.1.4.ResourceErrorsDetected",
      severity: "Critical",
      ruleIndex: 0,
    });
    const policyLines = logged.filter((line) => line.message?.includes("events.policy"));
    expect(policyLines.map((line) => [line.level, line.message])).toEqual([
      ["info", "BMC event (events.policy: log)"],
      ["warn", "BMC event raised a cluster alert (events.policy: alert)"],
      ["warn", "BMC event calls for a leadership hand-over (events.policy: handover)"],
    ]);
    expect(policyLines[0]?.object).toMatchObject({ messageId: "Test.1.0.Noted", severity: "OK", rule: 2 });
  });

  it("keeps the event and its alert when the hand-over callback throws", async () => {
    const simulator: RunningSimulator = await startSimulator({ port: 0, host: "127.0.0.1", logger: false });
    cleanups.push(() => simulator.close());
    const credentials = bmcCredentials("admin", "admin");
    const client = createBmcClient({ redfishUrl: simulator.url, credentials, authMode: "basic" });
    const events = attachMemberEvents({
      rpc: { register: () => {}, unregister: () => {} },
      bmc: { client, stream: { redfishUrl: simulator.url, credentials: () => credentials } },
      isMember: () => true,
      timing: FAST,
      policy: [{ messageId: "*", action: "handover" }],
      onHandoverEvent: () => {
        throw new Error("no leader");
      },
    });
    cleanups.push(async () => {
      await events.close();
      await client.close();
    });
    await until(() => (events.sourceStatus()?.connected ? true : undefined), "the stream to open");
    await fetch(`${simulator.url}/redfish/v1/EventService/Actions/EventService.SubmitTestEvent`, {
      method: "POST",
      headers: {
        authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ MessageId: "Test.1.0.Any" }),
    });
    await until(() => (events.buffer.head().seq >= 2 ? true : undefined), "the event and its alert");
    const answer = await events.pullLocal({ after: null, max: 10, waitMs: 0 }, new AbortController().signal);
    expect(answer.events.map((event) => event.record.MessageId)).toEqual(["Test.1.0.Any", "Conclave.1.0.ClusterAlert"]);
  });
});
