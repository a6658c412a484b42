// The VIP watch counts two holders only when two really held the VIP: a dead BMC's address that
// the rack removed while its link was down must not count once the link is up again, even when no
// monitor saw it go (the BMC's death killed its monitor with everything else in the namespace).
import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { rackSupportProblem, run } from "./network.ts";
import { VipWatch } from "./vip-watch.ts";

const problem = rackSupportProblem();
const namespace = `cvw${process.pid.toString(36)}${randomBytes(2).toString("hex")}`;
const VIP = "10.77.0.100";

afterAll(() => {
  run(["ip", "netns", "del", namespace], { allowFail: true });
});

describe.skipIf(problem !== undefined)(`VIP watch${problem ? ` (skipped: ${problem})` : ""}`, () => {
  it("reads what a namespace holds when its link comes up again", () => {
    run(["ip", "netns", "add", namespace]);
    run(["ip", "-n", namespace, "link", "add", "eth0", "type", "veth", "peer", "name", "eth1"]);
    run(["ip", "-n", namespace, "addr", "add", "10.77.0.1/24", "dev", "eth0"]);
    run(["ip", "-n", namespace, "link", "set", "eth0", "up"]);
    const watch = new VipWatch(VIP);
    try {
      // The dead BMC held the VIP when its link went down; the new PoC holds it now.
      const atMs = Date.now() - 1_000;
      watch.record({ atMs, namespace, kind: "vip-add" });
      watch.record({ atMs: atMs + 1, namespace, kind: "link-down" });
      watch.record({ atMs: atMs + 2, namespace: "new-poc", kind: "vip-add" });
      // The rack removed the dead BMC's address (here: it never had it) and brings the link up.
      watch.linkUp(namespace);
      expect(watch.overlaps("live")).toEqual([]);
      expect(watch.holdersNow().live).toEqual(["new-poc"]);

      // An address that is really there when the link comes up is a second holder.
      run(["ip", "-n", namespace, "addr", "add", `${VIP}/24`, "dev", "eth0"]);
      watch.record({ atMs: Date.now(), namespace, kind: "link-down" });
      watch.linkUp(namespace);
      expect(watch.holdersNow().live.sort()).toEqual([namespace, "new-poc"].sort());
      expect(watch.overlaps("live")).toHaveLength(1);
    } finally {
      watch.stop();
    }
  });
});
