// Redfish error bodies (DSP0266 §9.8: `error` with `code`, `message` and `@Message.ExtendedInfo`)
// from the Base message registry, for the answers the agent gives before the facade exists.

export const BASE_REGISTRY_VERSION = "Base.1.22";
const MESSAGE_TYPE = "#Message.v1_3_0.Message";

export interface RedfishErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly "@Message.ExtendedInfo": readonly {
      readonly "@odata.type": string;
      readonly MessageId: string;
      readonly Message: string;
      readonly MessageArgs: readonly string[];
      readonly MessageSeverity: "OK" | "Warning" | "Critical";
      readonly Resolution: string;
    }[];
  };
}

function baseMessage(
  id: string,
  message: string,
  args: readonly string[],
  severity: "OK" | "Warning" | "Critical",
  resolution: string,
): RedfishErrorBody {
  const messageId = `${BASE_REGISTRY_VERSION}.${id}`;
  return {
    error: {
      code: messageId,
      message,
      "@Message.ExtendedInfo": [
        {
          "@odata.type": MESSAGE_TYPE,
          MessageId: messageId,
          Message: message,
          MessageArgs: args,
          MessageSeverity: severity,
          Resolution: resolution,
        },
      ],
    },
  };
}

/** 503 with Retry-After: no Point-of-Contact (no quorum, or an election is under way). */
export function serviceTemporarilyUnavailable(retryAfterSeconds: number): RedfishErrorBody {
  return baseMessage(
    "ServiceTemporarilyUnavailable",
    `The service is temporarily unavailable.  Retry in ${retryAfterSeconds} seconds.`,
    [String(retryAfterSeconds)],
    "Critical",
    "Wait for the indicated retry duration and retry the operation.",
  );
}

/** 404 for a URI the agent does not serve. */
export function resourceNotFound(uri: string): RedfishErrorBody {
  return baseMessage(
    "ResourceMissingAtURI",
    `The resource at the URI '${uri}' was not found.`,
    [uri],
    "Critical",
    "Place a valid resource at the URI or correct the URI and resubmit the request.",
  );
}
