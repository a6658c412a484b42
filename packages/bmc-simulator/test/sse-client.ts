// A minimal SSE reader over fetch for tests: collects events until told to stop.
export interface SseEvent {
  id: number;
  data: Record<string, unknown>;
}

export interface SseReader {
  events: SseEvent[];
  status: number;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string>): Promise<SseReader> {
  const controller = new AbortController();
  const response = await fetch(url, {
    headers: { accept: "text/event-stream", ...headers },
    signal: controller.signal,
  });
  const reader: SseReader = { events: [], status: response.status, close: () => controller.abort() };
  if (!response.body) return reader;
  const decoder = new TextDecoder();
  let buffer = "";
  void (async () => {
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end = buffer.indexOf("\n\n");
        while (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const id = /^id: (\d+)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (id !== undefined && data !== undefined) reader.events.push({ id: Number(id), data: JSON.parse(data) });
          end = buffer.indexOf("\n\n");
        }
      }
    } catch {
      // Aborted by close(), or the server went away: either ends the stream.
    }
  })();
  return reader;
}
