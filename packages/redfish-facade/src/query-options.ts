// The query options the facade supports on GET: `$select`, `$expand` (`.`, `*`, `~`, with
// `$levels` up to MAX_EXPAND_LEVELS) and `only`. What it says in ProtocolFeaturesSupported is
// built from the same constants, so the claim cannot drift from the code.
import { MAX_EXPAND_LEVELS, MAX_EXPANDED_RESOURCES, MAX_SELECT_PROPERTIES } from "./facade-limits.ts";
import { baseMessage, type RedfishMessage } from "./redfish-error.ts";

export type ExpandMode = "." | "*" | "~";

export interface QueryOptions {
  /** Property paths, each split on `/`. */
  readonly select: readonly (readonly string[])[] | undefined;
  readonly expand: { readonly mode: ExpandMode; readonly levels: number } | undefined;
  readonly only: boolean;
}

export const NO_QUERY: QueryOptions = Object.freeze({ select: undefined, expand: undefined, only: false });

export interface QueryProblem {
  readonly statusCode: 400 | 501;
  readonly message: RedfishMessage;
}

export const PROTOCOL_FEATURES_SUPPORTED = Object.freeze({
  ExpandQuery: { ExpandAll: true, Levels: true, MaxLevels: MAX_EXPAND_LEVELS, Links: true, NoLinks: true },
  SelectQuery: true,
  FilterQuery: false,
  OnlyMemberQuery: true,
  TopSkipQuery: false,
  ExcerptQuery: false,
  IncludeOriginOfConditionQuery: false,
});

/** Redfish query options the facade knows and does not support: 501 QueryNotSupported. */
const UNSUPPORTED = new Set([
  "$filter",
  "$top",
  "$skip",
  "excerpt",
  "includeoriginofcondition",
  "$orderby",
  "$count",
  "$search",
  "$apply",
  "$levels",
  "$format",
  "$compute",
]);
const PROPERTY_NAME = /^[A-Za-z0-9_@#.:-]+$/;
const EXPAND = /^([.*~])(?:\(\$levels=([^)]*)\))?$/;

function format(value: string, name: string): QueryProblem {
  return { statusCode: 400, message: baseMessage("QueryParameterValueFormatError", [value, name]) };
}

export function parseQueryOptions(query: readonly (readonly [string, string])[]): QueryOptions | QueryProblem {
  const seen = new Set<string>();
  let select: string[][] | undefined;
  let expand: QueryOptions["expand"];
  let only = false;
  for (const [name, value] of query) {
    if (seen.has(name)) return { statusCode: 400, message: baseMessage("QueryParameterValueError", [name]) };
    seen.add(name);
    if (name === "$select") {
      const names = value.split(",");
      if (names.length > MAX_SELECT_PROPERTIES) {
        return {
          statusCode: 400,
          message: baseMessage("QueryParameterOutOfRange", [value, name, `1-${MAX_SELECT_PROPERTIES} properties`]),
        };
      }
      select = [];
      for (const property of names) {
        const path = property.trim().split("/");
        if (path.some((part) => !PROPERTY_NAME.test(part))) return format(value, name);
        select.push(path);
      }
    } else if (name === "$expand") {
      const match = EXPAND.exec(value);
      if (!match) return format(value, name);
      let levels = 1;
      if (match[2] !== undefined) {
        if (!/^\d{1,3}$/.test(match[2])) return format(value, "$levels");
        levels = Number(match[2]);
        if (levels < 1 || levels > MAX_EXPAND_LEVELS) {
          return {
            statusCode: 400,
            message: baseMessage("QueryParameterOutOfRange", [match[2], "$levels", `1-${MAX_EXPAND_LEVELS}`]),
          };
        }
      }
      expand = { mode: match[1] as ExpandMode, levels };
    } else if (name === "only") {
      if (value !== "") return format(value, name);
      only = true;
    } else if (UNSUPPORTED.has(name) || name.startsWith("$")) {
      return { statusCode: 501, message: baseMessage("QueryNotSupported") };
    }
    // Other names are not Redfish query options; DSP0266 lets a service ignore them.
  }
  if (only && (select !== undefined || expand !== undefined)) {
    return { statusCode: 400, message: baseMessage("QueryCombinationInvalid") };
  }
  return { select, expand, only };
}

export function isQueryProblem(value: QueryOptions | QueryProblem): value is QueryProblem {
  return "statusCode" in value;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const ALWAYS_SELECTED = ["@odata.id", "@odata.type", "@odata.etag", "@odata.context", "@Message.ExtendedInfo"];

/** The resource cut down to the selected properties (and its OData annotations). */
export function applySelect(resource: Json, paths: readonly (readonly string[])[]): Json {
  const out: Json = {};
  for (const key of ALWAYS_SELECTED) if (key in resource) out[key] = resource[key];
  for (const path of paths) {
    let source: unknown = resource;
    let target = out;
    for (const [i, part] of path.entries()) {
      if (!isObject(source) || !(part in source)) break;
      const value = source[part];
      if (i === path.length - 1) target[part] = value;
      else {
        if (!isObject(target[part])) target[part] = {};
        target = target[part] as Json;
        source = value;
      }
    }
  }
  return out;
}

/** A link object: `{ "@odata.id": "/redfish/v1/..." }` and nothing else, pointing at a whole resource. */
function isNavigationLink(value: unknown): value is { "@odata.id": string } {
  if (!isObject(value)) return false;
  const id = value["@odata.id"];
  return Object.keys(value).length === 1 && typeof id === "string" && id.startsWith("/redfish/v1") && !id.includes("#");
}

export class ExpandLimitError extends Error {
  readonly code = "FACADE_ERR_EXPAND_LIMIT";
}

/**
 * The resource with its links replaced by the resources they point at: `.` the links outside
 * `Links`, `~` those inside `Links`, `*` all (one level: expanded resources are not expanded
 * again). A link that does not resolve stays a link.
 */
export async function applyExpand(
  resource: Json,
  mode: ExpandMode,
  fetch: (uri: string) => Promise<Json | undefined>,
): Promise<Json> {
  const pending: Promise<void>[] = [];
  const visit = (value: unknown, underLinks: boolean, assign: (v: unknown) => void, top: boolean): void => {
    if (!top && isNavigationLink(value)) {
      const wanted = mode === "*" || (mode === "~") === underLinks;
      if (wanted) {
        if (pending.length >= MAX_EXPANDED_RESOURCES)
          throw new ExpandLimitError(`more than ${MAX_EXPANDED_RESOURCES} links`);
        pending.push(
          fetch(value["@odata.id"]).then((expanded) => {
            if (expanded !== undefined) assign(expanded);
          }),
        );
      }
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) visit(item, underLinks, (v) => (value[i] = v), false);
    } else if (isObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        if (key === "@odata.id") continue;
        visit(item, underLinks || key === "Links", (v) => (value[key] = v), false);
      }
    }
  };
  const copy = structuredClone(resource);
  visit(copy, false, () => {}, true);
  await Promise.all(pending);
  return copy;
}
