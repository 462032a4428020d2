import type { Env } from "./config.js";
import type { AppRecord } from "./storage/d1-apps.js";
import { UNKNOWN_IP } from "./http/client-ip.js";
import { randomId } from "./ids.js";
import { placedObject, type PlacedApp } from "./placement.js";

/**
 * How an app's objects are named. The app's room (its ordering room, which also holds connections while the app
 * has one shard) is `app:N`; connection shard k (1..64) is `app:N:shard:k`. An Engine.IO session id names the
 * shard that holds the session, so that every poll and the upgrade reach it whatever the app's shard count is
 * by then.
 */
export const MAX_SHARDS = 64;

/**
 * How an app's shard count is set: fixed (by the app's `shards`, or a number in `ROOM_SHARDS`), or chosen by
 * its room from the load within bounds, `count` being the count known now.
 */
export type ShardPlan = { kind: "fixed"; count: number } | { kind: "automatic"; min: number; max: number; count: number };

export function shardPlanOf(app: AppRecord, roomShards: number | "auto"): ShardPlan {
  const fixed = app.shards ?? (roomShards === "auto" ? null : roomShards);
  if (fixed !== null) return { kind: "fixed", count: fixed };
  const min = app.minShards ?? 1;
  const max = Math.max(min, app.maxShards ?? MAX_SHARDS);
  return { kind: "automatic", min, max, count: Math.min(max, Math.max(min, app.activeShards ?? min)) };
}

/**
 * The header with which an app's objects tell the Worker the app's shard count as its room last chose it, on
 * the answer to a new connection: each Worker isolate follows a change as soon as it opens a connection.
 */
export const SHARD_COUNT_HEADER = "X-Socketpot-Shards";

/** The header of a refusal by a shard that holds its most connections: the Worker tries another shard. */
export const SHARD_FULL_HEADER = "X-Socketpot-Shard-Full";

export function roomName(appId: number): string {
  return `app:${appId}`;
}

export function shardName(appId: number, shard: number): string {
  return shard === 0 ? roomName(appId) : `${roomName(appId)}:shard:${shard}`;
}

/** The app whose room or shard is named `name`; null for any other name. */
export function appOfName(name: string | undefined): number | null {
  const match = /^app:([1-9][0-9]{0,15})(?::|$)/.exec(name ?? "");
  return match ? Number(match[1]) : null;
}

/** The number of the connection shard whose object is named `name`; null for any other name. */
export function shardOfName(name: string | undefined): number | null {
  const match = /^app:[1-9][0-9]*:shard:(.+)$/.exec(name ?? "");
  return match ? connectionShard(match[1]!) : null;
}

/** A new Engine.IO session id on `shard`: the room's own are plain random ids, a shard's carry `k.` in front. */
export function sessionId(shard: number): string {
  return shard === 0 ? randomId() : `${shard}.${randomId()}`;
}

/** The shard a session id names; null when it names none that can exist. */
export function shardOfSession(sid: string): number | null {
  const dot = sid.indexOf(".");
  return dot < 0 ? 0 : connectionShard(sid.slice(0, dot));
}

/** A connection shard's number written in decimal (1 to {@link MAX_SHARDS}); null for anything else. */
export function connectionShard(text: string | null): number | null {
  const shard = Number(text);
  return text !== null && Number.isInteger(shard) && shard >= 1 && shard <= MAX_SHARDS && String(shard) === text ? shard : null;
}

/** The stub of an app's room: its ordering room, and the holder of its connections while it has one shard. */
export function roomOf(env: Env, app: PlacedApp) {
  return placedObject(env.ROOMS, app.placement, roomName(app.id));
}

/**
 * The shard a new connection from address `ip` goes to, in an app with `shardCount` shards: the room itself for
 * one, else the shard the address hashes to. An address's connections thus share a shard, which can hold its
 * per-address limit without asking the room; addresses spread evenly (FNV-1a). Without an address (only
 * locally: Cloudflare always sets one) nothing ties a connection to a shard, and it goes to any.
 */
export function shardForNewConnection(shardCount: number, ip: string): number {
  if (shardCount <= 1) return 0;
  if (ip === UNKNOWN_IP) return 1 + Math.floor(Math.random() * shardCount);
  let hash = 0x811c9dc5;
  for (let i = 0; i < ip.length; i++) hash = Math.imul(hash ^ ip.charCodeAt(i), 0x01000193);
  return 1 + ((hash >>> 0) % shardCount);
}

/**
 * Sends a request of app `appId` to its shard `shard` as it came: the shard knows its number from its own name
 * ({@link shardOfName}), so the request is not copied to carry it.
 */
export function forwardToShard(env: Env, app: PlacedApp, shard: number, request: Request): Promise<Response> {
  return shard === 0 ? roomOf(env, app).fetch(request) : placedObject(env.SHARDS, app.placement, shardName(app.id, shard)).fetch(request);
}
