import * as z from "zod";
import { builtOnFirstUse } from "./deferred.js";
import { DO_WEBSOCKETS_PER_OBJECT } from "./limits.js";
import { MAX_SHARDS } from "./shards.js";
import { MAX_RETENTION_DAYS } from "./storage/retention.js";

/** Bindings and vars that wrangler.toml declares; every var arrives as a string and is parsed by {@link parseConfig}. */
export interface Env {
  DB: D1Database;
  /** Each app's room (`app:N`): its ordering room, which also holds its connections while it has one shard. */
  ROOMS: DurableObjectNamespace<import("./ordering/app-room.js").AppRoom>;
  /** Connection shards (`app:N:shard:k`) of apps with more than one shard. */
  SHARDS: DurableObjectNamespace<import("./shard/connection-shard.js").ConnectionShard>;
  EVENTS: Queue<unknown>;
  /** The static assets (public/, and what the build generates into it), for the admin API's OpenAPI document. */
  ASSETS: Fetcher;
  /** Secret: the bearer token producers present to the ingest endpoint. */
  INGEST_TOKEN?: string;
  /** Secret: the bearer token of the admin API. */
  ADMIN_TOKEN?: string;
  PING_INTERVAL_MS?: string;
  PING_TIMEOUT_MS?: string;
  MAX_PAYLOAD_BYTES?: string;
  AUTH_TIMEOUT_MS?: string;
  CHAT_RATE_BURST?: string;
  CHAT_RATE_PER_SECOND?: string;
  BETS_PER_SECOND?: string;
  EVENT_DEDUP_WINDOW?: string;
  MAX_CONNECTIONS_PER_APP?: string;
  MAX_CONNECTIONS_PER_IP?: string;
  ANONYMOUS_SHARE?: string;
  RECOVERY_WINDOW_MS?: string;
  RECOVERY_MAX_EVENTS?: string;
  STORAGE_TIMEOUT_MS?: string;
  ROOM_SHARDS?: string;
  SHARD_TARGET_CONNECTIONS?: string;
  MAX_CONNECTIONS_PER_OBJECT?: string;
  MESSAGE_RETENTION_DAYS?: string;
  METRICS_EXPORT_SECONDS?: string;
  /** Optional Workers Analytics Engine dataset: each app object's metrics, one data point per minute (docs/operations.md). */
  METRICS?: AnalyticsEngineDataset;
  /** Webhook deliveries: producers are the apps' rooms, the consumer src/webhooks/consumer.ts. Optional: without it, no webhooks. */
  WEBHOOKS?: Queue<unknown>;
  /** Secret: the key webhook endpoints' signing secrets are encrypted with in D1 (src/webhooks/secrets.ts). */
  WEBHOOK_SECRETS_KEY?: string;
  WEBHOOK_TIMEOUT_MS?: string;
  WEBHOOK_RETRY_BASE_SECONDS?: string;
  WEBHOOK_DISABLE_AFTER_FAILURES?: string;
  WEBHOOK_DISABLE_AFTER_HOURS?: string;
  WEBHOOK_ALLOW_HTTP_LOOPBACK?: string;
}

const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const ConfigSchema = builtOnFirstUse(() => z.object({
  PING_INTERVAL_MS: positiveInt(25_000),
  PING_TIMEOUT_MS: positiveInt(20_000),
  MAX_PAYLOAD_BYTES: positiveInt(1_000_000),
  AUTH_TIMEOUT_MS: positiveInt(30_000),
  CHAT_RATE_BURST: positiveInt(5),
  CHAT_RATE_PER_SECOND: z.coerce.number().positive().default(1),
  BETS_PER_SECOND: positiveInt(10),
  EVENT_DEDUP_WINDOW: positiveInt(10_000),
  // An app's connections are counted by its room and held by up to 64 objects (docs/scaling.md).
  MAX_CONNECTIONS_PER_APP: positiveInt(300_000).pipe(
    z.number().max(MAX_SHARDS * DO_WEBSOCKETS_PER_OBJECT, `MAX_CONNECTIONS_PER_APP is at most ${MAX_SHARDS * DO_WEBSOCKETS_PER_OBJECT}, what 64 objects hold`),
  ),
  MAX_CONNECTIONS_PER_IP: positiveInt(100),
  ANONYMOUS_SHARE: z.coerce.number().min(0).max(1).default(0.5),
  RECOVERY_WINDOW_MS: z.coerce.number().int().nonnegative().default(120_000),
  RECOVERY_MAX_EVENTS: positiveInt(10_000),
  STORAGE_TIMEOUT_MS: positiveInt(10_000),
  ROOM_SHARDS: z.union([z.literal("auto"), z.coerce.number().int().min(1).max(MAX_SHARDS)]).default("auto"),
  SHARD_TARGET_CONNECTIONS: positiveInt(5_000),
  // What one object holds at most, under the WebSockets it accepts: past it, a new connection goes to another shard.
  MAX_CONNECTIONS_PER_OBJECT: positiveInt(32_000).pipe(
    z.number().max(DO_WEBSOCKETS_PER_OBJECT, `MAX_CONNECTIONS_PER_OBJECT is at most ${DO_WEBSOCKETS_PER_OBJECT}, the WebSockets one Durable Object accepts`),
  ),
  MESSAGE_RETENTION_DAYS: z.coerce.number().int().min(1).max(MAX_RETENTION_DAYS).default(90),
  METRICS_EXPORT_SECONDS: z.coerce.number().int().min(1).max(3_600).default(60),
}));

export interface Config {
  pingIntervalMs: number;
  pingTimeoutMs: number;
  maxPayloadBytes: number;
  authTimeoutMs: number;
  chatRateBurst: number;
  chatRatePerSecond: number;
  betsPerSecond: number;
  /** How many recent event ids each room remembers to deliver a replayed event only once. */
  eventDedupWindow: number;
  maxConnectionsPerApp: number;
  maxConnectionsPerIp: number;
  /** The share of `maxConnectionsPerApp` that sessions without a user (anonymous `auth`) may take. */
  anonymousShare: number;
  /** Connection state recovery: how long a dropped session waits for its client (0: no recovery), and the most broadcasts kept for it. */
  recoveryWindowMs: number;
  recoveryMaxEvents: number;
  /** How long a D1 call (or a shard's call to its app's room) may take before the request it serves fails with INTERNAL_ERROR. */
  storageTimeoutMs: number;
  /** How many connection shards an app has when its own row does not say: a fixed count, or "auto" (the load). */
  roomShards: number | "auto";
  /** The connections each object of an app with automatic shards is planned to hold. */
  shardTargetConnections: number;
  /** The most connections one object holds. */
  maxConnectionsPerObject: number;
  /** How many days an app's messages are kept when its own row does not say. */
  messageRetentionDays: number;
  /** How often, at most, an object that saw something happen exports its metrics to D1 (for scrapes). */
  metricsExportMs: number;
}

/** The vars `schema` reads from `env`, parsed; a malformed one is a deployment error, thrown with zod's explanation. */
function parseVars<S extends z.ZodType>(schema: S, env: unknown): z.output<S> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) throw new Error(`invalid configuration: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/**
 * An isolate's configuration, by its `env`: the runtime hands every request of an isolate the same bindings
 * object, so its vars are parsed once rather than on every new connection (the edge asks for each one).
 */
const parsedConfigs = new WeakMap<object, Config>();

/** The tunables of the rooms, shards and edge (wrangler.toml's `[vars]`). */
export function parseConfig(env: Partial<Record<keyof z.input<typeof ConfigSchema>, unknown>>): Config {
  let config = parsedConfigs.get(env);
  if (!config) parsedConfigs.set(env, (config = configFrom(parseVars(ConfigSchema, env))));
  return config;
}

function configFrom(vars: z.output<typeof ConfigSchema>): Config {
  return {
    pingIntervalMs: vars.PING_INTERVAL_MS,
    pingTimeoutMs: vars.PING_TIMEOUT_MS,
    maxPayloadBytes: vars.MAX_PAYLOAD_BYTES,
    authTimeoutMs: vars.AUTH_TIMEOUT_MS,
    chatRateBurst: vars.CHAT_RATE_BURST,
    chatRatePerSecond: vars.CHAT_RATE_PER_SECOND,
    betsPerSecond: vars.BETS_PER_SECOND,
    eventDedupWindow: vars.EVENT_DEDUP_WINDOW,
    maxConnectionsPerApp: vars.MAX_CONNECTIONS_PER_APP,
    maxConnectionsPerIp: vars.MAX_CONNECTIONS_PER_IP,
    anonymousShare: vars.ANONYMOUS_SHARE,
    recoveryWindowMs: vars.RECOVERY_WINDOW_MS,
    recoveryMaxEvents: vars.RECOVERY_MAX_EVENTS,
    storageTimeoutMs: vars.STORAGE_TIMEOUT_MS,
    roomShards: vars.ROOM_SHARDS,
    shardTargetConnections: vars.SHARD_TARGET_CONNECTIONS,
    maxConnectionsPerObject: vars.MAX_CONNECTIONS_PER_OBJECT,
    messageRetentionDays: vars.MESSAGE_RETENTION_DAYS,
    metricsExportMs: vars.METRICS_EXPORT_SECONDS * 1000,
  };
}

const WebhookConfigSchema = builtOnFirstUse(() => z.object({
  WEBHOOK_SECRETS_KEY: z.string().min(32, "WEBHOOK_SECRETS_KEY must be at least 32 characters (e.g. `openssl rand -hex 32`)").optional(),
  WEBHOOK_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(30_000).default(10_000),
  WEBHOOK_RETRY_BASE_SECONDS: z.coerce.number().int().min(1).max(3_600).default(10),
  WEBHOOK_DISABLE_AFTER_FAILURES: positiveInt(20),
  WEBHOOK_DISABLE_AFTER_HOURS: z.coerce.number().min(0).max(24 * 30).default(24),
  WEBHOOK_ALLOW_HTTP_LOOPBACK: z.enum(["true", "false"]).default("false"),
}));

/** How webhooks are delivered: the consumer's and the admin API's settings (the rooms need none of them). */
export interface WebhookConfig {
  /** The key endpoint secrets are sealed with; undefined when the deployment has not set it (webhooks are then off). */
  secretsKey: string | undefined;
  /** How long an endpoint has to answer one delivery. */
  timeoutMs: number;
  /** The first retry's delay; each next one is four times longer (src/webhooks/consumer.ts). */
  retryBaseSeconds: number;
  /** An endpoint is disabled after this many failed attempts in a row, once it has been failing this long. */
  disableAfterFailures: number;
  disableAfterMs: number;
  /** Whether `http://` URLs on the loopback are taken (local development and tests only). */
  allowHttpLoopback: boolean;
}

export function parseWebhookConfig(env: Partial<Record<keyof z.input<typeof WebhookConfigSchema>, unknown>>): WebhookConfig {
  const vars = parseVars(WebhookConfigSchema, env);
  return {
    secretsKey: vars.WEBHOOK_SECRETS_KEY,
    timeoutMs: vars.WEBHOOK_TIMEOUT_MS,
    retryBaseSeconds: vars.WEBHOOK_RETRY_BASE_SECONDS,
    disableAfterFailures: vars.WEBHOOK_DISABLE_AFTER_FAILURES,
    disableAfterMs: vars.WEBHOOK_DISABLE_AFTER_HOURS * 3_600_000,
    allowHttpLoopback: vars.WEBHOOK_ALLOW_HTTP_LOOPBACK === "true",
  };
}
