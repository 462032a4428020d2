import type { Context, MiddlewareHandler } from "hono";
import { bearerAuth } from "hono/bearer-auth";
import { timingSafeEqual } from "hono/utils/buffer";
import type { Env } from "../config.js";
import { jsonError } from "./errors.js";

type BearerEnv = { Bindings: Env; Variables?: object };

/**
 * Hono's bearer auth with the product's JSON errors. `verify` judges the presented secret; `expected` names
 * what to send, for the error message.
 */
export function bearer<E extends BearerEnv>(expected: string, verify: (presented: string, c: Context<E>) => Promise<boolean>): MiddlewareHandler<E> {
  const unauthorized = (message: string) => ({ message: { error: "UNAUTHORIZED", message } });
  return bearerAuth<E>({
    verifyToken: verify,
    noAuthenticationHeader: unauthorized(`send Authorization: Bearer <${expected}>`),
    invalidAuthenticationHeader: unauthorized("malformed Authorization header"),
    invalidToken: unauthorized("invalid token"),
  });
}

/** Whether `presented` is the deployment's secret `secret`, compared in constant time; never when it is unset. */
export async function isSecret(env: Env, secret: "INGEST_TOKEN" | "ADMIN_TOKEN", presented: string): Promise<boolean> {
  const expected = env[secret];
  return expected !== undefined && expected !== "" && (await timingSafeEqual(expected, presented));
}

/**
 * Guards routes with the bearer token kept in the secret `secret`. Without the secret the routes are off (503),
 * so a deployment that forgot it is not open.
 */
export function requireSecret<E extends BearerEnv>(secret: "INGEST_TOKEN" | "ADMIN_TOKEN"): MiddlewareHandler<E> {
  const guard = bearer<E>(secret, (presented, c) => isSecret(c.env, secret, presented));
  return async (c, next) => {
    if (!c.env[secret]) return jsonError(503, "DISABLED", `the ${secret} secret is not set on this deployment`);
    return guard(c, next);
  };
}
