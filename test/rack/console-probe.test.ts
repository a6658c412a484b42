// The bench's failover figure: the console's outage by when answers arrived, so a request made
// during the outage and answered late (queued until the VIP moved) still counts.
import { describe, expect, it } from "vitest";
import { outageAround, type ProbeRecord } from "./console-probe.ts";

const ok = (atMs: number, ms: number): ProbeRecord => ({ atMs, ok: true, status: 200, ms });
const failed = (atMs: number, ms: number): ProbeRecord => ({ atMs, ok: false, status: 0, ms });

describe("outageAround", () => {
  it("runs from the last answer before the fault to the first answer to a request made after it", () => {
    const records = [ok(900, 5), ok(980, 5), failed(1_000, 1_000), ok(1_020, 300), ok(1_040, 270), ok(1_400, 4)];
    // The fault at 1000: last answer at 985; the first answer to a later request at 1310.
    expect(outageAround(records, 1_000)).toBe(1_310 - 985);
  });

  it("counts a late success as an outage although no attempt failed", () => {
    const records = [ok(980, 5), ok(1_000, 350), ok(1_020, 330), ok(1_360, 5)];
    expect(outageAround(records, 995)).toBe(1_350 - 985);
  });

  it("is undefined until a request made after the fault was answered", () => {
    expect(outageAround([ok(980, 5), failed(1_000, 1_000)], 990)).toBeUndefined();
    // A request made before the fault and answered after it does not end the outage.
    expect(outageAround([ok(980, 500)], 990)).toBeUndefined();
  });
});
