// The mark every request the facade sends to a member carries. A Conclave facade that receives
// a marked request refuses it (508 Loop Detected): when one Conclave group aggregates another (or
// two groups aggregate each other), a request is never aggregated twice and never loops, which is
// the pain bmcweb's aggregation had to fix after the fact.

/** Lower-case, as UpstreamRequest headers are. */
export const FACADE_MARKER_HEADER = "x-conclave-facade";
export const FACADE_MARKER_VALUE = "1";
/** RFC 5842 Loop Detected. */
export const LOOP_DETECTED_STATUS = 508;
