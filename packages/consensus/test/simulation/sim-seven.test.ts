// Proves the Raft core safe and live under random faults on 7 voters (one seed in four).
import { SHAPES } from "./cluster-simulator.ts";
import { describeRandomRuns } from "./sim-seeds.ts";

describeRandomRuns(SHAPES[3]!);
