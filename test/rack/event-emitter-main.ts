// A BMC that raises events: run inside a BMC namespace, it submits `count` test events to the
// local simulated BMC (EventService.SubmitTestEvent), `perSecond` a second, each carrying
// MessageArgs [<name>, <seq>] so a console can check every one arrives exactly once.
//
//   node event-emitter-main.ts <bmcUrl> <user> <password> <name> <count> <perSecond>
const [bmcUrl, user, password, name, countText, rateText] = process.argv.slice(2);
if (rateText === undefined)
  throw new Error("usage: event-emitter-main.ts <bmcUrl> <user> <password> <name> <count> <perSecond>");
const count = Number(countText);
const intervalMs = 1_000 / Number(rateText);
const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
const startedAt = Date.now();
for (let seq = 1; seq <= count; seq++) {
  const response = await fetch(`${bmcUrl}/redfish/v1/EventService/Actions/EventService.SubmitTestEvent`, {
    method: "POST",
    headers: { authorization, "content-type": "application/json" },
    body: JSON.stringify({ MessageId: "Base.1.22.Success", MessageArgs: [name, String(seq)], MessageSeverity: "OK" }),
    signal: AbortSignal.timeout(3_000),
  });
  if (response.status >= 300)
    throw new Error(`SubmitTestEvent ${seq} answered ${response.status}: ${await response.text()}`);
  const due = startedAt + seq * intervalMs;
  if (due > Date.now()) await new Promise((resolve) => setTimeout(resolve, due - Date.now()));
}
process.stdout.write(`${JSON.stringify({ name, emitted: count })}\n`);
