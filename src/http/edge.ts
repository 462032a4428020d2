import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { z } from "zod";
import type { Env } from "../config.js";
import { log } from "../log.js";
import { discardBody } from "./body.js";
import { jsonError } from "./errors.js";
import { admin } from "./admin.js";
import { ingest } from "./ingest.js";
import { roomOf } from "./room-name.js";
import { AppId } from "./query.js";

/**
 * The Worker's HTTP edge. It answers what needs no room itself and routes each /socket.io/ request (handshake,
 * polling, WebSocket upgrade) to the Durable Object of the app named in its `app_id` query parameter.
 */
export const edge = new Hono<{ Bindings: Env }>();

// Whatever a route answered without reading, its body is read to the end so the connection stays usable.
edge.use(async (c, next) => {
  await next();
  await discardBody(c.req.raw);
});

edge.get("/health", async (c) => {
  try {
    await c.env.DB.prepare("SELECT 1").first();
    return c.json({ ok: true, d1: "ok" });
  } catch {
    return c.json({ ok: false, d1: "unavailable" }, 503);
  }
});

// Browsers poll from the app's own origin; the app's Durable Object enforces its origin allow-list (403).
edge.use("/socket.io/*", cors({ origin: (origin) => origin, credentials: true }));

edge.all("/socket.io/", (c) => {
  const appId = AppId.safeParse(c.req.query("app_id"));
  if (!appId.success) {
    return jsonError(400, "INVALID_APP_ID", z.prettifyError(appId.error).replace(/^✖ /, ""), appId.error.issues);
  }
  return roomOf(c.env, appId.data).fetch(c.req.raw);
});

// The plain-WebSocket protocol reaches the same room as socket.io clients, at the room's "/plain/" path.
edge.get("/v1/apps/:app_id/ws", (c) => {
  const appId = AppId.safeParse(c.req.param("app_id"));
  if (!appId.success) return jsonError(400, "INVALID_APP_ID", "app_id must be a positive integer");
  const url = new URL(c.req.url);
  url.pathname = "/plain/";
  url.search = `?app_id=${appId.data}`;
  return roomOf(c.env, appId.data).fetch(new Request(url, c.req.raw));
});

edge.route("/v1/apps", ingest);
edge.route("/v1/admin", admin);

edge.notFound((c) => jsonError(404, "NOT_FOUND", `no route for ${c.req.method} ${new URL(c.req.url).pathname}`));

edge.onError((error) => {
  // Hono's middleware (bearer auth) answers by throwing an HTTPException that carries its response.
  if (error instanceof HTTPException) return error.getResponse();
  log("unhandled_error", { message: error.message });
  return jsonError(500, "INTERNAL_ERROR", "the server failed to handle the request");
});
