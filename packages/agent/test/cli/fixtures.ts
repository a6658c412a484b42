// Control documents as the daemon would send them, for the CLI's rendering and command tests.
import type {
  ChangeResult,
  HistoryDocument,
  MemberStatus,
  MembersDocument,
  StatusDocument,
  TransferLeadershipResult,
} from "../../src/control/control-protocol.ts";

export const ID_1 = "12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1";
export const ID_2 = "12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB2";
export const ID_3 = "12D3KooWCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCC3";

const member = (overrides: Partial<MemberStatus> & Pick<MemberStatus, "id" | "name">): MemberStatus => ({
  addresses: [],
  role: "voter",
  drained: false,
  priority: 50,
  labels: {},
  isPoC: false,
  health: { level: "ok", reasons: [] },
  lastContactMs: 40,
  replicationLag: 0,
  ...overrides,
});

export const MEMBERS: readonly MemberStatus[] = [
  member({
    id: ID_1,
    name: "bmc1",
    isPoC: true,
    addresses: ["/ip4/10.0.0.1/tcp/7420"],
    labels: { slot: "1", chassis: "c1" },
    priority: 60,
    lastContactMs: null,
  }),
  member({
    id: ID_2,
    name: "bmc2",
    addresses: ["/ip4/10.0.0.2/tcp/7420", "/ip6/fd00::2/tcp/7420"],
    health: { level: "warning", reasons: ["cpu 93% >= 90%"] },
    lastContactMs: 2_150,
    replicationLag: 12,
  }),
  member({ id: ID_3, name: "bmc3", role: "witness", drained: true, health: { level: "critical", reasons: [] } }),
];

export const STATUS: StatusDocument = {
  apiVersion: 1,
  cluster: { name: "rack-a", uuid: "5f0c6a8e-1d2b-4c3d-9e4f-0a1b2c3d4e5f" },
  node: { id: ID_1, name: "bmc1", role: "voter", raftRole: "leader", drained: false },
  term: 7,
  pocId: ID_1,
  lease: { heldHere: true, msLeft: 312 },
  vip: { mode: "interface", address: "10.0.0.100", heldHere: true },
  commitIndex: 1234,
  appliedIndex: 1234,
  members: MEMBERS,
  warnings: ["bmc3 is drained: it will not become PoC"],
};

/** The same cluster seen from a follower while no PoC holds the lease. */
export const STATUS_NO_POC: StatusDocument = {
  ...STATUS,
  node: { id: ID_2, name: "bmc2", role: "voter", raftRole: "candidate", drained: false },
  pocId: null,
  lease: { heldHere: false, msLeft: 0 },
  vip: { mode: "interface", address: "10.0.0.100", heldHere: false },
  members: MEMBERS.map((entry) => ({ ...entry, isPoC: false, lastContactMs: null, replicationLag: null })),
  warnings: [],
};

export const MEMBERS_DOCUMENT: MembersDocument = { members: MEMBERS };

export const HISTORY: HistoryDocument = {
  history: [
    { term: 1, pocId: ID_2, atMs: Date.UTC(2026, 10, 23, 22, 0, 0), reason: "bootstrap" },
    { term: 7, pocId: ID_1, atMs: Date.UTC(2026, 10, 24, 0, 31, 2, 450), reason: "transfer requested by operator" },
  ],
};

export const TRANSFER: TransferLeadershipResult = { previousPocId: ID_1, pocId: ID_2, term: 8, tookMs: 142 };

export const CHANGED: ChangeResult = { ok: true, message: "bmc2 is drained; it will not become PoC" };
