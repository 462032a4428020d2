import { OpenAPIHono, createRoute, type RouteConfig } from "@hono/zod-openapi";
import * as z from "zod";
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import { parseConfig, type Env } from "../config.js";
import { D1_DATABASE_BYTES } from "../limits.js";
import { log } from "../log.js";
import { roomOf, shardPlanOf } from "../shards.js";
import { D1Admin } from "../storage/d1-admin.js";
import { findApp, type AppRecord } from "../storage/d1-apps.js";
import { D1Credentials } from "../storage/d1-credentials.js";
import type { Scope } from "../credentials.js";
import { buildAdminSchemas, metricsSpan } from "./admin-schemas.js";
import { bearer, isSecret } from "./bearer.js";
import { insufficientScope, jsonError, keyOfAnotherApp } from "./errors.js";
import { currentShards, knownApps } from "./known-apps.js";
import { parseWebhookConfig } from "../config.js";
import { D1Webhooks } from "../storage/d1-webhooks.js";
import { D1Metrics } from "../storage/d1-metrics.js";
import { OPENMETRICS_CONTENT_TYPE, renderOpenMetrics } from "../metrics/openmetrics.js";
import { newWebhookSecret, sealSecret } from "../webhooks/secrets.js";
import { webhookUrlProblem } from "../webhooks/urls.js";

/** Who calls: the holder of the `ADMIN_TOKEN` secret, or an app's backend with one of the app's keys. */
type Caller = { kind: "operator" } | { kind: "app"; appId: number; keyId: number; scopes: Scope[] };

type AdminEnv = { Bindings: Env; Variables: { app: AppRecord; caller: Caller } };

/** Where the build puts the admin API's OpenAPI document among the static assets; the Worker serves it. */
export const ADMIN_OPENAPI_ASSET = "/v1/admin/openapi.json";

/**
 * The admin API's OpenAPI document, generated from its routes and their zod schemas. The build calls this in Node
 * (scripts/build-assets.mjs): the Worker's bundle holds zod-to-openapi's registry but not its generator
 * (src/bundle/zod-to-openapi-without-generator.ts), so that no isolate compiles what only the build runs.
 */
export function adminOpenApiDocument() {
  return buildAdminApi().getOpenAPI31Document({
    openapi: "3.1.0",
    info: { title: "Socketpot Edge admin API", version: "1" },
    security: [{ AdminToken: [] }],
  });
}

/**
 * The operator's API under /v1/admin, behind the `ADMIN_TOKEN` secret (bearer, compared in constant time):
 * apps, access tokens, app keys, and the moderation of messages and mutes; an app's backend calls the operations
 * of its own app with one of its keys, within the key's scopes. Each route is declared with the
 * zod schemas that validate it, and the build generates the OpenAPI document at /v1/admin/openapi.json from them.
 * Changes a room caches (revoked tokens, deleted messages, lifted mutes) go through the app's Durable Object,
 * which updates storage, its cache and its clients.
 */
export function buildAdminApi(): OpenAPIHono<AdminEnv> {
  const schema = buildAdminSchemas();

  const admin = new OpenAPIHono<AdminEnv>({
    defaultHook: (result) => {
      if (result.success) return;
      if (result.target === "param") {
        const field = String(result.error.issues[0]?.path[0] ?? "id");
        const message = field.endsWith("id") ? `${field} must be a positive integer` : (result.error.issues[0]?.message ?? `${field} is malformed`);
        return jsonError(400, `INVALID_${field.toUpperCase()}`, message);
      }
      return jsonError(400, "INVALID_REQUEST", z.prettifyError(result.error), result.error.issues);
    },
  });

  admin.openAPIRegistry.registerComponent("securitySchemes", "AdminToken", { type: "http", scheme: "bearer", description: "the ADMIN_TOKEN secret" });
  admin.openAPIRegistry.registerComponent("securitySchemes", "AppKey", {
    type: "http",
    scheme: "bearer",
    description: "one of the app's keys (spk_…), for its own app only, within its scopes (each operation names the one it needs)",
  });

  // Without the secret the API is off (503): a deployment that forgot it is not open, to operators or keys.
  admin.use("*", async (c, next) => (c.env.ADMIN_TOKEN ? next() : jsonError(503, "DISABLED", "the ADMIN_TOKEN secret is not set on this deployment")));
  admin.use(
    "*",
    bearer<AdminEnv>("ADMIN_TOKEN or an app key", async (presented, c) => {
      if (await isSecret(c.env, "ADMIN_TOKEN", presented)) {
        c.set("caller", { kind: "operator" });
        return true;
      }
      const key = await credentials(c).liveKey(presented);
      if (key) c.set("caller", { kind: "app", appId: key.appId, keyId: key.id, scopes: key.scopes });
      return key !== null;
    }),
  );

  // Every body of this API is small (the largest, an app's allowed origins or a pushed event, a few tens of KB).
  const MAX_ADMIN_BODY_BYTES = 100_000;
  admin.use("*", bodyLimit({ maxSize: MAX_ADMIN_BODY_BYTES, onError: () => jsonError(413, "PAYLOAD_TOO_LARGE", `the body must be at most ${MAX_ADMIN_BODY_BYTES} bytes`) }));

  /**
   * The app named by the path must exist: 400 for a malformed id, 404 for an unknown one; an app key names its
   * own app only (403 for another, before anything of it is read).
   */
  const knownApp: MiddlewareHandler<AdminEnv> = async (c, next) => {
    const appId = schema.AppPath.shape.app_id.safeParse(c.req.param("app_id"));
    if (!appId.success) return jsonError(400, "INVALID_APP_ID", "app_id must be a positive integer");
    const caller = c.get("caller");
    if (caller.kind === "app" && caller.appId !== appId.data) return keyOfAnotherApp(caller.appId);
    const record = await findApp(c.env.DB, appId.data);
    if (!record) return jsonError(404, "UNKNOWN_APP", `there is no app with id ${appId.data}`);
    c.set("app", record);
    await next();
  };
  admin.use("/apps/:app_id", knownApp);
  admin.use("/apps/:app_id/*", knownApp);

  /** One structured line per change an operator makes: what, in which app, to which object; never a secret. */
  function audit(action: string, appId: number, objectId: number | string): void {
    log("admin_audit", { action, app_id: appId, object_id: objectId });
  }

  const json = <T extends z.ZodType>(schema: T, description: string) => ({ content: { "application/json": { schema } }, description });
  const body = <T extends z.ZodType>(schema: T) => ({ content: { "application/json": { schema } }, required: true });
  const failures = {
    400: json(schema.ErrorBody, "the request is malformed; `issues` lists what zod found"),
    401: json(schema.ErrorBody, "no or wrong admin token or app key"),
    403: json(schema.ErrorBody, "an app key of another app, or without the scope the operation needs (INSUFFICIENT_SCOPE)"),
    404: json(schema.ErrorBody, "no such app, or no such object in it"),
  };
  const noContent = { 204: { description: "done" } };

  /**
   * Lets the operation through for the operator, and for an app key that holds `need` (a scope; "operator": no
   * key may call it).
   */
  function allow(need: Scope | "operator" | "any"): MiddlewareHandler<AdminEnv> {
    return async (c, next) => {
      const caller = c.get("caller");
      if (caller.kind === "app" && need !== "any") {
        if (need === "operator") return jsonError(403, "FORBIDDEN", "this operation takes the ADMIN_TOKEN; an app key cannot call it");
        if (!caller.scopes.includes(need)) return insufficientScope(need);
      }
      await next();
    };
  }

  /**
   * An operation of the API: who may call it (`scope`: the operator, and app keys that hold this scope, or
   * "operator" alone) is declared with it, enforced, and published in the OpenAPI document.
   */
  function route<const R extends Omit<RouteConfig, "responses" | "security"> & { responses: RouteConfig["responses"]; scope: Scope | "operator" | "any" }>(
    config: R,
  ) {
    const { scope, ...operation } = config;
    const security: RouteConfig["security"] =
      scope === "operator" ? [{ AdminToken: [] }] : [{ AdminToken: [] }, { AppKey: scope === "any" ? [] : [scope] }];
    const middleware: MiddlewareHandler = allow(scope) as MiddlewareHandler;
    return createRoute({ ...operation, security, middleware, responses: { ...failures, ...config.responses } });
  }

  /** The most of a user's messages one erasure call deletes (and clients are told of). */
  const ERASE_MESSAGES_PER_CALL = 10_000;

  const credentials = (c: { env: Env }) => new D1Credentials(c.env.DB);
  const store = (c: { env: Env }) => {
    const config = parseConfig(c.env);
    return new D1Admin(c.env.DB, { shards: config.roomShards, retentionDays: config.messageRetentionDays });
  };
  /** The cursor of the next page (`next_after` or `next_before`): the last id of a full page, null after the last. */
  const nextCursor = <T extends { id: number }>(page: T[], limit: number) => (page.length === limit ? page.at(-1)!.id : null);

  admin.openapi(
    route({ scope: "operator", method: "post", path: "/apps", summary: "Create an app", request: { body: body(schema.CreateApp) }, responses: { 201: json(schema.App, "the app") } }),
    async (c) => {
      const app = await store(c).createApp(c.req.valid("json"), Date.now());
      knownApps.changed(app.id);
      audit("app_created", app.id, app.id);
      return c.json(app, 201);
    },
  );

  admin.openapi(
    route({
      scope: "any",
      method: "get",
      path: "/whoami",
      summary: "Who the bearer is: the operator, or an app key with its app and scopes",
      description: "For tools such as the console, which sign in with either and show what the caller may do.",
      responses: { 200: json(schema.Caller, "the caller") },
    }),
    async (c) => {
      const caller = c.get("caller");
      return c.json(caller.kind === "operator" ? { kind: "operator" as const } : { kind: "app_key" as const, app_id: caller.appId, key_id: caller.keyId, scopes: caller.scopes }, 200);
    },
  );

  admin.openapi(
    route({ scope: "stats:read", method: "get", path: "/apps/{app_id}", summary: "An app's settings", request: { params: schema.AppPath }, responses: { 200: json(schema.App, "the app") } }),
    async (c) => c.json(store(c).appView(c.get("app")), 200),
  );

  admin.openapi(
    route({ scope: "operator", method: "get", path: "/apps", summary: "List apps", request: { query: schema.Page }, responses: { 200: json(schema.AppList, "a page of apps, in id order") } }),
    async (c) => {
      const { limit, after } = c.req.valid("query");
      const apps = await store(c).listApps(limit, after);
      return c.json({ apps, next_after: nextCursor(apps, limit) }, 200);
    },
  );

  admin.openapi(
    route({
      scope: "operator",
      method: "patch",
      path: "/apps/{app_id}",
      summary: "Change an app's name, allowed origins, shards (a fixed count, or automatic within bounds), message retention or location hint",
      description:
        "Connections already open stay where they are; new ones follow a new shard count (in every isolate within a minute). A shorter retention takes effect at the next scheduled clean-up (every ten minutes). A location hint acts on objects created from then on; the jurisdiction cannot change.",
      request: { params: schema.AppPath, body: body(schema.UpdateApp) },
      responses: { 200: json(schema.App, "the app as changed") },
    }),
    async (c) => {
      const { app_id } = c.req.valid("param");
      const change = c.req.valid("json");
      const updated = await store(c).updateApp(app_id, change);
      if (!updated) return c.json({ error: "UNKNOWN_APP", message: `there is no app with id ${app_id}` }, 404);
      knownApps.changed(app_id);
      audit("app_updated", app_id, app_id);
      return c.json(updated, 200);
    },
  );

  admin.openapi(
    route({ scope: "stats:read", method: "get", path: "/apps/{app_id}/stats", summary: "An app's connections and users, per shard", request: { params: schema.AppPath }, responses: { 200: json(schema.AppStats, "live figures") } }),
    async (c) => {
      const app = c.get("app");
      const { roomShards } = parseConfig(c.env);
      const stats = await roomOf(c.env, app).stats(app.id, currentShards(app, roomShards));
      return c.json({ ...stats, shard_mode: shardPlanOf(app, roomShards).kind }, 200);
    },
  );

  admin.openapi(
    route({
      scope: "stats:read",
      method: "get",
      path: "/apps/{app_id}/metrics",
      summary: "An app's metrics by minute: connects, sessions and failed auths, chat messages taken, rate-limited and refused, broadcasts delivered, sessions recovered or not, Queue events received and delivered and dead-lettered, webhook deliveries and failed attempts; connections by transport and client generation, users and shards",
      description: "Every minute from `from` to `to` (an hour by default, 48 hours at most): counts, with zeros where nothing was counted, and gauges as they stood at the end of the minute. Counts reach storage within seconds of the event; this answer includes the latest.",
      request: { params: schema.AppPath, query: schema.MetricsQuery },
      responses: { 200: json(schema.AppMetrics, "the series") },
    }),
    async (c) => {
      const app = c.get("app");
      const span = metricsSpan(c.req.valid("query"), Date.now());
      if ("problem" in span) return c.json({ error: "INVALID_REQUEST", message: span.problem }, 400);
      const [counted, attempts, deadLettered] = await Promise.all([
        roomOf(c.env, app).metrics(app.id, span.from, span.to, currentShards(app, parseConfig(c.env).roomShards)),
        webhooks(c).attemptsByMinute(app.id, span.from, span.to),
        new D1Metrics(c.env.DB).minuteCounts(app.id, "dead_lettered", span.from, span.to),
      ]);
      const series = counted.map((minute) => {
        const start = Date.parse(minute.minute);
        const attempted = attempts.get(start);
        return { ...minute, webhook_deliveries: attempted?.delivered ?? 0, webhook_failures: attempted?.failed ?? 0, dead_lettered: deadLettered.get(start) ?? 0 };
      });
      return c.json({ app_id: app.id, step_seconds: 60 as const, series }, 200);
    },
  );

  admin.openapi(
    route({
      scope: "operator",
      method: "get",
      path: "/metrics",
      summary: "Every app's metrics for scraping, in the OpenMetrics text format",
      description:
        "Counters (totals that only grow) and gauges, labelled by app, as each of the app's objects last exported them: within a minute or so of what happened. Read from D1, so a scrape wakes no room. docs/operations.md lists the metrics.",
      responses: { 200: { description: "OpenMetrics 1.0 text", content: { "application/openmetrics-text": { schema: z.string() } } } },
    }),
    async (c) => c.body(renderOpenMetrics(await new D1Metrics(c.env.DB).scrape()), 200, { "Content-Type": OPENMETRICS_CONTENT_TYPE }),
  );

  admin.openapi(
    route({
      scope: "stats:read",
      method: "get",
      path: "/apps/{app_id}/storage",
      summary: "How many messages an app stores, since when, and how long it keeps them",
      description: "Counting reads each of the app's messages once, and D1 bills rows read: an app's retention bounds it.",
      request: { params: schema.AppPath },
      responses: { 200: json(schema.AppStorage, "the app's share of the database") },
    }),
    async (c) => c.json(await store(c).appStorage(c.get("app")), 200),
  );

  admin.openapi(
    route({
      scope: "operator",
      method: "get",
      path: "/storage",
      summary: "The database's size, against D1's limit on one database",
      responses: { 200: json(schema.Storage, "the database's size") },
    }),
    async (c) => c.json({ database_bytes: await store(c).databaseBytes(), database_max_bytes: D1_DATABASE_BYTES }, 200),
  );

  admin.openapi(
    route({
      scope: "tokens:write",
      method: "post",
      path: "/apps/{app_id}/tokens",
      summary: "Issue an access token to a user",
      description: "The token is in this answer only; the server keeps its SHA-256 digest.",
      request: { params: schema.AppPath, body: body(schema.IssueToken) },
      responses: { 201: json(schema.IssuedToken, "the token, shown once") },
    }),
    async (c) => {
      const { app_id } = c.req.valid("param");
      const { expires_at, ...user } = c.req.valid("json");
      const token = await credentials(c).issueToken(app_id, user, expires_at ? Date.parse(expires_at) : null, Date.now());
      audit("token_issued", app_id, token.id);
      return c.json(token, 201);
    },
  );

  admin.openapi(
    route({ scope: "tokens:write", method: "get", path: "/apps/{app_id}/tokens", summary: "List an app's access tokens, without the tokens", request: { params: schema.AppPath, query: schema.TokenPage }, responses: { 200: json(schema.TokenList, "a page of tokens, in id order") } }),
    async (c) => {
      const { app_id } = c.req.valid("param");
      const { auth_id, limit, after } = c.req.valid("query");
      const tokens = await credentials(c).listTokens(app_id, auth_id, limit, after);
      return c.json({ tokens, next_after: nextCursor(tokens, limit) }, 200);
    },
  );

  admin.openapi(
    route({
      scope: "tokens:write",
      method: "delete",
      path: "/apps/{app_id}/tokens/{token_id}",
      summary: "Revoke an access token",
      description: "Takes effect at once: the sessions authenticated with it end (the client is told why), and the next auth with it is anonymous.",
      request: { params: schema.TokenPath },
      responses: noContent,
    }),
    async (c) => {
      const { app_id, token_id } = c.req.valid("param");
      const digest = await credentials(c).revokeToken(app_id, token_id, Date.now());
      if (digest === null) return jsonError(404, "UNKNOWN_TOKEN", "this app has no such token");
      await roomOf(c.env, c.get("app")).forgetToken(app_id, digest);
      audit("token_revoked", app_id, token_id);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({
      scope: "tokens:write",
      method: "post",
      path: "/apps/{app_id}/signing-keys",
      summary: "Register a public key with which the app's backend signs its users' access tokens (JWTs)",
      description:
        "ES256 (P-256) or EdDSA (Ed25519), named by its kid. Tokens signed with it authenticate as their claims (docs/backend.md); a running room uses it at once.",
      request: { params: schema.AppPath, body: body(schema.AddSigningKey) },
      responses: { 201: json(schema.SigningKey, "the key as registered"), 409: json(schema.ErrorBody, "the app has a key with this kid") },
    }),
    async (c) => {
      const app = c.get("app");
      const key = await credentials(c).addSigningKey(app.id, c.req.valid("json").jwk, Date.now());
      if (!key) return c.json({ error: "KID_TAKEN", message: "this app already has a signing key with this kid; delete it first, or use another kid" }, 409);
      await roomOf(c.env, app).forgetSigningKeys(app.id, null);
      audit("signing_key_added", app.id, key.id);
      return c.json(key, 201);
    },
  );

  admin.openapi(
    route({
      scope: "tokens:write",
      method: "get",
      path: "/apps/{app_id}/signing-keys",
      summary: "List the app's signing keys",
      request: { params: schema.AppPath },
      responses: { 200: json(schema.SigningKeyList, "the keys, oldest first") },
    }),
    async (c) => c.json({ signing_keys: await credentials(c).listSigningKeys(c.get("app").id) }, 200),
  );

  admin.openapi(
    route({
      scope: "tokens:write",
      method: "delete",
      path: "/apps/{app_id}/signing-keys/{signing_key_id}",
      summary: "Delete a signing key",
      description: "Tokens it signed no longer authenticate: the sessions authenticated with them end at once (the client is told why), and new auths with them are anonymous.",
      request: { params: schema.SigningKeyPath },
      responses: noContent,
    }),
    async (c) => {
      const app = c.get("app");
      const { signing_key_id } = c.req.valid("param");
      const kid = await credentials(c).deleteSigningKey(app.id, signing_key_id);
      if (kid === null) return jsonError(404, "UNKNOWN_SIGNING_KEY", "this app has no such signing key");
      await roomOf(c.env, app).forgetSigningKeys(app.id, kid);
      audit("signing_key_deleted", app.id, signing_key_id);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({
      scope: "operator",
      method: "post",
      path: "/apps/{app_id}/keys",
      summary: "Issue an app key, with which the app's backend calls this API for this app only, within its scopes",
      description:
        "The key is in this answer only; the server keeps its SHA-256 digest. Without a body (or without `scopes`) the key gets `events:write`: it posts events, as keys always could.",
      request: { params: schema.AppPath, body: { content: { "application/json": { schema: schema.IssueKey } }, required: false } },
      responses: { 201: json(schema.IssuedKey, "the key, shown once") },
    }),
    async (c) => {
      const { app_id } = c.req.valid("param");
      const { scopes } = schema.IssueKey.parse(c.req.valid("json"));
      const key = await credentials(c).issueKey(app_id, scopes, Date.now());
      audit("key_issued", app_id, key.id);
      return c.json(key, 201);
    },
  );

  admin.openapi(
    route({ scope: "operator", method: "get", path: "/apps/{app_id}/keys", summary: "List an app's keys and their scopes, without the keys", request: { params: schema.AppPath, query: schema.Page }, responses: { 200: json(schema.KeyList, "a page of keys, in id order") } }),
    async (c) => {
      const { app_id } = c.req.valid("param");
      const { limit, after } = c.req.valid("query");
      const keys = await credentials(c).listKeys(app_id, limit, after);
      return c.json({ keys, next_after: nextCursor(keys, limit) }, 200);
    },
  );

  admin.openapi(
    route({ scope: "operator", method: "delete", path: "/apps/{app_id}/keys/{key_id}", summary: "Revoke an app key", description: "Its next request gets 401.", request: { params: schema.KeyPath }, responses: noContent }),
    async (c) => {
      const { app_id, key_id } = c.req.valid("param");
      if (!(await credentials(c).revokeKey(app_id, key_id, Date.now()))) return jsonError(404, "UNKNOWN_KEY", "this app has no such key");
      audit("key_revoked", app_id, key_id);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({ scope: "messages:read", method: "get", path: "/apps/{app_id}/messages", summary: "List messages, newest first", request: { params: schema.AppPath, query: schema.MessagePage }, responses: { 200: json(schema.MessageList, "a page of messages") } }),
    async (c) => {
      const { app_id } = c.req.valid("param");
      const { channel, limit, before } = c.req.valid("query");
      const messages = await store(c).listMessages(app_id, channel, limit, before);
      return c.json({ messages, next_before: nextCursor(messages, limit) }, 200);
    },
  );

  admin.openapi(
    route({
      scope: "moderation:write",
      method: "delete",
      path: "/apps/{app_id}/messages/{message_id}",
      summary: "Delete a message",
      description: "CHAT subscribers get message_deleted, and the message leaves the history new clients get.",
      request: { params: schema.MessagePath },
      responses: noContent,
    }),
    async (c) => {
      const { app_id, message_id } = c.req.valid("param");
      if (!(await roomOf(c.env, c.get("app")).deleteMessage(app_id, message_id))) return jsonError(404, "UNKNOWN_MESSAGE", "this app has no such message");
      audit("message_deleted", app_id, message_id);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({
      scope: "messages:write",
      method: "post",
      path: "/apps/{app_id}/messages",
      summary: "Post a system message",
      description: "Stored and in the history like any message, delivered to CHAT subscribers as new_message with no user. The text follows a user's rules (at most 300 characters, one line).",
      request: { params: schema.AppPath, body: body(schema.PublishMessage) },
      responses: { 201: json(schema.Message, "the message as stored") },
    }),
    async (c) => {
      const app = c.get("app");
      const { channel, text } = c.req.valid("json");
      const message = await roomOf(c.env, app).publishMessage(app.id, channel, text);
      audit("message_published", app.id, message.id);
      return c.json(message, 201);
    },
  );

  admin.openapi(
    route({
      scope: "messages:write",
      method: "post",
      path: "/apps/{app_id}/broadcasts",
      summary: "Push an event of the app's own to its clients",
      description:
        "To every session of the app (anonymous ones included), or with auth_id only to that user's. socket.io clients receive `event` with `data`; plain-WebSocket clients the frame {\"a\": event, \"p\": data}.",
      request: { params: schema.AppPath, body: body(schema.PushEvent) },
      responses: { 202: json(schema.PushedEvent, "sent to the sessions there are now") },
    }),
    async (c) => {
      const app = c.get("app");
      const { event, data, auth_id } = c.req.valid("json");
      await roomOf(c.env, app).pushEvent(app.id, event, data, auth_id ?? null);
      return c.json({ event, auth_id: auth_id ?? null }, 202);
    },
  );

  admin.openapi(
    route({
      scope: "moderation:write",
      method: "put",
      path: "/apps/{app_id}/slow-mode/{channel}",
      summary: "Put a channel in slow mode",
      description: "A MEMBER's message sooner than `seconds` after its last in the channel gets RATE_LIMITED; MODs and OWNERs are exempt. Takes effect at once.",
      request: { params: schema.ChannelPath, body: body(schema.SlowModeBody) },
      responses: { 200: json(schema.ChannelSlowMode, "the channel's slow mode") },
    }),
    async (c) => {
      const app = c.get("app");
      const { channel } = c.req.valid("param");
      const { seconds } = c.req.valid("json");
      const intervalMs = seconds * 1000;
      await store(c).setSlowMode(app.id, channel, intervalMs);
      await roomOf(c.env, app).setSlowMode(app.id, channel, intervalMs);
      audit("slow_mode_set", app.id, channel);
      return c.json({ channel, seconds }, 200);
    },
  );

  admin.openapi(
    route({ scope: "moderation:write", method: "delete", path: "/apps/{app_id}/slow-mode/{channel}", summary: "End a channel's slow mode", request: { params: schema.ChannelPath }, responses: noContent }),
    async (c) => {
      const app = c.get("app");
      const { channel } = c.req.valid("param");
      if (!(await store(c).endSlowMode(app.id, channel))) return jsonError(404, "NOT_SLOW", "this channel is not in slow mode");
      await roomOf(c.env, app).setSlowMode(app.id, channel, null);
      audit("slow_mode_ended", app.id, channel);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({ scope: "moderation:write", method: "get", path: "/apps/{app_id}/slow-mode", summary: "List the channels in slow mode", request: { params: schema.AppPath }, responses: { 200: json(schema.SlowModeList, "the channels") } }),
    async (c) => c.json({ channels: await store(c).listSlowModes(c.get("app").id) }, 200),
  );

  admin.openapi(
    route({
      scope: "moderation:write",
      method: "post",
      path: "/apps/{app_id}/bans",
      summary: "Ban a user",
      description: "Its live sessions end at once, on every shard (each client told why), and while the ban lasts its auth is refused with USER_IS_BANNED. Banning a banned user replaces its ban.",
      request: { params: schema.AppPath, body: body(schema.BanUser) },
      responses: { 201: json(schema.Banned, "the ban, and how many sessions ended") },
    }),
    async (c) => {
      const app = c.get("app");
      const { auth_id, expires_at, reason } = c.req.valid("json");
      const until = expires_at ? Date.parse(expires_at) : null;
      const ban = await store(c).ban(app.id, auth_id, reason ?? null, until, Date.now());
      const disconnected = await roomOf(c.env, app).ban(app.id, auth_id, until, reason ?? null);
      audit("user_banned", app.id, auth_id);
      return c.json({ ...ban, disconnected }, 201);
    },
  );

  admin.openapi(
    route({ scope: "moderation:write", method: "get", path: "/apps/{app_id}/bans", summary: "List the bans in force", request: { params: schema.AppPath }, responses: { 200: json(schema.BanList, "the bans") } }),
    async (c) => c.json({ bans: await store(c).listBans(c.get("app").id, Date.now()) }, 200),
  );

  admin.openapi(
    route({ scope: "moderation:write", method: "delete", path: "/apps/{app_id}/bans/{auth_id}", summary: "Lift a user's ban", request: { params: schema.UserPath }, responses: noContent }),
    async (c) => {
      const app = c.get("app");
      const { auth_id } = c.req.valid("param");
      if (!(await store(c).unban(app.id, auth_id, Date.now()))) return jsonError(404, "NOT_BANNED", "this user is not banned");
      await roomOf(c.env, app).unban(app.id, auth_id);
      audit("user_unbanned", app.id, auth_id);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({
      scope: "moderation:write",
      method: "delete",
      path: "/apps/{app_id}/users/{auth_id}",
      summary: "Erase a user: its messages, mutes, ban and access tokens, and its live sessions",
      description: `Connected clients drop its messages (one message_deleted each) and new clients never see them. At most ${ERASE_MESSAGES_PER_CALL} messages go per call: with \`unfinished\`, call again.`,
      request: { params: schema.UserPath },
      responses: { 200: json(schema.Erased, "what went") },
    }),
    async (c) => {
      const app = c.get("app");
      const { auth_id } = c.req.valid("param");
      await credentials(c).ready();
      const room = roomOf(c.env, app);
      // Its sessions end first: nothing it sends can land while its messages are deleted.
      const sessions = await room.disconnectUser(app.id, auth_id, true);
      const erased = await store(c).eraseUser(app.id, auth_id, ERASE_MESSAGES_PER_CALL);
      await room.erase(app.id, auth_id, erased.messages, erased.digests);
      const counts = { messages: erased.messages.length, mutes: erased.mutes, bans: erased.bans, tokens: erased.digests.length, sessions };
      // The user's id is personal data, so this audit line names none: only what went.
      log("admin_audit", { action: "user_erased", app_id: app.id, ...counts });
      return c.json({ ...counts, unfinished: erased.unfinished }, 200);
    },
  );

  admin.openapi(
    route({
      scope: "moderation:write",
      method: "post",
      path: "/apps/{app_id}/users/{auth_id}/disconnect",
      summary: "Disconnect every live session of a user",
      description: "On every shard: each client is told why (client_error), then disconnected. Nothing stops the user from connecting again.",
      request: { params: schema.UserPath },
      responses: { 200: json(schema.Disconnected, "how many sessions ended") },
    }),
    async (c) => {
      const app = c.get("app");
      const { auth_id } = c.req.valid("param");
      const disconnected = await roomOf(c.env, app).disconnectUser(app.id, auth_id);
      audit("user_disconnected", app.id, auth_id);
      return c.json({ disconnected }, 200);
    },
  );

  admin.openapi(
    route({ scope: "moderation:write", method: "get", path: "/apps/{app_id}/mutes", summary: "List the mutes in force", request: { params: schema.AppPath }, responses: { 200: json(schema.MuteList, "the mutes") } }),
    async (c) => {
      const { app_id } = c.req.valid("param");
      return c.json({ mutes: await store(c).listMutes(app_id, Date.now()) }, 200);
    },
  );

  admin.openapi(
    route({ scope: "moderation:write", method: "delete", path: "/apps/{app_id}/mutes/{auth_id}", summary: "Lift a user's mute", request: { params: schema.UserPath }, responses: noContent }),
    async (c) => {
      const { app_id, auth_id } = c.req.valid("param");
      if (!(await roomOf(c.env, c.get("app")).liftMute(app_id, auth_id))) return jsonError(404, "NOT_MUTED", "this user is not muted");
      audit("mute_lifted", app_id, auth_id);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({
      scope: "operator",
      method: "get",
      path: "/health",
      summary: "Check that the Worker reaches D1",
      description: "The public `/health` answers from the Worker alone; this one reads D1.",
      responses: { 200: json(schema.Health, "D1 answered"), 503: json(schema.Health, "D1 did not answer") },
    }),
    async (c) => {
      try {
        await c.env.DB.prepare("SELECT 1").first();
        return c.json({ ok: true, d1: "ok" as const }, 200);
      } catch {
        return c.json({ ok: false, d1: "unavailable" as const }, 503);
      }
    },
  );

  // The document the build generated from these routes (scripts/build-assets.mjs), with this deployment's URL.
  admin.get("/openapi.json", async (c) => {
    const built = await c.env.ASSETS.fetch(new URL(ADMIN_OPENAPI_ASSET, c.req.url));
    if (!built.ok) return jsonError(503, "UNAVAILABLE", "the OpenAPI document was not built with this deployment (scripts/build-assets.mjs)");
    const document = z.record(z.string(), z.unknown()).parse(await built.json());
    return c.json({ ...document, servers: [{ url: new URL("/v1/admin", c.req.url).href }] });
  });

  /** The most webhook endpoints one app has: each event goes to each of them, as one Queue message each. */
  const MAX_WEBHOOKS_PER_APP = 10;
  /** How many of an endpoint's latest attempts its deliveries listing shows. */
  const DELIVERIES_LISTED = 100;

  const webhooks = (c: { env: Env }) => new D1Webhooks(c.env.DB);

  /**
   * What a webhook change needs of the deployment: to seal a new secret, the key and the Queue (503 without
   * them); for a URL, the URL rule (400 for one it refuses). `refusal` is null when all is there.
   */
  function webhookSetup(c: { env: Env }, { url, sealing }: { url?: string | undefined; sealing: boolean }) {
    const config = parseWebhookConfig(c.env);
    const refused = (status: 400 | 503, error: string, message: string) => ({ config, refusal: { status, body: { error, message } } });
    if (sealing && (!config.secretsKey || !c.env.WEBHOOKS)) {
      return refused(503, "WEBHOOKS_DISABLED", "webhooks need the WEBHOOK_SECRETS_KEY secret and the WEBHOOKS queue binding on this deployment (docs/deploy.md)");
    }
    const problem = url === undefined ? null : webhookUrlProblem(url, config.allowHttpLoopback);
    return problem ? refused(400, "INVALID_URL", problem) : { config, refusal: null };
  }

  const unknownWebhook = { error: "UNKNOWN_WEBHOOK", message: "this app has no such webhook endpoint" };

  /**
   * Tells the app's room its endpoints changed. The change is stored already, and a create's answer holds the only
   * copy of the secret: a room that cannot be told now reads the endpoints when it next starts (logged, not 500).
   */
  async function webhooksChanged(env: Env, app: AppRecord): Promise<void> {
    await roomOf(env, app)
      .webhooksChanged(app.id)
      .catch((error: unknown) => log("request_failed", { app_id: app.id, request: "webhooks changed", error: String(error) }));
  }

  admin.openapi(
    route({
      scope: "webhooks:write",
      method: "post",
      path: "/apps/{app_id}/webhooks",
      summary: "Add a webhook endpoint: the app's events of the types it names are POSTed to it, signed",
      description: `The answer holds the endpoint's signing secret, this once (docs/webhooks.md shows how to verify a delivery with it). At most ${MAX_WEBHOOKS_PER_APP} endpoints an app.`,
      request: { params: schema.AppPath, body: body(schema.CreateWebhook) },
      responses: { 201: json(schema.CreatedWebhook, "the endpoint, and its secret"), 409: json(schema.ErrorBody, `the app has ${MAX_WEBHOOKS_PER_APP} endpoints already`), 503: json(schema.ErrorBody, "webhooks are not set up on this deployment") },
    }),
    async (c) => {
      const app = c.get("app");
      const { url, events } = c.req.valid("json");
      const { config, refusal } = webhookSetup(c, { url, sealing: true });
      if (refusal) return c.json(refusal.body, refusal.status);
      const secret = newWebhookSecret();
      const endpoint = await webhooks(c).create(app.id, url, events, await sealSecret(config.secretsKey!, app.id, secret), Date.now(), MAX_WEBHOOKS_PER_APP);
      if (!endpoint) return c.json({ error: "TOO_MANY_WEBHOOKS", message: `an app has at most ${MAX_WEBHOOKS_PER_APP} webhook endpoints; delete one first` }, 409);
      await webhooksChanged(c.env, app);
      audit("webhook_created", app.id, endpoint.id);
      return c.json({ ...endpoint, secret }, 201);
    },
  );

  admin.openapi(
    route({ scope: "webhooks:write", method: "get", path: "/apps/{app_id}/webhooks", summary: "List the app's webhook endpoints", request: { params: schema.AppPath }, responses: { 200: json(schema.WebhookList, "the endpoints, oldest first (no secrets)") } }),
    async (c) => c.json({ webhooks: await webhooks(c).list(c.get("app").id) }, 200),
  );

  admin.openapi(
    route({
      scope: "webhooks:write",
      method: "patch",
      path: "/apps/{app_id}/webhooks/{webhook_id}",
      summary: "Change a webhook endpoint's URL or event types, or disable or enable it",
      description: "Enabling an endpoint (one disabled after failing, or by the app) starts its count of failures again; events that came while it was disabled are not sent.",
      request: { params: schema.WebhookPath, body: body(schema.UpdateWebhook) },
      responses: { 200: json(schema.WebhookEndpoint, "the endpoint as changed"), 503: json(schema.ErrorBody, "webhooks are not set up on this deployment") },
    }),
    async (c) => {
      const app = c.get("app");
      const { webhook_id } = c.req.valid("param");
      const change = c.req.valid("json");
      const { refusal } = webhookSetup(c, { url: change.url, sealing: false });
      if (refusal) return c.json(refusal.body, refusal.status);
      const endpoint = await webhooks(c).update(app.id, webhook_id, change, Date.now());
      if (!endpoint) return c.json(unknownWebhook, 404);
      await webhooksChanged(c.env, app);
      audit("webhook_updated", app.id, webhook_id);
      return c.json(endpoint, 200);
    },
  );

  admin.openapi(
    route({ scope: "webhooks:write", method: "delete", path: "/apps/{app_id}/webhooks/{webhook_id}", summary: "Delete a webhook endpoint and its record of deliveries", request: { params: schema.WebhookPath }, responses: noContent }),
    async (c) => {
      const app = c.get("app");
      const { webhook_id } = c.req.valid("param");
      if (!(await webhooks(c).delete(app.id, webhook_id))) return c.json(unknownWebhook, 404);
      await webhooksChanged(c.env, app);
      audit("webhook_deleted", app.id, webhook_id);
      return c.body(null, 204);
    },
  );

  admin.openapi(
    route({
      scope: "webhooks:write",
      method: "post",
      path: "/apps/{app_id}/webhooks/{webhook_id}/rotate-secret",
      summary: "Give a webhook endpoint a new signing secret",
      description: "The new secret signs every delivery from now on, retries of earlier events included; the old one signs nothing more.",
      request: { params: schema.WebhookPath },
      responses: { 200: json(schema.WebhookSecret, "the new secret, this once"), 503: json(schema.ErrorBody, "webhooks are not set up on this deployment") },
    }),
    async (c) => {
      const app = c.get("app");
      const { webhook_id } = c.req.valid("param");
      const { config, refusal } = webhookSetup(c, { sealing: true });
      if (refusal) return c.json(refusal.body, refusal.status);
      const secret = newWebhookSecret();
      if (!(await webhooks(c).reseal(app.id, webhook_id, await sealSecret(config.secretsKey!, app.id, secret), Date.now()))) {
        return c.json(unknownWebhook, 404);
      }
      audit("webhook_secret_rotated", app.id, webhook_id);
      return c.json({ id: webhook_id, secret }, 200);
    },
  );

  admin.openapi(
    route({
      scope: "webhooks:write",
      method: "get",
      path: "/apps/{app_id}/webhooks/{webhook_id}/deliveries",
      summary: "A webhook endpoint's latest delivery attempts",
      description: `The latest ${DELIVERIES_LISTED} attempts, newest first, each with its event, HTTP status, duration and next retry (attempts are kept a week).`,
      request: { params: schema.WebhookPath },
      responses: { 200: json(schema.WebhookDeliveries, "the attempts") },
    }),
    async (c) => {
      const app = c.get("app");
      const { webhook_id } = c.req.valid("param");
      if (!(await webhooks(c).find(app.id, webhook_id))) return c.json(unknownWebhook, 404);
      return c.json({ deliveries: await webhooks(c).deliveries(webhook_id, DELIVERIES_LISTED) }, 200);
    },
  );

  return admin;
}
