// The config file's schema: the one place where keys, types, bounds, defaults and their
// descriptions live. Validation, the TypeScript type and the README's reference table all come from it.
import Type from "typebox";
import { DEFAULT_POC_NICE, DEFAULT_VOTER_NICE, NICE_MAX, NICE_MIN } from "../scheduling/voter-priority.ts";
import { NODE_NAME_PATTERN } from "./node-name.ts";
import { describeTimingProfile, TIMING_PROFILES } from "./timing.ts";

/** Where `conclaved` looks for its config when it is given none. */
export const DEFAULT_CONFIG_FILE = "/etc/conclave/conclave.yaml";
/** The port agents listen on and dial by default (TCP, libp2p). */
export const DEFAULT_P2P_PORT = 7420;
/** The port the PoC serves Redfish on at the VIP. */
export const DEFAULT_FACADE_PORT = 8443;
/** The facade's TLS certificate and key, next to the config (`conclave init` writes them). */
export const DEFAULT_FACADE_CERT_FILE = "facade.crt";
export const DEFAULT_FACADE_KEY_FILE = "facade.key";
/** The first administrator's credential, next to the config (`conclave init` writes it). */
export const DEFAULT_ADMIN_CREDENTIAL_FILE = "admin.yaml";
/** Where every node answers on its own address (followers redirect to the VIP). */
export const DEFAULT_NODE_HTTP = "0.0.0.0:8444";

const Percent = (description: string, defaultPercent: number) =>
  Type.Integer({ minimum: 1, maximum: 100, default: defaultPercent, description });

const Thresholds = (what: string, warningPercent: number, criticalPercent: number) =>
  Type.Object(
    {
      warningPercent: Percent(`${what} usage (percent) at which the node reports a warning`, warningPercent),
      criticalPercent: Percent(`${what} usage (percent) at which the node reports critical health`, criticalPercent),
      judged: Type.Boolean({
        default: true,
        description: `\`false\`: ${what.toLowerCase()} usage is still sampled and reported, but never makes the node unhealthy (a host shared with other load).`,
      }),
    },
    { additionalProperties: false, default: {} },
  );

/** Bounds of `powerSequence` (the facade's PowerSequenceConfig). */
export const POWER_SEQUENCE_GROUPS_MAX = 16;
export const POWER_GROUP_NAME_MAX_CHARS = 64;
export const POWER_GROUP_DELAY_SECONDS_MAX = 600;
/** Members named by one group, and labels one group matches on. */
export const POWER_GROUP_MEMBERS_MAX = 64;
export const POWER_GROUP_LABELS_MAX = 16;
/** Entries of `topology`'s three lists together (the facade's MAX_TOPOLOGY_ENTRIES). */
export const TOPOLOGY_ENTRIES_MAX = 1_024;
/** Extra managers or supplied systems named by one topology entry. */
export const TOPOLOGY_REFERENCES_MAX = 64;
/**
 * Chassis types of a topology enclosure: the facade's ENCLOSURE_CHASSIS_TYPES (repeated here so the
 * config is checked without loading the facade; test/operations/operations-config.test.ts proves they agree).
 */
export const TOPOLOGY_ENCLOSURE_TYPES = ["Rack", "RackGroup", "Enclosure", "Shelf", "Drawer", "Row", "Pod"] as const;
/** Rules of `events.policy`: looked through in order for every event of the BMC. */
export const EVENT_POLICY_RULES_MAX = 64;
/** The longest `messageId` a rule may name (registry prefix, version and key fit well within it). */
export const EVENT_POLICY_MESSAGE_ID_MAX_CHARS = 255;
/** What a policy rule does with a matching BMC event. */
export const EVENT_POLICY_ACTIONS = ["log", "alert", "handover"] as const;
/** The severities a rule may give an event (Redfish `MessageSeverity`). */
export const EVENT_POLICY_SEVERITIES = ["OK", "Warning", "Critical"] as const;
/**
 * A rule's `messageId`: an exact id (`ResourceEvent.1.4.ResourceErrorsDetected`), a prefix ending
 * in `*` (`ResourceEvent.*`, `OpenBMC.0.4.*`), or `*` alone for every event.
 */
export const EVENT_POLICY_MESSAGE_ID_PATTERN = /^(\*|[A-Za-z0-9][A-Za-z0-9._-]*\*?)$/;

const closed = { additionalProperties: false } as const;

const MemberResource = Type.Object(
  {
    member: Type.String({
      pattern: NODE_NAME_PATTERN.source,
      expected: 'a member name (its nodeName), e.g. "bmc1"',
      description: "The member's name (nodeName).",
    }),
    id: Type.String({
      minLength: 1,
      maxLength: 255,
      pattern: "^[^/\\\\]+$",
      expected: 'the resource id in the member\'s own collection, without "/", e.g. "chassis"',
      description: "The resource's id in the member's own collection.",
    }),
  },
  { ...closed, expected: 'a member resource { member: "<nodeName>", id: "<id>" }' },
);

const MemberResources = Type.Array(MemberResource, { maxItems: TOPOLOGY_REFERENCES_MAX });

const Multiaddr = (description: string) =>
  Type.String({ minLength: 1, description, examples: [`/ip4/10.0.0.2/tcp/${DEFAULT_P2P_PORT}`] });

export const ConfigSchema = Type.Object(
  {
    clusterName: Type.String({
      pattern: "^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$",
      expected: 'a name of lower-case letters, digits and inner hyphens, at most 32 characters, e.g. "rack-a"',
      description:
        "Name of the cluster, the same on every node: lower-case letters, digits and inner hyphens, at most 32 characters. It names the mDNS service.",
      examples: ["rack-a"],
    }),
    listen: Type.Array(Multiaddr("A multiaddr to listen on for other agents (TCP)."), {
      minItems: 1,
      maxItems: 8,
      default: [`/ip4/0.0.0.0/tcp/${DEFAULT_P2P_PORT}`],
      description: "Multiaddrs the agent listens on for other agents.",
    }),
    interface: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 15,
        description: "Network interface of the cluster network: where the VIP is added in `interface` mode.",
        examples: ["eth0"],
      }),
    ),
    vip: Type.Object(
      {
        mode: Type.Enum(["interface", "loopback", "none"], {
          default: "none",
          description:
            "`interface`: the PoC adds the VIP to `interface` and announces it (needs root). `loopback`: the PoC binds its Redfish listener to an address in 127.0.0.0/8 (no root; for demos and tests). `none`: no VIP.",
        }),
        address: Type.Optional(
          Type.String({
            minLength: 1,
            description: "The floating address the PoC holds (IPv4 or IPv6). Required unless `vip.mode` is `none`.",
            examples: ["10.0.0.100"],
          }),
        ),
        prefix: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 128,
            description: "Prefix length of the VIP on the interface. Default: 24 for IPv4, 64 for IPv6.",
          }),
        ),
      },
      { additionalProperties: false, default: {}, description: "The floating address that follows the PoC." },
    ),
    facadePort: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: DEFAULT_FACADE_PORT,
      description: "TCP port the PoC serves Redfish on at the VIP (HTTPS with `facadeTls`). The same on every node.",
    }),
    facadeTls: Type.Object(
      {
        enabled: Type.Optional(
          Type.Boolean({
            description:
              "`true`: serve HTTPS, and refuse to start without a valid certificate and key. `false`: serve plain HTTP (tests, demos). Unset: HTTPS when both files exist, else plain HTTP with a warning.",
          }),
        ),
        certFile: Type.String({
          minLength: 1,
          default: DEFAULT_FACADE_CERT_FILE,
          description:
            "PEM certificate (chain) the PoC serves on the VIP, the same on every node. `conclave init` writes a self-signed one for the VIP address and the cluster name. Read again at every claim of the VIP and on SIGHUP: a replaced file is served from then on.",
        }),
        keyFile: Type.String({
          minLength: 1,
          default: DEFAULT_FACADE_KEY_FILE,
          description: "PEM private key of `facadeTls.certFile`, mode 0600, the same on every node.",
        }),
      },
      { additionalProperties: false, default: {}, description: "TLS of the Redfish facade on the VIP." },
    ),
    adminCredentialFile: Type.String({
      minLength: 1,
      default: DEFAULT_ADMIN_CREDENTIAL_FILE,
      description:
        "The first Redfish administrator (user name and scrypt hash of the password, mode 0600), written by `conclave init`, the same file on every node. The PoC commits it as the first account while the cluster has none; afterwards it is not read.",
    }),
    nodeName: Type.Optional(
      Type.String({
        pattern: NODE_NAME_PATTERN.source,
        expected:
          'a name of letters, digits and inner hyphens, at most 63 characters, starting with a letter or digit (no "_"), e.g. "bmc1"',
        description:
          "This node's name, unique in the cluster: the facade prefixes its Redfish resources with it (`<nodeName>_<id>`) and the CLI accepts it for NODE. Default: the host name's first label, cut to fit. A clash is resolved by the PoC (the first to join keeps the name, the others get their id's end appended) and logged.",
        examples: ["bmc1"],
      }),
    ),
    nodeHttp: Type.String({
      minLength: 1,
      default: DEFAULT_NODE_HTTP,
      expected: 'an address and port, e.g. "0.0.0.0:8444" or "[::]:8444" (port 0: any free port)',
      description:
        "Address and port where this node answers on its own address: a follower redirects to the VIP (307), or answers 503 with Retry-After while there is no PoC. Must not be the VIP's port on an address that covers the VIP.",
      examples: [DEFAULT_NODE_HTTP],
    }),
    peers: Type.Array(
      Multiaddr("A peer to dial: a multiaddr, with or without `/p2p/<peer id>` (ids differ per node)."),
      {
        maxItems: 64,
        default: [],
        description:
          "Static peers dialled at start and re-dialled with back-off, for networks where mDNS does not reach. May include this node's own address: it is skipped.",
      },
    ),
    mdns: Type.Boolean({ default: true, description: "Find other agents on the local link with mDNS." }),
    timing: Type.Enum(["lan", "fast"], {
      default: "lan",
      description: `Raft timing profile. ${TIMING_PROFILES.map((profile) => `\`${profile}\`: ${describeTimingProfile(profile)}.`).join(" ")} \`fast\` suits a quiet dedicated network.`,
    }),
    secretFile: Type.String({
      minLength: 1,
      default: "/etc/conclave/cluster.key",
      description:
        "The cluster secret (libp2p pre-shared key), the same file on every node, mode 0600. `conclave init` writes one.",
    }),
    stateDir: Type.String({
      minLength: 1,
      default: "/var/lib/conclave",
      description: "Where the node key and the Raft log live. Keep it on persistent storage.",
    }),
    bmc: Type.Object(
      {
        redfishUrl: Type.String({
          pattern: "^https?://",
          expected: 'an http or https URL, e.g. "https://127.0.0.1"',
          default: "https://127.0.0.1",
          description: "Base URL of this node's own BMC Redfish service (bmcweb on localhost).",
        }),
        credentialsFile: Type.String({
          minLength: 1,
          default: "/etc/conclave/bmc-credentials",
          description: "File holding this BMC's Redfish username and password, mode 0600. Never shared between nodes.",
        }),
        verifyTls: Type.Boolean({
          default: true,
          description: "Verify the local BMC's TLS certificate. bmcweb's self-signed certificate needs `false`.",
        }),
        connectTimeoutMs: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          default: 2_000,
          description: "Time allowed to connect to the local BMC.",
        }),
        requestTimeoutMs: Type.Integer({
          minimum: 100,
          maximum: 600_000,
          default: 10_000,
          description: "Time allowed for one request to the local BMC.",
        }),
      },
      { additionalProperties: false, default: {}, description: "This node's own BMC." },
    ),
    role: Type.Enum(["voter", "witness"], {
      default: "voter",
      description: "`voter`: may become PoC. `witness`: votes, never leads (the third vote of a two-BMC group).",
    }),
    priority: Type.Integer({
      minimum: 0,
      maximum: 100,
      default: 50,
      description: "Preference for PoC among healthy nodes: higher wins. 0 means only when nobody else can.",
    }),
    labels: Type.Object(
      {
        slot: Type.Optional(Type.String({ maxLength: 64, description: "Slot of this BMC in its chassis." })),
        chassis: Type.Optional(Type.String({ maxLength: 64, description: "Chassis this BMC belongs to." })),
      },
      {
        additionalProperties: Type.String({ maxLength: 256 }),
        maxProperties: 32,
        default: {},
        description:
          "Labels shown in status and used by operators; any other key is a free-form label. Keys starting with `conclave.` are the agent's own. `name` is the former spelling of `nodeName`.",
      },
    ),
    bootstrapExpect: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 3,
      description:
        "How many nodes must have found each other before the first cluster is formed. Set it the same on every node; a node that already has state never bootstraps again.",
    }),
    maxVoters: Type.Integer({
      minimum: 1,
      maximum: 15,
      default: 5,
      description: "At most this many voters; further members stay learners. Odd numbers are recommended.",
    }),
    voterNice: Type.Integer({
      minimum: NICE_MIN,
      maximum: NICE_MAX,
      default: DEFAULT_VOTER_NICE,
      description:
        "Scheduling priority (nice) of the agent's threads while this node is a voter: the PoC's lease depends on voters answering on time, even on a busy BMC. A learner runs at the priority the agent started with. Raising it needs CAP_SYS_NICE (the systemd unit grants it); without it the agent warns once and runs as it is.",
    }),
    pocNice: Type.Integer({
      minimum: NICE_MIN,
      maximum: NICE_MAX,
      default: DEFAULT_POC_NICE,
      description:
        "Scheduling priority (nice) of the agent's threads while this node is the PoC: it serves the console, and it drops the VIP when its own loop waits for CPU past its lease. Never weaker than voterNice. Raising it needs CAP_SYS_NICE, like voterNice.",
    }),
    cleanupDeadMembers: Type.Boolean({
      default: false,
      description: "Remove a dead member automatically (never below a safe quorum). Otherwise it is only reported.",
    }),
    powerSequence: Type.Optional(
      Type.Object(
        {
          groups: Type.Array(
            Type.Object(
              {
                name: Type.String({ minLength: 1, maxLength: POWER_GROUP_NAME_MAX_CHARS }),
                members: Type.Optional(
                  Type.Array(
                    Type.String({
                      pattern: NODE_NAME_PATTERN.source,
                      expected: 'a member name (its nodeName), e.g. "bmc1"',
                    }),
                    { maxItems: POWER_GROUP_MEMBERS_MAX },
                  ),
                ),
                labels: Type.Optional(
                  Type.Record(Type.String({ maxLength: 64 }), Type.String({ maxLength: 256 }), {
                    maxProperties: POWER_GROUP_LABELS_MAX,
                  }),
                ),
                delayAfterSeconds: Type.Number({ minimum: 0, maximum: POWER_GROUP_DELAY_SECONDS_MAX, default: 0 }),
              },
              { ...closed, expected: "a group { name, members and/or labels, delayAfterSeconds }" },
            ),
            {
              minItems: 1,
              maxItems: POWER_SEQUENCE_GROUPS_MAX,
              description: `The power-on order of member groups for aggregated resets (\`Aggregate.Reset\`, \`AggregationService.Reset\`), at most ${POWER_SEQUENCE_GROUPS_MAX}, first on first; power-off runs them in reverse. Each group: \`name\` (unique, at most ${POWER_GROUP_NAME_MAX_CHARS} characters), \`members\` (nodeNames) and/or \`labels\` (every member whose labels include all of these), \`delayAfterSeconds\` (0 to ${POWER_GROUP_DELAY_SECONDS_MAX}: the wait after the group is on before the next starts; off: before the previous goes off). Members in no group come last (on) and first (off). A failure in one group stops the sequence. Required once \`powerSequence\` is set.`,
            },
          ),
        },
        {
          ...closed,
          description: "Power sequencing across BMC boundaries. Shared by every node. Unset: no order.",
        },
      ),
    ),
    topology: Type.Optional(
      Type.Object(
        {
          enclosures: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  id: Type.String({
                    pattern: "^[A-Za-z0-9][A-Za-z0-9-]{0,62}$",
                    expected: 'an id of letters, digits and inner hyphens (no "_"), e.g. "rack1"',
                  }),
                  name: Type.String({ minLength: 1, maxLength: 255 }),
                  chassisType: Type.Enum([...TOPOLOGY_ENCLOSURE_TYPES]),
                  containedBy: Type.Optional(Type.String({ minLength: 1, maxLength: 63 })),
                },
                { ...closed, expected: "an enclosure { id, name, chassisType, containedBy? }" },
              ),
              {
                maxItems: TOPOLOGY_ENTRIES_MAX,
                description: `Chassis the facade serves itself (\`/redfish/v1/Chassis/<id>\`): \`id\`, \`name\`, \`chassisType\` (one of ${TOPOLOGY_ENCLOSURE_TYPES.join(", ")}), \`containedBy\` (another enclosure's id).`,
              },
            ),
          ),
          chassis: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  chassis: MemberResource,
                  containedBy: Type.Union(
                    [
                      Type.Object({ enclosure: Type.String({ minLength: 1, maxLength: 63 }) }, closed),
                      Type.Object({ chassis: MemberResource }, closed),
                    ],
                    { expected: '{ enclosure: "<id>" } or { chassis: { member, id } }' },
                  ),
                  managedBy: Type.Optional(MemberResources),
                },
                { ...closed, expected: "a placement { chassis, containedBy, managedBy? }" },
              ),
              {
                maxItems: TOPOLOGY_ENTRIES_MAX,
                description:
                  "Where member chassis sit: `chassis` ({ member: nodeName, id }), `containedBy` ({ enclosure: id } or { chassis: { member, id } }), `managedBy` (other members' managers).",
              },
            ),
          ),
          systems: Type.Optional(
            Type.Array(
              Type.Object(
                {
                  system: MemberResource,
                  managedBy: Type.Optional(MemberResources),
                  supplies: Type.Optional(MemberResources),
                },
                { ...closed, expected: "system links { system, managedBy?, supplies? }" },
              ),
              {
                maxItems: TOPOLOGY_ENTRIES_MAX,
                description:
                  "Links between member systems: `system` ({ member, id }), `managedBy` (other members' managers), `supplies` (systems this one supplies, e.g. a DPU's host).",
              },
            ),
          ),
        },
        {
          ...closed,
          description: `One Redfish tree across BMC boundaries (\`ContainedBy\`/\`Contains\`, \`ManagedBy\`, \`SupplyingComputerSystems\` links). Shared by every node; at most ${TOPOLOGY_ENTRIES_MAX} entries in all.`,
        },
      ),
    ),
    events: Type.Optional(
      Type.Object(
        {
          policy: Type.Array(
            Type.Object(
              {
                messageId: Type.String({
                  minLength: 1,
                  maxLength: EVENT_POLICY_MESSAGE_ID_MAX_CHARS,
                  pattern: EVENT_POLICY_MESSAGE_ID_PATTERN.source,
                  expected:
                    'a message id such as "ResourceEvent.1.4.ResourceErrorsDetected", a prefix ending in "*" such as "ResourceEvent.*", or "*"',
                }),
                severity: Type.Optional(Type.Enum([...EVENT_POLICY_SEVERITIES])),
                action: Type.Enum([...EVENT_POLICY_ACTIONS]),
              },
              { ...closed, expected: 'a rule { messageId, severity?, action: "log" | "alert" | "handover" }' },
            ),
            {
              maxItems: EVENT_POLICY_RULES_MAX,
              default: [],
              description: `What each node does with its own BMC's events, as ibmcrassd's policy table: at most ${EVENT_POLICY_RULES_MAX} rules, the first whose \`messageId\` matches the event's \`MessageId\` wins (an exact id, a prefix ending in \`*\`, or \`*\` for all). \`severity\` (${EVENT_POLICY_SEVERITIES.join(", ")}) replaces the event's \`MessageSeverity\`. \`action\`: \`log\` writes the event to the agent's log; \`alert\` adds a \`Conclave.1.0.ClusterAlert\` event right after it in the EventService stream; \`handover\` does the same and, on the PoC, hands leadership to the healthiest other voter (reason \`health\`). Events no rule matches pass unchanged.`,
            },
          ),
          allowPrivateDestinations: Type.Boolean({
            default: true,
            description:
              "Whether push subscriptions (EventDestination) may deliver to loopback, link-local and private (RFC 1918, ULA) addresses, or to names resolving to one. A BMC management network is private, so the default is true; false refuses such a Destination with a Redfish 400 and never delivers to one.",
          }),
        },
        {
          ...closed,
          description:
            "The per-site event policy and which push destinations are accepted. Shared by every node. Unset: every event passes unchanged, every destination is accepted.",
        },
      ),
    ),
    health: Type.Object(
      {
        cpu: Thresholds("CPU", 90, 98),
        memory: Thresholds("Memory", 85, 95),
        disk: Thresholds("State-directory disk", 85, 95),
        bmcUnreachableGraceMs: Type.Integer({
          minimum: 0,
          maximum: 600_000,
          default: 10_000,
          description: "How long the local BMC may fail to answer before the node reports critical health.",
        }),
      },
      { additionalProperties: false, default: {}, description: "Health thresholds." },
    ),
  },
  { additionalProperties: false },
);

/** The config as validated, with every default filled in. */
export type ConclaveConfig = Type.Static<typeof ConfigSchema> & {
  readonly labels: { readonly slot?: string; readonly chassis?: string; readonly [label: string]: string | undefined };
  /**
   * Not a key: false for a witness whose config (shared file and drop-in) has no `bmc` section,
   * i.e. a witness on a management host with no BMC to aggregate. Unset means true.
   */
  readonly hasBmc?: boolean;
  /** Not a key: the per-node drop-in merged over the file, when there was one. */
  readonly localFile?: string;
};

export type VipMode = ConclaveConfig["vip"]["mode"];
export type TimingProfileName = ConclaveConfig["timing"];
export type NodeRole = ConclaveConfig["role"];
