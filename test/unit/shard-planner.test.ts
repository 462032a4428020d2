import { describe, expect, it } from "vitest";
import { SHRINK_AFTER_MS, ShardPlanner } from "../../src/ordering/shard-planner.js";

describe("an app's automatic shard count", () => {
  const bounds = { min: 1, max: 64 };

  it("grows at once when the objects near three quarters of their target, within the app's bounds", () => {
    const planner = new ShardPlanner(100);
    expect(planner.next(bounds, 1, 75, 0)).toBe(1);
    expect(planner.next(bounds, 1, 76, 0)).toBe(2);
    expect(planner.next(bounds, 2, 1_000, 0)).toBe(14);
    expect(planner.next(bounds, 14, 1_000_000, 0)).toBe(64);
    expect(planner.next({ min: 2, max: 8 }, 2, 10, 0)).toBe(2);
    expect(planner.next({ min: 2, max: 8 }, 2, 5_000, 0)).toBe(8);
  });

  it("falls only after the load stayed lower for ten minutes, and a new peak starts the wait again", () => {
    const planner = new ShardPlanner(100);
    expect(planner.next(bounds, 8, 100, 0)).toBe(8);
    expect(planner.next(bounds, 8, 100, SHRINK_AFTER_MS - 1)).toBe(8);
    expect(planner.next(bounds, 8, 600, SHRINK_AFTER_MS - 1)).toBe(8);
    expect(planner.next(bounds, 8, 100, SHRINK_AFTER_MS + 1)).toBe(8);
    expect(planner.next(bounds, 8, 100, 2 * SHRINK_AFTER_MS + 2)).toBe(2);
  });
});
