// Proves `events.policy` is read as the ordered rule table the member applies, and that bad rules
// are config errors naming the key and the rule's index: bad messageId, action or severity, an
// unknown key in a rule, more than EVENT_POLICY_RULES_MAX rules, a rule an earlier one shadows.
import { describe, expect, it } from "vitest";
import { EVENT_POLICY_RULES_MAX } from "../../src/config/schema.ts";
import { ConfigError, parseConfig } from "../../src/index.ts";

const FILE = "/etc/conclave/conclave.json";
const BASE = { clusterName: "rack-a" };

function parse(events: unknown) {
  return parseConfig(JSON.stringify({ ...BASE, events }), { file: FILE }).config;
}

function problemsOf(events: unknown): readonly string[] {
  try {
    parse(events);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  throw new Error("expected the config to be rejected");
}

describe("config: events.policy", () => {
  it("keeps the rules in order, with their severities and actions", () => {
    const config = parse({
      policy: [
        { messageId: "ResourceEvent.1.4.ResourceErrorsDetected", severity: "Critical", action: "handover" },
        { messageId: "OpenBMC.0.4.*", action: "alert" },
        { messageId: "*", action: "log" },
      ],
    });
    expect(config.events?.policy).toEqual([
      { messageId: "ResourceEvent.1.4.ResourceErrorsDetected", severity: "Critical", action: "handover" },
      { messageId: "OpenBMC.0.4.*", action: "alert" },
      { messageId: "*", action: "log" },
    ]);
  });

  it("is optional, and an empty table is allowed", () => {
    expect(parse(undefined).events).toBeUndefined();
    expect(parse({}).events?.policy).toEqual([]);
  });

  it("names the key and index of each bad rule", () => {
    const problems = problemsOf({
      policy: [
        { messageId: "Resource*Event", action: "log" },
        { messageId: "Base.1.0.Success", action: "reboot" },
        { messageId: "Base.1.0.Failure", severity: "Fatal", action: "alert" },
        { messageId: "Base.1.0.Other", action: "log", color: "red" },
        { action: "log" },
      ],
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('"events.policy.0.messageId" must be a message id such as'),
        expect.stringContaining('"events.policy.1.action"'),
        expect.stringContaining('"events.policy.2.severity"'),
        expect.stringContaining('unknown key "events.policy.3.color"'),
        expect.stringContaining('missing required key "events.policy.4.messageId"'),
      ]),
    );
  });

  it(`refuses more than ${EVENT_POLICY_RULES_MAX} rules`, () => {
    const policy = Array.from({ length: EVENT_POLICY_RULES_MAX + 1 }, (_, i) => ({
      messageId: `Vendor.1.0.Message${i}`,
      action: "log",
    }));
    expect(problemsOf({ policy })).toEqual([expect.stringContaining('"events.policy"')]);
    expect(parse({ policy: policy.slice(0, EVENT_POLICY_RULES_MAX) }).events?.policy).toHaveLength(
      EVENT_POLICY_RULES_MAX,
    );
  });

  it("refuses a rule an earlier one always matches first, naming both", () => {
    expect(
      problemsOf({
        policy: [
          { messageId: "ResourceEvent.*", action: "alert" },
          { messageId: "ResourceEvent.1.4.ResourceErrorsDetected", action: "handover" },
          { messageId: "Base.1.0.Success", action: "log" },
          { messageId: "Base.1.0.Success", action: "alert" },
        ],
      }),
    ).toEqual([
      '"events.policy.1": "ResourceEvent.1.4.ResourceErrorsDetected" is always matched first by "events.policy.0" ("ResourceEvent.*"): it would never apply',
      '"events.policy.3": "Base.1.0.Success" is always matched first by "events.policy.2" ("Base.1.0.Success"): it would never apply',
    ]);
    // The narrower rule first is what a first-match table wants.
    expect(
      parse({
        policy: [
          { messageId: "ResourceEvent.1.4.ResourceErrorsDetected", action: "handover" },
          { messageId: "ResourceEvent.*", action: "alert" },
        ],
      }).events?.policy,
    ).toHaveLength(2);
  });
});
