// Proves the "private destination" policy of push subscriptions: by default (BMC management
// networks are private) any Destination is accepted; with allowPrivateDestinations false a
// Destination whose host is a loopback, link-local, private (RFC 1918, ULA) or unspecified
// address, or a name resolving to one, is refused with 400 PropertyValueIncorrect naming the
// Destination, while a public one is accepted; and delivery honours the policy too (a subscription
// made before the policy changed is never sent to, and is suspended as its retry policy says).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DESTINATION_LOOKUP_TIMEOUT_MS,
  privateAddressKind,
  privateDestinationReason,
} from "../../src/events/subscription-destination.ts";
import { createMemorySubscriptionStore, type SubscriptionStore } from "../../src/index.ts";
import { CONSOLE, type Facade, messageIds, startFacade, waitFor } from "../support/facade-fixture.ts";
import { FakeMemberEvents } from "./fake-member-events.ts";

const SUBSCRIPTIONS = "/redfish/v1/EventService/Subscriptions";
const SUBMIT_TEST_EVENT = "/redfish/v1/EventService/Actions/EventService.SubmitTestEvent";

let facade: Facade | undefined;
let server: Server | undefined;
afterEach(async () => {
  await facade?.close();
  facade = undefined;
  await new Promise<void>((done) => (server === undefined ? done() : server.close(() => done())));
  server = undefined;
});

async function post(url: string, body: unknown) {
  return (facade as Facade).app.inject({ method: "POST", url, headers: CONSOLE, payload: body as object });
}

describe("private addresses", () => {
  it("are told apart from public ones, IPv4-mapped IPv6 included", () => {
    const cases: [string, string | undefined][] = [
      ["127.0.0.1", "a loopback"],
      ["127.255.0.9", "a loopback"],
      ["::1", "a loopback"],
      ["10.20.30.40", "a private"],
      ["172.16.0.1", "a private"],
      ["172.31.255.254", "a private"],
      ["192.168.1.1", "a private"],
      ["fd12:3456::1", "a private (unique local)"],
      ["fc00::1", "a private (unique local)"],
      ["169.254.169.254", "a link-local"],
      ["fe80::1", "a link-local"],
      ["0.0.0.0", "an unspecified"],
      ["::", "an unspecified"],
      ["::ffff:10.0.0.1", "a private"],
      ["::ffff:127.0.0.1", "a loopback"],
      ["172.32.0.1", undefined],
      ["172.15.255.255", undefined],
      ["192.169.0.1", undefined],
      ["8.8.8.8", undefined],
      ["203.0.113.7", undefined],
      ["2001:db8::1", undefined],
      ["fec0::1", undefined],
      ["not-an-address", undefined],
    ];
    for (const [address, kind] of cases) expect(privateAddressKind(address), address).toBe(kind);
  });

  it("refuse a name when any of its addresses is private, or when it does not resolve", async () => {
    const lookup = async (hostname: string): Promise<readonly string[]> => {
      if (hostname === "public.example") return ["203.0.113.7", "2001:db8::7"];
      if (hostname === "split.example") return ["203.0.113.8", "10.0.0.8"];
      throw new Error("ENOTFOUND");
    };
    expect(await privateDestinationReason("https://public.example/events", lookup)).toBeUndefined();
    expect(await privateDestinationReason("https://split.example/events", lookup)).toBe(
      "split.example resolves to 10.0.0.8, a private address",
    );
    expect(await privateDestinationReason("https://gone.example/events", lookup)).toMatch(
      /^gone\.example does not resolve/,
    );
    expect(await privateDestinationReason("https://[fe80::1]:8443/events", lookup)).toBe(
      "fe80::1 is a link-local address",
    );
  });

  it("refuse a name whose lookup takes longer than DESTINATION_LOOKUP_TIMEOUT_MS", async () => {
    vi.useFakeTimers();
    try {
      const reason = privateDestinationReason("https://slow.example/events", () => new Promise(() => {}));
      await vi.advanceTimersByTimeAsync(DESTINATION_LOOKUP_TIMEOUT_MS);
      expect(await reason).toBe("slow.example does not resolve (timed out)");
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("a subscription's Destination", () => {
  it("may be private by default", async () => {
    facade = await startFacade([{ name: "bmc1" }], { events: new FakeMemberEvents() });
    for (const destination of ["http://10.1.2.3/events", "http://127.0.0.1:9/events", "http://[fd00::5]/events"]) {
      expect((await post(SUBSCRIPTIONS, { Destination: destination })).statusCode, destination).toBe(201);
    }
  });

  it("is refused, named, when private destinations are not allowed", async () => {
    facade = await startFacade([{ name: "bmc1" }], {
      events: new FakeMemberEvents(),
      subscriptionPolicy: { allowPrivateDestinations: false },
    });
    const refused = [
      "http://127.0.0.1:8080/events",
      "https://10.1.2.3/events",
      "https://172.20.0.4/events",
      "https://192.168.10.20/events",
      "http://169.254.169.254/latest",
      "http://[::1]/events",
      "http://[fe80::1]/events",
      "http://[fd12:3456::1]/events",
      "http://[::ffff:10.0.0.1]/events",
      "http://0.0.0.0:8080/events",
      // Other spellings of a loopback address (the URL parser normalises them).
      "http://127.1:8080/events",
      "http://2130706433/events",
      "http://0x7f.0.0.1/events",
      // A name resolving to a loopback address (localhost, from the hosts file).
      "http://localhost:8080/events",
    ];
    for (const destination of refused) {
      const response = await post(SUBSCRIPTIONS, { Destination: destination, Context: "x" });
      expect(response.statusCode, destination).toBe(400);
      expect(messageIds(response), destination).toEqual(["PropertyValueIncorrect"]);
      const [message] = response.json().error["@Message.ExtendedInfo"];
      expect(message.MessageArgs, destination).toEqual(["Destination", destination]);
      expect(message.RelatedProperties, destination).toEqual(["/Destination"]);
    }
    expect((await facade.json(SUBSCRIPTIONS))["Members@odata.count"]).toBe(0);
    // A public address is accepted (no lookup needed for a literal).
    const accepted = await post(SUBSCRIPTIONS, { Destination: "https://203.0.113.7/events" });
    expect(accepted.statusCode, accepted.body).toBe(201);
    expect((await facade.json(SUBSCRIPTIONS))["Members@odata.count"]).toBe(1);
  });

  it("is not delivered to when private and not allowed, even by a subscription made before", async () => {
    for (const allowPrivateDestinations of [true, false]) {
      let received = 0;
      server = createServer((request, response) => {
        received += 1;
        request.resume();
        request.on("end", () => response.writeHead(204).end());
      });
      await new Promise<void>((done) => server?.listen(0, "127.0.0.1", done));
      const port = (server.address() as AddressInfo).port;
      // Made while private destinations were allowed: one literal address, one name.
      const subscriptions: SubscriptionStore = createMemorySubscriptionStore();
      await subscriptions.commit({ type: "settings", settings: { retryAttempts: 0 } });
      for (const [id, host] of [
        ["literal", "127.0.0.1"],
        ["name", "localhost"],
      ]) {
        await subscriptions.commit({
          type: "create",
          subscription: {
            id: id as string,
            destination: `http://${host}:${port}/events`,
            context: "",
            registryPrefixes: [],
            messageIds: [],
            resourceTypes: [],
            originResources: [],
            subordinateResources: false,
            deliveryRetryPolicy: "SuspendRetries",
            enabled: true,
          },
        });
      }
      facade = await startFacade([{ name: "bmc1" }], {
        events: new FakeMemberEvents(),
        subscriptions,
        subscriptionPolicy: { allowPrivateDestinations },
      });
      expect((await post(SUBMIT_TEST_EVENT, {})).statusCode).toBe(204);
      if (allowPrivateDestinations) {
        await waitFor(async () => (received >= 2 ? true : undefined), "both deliveries");
        expect(subscriptions.list().map((s) => s.enabled)).toEqual([true, true]);
      } else {
        await waitFor(
          async () => (subscriptions.list().every((s) => !s.enabled) ? true : undefined),
          "both subscriptions suspended",
        );
        expect(received).toBe(0);
      }
      await facade.close();
      facade = undefined;
      await new Promise<void>((done) => server?.close(() => done()));
      server = undefined;
    }
  });
});
