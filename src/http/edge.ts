import { Hono, type Context } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import * as z from "zod";
import { parseConfig, type Env } from "../config.js";
import type { AppRecord } from "../storage/d1-apps.js";
import { log } from "../log.js";
import { discardBody } from "./body.js";
import { EngineErrorCode, engineError, jsonError } from "./errors.js";
import { MAX_ORIGIN_LENGTH, OriginRoutes } from "./origin-routes.js";
import { connectionShard, forwardToShard, SHARD_COUNT_HEADER, SHARD_FULL_HEADER, shardForNewConnection, shardOfSession } from "../shards.js";
import { currentShards, knownApps } from "./known-apps.js";
import { AppId } from "./query.js";
import { clientIp } from "./client-ip.js";
import { isUpgrade } from "./upgrade.js";
import { OnFirstUse } from "../deferred.js";
import { buildAdminApi } from "./admin.js";
import { buildIngestApi } from "./ingest.js";

/**
 * The Worker's HTTP edge. It answers what needs no room itself and routes each /socket.io/ request (handshake,
 * polling, WebSocket upgrade) to the Durable Object of its app: the one its `app_id` query parameter names, or
 * the one that registered its Origin.
 */
export const edge = new Hono<{ Bindings: Env }>();

// Whatever a route answered without reading, its body is read to the end so the connection stays usable.
edge.use(async (c, next) => {
  await next();
  await discardBody(c.req.raw);
});

// Answered by the Worker alone, so that anyone may poll it at no cost to D1; the deep check is the admin API's.
edge.get("/health", (c) => c.json({ ok: true }));

// Browsers poll from the app's own origin; the app's Durable Object enforces its origin allow-list (403).
// A WebSocket upgrade is outside CORS, and it is the connect path: it skips the middleware.
const socketIoCors = cors({ origin: (origin) => origin, credentials: true });
edge.use("/socket.io/*", (c, next) => (isUpgrade(c.req.raw) ? next() : socketIoCors(c, next)));

edge.all("/socket.io/", async (c) => {
  const route = await socketIoRoute(c.env.DB, c.req.raw, c.req.query("app_id"));
  if (route instanceof Response) return route;
  const app = await knownApps.find(c.env.DB, route.appId);
  if (app === null) return engineError(404, EngineErrorCode.BAD_REQUEST, unknownApp(route.appId));
  const sid = c.req.query("sid");
  if (sid === undefined) return openConnection(c.env, app, route.request);
  // A session stays on the shard that opened it, whatever the app's shard count is by now.
  const shard = shardOfSession(sid);
  if (shard === null) return engineError(400, EngineErrorCode.UNKNOWN_SID, "Session ID unknown");
  return forwardToShard(c.env, app, shard, route.request);
});

/**
 * Opens a connection on the shard its address goes to; if that shard holds its most connections, on the next
 * one, and so on over the app's shards. The answer may say the app's shard count as its room last chose it,
 * which this isolate follows from then on.
 */
async function openConnection(env: Env, app: AppRecord, request: Request): Promise<Response> {
  const shards = currentShards(app, parseConfig(env).roomShards);
  const first = shardForNewConnection(shards, clientIp(request));
  for (let attempt = 1; ; attempt++) {
    const response = await forwardToShard(env, app, first === 0 ? 0 : 1 + ((first - 1 + attempt - 1) % shards), request);
    const told = connectionShard(response.headers.get(SHARD_COUNT_HEADER));
    if (told !== null) knownApps.tell(app.id, told);
    if (!response.headers.has(SHARD_FULL_HEADER) || attempt >= shards) return response;
    await response.body?.cancel();
  }
}

const unknownApp = (appId: number) => `there is no app with id ${appId}`;


const originRoutes = new OriginRoutes();
const HOW_TO_NAME_THE_APP = "add ?app_id=N to the socket URL (io(url, { query: { app_id: N } }))";

/**
 * The app a /socket.io/ request is for: the `app_id` in its query, or, for clients that name the app only in
 * `auth` (Socketpot apps of 2015 connect with `io(host)`), the one app that registered the request's Origin.
 * Such a request reaches the room as if it had named the app, so every later poll and the upgrade, routed the
 * same way, land on the same room. Errors are in Engine.IO's shape, which socket.io clients pass to
 * `connect_error`.
 */
async function socketIoRoute(db: D1Database, request: Request, appIdParam: string | undefined): Promise<{ appId: number; request: Request } | Response> {
  if (appIdParam !== undefined) {
    const appId = AppId.safeParse(appIdParam);
    if (!appId.success) return engineError(400, EngineErrorCode.BAD_REQUEST, `${z.prettifyError(appId.error).replace(/^✖ /, "")}: ${HOW_TO_NAME_THE_APP}`);
    return { appId: appId.data, request };
  }
  const origin = request.headers.get("Origin");
  if (origin === null) {
    return engineError(400, EngineErrorCode.BAD_REQUEST, `this request names no app and has no Origin to find it by: ${HOW_TO_NAME_THE_APP}`);
  }
  if (origin.length > MAX_ORIGIN_LENGTH) {
    return engineError(400, EngineErrorCode.BAD_REQUEST, `this request names no app and its Origin is longer than ${MAX_ORIGIN_LENGTH} characters: ${HOW_TO_NAME_THE_APP}`);
  }
  const route = await originRoutes.route(db, origin);
  if (route.kind === "unregistered") {
    return engineError(
      400,
      EngineErrorCode.BAD_REQUEST,
      `no app has registered the origin ${origin}: ${HOW_TO_NAME_THE_APP}, or add ${origin} to the app's allowed_origins`,
    );
  }
  if (route.kind === "ambiguous") {
    return engineError(
      400,
      EngineErrorCode.BAD_REQUEST,
      `the origin ${origin} is registered by several apps (${route.appIds.join(", ")}): ${HOW_TO_NAME_THE_APP} to choose one`,
    );
  }
  const url = new URL(request.url);
  url.searchParams.set("app_id", String(route.appId));
  return { appId: route.appId, request: new Request(url, request) };
}

// The plain-WebSocket protocol reaches the same shards as socket.io clients, which read the app id from its path.
edge.get("/v1/apps/:app_id/ws", async (c) => {
  const appId = AppId.safeParse(c.req.param("app_id"));
  if (!appId.success) return jsonError(400, "INVALID_APP_ID", "app_id must be a positive integer");
  const app = await knownApps.find(c.env.DB, appId.data);
  if (app === null) return jsonError(404, "UNKNOWN_APP", unknownApp(appId.data));
  return openConnection(c.env, app, c.req.raw);
});

/**
 * An API of its own module, built and mounted at `prefix` on its first request (src/deferred.ts says why), under
 * the edge's own answers to unknown routes and errors.
 */
function mountedOnFirstUse(prefix: string, build: () => Hono<any>): OnFirstUse<Hono<{ Bindings: Env }>> {
  return new OnFirstUse(() => new Hono<{ Bindings: Env }>().route(prefix, build()).notFound(answerNotFound).onError(answerError));
}

/** The APIs a connecting client never uses (test/worker/cold-path.test.ts: serving connects builds neither). */
export const apisOnFirstUse = {
  admin: mountedOnFirstUse("/v1/admin", buildAdminApi),
  ingest: mountedOnFirstUse("/v1/apps", buildIngestApi),
};
edge.all("/v1/apps/:app_id/events", (c) => apisOnFirstUse.ingest.get().fetch(c.req.raw, c.env, c.executionCtx));
edge.all("/v1/admin/*", (c) => apisOnFirstUse.admin.get().fetch(c.req.raw, c.env, c.executionCtx));

const isSocketIo = (request: Request) => new URL(request.url).pathname.startsWith("/socket.io");

function answerNotFound(c: Context): Response {
  const message = `no route for ${c.req.method} ${new URL(c.req.url).pathname}`;
  return isSocketIo(c.req.raw) ? engineError(404, EngineErrorCode.BAD_REQUEST, `${message}; the socket.io path is /socket.io/`) : jsonError(404, "NOT_FOUND", message);
}
edge.notFound(answerNotFound);

edge.onError(answerError);

function answerError(error: Error, c: Context): Response {
  // Hono's middleware answers by throwing an HTTPException: bearer auth's carries its response; the body
  // validators' (malformed JSON, a body that is not JSON) carry only a status and a sentence.
  if (error instanceof HTTPException) return error.res ?? jsonError(error.status, error.status === 415 ? "UNSUPPORTED_MEDIA_TYPE" : "INVALID_REQUEST", error.message);
  log("unhandled_error", { message: error.message });
  const message = "the server failed to handle the request";
  return isSocketIo(c.req.raw) ? engineError(500, EngineErrorCode.BAD_REQUEST, message) : jsonError(500, "INTERNAL_ERROR", message);
}
