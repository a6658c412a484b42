// JSON with one spelling per value: object keys sorted, no whitespace. Snapshots and commands
// are written with it so that the same state always yields the same bytes on every node.

/** A JSON value as the cluster state stores it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** Serialises `value` canonically. Throws TypeError on what JSON cannot hold exactly (NaN, functions, cycles, class instances). */
export function canonicalJson(value: unknown): string {
  return write(value, new Set());
}

function write(value: unknown, ancestors: Set<object>): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      if (!Number.isFinite(value)) throw new TypeError(`cannot encode the number ${value} in JSON`);
      return JSON.stringify(value);
    case "string":
      return JSON.stringify(value);
    case "object":
      break;
    default:
      throw new TypeError(`cannot encode a ${typeof value} in JSON`);
  }
  if (ancestors.has(value)) throw new TypeError("cannot encode a cyclic structure in JSON");
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return `[${value.map((item: unknown) => write(item, ancestors)).join(",")}]`;
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      throw new TypeError(`cannot encode a ${prototype?.constructor?.name ?? "non-plain"} object in JSON`);
    }
    const parts: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const item = (value as Record<string, unknown>)[key];
      if (item === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${write(item, ancestors)}`);
    }
    return `{${parts.join(",")}}`;
  } finally {
    ancestors.delete(value);
  }
}

/**
 * JSON.parse that refuses `__proto__` keys, so decoded data can be spread and copied without
 * any chance of reaching an object's prototype. Throws SyntaxError.
 */
export function parseJsonStrict(text: string): unknown {
  return JSON.parse(text, (key, value: unknown) => {
    if (key === "__proto__") throw new SyntaxError('the key "__proto__" is not allowed');
    return value;
  });
}
