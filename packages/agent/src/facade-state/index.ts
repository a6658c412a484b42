// The facade's replicated state in the agent: accounts, sessions and auth settings, the
// operation journal, tasks and user aggregates, and the push subscriptions, as cluster state
// sections; the AuthStore, OperationStore and SubscriptionStore over the Raft driver; and the
// first administrator's credential.
import type { ClusterStateOptions } from "../cluster-state/cluster-state.ts";
import type { StateSection } from "../cluster-state/command.ts";
import { AUTH_COMMANDS, authSection } from "./auth-section.ts";
import { OPERATION_COMMANDS, operationsSection } from "./operations-section.ts";
import { SUBSCRIPTION_COMMANDS, subscriptionsSection } from "./subscriptions-section.ts";

/** Pass to `new ClusterState({ extensions: facadeStateExtensions })` on every node. */
export const facadeStateExtensions: NonNullable<ClusterStateOptions["extensions"]> = Object.freeze({
  sections: Object.freeze([
    authSection as StateSection<unknown>,
    operationsSection as StateSection<unknown>,
    subscriptionsSection as StateSection<unknown>,
  ]),
  commands: Object.freeze([...AUTH_COMMANDS, ...OPERATION_COMMANDS, ...SUBSCRIPTION_COMMANDS]),
});

export {
  ADMIN_CREDENTIAL_FILE_NAME,
  type AdminCredential,
  AdminCredentialError,
  readAdminCredentialFile,
  type WriteAdminCredentialOptions,
  writeAdminCredentialFile,
} from "./admin-credential-file.ts";
export {
  AUTH_COMMAND_VERSION,
  AUTH_COMMANDS,
  AUTH_SECTION_NAME,
  AUTH_SECTION_VERSION,
  authCommandInput,
  authSection,
} from "./auth-section.ts";
export { type BootstrapOutcome, bootstrapAdministrator } from "./bootstrap-administrator.ts";
export {
  OPERATION_COMMANDS,
  OPERATIONS_COMMAND_VERSION,
  OPERATIONS_SECTION_NAME,
  OPERATIONS_SECTION_VERSION,
  operationCommandInput,
  operationsSection,
} from "./operations-section.ts";
export { createReplicatedAuthStore, type ReplicatedAuthStoreInit } from "./replicated-auth-store.ts";
export {
  createReplicatedOperationStore,
  type ReplicatedOperationStoreInit,
} from "./replicated-operation-store.ts";
export {
  createReplicatedSubscriptionStore,
  type ReplicatedSubscriptionStoreInit,
} from "./replicated-subscription-store.ts";
export {
  SUBSCRIPTION_COMMAND_PREFIX,
  SUBSCRIPTION_COMMANDS,
  SUBSCRIPTIONS_COMMAND_VERSION,
  SUBSCRIPTIONS_SECTION_NAME,
  SUBSCRIPTIONS_SECTION_VERSION,
  subscriptionCommandInput,
  subscriptionsSection,
} from "./subscriptions-section.ts";
