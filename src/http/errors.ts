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

/**
 * Engine.IO's own error body (`{ code, message }`) for requests under /socket.io/, which socket.io clients and
 * the protocol's test suites read: 0 transport unknown, 1 session id unknown, 2 bad handshake method,
 * 3 bad request, 4 forbidden, 5 unsupported protocol version.
 */
export function engineError(status: number, code: number, message: string): Response {
  return Response.json({ code, message }, { status });
}
