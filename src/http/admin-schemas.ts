// Gives zod schemas their .openapi(). It loads with the Worker, before any schema is made (each is made on first use).
import "@hono/zod-openapi";
import * as z from "zod";
import { DEFAULT_SCOPES, SCOPES } from "../credentials.js";
import { JURISDICTIONS, LOCATION_HINTS } from "../placement.js";
import { PublicSigningJwk, SIGNING_ALGORITHMS } from "../signed-tokens.js";
import { MAX_SHARDS } from "../shards.js";
import { MAX_ORIGIN_LENGTH } from "./origin-routes.js";
import { AppEventName, CHANNEL_PATTERN, MAX_UNAME_LENGTH, NewMessageRequest, Role, UNAME_PATTERN } from "../socketpot/schemas.js";
import { utf8Bytes } from "../chunks.js";
import { MAX_RETENTION_DAYS } from "../storage/retention.js";
import { MAX_SLOW_MODE_MS } from "../socketpot/slow-mode.js";
import { WebhookEventType } from "../webhooks/events.js";
import { COUNTERS, GAUGES, KEPT_MS } from "../metrics/minute-metrics.js";
import { MAX_WEBHOOK_URL_LENGTH } from "../webhooks/urls.js";

/** The most bytes an app's event's data takes as JSON. */
export const MAX_APP_EVENT_BYTES = 16_384;

/**
 * The admin API's requests and answers as zod schemas: the same schemas validate each request and describe it
 * in the OpenAPI document at /v1/admin/openapi.json, which every build generates from them, so the two cannot
 * drift apart. They are made when the API is built, on its first request (src/http/admin.ts), not when the
 * Worker starts.
 */
export function buildAdminSchemas() {
  const Id = z.coerce.number().int().positive();
  const IsoDate = z.iso.datetime().openapi({ example: "2026-11-26T12:00:00.000Z" });

  const ErrorBody = z
    .object({
      error: z.string().openapi({ example: "INVALID_REQUEST" }),
      message: z.string(),
      issues: z.array(z.unknown()).optional(),
      scope: z.string().optional().openapi({ description: "with INSUFFICIENT_SCOPE: the scope the operation needs" }),
    })
    .openapi("Error");

  const Origin = z
    .url({ protocol: /^https?$/, error: "each allowed origin must be an http(s) origin" })
    .max(MAX_ORIGIN_LENGTH, `an origin is at most ${MAX_ORIGIN_LENGTH} characters`)
    .refine(
    (text) => new URL(text).origin === text,
    "an origin is scheme://host[:port], without a path or trailing slash",
  );
  const AppName = z.string().trim().min(1, "name must not be empty").max(100);
  const AllowedOrigins = z
    .array(Origin)
    .max(50)
    .refine((origins) => new Set(origins).size === origins.length, "each allowed origin is listed once");
  const Shards = z.int("shards must be an integer").min(1, "shards is 1 to 64").max(MAX_SHARDS, "shards is 1 to 64");
  const RetentionDays = z
    .int("retention_days must be an integer")
    .min(1, `retention_days is 1 to ${MAX_RETENTION_DAYS}`)
    .max(MAX_RETENTION_DAYS, `retention_days is 1 to ${MAX_RETENTION_DAYS}`)
    .openapi({ description: "days its messages are kept before the scheduled clean-up deletes them" });
  const Jurisdiction = z.enum(JURISDICTIONS, { error: `jurisdiction is one of ${JURISDICTIONS.join(", ")}` }).openapi({
    description: "keeps the app's Durable Objects, and what they store, inside this region; fixed once the app is created",
  });
  const LocationHint = z.enum(LOCATION_HINTS, { error: `location_hint is one of ${LOCATION_HINTS.join(", ")}` }).openapi({
    description: "where the app's Durable Objects are created, when they are first created",
  });
  const Limit = z.coerce.number().int().min(1).max(100).default(50);
  const After = z.coerce.number().int().nonnegative().default(0).openapi({ description: "the last id of the previous page" });

  const AppPath = z.object({ app_id: Id.openapi({ param: { name: "app_id", in: "path" }, example: 1 }) });
  const TokenPath = AppPath.extend({ token_id: Id.openapi({ param: { name: "token_id", in: "path" } }) });
  const KeyPath = AppPath.extend({ key_id: Id.openapi({ param: { name: "key_id", in: "path" } }) });
  const MessagePath = AppPath.extend({ message_id: Id.openapi({ param: { name: "message_id", in: "path" } }) });
  const UserPath = AppPath.extend({ auth_id: Id.openapi({ param: { name: "auth_id", in: "path" } }) });
  const Disconnected = z.object({ disconnected: z.int().openapi({ description: "the live sessions that ended" }) }).openapi("Disconnected");

  const CreateApp = z
    .object({
      name: AppName,
      allowed_origins: AllowedOrigins.default([]),
      retention_days: RetentionDays.optional(),
      jurisdiction: Jurisdiction.optional(),
      location_hint: LocationHint.optional(),
    })
    .openapi("CreateApp");
  const UpdateApp = z
    .object({
      name: AppName.optional(),
      allowed_origins: AllowedOrigins.optional(),
      shards: Shards.nullable().optional().openapi({ description: "a fixed shard count; null: automatic (or the deployment's ROOM_SHARDS)" }),
      min_shards: Shards.nullable().optional().openapi({ description: "the fewest shards an automatic count goes to; null: 1" }),
      max_shards: Shards.nullable().optional().openapi({ description: "the most shards an automatic count goes to; null: 64" }),
      retention_days: RetentionDays.nullable().optional().openapi({ description: "null: the deployment's default again" }),
      location_hint: LocationHint.nullable().optional().openapi({ description: "for objects created from now on; null: none" }),
      // Read only to be refused by name rather than ignored: an operator who sends it must learn it cannot change.
      jurisdiction: z.unknown().optional().openapi({ description: "refused: an app's jurisdiction cannot change" }),
    })
    .refine((change) => change.jurisdiction === undefined, {
      path: ["jurisdiction"],
      message: "jurisdiction cannot change: it is part of every Durable Object id of the app; create a new app in the other jurisdiction",
    })
    .refine(
      (change) => Object.values(change).some((value) => value !== undefined),
      "send at least one of name, allowed_origins, shards, min_shards, max_shards, retention_days, location_hint",
    )
    .refine(
      (change) => change.min_shards == null || change.max_shards == null || change.min_shards <= change.max_shards,
      "min_shards must not be above max_shards",
    )
    .openapi("UpdateApp");
  const IssueToken = z
    .object({
      auth_id: z.int().positive(),
      uname: z.string().regex(UNAME_PATTERN, `uname must be 1-${MAX_UNAME_LENGTH} characters of letters, digits, '_', '.', '-'`),
      role: Role,
      expires_at: z.iso.datetime({ offset: true, error: "expires_at must be an ISO-8601 date-time" }).nullish(),
    })
    .openapi("IssueToken");

  const SigningKeyPath = AppPath.extend({ signing_key_id: Id.openapi({ param: { name: "signing_key_id", in: "path" } }) });
  const AddSigningKey = z
    .object({
      jwk: PublicSigningJwk.openapi({
        type: "object",
        description: 'a public JWK with a kid: {"kty":"EC","crv":"P-256","x","y"} for ES256, or {"kty":"OKP","crv":"Ed25519","x"} for EdDSA; never one with its private part (d)',
      }),
    })
    .openapi("AddSigningKey");
  const SigningKey = z
    .object({ id: z.int(), kid: z.string(), alg: z.enum(SIGNING_ALGORITHMS), jwk: z.record(z.string(), z.string()), created_at: IsoDate })
    .openapi("SigningKey");
  const SigningKeyList = z.object({ signing_keys: z.array(SigningKey) });

  /** A system message the app's backend posts: the rules of a user's message (the channel defaults to lobby). */
  const PublishMessage = NewMessageRequest.openapi("PublishMessage");

  const PushEvent = z
    .object({
      event: AppEventName.openapi({ description: "the event name clients receive: 1-40 of a-z, 0-9, '_'; none of the protocol's" }),
      data: z
        .unknown()
        .default(null)
        .refine((data) => utf8Bytes(JSON.stringify(data)) <= MAX_APP_EVENT_BYTES, `data takes at most ${MAX_APP_EVENT_BYTES} bytes as JSON`)
        .openapi({ description: "what clients receive with it (any JSON)" }),
      auth_id: z.int().positive().optional().openapi({ description: "only this user's sessions; without it, every session of the app" }),
    })
    .openapi("PushEvent");
  const PushedEvent = z.object({ event: z.string(), auth_id: z.int().nullable() }).openapi("PushedEvent");

  const ChannelPath = AppPath.extend({
    channel: z
      .string()
      .regex(CHANNEL_PATTERN, "channel must be 1-40 characters of a-z, 0-9, '_', '-', ':'")
      .openapi({ param: { name: "channel", in: "path" }, example: "lobby" }),
  });
  const SLOW_MODE_RANGE = `seconds is 1 to ${MAX_SLOW_MODE_MS / 1000}`;
  const SlowModeBody = z
    .object({ seconds: z.int("seconds must be an integer").min(1, SLOW_MODE_RANGE).max(MAX_SLOW_MODE_MS / 1000, SLOW_MODE_RANGE).openapi({ description: "a MEMBER's least time between two messages in the channel" }) })
    .openapi("SlowMode");
  const ChannelSlowMode = z.object({ channel: z.string(), seconds: z.int() }).openapi("ChannelSlowMode");
  const SlowModeList = z.object({ channels: z.array(ChannelSlowMode) });

  const Erased = z
    .object({
      messages: z.int(),
      mutes: z.int(),
      bans: z.int(),
      tokens: z.int(),
      sessions: z.int().openapi({ description: "live sessions that ended" }),
      unfinished: z.boolean().openapi({ description: "messages are left: call again" }),
    })
    .openapi("Erased");

  const BanUser = z
    .object({
      auth_id: z.int().positive(),
      expires_at: z.iso.datetime({ offset: true, error: "expires_at must be an ISO-8601 date-time" }).nullish().openapi({ description: "when the ban ends; without it, for good" }),
      reason: z.string().trim().min(1).max(200).nullish().openapi({ description: "kept with the ban, for the app's moderators; not shown to the user" }),
    })
    .refine((ban) => !ban.expires_at || Date.parse(ban.expires_at) > Date.now(), { path: ["expires_at"], message: "expires_at must be in the future" })
    .openapi("BanUser");
  const Ban = z
    .object({ auth_id: z.int(), reason: z.string().nullable(), created_at: IsoDate, expires_at: IsoDate.nullable() })
    .openapi("Ban");
  const BanList = z.object({ bans: z.array(Ban) });
  const Banned = Ban.extend({ disconnected: z.int().openapi({ description: "the live sessions that ended" }) }).openapi("Banned");

  const Page = z.object({ limit: Limit, after: After });
  const TokenPage = Page.extend({ auth_id: z.coerce.number().int().positive().optional() });
  const MessagePage = z.object({
    limit: Limit,
    before: z.coerce.number().int().positive().default(Number.MAX_SAFE_INTEGER),
    channel: z.string().regex(CHANNEL_PATTERN).optional(),
  });

  const App = z
    .object({
      id: z.int(),
      name: z.string(),
      allowed_origins: z.array(z.string()),
      shards: z.int().openapi({ description: "the shards its new connections are spread over now" }),
      shard_mode: z.enum(["fixed", "automatic"]).openapi({ description: "fixed by the app or ROOM_SHARDS, or following the load" }),
      min_shards: z.int().nullable(),
      max_shards: z.int().nullable(),
      retention_days: z.int().openapi({ description: "its own, else the deployment's default (MESSAGE_RETENTION_DAYS)" }),
      jurisdiction: Jurisdiction.nullable(),
      location_hint: LocationHint.nullable(),
      created_at: IsoDate,
    })
    .openapi("App");
  const Caller = z
    .discriminatedUnion("kind", [
      z.object({ kind: z.literal("operator") }),
      z.object({ kind: z.literal("app_key"), app_id: z.int(), key_id: z.int(), scopes: z.array(z.enum(SCOPES)) }),
    ])
    .openapi("Caller");
  const AppList = z.object({ apps: z.array(App), next_after: z.int().nullable() });

  const User = z.object({ uname: z.string(), auth_id: z.int(), role: Role });
  const AppStats = z
    .object({
      app_id: z.int(),
      shard_count: z.int(),
      shard_mode: z.enum(["fixed", "automatic"]),
      shards: z.array(
        z.object({
          shard: z.int(),
          connections: z.int(),
          users: z.int(),
          requests_per_second: z.number().openapi({ description: "requests the object took per second over the last minute" }),
          peak_requests_per_second: z.int().openapi({ description: "in its busiest second of the last minute" }),
        }),
      ),
      connections: z.int(),
      users: z.int(),
    })
    .openapi("AppStats");

  const secretPrefix = z.string().openapi({ description: "the first characters of the secret, to tell secrets apart; it cannot be used" });
  const Token = z
    .object({
      id: z.int(),
      prefix: secretPrefix,
      auth_id: z.int(),
      uname: z.string(),
      role: Role,
      created_at: IsoDate,
      expires_at: IsoDate.nullable(),
      revoked_at: IsoDate.nullable(),
    })
    .openapi("Token");
  const IssuedToken = Token.extend({
    token: z.string().openapi({ description: "the access token; this answer is the only place it is ever shown" }),
  }).openapi("IssuedToken");
  const TokenList = z.object({ tokens: z.array(Token), next_after: z.int().nullable() });

  const Scopes = z
    .array(z.enum(SCOPES, { error: `each scope is one of ${SCOPES.join(", ")}` }))
    .min(1, "name at least one scope")
    .refine((scopes) => new Set(scopes).size === scopes.length, "each scope is named once");
  const IssueKey = z
    .object({ scopes: Scopes.default(DEFAULT_SCOPES).openapi({ description: `what the key may do, for this app only; without a body: ${DEFAULT_SCOPES.join(", ")}` }) })
    .openapi("IssueAppKey");
  const Key = z
    .object({ id: z.int(), prefix: secretPrefix, scopes: z.array(z.enum(SCOPES)), created_at: IsoDate, revoked_at: IsoDate.nullable() })
    .openapi("AppKey");
  const IssuedKey = Key.extend({
    key: z.string().openapi({ description: "the app key; this answer is the only place it is ever shown" }),
  }).openapi("IssuedAppKey");
  const KeyList = z.object({ keys: z.array(Key), next_after: z.int().nullable() });

  const Message = z
    .object({ id: z.int(), channel: z.string(), text: z.string(), created_at: IsoDate, user: User.optional() })
    .openapi("Message");
  const MessageList = z.object({ messages: z.array(Message), next_before: z.int().nullable() });

  const Mute = z
    .object({ auth_id: z.int(), uname: z.string(), muted_by: z.string(), created_at: IsoDate, expires_at: IsoDate })
    .openapi("Mute");
  const AppStorage = z
    .object({
      app_id: z.int(),
      messages: z.int().openapi({ description: "messages stored; counting them reads each once (D1 bills rows read)" }),
      oldest_message_at: IsoDate.nullable(),
      retention_days: z.int(),
    })
    .openapi("AppStorage");
  const Storage = z
    .object({
      database_bytes: z.int().openapi({ description: "the D1 database's size, shared by every app" }),
      database_max_bytes: z.int().openapi({ description: "D1's limit on one database; at it, every write of every app fails" }),
    })
    .openapi("Storage");
  const Health = z.object({ ok: z.boolean(), d1: z.enum(["ok", "unavailable"]) }).openapi("Health");
  const MuteList = z.object({ mutes: z.array(Mute) });

  const WebhookPath = AppPath.extend({ webhook_id: Id.openapi({ param: { name: "webhook_id", in: "path" } }) });
  const WebhookUrl = z
    .string()
    .max(MAX_WEBHOOK_URL_LENGTH, `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters`)
    .openapi({ description: "https:// (plain http:// only to the loopback, where the deployment allows it)", example: "https://app.example.com/socketpot/webhooks" });
  const WebhookEvents = z
    .array(WebhookEventType)
    .min(1, "events must name at least one event type")
    .refine((events) => new Set(events).size === events.length, "events must not repeat a type")
    .openapi({ description: "the event types the endpoint receives" });
  const CreateWebhook = z.object({ url: WebhookUrl, events: WebhookEvents }).openapi("CreateWebhook");
  const UpdateWebhook = z
    .object({ url: WebhookUrl.optional(), events: WebhookEvents.optional(), enabled: z.boolean("enabled must be true or false").optional() })
    .refine((change) => Object.values(change).some((value) => value !== undefined), "name at least one of url, events, enabled")
    .openapi("UpdateWebhook");
  const WebhookEndpoint = z
    .object({
      id: z.int(),
      url: z.string(),
      events: z.array(WebhookEventType),
      enabled: z.boolean(),
      failures: z.int().openapi({ description: "failed attempts since the last delivery" }),
      disabled_at: IsoDate.nullable(),
      disabled_reason: z.string().nullable(),
      created_at: IsoDate,
      updated_at: IsoDate,
    })
    .openapi("WebhookEndpoint");
  const CreatedWebhook = WebhookEndpoint.extend({ secret: z.string().openapi({ description: "the signing secret, shown this once" }) }).openapi("CreatedWebhook");
  const WebhookList = z.object({ webhooks: z.array(WebhookEndpoint) });
  const WebhookSecret = z.object({ id: z.int(), secret: z.string().openapi({ description: "the new signing secret, shown this once; it signs every delivery from now on" }) });
  const WebhookDeliveries = z.object({
    deliveries: z.array(
      z.object({
        event_id: z.string(),
        type: WebhookEventType,
        attempt: z.int(),
        status: z.int().nullable().openapi({ description: "the HTTP status answered; null when there was no answer" }),
        error: z.string().nullable(),
        duration_ms: z.int(),
        attempted_at: IsoDate,
        next_retry_at: IsoDate.nullable().openapi({ description: "when the next attempt is due; null once delivered or given up" }),
      }),
    ),
  });

  const MetricsTime = z.iso.datetime({ offset: true, error: "from and to are ISO-8601 date-times" });
  const MetricsQuery = z.object({
    from: MetricsTime.optional().openapi({ description: "the first minute (default: an hour before `to`)" }),
    to: MetricsTime.optional().openapi({ description: `the last minute (default: now); at most ${KEPT_MS / 3_600_000} hours after \`from\`` }),
  });

  const AppMetrics = z
    .object({
      app_id: z.int(),
      step_seconds: z.literal(60),
      series: z.array(
        z.object({ minute: IsoDate, ...Object.fromEntries([...COUNTERS, "webhook_deliveries", "webhook_failures", "dead_lettered", ...GAUGES].map((name) => [name, z.int()])) }),
      ),
    })
    .openapi("AppMetrics");
  return {
    ErrorBody, AppPath, TokenPath, KeyPath, MessagePath, UserPath, Disconnected, CreateApp, UpdateApp, IssueToken,
    SigningKeyPath, AddSigningKey, SigningKey, SigningKeyList, PublishMessage, PushEvent, PushedEvent, ChannelPath,
    SlowModeBody, ChannelSlowMode, SlowModeList, Erased, BanUser, Ban, BanList, Banned, Page, TokenPage, MessagePage,
    App, Caller, AppList, AppStats, Token, IssuedToken, TokenList, IssueKey, Key, IssuedKey, KeyList, Message,
    MessageList, Mute, AppStorage, Storage, Health, MuteList, WebhookPath, CreateWebhook, UpdateWebhook,
    WebhookEndpoint, CreatedWebhook, WebhookList, WebhookSecret, WebhookDeliveries, MetricsQuery, AppMetrics,
  };
}

export type AdminSchemas = ReturnType<typeof buildAdminSchemas>;

/** The span a metrics query names, in epoch ms, or why it cannot be served. */
export function metricsSpan(query: z.infer<AdminSchemas["MetricsQuery"]>, now: number): { from: number; to: number } | { problem: string } {
  const to = query.to ? Date.parse(query.to) : now;
  const from = query.from ? Date.parse(query.from) : to - 3_600_000;
  if (from > to) return { problem: "from must not be after to" };
  if (to - from > KEPT_MS) return { problem: `from and to are at most ${KEPT_MS / 3_600_000} hours apart (what is kept)` };
  return { from, to };
}
