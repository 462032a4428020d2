import type { MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import type { Env } from "../config.js";
import { jsonError } from "./errors.js";

/**
 * Guards routes with the bearer token kept in the secret `secret`, compared in constant time by Hono's
 * middleware. Without the secret the routes are off (503), so a deployment that forgot it is not open.
 */
export function requireSecret(secret: "INGEST_TOKEN" | "ADMIN_TOKEN"): MiddlewareHandler<{ Bindings: Env }> {
  const unauthorized = (message: string) => ({ message: { error: "UNAUTHORIZED", message } });
  return async (c, next) => {
    const token = c.env[secret];
    if (!token) return jsonError(503, "DISABLED", `the ${secret} secret is not set on this deployment`);
    return bearerAuth<{ Bindings: Env }>({
      token,
      noAuthenticationHeader: unauthorized(`send Authorization: Bearer <${secret}>`),
      invalidAuthenticationHeader: unauthorized("malformed Authorization header"),
      invalidToken: unauthorized("invalid token"),
    })(c, next);
  };
}
