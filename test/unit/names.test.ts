import { describe, expect, it } from "vitest";
import { randomId } from "../../src/ids.js";
import { UNKNOWN_IP } from "../../src/http/client-ip.js";
import { MAX_SHARDS, sessionId, shardForNewConnection, shardName, shardOfName, shardOfSession } from "../../src/shards.js";

describe("randomId", () => {
  it("is 20 base64url characters carrying 120 random bits", () => {
    const ids = Array.from({ length: 2_000 }, randomId);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(new Set(ids).size).toBe(ids.length);
    // Every one of the 64 characters turns up in every position class: no bits are lost in the encoding.
    for (let position = 0; position < 4; position++) {
      expect(new Set(ids.flatMap((id) => [...id].filter((_, index) => index % 4 === position))).size).toBe(64);
    }
  });
});

describe("object names", () => {
  it("give a shard its number back from its own name, and nothing for any other name", () => {
    for (const shard of [1, 7, MAX_SHARDS]) expect(shardOfName(shardName(42, shard))).toBe(shard);
    for (const name of [undefined, "", shardName(42, 0), "app:42:shard:0", "app:42:shard:65", "app:42:shard:01", "app:0:shard:1", "app:42:shard:1:x", "x:app:42:shard:1"]) {
      expect(shardOfName(name)).toBeNull();
    }
  });

  it("put a session's shard in its id", () => {
    expect(shardOfSession(sessionId(0))).toBe(0);
    expect(shardOfSession(sessionId(9))).toBe(9);
    expect(shardOfSession("65.abc")).toBeNull();
  });
});

describe("shardForNewConnection", () => {
  it("puts every connection of an address on one shard, and spreads addresses over all of them", () => {
    expect(shardForNewConnection(1, "203.0.113.7")).toBe(0);
    const shards = Array.from({ length: 4_000 }, (_, index) => shardForNewConnection(8, `10.0.${index >> 8}.${index & 255}`));
    for (let index = 0; index < 50; index++) expect(shardForNewConnection(8, `10.0.0.${index}`)).toBe(shards[index]);
    const perShard = new Map<number, number>();
    for (const shard of shards) perShard.set(shard, (perShard.get(shard) ?? 0) + 1);
    expect([...perShard.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    for (const count of perShard.values()) expect(count).toBeGreaterThan(400);
  });

  it("sends connections without an address (only local ones have none) to any shard", () => {
    const shards = new Set(Array.from({ length: 200 }, () => shardForNewConnection(4, UNKNOWN_IP)));
    expect([...shards].sort()).toEqual([1, 2, 3, 4]);
  });
});
