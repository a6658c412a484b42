// A stand-in for conclaved's control socket: node:http on a unix socket in a temp dir that records
// every request and answers from a table of fixture documents and errors.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly contentType: string | undefined;
  /** Parsed JSON body, or undefined when there was none. */
  readonly body: unknown;
}

export type Answer =
  | { readonly status?: number; readonly body: unknown }
  | { readonly raw: string; readonly status?: number }
  | { readonly delayMs: number; readonly body: unknown }
  | "hang";

export class FakeControlServer {
  readonly requests: RecordedRequest[] = [];
  readonly socketPath: string;
  private readonly dir: string;
  private readonly server: Server;
  private readonly answers = new Map<string, Answer>();
  private readonly open = new Set<ServerResponse>();

  private constructor() {
    this.dir = mkdtempSync(join(tmpdir(), "conclave-cli-"));
    this.socketPath = join(this.dir, "control.sock");
    this.server = createServer((req, res) => this.handle(req, res));
  }

  static async start(): Promise<FakeControlServer> {
    const fake = new FakeControlServer();
    await new Promise<void>((resolve, reject) => {
      fake.server.once("error", reject);
      fake.server.listen(fake.socketPath, resolve);
    });
    return fake;
  }

  /** Answers `METHOD /path` with `answer` from now on. */
  on(route: string, answer: Answer): this {
    this.answers.set(route, answer);
    return this;
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.dir, { recursive: true, force: true });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      const route = `${req.method} ${req.url}`;
      this.requests.push({
        method: req.method ?? "",
        path: req.url ?? "",
        contentType: req.headers["content-type"],
        body: text === "" ? undefined : JSON.parse(text),
      });
      const answer = this.answers.get(route) ?? {
        status: 404,
        body: { error: { code: "AGENT_ERR_CONTROL_REQUEST", message: `no control route ${route}` } },
      };
      if (answer === "hang") {
        this.open.add(res);
        return;
      }
      const send = () => {
        if ("raw" in answer) {
          res.writeHead(answer.status ?? 200, { "content-type": "application/json" }).end(answer.raw);
          return;
        }
        const status = "status" in answer ? (answer.status ?? 200) : 200;
        res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(answer.body));
      };
      if ("delayMs" in answer) setTimeout(send, answer.delayMs);
      else send();
    });
  }
}

/** Captures what runCli writes. */
export function captureOutput(isTTY = false) {
  let stdout = "";
  let stderr = "";
  return {
    stdout: {
      isTTY,
      write: (text: string) => {
        stdout += text;
      },
    },
    stderr: {
      write: (text: string) => {
        stderr += text;
      },
    },
    get out() {
      return stdout;
    },
    get err() {
      return stderr;
    },
  };
}
