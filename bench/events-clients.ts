// The consoles of `pnpm bench events`, in a worker thread: CLIENT_COUNT SSE streams of the
// facade's `/redfish/v1/EventService/SSE` over HTTP (node:http, one connection each). Each client
// checks every member's events arrive in order, once each (the seq in MessageArgs), and measures
// each event's delivery latency: its receipt time minus the emit time the emitter put in it
// (Date.now() in both processes, so 1 ms resolution).
import { request } from "node:http";
import { parentPort, workerData } from "node:worker_threads";
import {
  type ClientPhaseReport,
  type ClientReport,
  type ClientsMessage,
  type ClientsRequest,
  LATENCY_HISTOGRAM_MS,
} from "./events-protocol.ts";

export interface ClientsInit {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly clientCount: number;
}

/** The longest SSE message a client holds while it waits for its end (the facade's are ~1.5 KiB). */
const MESSAGE_MAX_CHARACTERS = 1024 * 1024;
/** A bench event's record: MessageArgs [member, phase, seq, emittedAtMs]. */
const BENCH_ARGS = /"MessageArgs":\["([A-Za-z0-9-]+)","([a-z-]+)","(\d+)","(\d+)"\]/g;
const MESSAGE_ID = /"MessageId":/g;

class PhaseTracker {
  received = 0;
  duplicated = 0;
  gaps = 0;
  lastAt = 0;
  readonly lastSeq = new Map<string, number>();
  readonly histogram = new Uint32Array(LATENCY_HISTOGRAM_MS);

  record(member: string, seq: number, emittedAt: number, now: number): void {
    const last = this.lastSeq.get(member) ?? 0;
    if (seq <= last) {
      this.duplicated += 1;
      return;
    }
    if (seq > last + 1) this.gaps += seq - last - 1;
    this.lastSeq.set(member, seq);
    this.received += 1;
    this.lastAt = now;
    const latency = Math.max(0, Math.min(LATENCY_HISTOGRAM_MS - 1, now - emittedAt));
    this.histogram[latency] = (this.histogram[latency] as number) + 1;
  }

  report(): ClientPhaseReport {
    return {
      received: this.received,
      lastSeq: Object.fromEntries(this.lastSeq),
      duplicated: this.duplicated,
      gaps: this.gaps,
      lastAt: this.lastAt,
      latencyHistogram: Array.from(this.histogram),
    };
  }
}

class Client {
  readonly phases = new Map<string, PhaseTracker>();
  otherRecords = 0;
  error: string | undefined;
  private pending = "";

  constructor(init: ClientsInit, onOpen: () => void) {
    const req = request(`${init.url}/redfish/v1/EventService/SSE`, {
      headers: { ...init.headers, accept: "text/event-stream" },
    });
    req.on("response", (response) => {
      if (response.statusCode !== 200) {
        this.error = `the SSE stream answered HTTP ${response.statusCode}`;
        response.resume();
        onOpen();
        return;
      }
      response.setEncoding("utf8");
      response.on("data", (text: string) => this.push(text));
      response.on("end", () => {
        this.error ??= "the SSE stream ended";
      });
      response.on("error", (error) => {
        this.error ??= String(error);
      });
      onOpen();
    });
    req.on("error", (error) => {
      this.error ??= String(error);
      onOpen();
    });
    req.end();
  }

  private push(text: string): void {
    this.pending += text;
    const now = Date.now();
    let start = 0;
    for (;;) {
      const end = this.pending.indexOf("\n\n", start);
      if (end === -1) break;
      this.message(this.pending.slice(start, end), now);
      start = end + 2;
    }
    this.pending = this.pending.slice(start);
    if (this.pending.length > MESSAGE_MAX_CHARACTERS) {
      this.error ??= "an SSE message without an end";
      this.pending = "";
    }
  }

  private message(text: string, now: number): void {
    const dataAt = text.indexOf("data: ");
    if (dataAt === -1) return;
    const data = text.slice(dataAt + 6);
    let ours = 0;
    for (const match of data.matchAll(BENCH_ARGS)) {
      const [, member, phase, seq, emittedAt] = match as unknown as [string, string, string, string, string];
      let tracker = this.phases.get(phase);
      if (tracker === undefined) {
        tracker = new PhaseTracker();
        this.phases.set(phase, tracker);
      }
      tracker.record(member, Number(seq), Number(emittedAt), now);
      ours += 1;
    }
    this.otherRecords += (data.match(MESSAGE_ID)?.length ?? 0) - ours;
  }

  report(): ClientReport {
    return {
      phases: Object.fromEntries([...this.phases].map(([name, tracker]) => [name, tracker.report()])),
      otherRecords: this.otherRecords,
      error: this.error,
    };
  }
}

const init = workerData as ClientsInit;
const port = parentPort;
if (port === null) throw new Error("events-clients.ts runs as a worker thread");
let opened = 0;
const clients: Client[] = [];
for (let i = 0; i < init.clientCount; i++) {
  clients.push(
    new Client(init, () => {
      opened += 1;
      if (opened === init.clientCount) port.postMessage({ type: "connected" } satisfies ClientsMessage);
    }),
  );
}
port.on("message", (message: ClientsRequest) => {
  if (message.type === "progress") {
    const received = clients.map((c) => c.phases.get(message.phase)?.received ?? 0);
    const cpu = process.threadCpuUsage();
    port.postMessage({ type: "progress", received, cpuMs: (cpu.user + cpu.system) / 1_000 } satisfies ClientsMessage);
  } else {
    port.postMessage({ type: "report", clients: clients.map((c) => c.report()) } satisfies ClientsMessage);
  }
});
