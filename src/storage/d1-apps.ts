import * as z from "zod";
import { builtOnFirstUse } from "../deferred.js";
import { JURISDICTIONS, LOCATION_HINTS, type Jurisdiction, type LocationHint, type Placement } from "../placement.js";

/** How long an app's row (existence, allowed origins, shard count) is trusted before it is read again. */
export const APP_ROW_TTL_MS = 60_000;

export interface AppRecord {
  id: number;
  name: string;
  /** Origins allowed to connect; empty means any origin. */
  allowedOrigins: string[];
  /** Its fixed connection shard count; null for the deployment's default (`ROOM_SHARDS`, or automatic). */
  shards: number | null;
  /** Bounds on an automatic shard count (null: 1 and 64), and the count its room chose last (null: none yet). */
  minShards: number | null;
  maxShards: number | null;
  activeShards: number | null;
  /** How many days its messages are kept; null for the deployment's default (`MESSAGE_RETENTION_DAYS`). */
  retentionDays: number | null;
  /** Where its Durable Objects live. */
  placement: Placement;
  createdAt: number;
}

/** An app's placement as its row's columns hold it. */
export const placementColumns = () => ({ jurisdiction: z.enum(JURISDICTIONS).nullable(), location_hint: z.enum(LOCATION_HINTS).nullable() });

export function placementOf(row: { jurisdiction: Jurisdiction | null; location_hint: LocationHint | null }): Placement {
  return { jurisdiction: row.jurisdiction, locationHint: row.location_hint };
}

const AppRow = builtOnFirstUse(() => z.object({
  id: z.number().int(),
  name: z.string(),
  allowed_origins: z.string().transform((text, ctx) => {
    const origins = z.array(z.string()).safeParse(JSON.parse(text));
    if (origins.success) return origins.data;
    ctx.addIssue({ code: "custom", message: "allowed_origins is not a JSON array of strings" });
    return z.NEVER;
  }),
  shards: z.number().int().nullable(),
  min_shards: z.number().int().nullable(),
  max_shards: z.number().int().nullable(),
  active_shards: z.number().int().nullable(),
  retention_days: z.number().int().nullable(),
  ...placementColumns(),
  created_at: z.number(),
}));

/** Reads an `apps` row (all columns). */
export function parseAppRow(row: unknown): AppRecord {
  const app = AppRow.parse(row);
  return {
    id: app.id,
    name: app.name,
    allowedOrigins: app.allowed_origins,
    shards: app.shards,
    minShards: app.min_shards,
    maxShards: app.max_shards,
    activeShards: app.active_shards,
    retentionDays: app.retention_days,
    placement: placementOf(app),
    createdAt: app.created_at,
  };
}

/** Records the shard count an app's room chose from its load. */
export async function saveActiveShards(db: D1Database, appId: number, shards: number): Promise<void> {
  await db.prepare("UPDATE apps SET active_shards = ?2 WHERE id = ?1").bind(appId, shards).run();
}

export async function findApp(db: D1Database, appId: number): Promise<AppRecord | null> {
  const row = await db.prepare("SELECT * FROM apps WHERE id = ?1").bind(appId).first();
  return row ? parseAppRow(row) : null;
}

/** The highest app id (0 with no apps): ids are assigned in increasing order, so none above it exists yet. */
export async function highestAppId(db: D1Database): Promise<number> {
  const row = await db.prepare("SELECT max(id) AS id FROM apps").first();
  return z.object({ id: z.number().int().nullable() }).parse(row).id ?? 0;
}

/**
 * The ids of the apps (at most `limit`, lowest first) whose allowed origins name `origin` exactly: a lookup in
 * the `app_origins` index, which reads only the rows it returns (or one, when no app has the origin).
 */
export async function appsAllowingOrigin(db: D1Database, origin: string, limit: number): Promise<number[]> {
  const { results } = await db.prepare("SELECT app_id FROM app_origins WHERE origin = ?1 ORDER BY app_id LIMIT ?2").bind(origin, limit).all();
  return results.map((row) => z.object({ app_id: z.number().int() }).parse(row).app_id);
}
