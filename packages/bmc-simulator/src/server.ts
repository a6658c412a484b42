// Starts a simulator listening on a port; the returned handle knows its URL and closes cleanly.
import type { FastifyInstance } from "fastify";
import { buildSimulator } from "./app.ts";
import type { SimulatorOptions } from "./options.ts";

export interface ListenOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
}

export interface RunningSimulator {
  app: FastifyInstance;
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startSimulator(options: SimulatorOptions & ListenOptions = {}): Promise<RunningSimulator> {
  const { port = 0, host = "127.0.0.1", ...simulatorOptions } = options;
  const app = buildSimulator(simulatorOptions);
  try {
    await app.listen({ port, host });
  } catch (error) {
    await app.close();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === "string") {
    await app.close();
    throw new Error("the simulator is not listening on a TCP port");
  }
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    app,
    url: `http://${shownHost}:${address.port}`,
    port: address.port,
    close: () => app.close(),
  };
}
