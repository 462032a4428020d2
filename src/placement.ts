/**
 * Where an app's Durable Objects live. A jurisdiction keeps them, and what they store, inside a region
 * (Cloudflare's `eu`, `fedramp`, `fedramp-high`, `us`); it is part of every object's id, so an app's is fixed
 * when the app is created. A location hint asks for an object to be created near a region; it acts only when
 * an object is first created, so changing it moves nothing that exists.
 * https://developers.cloudflare.com/durable-objects/reference/data-location/
 */

export const JURISDICTIONS = ["eu", "fedramp", "fedramp-high", "us"] as const satisfies readonly DurableObjectJurisdiction[];
export type Jurisdiction = (typeof JURISDICTIONS)[number];

export const LOCATION_HINTS = ["wnam", "enam", "sam", "weur", "eeur", "apac", "apac-ne", "apac-se", "oc", "afr", "me"] as const satisfies readonly DurableObjectLocationHint[];
export type LocationHint = (typeof LOCATION_HINTS)[number];

export interface Placement {
  jurisdiction: Jurisdiction | null;
  locationHint: LocationHint | null;
}

/** An app's id and where its objects live: what it takes to reach one of them. */
export interface PlacedApp {
  id: number;
  placement: Placement;
}

/** The stub of the object named `name` in `namespace`, in the placement's jurisdiction, created near its hint. */
export function placedObject<T extends Rpc.DurableObjectBranded | undefined>(
  namespace: DurableObjectNamespace<T>,
  placement: Placement,
  name: string,
): DurableObjectStub<T> {
  const objects = placement.jurisdiction ? namespace.jurisdiction(placement.jurisdiction) : namespace;
  const id = objects.idFromName(name);
  return placement.locationHint ? objects.get(id, { locationHint: placement.locationHint }) : objects.get(id);
}

/**
 * Where an object reaches the other objects of its app: in its own jurisdiction, which Cloudflare tells an
 * object (`ctx.id.jurisdiction`, https://developers.cloudflare.com/changelog/post/2026-03-26-durable-object-id-jurisdiction/;
 * local workerd, which has no jurisdictions, leaves it unset). No hint: an object that another one creates is
 * created near it, and so near the app's hint.
 */
export function peerPlacement(id: DurableObjectId): Placement {
  // An app is created only in one of JURISDICTIONS, so its objects report one of them (or none).
  return { jurisdiction: (id.jurisdiction as Jurisdiction | undefined) ?? null, locationHint: null };
}
