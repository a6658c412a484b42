// The facade's replicated state in the agent: accounts, sessions and auth settings as a cluster
// state section, the AuthStore over the Raft driver, and the first administrator's credential.
import type { ClusterStateOptions } from "../cluster-state/cluster-state.ts";
import type { StateSection } from "../cluster-state/command.ts";
import { AUTH_COMMANDS, authSection } from "./auth-section.ts";

/** Pass to `new ClusterState({ extensions: facadeStateExtensions })` on every node. */
export const facadeStateExtensions: NonNullable<ClusterStateOptions["extensions"]> = Object.freeze({
  sections: Object.freeze([authSection as StateSection<unknown>]),
  commands: AUTH_COMMANDS,
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
export { createReplicatedAuthStore, type ReplicatedAuthStoreInit } from "./replicated-auth-store.ts";
