import { describe, expect, it } from "vitest";
import { JURISDICTIONS, peerPlacement, placedObject, type Placement } from "../../src/placement.js";

/**
 * A namespace that records what it is asked: local workerd implements no jurisdiction (it throws "Jurisdiction
 * restrictions are not implemented in workerd"), so only a stand-in can show which one a stub is taken in.
 */
function recordingNamespace() {
  const asked: Array<{ jurisdiction: string | null; name: string; locationHint: string | null }> = [];
  const namespace = (jurisdiction: string | null) => ({
    jurisdiction: (next: string) => namespace(next),
    idFromName: (name: string) => ({ name, jurisdiction }),
    get: (id: { name: string; jurisdiction: string | null }, options?: { locationHint?: string }) => {
      asked.push({ jurisdiction: id.jurisdiction, name: id.name, locationHint: options?.locationHint ?? null });
      return {};
    },
  });
  return { namespace: namespace(null) as unknown as DurableObjectNamespace, asked };
}

describe("where an app's objects are reached", () => {
  it("takes each stub in the app's jurisdiction, created near its hint; neither when the app sets neither", () => {
    const { namespace, asked } = recordingNamespace();
    const placements: Placement[] = [
      { jurisdiction: "eu", locationHint: "weur" },
      { jurisdiction: "fedramp", locationHint: null },
      { jurisdiction: null, locationHint: "apac" },
      { jurisdiction: null, locationHint: null },
    ];
    for (const placement of placements) placedObject(namespace, placement, "app:7");
    expect(asked).toEqual([
      { jurisdiction: "eu", name: "app:7", locationHint: "weur" },
      { jurisdiction: "fedramp", name: "app:7", locationHint: null },
      { jurisdiction: null, name: "app:7", locationHint: "apac" },
      { jurisdiction: null, name: "app:7", locationHint: null },
    ]);
  });

  it("has an object reach its peers in its own jurisdiction, as Cloudflare reports it, without a hint", () => {
    for (const jurisdiction of JURISDICTIONS) {
      expect(peerPlacement({ jurisdiction } as DurableObjectId)).toEqual({ jurisdiction, locationHint: null });
    }
    expect(peerPlacement({} as DurableObjectId)).toEqual({ jurisdiction: null, locationHint: null });
  });
});
