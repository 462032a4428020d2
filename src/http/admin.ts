import { Hono, type Context } from "hono";
import { z } from "zod";
import { parseConfig, type Env } from "../config.js";
import { log } from "../log.js";
import { Role } from "../socketpot/schemas.js";
import { findApp, type AppRecord } from "../storage/d1-apps.js";
import { MAX_SHARDS } from "../shards.js";
import { shardCountChanged } from "./shard-counts.js";
import { D1Admin } from "../storage/d1-admin.js";
import { requireSecret } from "./bearer.js";
import { jsonError } from "./errors.js";
import { roomOf } from "../shards.js";

/**
 * The operator's API under /v1/admin, behind the `ADMIN_TOKEN` secret (bearer, compared in constant time):
 * apps, access tokens, and the moderation of messages and mutes. Changes a room caches (deleted messages,
 * lifted mutes) go through the app's Durable Object, which updates storage, its cache and its clients.
 */
export const admin = new Hono<{ Bindings: Env }>();

admin.use("*", requireSecret("ADMIN_TOKEN"));

const Origin = z.url({ protocol: /^https?$/, error: "each allowed origin must be an http(s) origin" }).refine(
  (text) => new URL(text).origin === text,
  "an origin is scheme://host[:port], without a path or trailing slash",
);
const AppName = z.string().trim().min(1, "name must not be empty").max(100);
const AllowedOrigins = z.array(Origin).max(50);
const CreateApp = z.object({ name: AppName, allowed_origins: AllowedOrigins.default([]) });
const IssueToken = z.object({
  auth_id: z.int().positive(),
  uname: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, "uname must be 1-64 characters of letters, digits, '_', '.', '-'"),
  role: Role,
  expires_at: z.iso.datetime({ offset: true, error: "expires_at must be an ISO-8601 date-time" }).nullish(),
});
const Limit = z.coerce.number().int().min(1).max(100).default(50);
const AppIdParam = z.coerce.number().int().positive();
const Page = z.object({ limit: Limit, after: z.coerce.number().int().nonnegative().default(0) });
const TokenPage = z.object({ limit: Limit, after: z.string().default(""), auth_id: z.coerce.number().int().positive().optional() });
const MessagePage = z.object({
  limit: Limit,
  before: z.coerce.number().int().positive().default(Number.MAX_SAFE_INTEGER),
  channel: z.string().regex(/^[a-z0-9_:-]{1,40}$/).optional(),
});

const UpdateApp = z
  .object({
    name: AppName.optional(),
    allowed_origins: AllowedOrigins.optional(),
    shards: z.int("shards must be an integer").min(1, "shards is 1 to 64").max(MAX_SHARDS, "shards is 1 to 64").optional(),
  })
  .refine((change) => Object.values(change).some((value) => value !== undefined), "send at least one of name, allowed_origins, shards");

function storeOf(c: Context<{ Bindings: Env }>): D1Admin {
  return new D1Admin(c.env.DB, parseConfig(c.env).roomShards);
}

/** Parses input with zod, or answers 400 with its issues. */
function parse<T>(schema: z.ZodType<T>, input: unknown): { ok: true; value: T } | { ok: false; response: Response } {
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, response: jsonError(400, "INVALID_REQUEST", z.prettifyError(parsed.error), parsed.error.issues) };
}

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return undefined;
  }
}

/** The app named by the path, or an error response (400 malformed, 404 unknown). */
async function appOf(c: Context<{ Bindings: Env }>): Promise<{ ok: true; appId: number; record: AppRecord } | { ok: false; response: Response }> {
  const appId = AppIdParam.safeParse(c.req.param("app_id"));
  if (!appId.success) return { ok: false, response: jsonError(400, "INVALID_APP_ID", "app_id must be a positive integer") };
  const record = await findApp(c.env.DB, appId.data);
  if (!record) return { ok: false, response: jsonError(404, "UNKNOWN_APP", `there is no app with id ${appId.data}`) };
  return { ok: true, appId: appId.data, record };
}


admin.post("/apps", async (c) => {
  const body = parse(CreateApp, await jsonBody(c));
  if (!body.ok) return body.response;
  const app = await storeOf(c).createApp(body.value.name, body.value.allowed_origins, Date.now());
  log("admin_app_created", { app_id: app.id });
  return c.json(app, 201);
});

admin.get("/apps", async (c) => {
  const page = parse(Page, c.req.query());
  if (!page.ok) return page.response;
  const apps = await storeOf(c).listApps(page.value.limit, page.value.after);
  return c.json({ apps, next_after: apps.length === page.value.limit ? apps.at(-1)?.id : null });
});

admin.patch("/apps/:app_id", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  const body = parse(UpdateApp, await jsonBody(c));
  if (!body.ok) return body.response;
  const updated = await storeOf(c).updateApp(app.appId, body.value);
  if (!updated) return jsonError(404, "UNKNOWN_APP", `there is no app with id ${app.appId}`);
  // Connections already open stay where they are; new ones follow the new count (in other isolates within a minute).
  if (body.value.shards !== undefined) shardCountChanged(app.appId, updated.shards);
  log("admin_app_updated", { app_id: app.appId, changed: Object.keys(body.value) });
  return c.json(updated);
});

admin.get("/apps/:app_id/stats", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  return c.json(await roomOf(c.env, app.appId).stats(app.appId, app.record.shards ?? parseConfig(c.env).roomShards));
});

admin.post("/apps/:app_id/tokens", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  const body = parse(IssueToken, await jsonBody(c));
  if (!body.ok) return body.response;
  const expiresAt = body.value.expires_at ? Date.parse(body.value.expires_at) : null;
  const token = await storeOf(c).issueToken(app.appId, body.value, expiresAt, Date.now());
  log("admin_token_issued", { app_id: app.appId, auth_id: token.auth_id });
  return c.json(token, 201);
});

admin.get("/apps/:app_id/tokens", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  const page = parse(TokenPage, c.req.query());
  if (!page.ok) return page.response;
  const tokens = await storeOf(c).listTokens(app.appId, page.value.auth_id, page.value.limit, page.value.after);
  return c.json({ tokens, next_after: tokens.length === page.value.limit ? tokens.at(-1)?.token : null });
});

admin.delete("/apps/:app_id/tokens/:token", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  const token = c.req.param("token");
  const revoked = await storeOf(c).revokeToken(app.appId, token, Date.now());
  if (!revoked) return jsonError(404, "UNKNOWN_TOKEN", "this app has no such token");
  await roomOf(c.env, app.appId).forgetToken(app.appId, token);
  log("admin_token_revoked", { app_id: app.appId });
  return c.body(null, 204);
});

admin.get("/apps/:app_id/messages", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  const page = parse(MessagePage, c.req.query());
  if (!page.ok) return page.response;
  const messages = await storeOf(c).listMessages(app.appId, page.value.channel, page.value.limit, page.value.before);
  return c.json({ messages, next_before: messages.length === page.value.limit ? messages.at(-1)?.id : null });
});

admin.delete("/apps/:app_id/messages/:message_id", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  const messageId = AppIdParam.safeParse(c.req.param("message_id"));
  if (!messageId.success) return jsonError(400, "INVALID_MESSAGE_ID", "message_id must be a positive integer");
  if (!(await roomOf(c.env, app.appId).deleteMessage(app.appId, messageId.data))) {
    return jsonError(404, "UNKNOWN_MESSAGE", "this app has no such message");
  }
  log("admin_message_deleted", { app_id: app.appId, message_id: messageId.data });
  return c.body(null, 204);
});

admin.get("/apps/:app_id/mutes", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  return c.json({ mutes: await storeOf(c).listMutes(app.appId, Date.now()) });
});

admin.delete("/apps/:app_id/mutes/:auth_id", async (c) => {
  const app = await appOf(c);
  if (!app.ok) return app.response;
  const authId = AppIdParam.safeParse(c.req.param("auth_id"));
  if (!authId.success) return jsonError(400, "INVALID_AUTH_ID", "auth_id must be a positive integer");
  if (!(await roomOf(c.env, app.appId).liftMute(app.appId, authId.data))) return jsonError(404, "NOT_MUTED", "this user is not muted");
  log("admin_mute_lifted", { app_id: app.appId, auth_id: authId.data });
  return c.body(null, 204);
});
