import { shardPlanOf } from "../shards.js";
import { APP_ROW_TTL_MS, findApp, highestAppId, type AppRecord } from "../storage/d1-apps.js";
import { TtlCache } from "./ttl-cache.js";

/**
 * How long the highest app id is trusted before an id above it is looked for again: an app created in another
 * isolate is reachable here within this, and ids above it (made up, or not yet created) cost at most one read
 * per isolate per second, however many distinct ones arrive.
 */
const HIGHEST_ID_TTL_MS = 1_000;
const ROW_CACHE_SIZE = 10_000;

/**
 * The apps the Worker routes to, as this isolate knows them: each app's row (or its absence) kept as long as a
 * room keeps an app's row, and the highest app id kept for a second: an id above it is "no such app" without a
 * read. An unknown app is answered at the edge: it reaches no Durable Object, which would otherwise be created
 * for it.
 */
class KnownApps {
  private readonly rows = new TtlCache<number, AppRecord | null>(APP_ROW_TTL_MS, ROW_CACHE_SIZE);
  private readonly highest = new TtlCache<"highest", number>(HIGHEST_ID_TTL_MS, 1);

  async find(db: D1Database, appId: number, now = Date.now()): Promise<AppRecord | null> {
    if (appId > (await this.highest.get("highest", () => highestAppId(db), now))) return null;
    return this.rows.get(appId, () => findApp(db, appId), now);
  }

  /** Shard counts of automatic apps as their objects last told this isolate: newer than the rows kept. */
  private readonly told = new Map<number, number>();

  /** An object of app `appId` said the app has `count` shards. */
  tell(appId: number, count: number): void {
    this.told.delete(appId);
    this.told.set(appId, count);
    if (this.told.size > ROW_CACHE_SIZE) this.told.delete(this.told.keys().next().value!);
  }

  toldShards(appId: number): number | null {
    return this.told.get(appId) ?? null;
  }

  /** This isolate created or changed app `appId`: its next connections read it again. */
  changed(appId: number): void {
    this.rows.delete(appId);
    this.told.delete(appId);
    this.highest.delete("highest");
  }
}

export const knownApps = new KnownApps();

/** The shard count of app `app` as this isolate knows it: what its objects told, else what its row says. */
export function currentShards(app: AppRecord, roomShards: number | "auto"): number {
  return shardPlanOf({ ...app, activeShards: knownApps.toldShards(app.id) ?? app.activeShards }, roomShards).count;
}
