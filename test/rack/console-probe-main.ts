// The console, as a process inside the console namespace: GET `url` every `intervalMs` with the
// session token (if any), one JSON line per attempt on stdout:
//   {"atMs":..., "ok":true, "status":200, "ms":3.1, "node":"bmc2"}
// `node` is the X-Conclave-Node header of the answer, when the facade sends one. Every attempt
// has its own deadline, so a VIP that goes silent shows as failed attempts, not as one long wait.
// Runs until killed. Arguments: url intervalMs timeoutMs [token]
const [url, intervalText, timeoutText, token] = process.argv.slice(2);
if (url === undefined || intervalText === undefined || timeoutText === undefined) {
  process.stderr.write("usage: console-probe-main.ts URL INTERVAL_MS TIMEOUT_MS [TOKEN]\n");
  process.exit(2);
}
const intervalMs = Number(intervalText);
const timeoutMs = Number(timeoutText);
const headers: Record<string, string> = token === undefined || token === "" ? {} : { "x-auth-token": token };

async function attempt(): Promise<void> {
  const atMs = Date.now();
  const start = performance.now();
  try {
    const response = await fetch(url as string, {
      headers,
      signal: AbortSignal.timeout(timeoutMs),
      redirect: "manual",
    });
    await response.arrayBuffer();
    const ms = performance.now() - start;
    const line = {
      atMs,
      ok: response.status === 200,
      status: response.status,
      ms,
      node: response.headers.get("x-conclave-node"),
    };
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } catch (err) {
    const ms = performance.now() - start;
    process.stdout.write(`${JSON.stringify({ atMs, ok: false, status: 0, ms, error: (err as Error).name })}\n`);
  }
}

// Attempts do not overlap: the next starts `intervalMs` after the previous one began, or at once
// when it took longer (a console polling on a timer behaves the same).
for (;;) {
  const began = Date.now();
  await attempt();
  const wait = intervalMs - (Date.now() - began);
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
