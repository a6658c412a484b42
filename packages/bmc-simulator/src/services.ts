// The services that behave (sessions, accounts, tasks, updates, events), laid over either
// tree: created for a generated tree, normalised for a mockup whose copies are static.
import { ACCOUNTS_URI, SESSION_SERVICE_URI, SESSIONS_URI } from "./auth.ts";
import type { ResolvedOptions } from "./options.ts";
import { isObject, type JsonValue, type Resource, type ResourceStore, SERVICE_ROOT } from "./store.ts";
import { TASKS_URI } from "./tasks.ts";

export const ACCOUNT_SERVICE_URI = "/redfish/v1/AccountService";
export const ROLES_URI = "/redfish/v1/AccountService/Roles";
export const TASK_SERVICE_URI = "/redfish/v1/TaskService";
export const UPDATE_SERVICE_URI = "/redfish/v1/UpdateService";
export const FIRMWARE_INVENTORY_URI = "/redfish/v1/UpdateService/FirmwareInventory";
export const MULTIPART_PUSH_URI = "/redfish/v1/UpdateService/update-multipart";
export const SIMPLE_UPDATE_URI = "/redfish/v1/UpdateService/Actions/UpdateService.SimpleUpdate";
export const EVENT_SERVICE_URI = "/redfish/v1/EventService";
export const SUBSCRIPTIONS_URI = "/redfish/v1/EventService/Subscriptions";
export const SSE_URI = "/redfish/v1/EventService/SSE";
export const SUBMIT_TEST_EVENT_URI = "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent";

const ROLE_PRIVILEGES: Record<string, string[]> = {
  Administrator: ["Login", "ConfigureManager", "ConfigureUsers", "ConfigureSelf", "ConfigureComponents"],
  Operator: ["Login", "ConfigureSelf", "ConfigureComponents"],
  ReadOnly: ["Login", "ConfigureSelf"],
};

function link(uri: string): { "@odata.id": string } {
  return { "@odata.id": uri };
}

function emptyCollection(uri: string, type: string, name: string): Resource {
  return { "@odata.type": `#${type}.${type}`, "@odata.id": uri, Name: name, Members: [], "Members@odata.count": 0 };
}

/** Puts a resource if absent, then lets `normalise` bring it (new or from a mockup) to what the simulator serves. */
function ensure(
  store: ResourceStore,
  uri: string,
  create: () => Resource,
  normalise: (r: Resource) => void = () => {},
): void {
  if (!store.has(uri)) store.put(create());
  store.update(uri, normalise);
}

/** Drops every member of a collection (and the member resources): mockup sessions and tasks are not live. */
function clearCollection(store: ResourceStore, uri: string): void {
  for (const member of store.members(uri)) {
    for (const key of store.uris()) if (key === member || key.startsWith(`${member}/`)) store.delete(key);
  }
  store.update(uri, (c) => {
    c.Members = [];
    c["Members@odata.count"] = 0;
  });
}

export function rootUri(store: ResourceStore): string {
  return store.peek(SERVICE_ROOT)?.["@odata.id"] === `${SERVICE_ROOT}/` ? `${SERVICE_ROOT}/` : SERVICE_ROOT;
}

export function installServices(store: ResourceStore, options: ResolvedOptions): void {
  ensure(
    store,
    SESSION_SERVICE_URI,
    () => ({
      "@odata.type": "#SessionService.v1_2_0.SessionService",
      "@odata.id": SESSION_SERVICE_URI,
      Id: "SessionService",
      Name: "Session Service",
      Description: "Session Service",
    }),
    (s) => {
      s.ServiceEnabled = true;
      s.SessionTimeout = options.sessionTimeoutSeconds;
      s.Status = { State: "Enabled", Health: "OK" };
      s.Sessions = link(SESSIONS_URI);
    },
  );
  // A mockup's sessions stay listed (other resources link to them) but have no token: nobody can use them.
  ensure(store, SESSIONS_URI, () => emptyCollection(SESSIONS_URI, "SessionCollection", "Session Collection"));

  ensure(
    store,
    ACCOUNT_SERVICE_URI,
    () => ({
      "@odata.type": "#AccountService.v1_18_1.AccountService",
      "@odata.id": ACCOUNT_SERVICE_URI,
      Id: "AccountService",
      Name: "Account Service",
      Description: "Account Service",
      MinPasswordLength: 4,
      MaxPasswordLength: 64,
      AccountLockoutThreshold: 0,
      AccountLockoutDuration: 0,
    }),
    (a) => {
      a.ServiceEnabled = true;
      a.Status = { State: "Enabled", Health: "OK" };
      a.Accounts = link(ACCOUNTS_URI);
      a.Roles = link(ROLES_URI);
    },
  );
  ensure(store, ACCOUNTS_URI, () => emptyCollection(ACCOUNTS_URI, "ManagerAccountCollection", "Accounts Collection"));
  ensure(store, ROLES_URI, () => emptyCollection(ROLES_URI, "RoleCollection", "Roles Collection"));
  for (const [roleId, privileges] of Object.entries(ROLE_PRIVILEGES)) {
    const uri = `${ROLES_URI}/${roleId}`;
    ensure(
      store,
      uri,
      () => ({
        "@odata.type": "#Role.v1_3_3.Role",
        "@odata.id": uri,
        Id: roleId,
        Name: "User Role",
        Description: `${roleId} User Role`,
        IsPredefined: true,
        AssignedPrivileges: privileges,
        OemPrivileges: [],
      }),
      (r) => {
        r.RoleId = roleId;
      },
    );
    store.addMember(ROLES_URI, uri);
  }
  for (const account of options.accounts) {
    const existing = store.members(ACCOUNTS_URI).find((uri) => store.peek(uri)?.UserName === account.userName);
    let uri = existing;
    if (uri === undefined) {
      let n = store.members(ACCOUNTS_URI).length + 1;
      while (store.has(`${ACCOUNTS_URI}/${n}`)) n++;
      uri = `${ACCOUNTS_URI}/${n}`;
      store.put({
        "@odata.type": "#ManagerAccount.v1_14_1.ManagerAccount",
        "@odata.id": uri,
        Id: String(n),
        Name: "User Account",
        Description: "User Account",
        UserName: account.userName,
        AccountTypes: ["Redfish"],
      });
      store.addMember(ACCOUNTS_URI, uri);
    }
    store.update(uri, (a) => {
      a.RoleId = account.roleId;
      a.Enabled = true;
      a.Locked = false;
      a.Password = null;
      a.Links = { ...(isObject(a.Links) ? a.Links : {}), Role: link(`${ROLES_URI}/${account.roleId}`) };
    });
  }

  ensure(
    store,
    TASK_SERVICE_URI,
    () => ({
      "@odata.type": "#TaskService.v1_3_0.TaskService",
      "@odata.id": TASK_SERVICE_URI,
      Id: "TaskService",
      Name: "Task Service",
    }),
    (t) => {
      t.ServiceEnabled = true;
      t.CompletedTaskOverWritePolicy = "Oldest";
      t.LifeCycleEventOnTaskStateChange = true;
      t.Status = { State: "Enabled", Health: "OK" };
      t.Tasks = link(TASKS_URI);
      delete t.DateTime;
    },
  );
  ensure(store, TASKS_URI, () => emptyCollection(TASKS_URI, "TaskCollection", "Task Collection"));
  clearCollection(store, TASKS_URI);

  ensure(store, FIRMWARE_INVENTORY_URI, () =>
    emptyCollection(FIRMWARE_INVENTORY_URI, "SoftwareInventoryCollection", "Software Inventory Collection"),
  );
  if (store.members(FIRMWARE_INVENTORY_URI).length === 0) inventoryFromManagers(store);
  ensure(
    store,
    UPDATE_SERVICE_URI,
    () => ({
      "@odata.type": "#UpdateService.v1_17_0.UpdateService",
      "@odata.id": UPDATE_SERVICE_URI,
      Id: "UpdateService",
      Name: "Update Service",
      Description: "Service for Software Update",
    }),
    (u) => {
      u.ServiceEnabled = true;
      u.Status = { State: "Enabled", Health: "OK" };
      u.FirmwareInventory = link(FIRMWARE_INVENTORY_URI);
      u.MultipartHttpPushUri = MULTIPART_PUSH_URI;
      u.MaxImageSizeBytes = options.limits.maxImageBytes;
      // The deprecated single-part push is not served, so it is not advertised.
      delete u.HttpPushUri;
      const actions = isObject(u.Actions) ? u.Actions : {};
      const simple = isObject(actions["#UpdateService.SimpleUpdate"]) ? actions["#UpdateService.SimpleUpdate"] : {};
      if (typeof simple.target !== "string") simple.target = SIMPLE_UPDATE_URI;
      if (typeof simple["@Redfish.ActionInfo"] !== "string") {
        simple["TransferProtocol@Redfish.AllowableValues"] = ["HTTP", "HTTPS", "SCP", "SFTP", "TFTP"];
      }
      actions["#UpdateService.SimpleUpdate"] = simple;
      u.Actions = actions;
    },
  );

  ensure(
    store,
    EVENT_SERVICE_URI,
    () => ({
      "@odata.type": "#EventService.v1_12_0.EventService",
      "@odata.id": EVENT_SERVICE_URI,
      Id: "EventService",
      Name: "Event Service",
      DeliveryRetryAttempts: 3,
      DeliveryRetryIntervalSeconds: 30,
    }),
    (e) => {
      e.ServiceEnabled = true;
      e.Status = { State: "Enabled", Health: "OK" };
      e.ServerSentEventUri = SSE_URI;
      e.EventFormatTypes = ["Event"];
      e.RegistryPrefixes = ["ResourceEvent", "TaskEvent", "Update"];
      e.SSEFilterPropertiesSupported = {
        EventFormatType: false,
        MessageId: false,
        MetricReportDefinition: false,
        OriginResource: false,
        RegistryPrefix: false,
        ResourceType: false,
      };
      e.Subscriptions = link(SUBSCRIPTIONS_URI);
      const actions = isObject(e.Actions) ? e.Actions : {};
      const submit = isObject(actions["#EventService.SubmitTestEvent"]) ? actions["#EventService.SubmitTestEvent"] : {};
      if (typeof submit.target !== "string") submit.target = SUBMIT_TEST_EVENT_URI;
      actions["#EventService.SubmitTestEvent"] = submit;
      e.Actions = actions;
    },
  );
  ensure(store, SUBSCRIPTIONS_URI, () =>
    emptyCollection(SUBSCRIPTIONS_URI, "EventDestinationCollection", "Event Subscriptions Collection"),
  );

  store.update(SERVICE_ROOT, (root) => {
    root.SessionService = link(SESSION_SERVICE_URI);
    root.AccountService = link(ACCOUNT_SERVICE_URI);
    root.Tasks = link(TASK_SERVICE_URI);
    root.UpdateService = link(UPDATE_SERVICE_URI);
    root.EventService = link(EVENT_SERVICE_URI);
    root.Links = { ...(isObject(root.Links) ? root.Links : {}), Sessions: link(SESSIONS_URI) };
    // Claim only what this service does.
    root.ProtocolFeaturesSupported = {
      ExpandQuery: { ExpandAll: false, Levels: false, Links: false, NoLinks: false },
      SelectQuery: false,
      FilterQuery: false,
      OnlyMemberQuery: true,
      ExcerptQuery: false,
    };
  });
}

/** A mockup without firmware inventory gets one entry per manager, from its FirmwareVersion. */
function inventoryFromManagers(store: ResourceStore): void {
  for (const managerUri of store.members(`${SERVICE_ROOT}/Managers`)) {
    const manager = store.peek(managerUri);
    if (!manager) continue;
    const id = `${String(manager.Id ?? "bmc")}_firmware`;
    const uri = `${FIRMWARE_INVENTORY_URI}/${id}`;
    const inventory: { [key: string]: JsonValue } = {
      "@odata.type": "#SoftwareInventory.v1_13_0.SoftwareInventory",
      "@odata.id": uri,
      Id: id,
      Name: `${String(manager.Id ?? "BMC")} Firmware`,
      Version: typeof manager.FirmwareVersion === "string" ? manager.FirmwareVersion : "1.0.0",
      Updateable: true,
      Status: { State: "Enabled", Health: "OK" },
      RelatedItem: [link(managerUri)],
    };
    store.put(inventory);
    store.addMember(FIRMWARE_INVENTORY_URI, uri);
  }
}
