// A stale PoC's voice: run inside a frozen PoC's namespace with its node key and the cluster
// secret, this process speaks for it on the cluster protocol and sends one journaled operation
// to an owner with the term the PoC held before it froze — what the frozen agent itself would
// send if it woke mid-operation. Prints the owner's answer (OwnerAnswer JSON) or {"error": ...}.
//
//   node stale-poc-main.ts <stateDir> <secretFile> <clusterName> <ownerMultiaddr> <ownerId> <term> <operationId>
import { createConclaveHost, loadOrCreateNodeKey, readClusterSecret } from "../../packages/agent/src/index.ts";

/** Bound on reaching the owner and getting its answer (the caller gives the whole process 10 s). */
const ANSWER_TIMEOUT_MS = 6_000;
const RETRY_MS = 250;

const [stateDir, secretFile, clusterName, ownerAddress, ownerId, termText, operationId] = process.argv.slice(2);
if (operationId === undefined)
  throw new Error(
    "usage: stale-poc-main.ts <stateDir> <secretFile> <clusterName> <ownerMultiaddr> <ownerId> <term> <operationId>",
  );
const identity = await loadOrCreateNodeKey(stateDir as string);
const host = await createConclaveHost({
  privateKey: identity.privateKey,
  clusterSecret: readClusterSecret(secretFile as string).psk,
  clusterName: clusterName as string,
  listen: ["/ip4/0.0.0.0/tcp/0"],
  staticPeers: [ownerAddress as string],
  mdns: false,
  isPeerAllowed: () => false,
  onRaftMessage: () => undefined,
});
await host.start();
const deadline = Date.now() + ANSWER_TIMEOUT_MS;
let answer: unknown;
for (;;) {
  try {
    answer = await host.rpc.call(
      ownerId as string,
      "conclave.bmc.operation",
      {
        op: "execute",
        execution: {
          operationId,
          term: Number(termText),
          action: {
            kind: "http",
            request: {
              method: "POST",
              path: "/redfish/v1/Systems/system/Actions/ComputerSystem.Reset",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ ResetType: "ForceRestart" }),
            },
          },
          timeoutMs: 3_000,
        },
      },
      { timeoutMs: 5_000 },
    );
    break;
  } catch (error) {
    if (Date.now() > deadline) {
      answer = { error: (error as Error).message };
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
  }
}
process.stdout.write(JSON.stringify(answer));
await host.stop();
process.exit(0);
