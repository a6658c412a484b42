// Reads a facade's SSE stream over HTTP for tests: messages parsed (id, data as JSON), collected
// until a condition holds or a deadline passes; the connection is closed either way.
export interface SseEvent {
  readonly id: string | undefined;
  readonly body: { Id: string; Events: Record<string, unknown>[] } & Record<string, unknown>;
}

export interface SseRead {
  readonly status: number;
  readonly contentType: string | null;
  readonly events: SseEvent[];
  /** The last id the stream set (with or without an event), as a console's EventSource keeps it. */
  readonly lastEventId: string | undefined;
}

export async function readSse(
  url: string,
  headers: Record<string, string>,
  done: (events: readonly SseEvent[]) => boolean,
  options: { timeoutMs?: number; onOpen?: () => void } = {},
): Promise<SseRead> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), options.timeoutMs ?? 10_000);
  const events: SseEvent[] = [];
  let lastEventId: string | undefined;
  let response: Response | undefined;
  try {
    response = await fetch(url, { headers, signal: abort.signal });
    if (response.status !== 200 || response.body === null) {
      return { status: response.status, contentType: response.headers.get("content-type"), events, lastEventId };
    }
    options.onOpen?.();
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let pending = "";
    let id: string | undefined;
    let data: string[] = [];
    while (!done(events)) {
      const { value, done: ended } = await reader.read();
      if (ended) break;
      pending += decoder.decode(value, { stream: true });
      let cut = pending.indexOf("\n");
      while (cut !== -1) {
        const line = pending.slice(0, cut);
        pending = pending.slice(cut + 1);
        if (line === "") {
          if (id !== undefined) lastEventId = id;
          if (data.length > 0) events.push({ id, body: JSON.parse(data.join("\n")) });
          id = undefined;
          data = [];
        } else if (line.startsWith("id: ")) id = line.slice(4);
        else if (line.startsWith("data: ")) data.push(line.slice(6));
        cut = pending.indexOf("\n");
      }
    }
  } catch (error) {
    if (!abort.signal.aborted) throw error;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return {
    status: response?.status ?? 0,
    contentType: response?.headers.get("content-type") ?? null,
    events,
    lastEventId,
  };
}
