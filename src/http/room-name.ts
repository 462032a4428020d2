import type { Env } from "../config.js";

/** The name of an app's Durable Object: every request and event of one app reaches the same instance. */
export function roomName(appId: number): string {
  return `app:${appId}`;
}

/** The stub of an app's Durable Object. */
export function roomOf(env: Env, appId: number) {
  return env.ROOMS.get(env.ROOMS.idFromName(roomName(appId)));
}
