// A console on the EventService stream, run inside the console namespace: it reads
// `<url>` (the VIP's /redfish/v1/EventService/SSE) with its session token and prints one JSON line
// per event ({"id", "messageId", "args"} for every record in the event), and when the stream
// breaks (a failover) it connects again with `Last-Event-ID` set to the last id it saw, as a
// Redfish console does. Stops after `seconds`.
//
//   node sse-console-main.ts <url> <token> <seconds>

/** Pause before connecting again after the stream broke. */
const RECONNECT_DELAY_MS = 200;
/** Bound on one connection attempt. */
const CONNECT_TIMEOUT_MS = 2_000;

const [url, token, secondsText] = process.argv.slice(2);
if (url === undefined || token === undefined || secondsText === undefined) {
  throw new Error("usage: sse-console-main.ts <url> <token> <seconds>");
}
const endsAt = Date.now() + Number(secondsText) * 1_000;
let lastId: string | undefined;
let connections = 0;

/** Prints each record of one SSE message (`data:` lines joined). */
function emit(id: string | undefined, data: string): void {
  if (id !== undefined) lastId = id;
  if (data === "") return;
  const event = JSON.parse(data) as { Events?: { MessageId?: string; MessageArgs?: string[] }[] };
  for (const record of event.Events ?? []) {
    process.stdout.write(`${JSON.stringify({ id, messageId: record.MessageId, args: record.MessageArgs ?? [] })}\n`);
  }
}

while (Date.now() < endsAt) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), Math.max(0, endsAt - Date.now()));
  try {
    connections++;
    const headers: Record<string, string> = { "x-auth-token": token, accept: "text/event-stream" };
    if (lastId !== undefined) headers["last-event-id"] = lastId;
    // Only the connection and the headers are bounded; the stream itself runs until the end.
    const connecting = setTimeout(() => abort.abort(), CONNECT_TIMEOUT_MS);
    const response = await fetch(url, { headers, signal: abort.signal }).finally(() => clearTimeout(connecting));
    process.stdout.write(`${JSON.stringify({ connected: response.status, connections, lastId })}\n`);
    if (response.status !== 200 || response.body === null) {
      await response.text();
    } else {
      let buffer = "";
      const decoder = new TextDecoder();
      for await (const chunk of response.body) {
        buffer += decoder.decode(chunk, { stream: true });
        for (let cut = buffer.indexOf("\n\n"); cut !== -1; cut = buffer.indexOf("\n\n")) {
          const message = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let id: string | undefined;
          const data: string[] = [];
          for (const line of message.split("\n")) {
            if (line.startsWith("id:")) id = line.slice(3).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
          }
          emit(id, data.join("\n"));
        }
      }
    }
  } catch {
    // The stream broke (the PoC died, the VIP moved): connect again below.
  } finally {
    clearTimeout(timer);
  }
  await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
}
process.exit(0);
