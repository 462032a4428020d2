/** The product's JSON error body: a stable machine-readable code and a sentence for the developer. */
export interface ErrorBody {
  error: string;
  message: string;
  issues?: unknown;
}

export function jsonError(status: number, error: string, message: string, issues?: unknown): Response {
  const body: ErrorBody = issues === undefined ? { error, message } : { error, message, issues };
  return Response.json(body, { status });
}

/** 403 for an app key used for another app than its own, `appId`. */
export function keyOfAnotherApp(appId: number): Response {
  return jsonError(403, "FORBIDDEN", `this key is for app ${appId} only`);
}

/** 403 for an app key that lacks the scope an operation needs; `scope` names it, for the key's owner to add. */
export function insufficientScope(scope: string): Response {
  return Response.json({ error: "INSUFFICIENT_SCOPE", scope, message: `this operation needs a key with the scope ${scope}` }, { status: 403 });
}

/** Engine.IO's error codes, as its reference server and the protocol's test suites use them. */
export const EngineErrorCode = {
  TRANSPORT_UNKNOWN: 0,
  UNKNOWN_SID: 1,
  BAD_HANDSHAKE_METHOD: 2,
  BAD_REQUEST: 3,
  FORBIDDEN: 4,
  UNSUPPORTED_PROTOCOL_VERSION: 5,
} as const;
export type EngineErrorCode = (typeof EngineErrorCode)[keyof typeof EngineErrorCode];

/**
 * Engine.IO's own error body (`{ code, message }`), the one shape of every error under /socket.io/: socket.io
 * clients hand it to `connect_error` (as the failed request's response) and the protocol's test suites read it.
 */
export function engineError(status: number, code: EngineErrorCode, message: string): Response {
  return Response.json({ code, message }, { status });
}

/**
 * A request turned away before any protocol took it (unknown app, origin not allowed, too many connections),
 * answered in the shape of the endpoint it came to: Engine.IO's for /socket.io/, the product's elsewhere.
 */
export interface Refusal {
  status: number;
  /** The product's error name, for JSON endpoints. */
  error: string;
  /** The Engine.IO error code, for /socket.io/. */
  code: EngineErrorCode;
  message: string;
  /** Headers for the Worker (e.g. that another shard may take the connection). */
  headers?: Record<string, string>;
}

export function refusalResponse(refusal: Refusal, shape: "engine.io" | "json"): Response {
  const response = shape === "engine.io" ? engineError(refusal.status, refusal.code, refusal.message) : jsonError(refusal.status, refusal.error, refusal.message);
  for (const [name, value] of Object.entries(refusal.headers ?? {})) response.headers.set(name, value);
  return response;
}
