// `$filter` on the SSE stream (DSP0266 "Server-sent events"): comparisons of the properties in
// SSEFilterPropertiesSupported with `eq` or `ne`, combined with `and`, `or`, `not` and parentheses:
// `$filter=(RegistryPrefix eq 'Conclave') or (MessageId eq 'ResourceEvent.1.4.3.ResourceChanged')`.
// Values may be quoted ('...') or bare. A filter that does not parse is refused with a sentence
// saying where; it is never half-applied.
import { resourceTypeOf } from "./resource-type.ts";

/** Properties a filter may compare: what EventService.SSEFilterPropertiesSupported claims. */
export const SSE_FILTER_PROPERTIES = [
  "EventFormatType",
  "MessageId",
  "OriginResource",
  "RegistryPrefix",
  "ResourceType",
] as const;
export type SseFilterProperty = (typeof SSE_FILTER_PROPERTIES)[number];
/** The longest filter read, and the most comparisons in one. */
export const SSE_FILTER_MAX_CHARACTERS = 2_048;
export const SSE_FILTER_TERMS_MAX = 64;

export type EventFilter = (record: Readonly<Record<string, unknown>>) => boolean;

export class EventFilterError extends Error {
  readonly code = "FACADE_ERR_EVENT_FILTER";
}

type Token = { kind: "open" | "close" } | { kind: "word"; text: string } | { kind: "quoted"; text: string };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === "(" || c === ")") {
      tokens.push({ kind: c === "(" ? "open" : "close" });
      i++;
    } else if (c === "'") {
      let value = "";
      i++;
      for (;;) {
        if (i >= text.length) throw new EventFilterError("a quoted value is not closed");
        if (text[i] === "'" && text[i + 1] === "'") {
          value += "'";
          i += 2;
        } else if (text[i] === "'") {
          i++;
          break;
        } else value += text[i++];
      }
      tokens.push({ kind: "quoted", text: value });
    } else {
      const start = i;
      while (i < text.length && !/[\s()']/.test(text[i] as string)) i++;
      tokens.push({ kind: "word", text: text.slice(start, i) });
    }
  }
  return tokens;
}

function isProperty(word: string): word is SseFilterProperty {
  return (SSE_FILTER_PROPERTIES as readonly string[]).includes(word);
}

function originOf(record: Readonly<Record<string, unknown>>): string | undefined {
  const origin = record.OriginOfCondition;
  if (
    typeof origin === "object" &&
    origin !== null &&
    typeof (origin as Record<string, unknown>)["@odata.id"] === "string"
  ) {
    return ((origin as Record<string, unknown>)["@odata.id"] as string).replace(/\/+$/, "");
  }
  return undefined;
}

/** `Prefix.1.0.Key` matches `Prefix.1.0.Key`, `Prefix.Key` (any version) and `Key`-less prefixes never. */
export function messageIdMatches(messageId: unknown, wanted: string): boolean {
  if (typeof messageId !== "string") return false;
  if (messageId === wanted) return true;
  const parts = messageId.split(".");
  return parts.length >= 2 && `${parts[0]}.${parts.at(-1)}` === wanted;
}

function matches(property: SseFilterProperty, value: string, record: Readonly<Record<string, unknown>>): boolean {
  switch (property) {
    case "EventFormatType":
      return value === "Event";
    case "MessageId":
      return messageIdMatches(record.MessageId, value);
    case "RegistryPrefix":
      return typeof record.MessageId === "string" && record.MessageId.split(".")[0] === value;
    case "OriginResource":
      return originOf(record) === value.replace(/\/+$/, "");
    case "ResourceType": {
      const origin = originOf(record);
      return origin !== undefined && resourceTypeOf(origin) === value;
    }
  }
}

/** Parses a `$filter`; throws EventFilterError saying what is wrong. */
export function parseEventFilter(text: string): EventFilter {
  if (text.length > SSE_FILTER_MAX_CHARACTERS) {
    throw new EventFilterError(`the filter is over ${SSE_FILTER_MAX_CHARACTERS} characters`);
  }
  const tokens = tokenize(text);
  let position = 0;
  let terms = 0;
  const peekWord = (): string | undefined => {
    const token = tokens[position];
    return token?.kind === "word" ? token.text : undefined;
  };

  const primary = (): EventFilter => {
    const token = tokens[position];
    if (token === undefined) throw new EventFilterError("the filter ends where a comparison was expected");
    if (token.kind === "open") {
      position++;
      const inner = orExpression();
      if (tokens[position]?.kind !== "close") throw new EventFilterError("a parenthesis is not closed");
      position++;
      return inner;
    }
    if (token.kind === "word" && token.text === "not") {
      position++;
      const inner = primary();
      return (record) => !inner(record);
    }
    if (token.kind !== "word") throw new EventFilterError("a comparison must start with a property name");
    if (!isProperty(token.text)) {
      throw new EventFilterError(
        `${token.text} is not a property the stream filters on (${SSE_FILTER_PROPERTIES.join(", ")})`,
      );
    }
    const property = token.text;
    const operator = tokens[position + 1];
    if (operator?.kind !== "word" || (operator.text !== "eq" && operator.text !== "ne")) {
      throw new EventFilterError(`${property} must be followed by eq or ne`);
    }
    const value = tokens[position + 2];
    if (value === undefined || (value.kind !== "word" && value.kind !== "quoted") || value.text === "") {
      throw new EventFilterError(`${property} ${operator.text} needs a value`);
    }
    position += 3;
    terms += 1;
    if (terms > SSE_FILTER_TERMS_MAX)
      throw new EventFilterError(`the filter has over ${SSE_FILTER_TERMS_MAX} comparisons`);
    const wanted = value.text;
    const negate = operator.text === "ne";
    return (record) => matches(property, wanted, record) !== negate;
  };
  const andExpression = (): EventFilter => {
    let left = primary();
    while (peekWord() === "and") {
      position++;
      const a = left;
      const b = primary();
      left = (record) => a(record) && b(record);
    }
    return left;
  };
  const orExpression = (): EventFilter => {
    let left = andExpression();
    while (peekWord() === "or") {
      position++;
      const a = left;
      const b = andExpression();
      left = (record) => a(record) || b(record);
    }
    return left;
  };

  if (tokens.length === 0) throw new EventFilterError("the filter is empty");
  const filter = orExpression();
  if (position < tokens.length) throw new EventFilterError("the filter goes on after a complete expression");
  return filter;
}
