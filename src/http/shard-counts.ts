import { parseConfig, type Env } from "../config.js";
import { APP_ROW_TTL_MS, findApp } from "../storage/d1-apps.js";
import { TtlCache } from "./ttl-cache.js";

const shardCounts = new TtlCache<number, number>(APP_ROW_TTL_MS, 10_000);

/**
 * How many shards an app's new connections are spread over: its row's `shards`, else the `ROOM_SHARDS` default.
 * Kept in the isolate as long as a room keeps an app's row; an unknown app gets the default, and its room
 * answers 404.
 */
export function shardCount(env: Env, appId: number): Promise<number> {
  return shardCounts.get(appId, async () => (await findApp(env.DB, appId))?.shards ?? parseConfig(env).roomShards);
}

/** Takes note of a shard count this isolate just stored, so that its next connections follow it at once. */
export function shardCountChanged(appId: number, shards: number): void {
  shardCounts.set(appId, Promise.resolve(shards));
}
