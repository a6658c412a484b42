// Proves member names: a node name is made valid deterministically from any host name; a clash is resolved the same way on every PoC whatever the member order (the first to join keeps the name, the others get their id's end), case-insensitively, and the results always match the facade's MEMBER_NAME_PATTERN; each clash is described in one status warning.
import { MEMBER_NAME_PATTERN } from "@conclave/redfish-facade";
import { describe, expect, it } from "vitest";
import { NODE_NAME_PATTERN, sanitizeNodeName } from "../../src/config/node-name.ts";
import { assignMemberNames, describeNameClashes, requestedName } from "../../src/facade-host/member-names.ts";

const member = (id: string, name: string | undefined, joinedAtMs: number) => ({
  id,
  labels: (name === undefined ? {} : { name }) as Record<string, string>,
  joinedAtMs,
});

describe("node names", () => {
  it("follow the facade's pattern", () => {
    expect(NODE_NAME_PATTERN.source).toBe(MEMBER_NAME_PATTERN.source);
  });

  it("are made from host names deterministically", () => {
    expect(sanitizeNodeName("bmc1.rack-a.example.com")).toBe("bmc1");
    expect(sanitizeNodeName("BMC_slot_3")).toBe("BMC-slot-3");
    expect(sanitizeNodeName("--x__y--")).toBe("x-y");
    expect(sanitizeNodeName("___")).toBe("bmc");
    expect(sanitizeNodeName("")).toBe("bmc");
    expect(sanitizeNodeName("a".repeat(100))).toBe("a".repeat(63));
    for (const raw of ["ünïcödé-host", "a b c", "-", `${"x".repeat(70)}-y`]) {
      expect(sanitizeNodeName(raw)).toMatch(MEMBER_NAME_PATTERN);
    }
  });
});

describe("assignMemberNames", () => {
  const A = "12D3KooWAaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaAAAA1111";
  const B = "12D3KooWBbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbBBBB2222";
  const C = "12D3KooWCccccccccccccccccccccccccccccccccccccccccCCCC3333";
  const D = "12D3KooWDdddddddddddddddddddddddddddddddddddddddDDDD4444";

  it("keep unique names, and resolve clashes the same way in any order", () => {
    const members = [member(A, "bmc1", 10), member(B, "BMC1", 5), member(C, "bmc3", 1), member(D, undefined, 2)];
    const expected = new Map([
      [B, "BMC1"],
      [A, "bmc1-AAAA1111"],
      [C, "bmc3"],
      [D, "node-DDDD4444"],
    ]);
    for (const order of [members, [...members].reverse(), [members[2], members[0], members[3], members[1]]]) {
      const names = assignMemberNames(order as typeof members);
      expect(names.byId).toEqual(expected);
      expect(names.clashes).toEqual([{ name: "BMC1", memberIds: [B, A] }]);
    }
    expect(describeNameClashes(assignMemberNames(members))).toEqual([
      `2 members have nodeName "BMC1": ${B} is "BMC1", ${A} is "bmc1-AAAA1111"; set a unique nodeName on each`,
    ]);
    for (const name of expected.values()) expect(name).toMatch(MEMBER_NAME_PATTERN);
  });

  it("never hands out a name twice, even when a suffixed name is already taken", () => {
    const taken = `bmc-${A.slice(-8)}`;
    const names = assignMemberNames([member(B, "bmc", 1), member(A, "bmc", 2), member(C, taken, 0)]);
    const values = [...names.byId.values()];
    expect(new Set(values.map((v) => v.toLowerCase())).size).toBe(3);
    expect(names.byId.get(C)).toBe(taken);
    expect(names.byId.get(B)).toBe("bmc");
    expect(names.byId.get(A)).toBe(`bmc-${A.slice(-9)}`);
  });

  it("makes a reported name that is not valid into one", () => {
    expect(requestedName(member(A, "slot_1", 0))).toBe("slot-1");
    expect(requestedName(member(A, "", 0))).toBe("node-AAAA1111");
  });
});
