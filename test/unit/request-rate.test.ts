import { describe, expect, it } from "vitest";
import { RequestRate } from "../../src/shard/request-rate.js";

describe("an object's request rate", () => {
  it("gives the mean over the last minute and its busiest second, forgetting what is older", () => {
    let now = 1_000_000;
    const rate = new RequestRate(() => now);
    for (let i = 0; i < 600; i++) rate.count();
    now += 1_000;
    for (let i = 0; i < 60; i++) rate.count();
    expect(rate.lastMinute()).toEqual({ perSecond: 11, peak: 600 });
    // 59 s on, the busy second is still in the window; one more and it is not.
    now += 58_000;
    expect(rate.lastMinute().peak).toBe(600);
    now += 1_000;
    expect(rate.lastMinute()).toEqual({ perSecond: 1, peak: 60 });
    now += 600_000;
    expect(rate.lastMinute()).toEqual({ perSecond: 0, peak: 0 });
  });
});
