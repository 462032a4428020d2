import { parseConfig, type Env } from "../config.js";
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

  /** This isolate created or changed app `appId`: its next connections read it again. */
  changed(appId: number): void {
    this.rows.delete(appId);
    this.highest.delete("highest");
  }
}

export const knownApps = new KnownApps();

/**
 * How many shards an app's new connections are spread over (its row's `shards`, else the `ROOM_SHARDS`
 * default); null when there is no such app.
 */
export async function appShards(env: Env, appId: number): Promise<number | null> {
  const app = await knownApps.find(env.DB, appId);
  return app && (app.shards ?? parseConfig(env).roomShards);
}
