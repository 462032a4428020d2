import { appsAllowingOrigin } from "../storage/d1-apps.js";
import { TtlCache } from "./ttl-cache.js";

/** Where a request that names no app goes, judged by its Origin. */
export type OriginRoute = { kind: "app"; appId: number } | { kind: "unregistered" } | { kind: "ambiguous"; appIds: number[] };

/**
 * The longest Origin taken: a scheme, a host name of at most 253 characters and a port fit in 300. A longer one
 * is no origin an app can register, and is neither looked up nor echoed back whole.
 */
export const MAX_ORIGIN_LENGTH = 300;

/** How long a lookup is trusted: as long as a room trusts an app's row, so an origin change reaches both alike. */
const ROUTE_CACHE_MS = 60_000;
const ROUTE_CACHE_SIZE = 10_000;
/** Enough apps to name in the error when an origin is shared. */
const MAX_NAMED_APPS = 5;

/**
 * The app that registered an origin, for clients written before apps were named in the socket URL (they
 * connect with `io(host)` and send the app id only in `auth`). Lookups are kept in the isolate, so a steady
 * stream of such requests reads D1 once per origin a minute.
 */
export class OriginRoutes {
  private readonly cache = new TtlCache<string, OriginRoute>(ROUTE_CACHE_MS, ROUTE_CACHE_SIZE);

  route(db: D1Database, origin: string): Promise<OriginRoute> {
    return this.cache.get(origin, async () => toRoute(await appsAllowingOrigin(db, origin, MAX_NAMED_APPS)));
  }
}

function toRoute(appIds: number[]): OriginRoute {
  const [only, ...others] = appIds;
  if (only === undefined) return { kind: "unregistered" };
  return others.length === 0 ? { kind: "app", appId: only } : { kind: "ambiguous", appIds };
}
