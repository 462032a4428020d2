/**
 * Every error string the server sends as the first argument of an ack. docs/protocol.md explains each one;
 * clients compare against these exact strings.
 */
export const ErrorCode = {
  /** The server failed (storage unavailable, for example); the request may be retried. */
  INTERNAL_ERROR: "INTERNAL_ERROR",
  /** The user's messages are rejected until the mute expires or is lifted. */
  USER_IS_MUTED: "USER_IS_MUTED",
  /** The connection may not do this: anonymous sending, or a moderation command above the user's role. */
  FORBIDDEN: "FORBIDDEN",
  /** A `/` command that does not exist or whose arguments are malformed. */
  INVALID_COMMAND: "INVALID_COMMAND",
  /** The `auth` request failed validation; the connection is closed. */
  INVALID_AUTH: "INVALID_AUTH",
  /** An event other than `auth` arrived before a successful `auth`. */
  UNAUTHENTICATED: "UNAUTHENTICATED",
  /** A second `auth` arrived on a connection that already authenticated. */
  ALREADY_AUTHENTICATED: "ALREADY_AUTHENTICATED",
  /** A `new_message` payload failed validation; nothing was stored. */
  INVALID_MESSAGE: "INVALID_MESSAGE",
  /** The user is banned from the app (for a time, or for good): its `auth` is refused and the connection closed. */
  USER_IS_BANNED: "USER_IS_BANNED",
  /** The user sent messages faster than the per-user rate limit allows. */
  RATE_LIMITED: "RATE_LIMITED",
  /** The event name is not part of the Socketpot protocol. */
  UNKNOWN_EVENT: "UNKNOWN_EVENT",
  /** An anonymous `auth` while the app holds its most sessions without a user; the connection is closed. */
  TOO_MANY_CONNECTIONS: "TOO_MANY_CONNECTIONS",
  /** Plain-WebSocket protocol: the frame is not a JSON object `{ a, p?, t?, id? }`. */
  INVALID_FRAME: "INVALID_FRAME",
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
