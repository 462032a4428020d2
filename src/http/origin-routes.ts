import { appsAllowingOrigin } from "../storage/d1-apps.js";

/** Where a request that names no app goes, judged by its Origin. */
export type OriginRoute = { kind: "app"; appId: number } | { kind: "unregistered" } | { kind: "ambiguous"; appIds: number[] };

/** How long a lookup is trusted: as long as a room trusts an app's row, so an origin change reaches both alike. */
const ROUTE_CACHE_MS = 60_000;
const ROUTE_CACHE_SIZE = 10_000;
/** Enough apps to name in the error when an origin is shared. */
const MAX_NAMED_APPS = 5;

/**
 * The app that registered an origin, for clients written before apps were named in the socket URL (they
 * connect with `io(host)` and send the app id only in `auth`). Lookups are kept in the isolate, so a steady
 * stream of such requests reads D1 once per origin a minute; concurrent first requests share one read.
 */
export class OriginRoutes {
  private readonly cache = new Map<string, { route: Promise<OriginRoute>; readAt: number }>();

  route(db: D1Database, origin: string, now = Date.now()): Promise<OriginRoute> {
    const cached = this.cache.get(origin);
    if (cached && now - cached.readAt < ROUTE_CACHE_MS) return cached.route;
    const route = appsAllowingOrigin(db, origin, MAX_NAMED_APPS).then(toRoute);
    // A failed read is not kept: the next request reads again.
    route.catch(() => {
      if (this.cache.get(origin)?.route === route) this.cache.delete(origin);
    });
    this.cache.delete(origin);
    this.cache.set(origin, { route, readAt: now });
    // Insertion order is age order: past the bound, the oldest lookup goes first.
    if (this.cache.size > ROUTE_CACHE_SIZE) this.cache.delete(this.cache.keys().next().value!);
    return route;
  }
}

function toRoute(appIds: number[]): OriginRoute {
  const [only, ...others] = appIds;
  if (only === undefined) return { kind: "unregistered" };
  return others.length === 0 ? { kind: "app", appId: only } : { kind: "ambiguous", appIds };
}
