import { describe, expect, it } from "vitest";
import { Presence } from "../../src/socketpot/presence.js";
import { RateLimiter } from "../../src/socketpot/rate-limit.js";
import { WriteBatcher } from "../../src/socketpot/write-batcher.js";
import type { User } from "../../src/socketpot/schemas.js";

const kate: User = { uname: "kate", auth_id: 7, role: "MEMBER" };

describe("RateLimiter", () => {
  it("allows a burst, then one per refill interval", () => {
    const limiter = new RateLimiter<number>(5, 1);
    const results = Array.from({ length: 6 }, () => limiter.take(1, 0));
    expect(results).toEqual([true, true, true, true, true, false]);
    expect(limiter.take(1, 999)).toBe(false);
    expect(limiter.take(1, 1_000)).toBe(true);
    expect(limiter.take(1, 1_500)).toBe(false);
    expect(limiter.take(1, 2_000)).toBe(true);
    expect(limiter.take(1, 2_000)).toBe(false);
  });

  it("keeps users apart and never refills past the burst", () => {
    const limiter = new RateLimiter<number>(2, 1);
    expect([limiter.take(1, 0), limiter.take(1, 0), limiter.take(1, 0)]).toEqual([true, true, false]);
    expect(limiter.take(2, 0)).toBe(true);
    expect([limiter.take(1, 60_000), limiter.take(1, 60_000), limiter.take(1, 60_000)]).toEqual([true, true, false]);
  });
});

describe("Presence", () => {
  it("reports only the first join and the last leave of a user", () => {
    const presence = new Presence();
    expect(presence.join("tab1", kate)).toBe(true);
    expect(presence.join("tab2", kate)).toBe(false);
    expect(presence.userlist()).toEqual({ kate });
    expect(presence.leave("tab1", kate)).toBe(false);
    expect(presence.leave("tab2", kate)).toBe(true);
    expect(presence.userlist()).toEqual({});
  });
});

describe("WriteBatcher", () => {
  it("stores concurrent items together and resolves them in order", async () => {
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number, string>(async (items) => {
      batches.push(items);
      await new Promise((resolve) => setTimeout(resolve, 5));
      return items.map((item) => `stored ${item}`);
    });
    const settled: string[] = [];
    const first = batcher.submit(1).then((result) => settled.push(result));
    const rest = [2, 3, 4].map((item) => batcher.submit(item).then((result) => settled.push(result)));
    await Promise.all([first, ...rest]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
    expect(settled).toEqual(["stored 1", "stored 2", "stored 3", "stored 4"]);
  });

  it("rejects every item of a failed batch and goes on with the next", async () => {
    let calls = 0;
    const batcher = new WriteBatcher<number, number>(async (items) => {
      calls += 1;
      if (calls === 1) throw new Error("disk on fire");
      return items;
    });
    await expect(batcher.submit(1)).rejects.toThrow("disk on fire");
    await expect(batcher.submit(2)).resolves.toBe(2);
  });
});
