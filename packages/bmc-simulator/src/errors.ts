// Redfish error bodies built from the Base message registry, and the one error class the
// simulator throws for a request that must fail with one of them.

/** The Base registry version bmcweb reports; every MessageId below carries it. */
export const BASE_REGISTRY = "Base.1.19.0";

export interface RedfishMessage {
  "@odata.type": "#Message.v1_3_0.Message";
  MessageId: string;
  Message: string;
  MessageArgs: string[];
  MessageSeverity: "OK" | "Warning" | "Critical";
  Resolution: string;
  RelatedProperties?: string[];
}

interface MessageTemplate {
  message: string;
  severity: "OK" | "Warning" | "Critical";
  resolution: string;
}

// The subset of the Base registry the simulator uses; text copied from the registry so
// clients that match on Message see what bmcweb would send.
const BASE_MESSAGES = {
  ResourceNotFound: {
    message: "The requested resource of type %1 named '%2' was not found.",
    severity: "Critical",
    resolution: "Provide a valid resource identifier and resubmit the request.",
  },
  PropertyNotWritable: {
    message: "The property %1 is a read-only property and cannot be assigned a value.",
    severity: "Warning",
    resolution: "Remove the property from the request body and resubmit the request if the operation failed.",
  },
  PropertyUnknown: {
    message: "The property %1 is not in the list of valid properties for the resource.",
    severity: "Warning",
    resolution: "Remove the unknown property from the request body and resubmit the request if the operation failed.",
  },
  PropertyValueNotInList: {
    message: "The value '%1' for the property %2 is not in the list of acceptable values.",
    severity: "Warning",
    resolution:
      "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.",
  },
  PropertyValueTypeError: {
    message: "The value '%1' for the property %2 is not a type that the property can accept.",
    severity: "Warning",
    resolution:
      "Correct the value for the property in the request body and resubmit the request if the operation failed.",
  },
  PropertyValueOutOfRange: {
    message: "The value '%1' for the property %2 is not in the supported range of acceptable values.",
    severity: "Warning",
    resolution:
      "Correct the value for the property in the request body and resubmit the request if the operation failed.",
  },
  PropertyValueFormatError: {
    message: "The value '%1' for the property %2 is not a format that the property can accept.",
    severity: "Warning",
    resolution:
      "Correct the value for the property in the request body and resubmit the request if the operation failed.",
  },
  ResourceAtUriUnauthorized: {
    message: "While accessing the resource at '%1', the service received an authorization error '%2'.",
    severity: "Critical",
    resolution: "Ensure that the appropriate access is provided for the service in order for it to access the URI.",
  },
  PropertyMissing: {
    message: "The property %1 is a required property and must be included in the request.",
    severity: "Warning",
    resolution:
      "Ensure that the property is in the request body and has a valid value and resubmit the request if the operation failed.",
  },
  ActionParameterMissing: {
    message: "The action %1 requires the parameter %2 to be present in the request body.",
    severity: "Critical",
    resolution: "Supply the action with the required parameter in the request body when the request is resubmitted.",
  },
  ActionParameterUnknown: {
    message: "The action %1 was submitted with the invalid parameter %2.",
    severity: "Warning",
    resolution: "Correct the invalid action parameter and resubmit the request if the operation failed.",
  },
  ActionParameterValueNotInList: {
    message: "The value '%1' for the parameter %2 in the action %3 is not in the list of acceptable values.",
    severity: "Warning",
    resolution:
      "Choose a value from the enumeration list that the implementation can support and resubmit the request if the operation failed.",
  },
  ActionParameterValueTypeError: {
    message: "The value '%1' for the parameter %2 in the action %3 is not a type that the parameter can accept.",
    severity: "Warning",
    resolution:
      "Correct the value for the parameter in the request body and resubmit the request if the operation failed.",
  },
  ActionNotSupported: {
    message: "The action %1 is not supported by the resource.",
    severity: "Critical",
    resolution: "Check the Actions property in the resource for the supported actions.",
  },
  PreconditionFailed: {
    message: "The ETag supplied did not match the ETag required to change this resource.",
    severity: "Critical",
    resolution: "Try the operation again using the appropriate ETag.",
  },
  NoValidSession: {
    message: "There is no valid session established with the implementation.",
    severity: "Critical",
    resolution: "Establish a session before attempting any operations.",
  },
  InsufficientPrivilege: {
    message:
      "There are insufficient privileges for the account or credentials associated with the current session to perform the requested operation.",
    severity: "Critical",
    resolution:
      "Either abandon the operation or change the associated access rights and resubmit the request if the operation failed.",
  },
  OperationNotAllowed: {
    message: "The HTTP method is not allowed on this resource.",
    severity: "Critical",
    resolution: "None.",
  },
  InternalError: {
    message: "The request failed due to an internal service error.  The service is still operational.",
    severity: "Critical",
    resolution: "Resubmit the request.  If the problem persists, consider resetting the service.",
  },
  MalformedJSON: {
    message: "The request body submitted was malformed JSON and could not be parsed by the receiving service.",
    severity: "Critical",
    resolution: "Ensure that the request body is valid JSON and resubmit the request.",
  },
  SessionLimitExceeded: {
    message:
      "The session establishment failed due to the number of simultaneous sessions exceeding the limit of the implementation.",
    severity: "Critical",
    resolution:
      "Reduce the number of other sessions before trying to establish the session or increase the limit of simultaneous sessions, if supported.",
  },
  PayloadTooLarge: {
    message: "The supplied payload exceeds the maximum size supported by the service.",
    severity: "Critical",
    resolution: "Check that the supplied payload is correct and supported by this service.",
  },
  ServiceTemporarilyUnavailable: {
    message: "The service is temporarily unavailable.  Retry in %1 seconds.",
    severity: "Critical",
    resolution: "Wait for the indicated retry duration and retry the operation.",
  },
  QueryNotSupported: {
    message: "Querying is not supported by the implementation.",
    severity: "Warning",
    resolution: "Remove the query parameters and resubmit the request if the operation failed.",
  },
  NoOperation: {
    message: "The request body submitted contain no data to act upon and no changes to the resource took place.",
    severity: "Warning",
    resolution: "Add properties in the JSON object and resubmit the request.",
  },
  ResourceCannotBeDeleted: {
    message: "The delete request failed because the resource requested cannot be deleted.",
    severity: "Critical",
    resolution: "Do not attempt to delete a non-deletable resource.",
  },
  ResourceExhaustion: {
    message: "The resource '%1' was unable to satisfy the request due to unavailability of resources.",
    severity: "Critical",
    resolution: "Ensure that the resources are available and resubmit the request.",
  },
  GeneralError: {
    message:
      "A general error has occurred.  See Resolution for information on how to resolve the error, or @Message.ExtendedInfo if Resolution is not provided.",
    severity: "Critical",
    resolution: "None.",
  },
  Success: { message: "The request completed successfully.", severity: "OK", resolution: "None." },
  Created: { message: "The resource was created successfully.", severity: "OK", resolution: "None." },
} as const satisfies Record<string, MessageTemplate>;

export type BaseMessageKey = keyof typeof BASE_MESSAGES;

export function fillMessage(template: string, args: readonly string[]): string {
  return template.replace(/%(\d+)/g, (whole, index: string) => args[Number(index) - 1] ?? whole);
}

export function baseMessage(
  key: BaseMessageKey,
  args: readonly string[] = [],
  relatedProperties?: string[],
): RedfishMessage {
  const template: MessageTemplate = BASE_MESSAGES[key];
  const message: RedfishMessage = {
    "@odata.type": "#Message.v1_3_0.Message",
    MessageId: `${BASE_REGISTRY}.${key}`,
    Message: fillMessage(template.message, args),
    MessageArgs: [...args],
    MessageSeverity: template.severity,
    Resolution: template.resolution,
  };
  if (relatedProperties !== undefined) message.RelatedProperties = relatedProperties;
  return message;
}

export interface RedfishErrorBody {
  error: {
    code: string;
    message: string;
    "@Message.ExtendedInfo": RedfishMessage[];
  };
}

/** The body DSP0266 prescribes: the first message as code/message, all of them as extended info. */
export function errorBody(messages: readonly RedfishMessage[]): RedfishErrorBody {
  const first = messages[0];
  const general = baseMessage("GeneralError");
  return {
    error: {
      code: messages.length === 1 && first ? first.MessageId : general.MessageId,
      message: messages.length === 1 && first ? first.Message : general.Message,
      "@Message.ExtendedInfo": [...messages],
    },
  };
}

/** A request that fails with an HTTP status and one or more Base registry messages. */
export class RedfishError extends Error {
  readonly code = "BMC_SIM_ERR_REDFISH";
  readonly statusCode: number;
  readonly messages: RedfishMessage[];
  readonly headers: Record<string, string>;

  constructor(statusCode: number, messages: RedfishMessage[], headers: Record<string, string> = {}) {
    super(messages.map((m) => m.Message).join(" "));
    this.name = new.target.name;
    this.statusCode = statusCode;
    this.messages = messages;
    this.headers = headers;
  }

  body(): RedfishErrorBody {
    return errorBody(this.messages);
  }
}

export function redfishError(statusCode: number, key: BaseMessageKey, args: readonly string[] = []): RedfishError {
  return new RedfishError(statusCode, [baseMessage(key, args)]);
}

/** Invalid options for the simulator or its CLI. */
export class SimulatorConfigError extends Error {
  readonly code = "BMC_SIM_ERR_INVALID_CONFIG";
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A mockup directory that cannot be served. */
export class MockupError extends Error {
  readonly code = "BMC_SIM_ERR_MOCKUP";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
