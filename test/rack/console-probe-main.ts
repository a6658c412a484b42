// The console, as a process inside the console namespace: GET `url` every `intervalMs` with the
// session token (if any), one JSON line per attempt on stdout:
//   {"atMs":..., "ok":true, "status":200, "ms":3.1, "node":"bmc2"}
// `node` is the X-Conclave-Node header of the answer, when the facade sends one. Every attempt
// has its own deadline, so a VIP that goes silent shows as failed attempts, not as one long wait.
// Runs until killed. Arguments: url intervalMs timeoutMs [token]
import { request } from "node:http";

const [url, intervalText, timeoutText, token] = process.argv.slice(2);
if (url === undefined || intervalText === undefined || timeoutText === undefined) {
  process.stderr.write("usage: console-probe-main.ts URL INTERVAL_MS TIMEOUT_MS [TOKEN]\n");
  process.exit(2);
}
const intervalMs = Number(intervalText);
const timeoutMs = Number(timeoutText);
const headers: Record<string, string> = token === undefined || token === "" ? {} : { "x-auth-token": token };

/**
 * One GET on a fresh connection (no keep-alive): what the probe measures is when the VIP serves
 * again, not how long a client's pooled socket to the old PoC takes to die.
 */
function get(): Promise<{ status: number; node: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(url as string, { headers: { ...headers, connection: "close" }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => {
        const node = res.headers["x-conclave-node"];
        resolve({ status: res.statusCode ?? 0, node: typeof node === "string" ? node : null });
      });
      res.on("error", reject);
    });
    // A whole-attempt deadline: a socket timeout would not cover the connect, and a SYN to a VIP
    // nobody holds is retransmitted for seconds before it connects.
    const deadline = setTimeout(() => req.destroy(new Error("timeout")), timeoutMs);
    req.on("close", () => clearTimeout(deadline));
    req.on("error", reject);
    req.end();
  });
}

async function attempt(): Promise<void> {
  const atMs = Date.now();
  const start = performance.now();
  try {
    const { status, node } = await get();
    const ms = performance.now() - start;
    process.stdout.write(`${JSON.stringify({ atMs, ok: status === 200, status, ms, node })}\n`);
  } catch (err) {
    const ms = performance.now() - start;
    process.stdout.write(`${JSON.stringify({ atMs, ok: false, status: 0, ms, error: (err as Error).message })}\n`);
  }
}

// A new attempt starts every `intervalMs` whether or not earlier ones have answered (a console
// polling on a timer does the same), so an outage is resolved to the interval, not to the attempt
// deadline. At most ATTEMPTS_IN_FLIGHT_MAX run at once (the deadline / interval, with room).
const ATTEMPTS_IN_FLIGHT_MAX = Math.ceil(timeoutMs / intervalMs) + 8;
let inFlight = 0;
setInterval(() => {
  if (inFlight >= ATTEMPTS_IN_FLIGHT_MAX) return;
  inFlight++;
  void attempt().finally(() => {
    inFlight--;
  });
}, intervalMs);
